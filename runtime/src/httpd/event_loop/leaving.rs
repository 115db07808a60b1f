//! Shutdown as the loops see it: stop accepting, let go of idle connections, and
//! decide when a loop may leave, so nothing this process accepted is dropped on the
//! way out.
//!
//! A connection idle between requests is let go of without a reset. Closing a socket
//! whose client has sent bytes nobody read makes the kernel reset it, and the
//! client's request is then lost with no answer and no clean end to retry on. So one
//! whose next request already waits is served (its answer says `Connection: close`),
//! and the others are closed the graceful way ([`crate::httpd::linger`]): a FIN first,
//! then what a client raced onto the connection is read and thrown away, and the
//! client sees the end it can retry after.

use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::table::{Conn, Slot, Table, Waiting};
use super::Loops;
use crate::httpd::input::{peek_now, Input};
use crate::httpd::linger::Linger;

impl Loops {
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
        // The monitor may sleep while nothing is busy: let it look again (it stops
        // once every loop has left).
        self.shared.running.watcher.nudge();
    }

    /// On shutdown, let go of every parked connection idle between requests
    /// ([`Loops::let_go_of_idle`]). Those still owed an answer ([`Conn::owed_answer`])
    /// stay: their loops serve that request (with `Connection: close`) before leaving,
    /// so a restart drops nothing that this process accepted; so do those closing
    /// after their last answer ([`Conn::closing`]). Streams go on until they end or the
    /// shutdown deadline passes.
    pub fn close_parked(&self) {
        for idx in 0..self.loops.len() {
            let closed = match self.table(idx) {
                Some(mut table) => self.let_go_of_idle(idx, &mut table),
                None => Vec::new(),
            };
            // Closed outside the table's lock.
            drop(closed);
        }
    }

    /// Under shutdown, settle each parked connection of loop `idx` idle between
    /// requests ([`keep_under_shutdown`]); those that close now are handed back, to
    /// be dropped once the table's lock is let go of. Both the shutdown and the loop
    /// itself, before it decides to leave, do this: whichever comes first.
    fn let_go_of_idle(&self, idx: usize, table: &mut Table) -> Vec<(u64, Box<Conn>)> {
        let mut closed = Vec::new();
        for (token, mut conn) in table.remove_parked(Conn::idle) {
            if keep_under_shutdown(&mut conn) {
                self.arm_deadline(idx, &conn);
                table.slots.insert(token, Slot::Parked(conn));
            } else {
                closed.push((token, conn));
            }
        }
        closed
    }

    /// Does loop `idx` still hold a connection owed an answer (a suspended handler's
    /// included), or one closing after its answer? A connection held by a thread
    /// counts too: a replaced thread still in its handler parks it here again, and
    /// its answer (a stream, or a write waiting for room) needs the loop to finish;
    /// the loop is told to look again when such a thread lets its connection go
    /// ([`Loops::release`]).
    fn owes_answers(table: &Table) -> bool {
        table.suspended().next().is_some()
            || table.slots.values().any(|s| matches!(s, Slot::Held { .. }))
            || table
                .parked()
                .any(|(_, c)| c.body.is_none() && (c.owed_answer() || c.closing()))
    }

    /// Under shutdown, whether loop `idx` may leave: no stream left and nothing owed.
    /// Decided under its table's lock, which also closes the table, so a connection
    /// another loop accepts meanwhile is either seen here or parked elsewhere.
    pub(super) fn may_leave(&self, idx: usize) -> bool {
        if self.loops[idx].streams.load(Ordering::SeqCst) != 0 {
            return false;
        }
        let Some(mut table) = self.table(idx) else {
            return true;
        };
        // The shutdown may not have reached this table yet: what it would keep keeps
        // the loop too.
        let closed = self.let_go_of_idle(idx, &mut table);
        if Self::owes_answers(&table) {
            drop(table);
            drop(closed);
            return false;
        }
        table.closed = true;
        drop(table);
        drop(closed);
        // The monitor stops once every loop has left.
        self.shared.running.watcher.nudge();
        true
    }

    /// Under shutdown, has every loop left ([`Loops::may_leave`])?
    pub(super) fn all_left(&self) -> bool {
        self.shared.shutdown.is_requested()
            && self
                .loops
                .iter()
                .all(|lp| lp.table.lock().map_or(true, |t| t.closed))
    }

    /// Under shutdown, make loop `idx`'s thread look again whether it may leave: a
    /// connection that kept it went without a report the loop would wake for. Its
    /// timer fires at once, and the loop decides after every report.
    pub(super) fn look_again_at_leaving(&self, idx: usize) {
        if self.shared.shutdown.is_requested() {
            self.arm_timer(idx, Instant::now());
        }
    }
}

/// Under shutdown, whether a connection parked for its next request stays with its
/// loop, and in what state. One owed an answer, or closing after its last, stays as
/// it is; a stream's does not belong here. One idle between requests is looked at
/// without reading: if its client's next request waits, it becomes owed an answer
/// (its loop has a report for those bytes on the way, as for any parked connection,
/// and answers with `Connection: close`); if nothing waits, it starts its graceful
/// close; if its client closed with nothing unread, it closes now, cleanly.
pub(super) fn keep_under_shutdown(conn: &mut Conn) -> bool {
    if conn.body.is_some() {
        return false;
    }
    if !conn.idle() {
        return true;
    }
    match peek_now(&conn.stream) {
        Ok(0) => false,
        Ok(_) => {
            conn.head_started = Some(Instant::now());
            true
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock => {
            conn.input = Input::default();
            conn.waiting = Waiting::Closing(Linger::start_idle(&conn.stream));
            true
        }
        Err(_) => false,
    }
}
