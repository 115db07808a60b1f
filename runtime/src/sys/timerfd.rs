//! A monotonic one-shot timer as a descriptor (`timerfd`): it becomes readable when
//! its time runs out, so one epoll set waits for a deadline and for descriptors
//! alike (a loop's deadlines, a quiet stream's heartbeat).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::owned_fd;

pub struct TimerFd(OwnedFd);

impl TimerFd {
    pub fn new() -> io::Result<TimerFd> {
        // SAFETY: timerfd_create takes only flags and returns a new descriptor or -1.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        owned_fd(fd).map(TimerFd)
    }

    /// Become readable `after` from now, replacing an earlier setting and forgetting
    /// an expiry not consumed yet. Zero means at once (to the kernel it would mean
    /// disarmed).
    pub fn fire_after(&self, after: Duration) -> io::Result<()> {
        let after = after.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_nsec: libc::c_long::from(after.subsec_nanos()),
            },
        };
        // SAFETY: a valid itimerspec for our own timer descriptor; no old value wanted.
        if unsafe { libc::timerfd_settime(self.0.as_raw_fd(), 0, &spec, std::ptr::null_mut()) } != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Consume an expiry: the descriptor is not readable again until the next one.
    pub fn consume(&self) {
        super::reset_counter(self.0.as_raw_fd());
    }

    pub fn raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}
