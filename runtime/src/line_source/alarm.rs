//! One descriptor that becomes readable when either another descriptor does or a
//! timer runs out: an epoll set holding both, which is itself pollable.
//!
//! A source that must do something after a quiet period (server-sent events send a
//! heartbeat) still has a single [`super::Readiness::Fd`] for the server to wait on,
//! so the quiet period costs no thread and no periodic wake-up.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

pub struct Alarm {
    epoll: OwnedFd,
    timer: OwnedFd,
    /// The other descriptor in the set, if any.
    watched: Option<RawFd>,
}

fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative descriptor just returned by the kernel is ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Alarm {
    pub fn new() -> io::Result<Alarm> {
        // SAFETY: epoll_create1 and timerfd_create take only flags.
        let epoll = owned(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: as above.
        let timer = owned(unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        })?;
        let alarm = Alarm {
            epoll,
            timer,
            watched: None,
        };
        alarm.add(alarm.timer.as_raw_fd())?;
        Ok(alarm)
    }

    fn add(&self, fd: RawFd) -> io::Result<()> {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: fd as u64,
        };
        // SAFETY: epoll_ctl on our epoll descriptor with a valid event struct.
        let rc =
            unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Also become readable when `fd` is (replacing a descriptor watched before).
    pub fn watch(&mut self, fd: RawFd) -> io::Result<()> {
        if self.watched == Some(fd) {
            return Ok(());
        }
        if let Some(old) = self.watched.take() {
            // SAFETY: removing a descriptor from our own epoll set; an old descriptor
            // already closed was removed by the kernel, and the error is ignored.
            unsafe {
                libc::epoll_ctl(
                    self.epoll.as_raw_fd(),
                    libc::EPOLL_CTL_DEL,
                    old,
                    std::ptr::null_mut(),
                )
            };
        }
        self.add(fd)?;
        self.watched = Some(fd);
        Ok(())
    }

    /// Become readable `after` from now (replacing an earlier setting; a zero delay
    /// means right away). Re-arming also forgets a past expiry.
    pub fn arm(&self, after: Duration) {
        // A zero it_value would disarm the timer.
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: a valid itimerspec for our own timerfd; the old value is not wanted.
        unsafe { libc::timerfd_settime(self.timer.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    }

    /// The descriptor to wait on.
    pub fn raw_fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
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
