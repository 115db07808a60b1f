//! Lazy line sources: runtime objects that yield one line at a time as bytes arrive.
//!
//! Compiled code sees a source only through the handle ABI (`next_line` / `ready` /
//! `close`, see [`handle`]); the server drives sources from its event loops through
//! the non-blocking half of [`LineSource`]. Every concrete source implements the trait.
//!
//! The sources: [`reader::ReaderSource`] (a file, an HTTP response body),
//! [`stdin::StdinSource`] (a subscriber of the process's one stdin hub),
//! [`tail::TailSource`] (`tail -F`), and [`transform::Transform`] over any of them.
//! The first three split bytes with [`buffer::LineBuffer`], which
//! yields a line as soon as its newline arrives. A source holds its file, socket or
//! descriptor only while open: `close` and drop release it at once.
//!
//! # Two ways to read a source
//!
//! - **Blocking**: [`LineSource::next_line`] waits for the next line. `@line src{…}`
//!   loops use it.
//! - **Readiness-driven**: [`LineSource::advance`] never blocks. It answers
//!   [`Progress::Line`] (the line is then [`LineSource::line`]), [`Progress::End`],
//!   [`Progress::Failed`], or [`Progress::Pending`]: nothing is available now, and
//!   [`LineSource::readiness`] says what to wait for before asking again: a descriptor
//!   becoming readable, a delay, or nothing (the source is always ready, like a
//!   regular file). The server's body writer registers that descriptor with its
//!   event loop, so thousands of quiet streams cost no thread and no wake-ups.
//!
//! A source that only knows how to block (it reports [`Readiness::Blocking`]) still
//! works everywhere: the server pumps it on a helper thread ([`pump::Pumped`]).
//!
//! # Wrapping a source
//!
//! A transform ([`transform`]: `map`, `flt`, `take`, `drop`) or an event stream
//! ([`sse`], which adds heartbeats through an [`alarm`]) is a source that holds
//! another source value: its `readiness` is the inner one's, its `advance` calls the
//! inner `advance` until it has a line of its own to offer (keeping it in its own
//! buffer for `line`), passes `Pending`/`End`/`Failed` through, and its `next_line` is
//! [`block_on`]. Nothing in the server needs to know about it. A broadcast
//! subscriber ([`broadcast`]) is fed by its hub's reader thread through an inbox and
//! a wake-up descriptor, like a stdin subscriber, or, when the server offers one, a
//! [`Waker`] that marks its response in the event loop's ready list ([`wake`]), so
//! one line for a thousand subscribers wakes each loop once.

pub mod ahead;
pub mod alarm;
pub mod broadcast;
pub mod buffer;
pub mod framed;
pub mod handle;
pub mod interrupt;
pub mod notify;
pub mod open;
pub mod pump;
pub mod reader;
pub mod sse;
pub mod stdin;
pub mod tail;
pub mod transform;
pub mod wake;
pub mod watch;

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::suspend::{self, Park, Ready, Wake};

pub use handle::next_text;
pub use interrupt::Interrupter;
pub use wake::Waker;

/// What a source waits for after [`Progress::Pending`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Ask again once this descriptor is readable (a socket, a pipe, an inotify or
    /// event descriptor). The descriptor belongs to the source and stays the same for
    /// its lifetime.
    Fd(RawFd),
    /// Never pending: every `advance` makes progress (a regular file).
    Always,
    /// Ask again after this delay (a source that can only poll).
    After(Duration),
    /// The source has no non-blocking interface: only `next_line` works.
    Blocking,
    /// The source calls the [`Waker`] it accepted ([`LineSource::wake_by`]) instead
    /// of making a descriptor readable.
    Woken,
}

/// The outcome of one non-blocking [`LineSource::advance`].
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// A line is available through [`LineSource::line`] until the next `advance`.
    Line,
    /// Nothing yet: wait for [`LineSource::readiness`], then ask again.
    Pending,
    /// The source ended (also after `close`, and on every later call).
    End,
    /// Reading failed; the source is closed and reports `End` afterwards.
    Failed(String),
}

/// One lazily-read sequence of lines.
pub trait LineSource: Send {
    /// The next line without its `\n` or `\r\n`; `Ok(None)` at end. The slice stays
    /// valid until the next call. Must yield a line as soon as its newline has arrived.
    /// Sources with a non-blocking interface implement this as [`block_on`].
    fn next_line(&mut self) -> Result<Option<&[u8]>, String>;
    /// A whole line is already buffered: the next `next_line` will not block.
    fn ready(&self) -> bool;
    /// Release the underlying socket, file or reader now. Further reads return end.
    fn close(&mut self);
    /// A handle that ends a `next_line` blocked in another thread (which holds the
    /// source's lock, so `close` cannot be called then). Take it before reading; `None`
    /// for sources whose reads never block for long.
    fn interrupter(&self) -> Option<Interrupter> {
        None
    }

    /// What to wait for when `advance` returns `Pending`. `Blocking` (the default)
    /// means `advance` and `line` are not implemented.
    fn readiness(&self) -> Readiness {
        Readiness::Blocking
    }
    /// Make progress without blocking. Called only when `readiness` is not `Blocking`.
    fn advance(&mut self) -> Progress {
        Progress::Failed("this source can only be read by blocking".to_string())
    }
    /// The line the last `advance` returned `Line` for, without its newline.
    fn line(&self) -> &[u8] {
        &[]
    }
    /// The same line already framed as one chunk of a chunked body (its size line,
    /// the line, its newline and the chunk's CRLF), when the source holds it so: a
    /// broadcast line frames once per loop, and each subscriber's response copies
    /// the frame instead of framing the line again.
    fn chunk(&self) -> Option<&[u8]> {
        None
    }
    /// A position that identifies the line the last `advance` or `next_line` returned,
    /// for a reader to resume after it (`tail-file` gives one; server-sent events send
    /// it as the event id). `None` for sources that cannot resume.
    fn line_id(&self) -> Option<String> {
        None
    }
    /// The content type a response streaming this source has by default, when it is
    /// not plain text (server-sent events).
    fn media_type(&self) -> Option<&'static str> {
        None
    }
    /// Offer a [`Waker`] to call, instead of signalling a descriptor, whenever
    /// `advance` may make progress after it answered `Pending` (see [`wake`]). A
    /// source that accepts (answers true) reports [`Readiness::Woken`] from then on;
    /// one that cannot wake anyone that way keeps its readiness.
    fn wake_by(&mut self, _waker: &Waker) -> bool {
        false
    }
    /// Wait until `advance` may make progress: by default, until the readiness
    /// descriptor is readable or the delay has passed. Through [`wait_for`], so a
    /// server handler reading the source suspends rather than blocks its thread.
    fn wait(&mut self) -> Result<(), String> {
        match self.readiness() {
            Readiness::Fd(fd) => wait_for(Some(fd), None),
            Readiness::After(delay) => wait_for(None, Some(delay)),
            // Woken sources are driven by the loop that owns the waker; a blocking
            // reader that still ends up here (a source shared by two responses) looks
            // again shortly rather than never.
            Readiness::Woken => wait_for(None, Some(Duration::from_millis(1))),
            Readiness::Always | Readiness::Blocking => Ok(()),
        }
    }
}

/// Wait until `fd` is readable (or hung up) or `timeout` passes, whichever is given.
///
/// Inside a server handler's task this suspends the task: the thread goes on with its
/// other tasks, one of which may be the very one that must feed this source (a
/// handler suspended while it opens the broadcast hub another handler reads), so
/// blocking here could wait forever. Elsewhere (a program, a helper thread) it
/// blocks. Fails when the handler's client hung up or its time ran out, so a reader
/// stops instead of asking again at once.
pub fn wait_for(fd: Option<RawFd>, timeout: Option<Duration>) -> Result<(), String> {
    let park = Park {
        fd: fd.map(|fd| (fd, Ready::Read)),
        deadline: timeout.map(|t| Instant::now() + t),
    };
    match suspend::wait(park) {
        Wake::Fd | Wake::Timer => Ok(()),
        Wake::ClientGone => Err("the client hung up".to_string()),
        Wake::OutOfTime => Err("the handler ran out of time".to_string()),
        Wake::Unwatchable => Err("cannot wait for the stream".to_string()),
    }
}

/// `next_line` for a source with a non-blocking interface: `advance`, and `wait`
/// whenever it is pending.
pub fn block_on<S: LineSource + ?Sized>(src: &mut S) -> Result<Option<&[u8]>, String> {
    loop {
        match src.advance() {
            Progress::Line => return Ok(Some(src.line())),
            Progress::End => return Ok(None),
            Progress::Failed(message) => return Err(message),
            Progress::Pending => src.wait()?,
        }
    }
}

/// Wait until `fd` is readable, hung up or in error, or `timeout_ms` passes
/// (negative: no limit).
pub fn wait_readable(fd: RawFd, timeout_ms: i32) {
    readable_within(fd, timeout_ms);
}

/// [`wait_readable`], saying whether `fd` became readable (or hung up) in time; with
/// a zero timeout, whether it is now.
pub fn readable_within(fd: RawFd, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd in a local for the duration of the call. An
    // interrupted wait simply returns: callers ask the source again.
    unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    pfd.revents != 0
}
