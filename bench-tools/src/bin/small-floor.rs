//! The small-response floor: what a server pays for a keep-alive request when it does
//! no work of its own. Each thread has one epoll set (connections registered
//! edge-triggered once, reports taken in batches), one `recv` per readable report and
//! one `write` of a constant response per complete request head in it. No parsing
//! beyond finding the blank line that ends each head, no allocation per request.
//! With `--threads N`, N such loops share the listener (each accepts for itself), as
//! a server's workers do.
//!
//! The ceiling for the small-response workloads: a server's requests per second
//! against this one's, in the same run, is how much of the remaining time is its own.
//!
//! usage: small-floor --port N [--threads N]

use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};

use ilo_bench_tools::{count_heads, Flags, SMALL_RESPONSE as RESPONSE};

const LISTENER: u64 = u64::MAX;
const BATCH: usize = 64;

fn main() {
    let flags = Flags::from_env();
    let port = flags.or("--port", "0");
    let listener = ilo_bench_tools::bind_loopback("small-floor", &port);
    let threads: usize = flags.or("--threads", "1").parse().unwrap_or(1).max(1);
    if let Err(e) = listener.set_nonblocking(true) {
        eprintln!("small-floor: {e}");
        std::process::exit(1);
    }
    if let Ok(addr) = listener.local_addr() {
        eprintln!("small-floor listening on http://{addr}");
    }
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                if let Err(e) = serve(&listener) {
                    eprintln!("small-floor: {e}");
                    std::process::exit(1);
                }
            });
        }
    });
}

fn check(n: libc::c_int) -> io::Result<libc::c_int> {
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n)
    }
}

fn add(epfd: RawFd, fd: RawFd, token: u64, flags: u32) -> io::Result<()> {
    let mut ev = libc::epoll_event {
        events: flags,
        u64: token,
    };
    // SAFETY: a valid epoll descriptor and an event living across the call.
    check(unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) })?;
    Ok(())
}

fn serve(listener: &TcpListener) -> io::Result<()> {
    // SAFETY: plain system call.
    let epfd = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    // Exclusive: a new connection wakes one loop, not all of them.
    let wake_one = (libc::EPOLLIN | libc::EPOLLEXCLUSIVE) as u32;
    add(epfd, listener.as_raw_fd(), LISTENER, wake_one)?;
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; BATCH];
    // Bytes of a head cut by a read: at most the last three, enough to find "\r\n\r\n".
    let mut carry: std::collections::HashMap<RawFd, u8> = std::collections::HashMap::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: `events` has room for BATCH reports.
        let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), BATCH as i32, -1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in &events[..n as usize] {
            if ev.u64 == LISTENER {
                while let Ok((stream, _)) = listener.accept() {
                    stream.set_nonblocking(true)?;
                    stream.set_nodelay(true)?;
                    let fd = stream.into_raw_fd();
                    let flags = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
                    add(epfd, fd, fd as u64, flags)?;
                }
                continue;
            }
            let fd = ev.u64 as RawFd;
            if !read_and_answer(fd, &mut buf, &mut carry) {
                carry.remove(&fd);
                // SAFETY: our own descriptor, closed once (removed from epoll with it).
                unsafe { libc::close(fd) };
            }
        }
    }
}

/// Read until the socket is drained, answering each complete head. False: closed.
fn read_and_answer(
    fd: RawFd,
    buf: &mut [u8],
    carry: &mut std::collections::HashMap<RawFd, u8>,
) -> bool {
    loop {
        // SAFETY: recv into our own buffer, at most its length.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n == 0 {
            return false;
        }
        if n < 0 {
            return io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock;
        }
        let n = n as usize;
        let mut state = carry.get(&fd).copied().unwrap_or(0);
        let heads = count_heads(&mut state, &buf[..n]);
        carry.insert(fd, state);
        for _ in 0..heads {
            // SAFETY: writing a static buffer.
            let w = unsafe { libc::write(fd, RESPONSE.as_ptr().cast(), RESPONSE.len()) };
            if w != RESPONSE.len() as isize {
                return false;
            }
        }
        if n < buf.len() {
            return true;
        }
    }
}
