//! Deadlines of parked connections and suspended handlers on the loop's timer:
//! arming it for the earliest, and handling what is due when it fires.

use std::sync::Arc;
use std::time::Instant;

use super::table::{Conn, Waiting};
use super::{Loops, DEADLINE};
use crate::httpd::body_stream::StreamEnd;
use crate::httpd::connection::{self};

impl Loops {
    /// Make the loop's timer fire by `conn`'s deadline, if it has one.
    pub(super) fn arm_deadline(&self, idx: usize, conn: &Conn) {
        if let Some(at) = conn.deadline(&self.shared) {
            self.arm_timer(idx, at);
        }
    }

    /// Make loop `idx`'s timer fire by `at` (at once when `at` has passed).
    pub(super) fn arm_timer(&self, idx: usize, at: Instant) {
        self.loops[idx]
            .timer
            .arm_by(self.nanos_at(at), || self.now_nanos());
    }

    /// The timer fired: handle parked connections whose deadline passed (a stalled
    /// head is answered 408, an idle connection closed, a stream whose client stopped
    /// reading ended, a stream waiting for a delay driven), and arm the timer for the
    /// earliest deadline left.
    pub(super) fn expire_due(self: &Arc<Self>, idx: usize, generation: u64) {
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
                    self.arm_timer(idx, d);
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
        for (token, mut conn) in expired {
            match &mut conn.waiting {
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
                // Its client did not close in time: close it now (dropping it), after
                // taking what it sent last, whose report may still be queued: closing
                // over unread bytes would reset the connection.
                Waiting::Closing(linger) => {
                    let _ = linger.drain(&conn.stream);
                }
                _ => self.drive(idx, generation, token, conn),
            }
        }
    }
}
