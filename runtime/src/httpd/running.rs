//! The handlers running right now, so a runaway one can be stopped.
//!
//! Each handler call registers its thread's context ([`crate::ctx`]), its client's
//! socket and its deadline (`--handler-timeout`). The event loops' monitor calls
//! [`Running::watch`] while anything is registered: a handler whose client has hung
//! up, or whose deadline passed, is cancelled, and its compiled code stops at the
//! next function entry or loop back edge with ILO-R008. So `wh true{}` costs a core
//! only until its client leaves (or the timeout), not forever.
//!
//! A handler waiting for an upstream or in `sleep` ([`crate::suspend`]) is resumed by
//! its event loop when its client hangs up, and its waits end at its deadline
//! ([`crate::suspend::time_limit`]), so either stops it there too.
//!
//! The monitor sleeps while nothing is registered and no loop is busy. A call that
//! enters then wakes it ([`Watcher`]): the loop that started the call may already
//! have been handed to another thread (it was slow to get there), so no busy loop
//! would.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::ctx::{self, Cancel, Ctx, Watched};

/// The contexts handler calls have run in, each known once: a call in progress keeps
/// what it is watched for in its own context ([`Ctx::begin`]), so entering and leaving
/// touch no table shared by the event loops (a lock and a hash map per request, and a
/// cache line every loop wrote).
pub struct Running {
    contexts: Mutex<Vec<Weak<Ctx>>>,
    /// This table's name in [`Ctx::join_watcher`].
    id: u64,
    /// The thread that calls [`Running::watch`]; every call that enters wakes it.
    pub watcher: Watcher,
}

impl Default for Running {
    fn default() -> Running {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Running {
            contexts: Mutex::default(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            watcher: Watcher::default(),
        }
    }
}

/// The monitor thread and whether it sleeps, so whatever gives it work (a loop
/// turning busy, a handler call entering the table) can wake it.
///
/// The thread to wake is the one that sleeps, named by its first sleep before it
/// announces it. Naming it from the thread that started it (as once done) left a
/// window: the server listens before its threads start, so a request could make a
/// loop busy and its handler enter while the monitor already slept and nobody was
/// named yet; both wake-ups were lost and a runaway handler ran on past its
/// `--handler-timeout`.
#[derive(Default)]
pub struct Watcher {
    thread: OnceLock<Thread>,
    asleep: AtomicBool,
}

impl Watcher {
    /// Wake the watcher if it sleeps or is about to (see [`Watcher::sleep`]).
    pub fn wake(&self) {
        if self.asleep.load(Ordering::SeqCst) {
            self.nudge();
        }
    }

    /// Wake the watcher whatever it is doing: its next sleep returns at once.
    pub fn nudge(&self) {
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    /// On the watcher's own thread: sleep until woken or `timeout` passes (`None`:
    /// until woken), unless `has_work` holds. `has_work` is asked after the sleep is
    /// announced, so work given meanwhile is either seen by it or wakes the sleep.
    pub fn sleep(&self, timeout: Option<Duration>, has_work: impl Fn() -> bool) {
        // Before the announcement: whoever sees `asleep` also finds the thread.
        self.thread.get_or_init(thread::current);
        self.asleep.store(true, Ordering::SeqCst);
        if !has_work() {
            match timeout {
                Some(after) => thread::park_timeout(after),
                None => thread::park(),
            }
        }
        self.asleep.store(false, Ordering::SeqCst);
    }
}

/// One handler call in progress; leaving it (by [`Registration::finish`] or drop)
/// ends its watch.
pub struct Registration {
    ctx: Arc<Ctx>,
    deadline: Option<Instant>,
    done: bool,
}

impl Running {
    fn contexts(&self) -> MutexGuard<'_, Vec<Weak<Ctx>>> {
        self.contexts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register the calling thread's handler call for the client on `client`, to be
    /// cancelled at `deadline` if it has one.
    pub fn enter(&self, client: RawFd, deadline: Option<Instant>) -> Registration {
        let ctx = ctx::handle();
        if ctx.join_watcher(self.id) {
            let mut contexts = self.contexts();
            // A context that died left its slot: reuse it, so the list stays as long
            // as the most contexts alive at once.
            match contexts.iter_mut().find(|c| c.strong_count() == 0) {
                Some(dead) => *dead = Arc::downgrade(&ctx),
                None => contexts.push(Arc::downgrade(&ctx)),
            }
        }
        ctx.begin(Watched { client, deadline });
        // After the call is marked in its context: a watcher that announced its sleep
        // before either sees it (the context's lock orders the two) or is woken here.
        self.watcher.wake();
        Registration {
            ctx,
            deadline,
            done: false,
        }
    }

    /// The calls in progress, as (context, generation, what it is watched for). Drops
    /// the places of contexts that died (freed task stacks), so a burst of suspended
    /// calls does not leave the list long.
    fn in_progress(&self) -> Vec<(Arc<Ctx>, u64, Watched)> {
        let contexts: Vec<Arc<Ctx>> = {
            let mut list = self.contexts();
            list.retain(|c| c.strong_count() > 0);
            list.iter().filter_map(Weak::upgrade).collect()
        };
        contexts
            .into_iter()
            .filter_map(|ctx| ctx.watched().map(|(generation, w)| (ctx, generation, w)))
            .collect()
    }

    /// Whether no call is in progress. Stops at the first one found, so the monitor's
    /// look while busy costs one context, not a pass over all of them.
    pub fn is_empty(&self) -> bool {
        // Lock order: the list, then a context (nothing takes them the other way).
        !self
            .contexts()
            .iter()
            .any(|c| c.upgrade().is_some_and(|ctx| ctx.watched().is_some()))
    }

    /// Cancel every handler past its deadline or whose client hung up. One `poll`
    /// looks at all the clients at once.
    pub fn watch(&self, now: Instant) {
        // Copied out, so handlers starting and finishing never wait for the `poll`.
        // A call that finishes meanwhile is safe to cancel: its generation is over.
        let calls = self.in_progress();
        if calls.is_empty() {
            return;
        }
        let mut polled: Vec<libc::pollfd> = calls
            .iter()
            .map(|(_, _, w)| libc::pollfd {
                fd: w.client,
                events: libc::POLLRDHUP,
                revents: 0,
            })
            .collect();
        let Ok(count) = libc::nfds_t::try_from(polled.len()) else {
            return;
        };
        // SAFETY: `polled` is a live array of `count` pollfd entries; zero timeout.
        let ready = unsafe { libc::poll(polled.as_mut_ptr(), count, 0) };
        for ((ctx, generation, w), p) in calls.iter().zip(&polled) {
            let gone =
                ready > 0 && p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0;
            if gone {
                ctx.cancel(*generation, Cancel::ClientGone);
            } else if w.deadline.is_some_and(|d| now >= d) {
                ctx.cancel(*generation, Cancel::TimedOut);
            }
        }
    }
}

impl Registration {
    /// When the call's `--handler-timeout` runs out, if it has one.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Leave the table; whether (and why) the handler was cancelled.
    pub fn finish(mut self) -> Option<Cancel> {
        self.leave()
    }

    fn leave(&mut self) -> Option<Cancel> {
        if std::mem::replace(&mut self.done, true) {
            return None;
        }
        self.ctx.finish()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn a_hung_up_client_or_a_deadline_cancels_only_its_own_call() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (served, _) = listener.accept().unwrap();
        let running = Running::default();

        let call = running.enter(served.as_raw_fd(), None);
        running.watch(Instant::now());
        assert_eq!(ctx::cancelled(), None);
        drop(client);
        running.watch(Instant::now());
        assert_eq!(ctx::cancelled(), Some(Cancel::ClientGone));
        assert_eq!(call.finish(), Some(Cancel::ClientGone));
        assert!(running.is_empty());
        assert_eq!(ctx::cancelled(), None);

        let call = running.enter(-1, Some(Instant::now()));
        running.watch(Instant::now());
        assert_eq!(call.finish(), Some(Cancel::TimedOut));
        // A later call on the same thread starts clean.
        let call = running.enter(-1, None);
        assert_eq!(call.finish(), None);
    }

    /// Each context is known once, whatever the number of calls it runs, and one that
    /// died (its thread ended, its task stack was freed) leaves its place to the next.
    #[test]
    fn contexts_are_known_once_and_their_places_reused() {
        let running = Arc::new(Running::default());
        for _ in 0..3 {
            let running = Arc::clone(&running);
            // Joined, not scoped: the join returns after the thread's context is gone.
            thread::spawn(move || {
                for _ in 0..5 {
                    running.enter(-1, None).finish();
                }
                assert!(running.is_empty());
            })
            .join()
            .expect("calling thread");
        }
        assert_eq!(running.contexts().len(), 1);
        let call = running.enter(-1, None);
        assert!(!running.is_empty());
        assert_eq!(
            running.contexts().len(),
            1,
            "the dead thread's place was reused"
        );
        call.finish();
        assert!(running.is_empty());
        call_on_a_thread_that_ends(&running);
        assert_eq!(running.contexts().len(), 2);
        running.watch(Instant::now());
        assert_eq!(running.contexts().len(), 1, "a watch drops dead contexts");
    }

    fn call_on_a_thread_that_ends(running: &Arc<Running>) {
        let running = Arc::clone(running);
        thread::spawn(move || {
            running.enter(-1, None).finish();
        })
        .join()
        .expect("calling thread");
    }

    /// The monitor asleep with nothing to watch (and no deadline of its own) is woken
    /// by a call entering: nothing else would wake it when that call's loop was
    /// already handed over. Nothing names the watcher's thread beforehand: its sleep
    /// does, so a call entering just after the server starts finds it too.
    #[test]
    fn a_call_entering_wakes_a_watcher_asleep_with_nothing_to_watch() {
        let running = Arc::new(Running::default());
        let (woke_tx, woke) = std::sync::mpsc::channel();
        let watcher = {
            let running = Arc::clone(&running);
            thread::spawn(move || {
                // Loop over spurious wake-ups: only the entry counts.
                while running.is_empty() {
                    running.watcher.sleep(None, || !running.is_empty());
                }
                let _ = woke_tx.send(());
            })
        };
        let patience = Instant::now() + Duration::from_secs(10);
        while !running.watcher.asleep.load(Ordering::SeqCst) {
            assert!(Instant::now() < patience, "the watcher never went to sleep");
            thread::sleep(Duration::from_millis(1));
        }
        let call = running.enter(-1, None);
        woke.recv_timeout(Duration::from_secs(10))
            .expect("the entering call woke the watcher");
        call.finish();
        watcher.join().expect("watcher thread");
    }
}
