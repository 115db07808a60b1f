//! A thin wrapper over one epoll set: the only place the server's event loops (and
//! the line sources' alarms, [`crate::line_source`]) touch epoll.
//!
//! A connection waiting for requests is registered edge-triggered, once: every arrival
//! of bytes is reported without a re-arm per request (the event loop keeps each
//! connection with one thread, and catches reports that arrive while it is held).
//! Streams and their sources are registered one-shot: a report disarms the
//! descriptor, and it is re-armed for what the stream waits for next.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::owned_fd;

pub struct Epoll(OwnedFd);

/// Readable, reported on each arrival of new bytes while registered; a report also
/// says when the peer has shut its sending side (so a partial request that can never
/// complete is seen at once).
const EDGE_READ: u32 = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET) as u32;

/// What a one-shot registration waits for. Hang-ups and errors are always reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Bytes to read (a request, a source's data).
    Read,
    /// Only the peer hanging up (a streaming response waiting on its source).
    HangUp,
    /// Room to write, or a hang-up (a streaming response with a full socket).
    Write,
    /// Room to write only (a handler's answer waiting for its client to read: a
    /// client that has shut its sending side may still be reading).
    Room,
}

impl Interest {
    fn events(self) -> u32 {
        let bits = match self {
            Interest::Read => libc::EPOLLIN,
            Interest::HangUp => libc::EPOLLRDHUP,
            Interest::Write => libc::EPOLLOUT | libc::EPOLLRDHUP,
            Interest::Room => libc::EPOLLOUT,
        };
        (bits | libc::EPOLLONESHOT) as u32
    }
}

/// The events that mean the peer hung up or the descriptor failed.
pub const HUNG_UP: u32 = (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;

/// An empty event slot for [`Epoll::wait`] to fill.
pub const NO_EVENT: libc::epoll_event = libc::epoll_event { events: 0, u64: 0 };

impl Epoll {
    pub fn new() -> io::Result<Epoll> {
        // SAFETY: epoll_create1 takes only flags and returns a new descriptor or -1.
        owned_fd(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }).map(Epoll)
    }

    /// The set's own descriptor: readable while any watched descriptor is.
    pub fn raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: token };
        // SAFETY: epoll_ctl on our epoll descriptor with a valid event struct.
        if unsafe { libc::epoll_ctl(self.0.as_raw_fd(), op, fd, &mut event) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Watch `fd` for readability for as long as it is registered (listener, wake pipe).
    /// `exclusive` avoids waking every loop for one readiness change.
    pub fn watch(&self, fd: RawFd, token: u64, exclusive: bool) -> io::Result<()> {
        let mut events = libc::EPOLLIN as u32;
        if exclusive {
            events |= libc::EPOLLEXCLUSIVE as u32;
        }
        self.ctl(libc::EPOLL_CTL_ADD, fd, events, token)
    }

    /// Register (`new`) or switch `fd` to edge-triggered reports of arriving bytes.
    /// Either way the kernel looks at the descriptor at once, so bytes already
    /// waiting are reported too.
    pub fn watch_edges(&self, fd: RawFd, token: u64, new: bool) -> io::Result<()> {
        let op = if new {
            libc::EPOLL_CTL_ADD
        } else {
            libc::EPOLL_CTL_MOD
        };
        self.ctl(op, fd, EDGE_READ, token)
    }

    /// Register (`new`) or re-arm `fd` for one report of `interest`.
    pub fn arm(&self, fd: RawFd, token: u64, interest: Interest, new: bool) -> io::Result<()> {
        let op = if new {
            libc::EPOLL_CTL_ADD
        } else {
            libc::EPOLL_CTL_MOD
        };
        self.ctl(op, fd, interest.events(), token)
    }

    pub fn remove(&self, fd: RawFd) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd, 0, 0)
    }

    /// Wait up to `timeout_ms` for events; returns how many slots were filled.
    pub fn wait(&self, events: &mut [libc::epoll_event], timeout_ms: i32) -> io::Result<usize> {
        loop {
            match super::socket::epoll_wait(self.0.as_raw_fd(), events, timeout_ms) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => return other,
            }
        }
    }
}
