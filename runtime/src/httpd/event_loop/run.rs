//! A loop thread's cycle: take the next report from the loop's queue (waiting on
//! epoll when it is empty) and hand it to what it concerns; accept new connections;
//! park connections and take them out again, so each is served by one thread at a
//! time.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::leaving::keep_under_shutdown;
use super::table::{Conn, Slot, Taken, Waiting};
use super::{Loops, DEADLINE, LISTENER, READY, SOURCE, TIMER, WAKE};
use crate::httpd::input::Input;
use crate::httpd::metrics::Open;
use crate::suspend::Wake;
use crate::sys::epoll::{HUNG_UP, NO_EVENT};

/// Connections accepted per listener report before looking at other events.
const ACCEPT_BATCH: usize = 64;
/// Most reports taken by one `epoll_wait`.
const WAIT_BATCH: usize = 64;

impl Loops {
    /// One loop thread: wait, accept, serve, expire, until replaced or shut down.
    pub(super) fn work(self: &Arc<Self>, idx: usize, generation: u64) {
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
    pub(super) fn register(&self, stream: TcpStream) {
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
    pub(super) fn park(&self, idx: usize, token: u64, mut conn: Box<Conn>, new: bool) {
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
        // its answer, is kept; an idle one is served or closed gracefully.
        if self.shared.shutdown.is_requested() && !keep_under_shutdown(&mut conn) {
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
    pub(super) fn take(&self, idx: usize, token: u64, generation: u64) -> Option<Taken> {
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
    /// was neither parked again nor taken by another since, so it closed. Under
    /// shutdown the held slot kept its loop running ([`Loops::may_leave`]), so the
    /// loop is told to look again.
    pub(super) fn release(&self, idx: usize, token: u64, generation: u64) {
        let closed = self.table(idx).is_some_and(|mut table| {
            let ours =
                matches!(table.slots.get(&token), Some(Slot::Held { by, .. }) if *by == generation);
            ours && table.slots.remove(&token).is_some()
        });
        if closed {
            self.look_again_at_leaving(idx);
        }
    }

    /// Thread `generation` of loop `idx` panicked: the connections it held went with
    /// its stack, so their slots go too (a held slot keeps the loop from leaving
    /// under shutdown).
    pub(super) fn forget_held(&self, idx: usize, generation: u64) {
        if let Some(mut table) = self.table(idx) {
            table
                .slots
                .retain(|_, s| !matches!(s, Slot::Held { by, .. } if *by == generation));
        }
        self.look_again_at_leaving(idx);
    }

    /// A report for a parked connection: serve what it sent, inline, or drive its
    /// stream.
    pub(super) fn serve_ready(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        flags: u32,
    ) {
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
}
