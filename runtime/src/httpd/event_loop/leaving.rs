//! Shutdown as the loops see it: stop accepting, let go of idle connections, and
//! decide when a loop may leave, so nothing this process accepted is dropped on the
//! way out.

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::table::{Slot, Table};
use super::Loops;

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

    /// On shutdown, close every parked connection idle between requests. Those still
    /// owed an answer ([`Conn::owed_answer`]) stay: their loops serve that request
    /// (with `Connection: close`) before leaving, so a restart drops nothing that
    /// this process accepted; so do those closing after their last answer
    /// ([`Conn::closing`]). Streams go on until they end or the shutdown deadline
    /// passes.
    ///
    /// [`Conn::owed_answer`]: super::table::Conn::owed_answer
    /// [`Conn::closing`]: super::table::Conn::closing
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
        if Self::owes_answers(&table) {
            return false;
        }
        table.closed = true;
        drop(table);
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
