//! Event loops: `workers` threads, each owning an epoll set, serve requests inline.
//!
//! A connection waiting for its next request is *parked*: it sits in its loop's table
//! and in the epoll set, armed one-shot. When bytes arrive, one loop thread takes it
//! out, reads what is there, serves every complete request in place (handler call and
//! response write, see [`connection::serve_buffered`]) and parks it again. A request
//! therefore costs no thread switch.
//!
//! Handlers may be slow (`sleep`, `get`, a stream that lasts hours). The thread serving
//! a connection stamps `busy_since`; a monitor thread checks the stamps every few
//! milliseconds and, when one is older than [`SLOW_AFTER`], starts a replacement
//! thread for that epoll set (like a Go runtime handing off a blocked P). The old
//! thread finishes its connection as if it had a thread of its own, parks it again and
//! exits. A streamed body hands off at once, without waiting for the monitor.
//!
//! Several threads may briefly wait on one set; one-shot arming keeps each connection
//! with exactly one of them, and each wait takes a single report so none is left
//! behind with a thread that turns slow. Tokens are never reused, so a report about a connection
//! that was closed in the meantime finds nothing and is ignored.
//!
//! Deadlines (header timeout, idle timeout) of parked connections are checked every
//! [`SCAN_EVERY_MS`]: a started head that did not complete is answered 408, an idle
//! connection is closed silently, as a connection thread did before.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::connection::{self, Served, Shared};
use super::epoll::{Epoll, NO_EVENT};
use super::input::Input;
use super::listener::{InFlight, InFlightGuard};

/// A loop thread inside one connection for longer than this gets replaced.
const SLOW_AFTER: Duration = Duration::from_millis(10);
/// How often the monitor looks at the loops.
const MONITOR_EVERY: Duration = Duration::from_millis(5);
/// How often parked connections' deadlines are checked (also the epoll_wait timeout).
const SCAN_EVERY_MS: i32 = 50;
/// Connections accepted per listener report before looking at other events.
const ACCEPT_BATCH: usize = 64;

const LISTENER: u64 = 0;
const WAKE: u64 = 1;
const FIRST_CONNECTION: u64 = 2;

/// A connection between requests.
struct Conn {
    stream: TcpStream,
    input: Input,
    /// When the head being waited for started: at connect, then at its first byte.
    /// `None` while idle between requests.
    head_started: Option<Instant>,
    idle_since: Instant,
    _in_flight: InFlightGuard,
}

impl Conn {
    fn deadline(&self, shared: &Shared) -> Instant {
        match self.head_started {
            Some(t) => t + shared.config.header_timeout,
            None => self.idle_since + shared.config.idle_timeout,
        }
    }
}

struct EventLoop {
    epoll: Epoll,
    parked: Mutex<HashMap<u64, Conn>>,
    /// Generation of the thread meant to run this loop; bumped on each replacement.
    owner: AtomicU64,
    /// When the owner started on its current connection (nanoseconds since the
    /// server's epoch, never 0); 0 while it waits.
    busy_since: AtomicU64,
    next_scan: AtomicU64,
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
            loops.push(EventLoop {
                epoll,
                parked: Mutex::new(HashMap::new()),
                owner: AtomicU64::new(0),
                busy_since: AtomicU64::new(0),
                next_scan: AtomicU64::new(0),
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
            self.spawn_worker(idx, 0)?;
        }
        let loops = Arc::clone(self);
        thread::Builder::new()
            .name("ilo-monitor".to_string())
            .stack_size(64 * 1024)
            .spawn(move || loops.monitor())?;
        Ok(())
    }

    /// Stop accepting: unregister the listener and make the kernel refuse new
    /// connections even while a slow response still holds the listener open.
    pub fn stop_accepting(&self) {
        let fd = self.listener.as_raw_fd();
        for lp in &self.loops {
            let _ = lp.epoll.remove(fd);
        }
        // SAFETY: shutdown(2) on the listening socket we own.
        let _ = unsafe { libc::shutdown(fd, libc::SHUT_RD) };
    }

    /// Close every parked connection (on shutdown; busy ones close after their
    /// response because nothing is parked once shutdown is requested).
    pub fn close_parked(&self) {
        for lp in &self.loops {
            let drained: Vec<Conn> = match lp.parked.lock() {
                Ok(mut parked) => parked.drain().map(|(_, c)| c).collect(),
                Err(_) => Vec::new(),
            };
            drop(drained);
        }
    }

    fn now_nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn parked(&self, idx: usize) -> Option<MutexGuard<'_, HashMap<u64, Conn>>> {
        self.loops[idx].parked.lock().ok()
    }

    fn spawn_worker(self: &Arc<Self>, idx: usize, generation: u64) -> std::io::Result<()> {
        let loops = Arc::clone(self);
        thread::Builder::new()
            .name(format!("ilo-loop-{idx}"))
            .stack_size(self.shared.config.stack_size)
            .spawn(move || {
                // `serve_buffered` answers handler panics itself; anything else must
                // not leave the loop without a thread.
                if catch_unwind(AssertUnwindSafe(|| loops.work(idx, generation))).is_err() {
                    loops.take_over(idx, generation);
                }
            })?;
        Ok(())
    }

    /// Replace the thread of generation `from` on loop `idx` with a new one; the old
    /// thread leaves the loop after its current connection. Does nothing if `from`
    /// was already replaced.
    fn take_over(self: &Arc<Self>, idx: usize, from: u64) {
        let lp = &self.loops[idx];
        if lp
            .owner
            .compare_exchange(from, from + 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return;
        }
        if let Err(e) = self.spawn_worker(idx, from + 1) {
            self.shared
                .log
                .problem("spawning event loop thread", &e.to_string());
            let _ = lp
                .owner
                .compare_exchange(from + 1, from, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    fn monitor(self: &Arc<Self>) {
        let slow = u64::try_from(SLOW_AFTER.as_nanos()).unwrap_or(u64::MAX);
        while !self.shared.shutdown.is_requested() {
            thread::sleep(MONITOR_EVERY);
            let now = self.now_nanos();
            for (idx, lp) in self.loops.iter().enumerate() {
                let since = lp.busy_since.load(Ordering::SeqCst);
                let stuck = since != 0 && now.saturating_sub(since) > slow;
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
        // One report per wait: a report taken but not yet handled would be stuck
        // with this thread if its current connection turns slow, since one-shot
        // arming gives it to nobody else.
        let mut events = [NO_EVENT; 1];
        loop {
            if lp.owner.load(Ordering::SeqCst) != generation {
                return;
            }
            let n = match lp.epoll.wait(&mut events, SCAN_EVERY_MS) {
                Ok(n) => n,
                Err(e) => {
                    self.shared.log.problem("epoll_wait", &e.to_string());
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            if n > 0 {
                match events[0].u64 {
                    WAKE => return,
                    LISTENER => self.accept_ready(),
                    token => self.serve_ready(idx, generation, token),
                }
            }
            self.expire_due(idx);
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
        let configured = stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_nodelay(true))
            .and_then(|()| stream.set_write_timeout(Some(shared.config.write_timeout)));
        if let Err(e) = configured {
            shared.log.problem("configuring connection", &e.to_string());
            return;
        }
        let now = Instant::now();
        let conn = Conn {
            stream,
            input: Input::default(),
            head_started: Some(now),
            idle_since: now,
            _in_flight: self.in_flight.enter(),
        };
        let idx = self.next_loop.fetch_add(1, Ordering::Relaxed) % self.loops.len();
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        self.park(idx, token, conn, true);
    }

    /// Put a connection in its loop's table and arm it. Under the table's lock, so a
    /// deadline scan cannot close it between the two steps, and shutdown (which
    /// drains the table under the same lock) cannot miss it.
    fn park(&self, idx: usize, token: u64, conn: Conn, new: bool) {
        let Some(mut parked) = self.parked(idx) else {
            return;
        };
        if self.shared.shutdown.is_requested() {
            return;
        }
        let fd = conn.stream.as_raw_fd();
        parked.insert(token, conn);
        let epoll = &self.loops[idx].epoll;
        let armed = if new {
            epoll.add_one_shot(fd, token)
        } else {
            epoll.rearm(fd, token)
        };
        if let Err(e) = armed {
            parked.remove(&token);
            self.shared
                .log
                .problem("registering connection", &e.to_string());
        }
    }

    /// A parked connection became readable: serve what it sent, inline.
    fn serve_ready(self: &Arc<Self>, idx: usize, generation: u64, token: u64) {
        let Some(mut conn) = self.parked(idx).and_then(|mut p| p.remove(&token)) else {
            return;
        };
        match conn.input.read_now(&conn.stream) {
            Ok(0) => {}
            Ok(_) => {
                conn.head_started.get_or_insert_with(Instant::now);
            }
            Err(_) => return,
        }
        if self.shared.shutdown.is_requested() {
            return;
        }
        let lp = &self.loops[idx];
        let stamp = self.now_nanos();
        lp.busy_since.store(stamp, Ordering::SeqCst);
        let hand_off = || {
            let _ = lp
                .busy_since
                .compare_exchange(stamp, 0, Ordering::SeqCst, Ordering::SeqCst);
            self.take_over(idx, generation);
        };
        let served =
            connection::serve_buffered(&conn.stream, &mut conn.input, &self.shared, &hand_off);
        let _ = lp
            .busy_since
            .compare_exchange(stamp, 0, Ordering::SeqCst, Ordering::SeqCst);
        if let Served::NeedMore { requests } = served {
            if requests > 0 {
                let now = Instant::now();
                conn.head_started = (!conn.input.available().is_empty()).then_some(now);
                conn.idle_since = now;
            }
            self.park(idx, token, conn, false);
        }
    }

    /// Close parked connections whose deadline passed, at most every scan interval.
    fn expire_due(&self, idx: usize) {
        let lp = &self.loops[idx];
        let now_nanos = self.now_nanos();
        let due = lp.next_scan.load(Ordering::SeqCst);
        let next = now_nanos + u64::from(SCAN_EVERY_MS.unsigned_abs()) * 1_000_000;
        if now_nanos < due
            || lp
                .next_scan
                .compare_exchange(due, next, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
        {
            return;
        }
        let now = Instant::now();
        let expired: Vec<Conn> = match self.parked(idx) {
            Some(mut parked) => {
                let tokens: Vec<u64> = parked
                    .iter()
                    .filter(|(_, c)| c.deadline(&self.shared) <= now)
                    .map(|(t, _)| *t)
                    .collect();
                tokens.iter().filter_map(|t| parked.remove(t)).collect()
            }
            None => Vec::new(),
        };
        for conn in expired {
            if !conn.input.available().is_empty() {
                connection::reject_slow_head(&conn.stream, &self.shared);
            }
        }
    }
}
