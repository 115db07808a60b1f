//! Reading a response body as a plain byte stream, whatever its framing.
//!
//! Every `read` returns what one read of the connection brings (or what is buffered):
//! it never waits to fill the caller's buffer, so a line sent in a small chunk reaches
//! the line splitter at once. A body cut short (connection closed before the declared
//! length or mid-chunk) is an `UnexpectedEof` error, not an ordinary end.

use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};

use super::conn::{Conn, Waiting};
use super::message::{parse_chunk_size, Framing};

/// Longest chunk-size or trailer line accepted.
const MAX_LINE: u64 = 8 * 1024;

enum State {
    Length(u64),
    Close,
    ChunkSize,
    InChunk(u64),
    ChunkEnd,
    Done,
}

pub struct BodyReader {
    inner: BufReader<Conn>,
    state: State,
    /// A framing line read so far, kept across a `WouldBlock` from a non-blocking socket.
    partial: Vec<u8>,
    /// The socket's descriptor while the body is alive, for [`ShutdownHandle`].
    fd: Arc<Mutex<Option<RawFd>>>,
}

/// Shuts the body's socket down from another thread, ending a blocked read. Does
/// nothing once the body is gone.
#[derive(Clone)]
pub struct ShutdownHandle(Arc<Mutex<Option<RawFd>>>);

impl ShutdownHandle {
    pub fn shutdown(&self) {
        let guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(fd) = *guard {
            // SAFETY: the descriptor is open: the body clears it, under this lock,
            // before its socket is closed.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        }
    }
}

fn cut_short(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("connection closed {what}"),
    )
}

impl BodyReader {
    pub(super) fn new(inner: BufReader<Conn>, framing: Framing) -> BodyReader {
        let fd = inner.get_ref().tcp().as_raw_fd();
        BodyReader {
            inner,
            state: match framing {
                Framing::Length(n) => State::Length(n),
                Framing::Close => State::Close,
                Framing::Chunked => State::ChunkSize,
            },
            fd: Arc::new(Mutex::new(Some(fd))),
            partial: Vec::new(),
        }
    }

    /// The socket's descriptor, to wait on when a non-blocking read would block.
    pub fn raw_fd(&self) -> RawFd {
        self.inner.get_ref().tcp().as_raw_fd()
    }

    /// Make reads answer `WouldBlock` instead of waiting (for the server's event loop;
    /// blocking readers then wait on [`BodyReader::raw_fd`] themselves).
    pub fn set_nonblocking(&self) -> io::Result<()> {
        self.inner.get_ref().socket().set_waiting(Waiting::Never);
        Ok(())
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.fd.clone())
    }

    /// Set the timeout for each read of the socket (`None`: wait as long as it takes).
    pub fn set_read_timeout(&self, timeout: Option<std::time::Duration>) {
        self.inner
            .get_ref()
            .socket()
            .set_waiting(Waiting::Upto(timeout))
    }

    /// One CRLF-terminated framing line (chunk size, chunk end, trailer). What was read
    /// before a `WouldBlock` is kept for the next call.
    fn framing_line(&mut self, what: &str) -> io::Result<Vec<u8>> {
        let limit = MAX_LINE.saturating_sub(self.partial.len() as u64);
        (&mut self.inner)
            .take(limit)
            .read_until(b'\n', &mut self.partial)?;
        // Without its newline, the line stopped at the length limit or end of input.
        if !self.partial.ends_with(b"\n") {
            return Err(if self.partial.len() as u64 >= MAX_LINE {
                io::Error::new(io::ErrorKind::InvalidData, format!("{what} line too long"))
            } else {
                cut_short("mid-chunk")
            });
        }
        Ok(std::mem::take(&mut self.partial))
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                State::Done | State::Length(0) => {
                    self.state = State::Done;
                    return Ok(0);
                }
                State::Length(left) => {
                    let want = buf.len().min(left.min(usize::MAX as u64) as usize);
                    let got = self.inner.read(&mut buf[..want])?;
                    if got == 0 {
                        return Err(cut_short(&format!("with {left} bytes of the body missing")));
                    }
                    self.state = State::Length(left - got as u64);
                    return Ok(got);
                }
                State::Close => return self.inner.read(buf),
                State::ChunkSize => {
                    let line = self.framing_line("chunk size")?;
                    let size = parse_chunk_size(&line)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                    if size == 0 {
                        // Trailers up to the blank line; a close here loses nothing.
                        while let Ok(line) = self.framing_line("trailer") {
                            if line == b"\r\n" || line == b"\n" {
                                break;
                            }
                        }
                        self.state = State::Done;
                    } else {
                        self.state = State::InChunk(size);
                    }
                }
                State::InChunk(left) => {
                    let want = buf.len().min(left.min(usize::MAX as u64) as usize);
                    let got = self.inner.read(&mut buf[..want])?;
                    if got == 0 {
                        return Err(cut_short("mid-chunk"));
                    }
                    let left = left - got as u64;
                    // The CRLF after the data is read on the next call, so these bytes
                    // are not held back waiting for it.
                    self.state = if left == 0 {
                        State::ChunkEnd
                    } else {
                        State::InChunk(left)
                    };
                    return Ok(got);
                }
                State::ChunkEnd => {
                    let line = self.framing_line("chunk end")?;
                    if line != b"\r\n" && line != b"\n" {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "chunk data longer than its declared size",
                        ));
                    }
                    self.state = State::ChunkSize;
                }
            }
        }
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        // Forget the descriptor before the socket closes, so a late shutdown cannot hit
        // a descriptor number reused by something else.
        *self.fd.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}
