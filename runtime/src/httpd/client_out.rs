//! A response's bytes to its client's socket, written from the handler's task without
//! ever blocking the loop thread.
//!
//! Each write is non-blocking. When the socket is full (a client that reads slowly, or
//! one that pipelines requests for large answers and reads none of them), the task
//! waits for room through [`suspend::wait_fd`]: the event loop parks it with the
//! connection inside and arms the client's socket for room, so such a client holds a
//! table entry and its unsent answer, not a thread. Outside a task (the loop's own
//! fallback when no task stack can be had) the same wait blocks in `poll`. A write
//! that finds no room for its timeout fails; with a zero timeout it never waits (the
//! loop's own 408 answers, written from its deadline sweep).

use std::io::{self, IoSlice, Write};
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use super::stats::ServerStats;
use crate::suspend::{self, Ready};

/// Most slices one `sendmsg` takes (the kernel's `UIO_MAXIOV`).
const MAX_SLICES: usize = 1024;

/// The client's socket as a `Write` that counts system calls and waits for room as a
/// task.
pub struct ClientOut<'a> {
    stream: &'a TcpStream,
    stats: &'a ServerStats,
    timeout: Duration,
}

impl<'a> ClientOut<'a> {
    pub fn new(stream: &'a TcpStream, stats: &'a ServerStats, timeout: Duration) -> Self {
        ClientOut {
            stream,
            stats,
            timeout,
        }
    }
}

impl ClientOut<'_> {
    /// One system call (`send` on the socket), counted; a full socket is waited for
    /// as the timeout allows.
    fn send_with(&mut self, send: impl Fn(RawFd) -> io::Result<usize>) -> io::Result<usize> {
        let fd = self.stream.as_raw_fd();
        loop {
            self.stats.count_write();
            match send(fd) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && !self.timeout.is_zero() => {
                    suspend::wait_fd(fd, Ready::Write, Some(self.timeout))?;
                }
                other => return other,
            }
        }
    }
}

impl Write for ClientOut<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send_with(|fd| send_one(fd, buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_with(|fd| send_now(fd, bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One `send` of `buf` without waiting; a closed peer is `EPIPE`, not a signal.
pub(super) fn send_one(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    crate::sys::socket::send(fd, buf, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL)
}

/// One `sendmsg` of `bufs` without waiting; a closed peer is `EPIPE`, not a signal.
fn send_now(fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    // SAFETY: an all-zero msghdr is valid (no address, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is ABI-compatible with `iovec` on Unix; the kernel only reads them.
    msg.msg_iov = bufs.as_ptr().cast_mut().cast::<libc::iovec>();
    msg.msg_iovlen = bufs.len().min(MAX_SLICES) as _;
    // SAFETY: sendmsg reads `msg_iovlen` live slices on a socket the connection owns.
    let n = unsafe { libc::sendmsg(fd, &msg, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Instant;

    #[test]
    fn a_full_socket_fails_at_once_with_no_time_to_wait_and_after_its_timeout_otherwise() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let _peer = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        let stats = ServerStats::default();
        let chunk = vec![b'x'; 256 * 1024];
        // The peer reads nothing: fill both sockets' buffers.
        let mut out = ClientOut::new(&server, &stats, Duration::ZERO);
        let mut written = 0;
        let full = loop {
            match out.write(&chunk) {
                Ok(n) => written += n,
                Err(e) => break e,
            }
        };
        assert!(written > 0);
        assert_eq!(full.kind(), io::ErrorKind::WouldBlock);
        // Outside a task the wait blocks in poll, and gives up at its timeout.
        let mut waiting = ClientOut::new(&server, &stats, Duration::from_millis(50));
        let started = Instant::now();
        let timed_out = waiting.write(&chunk).expect_err("no room comes");
        assert_eq!(timed_out.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
