//! The connection's read side: a small growable buffer filled from the socket without
//! waiting, when the event loop has seen it readable (deadlines are the loop's).
//!
//! The buffer starts empty and holds only what arrived (a read lands in a per-thread
//! scratch buffer first); it is released when it has been fully consumed and the
//! connection goes into a long response (a stream, a body still arriving), so
//! thousands of connections sitting in those hold no read memory. Between ordinary
//! requests a small buffer (at most a usual head's size) is kept for the next one.

use std::cell::RefCell;
use std::io;
use std::net::TcpStream;
use std::os::fd::AsRawFd;

const READ_STEP: usize = 4096;

/// The largest read buffer a connection keeps between requests (a browser's head is
/// well under this; a keep-alive benchmark's is a few dozen bytes).
const KEEP_BETWEEN_REQUESTS: usize = 1024;

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

    /// [`Input::release_if_empty`] for a buffer larger than a usual head: a small one
    /// is kept for the connection's next request, which then lands in it without an
    /// allocation and a free per request.
    pub fn release_if_empty_and_large(&mut self) {
        if self.buf.capacity() > KEEP_BETWEEN_REQUESTS {
            self.release_if_empty();
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
pub(super) fn recv_now(stream: &TcpStream, into: &mut [u8]) -> io::Result<usize> {
    loop {
        match crate::sys::socket::recv(stream.as_raw_fd(), into, libc::MSG_DONTWAIT) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

/// What the client has sent that nobody has read, looked at without taking it or
/// waiting: `Ok(0)` when it closed with nothing unread, `WouldBlock` when nothing
/// waits.
pub(super) fn peek_now(stream: &TcpStream) -> io::Result<usize> {
    let mut byte = [0u8; 1];
    loop {
        let flags = libc::MSG_DONTWAIT | libc::MSG_PEEK;
        match crate::sys::socket::recv(stream.as_raw_fd(), &mut byte, flags) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumed(bytes: usize) -> Input {
        let mut input = Input::default();
        input.buf.extend(std::iter::repeat_n(b'x', bytes));
        input.consume(bytes);
        input
    }

    #[test]
    fn a_small_buffer_is_kept_between_requests_and_a_large_one_or_a_stream_gives_it_back() {
        let mut small = consumed(60);
        small.release_if_empty_and_large();
        assert!(small.buf.capacity() >= 60, "kept for the next head");
        small.release_if_empty();
        assert_eq!(small.buf.capacity(), 0, "nothing kept during a stream");
        let mut large = consumed(KEEP_BETWEEN_REQUESTS + 1);
        large.release_if_empty_and_large();
        assert_eq!(large.buf.capacity(), 0);
        // Bytes still to serve (a pipelined request) are never dropped.
        let mut pipelined = Input::default();
        pipelined.buf.extend_from_slice(&[b'y'; 2000]);
        pipelined.consume(10);
        pipelined.release_if_empty_and_large();
        pipelined.release_if_empty();
        assert_eq!(pipelined.available().len(), 1990);
    }
}
