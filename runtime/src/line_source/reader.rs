//! A source over any byte stream that ends: a file (`for-line PATH`) or an HTTP
//! response body (the `get-stream` family).
//!
//! Reading stops at end of input, where an unterminated last line is still a line. A
//! read error closes the reader and is reported once, prefixed with what was being
//! read; the source then reports end.
//!
//! A file is always ready (its reads never wait). A body's socket is non-blocking, so
//! a read with nothing to give answers `WouldBlock`: the source is then pending on
//! the socket's descriptor (given with [`ReaderSource::waiting_on`]).

use std::io::{self, Read};
use std::ops::Range;
use std::os::fd::RawFd;

use super::buffer::LineBuffer;
use super::{block_on, Interrupter, LineSource, Progress, Readiness};

pub struct ReaderSource<R: Read + Send> {
    /// `None` once closed, failed or fully read: the file or socket is released then.
    reader: Option<R>,
    buf: LineBuffer,
    /// Where the line of the last `advance` lies in `buf`.
    current: Range<usize>,
    /// Prepended to read errors, e.g. `http-stream read error: `.
    error_prefix: String,
    interrupter: Option<Interrupter>,
    readiness: Readiness,
}

impl<R: Read + Send> ReaderSource<R> {
    /// A source over a reader whose reads never wait (a regular file).
    pub fn new(reader: R, error_prefix: impl Into<String>) -> ReaderSource<R> {
        ReaderSource {
            reader: Some(reader),
            buf: LineBuffer::new(),
            current: 0..0,
            error_prefix: error_prefix.into(),
            interrupter: None,
            readiness: Readiness::Always,
        }
    }

    /// The reader is non-blocking over `fd`: a `WouldBlock` read means "wait for `fd`".
    pub fn waiting_on(mut self, fd: RawFd) -> ReaderSource<R> {
        self.readiness = Readiness::Fd(fd);
        self
    }

    /// Let other threads end a blocked read (see [`LineSource::interrupter`]).
    pub fn with_interrupter(mut self, interrupter: Interrupter) -> ReaderSource<R> {
        self.interrupter = Some(interrupter);
        self
    }

    fn interrupted(&self) -> bool {
        self.interrupter.as_ref().is_some_and(Interrupter::fired)
    }
}

impl<R: Read + Send> LineSource for ReaderSource<R> {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        block_on(self)
    }

    fn ready(&self) -> bool {
        self.buf.has_line() || (self.reader.is_none() && self.buf.has_bytes())
    }

    fn close(&mut self) {
        self.reader = None;
        self.buf.clear();
    }

    fn interrupter(&self) -> Option<Interrupter> {
        self.interrupter.clone()
    }

    fn readiness(&self) -> Readiness {
        match self.reader {
            Some(_) => self.readiness,
            None => Readiness::Always,
        }
    }

    fn advance(&mut self) -> Progress {
        loop {
            if let Some(range) = self.buf.take_line_range() {
                self.current = range;
                return Progress::Line;
            }
            if self.interrupted() {
                // Ended from another thread: an end, not a failure.
                self.close();
            }
            let Some(reader) = self.reader.as_mut() else {
                return match self.buf.take_rest_range() {
                    Some(range) => {
                        self.current = range;
                        Progress::Line
                    }
                    None => Progress::End,
                };
            };
            match self.buf.fill(reader) {
                Ok(0) => self.reader = None,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.buf.release_if_empty();
                    return Progress::Pending;
                }
                Err(e) => {
                    let interrupted = self.interrupted();
                    self.close();
                    if !interrupted {
                        return Progress::Failed(format!("{}{e}", self.error_prefix));
                    }
                }
            }
        }
    }

    fn line(&self) -> &[u8] {
        self.buf.slice(self.current.clone())
    }
}
