//! A source over any byte stream that ends: a file (`for-line PATH`) or an HTTP
//! response body (the `get-stream` family).
//!
//! Reading stops at end of input, where an unterminated last line is still a line. A
//! read error closes the reader and is reported once, prefixed with what was being
//! read; the source then reports end.

use std::io::{self, Read};

use super::buffer::LineBuffer;
use super::{Interrupter, LineSource};

pub struct ReaderSource<R: Read + Send> {
    /// `None` once closed, failed or fully read: the file or socket is released then.
    reader: Option<R>,
    buf: LineBuffer,
    /// Prepended to read errors, e.g. `http-stream read error: `.
    error_prefix: String,
    interrupter: Option<Interrupter>,
}

impl<R: Read + Send> ReaderSource<R> {
    pub fn new(reader: R, error_prefix: impl Into<String>) -> ReaderSource<R> {
        ReaderSource {
            reader: Some(reader),
            buf: LineBuffer::new(),
            error_prefix: error_prefix.into(),
            interrupter: None,
        }
    }

    /// Let other threads end a blocked read (see [`LineSource::interrupter`]).
    pub fn with_interrupter(mut self, interrupter: Interrupter) -> ReaderSource<R> {
        self.interrupter = Some(interrupter);
        self
    }

    /// Read once more; `false` when nothing more will come.
    fn fill(&mut self) -> Result<bool, String> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(false);
        };
        loop {
            match self.buf.fill(reader) {
                Ok(0) => {
                    self.reader = None;
                    return Ok(false);
                }
                Ok(_) => return Ok(true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.reader = None;
                    if self.interrupter.as_ref().is_some_and(|i| i.fired()) {
                        // Closed from another thread: an end, not a failure.
                        self.buf.clear();
                        return Ok(false);
                    }
                    return Err(format!("{}{e}", self.error_prefix));
                }
            }
        }
    }
}

impl<R: Read + Send> LineSource for ReaderSource<R> {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        while !self.buf.has_line() {
            if !self.fill()? {
                return Ok(self.buf.take_rest());
            }
        }
        Ok(self.buf.take_line())
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
}
