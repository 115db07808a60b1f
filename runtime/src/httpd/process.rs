//! Process-wide settings a server needs before it accepts anything.

use std::io;

use super::shutdown::set_handler;

/// A client hanging up must surface as `EPIPE` on the next write, not kill the
/// process. `writev` cannot take `MSG_NOSIGNAL`, so SIGPIPE is ignored process-wide.
pub fn ignore_sigpipe() -> io::Result<()> {
    set_handler(libc::SIGPIPE, libc::SIG_IGN)
}

/// Thousands of concurrent streams need thousands of descriptors: raise the soft
/// limit to the hard one. Failure is not fatal; the server then serves fewer clients.
pub fn raise_nofile_limit() {
    // SAFETY: getrlimit/setrlimit with a valid, initialised rlimit struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Outcome of waiting for a descriptor.
#[derive(Debug, PartialEq, Eq)]
pub enum Wait {
    /// The descriptor is readable (or has hung up / errored: a read will tell).
    Ready,
    /// Shutdown was requested while waiting.
    ShuttingDown,
    TimedOut,
}

/// Wait until `fd` is readable, the shutdown pipe wakes, or `timeout_ms` passes
/// (negative: no timeout).
pub fn wait_readable(fd: libc::c_int, wake_fd: libc::c_int, timeout_ms: i32) -> io::Result<Wait> {
    let mut fds = [
        libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: wake_fd,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: two valid pollfd entries in a local array.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if n == 0 {
            return Ok(Wait::TimedOut);
        }
        if fds[1].revents != 0 {
            return Ok(Wait::ShuttingDown);
        }
        return Ok(Wait::Ready);
    }
}
