//! Event loops: `workers` threads, each owning an epoll set, serve requests inline.
//!
//! A connection waiting for its next request is *parked*: it sits in its loop's table
//! and in the epoll set, registered edge-triggered once, so parking it again after a
//! request costs no system call. When bytes arrive, one loop thread takes it out
//! (its table slot says *held*), reads what is there, serves every complete request
//! in place (handler call and response write, see [`connection::serve_buffered`])
//! and parks it again. A request therefore costs no thread switch, and on a busy loop
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
//! the stamps every few milliseconds and, when one is older than [`SLOW_AFTER`] (and
//! the thread is blocked, or busy past [`RUNNABLE_SLOW_AFTER`]), starts a replacement
//! thread for that epoll set (like a Go runtime handing off a blocked P). The old
//! thread finishes its connection as if it had a thread of its own, parks it again,
//! resumes the tasks it started until they finish, and exits.
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
//! (see [`connection::PendingBody`]): a client that trickles a body, or stops half
//! way, holds a table entry and its buffered bytes, not a thread.
//!
//! Deadlines of parked connections (header, body and idle timeouts, a stream's write
//! timeout or poll delay) arm the loop's [`Timer`] for the earliest one; when it
//! fires, what is due is handled: a started head or body that did not complete is
//! answered 408, an idle connection is closed silently, a stream whose client stopped
//! reading is ended, a polling stream driven. Nothing else wakes an idle loop, and the
//! monitor sleeps while no loop is busy, so an idle server makes no periodic wake-ups.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::body_stream::{StreamEnd, Want};
use super::connection::{self, AfterStream, PendingBody, Served, Shared, Streaming};
use super::epoll::{Epoll, Interest, HUNG_UP, NO_EVENT};
use super::input::Input;
use super::linger::{Drained, Linger};
use super::listener::{InFlight, InFlightGuard};
use super::metrics::Open;
use super::reclaim::Reclaim;
use super::timer::Timer;
use super::CounterMap;
use crate::line_source::wake::{ReadyList, Waker};
use crate::line_source::Readiness;
use crate::suspend::{self, Park, Ready, Step, Task, Wake};

/// A loop thread blocked inside one connection for longer than this gets replaced.
const SLOW_AFTER: Duration = Duration::from_millis(10);
/// A loop thread that is runnable, not blocked, gets longer: on a loaded machine it
/// may just be waiting for a core, and a second thread would not help (and would
/// have to stay until the handlers it suspended finish). One that really computes
/// that long is replaced then.
const RUNNABLE_SLOW_AFTER: Duration = Duration::from_millis(50);
/// How often the monitor looks for running handlers to cancel ([`super::running`]).
const WATCH_EVERY: Duration = Duration::from_millis(50);
/// How often the monitor looks at the loops.
const MONITOR_EVERY: Duration = Duration::from_millis(5);
/// Connections accepted per listener report before looking at other events.
const ACCEPT_BATCH: usize = 64;
/// Most reports taken by one `epoll_wait`.
const WAIT_BATCH: usize = 64;

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

/// What a parked connection waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    /// Its next request (no stream).
    Request,
    /// Its stream's source descriptor (and watches the client for a hang-up).
    Source,
    /// Its stream's source after a delay, until the instant given.
    Timer(Instant),
    /// Room in its socket, since the instant given (the write timeout runs from it).
    Writable(Instant),
    /// Another turn: its stream has more ready but let other connections go first.
    Turn,
    /// Its client to close, after the last response ([`super::linger`]).
    Closing(Linger),
}

/// A connection between requests, or streaming a body.
struct Conn {
    stream: TcpStream,
    input: Input,
    /// When the head being waited for started: at connect, then at its first byte.
    /// `None` while idle between requests.
    head_started: Option<Instant>,
    idle_since: Instant,
    /// A request whose body is still arriving: it waits here like a head does.
    request_body: Option<PendingBody>,
    /// The body being streamed, if any.
    body: Option<Box<Streaming>>,
    waiting: Waiting,
    /// The stream's source descriptor, once registered in the loop's epoll set.
    source_fd: Option<RawFd>,
    /// Registered edge-triggered for requests (not one-shot for a stream).
    edge_armed: bool,
    /// A stream's socket is armed one-shot for this and has not reported since.
    socket_armed: Option<Interest>,
    /// The client has shut its sending side (a report said so): no request can
    /// start or complete after the bytes already there.
    peer_closed: bool,
    _in_flight: InFlightGuard,
    _open: Open,
}

impl Conn {
    /// Waits for its stream's waker with the socket's hang-up watch armed and
    /// unreported: parking it again needs no system call (see `park_stream`).
    fn waits_woken_as_armed(&self) -> bool {
        self.waiting == Waiting::Source
            && self.socket_armed == Some(Interest::HangUp)
            && self.source_fd.is_none()
            && self.body.as_ref().is_some_and(|s| s.body.woken())
    }

    /// Accepted and not answered yet: fresh, or a request (head or body) partly
    /// received. Shutdown serves such a connection's request instead of closing it.
    fn owed_answer(&self) -> bool {
        self.head_started.is_some() || self.request_body.is_some()
    }

    /// Answered for the last time and waiting for its client to close: shutdown
    /// keeps it for that short while too, so the answer is not destroyed by a reset.
    fn closing(&self) -> bool {
        matches!(self.waiting, Waiting::Closing(_))
    }

    /// When the loop must look at this connection even if nothing happens.
    fn deadline(&self, shared: &Shared) -> Option<Instant> {
        match self.waiting {
            Waiting::Request => Some(match (&self.request_body, self.head_started) {
                (Some(pending), _) => pending.deadline,
                (None, Some(t)) => t + shared.config.header_timeout,
                (None, None) => self.idle_since + shared.config.idle_timeout,
            }),
            Waiting::Timer(at) => Some(at),
            Waiting::Writable(since) => Some(since + shared.config.write_timeout),
            Waiting::Closing(linger) => Some(linger.deadline()),
            Waiting::Source | Waiting::Turn => None,
        }
    }
}

/// A connection's place in its loop's table.
enum Slot {
    Parked(Box<Conn>),
    /// A handler call waiting on an upstream or a delay, its connection inside it.
    Suspended(Box<Suspended>),
    /// Taken by the loop thread of generation `by`, which parks it again or lets it
    /// close. `missed`: a report about it came meanwhile.
    Held {
        by: u64,
        missed: bool,
    },
}

impl Slot {
    /// A parked connection streaming a body.
    fn is_stream(&self) -> bool {
        matches!(self, Slot::Parked(conn) if conn.body.is_some())
    }
}

/// What serving a connection's buffered requests gives back: the connection and
/// where it was left.
type Serving = (Box<Conn>, Served);

/// A handler call suspended while it waits ([`crate::suspend`]). It holds its
/// connection; the loop holds this until the awaited descriptor reports, the deadline
/// passes or the client hangs up, and then resumes it on the thread that started it.
/// The awaited descriptor may be the client's own socket (its answer waits for room,
/// see [`super::client_out`]): that one is already in the epoll set under the
/// connection's token, and is armed there instead.
struct Suspended {
    task: Task<Serving>,
    park: Park,
    /// The client's socket, armed for a hang-up while the handler waits.
    client_fd: RawFd,
    /// The awaited descriptor registered in the epoll set (under the SOURCE token).
    watched: Option<RawFd>,
    /// Generation of the loop thread that started the task (the one to resume it).
    thread: u64,
}

impl Suspended {
    /// Is it waiting for room in its own client's socket?
    fn waits_on_client(&self) -> bool {
        matches!(self.park.fd, Some((fd, _)) if fd == self.client_fd)
    }
}

/// Whoever took a slot's occupant out of the table.
enum Taken {
    Conn(Box<Conn>),
    Task(Box<Suspended>),
}

/// A loop's connections and the reports taken from epoll but not handled yet, under
/// one lock: taking the next report and its connection is one step.
#[derive(Default)]
struct Table {
    slots: CounterMap<Slot>,
    ready: VecDeque<(u64, u32)>,
    /// Set, under shutdown, by the loop as it leaves with nothing owed: a connection
    /// another loop accepted is then parked elsewhere instead of in a table nobody
    /// serves any more.
    closed: bool,
}

impl Table {
    fn parked(&self) -> impl Iterator<Item = (&u64, &Conn)> {
        self.slots.iter().filter_map(|(t, s)| match s {
            Slot::Parked(c) => Some((t, &**c)),
            Slot::Suspended(_) | Slot::Held { .. } => None,
        })
    }

    fn suspended(&self) -> impl Iterator<Item = (&u64, &Suspended)> {
        self.slots.iter().filter_map(|(t, s)| match s {
            Slot::Suspended(task) => Some((t, &**task)),
            Slot::Parked(_) | Slot::Held { .. } => None,
        })
    }

    /// Take the parked connections `pick` chooses out of the table.
    fn remove_parked(&mut self, pick: impl Fn(&Conn) -> bool) -> Vec<(u64, Box<Conn>)> {
        let tokens: Vec<u64> = self
            .parked()
            .filter(|(_, c)| pick(c))
            .map(|(t, _)| *t)
            .collect();
        tokens
            .into_iter()
            .filter_map(|t| match self.slots.remove(&t) {
                Some(Slot::Parked(c)) => Some((t, c)),
                _ => None,
            })
            .collect()
    }
}

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

    /// Stop accepting: unregister the listener and, when the socket is ours alone,
    /// make the kernel refuse new connections even while a slow response still holds
    /// the listener open (in a `SO_REUSEPORT` group this hands the port to the other
    /// members). An `inherited` socket is shared with a supervisor and possibly a
    /// successor process: shutting it down would refuse their connections too, so it
    /// is only let go of, and what waits in it is accepted by whoever is left.
    pub fn stop_accepting(&self, inherited: bool) {
        let fd = self.listener.as_raw_fd();
        for lp in &self.loops {
            let _ = lp.epoll.remove(fd);
        }
        if !inherited {
            // SAFETY: shutdown(2) on the listening socket we own.
            let _ = unsafe { libc::shutdown(fd, libc::SHUT_RD) };
        }
        // The monitor may sleep while nothing is busy: let it see the shutdown.
        self.shared.running.watcher.nudge();
    }

    /// On shutdown, close every parked connection idle between requests. Those still
    /// owed an answer ([`Conn::owed_answer`]) stay: their loops serve that request
    /// (with `Connection: close`) before leaving, so a restart drops nothing that
    /// this process accepted; so do those closing after their last answer
    /// ([`Conn::closing`]). Streams go on until they end or the shutdown deadline
    /// passes.
    pub fn close_parked(&self) {
        for lp in &self.loops {
            let drained = match lp.table.lock() {
                Ok(mut table) => {
                    table.remove_parked(|c| c.body.is_none() && !c.owed_answer() && !c.closing())
                }
                Err(_) => Vec::new(),
            };
            drop(drained);
        }
    }

    /// Does loop `idx` still hold a connection owed an answer (a suspended handler's
    /// included), or one closing after its answer?
    fn owes_answers(table: &Table) -> bool {
        table.suspended().next().is_some()
            || table
                .parked()
                .any(|(_, c)| c.body.is_none() && (c.owed_answer() || c.closing()))
    }

    /// Under shutdown, whether loop `idx` may leave: no stream left and nothing owed.
    /// Decided under its table's lock, which also closes the table, so a connection
    /// another loop accepts meanwhile is either seen here or parked elsewhere.
    fn may_leave(&self, idx: usize) -> bool {
        if self.loops[idx].streams.load(Ordering::SeqCst) != 0 {
            return false;
        }
        let Some(mut table) = self.table(idx) else {
            return true;
        };
        if Self::owes_answers(&table) {
            return false;
        }
        table.closed = true;
        true
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

    /// Start a thread for loop `idx` as its generation `generation`. A replacement
    /// gets `handed`: it waits there until the loop is handed to it (`true`), or
    /// leaves at once (`false`, or the sender gone).
    fn spawn_worker(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        handed: Option<mpsc::Receiver<bool>>,
    ) -> std::io::Result<()> {
        #[cfg(test)]
        tests::before_spawn(self, idx)?;
        let loops = Arc::clone(self);
        // Shutdown waits for loop threads too: one may hold a connection it just
        // accepted and not yet registered, which exiting the process would reset.
        let running = self.in_flight.enter();
        thread::Builder::new()
            .name(format!("ilo-loop-{idx}"))
            .stack_size(self.shared.config.stack_size)
            .spawn(move || {
                let _running = running;
                if handed.is_some_and(|h| h.recv() != Ok(true)) {
                    return;
                }
                // `serve_buffered` answers handler panics itself; anything else must
                // not leave the loop without a thread: a replacement takes it, or,
                // when none can be started, this thread goes on serving it.
                while catch_unwind(AssertUnwindSafe(|| loops.work(idx, generation))).is_err() {
                    if loops.take_over(idx, generation)
                        || loops.loops[idx].owner.load(Ordering::SeqCst) != generation
                    {
                        // Handlers this thread suspended can be resumed by it alone.
                        let _ = catch_unwind(AssertUnwindSafe(|| {
                            loops.finish_own_tasks(idx, generation)
                        }));
                        return;
                    }
                }
            })?;
        Ok(())
    }

    /// Replace the thread of generation `from` on loop `idx` with a new one; the old
    /// thread leaves the loop after its current connection. True when the loop was
    /// handed over; false if `from` was already replaced, or if no thread could be
    /// started (logged), in which case the old thread keeps the loop.
    ///
    /// The new thread exists before the loop is handed over: handing over first
    /// would let the old thread see it was replaced and leave, and a failed start
    /// would then leave the loop with no thread at all.
    fn take_over(self: &Arc<Self>, idx: usize, from: u64) -> bool {
        let lp = &self.loops[idx];
        if lp.owner.load(Ordering::SeqCst) != from {
            return false;
        }
        let (hand, handed) = mpsc::sync_channel(1);
        if let Err(e) = self.spawn_worker(idx, from + 1, Some(handed)) {
            self.shared.log.problem(
                "spawning event loop thread",
                &format!("{e}; the loop keeps its current thread"),
            );
            return false;
        }
        let taken = lp
            .owner
            .compare_exchange(from, from + 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        // Told either way: a thread that was not handed the loop leaves at once.
        let _ = hand.send(taken);
        taken
    }

    /// Stamp a loop busy (a handler may run now), waking the monitor if it sleeps.
    fn mark_busy(&self, idx: usize) -> u64 {
        self.mark_busy_since(idx, self.now_nanos())
    }

    /// [`Loops::mark_busy`] with a stamp from a clock reading taken just before
    /// ([`Loops::nanos_at`]).
    fn mark_busy_since(&self, idx: usize, stamp: u64) -> u64 {
        self.loops[idx].busy_since.store(stamp, Ordering::SeqCst);
        self.shared.running.watcher.wake();
        stamp
    }

    fn any_busy(&self) -> bool {
        self.loops
            .iter()
            .any(|lp| lp.busy_since.load(Ordering::SeqCst) != 0)
    }

    fn monitor(self: &Arc<Self>) {
        let slow = u64::try_from(SLOW_AFTER.as_nanos()).unwrap_or(u64::MAX);
        let runnable_slow = u64::try_from(RUNNABLE_SLOW_AFTER.as_nanos()).unwrap_or(u64::MAX);
        let mut reclaim = Reclaim::default();
        let mut watched = Instant::now();
        while !self.shared.shutdown.is_requested() {
            let running = &self.shared.running;
            let now = Instant::now();
            if now.duration_since(watched) >= WATCH_EVERY {
                running.watch(now);
                watched = now;
            }
            let stats = &self.shared.stats;
            let activity = stats.requests() + stats.responses();
            let look_again = reclaim.tick(activity, running.is_empty(), now);
            if !self.any_busy() {
                // Sleep until a loop stamps itself busy or a handler call enters,
                // or until running handlers are due to be watched again (or memory
                // to be returned). A call can enter with no loop busy: its loop was
                // handed over while its thread was still on the way to the handler.
                let idle = running.is_empty();
                let look_again = if idle { look_again } else { Some(WATCH_EVERY) };
                running.watcher.sleep(look_again, || {
                    self.any_busy()
                        || self.shared.shutdown.is_requested()
                        || (idle && !running.is_empty())
                });
                continue;
            }
            thread::sleep(MONITOR_EVERY);
            let now = self.now_nanos();
            for (idx, lp) in self.loops.iter().enumerate() {
                let since = lp.busy_since.load(Ordering::SeqCst);
                let busy_for = now.saturating_sub(since);
                let stuck = since != 0
                    && busy_for > slow
                    && (busy_for > runnable_slow || !runnable(lp.owner_tid.load(Ordering::SeqCst)));
                if stuck
                    && lp
                        .busy_since
                        .compare_exchange(since, 0, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                {
                    self.take_over(idx, lp.owner.load(Ordering::SeqCst));
                }
            }
        }
    }

    /// One loop thread: wait, accept, serve, expire, until replaced or shut down.
    fn work(self: &Arc<Self>, idx: usize, generation: u64) {
        let lp = &self.loops[idx];
        // SAFETY: gettid takes nothing and cannot fail.
        let tid = unsafe { libc::gettid() };
        lp.owner_tid.store(tid, Ordering::SeqCst);
        let mut events = [NO_EVENT; WAIT_BATCH];
        loop {
            if lp.owner.load(Ordering::SeqCst) != generation {
                self.finish_own_tasks(idx, generation);
                self.shared.log.flush();
                return;
            }
            // Reports go through the loop's queue, not this thread's stack: if this
            // thread turns slow, its replacement takes the ones it had not reached.
            match self.table(idx).and_then(|mut t| t.ready.pop_front()) {
                Some((WAKE, _)) => {
                    // Shutting down: streams in flight may finish; the wake pipe
                    // stays readable, so stop watching it.
                    let _ = lp.epoll.remove(self.shared.shutdown.wake_fd());
                }
                Some((LISTENER, _)) => self.accept_ready(),
                Some((TIMER, _)) => self.expire_due(idx, generation),
                Some((READY, _)) => self.drive_woken(idx, generation),
                Some((token, flags)) => self.serve_ready(idx, generation, token, flags),
                None => self.wait_for_reports(idx, &mut events),
            }
            if self.shared.shutdown.is_requested() && self.may_leave(idx) {
                self.shared.log.flush();
                return;
            }
        }
    }

    /// Wait for reports and queue them. Only a loop about to sleep writes out the
    /// access-log lines it gathered, so with lines pending it looks without waiting
    /// first.
    fn wait_for_reports(&self, idx: usize, events: &mut [libc::epoll_event]) {
        let epoll = &self.loops[idx].epoll;
        let ready = if self.shared.log.has_pending() {
            match epoll.wait(events, 0) {
                Ok(0) => {
                    self.shared.log.flush();
                    epoll.wait(events, -1)
                }
                other => other,
            }
        } else {
            epoll.wait(events, -1)
        };
        match ready {
            Ok(n) => {
                if let Some(mut table) = self.table(idx) {
                    let reports = events[..n].iter().map(|e| (e.u64, e.events));
                    table.ready.extend(reports);
                }
            }
            Err(e) => {
                self.shared.log.problem("epoll_wait", &e.to_string());
                thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn accept_ready(&self) {
        for _ in 0..ACCEPT_BATCH {
            if self.shared.shutdown.is_requested() {
                return;
            }
            match self.listener.accept() {
                Ok((stream, _peer)) => self.register(stream),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) => {
                    // Out of descriptors or memory: back off instead of spinning; the
                    // pending connection is retried when something frees up.
                    self.shared.log.problem("accept", &e.to_string());
                    thread::sleep(Duration::from_millis(50));
                    return;
                }
            }
        }
    }

    /// Park a new connection on the next loop in turn, so load spreads evenly.
    fn register(&self, stream: TcpStream) {
        let shared = &self.shared;
        shared.stats.count_connection();
        // Reads and writes on it never block whatever this says (they pass
        // MSG_DONTWAIT, and a full socket is waited for through the loop: see
        // `client_out`), so no send timeout either.
        let configured = stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_nodelay(true));
        if let Err(e) = configured {
            shared.log.problem("configuring connection", &e.to_string());
            return;
        }
        let now = Instant::now();
        let conn = Box::new(Conn {
            stream,
            input: Input::default(),
            head_started: Some(now),
            idle_since: now,
            request_body: None,
            body: None,
            waiting: Waiting::Request,
            source_fd: None,
            edge_armed: false,
            socket_armed: None,
            peer_closed: false,
            _in_flight: self.in_flight.enter(),
            _open: Open::connection(shared.metrics.as_ref()),
        });
        let idx = self.next_loop.fetch_add(1, Ordering::Relaxed) % self.loops.len();
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        self.park(idx, token, conn, true);
    }

    /// Put a connection waiting for a request in its loop's table, registered for
    /// edge-triggered reports. Under the table's lock, so a deadline scan cannot close
    /// it between the two steps, a report cannot slip between them unseen, and
    /// shutdown (which drains the table under the same lock) cannot miss it.
    fn park(&self, idx: usize, token: u64, mut conn: Box<Conn>, new: bool) {
        let Some(mut table) = self.table(idx) else {
            return;
        };
        if table.closed && new {
            // Accepted as this loop left under shutdown: a loop still running serves
            // it (the accepting one is, so there is one unless all are going).
            drop(table);
            let open = (0..self.loops.len())
                .find(|&other| other != idx && self.table(other).is_some_and(|t| !t.closed));
            if let Some(other) = open {
                self.park(other, token, conn, new);
            }
            return;
        }
        // Under shutdown only a connection still owed an answer, or closing after
        // its answer, is kept.
        if self.shared.shutdown.is_requested()
            && !(conn.body.is_none() && (conn.owed_answer() || conn.closing()))
        {
            return;
        }
        let missed = matches!(
            table.slots.get(&token),
            Some(Slot::Held { missed: true, .. })
        );
        // A registration already in place costs nothing; the kernel is asked to look
        // again only when bytes may have arrived unreported: during the hold, or
        // beyond what the last read had room for.
        let look = new || !conn.edge_armed || missed || conn.input.may_have_more();
        let fd = conn.stream.as_raw_fd();
        self.arm_deadline(idx, &conn);
        conn.edge_armed = true;
        conn.socket_armed = None;
        table.slots.insert(token, Slot::Parked(conn));
        if !look {
            return;
        }
        if let Err(e) = self.loops[idx].epoll.watch_edges(fd, token, new) {
            table.slots.remove(&token);
            self.shared
                .log
                .problem("registering connection", &e.to_string());
        }
    }

    /// Take a parked connection out of the table for this thread, leaving its slot
    /// held. A report about a connection already held is remembered in its slot.
    fn take(&self, idx: usize, token: u64, generation: u64) -> Option<Taken> {
        let mut table = self.table(idx)?;
        let slot = table.slots.get_mut(&token)?;
        if let Slot::Held { missed, .. } = slot {
            *missed = true;
            return None;
        }
        let held = Slot::Held {
            by: generation,
            missed: false,
        };
        match std::mem::replace(slot, held) {
            Slot::Parked(conn) => Some(Taken::Conn(conn)),
            Slot::Suspended(task) => Some(Taken::Task(task)),
            Slot::Held { .. } => None,
        }
    }

    /// A taken connection was handled: if its slot is still held by this thread, it
    /// was neither parked again nor taken by another since, so it closed.
    fn release(&self, idx: usize, token: u64, generation: u64) {
        if let Some(mut table) = self.table(idx) {
            if matches!(table.slots.get(&token), Some(Slot::Held { by, .. }) if *by == generation) {
                table.slots.remove(&token);
            }
        }
    }

    /// A report for a parked connection: serve what it sent, inline, or drive its
    /// stream.
    fn serve_ready(self: &Arc<Self>, idx: usize, generation: u64, token: u64, flags: u32) {
        let key = token & !SOURCE;
        match self.take(idx, key, generation) {
            Some(Taken::Conn(conn)) => self.serve_taken(idx, generation, token, flags, conn),
            Some(Taken::Task(task)) => {
                let wake = if flags == DEADLINE {
                    Some(Wake::Timer)
                } else if token & SOURCE != 0 || task.waits_on_client() {
                    // For an answer waiting for room, any report (room, or a
                    // closed or failed socket) is for the write to find out.
                    Some(Wake::Fd)
                } else if flags & HUNG_UP != 0 {
                    Some(Wake::ClientGone)
                } else {
                    // A stale report about the client's socket: nothing to resume for.
                    None
                };
                match wake {
                    Some(wake) => self.resume_task(idx, generation, key, task, wake),
                    None => self.park_task(idx, generation, key, task),
                }
            }
            None => return,
        }
        self.release(idx, key, generation);
    }

    fn serve_taken(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        flags: u32,
        mut conn: Box<Conn>,
    ) {
        if conn.body.is_some() {
            let from_client = token & SOURCE == 0;
            if from_client {
                // The report used up the socket's one-shot arm.
                conn.socket_armed = None;
            }
            if from_client && flags & HUNG_UP != 0 {
                let gone = std::io::ErrorKind::ConnectionAborted.into();
                self.end_stream(
                    idx,
                    generation,
                    token & !SOURCE,
                    conn,
                    StreamEnd::ClientGone(gone),
                );
            } else {
                self.drive(idx, generation, token & !SOURCE, conn);
            }
            return;
        }
        if let Waiting::Closing(linger) = &mut conn.waiting {
            if linger.drain(&conn.stream) == Drained::Open {
                self.park(idx, token, conn, false);
            }
            return;
        }
        if flags & HUNG_UP != 0 {
            conn.peer_closed = true;
        }
        // One clock reading for what follows: the head's start, the loop's busy
        // stamp and the first request's start.
        let read_at = Instant::now();
        match conn.input.read_now(&conn.stream) {
            Ok(0) => {}
            Ok(_) => {
                conn.head_started.get_or_insert(read_at);
            }
            Err(_) => return,
        }
        self.serve_conn(idx, generation, token, conn, read_at);
    }

    /// Serve the requests `conn` has buffered, then park it, start its stream, or
    /// let it close. Under shutdown too: a request that arrived is answered (with
    /// `Connection: close`), not dropped.
    ///
    /// The serving runs as a task ([`crate::suspend`]): a handler that waits for an
    /// upstream or a delay is suspended with its connection ([`Loops::park_task`]) and
    /// this thread goes back to the loop.
    ///
    /// `read_at` is when the caller last read the clock, just before.
    fn serve_conn(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        conn: Box<Conn>,
        read_at: Instant,
    ) {
        let client_fd = conn.stream.as_raw_fd();
        let shared = Arc::clone(&self.shared);
        let serve = move || {
            let mut conn = conn;
            let served = connection::serve_buffered(
                &conn.stream,
                &mut conn.input,
                &mut conn.request_body,
                &shared,
                read_at,
            );
            (conn, served)
        };
        let stamp = self.mark_busy_since(idx, self.nanos_at(read_at));
        let (task, step) = match Task::start(serve) {
            Ok(started) => started,
            Err((e, serve)) => {
                // No stack for a task: serve on this thread's own, as a thread would.
                self.shared
                    .log
                    .problem("mapping a handler stack", &e.to_string());
                let (conn, served) = serve();
                self.clear_busy(idx, stamp);
                return self.served(idx, generation, token, conn, served);
            }
        };
        self.clear_busy(idx, stamp);
        match step {
            Step::Done((conn, served)) => self.served(idx, generation, token, conn, served),
            Step::Parked(park) => {
                let suspended = Box::new(Suspended {
                    task,
                    park,
                    client_fd,
                    watched: None,
                    thread: generation,
                });
                self.park_task(idx, generation, token, suspended);
            }
        }
    }

    fn clear_busy(&self, idx: usize, stamp: u64) {
        let _ = self.loops[idx].busy_since.compare_exchange(
            stamp,
            0,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }

    /// After [`connection::serve_buffered`]: park the connection for its next request,
    /// start its stream, or let it close.
    fn served(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        mut conn: Box<Conn>,
        served: Served,
    ) {
        let lp = &self.loops[idx];
        let requests = match &served {
            Served::Closed => return,
            Served::Lingering => return self.close_gracefully(idx, token, conn),
            // Nothing more can arrive (and the last read left nothing unread behind
            // it): a partial head or an idle connection is closed now, not at its
            // header or idle timeout. There is no one to answer.
            Served::NeedMore { .. } if conn.peer_closed && !conn.input.may_have_more() => return,
            Served::NeedMore { requests } | Served::Streaming { requests, .. } => *requests,
        };
        if requests > 0 {
            let now = Instant::now();
            conn.head_started = (!conn.input.available().is_empty()).then_some(now);
            conn.idle_since = now;
        }
        match served {
            Served::Streaming { mut stream, .. } => {
                lp.streams.fetch_add(1, Ordering::SeqCst);
                stream
                    .body
                    .offer_waker(&Waker::new(Arc::clone(&lp.ready), token));
                conn.body = Some(stream);
                conn.waiting = Waiting::Source;
                self.drive(idx, generation, token, conn);
            }
            _ => {
                conn.waiting = Waiting::Request;
                self.park(idx, token, conn, false);
            }
        }
    }

    /// The connection's last response is written: shut its sending side, read what
    /// the client still sends, and park it until the client closes or its linger
    /// deadline passes ([`super::linger`]).
    fn close_gracefully(&self, idx: usize, token: u64, mut conn: Box<Conn>) {
        let mut linger = Linger::start(&conn.stream);
        if linger.drain(&conn.stream) == Drained::Open {
            // Its input is done with: a closing connection keeps no read buffer.
            conn.input = Input::default();
            conn.request_body = None;
            conn.head_started = None;
            conn.waiting = Waiting::Closing(linger);
            self.park(idx, token, conn, false);
        }
    }

    /// Resume a suspended handler with why it wakes (on the thread that started it,
    /// else handed to that thread), then park it again or carry on with its
    /// connection.
    fn resume_task(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        mut suspended: Box<Suspended>,
        wake: Wake,
    ) {
        if suspended.thread != generation || !suspended.task.is_local() {
            return self.hand_over(idx, generation, token, suspended, wake);
        }
        if let Some(fd) = suspended.watched.take() {
            // Now, while the task's frames still hold the descriptor open: once it runs
            // it may close it, and the number may come back as another connection's.
            let _ = self.loops[idx].epoll.remove(fd);
        }
        // A replaced thread finishing its own handlers does not stamp the loop: the
        // monitor would replace the live thread for it.
        let live = self.loops[idx].owner.load(Ordering::SeqCst) == generation;
        let stamp = live.then(|| self.mark_busy(idx));
        let step = suspended.task.resume(wake);
        if let Some(stamp) = stamp {
            self.clear_busy(idx, stamp);
        }
        match step {
            Step::Parked(park) => {
                suspended.park = park;
                self.park_task(idx, generation, token, suspended);
            }
            Step::Done((mut conn, served)) => {
                // The client's socket was switched to one-shot while the handler waited.
                conn.edge_armed = false;
                self.served(idx, generation, token, conn, served);
            }
        }
    }

    /// Park a suspended handler: register what it waits for (its descriptor under the
    /// connection's SOURCE token, its deadline on the loop's timer) and arm the
    /// client's socket for a hang-up.
    fn park_task(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        mut suspended: Box<Suspended>,
    ) {
        let lp = &self.loops[idx];
        let mut unwatchable = None;
        // Waiting for room in the client's socket: arm that socket (already in the
        // set) for room instead of for a hang-up, and register nothing else.
        let client_interest = if suspended.waits_on_client() {
            Interest::Room
        } else {
            Interest::HangUp
        };
        if let Some((fd, ready)) = suspended.park.fd.filter(|_| !suspended.waits_on_client()) {
            let interest = match ready {
                Ready::Read => Interest::Read,
                Ready::Write => Interest::Write,
            };
            // Registered still only when parked again without having run (handed
            // back to its thread): see `resume_task`.
            let new = suspended.watched != Some(fd);
            match lp.epoll.arm(fd, token | SOURCE, interest, new) {
                Ok(()) => suspended.watched = Some(fd),
                Err(e) => unwatchable = Some(e),
            }
        }
        if let Some(e) = unwatchable {
            if suspended.thread == generation {
                self.shared
                    .log
                    .problem("waiting for an upstream", &e.to_string());
                return self.resume_task(idx, generation, token, suspended, Wake::Unwatchable);
            }
            // Not ours to resume: let its deadline come now, on its own thread.
            suspended.park.deadline = Some(Instant::now());
        }
        let Some(mut table) = self.table(idx) else {
            return;
        };
        if let Some(at) = suspended.park.deadline {
            let at = u64::try_from(at.saturating_duration_since(self.epoch).as_nanos())
                .unwrap_or(u64::MAX);
            lp.timer.arm_by(at, || self.now_nanos());
        }
        let client_fd = suspended.client_fd;
        table.slots.insert(token, Slot::Suspended(suspended));
        // A hang-up (or room) is reported even if it happened before this arm.
        if let Err(e) = lp.epoll.arm(client_fd, token, client_interest, false) {
            self.shared
                .log
                .problem("watching a waiting client", &e.to_string());
        }
    }

    /// A report for a handler another thread of this loop started. For the loop's
    /// live thread it is parked again: re-arming makes epoll report a condition that
    /// still holds, and a passed deadline fires the timer at once. A replaced thread
    /// gets the report through its own queue.
    fn hand_over(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        suspended: Box<Suspended>,
        wake: Wake,
    ) {
        let lp = &self.loops[idx];
        let owner = suspended.thread;
        if owner == lp.owner.load(Ordering::SeqCst) {
            return self.park_task(idx, generation, token, suspended);
        }
        let report = match wake {
            Wake::Fd => (token | SOURCE, WOKEN),
            Wake::Timer => (token, DEADLINE),
            Wake::ClientGone | Wake::Unwatchable | Wake::OutOfTime => (token, HUNG_UP),
        };
        let Some(mut table) = self.table(idx) else {
            return;
        };
        table.slots.insert(token, Slot::Suspended(suspended));
        drop(table);
        let mut handed = lp.handed.lock().unwrap_or_else(|p| p.into_inner());
        handed.entry(owner).or_default().push_back(report);
        lp.handed_signal.notify_all();
    }

    /// A replaced loop thread: resume the handlers it started until none is left
    /// (no other thread may), taking their reports from its own queue.
    fn finish_own_tasks(self: &Arc<Self>, idx: usize, generation: u64) {
        let lp = &self.loops[idx];
        while suspend::unfinished_here() > 0 {
            let report = {
                let mut handed = lp.handed.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    if let Some(r) = handed.get_mut(&generation).and_then(VecDeque::pop_front) {
                        break Some(r);
                    }
                    let (guard, timeout) = lp
                        .handed_signal
                        .wait_timeout(handed, Duration::from_secs(1))
                        .unwrap_or_else(|p| p.into_inner());
                    handed = guard;
                    if timeout.timed_out() && self.shared.shutdown.is_requested() {
                        break None;
                    }
                }
            };
            match report {
                Some((token, flags)) => self.serve_ready(idx, generation, token, flags),
                // Shutting down: the process exits after its deadline anyway.
                None => return,
            }
        }
        if let Ok(mut handed) = lp.handed.lock() {
            handed.remove(&generation);
        }
    }

    /// Drive a connection's stream one step and park it for what it waits on next.
    fn drive(self: &Arc<Self>, idx: usize, generation: u64, token: u64, conn: Box<Conn>) {
        if let Some(conn) = self.step_stream(idx, generation, token, conn) {
            self.park_stream(idx, token, conn);
        }
    }

    /// Drive a connection's stream one step and say what it waits for next: the
    /// connection comes back to be parked, or `None` when it was handled here (its
    /// stream ended, or it moved to a helper thread and was driven again).
    fn step_stream(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        mut conn: Box<Conn>,
    ) -> Option<Box<Conn>> {
        let streaming = conn.body.as_mut()?;
        let want = streaming
            .body
            .drive(conn.stream.as_raw_fd(), &self.shared.stats);
        conn.waiting = match want {
            Want::Done(end) => {
                self.end_stream(idx, generation, token, conn, end);
                return None;
            }
            Want::Writable => match conn.waiting {
                Waiting::Writable(since) => Waiting::Writable(since),
                _ => Waiting::Writable(Instant::now()),
            },
            Want::Yield | Want::Source(Readiness::Always) => Waiting::Turn,
            Want::Source(Readiness::After(delay)) => Waiting::Timer(Instant::now() + delay),
            Want::Source(Readiness::Fd(fd)) => {
                if conn.source_fd != Some(fd) && !self.watch_source(idx, token, &mut conn, fd) {
                    // Not watchable here (already watched by another stream of this
                    // loop, or a kind epoll refuses): read it on a helper thread.
                    if let Some(s) = conn.body.as_mut() {
                        s.body.pump();
                    }
                    self.drive(idx, generation, token, conn);
                    return None;
                }
                Waiting::Source
            }
            Want::Source(Readiness::Woken) if streaming.body.woken() => {
                if let Some(fd) = conn.source_fd.take() {
                    let _ = self.loops[idx].epoll.remove(fd);
                }
                Waiting::Source
            }
            // Woken, but through another stream's waker: this one can only poll.
            Want::Source(Readiness::Blocking | Readiness::Woken) => {
                if let Some(s) = conn.body.as_mut() {
                    s.body.pump();
                }
                Waiting::Turn
            }
        };
        Some(conn)
    }

    /// The ready list was signalled: drive every marked stream in one pass. The
    /// parked ones are taken out of the table under one lock; after their step, those
    /// that wait for their waker again, with their socket's hang-up watch still armed
    /// and nothing reported about them meanwhile, go back under one lock and no
    /// system call. A line then costs each subscriber its `send` and no lock of its
    /// own. A mark for a stream that is held by a thread right now, gone or not
    /// streaming is queued like a descriptor's report; a stream that wants anything
    /// else next is parked the usual way.
    fn drive_woken(self: &Arc<Self>, idx: usize, generation: u64) {
        let mut tokens = Vec::new();
        self.loops[idx].ready.take(&mut tokens);
        let mut taken = Vec::with_capacity(tokens.len());
        if let Some(mut table) = self.table(idx) {
            let Table { slots, ready, .. } = &mut *table;
            for token in tokens {
                match slots.get_mut(&token) {
                    Some(slot @ Slot::Parked(_)) if slot.is_stream() => {
                        let held = Slot::Held {
                            by: generation,
                            missed: false,
                        };
                        if let Slot::Parked(conn) = std::mem::replace(slot, held) {
                            taken.push((token, conn));
                        }
                    }
                    _ => ready.push_back((token | SOURCE, WOKEN)),
                }
            }
        }
        let mut again = Vec::with_capacity(taken.len());
        for (token, conn) in taken {
            match self.step_stream(idx, generation, token, conn) {
                Some(conn) if conn.waits_woken_as_armed() => again.push((token, conn)),
                Some(conn) => {
                    self.park_stream(idx, token, conn);
                    self.release(idx, token, generation);
                }
                None => self.release(idx, token, generation),
            }
        }
        if again.is_empty() {
            return;
        }
        let mut reported = Vec::new();
        if let Some(mut table) = self.table(idx) {
            for (token, conn) in again {
                match table.slots.get_mut(&token) {
                    Some(slot @ Slot::Held { missed: false, .. }) => *slot = Slot::Parked(conn),
                    // A report came while it was held: re-arm as `park_stream` does.
                    _ => reported.push((token, conn)),
                }
            }
        }
        for (token, conn) in reported {
            self.park_stream(idx, token, conn);
            self.release(idx, token, generation);
        }
    }

    /// Register a stream's source descriptor (disarmed until the stream parks).
    fn watch_source(&self, idx: usize, token: u64, conn: &mut Conn, fd: RawFd) -> bool {
        let epoll = &self.loops[idx].epoll;
        if let Some(old) = conn.source_fd.take() {
            let _ = epoll.remove(old);
        }
        if epoll.arm(fd, token | SOURCE, Interest::Read, true).is_err() {
            return false;
        }
        conn.source_fd = Some(fd);
        true
    }

    /// Park a stream and arm what it waits for: its socket for a hang-up or for room,
    /// and its source's descriptor when it waits on the source.
    fn park_stream(&self, idx: usize, token: u64, mut conn: Box<Conn>) {
        let Some(mut table) = self.table(idx) else {
            return;
        };
        let epoll = &self.loops[idx].epoll;
        let fd = conn.stream.as_raw_fd();
        let interest = match conn.waiting {
            Waiting::Writable(_) | Waiting::Turn => Interest::Write,
            _ => Interest::HangUp,
        };
        let source = match conn.waiting {
            Waiting::Source => conn.source_fd,
            _ => None,
        };
        // A woken stream has no descriptor to re-arm: a mark that came while it was
        // held (remembered in its slot) is queued again instead.
        let woken =
            conn.waiting == Waiting::Source && conn.body.as_ref().is_some_and(|s| s.body.woken());
        let missed = match table.slots.get(&token) {
            Some(Slot::Held { missed, .. }) => Some(*missed),
            _ => None,
        };
        // The socket keeps a one-shot arm nothing reported on: taken through its
        // slot (so a report meanwhile would have marked it missed) and unreported,
        // it needs no system call to stay armed. A woken subscriber's line then
        // costs its `send` alone.
        let keep_socket = missed == Some(false) && conn.socket_armed == Some(interest);
        self.arm_deadline(idx, &conn);
        conn.edge_armed = false;
        conn.socket_armed = Some(interest);
        table.slots.insert(token, Slot::Parked(conn));
        if woken && missed == Some(true) {
            table.ready.push_back((token | SOURCE, WOKEN));
        }
        let mut armed = if keep_socket {
            Ok(())
        } else {
            epoll.arm(fd, token, interest, false)
        };
        if let (Ok(()), Some(sfd)) = (&armed, source) {
            armed = epoll.arm(sfd, token | SOURCE, Interest::Read, false);
        }
        if let Err(e) = armed {
            self.shared.log.problem("arming a stream", &e.to_string());
            if let Some(Slot::Parked(conn)) = table.slots.remove(&token) {
                drop(table);
                let end = StreamEnd::SourceFailed(format!("cannot wait for the stream: {e}"));
                self.finish(idx, token, conn, end);
            }
        }
    }

    /// A stream ended: release it, then serve what the connection sent meanwhile
    /// (pipelined requests) if it stays open.
    fn end_stream(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        conn: Box<Conn>,
        end: StreamEnd,
    ) {
        if let Some(mut conn) = self.finish(idx, token, conn, end) {
            conn.waiting = Waiting::Request;
            if conn.input.available().is_empty() {
                conn.head_started = None;
                conn.idle_since = Instant::now();
                self.park(idx, token, conn, false);
            } else {
                let now = Instant::now();
                conn.head_started = Some(now);
                self.serve_conn(idx, generation, token, conn, now);
            }
        }
    }

    /// Unregister and finish a connection's stream; the connection back if it may
    /// serve another request (otherwise it closes, gracefully after a complete body).
    fn finish(
        &self,
        idx: usize,
        token: u64,
        mut conn: Box<Conn>,
        end: StreamEnd,
    ) -> Option<Box<Conn>> {
        let lp = &self.loops[idx];
        if let Some(fd) = conn.source_fd.take() {
            // Before the source may close its descriptor (and the number be reused).
            let _ = lp.epoll.remove(fd);
        }
        let streaming = conn.body.take()?;
        lp.streams.fetch_sub(1, Ordering::SeqCst);
        match connection::finish_stream(&self.shared, *streaming, end) {
            AfterStream::KeepAlive => Some(conn),
            AfterStream::Linger => {
                self.close_gracefully(idx, token, conn);
                None
            }
            AfterStream::Close => None,
        }
    }

    /// Make the loop's timer fire by `conn`'s deadline, if it has one.
    fn arm_deadline(&self, idx: usize, conn: &Conn) {
        if let Some(at) = conn.deadline(&self.shared) {
            let at = u64::try_from(at.saturating_duration_since(self.epoch).as_nanos())
                .unwrap_or(u64::MAX);
            self.loops[idx].timer.arm_by(at, || self.now_nanos());
        }
    }

    /// The timer fired: handle parked connections whose deadline passed (a stalled
    /// head is answered 408, an idle connection closed, a stream whose client stopped
    /// reading ended, a stream waiting for a delay driven), and arm the timer for the
    /// earliest deadline left.
    fn expire_due(self: &Arc<Self>, idx: usize, generation: u64) {
        let lp = &self.loops[idx];
        lp.timer.fired();
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut due_tasks = Vec::new();
        let expired: Vec<(u64, Box<Conn>)> = match self.table(idx) {
            Some(mut table) => {
                for (_, c) in table.parked() {
                    match c.deadline(&self.shared) {
                        Some(d) if d > now => next = Some(next.map_or(d, |n| n.min(d))),
                        _ => {}
                    }
                }
                for (token, task) in table.suspended() {
                    match task.park.deadline {
                        Some(d) if d > now => next = Some(next.map_or(d, |n| n.min(d))),
                        Some(_) => due_tasks.push(*token),
                        None => {}
                    }
                }
                if let Some(d) = next {
                    let at = u64::try_from(d.saturating_duration_since(self.epoch).as_nanos())
                        .unwrap_or(u64::MAX);
                    lp.timer.arm_by(at, || self.now_nanos());
                }
                let shared = &self.shared;
                table.remove_parked(|c| c.deadline(shared).is_some_and(|d| d <= now))
            }
            None => Vec::new(),
        };
        // Resumed through the loop's queue like any report: each on its own thread,
        // and none held here while another runs.
        if !due_tasks.is_empty() {
            if let Some(mut table) = self.table(idx) {
                table
                    .ready
                    .extend(due_tasks.into_iter().map(|t| (t, DEADLINE)));
            }
        }
        for (token, conn) in expired {
            match conn.waiting {
                Waiting::Request => {
                    if let Some(pending) = &conn.request_body {
                        connection::reject_slow_body(&conn.stream, &self.shared, pending);
                    } else if !conn.input.available().is_empty() {
                        connection::reject_slow_head(&conn.stream, &self.shared);
                    }
                }
                Waiting::Writable(_) => {
                    let end = StreamEnd::ClientGone(std::io::ErrorKind::TimedOut.into());
                    self.finish(idx, token, conn, end);
                }
                // Its client did not close in time: close it now (dropping it).
                Waiting::Closing(_) => {}
                _ => self.drive(idx, generation, token, conn),
            }
        }
    }
}

/// Is thread `tid` of this process runnable (running, or waiting for a core) rather
/// than blocked? Unknown (no such thread, no `/proc`) counts as blocked, so the
/// monitor replaces it as it would have without the question.
fn runnable(tid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
        return false;
    };
    // `tid (name) S …`: the state follows the name's closing parenthesis.
    stat.rfind(')')
        .and_then(|end| stat[end + 1..].split_whitespace().next())
        == Some("R")
}

#[cfg(test)]
mod tests;
