//! One inotify instance for the whole process, shared by every `tail-file` source.
//!
//! The kernel allows a user only a few inotify instances (128 by default), so a
//! server following a file for thousands of clients cannot give each its own. Here
//! one instance watches each directory once; a thread (started by the first watch)
//! reads its events and signals the [`Notify`] of every subscriber whose file the
//! event names (or every subscriber of the directory, for events about the directory
//! itself). A subscriber's `Notify` is its source's readiness descriptor, so a quiet
//! file costs no wake-up at all.

use std::collections::HashMap;
use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread;

use super::notify::Notify;

/// Changes that may mean new lines, a truncation or a rotation.
const MASK: u32 = libc::IN_MODIFY
    | libc::IN_ATTRIB
    | libc::IN_CLOSE_WRITE
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_FROM
    | libc::IN_MOVED_TO
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF;

struct Subscriber {
    id: u64,
    name: OsString,
    notify: Arc<Notify>,
}

struct Watcher {
    inotify: OwnedFd,
    /// Subscribers by watch descriptor (one per directory).
    dirs: Mutex<HashMap<i32, Vec<Subscriber>>>,
}

impl Watcher {
    fn lock(&self) -> MutexGuard<'_, HashMap<i32, Vec<Subscriber>>> {
        self.dirs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The event thread: read events, signal whom they concern.
    fn run(&self) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: reads into a live buffer of the given length.
            let n =
                unsafe { libc::read(self.inotify.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            let dirs = self.lock();
            for (wd, name) in events(&buf[..n as usize]) {
                if wd < 0 {
                    // The queue overflowed: anything may have changed.
                    dirs.values().flatten().for_each(|s| s.notify.signal());
                    continue;
                }
                for sub in dirs.get(&wd).into_iter().flatten() {
                    if name.is_empty() || name == sub.name.as_bytes() {
                        sub.notify.signal();
                    }
                }
            }
        }
    }
}

/// The (watch descriptor, file name) of each event in a read from inotify.
fn events(mut bytes: &[u8]) -> Vec<(i32, &[u8])> {
    const HEADER: usize = 16;
    let mut out = Vec::new();
    while bytes.len() >= HEADER {
        let word = |i: usize| [bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]];
        let wd = i32::from_ne_bytes(word(0));
        let len = u32::from_ne_bytes(word(12)) as usize;
        let Some(name) = bytes.get(HEADER..HEADER + len) else {
            break;
        };
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        out.push((wd, &name[..end]));
        bytes = &bytes[HEADER + len..];
    }
    out
}

fn watcher() -> Option<&'static Watcher> {
    static WATCHER: OnceLock<Option<Watcher>> = OnceLock::new();
    WATCHER
        .get_or_init(|| {
            // SAFETY: inotify_init1 takes no pointers. Blocking reads: the event thread
            // sleeps in read() until something changes.
            let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
            if fd < 0 {
                return None;
            }
            Some(Watcher {
                // SAFETY: a descriptor just returned by the kernel is ours alone.
                inotify: unsafe { OwnedFd::from_raw_fd(fd) },
                dirs: Mutex::new(HashMap::new()),
            })
        })
        .as_ref()
}

/// A subscription: `notify` is signalled when the file changes. Dropping it
/// unsubscribes (and unwatches the directory when it was the last).
pub struct Watch {
    wd: i32,
    id: u64,
}

/// Watch `name` in `dir`, signalling `notify` on changes. `None` when inotify is not
/// available or the directory cannot be watched.
pub fn watch(dir: &Path, name: &OsStr, notify: Arc<Notify>) -> Option<Watch> {
    static STARTED: OnceLock<bool> = OnceLock::new();
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let w = watcher()?;
    let started = *STARTED.get_or_init(|| {
        thread::Builder::new()
            .name("ilo-watch".to_string())
            .stack_size(64 * 1024)
            .spawn(|| {
                if let Some(w) = watcher() {
                    w.run();
                }
            })
            .is_ok()
    });
    if !started {
        return None;
    }
    let cdir = CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut dirs = w.lock();
    // SAFETY: `cdir` is a NUL-terminated path that outlives the call.
    let wd = unsafe { libc::inotify_add_watch(w.inotify.as_raw_fd(), cdir.as_ptr(), MASK) };
    if wd < 0 {
        return None;
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    dirs.entry(wd).or_default().push(Subscriber {
        id,
        name: name.to_os_string(),
        notify,
    });
    Some(Watch { wd, id })
}

impl Drop for Watch {
    fn drop(&mut self) {
        let Some(w) = watcher() else { return };
        let mut dirs = w.lock();
        let Some(subs) = dirs.get_mut(&self.wd) else {
            return;
        };
        subs.retain(|s| s.id != self.id);
        if subs.is_empty() {
            dirs.remove(&self.wd);
            // SAFETY: removes a watch of our own inotify descriptor; under the lock, so
            // no new subscriber of this directory is added meanwhile.
            unsafe { libc::inotify_rm_watch(w.inotify.as_raw_fd(), self.wd) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_split_with_their_names() {
        let mut bytes = Vec::new();
        for (wd, name) in [(3i32, &b"log\0\0\0\0\0"[..]), (4, b"")] {
            bytes.extend_from_slice(&wd.to_ne_bytes());
            bytes.extend_from_slice(&libc::IN_MODIFY.to_ne_bytes());
            bytes.extend_from_slice(&0u32.to_ne_bytes());
            bytes.extend_from_slice(&(name.len() as u32).to_ne_bytes());
            bytes.extend_from_slice(name);
        }
        assert_eq!(events(&bytes), vec![(3, &b"log"[..]), (4, &b""[..])]);
    }
}
