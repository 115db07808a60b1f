//! Thin safe wrappers over the Linux descriptors that the server's event loops and
//! the line sources wait with, so each system call and its `unsafe` block is written
//! once.

pub mod epoll;
pub mod socket;
pub mod timerfd;

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// What a call that creates a descriptor returned: the descriptor, now owned, or the
/// error `errno` holds when it returned -1.
pub fn owned_fd(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative descriptor just returned by the kernel is ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
