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
//! A thread that has news for many of one loop's streams at once (a hub with a line
//! for every subscriber) hands the loop a [`Deferred`] job instead of a mark per
//! stream: the loop runs it when it takes the list, on its own thread, and the job
//! marks the streams it reached. The news then costs the other thread one step per
//! loop, the loop's subscribers are touched by the loop's core alone, and no loop is
//! woken while the other thread is still at work for it.

use std::io;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};

use super::notify::Notify;

/// Work another thread hands a loop, run on the loop's thread when it takes its
/// [`ReadyList`].
pub trait Deferred: Send + Sync {
    /// Do the work; the tokens of streams it gave something to go into `marks` (the
    /// streams of `list`; a stream of another list is woken through its waker).
    fn run(&self, list: &Arc<ReadyList>, marks: &mut Vec<u64>);
}

/// What a list holds until its loop takes it.
#[derive(Default)]
struct Marked {
    tokens: Vec<u64>,
    jobs: Vec<Arc<dyn Deferred>>,
}

impl Marked {
    fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.jobs.is_empty()
    }
}

/// Tokens of streams whose sources may make progress and jobs to run for them, and
/// the descriptor that is readable while the list may be non-empty.
pub struct ReadyList {
    marked: Mutex<Marked>,
    notify: Notify,
}

impl ReadyList {
    pub fn new() -> io::Result<ReadyList> {
        Ok(ReadyList {
            marked: Mutex::default(),
            notify: Notify::new()?,
        })
    }

    fn marked(&self) -> std::sync::MutexGuard<'_, Marked> {
        self.marked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The descriptor to watch: readable once a token was marked.
    pub fn raw_fd(&self) -> RawFd {
        self.notify.raw_fd()
    }

    /// Add `token`; signal the descriptor when the list was empty (otherwise it
    /// already is, or its reader is about to take the list).
    pub fn mark(&self, token: u64) {
        let was_empty = {
            let mut marked = self.marked();
            let was_empty = marked.is_empty();
            marked.tokens.push(token);
            was_empty
        };
        if was_empty {
            self.notify.signal();
        }
    }

    /// Have the loop run `job` when it next takes the list; signal the descriptor
    /// when the list was empty.
    pub fn defer(&self, job: Arc<dyn Deferred>) {
        let was_empty = {
            let mut marked = self.marked();
            let was_empty = marked.is_empty();
            marked.jobs.push(job);
            was_empty
        };
        if was_empty {
            self.notify.signal();
        }
    }

    /// Move every marked token into `into` (which should be empty), then run the jobs
    /// handed over, which add the tokens of the streams they reached. The tokens are
    /// moved, not swapped: the list and the caller each keep their own allocation, so
    /// a loop that keeps `into` from one take to the next does not grow it again for
    /// every line. The descriptor is reset first, so a mark or job that comes after
    /// the take signals it again.
    pub fn take(self: &Arc<Self>, into: &mut Vec<u64>) {
        self.notify.reset();
        let jobs = {
            let mut marked = self.marked();
            into.append(&mut marked.tokens);
            std::mem::take(&mut marked.jobs)
        };
        for job in jobs {
            job.run(self, into);
        }
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

    /// The list this waker marks: the same for the wakers of one loop's streams.
    pub fn list(&self) -> &Arc<ReadyList> {
        &self.list
    }

    /// Wake the stream: by adding its token to `marks` when those are `list`'s (a
    /// [`Deferred`] job's), through its own list otherwise.
    pub fn wake_into(&self, list: &Arc<ReadyList>, marks: &mut Vec<u64>) {
        if Arc::ptr_eq(&self.list, list) {
            marks.push(self.token);
        } else {
            self.wake();
        }
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

    /// Marks every token it is given: a stand-in for a hub's dealing job.
    struct MarkAll(Vec<u64>);

    impl Deferred for MarkAll {
        fn run(&self, _list: &Arc<ReadyList>, marks: &mut Vec<u64>) {
            marks.extend_from_slice(&self.0);
        }
    }

    #[test]
    fn a_deferred_job_signals_once_and_runs_when_the_list_is_taken() {
        let list = Arc::new(ReadyList::new().expect("eventfd"));
        list.defer(Arc::new(MarkAll(vec![3, 4])));
        list.mark(1);
        list.defer(Arc::new(MarkAll(vec![5])));
        wait_readable(list.raw_fd(), 1000);
        let mut taken = Vec::new();
        list.take(&mut taken);
        assert_eq!(taken, [1, 3, 4, 5], "the marks, then what the jobs marked");
        assert!(!readable(list.raw_fd()));
        taken.clear();
        list.take(&mut taken);
        assert!(taken.is_empty(), "each job runs once");
        list.defer(Arc::new(MarkAll(vec![6])));
        assert!(readable(list.raw_fd()), "a job after a take signals again");
    }

    #[test]
    fn a_waker_of_another_list_is_marked_there() {
        let (one, two) = (
            Arc::new(ReadyList::new().expect("eventfd")),
            Arc::new(ReadyList::new().expect("eventfd")),
        );
        let mut marks = Vec::new();
        Waker::new(Arc::clone(&one), 7).wake_into(&one, &mut marks);
        Waker::new(Arc::clone(&two), 8).wake_into(&one, &mut marks);
        assert_eq!(marks, [7]);
        assert!(!readable(one.raw_fd()));
        let mut taken = Vec::new();
        two.take(&mut taken);
        assert_eq!(taken, [8]);
    }
}
