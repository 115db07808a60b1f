//! A loop's threads: starting one, handing the loop to a replacement when its
//! thread is stuck in a handler, and the monitor that notices (and that also
//! cancels abandoned handlers and returns memory when the server is quiet).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use super::Loops;
use crate::httpd::reclaim::Reclaim;

/// A loop thread blocked inside one connection for longer than this gets replaced.
const SLOW_AFTER: Duration = Duration::from_millis(10);
/// A loop thread that is runnable, not blocked, gets longer: on a loaded machine it
/// may just be waiting for a core, and a second thread would not help (and would
/// have to stay until the handlers it suspended finish). One that really computes
/// that long is replaced then.
const RUNNABLE_SLOW_AFTER: Duration = Duration::from_millis(50);
/// How often the monitor looks for running handlers to cancel
/// ([`crate::httpd::running`]).
const WATCH_EVERY: Duration = Duration::from_millis(50);
/// How often the monitor looks at the loops.
const MONITOR_EVERY: Duration = Duration::from_millis(5);

impl Loops {
    /// Start a thread for loop `idx` as its generation `generation`. A replacement
    /// gets `handed`: it waits there until the loop is handed to it (`true`), or
    /// leaves at once (`false`, or the sender gone).
    pub(super) fn spawn_worker(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        handed: Option<mpsc::Receiver<bool>>,
    ) -> std::io::Result<()> {
        #[cfg(test)]
        super::tests::before_spawn(self, idx)?;
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
                    loops.forget_held(idx, generation);
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
    pub(super) fn take_over(self: &Arc<Self>, idx: usize, from: u64) -> bool {
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
    pub(super) fn mark_busy(&self, idx: usize) -> u64 {
        self.mark_busy_since(idx, self.now_nanos())
    }

    /// [`Loops::mark_busy`] with a stamp from a clock reading taken just before
    /// ([`Loops::nanos_at`]).
    pub(super) fn mark_busy_since(&self, idx: usize, stamp: u64) -> u64 {
        self.loops[idx].busy_since.store(stamp, Ordering::SeqCst);
        self.shared.running.watcher.wake();
        stamp
    }

    pub(super) fn clear_busy(&self, idx: usize, stamp: u64) {
        let _ = self.loops[idx].busy_since.compare_exchange(
            stamp,
            0,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }

    fn any_busy(&self) -> bool {
        self.loops
            .iter()
            .any(|lp| lp.busy_since.load(Ordering::SeqCst) != 0)
    }

    /// The monitor: replaces a loop thread stuck in a handler, cancels handlers
    /// ([`crate::httpd::running`]) and returns memory when quiet; it stops once
    /// shutdown is requested and every loop has left.
    pub(super) fn monitor(self: &Arc<Self>) {
        let slow = u64::try_from(SLOW_AFTER.as_nanos()).unwrap_or(u64::MAX);
        let runnable_slow = u64::try_from(RUNNABLE_SLOW_AFTER.as_nanos()).unwrap_or(u64::MAX);
        let mut reclaim = Reclaim::default();
        let mut watched = Instant::now();
        // Under shutdown too, until every loop has left: a handler that blocks its
        // loop's thread then would otherwise hold up every answer still owed there.
        while !self.all_left() {
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
                    self.any_busy() || self.all_left() || (idle && !running.is_empty())
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
