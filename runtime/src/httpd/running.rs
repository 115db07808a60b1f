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

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::CounterMap;
use crate::ctx::{self, Cancel, Ctx};

struct Entry {
    ctx: Arc<Ctx>,
    generation: u64,
    client: RawFd,
    deadline: Option<Instant>,
}

#[derive(Default)]
pub struct Running {
    table: Mutex<CounterMap<Entry>>,
    next_id: AtomicU64,
}

/// One handler call in the table; leaving it (by [`Registration::finish`] or drop)
/// removes it.
pub struct Registration<'a> {
    running: &'a Running,
    id: u64,
    ctx: Arc<Ctx>,
    deadline: Option<Instant>,
    done: bool,
}

impl Running {
    fn table(&self) -> MutexGuard<'_, CounterMap<Entry>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register the calling thread's handler call for the client on `client`.
    pub fn enter(&self, client: RawFd, timeout: Option<Duration>) -> Registration<'_> {
        let ctx = ctx::handle();
        let generation = ctx.begin();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let deadline = timeout.map(|t| Instant::now() + t);
        let entry = Entry {
            ctx: Arc::clone(&ctx),
            generation,
            client,
            deadline,
        };
        self.table().insert(id, entry);
        Registration {
            running: self,
            id,
            ctx,
            deadline,
            done: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.table().is_empty()
    }

    /// Cancel every handler past its deadline or whose client hung up. One `poll`
    /// looks at all the clients at once.
    pub fn watch(&self, now: Instant) {
        // Copied out, so handlers starting and finishing never wait for the `poll`.
        // A call that finishes meanwhile is safe to cancel: its generation is over.
        let entries: Vec<Entry> = {
            let table = self.table();
            table
                .values()
                .map(|e| Entry {
                    ctx: Arc::clone(&e.ctx),
                    generation: e.generation,
                    client: e.client,
                    deadline: e.deadline,
                })
                .collect()
        };
        if entries.is_empty() {
            return;
        }
        let mut polled: Vec<libc::pollfd> = entries
            .iter()
            .map(|e| libc::pollfd {
                fd: e.client,
                events: libc::POLLRDHUP,
                revents: 0,
            })
            .collect();
        let Ok(count) = libc::nfds_t::try_from(polled.len()) else {
            return;
        };
        // SAFETY: `polled` is a live array of `count` pollfd entries; zero timeout.
        let ready = unsafe { libc::poll(polled.as_mut_ptr(), count, 0) };
        for (entry, p) in entries.iter().zip(&polled) {
            let gone =
                ready > 0 && p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR) != 0;
            if gone {
                entry.ctx.cancel(entry.generation, Cancel::ClientGone);
            } else if entry.deadline.is_some_and(|d| now >= d) {
                entry.ctx.cancel(entry.generation, Cancel::TimedOut);
            }
        }
    }
}

impl Registration<'_> {
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
        self.running.table().remove(&self.id);
        self.ctx.finish()
    }
}

impl Drop for Registration<'_> {
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

        let call = running.enter(-1, Some(Duration::ZERO));
        running.watch(Instant::now());
        assert_eq!(call.finish(), Some(Cancel::TimedOut));
        // A later call on the same thread starts clean.
        let call = running.enter(-1, None);
        assert_eq!(call.finish(), None);
    }
}
