//! A loop's deadline timer: one `timerfd` in the loop's epoll set, armed for the
//! earliest deadline of its parked connections and disarmed when none is due. An idle
//! server therefore sleeps in `epoll_wait` without waking up now and then to look.

use std::io;
use std::os::fd::RawFd;
use std::sync::Mutex;
use std::time::Duration;

use crate::sys::timerfd::TimerFd;

/// Nothing armed.
const DISARMED: u64 = u64::MAX;

pub struct Timer {
    fd: TimerFd,
    /// When it is set to fire, in nanoseconds on the caller's clock; `DISARMED`.
    armed: Mutex<u64>,
}

impl Timer {
    pub fn new() -> io::Result<Timer> {
        Ok(Timer {
            fd: TimerFd::new()?,
            armed: Mutex::new(DISARMED),
        })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.raw_fd()
    }

    /// Make the timer fire no later than `at`, given the clock `now` (both in
    /// nanoseconds on one monotonic clock). A later deadline than the armed one costs
    /// nothing, not even a look at the clock: the timer fires first for the earlier
    /// one and is re-armed then.
    pub fn arm_by(&self, at: u64, now: impl FnOnce() -> u64) {
        let mut armed = self.armed.lock().unwrap_or_else(|p| p.into_inner());
        if at >= *armed {
            return;
        }
        let after = Duration::from_nanos(at.saturating_sub(now()));
        if self.fd.fire_after(after).is_ok() {
            *armed = at;
        }
    }

    /// The timer fired: consume the report. The caller then handles what is due and
    /// arms it again for what remains.
    pub fn fired(&self) {
        self.fd.consume();
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = DISARMED;
    }
}
