//! A streamed body as a state machine the event loop drives: no thread per stream.
//!
//! [`BodyStream::drive`] is called when the stream was just started, when its source's
//! descriptor became readable, or when its socket became writable again. It never
//! blocks. It takes the lines the source has now (up to the gathering cap), frames
//! them into one output buffer behind the head, and sends that with one
//! non-blocking `send`. Then it says what it waits for:
//!
//! - the source has nothing now: everything taken is already on its way (the head
//!   included), so a slow source costs no latency; wait for its [`Readiness`];
//! - the socket took less than everything (`EAGAIN`): keep the rest, **stop pulling**
//!   from the source and wait until the socket is writable. A client that reads slowly
//!   therefore holds the server to one gathered batch (the cap, 64 KiB by default)
//!   beyond the kernel's socket buffer, and the source is not drained meanwhile;
//! - the source is always ready (a regular file) and the batch went out: yield, so
//!   other connections on the loop get their turn, and continue when writable.
//!
//! Lines are copied once, into the output buffer: the source's own buffer moves on at
//! its next `advance`, and a line may have to wait there for the socket. The bytes on
//! the wire are the same as ever: one chunk per line, newline included, `0\r\n\r\n`
//! only after a complete source.

use std::cell::Cell;
use std::io;
use std::os::fd::RawFd;
use std::sync::TryLockError;

use super::body_writer::Gather;
use super::framing::{append_end, append_line, Framing};
use super::metrics::Tally;
use super::stats::ServerStats;
use crate::line_source::pump::Pumped;
use crate::line_source::{LineSource, Progress, Readiness, Waker};
use crate::value::Value;

/// How a streamed body ended.
#[derive(Debug)]
pub enum StreamEnd {
    /// The source ended and the body was terminated properly.
    Complete,
    /// The client went away (a failed write, a hang-up, or no progress in time).
    ClientGone(io::Error),
    /// The source failed; the body was cut short without its terminating chunk.
    SourceFailed(String),
}

/// What a stream waits for after [`BodyStream::drive`].
#[derive(Debug)]
pub enum Want {
    /// The source: its descriptor, a delay, or (always ready) just another turn.
    Source(Readiness),
    /// The socket to take more (`EAGAIN`).
    Writable,
    /// The batch went out and more is ready: continue after other connections.
    Yield,
    Done(StreamEnd),
}

/// Batches sent in one `drive` before yielding to other connections. One batch (up to
/// 1,024 lines or 64 KiB by default) is a turn: a connection's turn on the loop stays
/// bounded in bytes, and a fast source costs one `send` per turn.
const BATCHES_PER_TURN: usize = 1;

thread_local! {
    /// The output buffer of the last stream on this thread that sent everything and
    /// went back to waiting, emptied, for the next stream that takes lines. A waiting
    /// stream keeps no buffer (it may wait for hours), and a broadcast line reaching a
    /// thousand subscribers of one loop costs no allocation per subscriber.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Where lines come from: the source value itself, or a helper thread reading it.
enum Driver {
    Direct(Value),
    /// Boxed: rare, and larger than the stream's other hot fields together.
    Pumped(Box<Pumped>),
}

impl Driver {
    /// Take a batch of lines into `out` (see [`fill`]), with the source locked once for
    /// the whole batch. `None` when the source is locked elsewhere (a helper thread of
    /// another response sharing it may hold it for long): the caller must pump it too.
    fn fill(&mut self, out: &mut Vec<u8>, framing: Framing, gather: Gather) -> Option<Batch> {
        match self {
            Driver::Direct(v) => {
                let Some(cell) = v.as_source() else {
                    return Some((Stop::End, 0, 0));
                };
                match cell.try_lock() {
                    Ok(mut src) => Some(fill(src.as_mut(), out, framing, gather)),
                    Err(TryLockError::WouldBlock) => None,
                    Err(TryLockError::Poisoned(_)) => Some((
                        Stop::Failed("line source poisoned by an earlier panic".into()),
                        0,
                        0,
                    )),
                }
            }
            Driver::Pumped(p) => Some(fill(p.as_mut(), out, framing, gather)),
        }
    }

    /// What the source waits on; `Blocking` also when it is locked elsewhere.
    fn readiness(&self) -> Readiness {
        match self {
            Driver::Direct(v) => match v.as_source().map(|m| m.try_lock()) {
                Some(Ok(src)) => src.readiness(),
                Some(Err(TryLockError::Poisoned(p))) => p.into_inner().readiness(),
                Some(Err(TryLockError::WouldBlock)) => Readiness::Blocking,
                None => Readiness::Always,
            },
            Driver::Pumped(p) => p.readiness(),
        }
    }
}

/// Where a batch stopped.
enum Stop {
    /// The batch is full.
    Full,
    /// The source has nothing more now; what it waits for (asked while it was
    /// locked anyway).
    Pending(Readiness),
    End,
    Failed(String),
}

/// Where a batch stopped, and how many lines and payload bytes it took.
type Batch = (Stop, u64, u64);

/// Frame lines of `src` into `out` until the batch is full or the source stops.
fn fill(src: &mut dyn LineSource, out: &mut Vec<u8>, framing: Framing, gather: Gather) -> Batch {
    let (mut lines, mut bytes) = (0u64, 0u64);
    while (lines as usize) < gather.max_lines && out.len() < gather.max_bytes {
        match src.advance() {
            Progress::Line => {
                match (framing, src.chunk()) {
                    (Framing::Chunked, Some(chunk)) => out.extend_from_slice(chunk),
                    _ => append_line(out, framing, src.line()),
                }
                let line = src.line();
                lines += 1;
                bytes += line.len() as u64 + 1;
            }
            Progress::Pending => return (Stop::Pending(src.readiness()), lines, bytes),
            Progress::End => return (Stop::End, lines, bytes),
            Progress::Failed(message) => return (Stop::Failed(message), lines, bytes),
        }
    }
    (Stop::Full, lines, bytes)
}

/// The fields a woken stream's step reads come first, in the first two cache lines
/// of an aligned block, and what only the start or the end of a stream needs is
/// boxed or last: a loop steps thousands of subscribers per line, each one cold.
#[repr(C, align(64))]
pub struct BodyStream {
    driver: Driver,
    /// Framed bytes not yet sent, from `sent` on (the head first).
    out: Vec<u8>,
    sent: usize,
    framing: Framing,
    gather: Gather,
    /// Payload bytes taken from the source (newlines included).
    pub body_bytes: u64,
    /// Lines taken from the source.
    pub lines: u64,
    /// Bytes the socket has taken so far (head and framing included).
    wire_bytes: u64,
    /// How the source ended, once it has; the rest of `out` still goes first.
    ended: Option<Box<StreamEnd>>,
    /// The socket was full: send the rest before taking anything more.
    blocked: bool,
    /// The source accepted this stream's waker ([`BodyStream::offer_waker`]).
    woken: bool,
    /// The body value, kept to close the source when the response lets it go.
    source: Value,
    /// The response's count in `--metrics`, settled before the bytes that end the
    /// body are sent (see [`super::metrics`]).
    tally: Option<Tally>,
}

// The hot fields, `driver` through `woken`, fit the block's first two cache lines.
const _: () = assert!(std::mem::offset_of!(BodyStream, source) <= 128);

impl BodyStream {
    pub fn new(head: Vec<u8>, source: Value, framing: Framing, gather: Gather) -> BodyStream {
        let mut stream = BodyStream {
            driver: Driver::Direct(source.clone()),
            source,
            framing,
            gather,
            out: head,
            sent: 0,
            body_bytes: 0,
            lines: 0,
            ended: None,
            blocked: false,
            wire_bytes: 0,
            woken: false,
            tally: None,
        };
        if stream.driver.readiness() == Readiness::Blocking {
            stream.pump();
        }
        stream
    }

    /// Offer the source a waker to call instead of signalling a descriptor (see
    /// `line_source::wake`); true when it took it, and from then on waits are
    /// [`Readiness::Woken`].
    pub fn offer_waker(&mut self, waker: &Waker) -> bool {
        if let Driver::Direct(v) = &self.driver {
            if let Some(Ok(mut src)) = v.as_source().map(|m| m.try_lock()) {
                self.woken = src.wake_by(waker);
            }
        }
        self.woken
    }

    /// The source calls this stream's waker.
    pub fn woken(&self) -> bool {
        self.woken
    }

    /// Read the source on a helper thread from now on (a blocking-only source, or one
    /// whose descriptor the event loop cannot watch).
    pub fn pump(&mut self) {
        if let Driver::Direct(v) = &self.driver {
            self.woken = false;
            match Pumped::new(v.clone()) {
                Some(p) => self.driver = Driver::Pumped(Box::new(p)),
                None => {
                    self.ended = Some(Box::new(StreamEnd::SourceFailed(
                        "cannot wait for this source".to_string(),
                    )))
                }
            }
        }
    }

    /// Bytes the socket has taken so far: a stream waiting for room that took some
    /// since it last waited is making progress.
    pub fn wire_bytes(&self) -> u64 {
        self.wire_bytes
    }

    /// What the source waits for when it is pending.
    pub fn readiness(&self) -> Readiness {
        self.driver.readiness()
    }

    /// The body value (its source), once this stream has let go of it: the caller
    /// closes it if nothing else holds it.
    pub fn into_source(self) -> Value {
        let BodyStream { source, driver, .. } = self;
        drop(driver);
        source
    }

    #[cfg(test)]
    fn unsent(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Send what is pending, take what the source has, and say what to wait for.
    pub fn drive(&mut self, fd: RawFd, stats: &ServerStats) -> Want {
        for _ in 0..BATCHES_PER_TURN {
            let pending = if !self.blocked && self.ended.is_none() {
                self.take_lines()
            } else {
                None
            };
            if self.ended.is_some() {
                // The body's last bytes are in `out`: count it before the client can
                // have read them.
                self.settle_tally();
            }
            match self.send_out(fd, stats) {
                Ok(true) => self.blocked = false,
                Ok(false) => {
                    self.blocked = true;
                    return Want::Writable;
                }
                Err(e) => return Want::Done(StreamEnd::ClientGone(e)),
            }
            if let Some(end) = self.ended.take() {
                return Want::Done(*end);
            }
            if let Some(readiness) = pending {
                // A stream may wait for hours: keep no output buffer meanwhile.
                SPARE.set(std::mem::take(&mut self.out));
                return Want::Source(readiness);
            }
        }
        Want::Yield
    }

    /// Count this response in the metrics now, unless it already is.
    pub fn settle_tally(&mut self) {
        if let Some(tally) = self.tally.take() {
            tally.settle(self.lines, self.body_bytes);
        }
    }

    /// Count this response with `tally` once its body ends.
    pub fn count_with(&mut self, tally: Option<Tally>) {
        self.tally = tally;
    }

    /// Take lines until the source is pending (returns what it waits for), ends,
    /// fails, or the batch is full. The source is locked once for the batch, not once
    /// per line.
    fn take_lines(&mut self) -> Option<Readiness> {
        if self.sent > 0 {
            self.out.drain(..self.sent);
            self.sent = 0;
        }
        if self.out.capacity() == 0 {
            self.out = SPARE.take();
        }
        let (framing, gather) = (self.framing, self.gather);
        let batch = self.driver.fill(&mut self.out, framing, gather);
        let Some((stop, lines, bytes)) = batch else {
            self.pump();
            return if self.ended.is_none() {
                self.take_lines()
            } else {
                None
            };
        };
        self.lines += lines;
        self.body_bytes += bytes;
        match stop {
            Stop::Pending(readiness) => Some(readiness),
            Stop::Full => None,
            Stop::End => {
                append_end(&mut self.out, framing);
                self.ended = Some(Box::new(StreamEnd::Complete));
                None
            }
            Stop::Failed(message) => {
                self.ended = Some(Box::new(StreamEnd::SourceFailed(message)));
                None
            }
        }
    }

    /// Send the unsent bytes without blocking: `Ok(true)` when all went, `Ok(false)`
    /// when the socket is full.
    fn send_out(&mut self, fd: RawFd, stats: &ServerStats) -> io::Result<bool> {
        while self.sent < self.out.len() {
            let rest = &self.out[self.sent..];
            stats.count_write();
            let n = match super::client_out::send_one(fd, rest) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.sent += n;
            self.wire_bytes += n as u64;
        }
        if self.out.capacity() > 2 * self.gather.max_bytes.max(4096) {
            // A long line grew the buffer: do not keep that much.
            self.out = Vec::new();
        } else {
            self.out.clear();
        }
        self.sent = 0;
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
