//! The connection's read side: a small growable buffer filled from the socket without
//! waiting, when the event loop has seen it readable (deadlines are the loop's).
//!
//! The buffer starts empty and grows in small steps; it is released whenever it has
//! been fully consumed, so thousands of connections sitting in long responses hold no
//! read memory.

use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;

const READ_STEP: usize = 4096;

/// Why no more bytes came.
#[derive(Debug)]
pub enum ReadStop {
    /// The peer closed its side.
    Eof,
    /// The read failed; the connection is finished either way, so the cause is not kept.
    Io,
}

#[derive(Default)]
pub struct Input {
    buf: Vec<u8>,
    pos: usize,
    /// The last read filled all the room it had: the socket may hold more, which an
    /// edge-triggered registration will not report again.
    filled: bool,
}

impl Input {
    /// Bytes received and not yet consumed.
    pub fn available(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    pub fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Could the socket still hold bytes from before the last read?
    pub fn may_have_more(&self) -> bool {
        self.filled
    }

    /// Drop the allocation when nothing is buffered (before a long response).
    pub fn release_if_empty(&mut self) {
        if self.available().is_empty() {
            self.buf = Vec::new();
            self.pos = 0;
        }
    }

    /// Read whatever the socket holds right now, without waiting (the event loop has
    /// been told it is readable). `Ok(0)` means nothing was there after all.
    pub fn read_now(&mut self, stream: &TcpStream) -> Result<usize, ReadStop> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old_len = self.buf.len();
        self.buf.resize(old_len + READ_STEP, 0);
        self.filled = false;
        let result = loop {
            let free = &mut self.buf[old_len..];
            // SAFETY: recv into the unused tail of our own buffer, at most its length.
            let n = unsafe {
                libc::recv(
                    stream.as_raw_fd(),
                    free.as_mut_ptr().cast::<libc::c_void>(),
                    free.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n >= 0 {
                break Ok(n as usize);
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                break Err(err);
            }
        };
        match result {
            Ok(0) => {
                self.buf.truncate(old_len);
                Err(ReadStop::Eof)
            }
            Ok(n) => {
                self.filled = n == READ_STEP;
                self.buf.truncate(old_len + n);
                Ok(n)
            }
            Err(e) => {
                self.buf.truncate(old_len);
                if e.kind() == io::ErrorKind::WouldBlock {
                    Ok(0)
                } else {
                    Err(ReadStop::Io)
                }
            }
        }
    }
}
