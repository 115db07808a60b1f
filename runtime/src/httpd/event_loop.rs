//! Event loops: `workers` threads, each owning an epoll set, serve requests inline.
//!
//! A connection waiting for its next request is *parked*: it sits in its loop's table
//! and in the epoll set, registered edge-triggered once, so parking it again after a
//! request costs no system call. When bytes arrive, one loop thread takes it out
//! (its table slot says *held*), reads what is there, serves every complete request
//! in place (handler call and response write, see [`serve_buffered`]) and parks it
//! again. A request therefore costs no thread switch, and on a busy loop
//! about one `recv` and one `writev`: each `epoll_wait` takes a batch of reports.
//!
//! A response whose body is a line source stays on the loop as a *stream*
//! ([`super::body_stream`]): parked like a waiting connection, with its source's
//! descriptor in the same epoll set (token with [`SOURCE`] set) and its socket armed
//! for a hang-up (or for room to write, when the client reads slowly). Each report
//! drives it one non-blocking step. So an open stream costs a table entry and its
//! buffers, not a thread, and a quiet one costs nothing until something happens.
//!
//! A source fed by another thread (a broadcast subscriber) may instead take a
//! [`Waker`] for its stream: it marks the stream's token in the loop's [`ReadyList`],
//! whose one descriptor is in the epoll set (token [`READY`]). One line for a
//! thousand subscribers then wakes the loop once, which drives every marked stream
//! in one pass (out of the table under one lock, back under one more), without a
//! descriptor of its own to reset and re-arm. A mark that finds its stream held by
//! a thread joins the loop's queue as a source report and is remembered in its slot
//! like any report, and parking the stream queues it again.
//!
//! A handler that waits for an upstream or a delay does not hold the thread: the
//! serving runs as a task ([`crate::suspend`]) which is suspended with its connection
//! inside it, kept in the table as [`Slot::Suspended`] with the awaited descriptor in
//! the epoll set (token with [`SOURCE`] set), its deadline on the timer and the
//! client's socket armed for a hang-up, and resumed on the thread that started it.
//!
//! Handlers may still be slow in ways that cannot be suspended (computing, reading a
//! file). The thread serving a connection stamps `busy_since`; a monitor thread checks
//! the stamps every few milliseconds and, when one is older than `SLOW_AFTER` (and
//! the thread is blocked, or busy past `RUNNABLE_SLOW_AFTER`; see [`monitor`]),
//! starts a replacement thread for that epoll set (like a Go runtime handing off a
//! blocked P). The old thread finishes its connection as if it had a thread of its
//! own, parks it again, resumes the tasks it started until they finish, and exits.
//! Under shutdown a loop does not leave while such a thread holds one of its
//! connections: what it parks again may be an answer the loop has yet to finish.
//!
//! The monitor also cancels handlers whose client hung up or whose time ran out
//! ([`super::running`]), and hands freed memory back to the system when the server
//! goes quiet ([`super::reclaim`]).
//!
//! Several threads may briefly wait on one set. A thread takes a connection out of the
//! table before touching it, so each is served by one thread at a time. The reports
//! of a wait go to the loop's queue, shared by its threads, and are taken from it one
//! at a time, so none is left behind with a thread that turns slow. Tokens are never
//! reused, so a report about a connection that was closed in the meantime finds
//! nothing and is ignored. A report about a held connection marks its slot *missed*:
//! an edge is not reported twice, so parking such a connection asks the kernel to
//! look at it again (as does parking one whose last read filled the buffer). A stream
//! has two descriptors armed one-shot; a report for one while another thread holds
//! the stream is not lost either: parking a stream re-arms both, and epoll reports a
//! condition that still holds again. (A socket whose arm nothing reported on since,
//! which its slot shows, keeps that arm: a woken stream parks without a system call.)
//!
//! A request whose body is still arriving is parked the same way, with its decoder
//! (see [`PendingBody`]): a client that trickles a body, or stops half
//! way, holds a table entry and its buffered bytes, not a thread.
//!
//! Deadlines of parked connections (header, body and idle timeouts, a stream's write
//! timeout or poll delay) arm the loop's [`Timer`] for the earliest one; when it
//! fires, what is due is handled: a started head or body that did not complete is
//! answered 408, an idle connection is closed silently, a stream whose client stopped
//! reading is ended, a polling stream driven. Nothing else wakes an idle loop, and the
//! monitor sleeps while no loop is busy, so an idle server makes no periodic wake-ups.
//!
//! The parts: [`run`] (a thread's cycle: reports, accepting, parking, taking),
//! [`requests`] (serving what a connection sent), [`streams`] (streamed bodies),
//! [`tasks`] (suspended handlers), [`deadlines`] (the timer), [`monitor`] (threads
//! and their replacement), [`leaving`] (shutdown) and [`table`] (what a loop holds
//! of each connection).
//!
//! [`Waker`]: crate::line_source::wake::Waker
//! [`serve_buffered`]: super::connection::serve_buffered
//! [`PendingBody`]: super::connection::PendingBody
//! [`Slot::Suspended`]: table::Slot::Suspended

use std::collections::VecDeque;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Instant;

use super::connection::Shared;
use super::listener::InFlight;
use super::timer::Timer;
use super::CounterMap;
use crate::line_source::wake::ReadyList;
use crate::sys::epoll::Epoll;
use table::Table;

mod deadlines;
mod leaving;
mod monitor;
mod requests;
mod run;
mod streams;
mod table;
mod tasks;

#[cfg(test)]
mod tests;

const LISTENER: u64 = 0;
const WAKE: u64 = 1;
const FIRST_CONNECTION: u64 = 2;
/// The loop's deadline timer (never reached by connection tokens).
const TIMER: u64 = 1 << 61;
/// The loop's ready list of woken streams (never reached by connection tokens).
const READY: u64 = 1 << 60;
/// Set in the token of a stream's source descriptor (the rest is the connection's).
const SOURCE: u64 = 1 << 62;
/// The flags of a queued report for a woken stream: its source has something.
const WOKEN: u32 = libc::EPOLLIN as u32;
/// The flags of a report handed to a suspended handler's thread: its deadline passed
/// (a bit epoll never reports).
const DEADLINE: u32 = libc::EPOLLONESHOT as u32;

struct EventLoop {
    epoll: Epoll,
    table: Mutex<Table>,
    /// Generation of the thread meant to run this loop; bumped on each replacement.
    owner: AtomicU64,
    /// When the owner started on its current connection (nanoseconds since the
    /// server's epoch, never 0); 0 while it waits.
    busy_since: AtomicU64,
    timer: Timer,
    /// Streams whose sources woke them (see `line_source::wake`): one signal for
    /// however many are marked.
    ready: Arc<ReadyList>,
    /// Streams on this loop (parked or being driven), so shutdown can wait for them.
    streams: AtomicUsize,
    /// The kernel's id of the thread meant to run this loop, for the monitor.
    owner_tid: AtomicI32,
    /// Reports for handlers suspended by replaced threads of this loop, by thread
    /// generation: only the thread that started a task may resume it.
    handed: Mutex<CounterMap<VecDeque<(u64, u32)>>>,
    handed_signal: Condvar,
}

/// Every loop of one server and what they share.
pub struct Loops {
    loops: Vec<EventLoop>,
    listener: TcpListener,
    shared: Arc<Shared>,
    in_flight: Arc<InFlight>,
    epoch: Instant,
    next_token: AtomicU64,
    next_loop: AtomicUsize,
}

impl Loops {
    pub fn new(
        listener: TcpListener,
        shared: Arc<Shared>,
        in_flight: Arc<InFlight>,
        workers: usize,
    ) -> std::io::Result<Arc<Loops>> {
        let mut loops = Vec::with_capacity(workers);
        for _ in 0..workers.max(1) {
            let epoll = Epoll::new()?;
            epoll.watch(listener.as_raw_fd(), LISTENER, true)?;
            epoll.watch(shared.shutdown.wake_fd(), WAKE, false)?;
            let timer = Timer::new()?;
            epoll.watch(timer.raw_fd(), TIMER, false)?;
            let ready = Arc::new(ReadyList::new()?);
            epoll.watch(ready.raw_fd(), READY, false)?;
            loops.push(EventLoop {
                epoll,
                table: Mutex::new(Table::default()),
                owner: AtomicU64::new(0),
                busy_since: AtomicU64::new(0),
                timer,
                ready,
                streams: AtomicUsize::new(0),
                owner_tid: AtomicI32::new(0),
                handed: Mutex::new(CounterMap::default()),
                handed_signal: Condvar::new(),
            });
        }
        Ok(Arc::new(Loops {
            loops,
            listener,
            shared,
            in_flight,
            epoch: Instant::now(),
            next_token: AtomicU64::new(FIRST_CONNECTION),
            next_loop: AtomicUsize::new(0),
        }))
    }

    /// Start one thread per loop, and the monitor.
    pub fn start(self: &Arc<Self>) -> std::io::Result<()> {
        for idx in 0..self.loops.len() {
            self.spawn_worker(idx, 0, None)?;
        }
        let loops = Arc::clone(self);
        thread::Builder::new()
            .name("ilo-monitor".to_string())
            .stack_size(64 * 1024)
            .spawn(move || loops.monitor())?;
        Ok(())
    }

    fn now_nanos(&self) -> u64 {
        self.nanos_at(Instant::now())
    }

    /// `at` in nanoseconds since the server's epoch, never 0 (a busy stamp).
    fn nanos_at(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn table(&self, idx: usize) -> Option<MutexGuard<'_, Table>> {
        self.loops[idx].table.lock().ok()
    }
}
