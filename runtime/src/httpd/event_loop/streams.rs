//! Streamed bodies on a loop: driving one a step per report, driving every stream
//! the ready list marked in one pass, parking a stream with what it waits for
//! armed, and ending it.

use std::cell::Cell;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::table::{Conn, Slot, Table, Waiting};
use super::{Loops, SOURCE, WOKEN};
use crate::httpd::body_stream::{StreamEnd, Want};
use crate::httpd::connection::{self, AfterStream};
use crate::line_source::Readiness;
use crate::sys::epoll::Interest;

thread_local! {
    /// The woken pass's list of marked tokens, kept empty between passes.
    static MARKS: Cell<Vec<u64>> = const { Cell::new(Vec::new()) };
}

impl Loops {
    /// Drive a connection's stream one step and park it for what it waits on next.
    pub(super) fn drive(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        conn: Box<Conn>,
    ) {
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
    pub(super) fn drive_woken(self: &Arc<Self>, idx: usize, generation: u64) {
        // The marks of the last pass, emptied: a line for a thousand subscribers
        // then marks them without growing a list from nothing.
        let mut tokens = MARKS.take();
        self.loops[idx].ready.take(&mut tokens);
        let mut taken = Vec::with_capacity(tokens.len());
        if let Some(mut table) = self.table(idx) {
            let Table { slots, ready, .. } = &mut *table;
            for token in tokens.drain(..) {
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
        tokens.clear();
        MARKS.set(tokens);
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
    pub(super) fn park_stream(&self, idx: usize, token: u64, mut conn: Box<Conn>) {
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
    pub(super) fn end_stream(
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
    pub(super) fn finish(
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
}
