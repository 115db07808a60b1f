//! The byte buffer every source splits into lines.
//!
//! Bytes are appended with one `read()` call at a time (never "read until full"), and a
//! line is available as soon as its `\n` is in the buffer, so a source never holds back a
//! complete line. Each byte is scanned for `\n` once. Consumed bytes are dropped by
//! compacting when the free space runs low, so memory stays bounded by the longest line
//! plus one read, and the longest line by `--max-line`: a line that grows past it
//! fails the read instead of growing the buffer without end.
//!
//! A read needs initialized room to read into, and zeroing 16 KiB costs more than
//! most reads bring (a ticking upstream sends a line at a time). So the buffer's
//! bytes stay initialized once zeroed: the data ends at `end`, not at the vector's
//! length, and a buffer given back while its source waits goes to its thread's
//! spare slot, from which the next source on that thread to read takes it.

use std::cell::Cell;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The default `--max-line`: 1 MiB.
pub const DEFAULT_MAX_LINE: usize = 1024 * 1024;

static MAX_LINE: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_LINE);

/// Set the longest line (in bytes, without its newline) any source will hold.
pub fn set_max_line(bytes: usize) {
    MAX_LINE.store(bytes, Ordering::Relaxed);
}

/// Free space offered to each `read()`. Also the smallest read std's buffered stdin
/// passes straight through to the file descriptor.
const READ_SIZE: usize = 16 * 1024;

/// A released buffer larger than this is freed, not kept as the thread's spare.
const SPARE_MAX: usize = 4 * READ_SIZE;

thread_local! {
    /// The read buffer a source on this thread gave back while it waited, still
    /// initialized, for the next source on this thread that reads.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

#[derive(Default)]
pub struct LineBuffer {
    /// Initialized bytes: the data, then room to read into.
    buf: Vec<u8>,
    /// End of the data in `buf`.
    end: usize,
    /// First byte not yet handed out.
    start: usize,
    /// Bytes in `start..scanned` are known to hold no `\n` (when `newline` is `None`).
    scanned: usize,
    /// Index of the `\n` ending the next line, once found.
    newline: Option<usize>,
}

impl LineBuffer {
    pub fn new() -> LineBuffer {
        LineBuffer::default()
    }

    /// A complete line is buffered.
    pub fn has_line(&self) -> bool {
        self.newline.is_some()
    }

    /// Unconsumed bytes are buffered (a partial line, or complete ones).
    pub fn has_bytes(&self) -> bool {
        self.start < self.end
    }

    /// How many buffered bytes have not been handed out yet.
    pub fn unconsumed(&self) -> usize {
        self.end - self.start
    }

    /// Perform exactly one `read()` into the buffer. Returns the byte count (0 at end).
    pub fn fill(&mut self, reader: &mut impl Read) -> io::Result<usize> {
        self.make_room();
        self.room_for(READ_SIZE);
        let end = self.end;
        let result = reader.read(&mut self.buf[end..end + READ_SIZE]);
        let got = *result.as_ref().unwrap_or(&0);
        self.end += got;
        if got > 0 {
            self.scan();
            self.check_line_length()?;
        }
        result
    }

    /// A partial line longer than `--max-line` is an error; its bytes are dropped.
    fn check_line_length(&mut self) -> io::Result<()> {
        let max = MAX_LINE.load(Ordering::Relaxed);
        if self.newline.is_some() || self.end - self.start <= max {
            return Ok(());
        }
        self.clear();
        self.buf = Vec::new();
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("line longer than {max} bytes (--max-line)"),
        ))
    }

    /// Append bytes read by other means (the shared stdin reader, tests).
    pub fn extend(&mut self, bytes: &[u8]) {
        self.make_room();
        self.room_for(bytes.len());
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
        self.scan();
    }

    /// Make `buf` hold at least `room` initialized bytes after the data, zeroing only
    /// bytes never initialized before (a buffer taken from the spare slot has them).
    fn room_for(&mut self, room: usize) {
        if self.buf.is_empty() {
            self.buf = SPARE.take();
        }
        if self.buf.len() < self.end + room {
            self.buf.resize(self.end + room, 0);
        }
    }

    /// The next complete line, without its `\n` or `\r\n`.
    pub fn take_line(&mut self) -> Option<&[u8]> {
        let range = self.take_line_range()?;
        Some(&self.buf[range])
    }

    /// The unterminated rest, as a final line (at end of input). `None` when empty.
    pub fn take_rest(&mut self) -> Option<&[u8]> {
        let range = self.take_rest_range()?;
        Some(&self.buf[range])
    }

    /// Like [`LineBuffer::take_line`], but where the line lies: it stays readable with
    /// [`LineBuffer::slice`] until the next `fill`, `extend` or `clear`.
    pub fn take_line_range(&mut self) -> Option<Range<usize>> {
        let nl = self.newline.take()?;
        let begin = self.start;
        self.start = nl + 1;
        self.scanned = self.start;
        self.scan();
        Some(begin..strip_cr(&self.buf, begin, nl))
    }

    /// Like [`LineBuffer::take_rest`], but where the line lies.
    pub fn take_rest_range(&mut self) -> Option<Range<usize>> {
        if self.newline.is_some() || !self.has_bytes() {
            return None;
        }
        let begin = self.start;
        let end = self.end;
        self.start = end;
        self.scanned = end;
        Some(begin..strip_cr(&self.buf, begin, end))
    }

    /// Bytes of a line taken with a `_range` method.
    pub fn slice(&self, range: Range<usize>) -> &[u8] {
        self.buf.get(range).unwrap_or_default()
    }

    /// Give the memory back when nothing is buffered: a source that waits (for hours,
    /// maybe) should not hold a read buffer meanwhile.
    /// It goes to the thread's spare slot (unless it grew large), so a source that
    /// waits after every line does not allocate and zero a buffer for each one.
    pub fn release_if_empty(&mut self) {
        if !self.has_bytes() {
            self.clear();
            let buf = std::mem::take(&mut self.buf);
            if buf.capacity() <= SPARE_MAX {
                SPARE.set(buf);
            }
        }
    }

    /// Forget everything buffered (after truncation or rotation of a tailed file).
    pub fn clear(&mut self) {
        self.end = 0;
        self.start = 0;
        self.scanned = 0;
        self.newline = None;
    }

    /// Look for the next `\n` in bytes not scanned yet.
    fn scan(&mut self) {
        if self.newline.is_some() {
            return;
        }
        let from = self.scanned;
        // memchr compares many bytes per instruction: lines are found at a fraction
        // of a byte-by-byte scan's cost, which a million-line stream feels.
        match memchr::memchr(b'\n', &self.buf[from..self.end]) {
            Some(i) => self.newline = Some(from + i),
            None => self.scanned = self.end,
        }
    }

    /// Drop consumed bytes when they are all consumed or when the free space is short,
    /// so the buffer does not grow with the total input.
    fn make_room(&mut self) {
        if self.start == 0 {
            return;
        }
        if self.start == self.end || self.buf.len() - self.end < READ_SIZE {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start;
            if let Some(nl) = self.newline.as_mut() {
                *nl -= self.start;
            }
            self.start = 0;
        }
    }
}

/// The end of a line ending at `end` (exclusive), minus a trailing `\r`.
fn strip_cr(buf: &[u8], begin: usize, end: usize) -> usize {
    if end > begin && buf[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_past_the_limit_fails_the_read() {
        let long = vec![b'x'; DEFAULT_MAX_LINE + READ_SIZE];
        let mut reader = &long[..];
        let mut b = LineBuffer::new();
        let failed = loop {
            match b.fill(&mut reader) {
                Ok(0) => break None,
                Ok(_) => {}
                Err(e) => break Some(e),
            }
        };
        let e = failed.expect("the long line is refused");
        assert!(e.to_string().contains("--max-line"), "{e}");
        assert!(!b.has_bytes());
    }

    fn lines_of(chunks: &[&[u8]]) -> Vec<String> {
        let mut b = LineBuffer::new();
        let mut out = Vec::new();
        for c in chunks {
            b.extend(c);
            while let Some(l) = b.take_line() {
                out.push(String::from_utf8_lossy(l).into_owned());
            }
        }
        if let Some(l) = b.take_rest() {
            out.push(String::from_utf8_lossy(l).into_owned());
        }
        out
    }

    #[test]
    fn lines_split_across_chunks_and_crlf_stripped() {
        assert_eq!(
            lines_of(&[b"ab", b"c\r\nde\n\n", b"f"]),
            vec!["abc", "de", "", "f"]
        );
    }

    #[test]
    fn a_line_is_ready_as_soon_as_its_newline_arrives() {
        let mut b = LineBuffer::new();
        b.extend(b"x");
        assert!(!b.has_line());
        b.extend(b"\ny");
        assert!(b.has_line());
        assert_eq!(b.take_line(), Some(&b"x"[..]));
        assert!(!b.has_line());
        assert!(b.has_bytes());
    }

    #[test]
    fn a_released_buffer_is_read_into_again_without_a_new_allocation() {
        let mut first = LineBuffer::new();
        let mut reader: &[u8] = b"one\n";
        first.fill(&mut reader).unwrap();
        assert_eq!(first.take_line(), Some(&b"one"[..]));
        let at = first.buf.as_ptr();
        first.release_if_empty();
        assert!(first.buf.is_empty() && !first.has_bytes());
        let mut next = LineBuffer::new();
        let mut reader: &[u8] = b"two\nthr";
        next.fill(&mut reader).unwrap();
        assert_eq!(next.buf.as_ptr(), at, "the spare buffer was taken");
        assert_eq!(next.take_line(), Some(&b"two"[..]));
        next.extend(b"ee\n");
        assert_eq!(next.take_line(), Some(&b"three"[..]));
        assert!(!next.has_bytes());
    }

    #[test]
    fn buffer_stays_small_over_many_lines() {
        let mut b = LineBuffer::new();
        let mut reader: &[u8] = &b"0123456789\n".repeat(100_000);
        let mut n = 0;
        while b.fill(&mut reader).unwrap() > 0 {
            while b.take_line().is_some() {
                n += 1;
            }
        }
        assert_eq!(n, 100_000);
        assert!(b.buf.capacity() <= 4 * READ_SIZE, "{}", b.buf.capacity());
    }
}
