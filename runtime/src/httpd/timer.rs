//! A loop's deadline timer: one `timerfd` in the loop's epoll set, armed for the
//! earliest deadline of its parked connections and disarmed when none is due. An idle
//! server therefore sleeps in `epoll_wait` without waking up now and then to look.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// Nothing armed.
const DISARMED: u64 = u64::MAX;

pub struct Timer {
    fd: OwnedFd,
    /// When it is set to fire, in nanoseconds on the caller's clock; `DISARMED`.
    armed: Mutex<u64>,
}

impl Timer {
    pub fn new() -> io::Result<Timer> {
        // SAFETY: timerfd_create takes only flags and returns a new descriptor or -1.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Timer {
            // SAFETY: the descriptor was just created and is owned by nobody else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            armed: Mutex::new(DISARMED),
        })
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
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
        // Zero would disarm it: a deadline already past fires at once instead.
        let after = at.saturating_sub(now()).max(1);
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (after / 1_000_000_000) as libc::time_t,
                tv_nsec: (after % 1_000_000_000) as libc::c_long,
            },
        };
        // SAFETY: a valid itimerspec for our own timer descriptor; no old value wanted.
        if unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) }
            == 0
        {
            *armed = at;
        }
    }

    /// The timer fired: consume the report. The caller then handles what is due and
    /// arms it again for what remains.
    pub fn fired(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; EAGAIN when another thread
        // consumed it first.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = DISARMED;
    }
}
