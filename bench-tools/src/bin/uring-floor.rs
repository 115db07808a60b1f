//! A second small-response floor, built to find out whether `small-floor` (one
//! `epoll_wait` per batch of reports, one `recv` and one `write` per request) is
//! really the least a server can pay here. This one makes no system call per request:
//! each thread has an io_uring with a multishot accept on the shared listener and a
//! multishot receive per connection into buffers the kernel picks from a provided
//! pool; each complete request head gets a send queued without a completion on
//! success; one `io_uring_enter` submits every queued send and buffer return and waits
//! for the next completions. It answers with `small-floor`'s exact bytes.
//!
//! The ring is created single-issuer with deferred task work, so the kernel runs the
//! receive work when the thread enters to wait, in a batch, rather than interrupting
//! it per packet.
//!
//! usage: uring-floor --port N [--threads N]

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use ilo_bench_tools::{count_heads, Flags, SMALL_RESPONSE};
use io_uring::{cqueue, opcode, squeue, types, IoUring};

const ACCEPT: u64 = u64::MAX;
const PROVIDE: u64 = u64::MAX - 1;
/// A send's completion only arrives when it failed; its fd is in the low bits.
const SEND: u64 = 1 << 32;
const GROUP: u16 = 0;
const BUFFERS: u16 = 512;
const BUFFER_LEN: usize = 2048;
const RING: u32 = 1024;

fn main() {
    let flags = Flags::from_env();
    let port = flags.or("--port", "0");
    let listener = ilo_bench_tools::bind_loopback("uring-floor", &port);
    let threads: usize = flags.or("--threads", "1").parse().unwrap_or(1).max(1);
    if let Ok(addr) = listener.local_addr() {
        eprintln!("uring-floor listening on http://{addr}");
    }
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                if let Err(e) = serve(listener.as_raw_fd()) {
                    eprintln!("uring-floor: {e}");
                    std::process::exit(1);
                }
            });
        }
    });
}

/// The thread's ring, with a queue that never overflows: when full, submit first.
struct Ring {
    ring: IoUring,
}

impl Ring {
    fn push(&mut self, entry: squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: every buffer an entry points at (the static response, the pool)
            // lives as long as the thread's loop.
            if unsafe { self.ring.submission().push(&entry) }.is_ok() {
                return Ok(());
            }
            self.ring.submit()?;
        }
    }
}

fn serve(listener: RawFd) -> io::Result<()> {
    let ring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_cqsize(RING * 4)
        .build(RING)?;
    let mut ring = Ring { ring };
    let mut pool = vec![0u8; BUFFERS as usize * BUFFER_LEN];
    let pool_ptr = pool.as_mut_ptr();
    ring.push(
        opcode::ProvideBuffers::new(pool_ptr, BUFFER_LEN as i32, BUFFERS, GROUP, 0)
            .build()
            .user_data(PROVIDE),
    )?;
    ring.push(
        opcode::AcceptMulti::new(types::Fd(listener))
            .build()
            .user_data(ACCEPT),
    )?;
    // Per descriptor: the head matcher's state across receives.
    let mut carry: Vec<u8> = Vec::new();
    let mut done: Vec<(u64, i32, u32)> = Vec::with_capacity(RING as usize * 4);
    loop {
        match ring.ring.submit_and_wait(1) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
            Err(e) => return Err(e),
        }
        done.clear();
        done.extend(
            ring.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        for &(token, result, flags) in &done {
            match token {
                ACCEPT => {
                    if result >= 0 {
                        nodelay(result);
                        let fd = result as usize;
                        if carry.len() <= fd {
                            carry.resize(fd + 1, 0);
                        }
                        carry[fd] = 0;
                        arm_recv(&mut ring, result)?;
                    }
                    if !cqueue::more(flags) {
                        ring.push(
                            opcode::AcceptMulti::new(types::Fd(listener))
                                .build()
                                .user_data(ACCEPT),
                        )?;
                    }
                }
                PROVIDE => {
                    if result < 0 {
                        return Err(io::Error::from_raw_os_error(-result));
                    }
                }
                t if t & SEND != 0 => {
                    // A failed send: the connection's receive ends with it.
                    // SAFETY: shutting down a descriptor this thread accepted.
                    unsafe { libc::shutdown((t & 0xffff_ffff) as RawFd, libc::SHUT_RDWR) };
                }
                t => {
                    let fd = t as RawFd;
                    if let Some(bid) = cqueue::buffer_select(flags) {
                        let n = result.max(0) as usize;
                        // SAFETY: the kernel filled `n` bytes of buffer `bid` of the pool.
                        let bytes = unsafe {
                            std::slice::from_raw_parts(
                                pool_ptr.add(bid as usize * BUFFER_LEN),
                                n.min(BUFFER_LEN),
                            )
                        };
                        let heads = count_heads(&mut carry[fd as usize], bytes);
                        for _ in 0..heads {
                            ring.push(
                                opcode::Send::new(
                                    types::Fd(fd),
                                    SMALL_RESPONSE.as_ptr(),
                                    SMALL_RESPONSE.len() as u32,
                                )
                                .build()
                                .flags(squeue::Flags::SKIP_SUCCESS)
                                .user_data(SEND | fd as u64),
                            )?;
                        }
                        // SAFETY: the buffer's bytes were consumed above.
                        let addr = unsafe { pool_ptr.add(bid as usize * BUFFER_LEN) };
                        ring.push(
                            opcode::ProvideBuffers::new(addr, BUFFER_LEN as i32, 1, GROUP, bid)
                                .build()
                                .flags(squeue::Flags::SKIP_SUCCESS)
                                .user_data(PROVIDE),
                        )?;
                    }
                    if result > 0 || result == -libc::ENOBUFS {
                        if !cqueue::more(flags) {
                            arm_recv(&mut ring, fd)?;
                        }
                    } else if !cqueue::more(flags) {
                        // SAFETY: the receive is finished, so nothing refers to it.
                        unsafe { libc::close(fd) };
                    }
                }
            }
        }
    }
}

fn arm_recv(ring: &mut Ring, fd: RawFd) -> io::Result<()> {
    ring.push(
        opcode::RecvMulti::new(types::Fd(fd), GROUP)
            .build()
            .user_data(fd as u64),
    )
}

fn nodelay(fd: RawFd) {
    let one: libc::c_int = 1;
    // SAFETY: setting an int option on a socket this thread accepted.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}
