//! Reading a request body, by `Content-Length` or chunked, within `max_body`.

use std::net::TcpStream;
use std::time::Instant;

use super::input::{Input, ReadStop};
use super::request::BodyLength;

/// Why the body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Larger than `max_body`: answer 413.
    TooLarge,
    /// Broken chunk framing: answer 400.
    Malformed,
    /// The connection failed or timed out; nothing sensible can be answered.
    Read(ReadStop),
}

/// Everything the body reader needs from the connection.
pub struct BodySource<'a> {
    pub stream: &'a TcpStream,
    pub input: &'a mut Input,
    pub wake_fd: i32,
    pub deadline: Instant,
    pub max_body: usize,
}

impl BodySource<'_> {
    fn fill(&mut self) -> Result<(), BodyError> {
        self.input
            .fill(self.stream, self.wake_fd, self.deadline)
            .map(|_| ())
            .map_err(BodyError::Read)
    }

    /// Read the body as text (invalid UTF-8 is replaced, as the request record holds
    /// text).
    pub fn read(mut self, length: &BodyLength) -> Result<String, BodyError> {
        let bytes = match length {
            BodyLength::None => Vec::new(),
            BodyLength::Fixed(n) => self.read_fixed(*n)?,
            BodyLength::Chunked => self.read_chunked()?,
        };
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    fn read_fixed(&mut self, n: usize) -> Result<Vec<u8>, BodyError> {
        if n > self.max_body {
            return Err(BodyError::TooLarge);
        }
        let mut body = Vec::with_capacity(n);
        while body.len() < n {
            if self.input.available().is_empty() {
                self.fill()?;
            }
            let take = self.input.available().len().min(n - body.len());
            body.extend_from_slice(&self.input.available()[..take]);
            self.input.consume(take);
        }
        Ok(body)
    }

    fn read_chunked(&mut self) -> Result<Vec<u8>, BodyError> {
        let mut body = Vec::new();
        loop {
            let (header_len, size) = loop {
                match httparse::parse_chunk_size(self.input.available()) {
                    Ok(httparse::Status::Complete((len, size))) => break (len, size),
                    Ok(httparse::Status::Partial) if self.input.available().len() > 1024 => {
                        return Err(BodyError::Malformed)
                    }
                    Ok(httparse::Status::Partial) => self.fill()?,
                    Err(_) => return Err(BodyError::Malformed),
                }
            };
            self.input.consume(header_len);
            let size = usize::try_from(size).map_err(|_| BodyError::TooLarge)?;
            if size == 0 {
                return self.skip_trailers().map(|()| body);
            }
            if body.len().saturating_add(size) > self.max_body {
                return Err(BodyError::TooLarge);
            }
            body.extend(self.read_fixed(size)?);
            self.expect_crlf()?;
        }
    }

    fn expect_crlf(&mut self) -> Result<(), BodyError> {
        while self.input.available().len() < 2 {
            self.fill()?;
        }
        if &self.input.available()[..2] != b"\r\n" {
            return Err(BodyError::Malformed);
        }
        self.input.consume(2);
        Ok(())
    }

    /// Trailer fields are read and ignored, up to the blank line.
    fn skip_trailers(&mut self) -> Result<(), BodyError> {
        loop {
            let line_end = loop {
                if let Some(i) = self.input.available().windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                if self.input.available().len() > 8 * 1024 {
                    return Err(BodyError::Malformed);
                }
                self.fill()?;
            };
            self.input.consume(line_end + 2);
            if line_end == 0 {
                return Ok(());
            }
        }
    }
}
