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
//! unavailable it polls every [`POLL`]. The watcher signals the source's own
//! wake-up descriptor, which is its [`Readiness`]: the server waits for it on its
//! event loop, so a quiet file costs nothing until it changes. A blocking reader
//! (`@line`) also looks every [`SAFETY_NET`], and [`Interrupter::interrupt`]
//! signals the same descriptor to end its wait at once. Lines written to a file after
//! it was renamed away arrive once its replacement appears.
//!
//! # Resuming
//!
//! Each line has an id, `INODE-OFFSET`: the file it came from and where the next line
//! starts in it ([`LineSource::line_id`]; server-sent events send it as the event id).
//! [`TailSource::resume`] opens the path again just after the line with a given id, so
//! a client that reconnects with its last id loses and repeats nothing. When the file
//! was rotated since, the old file is looked for in the same directory by its inode:
//! if it is still there its rest comes first, then the new file from its beginning;
//! if it is gone, the new file from its beginning (what was appended to the old one
//! after the id is lost with it).

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
use super::{block_on, wait_for, Interrupter, LineSource, Progress, Readiness};

/// Polling interval when there is no inotify.
const POLL: Duration = Duration::from_millis(50);
/// Even with inotify, look at the file this often (events can be missed, e.g. when the
/// directory itself is replaced).
const SAFETY_NET: Duration = Duration::from_millis(500);

pub struct TailSource {
    path: PathBuf,
    /// `None` once closed.
    file: Option<File>,
    /// (device, inode) of `file`, to notice rotation.
    identity: (u64, u64),
    /// Bytes of `file` read so far, to notice truncation.
    offset: u64,
    /// Where the line after the current one starts in `file`.
    line_end: u64,
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
        let len = file.metadata()?.len();
        let start = match last {
            None => len,
            Some(n) => start_of_last_lines(&mut file, len, n)?,
        };
        TailSource::following(path, file, start)
    }

    /// Open `path` for following just after the line whose [`LineSource::line_id`] was
    /// `id` (see the module notes for rotation). An empty `id` follows from the end,
    /// like [`TailSource::open`] without `last`, and so does an id this source never
    /// gave (not `INODE-OFFSET`, or an offset that is no line start): a browser's
    /// `Last-Event-ID` is whatever the client sends, and an error would leave an
    /// `EventSource` closed for good where starting afresh keeps the page live.
    pub fn resume(path: &Path, id: &str) -> io::Result<TailSource> {
        let Some((inode, offset)) = parse_line_id(id) else {
            return TailSource::open(path, None);
        };
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let (file, len) = if meta.ino() == inode {
            (file, meta.len())
        } else {
            match find_inode(&directory_of(path), inode) {
                Some((old, len)) => (old, len),
                // The old file is gone: all of the new one is after the id.
                None => return TailSource::following(path, file, 0),
            }
        };
        // A file now shorter than the id was truncated since: start it again.
        if offset > len {
            return TailSource::following(path, file, 0);
        }
        if !starts_a_line(&file, offset) {
            return TailSource::open(path, None);
        }
        TailSource::following(path, file, offset)
    }

    /// Follow `path`, reading `file` (the file at `path`, or the one rotated away
    /// from it) from `start`.
    fn following(path: &Path, mut file: File, start: u64) -> io::Result<TailSource> {
        let meta = file.metadata()?;
        file.seek(SeekFrom::Start(start))?;
        let dir = directory_of(path);
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
            line_end: start,
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
            (Some(_), _, None) => Readiness::After(POLL),
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
                self.line_end = self.offset - self.buf.unconsumed() as u64;
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

    fn line_id(&self) -> Option<String> {
        Some(format!("{}-{}", self.identity.1, self.line_end))
    }

    fn wait(&mut self) -> Result<(), String> {
        match (&self.wake, &self.watch) {
            (Some(wake), Some(_)) => wait_for(Some(wake.raw_fd()), Some(SAFETY_NET)),
            (Some(wake), None) => wait_for(Some(wake.raw_fd()), Some(POLL)),
            (None, _) => Ok(()),
        }
    }
}

fn directory_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `INODE-OFFSET`, as [`LineSource::line_id`] writes it.
fn parse_line_id(id: &str) -> Option<(u64, u64)> {
    let (inode, offset) = id.trim().split_once('-')?;
    Some((inode.parse().ok()?, offset.parse().ok()?))
}

/// Whether a line starts at `offset` in `file`: the file's start, or just after a
/// newline (where every id this source gives points).
fn starts_a_line(file: &File, offset: u64) -> bool {
    use std::os::unix::fs::FileExt;
    let Some(before) = offset.checked_sub(1) else {
        return true;
    };
    let mut byte = [0u8; 1];
    matches!(file.read_at(&mut byte, before), Ok(1) if byte[0] == b'\n')
}

/// The file in `dir` with inode `inode` (a rotated-away file), open, with its length.
/// Only files the read gate allows are considered.
fn find_inode(dir: &Path, inode: u64) -> Option<(File, u64)> {
    let entry = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|e| e.metadata().is_ok_and(|m| m.is_file() && m.ino() == inode))?;
    let file = crate::caps::open_read(&entry.path().to_string_lossy()).ok()?;
    let meta = file.metadata().ok()?;
    // The name may have been reused between the listing and the open.
    (meta.ino() == inode).then_some((file, meta.len()))
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
