//! `tail-file PATH [N]`: follow a growing file like `tail -F`.
//!
//! Yields the lines appended after opening (first the file's last N lines when N is
//! given) and never ends by itself. At end of the current file it checks the path: a
//! shorter file means truncation (start again from its beginning), a different inode at
//! the path means rotation (open the new file from its beginning; the old one was read
//! to its end first). A partial last line waits for its newline.
//!
//! Waiting uses inotify on the file's directory on Linux (directory events cover writes
//! to the files in it, and creation/renames for rotation), so an appended line arrives
//! within milliseconds; elsewhere, or when inotify is unavailable, it polls every
//! [`POLL_MS`]. The inotify descriptor is also the source's [`Readiness`], so the
//! server waits for it on its event loop: a quiet file costs nothing until it changes.
//! A blocking reader (`@line`) also looks every [`SAFETY_NET_MS`], and an eventfd lets
//! [`Interrupter::interrupt`] end its wait at once.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::buffer::LineBuffer;
use super::{block_on, Interrupter, LineSource, Progress, Readiness};

/// Polling interval when there is no inotify.
const POLL_MS: i32 = 50;
/// Even with inotify, look at the file this often (events can be missed, e.g. when the
/// directory itself is replaced).
const SAFETY_NET_MS: i32 = 500;

pub struct TailSource {
    path: PathBuf,
    /// `None` once closed.
    file: Option<File>,
    /// (device, inode) of `file`, to notice rotation.
    identity: (u64, u64),
    /// Bytes of `file` read so far, to notice truncation.
    offset: u64,
    buf: LineBuffer,
    /// Where the line of the last `advance` lies in `buf`.
    current: Range<usize>,
    /// The last `advance` was pending: change notifications seen since are stale once
    /// the file is read again, so they are discarded first.
    woken: bool,
    waiter: wait::Waiter,
    interrupter: Interrupter,
}

fn identity(meta: &Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

impl TailSource {
    /// Open `path` for following; with `last` = `Some(n)`, the file's last `n` lines
    /// come first. The file must exist.
    pub fn open(path: &Path, last: Option<usize>) -> io::Result<TailSource> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let start = match last {
            None => meta.len(),
            Some(n) => start_of_last_lines(&mut file, meta.len(), n)?,
        };
        file.seek(SeekFrom::Start(start))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (waiter, interrupter) = wait::Waiter::new(&dir);
        Ok(TailSource {
            path: path.to_path_buf(),
            file: Some(file),
            identity: identity(&meta),
            offset: start,
            buf: LineBuffer::new(),
            current: 0..0,
            woken: true,
            waiter,
            interrupter,
        })
    }

    /// At end of the current file: switch to a rotated-in file or rewind a truncated one.
    /// `true` when there may be new bytes to read now.
    fn follow_path(&mut self) -> bool {
        let Ok(meta) = std::fs::metadata(&self.path) else {
            // Moved away and not yet replaced: keep waiting on the old file.
            return false;
        };
        if identity(&meta) != self.identity {
            // A rotated-in file passes the read gate like the first one.
            let Ok(file) = crate::caps::open_read(&self.path.to_string_lossy()) else {
                return false;
            };
            let Ok(meta) = file.metadata() else {
                return false;
            };
            self.identity = identity(&meta);
            self.file = Some(file);
            self.offset = 0;
            self.buf.clear();
            return true;
        }
        if meta.len() < self.offset {
            if let Some(file) = self.file.as_mut() {
                if file.seek(SeekFrom::Start(0)).is_ok() {
                    self.offset = 0;
                    self.buf.clear();
                    return true;
                }
            }
        }
        false
    }
}

impl LineSource for TailSource {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        block_on(self)
    }

    fn ready(&self) -> bool {
        self.file.is_some() && self.buf.has_line()
    }

    fn close(&mut self) {
        self.file = None;
        self.buf = LineBuffer::new();
        self.waiter.close();
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(self.interrupter.clone())
    }

    fn readiness(&self) -> Readiness {
        match self.file {
            Some(_) => self.waiter.readiness(),
            None => Readiness::Always,
        }
    }

    fn advance(&mut self) -> Progress {
        loop {
            if self.interrupter.fired() {
                self.close();
            }
            let Some(file) = self.file.as_mut() else {
                return Progress::End;
            };
            if let Some(range) = self.buf.take_line_range() {
                self.current = range;
                return Progress::Line;
            }
            if self.woken {
                // Before reading, so a change after the read is still reported.
                self.waiter.discard_events();
                self.woken = false;
            }
            match self.buf.fill(file) {
                Ok(0) => {}
                Ok(n) => {
                    self.offset += n as u64;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let message = format!("tail-file read error: {}: {e}", self.path.display());
                    self.close();
                    return Progress::Failed(message);
                }
            }
            if !self.follow_path() {
                self.woken = true;
                return Progress::Pending;
            }
        }
    }

    fn line(&self) -> &[u8] {
        self.buf.slice(self.current.clone())
    }

    fn wait(&mut self) {
        self.waiter.wait();
    }
}

/// Where the last `n` lines of a file of `len` bytes begin. A final line without a
/// newline counts as a line (as for `tail -n`).
fn start_of_last_lines(file: &mut File, len: u64, n: usize) -> io::Result<u64> {
    if n == 0 || len == 0 {
        return Ok(len);
    }
    const BLOCK: u64 = 64 * 1024;
    let mut block = vec![0u8; BLOCK as usize];
    let mut end = len;
    let mut newlines = 0;
    let mut skip_final_newline = true;
    while end > 0 {
        let begin = end.saturating_sub(BLOCK);
        let chunk = &mut block[..(end - begin) as usize];
        file.seek(SeekFrom::Start(begin))?;
        file.read_exact(chunk)?;
        for i in (0..chunk.len()).rev() {
            if chunk[i] != b'\n' {
                skip_final_newline = false;
                continue;
            }
            if skip_final_newline {
                // The newline ending the last line does not start another line.
                skip_final_newline = false;
                continue;
            }
            newlines += 1;
            if newlines == n {
                return Ok(begin + i as u64 + 1);
            }
        }
        end = begin;
    }
    Ok(0)
}

#[cfg(target_os = "linux")]
mod wait {
    //! Waiting for a change with inotify, woken early by an eventfd.

    use std::ffi::CString;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    use super::{Interrupter, Readiness, POLL_MS, SAFETY_NET_MS};

    pub struct Waiter {
        /// `None` when inotify could not be set up: poll instead.
        inotify: Option<OwnedFd>,
        /// Shared with the interrupter, which writes to it; taken on close so the
        /// descriptor is released with the source.
        wake: Arc<Mutex<Option<OwnedFd>>>,
    }

    fn owned(fd: libc::c_int) -> Option<OwnedFd> {
        // SAFETY: a non-negative fd just returned by the kernel is ours alone.
        (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
    }

    impl Waiter {
        pub fn new(dir: &Path) -> (Waiter, Interrupter) {
            let inotify = watch_directory(dir);
            // SAFETY: eventfd takes no pointers.
            let wake = owned(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) });
            let wake = Arc::new(Mutex::new(wake));
            let for_interrupter = wake.clone();
            let interrupter = Interrupter::new(move || {
                let guard = for_interrupter.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(fd) = guard.as_ref() {
                    let one: u64 = 1;
                    // SAFETY: writes 8 bytes from a live u64 to an eventfd we hold open
                    // (the lock keeps close from racing with this write).
                    unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
                }
            });
            (Waiter { inotify, wake }, interrupter)
        }

        /// Block until the directory changes, the interrupter fires, or a timeout.
        pub fn wait(&mut self) {
            let wake_fd = self
                .wake
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map_or(-1, |fd| fd.as_raw_fd());
            let (inotify_fd, timeout) = match &self.inotify {
                Some(fd) => (fd.as_raw_fd(), SAFETY_NET_MS),
                None => (-1, POLL_MS),
            };
            // poll ignores entries with a negative fd.
            let mut fds = [
                libc::pollfd {
                    fd: inotify_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: wake_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: `fds` is a valid array of two pollfds for the duration of the call.
            unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout) };
            if fds[0].revents != 0 {
                drain(inotify_fd);
            }
        }

        /// The inotify descriptor, or a poll interval without one.
        pub fn readiness(&self) -> Readiness {
            match &self.inotify {
                Some(fd) => Readiness::Fd(fd.as_raw_fd()),
                None => Readiness::After(std::time::Duration::from_millis(POLL_MS as u64)),
            }
        }

        pub fn discard_events(&self) {
            if let Some(fd) = &self.inotify {
                drain(fd.as_raw_fd());
            }
        }

        pub fn close(&mut self) {
            self.inotify = None;
            *self.wake.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    /// An inotify descriptor watching `dir` for writes, creations, renames and
    /// deletions of its entries.
    fn watch_directory(dir: &Path) -> Option<OwnedFd> {
        let cdir = CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: inotify_init1 takes no pointers.
        let fd = owned(unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) })?;
        let mask = libc::IN_MODIFY
            | libc::IN_ATTRIB
            | libc::IN_CLOSE_WRITE
            | libc::IN_CREATE
            | libc::IN_DELETE
            | libc::IN_MOVED_FROM
            | libc::IN_MOVED_TO
            | libc::IN_DELETE_SELF
            | libc::IN_MOVE_SELF;
        // SAFETY: `cdir` is a NUL-terminated path that outlives the call.
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), cdir.as_ptr(), mask) };
        (wd >= 0).then_some(fd)
    }

    /// Discard pending inotify events: the caller re-examines the file anyway.
    fn drain(fd: libc::c_int) {
        let mut events = [0u8; 4096];
        loop {
            // SAFETY: reads into a live local buffer of the given length.
            let n = unsafe { libc::read(fd, events.as_mut_ptr().cast(), events.len()) };
            if n <= 0 {
                break;
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod wait {
    //! Waiting by polling: no inotify here.

    use std::path::Path;
    use std::time::Duration;

    use super::{Interrupter, Readiness, POLL_MS};

    pub struct Waiter;

    impl Waiter {
        pub fn new(_dir: &Path) -> (Waiter, Interrupter) {
            // Waits last one poll interval, after which the interrupter's flag is seen.
            (Waiter, Interrupter::new(|| {}))
        }

        pub fn wait(&mut self) {
            std::thread::sleep(Duration::from_millis(POLL_MS as u64));
        }

        pub fn readiness(&self) -> Readiness {
            Readiness::After(Duration::from_millis(POLL_MS as u64))
        }

        pub fn discard_events(&self) {}

        pub fn close(&mut self) {}
    }
}
