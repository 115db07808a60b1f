//! One descriptor that becomes readable when either another descriptor does or a
//! timer runs out: an epoll set holding both, which is itself pollable.
//!
//! A source that must do something after a quiet period (server-sent events send a
//! heartbeat) still has a single [`super::Readiness::Fd`] for the server to wait on,
//! so the quiet period costs no thread and no periodic wake-up.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use crate::sys::epoll::Epoll;
use crate::sys::timerfd::TimerFd;

/// The set is only polled for being readable, never asked which member reported.
const ANY: u64 = 0;

pub struct Alarm {
    epoll: Epoll,
    timer: TimerFd,
    /// The other descriptor in the set, if any.
    watched: Option<RawFd>,
}

impl Alarm {
    pub fn new() -> io::Result<Alarm> {
        let epoll = Epoll::new()?;
        let timer = TimerFd::new()?;
        epoll.watch(timer.raw_fd(), ANY, false)?;
        Ok(Alarm {
            epoll,
            timer,
            watched: None,
        })
    }

    /// Also become readable when `fd` is (replacing a descriptor watched before).
    pub fn watch(&mut self, fd: RawFd) -> io::Result<()> {
        if self.watched == Some(fd) {
            return Ok(());
        }
        if let Some(old) = self.watched.take() {
            // An old descriptor already closed was removed by the kernel.
            let _ = self.epoll.remove(old);
        }
        self.epoll.watch(fd, ANY, false)?;
        self.watched = Some(fd);
        Ok(())
    }

    /// Become readable `after` from now (replacing an earlier setting; a zero delay
    /// means right away). Re-arming also forgets a past expiry.
    pub fn arm(&self, after: Duration) {
        let _ = self.timer.fire_after(after);
    }

    /// The descriptor to wait on.
    pub fn raw_fd(&self) -> RawFd {
        self.epoll.raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::line_source::notify::Notify;
    use crate::line_source::{readable_within, wait_readable};

    fn readable(fd: RawFd) -> bool {
        readable_within(fd, 0)
    }

    #[test]
    fn the_timer_or_the_watched_descriptor_wakes_it() {
        let mut alarm = Alarm::new().expect("alarm");
        let notify = Notify::new().expect("notify");
        alarm.watch(notify.raw_fd()).expect("watch");
        assert!(!readable(alarm.raw_fd()));
        notify.signal();
        assert!(readable(alarm.raw_fd()));
        notify.reset();
        assert!(!readable(alarm.raw_fd()));
        let start = Instant::now();
        alarm.arm(Duration::from_millis(30));
        wait_readable(alarm.raw_fd(), 5000);
        assert!(start.elapsed() >= Duration::from_millis(30));
        // Re-arming forgets the expiry.
        alarm.arm(Duration::from_secs(60));
        assert!(!readable(alarm.raw_fd()));
    }
}
