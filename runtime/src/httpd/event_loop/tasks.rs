//! Handlers suspended while they wait for an upstream, a delay or room in the
//! client's socket: parking them with what they wait for, resuming them, and
//! handing their reports to the thread that started them when it was replaced.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::table::{Slot, Suspended};
use super::{Loops, DEADLINE, SOURCE, WOKEN};
use crate::suspend::{self, Ready, Step, Wake};
use crate::sys::epoll::{Interest, HUNG_UP};

impl Loops {
    /// Resume a suspended handler with why it wakes (on the thread that started it,
    /// else handed to that thread), then park it again or carry on with its
    /// connection.
    pub(super) fn resume_task(
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
    pub(super) fn park_task(
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
            self.arm_timer(idx, at);
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
    pub(super) fn finish_own_tasks(self: &Arc<Self>, idx: usize, generation: u64) {
        let lp = &self.loops[idx];
        while suspend::unfinished_here() > 0 {
            // Under shutdown too: the loop stays while these handlers are owed an
            // answer, and hands their reports here; the shutdown deadline bounds the
            // wait, as the process exits then.
            let (token, flags) = {
                let mut handed = lp.handed.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    if let Some(r) = handed.get_mut(&generation).and_then(VecDeque::pop_front) {
                        break r;
                    }
                    handed = lp
                        .handed_signal
                        .wait(handed)
                        .unwrap_or_else(|p| p.into_inner());
                }
            };
            self.serve_ready(idx, generation, token, flags);
        }
        if let Ok(mut handed) = lp.handed.lock() {
            handed.remove(&generation);
        }
    }
}
