//! Giving freed memory back to the system once the server goes quiet.
//!
//! The allocator keeps what a handler freed for reuse, so one request that built a
//! large value (a million-level list, a big JSON body) leaves the process that much
//! larger for good. When requests have started or finished and then nothing has
//! happened for [`QUIET`], the monitor asks the allocator to return its free pages
//! (`malloc_trim`). A server that never goes quiet never trims: it reuses the memory.

use std::time::{Duration, Instant};

/// How long nothing must happen before freed memory is returned.
const QUIET: Duration = Duration::from_millis(500);

pub struct Reclaim {
    /// Activity count (requests started plus responses finished) last seen.
    seen: u64,
    changed_at: Instant,
    /// Activity count at the last trim.
    trimmed: u64,
}

impl Default for Reclaim {
    fn default() -> Reclaim {
        Reclaim {
            seen: 0,
            changed_at: Instant::now(),
            trimmed: 0,
        }
    }
}

impl Reclaim {
    /// Called by the monitor on every tick with the current activity count. Returns
    /// how soon it wants to be called again (`None`: not until something happens).
    pub fn tick(&mut self, activity: u64, now: Instant) -> Option<Duration> {
        if activity != self.seen {
            self.seen = activity;
            self.changed_at = now;
        }
        if self.trimmed == activity {
            return None;
        }
        let quiet_for = now.duration_since(self.changed_at);
        if quiet_for < QUIET {
            return Some(QUIET - quiet_for);
        }
        self.trimmed = activity;
        trim();
        None
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
