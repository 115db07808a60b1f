//! `recv` and `send` on a socket as plain system calls, and the kernel's round-trip
//! estimate of a TCP connection.
//!
//! glibc's `recv`, `send` and `epoll_wait` are thread cancellation points: each call
//! switches the thread to asynchronous cancellation and back, two locked
//! compare-and-swaps around every system call. The server never cancels threads, and
//! a keep-alive request makes three such calls, so they go through `syscall`, which
//! is not a cancellation point, instead (`perf record`: the switching was about 0.7 %
//! of the server's CPU for small answers).

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// What a system call returned: the count, or the error `errno` holds after -1.
fn count(n: libc::c_long) -> io::Result<usize> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// `recv(fd, into, flags)`.
pub fn recv(fd: RawFd, into: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: the kernel writes at most `into.len()` bytes into our slice; no address
    // is asked for (both address arguments null).
    count(unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            fd,
            into.as_mut_ptr(),
            into.len(),
            flags,
            std::ptr::null_mut::<libc::sockaddr>(),
            std::ptr::null_mut::<libc::socklen_t>(),
        )
    })
}

/// `send(fd, bytes, flags)`.
pub fn send(fd: RawFd, bytes: &[u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: the kernel reads `bytes.len()` bytes of a live slice; no address (a
    // connected socket).
    count(unsafe {
        libc::syscall(
            libc::SYS_sendto,
            fd,
            bytes.as_ptr(),
            bytes.len(),
            flags,
            std::ptr::null::<libc::sockaddr>(),
            0 as libc::socklen_t,
        )
    })
}

/// `epoll_wait(epfd, events, timeout_ms)`, as `epoll_pwait` with no signal mask
/// (the call every architecture has).
pub fn epoll_wait(
    epfd: RawFd,
    events: &mut [libc::epoll_event],
    timeout_ms: libc::c_int,
) -> io::Result<usize> {
    let max = libc::c_int::try_from(events.len()).unwrap_or(libc::c_int::MAX);
    // SAFETY: the kernel writes at most `max` events into our slice; a null mask
    // leaves the thread's signal mask as it is.
    count(unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait,
            epfd,
            events.as_mut_ptr(),
            max,
            timeout_ms,
            std::ptr::null::<libc::sigset_t>(),
            0usize,
        )
    })
}

/// The connection's smoothed round-trip time, as the kernel estimates it
/// (`TCP_INFO`).
pub fn round_trip(fd: RawFd) -> io::Result<Duration> {
    let mut info = std::mem::MaybeUninit::<libc::tcp_info>::zeroed();
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::tcp_info>())
        .unwrap_or(libc::socklen_t::MAX);
    // SAFETY: getsockopt(2) writes at most `len` bytes into `info`, which is that
    // large, and the length it wrote into `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: zeroed, then partly written by the kernel: every field is an integer,
    // so every bit pattern is a valid value.
    let info = unsafe { info.assume_init() };
    Ok(Duration::from_micros(u64::from(info.tcpi_rtt)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn bytes_go_both_ways_and_an_empty_socket_would_block() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (served, _) = listener.accept().unwrap();
        let fd = served.as_raw_fd();

        let mut buf = [0u8; 16];
        let empty = recv(fd, &mut buf, libc::MSG_DONTWAIT).unwrap_err();
        assert_eq!(empty.kind(), io::ErrorKind::WouldBlock);

        client.write_all(b"ping").unwrap();
        let mut got = 0;
        while got < 4 {
            got += recv(fd, &mut buf[got..], 0).unwrap();
        }
        assert_eq!(&buf[..4], b"ping");

        assert_eq!(send(fd, b"pong", libc::MSG_NOSIGNAL).unwrap(), 4);
        let mut reply = [0u8; 4];
        client.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"pong");

        drop(client);
        assert_eq!(recv(fd, &mut buf, 0).unwrap(), 0, "end of stream");
    }
}
