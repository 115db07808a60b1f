//! Waking an event loop once for many sources: a ready list and the wakers that mark it.
//!
//! A source fed by another thread (a broadcast subscriber) normally has a wake-up
//! descriptor of its own ([`super::notify::Notify`]), which the server's loop watches.
//! With a thousand subscribers of one hub that means, per line, a thousand signals,
//! a thousand loop wake-ups, a thousand resets and a thousand re-arms. A source that
//! accepts a [`Waker`] instead ([`super::LineSource::wake_by`]) marks its stream's token
//! in its loop's [`ReadyList`]; only the first mark into an empty list signals the
//! list's one descriptor, so the loop wakes once per line and drives every marked
//! stream in one pass.
//!
//! A thread that wakes many streams at once (a hub dealing one line to every
//! subscriber) gathers its marks in a [`WakeBatch`] and hands them over after the
//! pass: each list is then locked and signalled once. Signalling on the first mark
//! would wake a loop while the dealer is still at work, and on two cores that loop
//! takes the dealer's core; the dealer, preempted, then hands out the rest of the
//! line a few subscribers at a time while the loops keep waking for them.

use std::io;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};

use super::notify::Notify;

/// Tokens of streams whose sources may make progress, and the descriptor that is
/// readable while the list may be non-empty.
pub struct ReadyList {
    tokens: Mutex<Vec<u64>>,
    notify: Notify,
}

impl ReadyList {
    pub fn new() -> io::Result<ReadyList> {
        Ok(ReadyList {
            tokens: Mutex::default(),
            notify: Notify::new()?,
        })
    }

    /// The descriptor to watch: readable once a token was marked.
    pub fn raw_fd(&self) -> RawFd {
        self.notify.raw_fd()
    }

    /// Add `token`; signal the descriptor when the list was empty (otherwise it
    /// already is, or its reader is about to take the list).
    pub fn mark(&self, token: u64) {
        let was_empty = {
            let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            tokens.push(token);
            tokens.len() == 1
        };
        if was_empty {
            self.notify.signal();
        }
    }

    /// Add every token in `tokens` (emptied, its allocation kept) under one lock;
    /// signal the descriptor when the list was empty.
    pub fn mark_all(&self, tokens: &mut Vec<u64>) {
        let was_empty = {
            let mut list = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            let was_empty = list.is_empty();
            list.append(tokens);
            was_empty
        };
        if was_empty {
            self.notify.signal();
        }
    }

    /// Move every marked token into `into` (which should be empty; its allocation is
    /// kept for the next marks). The descriptor is reset first, so a mark made after
    /// the take signals it again.
    pub fn take(&self, into: &mut Vec<u64>) {
        self.notify.reset();
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::swap(&mut *tokens, into);
    }
}

/// What a source calls when it has something again after answering `Pending`: marks
/// one stream's token in its loop's list.
#[derive(Clone)]
pub struct Waker {
    list: Arc<ReadyList>,
    token: u64,
}

impl Waker {
    pub fn new(list: Arc<ReadyList>, token: u64) -> Waker {
        Waker { list, token }
    }

    pub fn wake(&self) {
        self.list.mark(self.token);
    }

    /// Which loop this waker marks: equal for the wakers of one loop's streams.
    pub fn list_id(&self) -> usize {
        Arc::as_ptr(&self.list) as usize
    }
}

/// Wakes gathered during one pass over many sources, handed to their loops together
/// by [`WakeBatch::flush`]. Kept between passes, so a pass allocates nothing.
#[derive(Default)]
pub struct WakeBatch {
    /// Each list woken in this pass (or the last) with the tokens marked so far.
    lists: Vec<(Arc<ReadyList>, Vec<u64>)>,
}

impl WakeBatch {
    /// Remember to wake `waker`'s stream at the next flush.
    pub fn add(&mut self, waker: &Waker) {
        let list = &waker.list;
        match self.lists.iter_mut().find(|(l, _)| Arc::ptr_eq(l, list)) {
            Some((_, tokens)) => tokens.push(waker.token),
            None => self.lists.push((Arc::clone(list), vec![waker.token])),
        }
    }

    /// Mark every gathered token in its list, one lock and at most one signal per
    /// list. A list this pass did not wake is let go (its loop may be gone).
    pub fn flush(&mut self) {
        self.lists.retain_mut(|(list, tokens)| {
            if tokens.is_empty() {
                return false;
            }
            list.mark_all(tokens);
            true
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_source::{readable_within, wait_readable};

    fn readable(fd: RawFd) -> bool {
        readable_within(fd, 0)
    }

    #[test]
    fn marks_signal_once_and_are_taken_together() {
        let list = Arc::new(ReadyList::new().expect("eventfd"));
        assert!(!readable(list.raw_fd()));
        let (a, b) = (
            Waker::new(Arc::clone(&list), 7),
            Waker::new(Arc::clone(&list), 9),
        );
        a.wake();
        b.wake();
        wait_readable(list.raw_fd(), 1000);
        assert!(readable(list.raw_fd()));
        let mut taken = Vec::new();
        list.take(&mut taken);
        assert_eq!(taken, [7, 9]);
        assert!(!readable(list.raw_fd()), "taking resets the descriptor");
        b.wake();
        assert!(readable(list.raw_fd()), "a mark after a take signals again");
    }

    #[test]
    fn a_batch_marks_nothing_until_flushed_then_every_list_once() {
        let (one, two) = (
            Arc::new(ReadyList::new().expect("eventfd")),
            Arc::new(ReadyList::new().expect("eventfd")),
        );
        let mut batch = WakeBatch::default();
        for (list, token) in [(&one, 1), (&two, 2), (&one, 3)] {
            batch.add(&Waker::new(Arc::clone(list), token));
        }
        assert!(!readable(one.raw_fd()) && !readable(two.raw_fd()));
        batch.flush();
        let mut taken = Vec::new();
        one.take(&mut taken);
        assert_eq!(taken, [1, 3]);
        taken.clear();
        two.take(&mut taken);
        assert_eq!(taken, [2]);
        batch.add(&Waker::new(Arc::clone(&two), 4));
        batch.flush();
        assert!(readable(two.raw_fd()), "the next pass signals again");
        assert!(
            !readable(one.raw_fd()),
            "a list this pass did not wake is not signalled"
        );
        assert_eq!(Arc::strong_count(&one), 1, "and is let go");
    }
}
