//! Thin safe wrappers over the Linux descriptors that the server's event loops and
//! the line sources wait with, so each system call and its `unsafe` block is written
//! once.

pub mod epoll;
pub mod socket;
pub mod timerfd;

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// What a call that creates a descriptor returned: the descriptor, now owned, or the
/// error `errno` holds when it returned -1.
pub fn owned_fd(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative descriptor just returned by the kernel is ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Read the 8-byte counter of an eventfd or a timerfd, which resets it: the
/// descriptor is not readable again until it is signalled or expires again. A
/// counter already at zero (another thread read it first) leaves nothing to do.
pub fn reset_counter(fd: RawFd) {
    let mut count: u64 = 0;
    // SAFETY: reads at most 8 bytes into a live u64; EAGAIN when the counter is zero.
    unsafe { libc::read(fd, (&mut count as *mut u64).cast(), 8) };
}
