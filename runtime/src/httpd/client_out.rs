//! A response's bytes to its client's socket, written from the handler's task without
//! ever blocking the loop thread.
//!
//! Each write is non-blocking. When the socket is full (a client that reads slowly, or
//! one that pipelines requests for large answers and reads none of them), the task
//! waits for room through [`suspend::wait_fd`]: the event loop parks it with the
//! connection inside and arms the client's socket for room, so such a client holds a
//! table entry and its unsent answer, not a thread. Outside a task (the loop's own
//! short answers, such as a 408) the same wait blocks in `poll`, for a socket that is
//! then all but empty. A write that finds no room for the write timeout fails.

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

impl Write for ClientOut<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let fd = self.stream.as_raw_fd();
        loop {
            self.stats.count_write();
            match send_now(fd, bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    suspend::wait_fd(fd, Ready::Write, Some(self.timeout))?;
                }
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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
