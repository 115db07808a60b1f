//! A wake-up descriptor: one thread signals, another waits for it with `poll` or
//! epoll. Sources that are fed by a thread (the stdin hub, a pumped blocking source)
//! use one as their [`super::Readiness`] descriptor.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::sys::{owned_fd, reset_counter};

pub struct Notify(OwnedFd);

impl Notify {
    pub fn new() -> io::Result<Notify> {
        // SAFETY: eventfd takes no pointers and returns a new descriptor or -1.
        owned_fd(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) }).map(Notify)
    }

    /// Make the descriptor readable (until [`Notify::reset`]).
    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd. A full counter
        // (EAGAIN) still leaves it readable, which is all a signal means.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Make the descriptor unreadable again; call before re-checking what it guards.
    pub fn reset(&self) {
        reset_counter(self.0.as_raw_fd());
    }

    pub fn raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}
