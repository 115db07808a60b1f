//! Giving freed memory back to the system once the server goes quiet.
//!
//! The allocator keeps what a handler freed for reuse, so one request that built a
//! large value (a million-level list, a big JSON body) leaves the process that much
//! larger for good. When requests have started or finished and then nothing has
//! happened (and no handler has run) for [`QUIET`], the monitor asks the allocator to return its free pages
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
    /// Called by the monitor on every tick with the current activity count and
    /// whether no handler is running. Returns how soon it wants to be called again
    /// (`None`: not until something happens).
    pub fn tick(&mut self, activity: u64, idle: bool, now: Instant) -> Option<Duration> {
        if activity != self.seen || !idle {
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

/// Allocate large blocks (from 128 KiB) with their own mappings, always. glibc
/// otherwise raises that threshold each time such a block is freed, after which big
/// texts and lists come from the heap, where they fragment it and stay resident.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn configure() {
    // SAFETY: mallopt only changes allocator parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn configure() {}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
