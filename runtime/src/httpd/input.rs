//! The connection's read side: a small growable buffer filled from the socket without
//! waiting, when the event loop has seen it readable (deadlines are the loop's).
//!
//! The buffer starts empty and holds only what arrived (a read lands in a per-thread
//! scratch buffer first); it is released whenever it has been fully consumed, so
//! thousands of connections sitting in long responses hold no read memory.

use std::cell::RefCell;
use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;

const READ_STEP: usize = 4096;

thread_local! {
    /// Each thread reads into this buffer and copies what came into the connection's
    /// own: a read then needs no fresh zeroed allocation, and the connection's buffer
    /// holds only bytes that arrived.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_STEP].into_boxed_slice());
}

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
        self.filled = false;
        let result: io::Result<usize> = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let n = recv_now(stream, &mut scratch)?;
            self.buf.extend_from_slice(&scratch[..n]);
            Ok(n)
        });
        match result {
            Ok(0) => Err(ReadStop::Eof),
            Ok(n) => {
                self.filled = n == READ_STEP;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(_) => Err(ReadStop::Io),
        }
    }
}

/// One `recv` into `into` without waiting, retried when interrupted.
fn recv_now(stream: &TcpStream, into: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: recv into our own buffer, at most its length.
        let n = unsafe {
            libc::recv(
                stream.as_raw_fd(),
                into.as_mut_ptr().cast::<libc::c_void>(),
                into.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
