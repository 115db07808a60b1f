//! `tail-file PATH [N]`: follow a growing file like `tail -F`.
//!
//! Yields the lines appended after opening (first the file's last N lines when N is
//! given) and never ends by itself. At end of the current file it checks the path: a
//! shorter file means truncation (start again from its beginning), a different inode at
//! the path means rotation (open the new file from its beginning; the old one was read
//! to its end first). A partial last line waits for its newline.
//!
//! Waiting uses the process's one inotify watcher ([`super::watch`]) on the file's
//! directory (directory events cover writes to the file, and creation and renames for
//! rotation), so an appended line arrives within milliseconds; when inotify is
//! unavailable it polls every [`POLL_MS`]. The watcher signals the source's own
//! wake-up descriptor, which is its [`Readiness`]: the server waits for it on its
//! event loop, so a quiet file costs nothing until it changes. A blocking reader
//! (`@line`) also looks every [`SAFETY_NET_MS`], and [`Interrupter::interrupt`]
//! signals the same descriptor to end its wait at once. Lines written to a file after
//! it was renamed away arrive once its replacement appears.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::buffer::LineBuffer;
use super::notify::Notify;
use super::watch::{watch, Watch};
use super::{block_on, wait_readable, Interrupter, LineSource, Progress, Readiness};

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
    /// Signalled by the watcher and the interrupter; `None` once closed.
    wake: Option<Arc<Notify>>,
    /// The watcher's subscription; `None` without inotify (then the source polls).
    watch: Option<Watch>,
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
        let wake = Arc::new(Notify::new()?);
        let watch = path
            .file_name()
            .and_then(|name| watch(&dir, name, Arc::clone(&wake)));
        let for_interrupter: Weak<Notify> = Arc::downgrade(&wake);
        let interrupter = Interrupter::new(move || {
            if let Some(wake) = for_interrupter.upgrade() {
                wake.signal();
            }
        });
        Ok(TailSource {
            path: path.to_path_buf(),
            file: Some(file),
            identity: identity(&meta),
            offset: start,
            buf: LineBuffer::new(),
            current: 0..0,
            woken: true,
            wake: Some(wake),
            watch,
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
        self.watch = None;
        self.wake = None;
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(self.interrupter.clone())
    }

    fn readiness(&self) -> Readiness {
        match (&self.file, &self.wake, &self.watch) {
            (Some(_), Some(wake), Some(_)) => Readiness::Fd(wake.raw_fd()),
            (Some(_), _, None) => Readiness::After(Duration::from_millis(POLL_MS as u64)),
            _ => Readiness::Always,
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
                if let Some(wake) = &self.wake {
                    wake.reset();
                }
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
                self.buf.release_if_empty();
                return Progress::Pending;
            }
        }
    }

    fn line(&self) -> &[u8] {
        self.buf.slice(self.current.clone())
    }

    fn wait(&mut self) {
        match (&self.wake, &self.watch) {
            (Some(wake), Some(_)) => wait_readable(wake.raw_fd(), SAFETY_NET_MS),
            (Some(wake), None) => wait_readable(wake.raw_fd(), POLL_MS),
            (None, _) => {}
        }
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
