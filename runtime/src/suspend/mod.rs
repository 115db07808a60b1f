//! Tasks: a server handler call that can wait for a socket or a delay without
//! holding its event-loop thread.
//!
//! A compiled handler is native code, so it cannot be split at the points where it
//! waits. Instead each handler call runs as a [`Task`] on a stack of its own (a
//! stackful coroutine, `corosensei`). When runtime code inside it would block (an
//! upstream connect in progress, a request write that does not fit, a response head
//! not there yet, `sleep`) it calls [`wait`]: inside a task that suspends the task
//! with a [`Park`] saying what it waits for, and the event loop registers that with
//! its epoll set and timer and goes on serving others; when the descriptor reports
//! or the deadline passes, the loop resumes the task with a [`Wake`]. Outside a task
//! (`ilo FILE`, helper threads) [`wait`] simply blocks in `poll`.
//!
//! Rules the loop keeps: a task is resumed only on the thread that started it (its
//! frames may hold that thread's runtime state), so [`Task::is_local`] says when a
//! task has to be handed back; and a suspended task is never dropped, since compiled
//! frames cannot be unwound. One that is dropped anyway (a server torn down with
//! tasks in flight) is leaked with its stack, never unwound.
//!
//! While a task runs, its stack's context is the current one ([`crate::ctx`]), so
//! the stack guard and cancellation work on it as they do on a thread.

mod stack;

use std::cell::Cell;
use std::io;
use std::os::fd::RawFd;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use corosensei::{Coroutine, CoroutineResult, Yielder};

use crate::ctx::{self, Cancel, Ctx};
use stack::TaskStack;

/// What a descriptor must be ready for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ready {
    Read,
    Write,
}

/// What a suspended task waits for: a descriptor, a deadline, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Park {
    pub fd: Option<(RawFd, Ready)>,
    pub deadline: Option<Instant>,
}

/// Why a suspended task is resumed. A task may be resumed early or for a stale
/// reason; [`wait_fd`] and [`sleep`] look again and park again when so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Its descriptor reported.
    Fd,
    /// Its deadline passed.
    Timer,
    /// The client the handler answers hung up: every later wait fails at once.
    ClientGone,
    /// The loop cannot watch the descriptor (out of kernel resources): the wait fails.
    Unwatchable,
    /// The handler's own time limit passed ([`time_limit`]); never sent by a loop.
    OutOfTime,
}

type Inner<R> = Coroutine<Wake, Park, R, TaskStack>;

thread_local! {
    /// The yielder of the task running on this thread right now (null outside one).
    static YIELDER: Cell<*const Yielder<Wake, Park>> = const { Cell::new(std::ptr::null()) };
    /// The running task's client hung up.
    static GONE: Cell<bool> = const { Cell::new(false) };
    /// Tasks started on this thread and not finished.
    static UNFINISHED: Cell<usize> = const { Cell::new(0) };
    /// When the running work (a task's, or this thread's) must stop waiting.
    static LIMIT: Cell<Option<Instant>> = const { Cell::new(None) };
    /// This thread's key, never reused: cheaper to compare on every resume than
    /// `thread::current().id()`, which clones the thread's handle.
    static THREAD: u64 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

static NEXT_THREAD: AtomicU64 = AtomicU64::new(0);

/// Bounds every wait of the current work by `deadline` until dropped (see
/// [`time_limit`]).
pub struct TimeLimit {
    previous: Option<Instant>,
}

/// Make every wait of the current work (the running task's, else this thread's) end
/// by `deadline`: a wait still pending then cancels the work as timed out
/// ([`Cancel::TimedOut`]) and fails. The server's `--handler-timeout`.
pub fn time_limit(deadline: Option<Instant>) -> TimeLimit {
    TimeLimit {
        previous: LIMIT.with(|l| l.replace(deadline)),
    }
}

impl Drop for TimeLimit {
    fn drop(&mut self) {
        LIMIT.with(|l| l.set(self.previous));
    }
}

/// Has the current work's time limit passed? If so, cancel it as timed out.
fn out_of_time(limit: Option<Instant>) -> bool {
    let over = limit.is_some_and(|d| Instant::now() >= d);
    if over {
        ctx::handle().cancel_current(Cancel::TimedOut);
    }
    over
}

/// How many tasks this thread started that have not finished (a replaced loop
/// thread stays until its own are done, since no other thread may resume them).
pub fn unfinished_here() -> usize {
    UNFINISHED.with(Cell::get)
}

/// Where a task stopped.
pub enum Step<R> {
    /// Suspended until what the [`Park`] names happens.
    Parked(Park),
    /// Finished with its result.
    Done(R),
}

/// A function running on a pooled stack of its own (see the module comment).
pub struct Task<R> {
    coroutine: Option<Inner<R>>,
    ctx: Arc<Ctx>,
    /// The [`THREAD`] key of the thread that started it.
    thread: u64,
    gone: bool,
    /// Its time limit, kept while it is suspended ([`time_limit`]).
    limit: Option<Instant>,
}

/// Clears the running task's yielder when its function returns or panics.
struct YielderSlot;

impl Drop for YielderSlot {
    fn drop(&mut self) {
        YIELDER.with(|y| y.set(std::ptr::null()));
    }
}

impl<R: 'static> Task<R> {
    /// Run `f` as a task until it first waits or finishes. Fails only when no stack
    /// can be mapped, handing `f` back (the caller may run it on its own stack).
    pub fn start<F>(f: F) -> Result<(Task<R>, Step<R>), (io::Error, F)>
    where
        F: FnOnce() -> R + 'static,
    {
        let (stack, ctx) = match stack::take() {
            Ok(taken) => taken,
            Err(e) => return Err((e, f)),
        };
        UNFINISHED.with(|n| n.set(n.get() + 1));
        let coroutine = Coroutine::with_stack(stack, move |yielder: &Yielder<Wake, Park>, _| {
            YIELDER.with(|y| y.set(yielder));
            let _slot = YielderSlot;
            f()
        });
        let mut task = Task {
            coroutine: Some(coroutine),
            ctx,
            thread: THREAD.with(|t| *t),
            gone: false,
            limit: None,
        };
        let step = task.resume(Wake::Fd);
        Ok((task, step))
    }

    /// Was this task started by the calling thread (the only one that may resume it)?
    pub fn is_local(&self) -> bool {
        self.thread == THREAD.with(|t| *t)
    }

    /// Resume a parked task with why it wakes, until it waits again or finishes.
    /// Must be called on the thread that started it ([`Task::is_local`]).
    pub fn resume(&mut self, wake: Wake) -> Step<R> {
        assert!(self.is_local(), "a task resumed on another thread");
        let Some(coroutine) = self.coroutine.as_mut() else {
            unreachable!("a finished task resumed");
        };
        if wake == Wake::ClientGone && !self.gone {
            self.gone = true;
            // Stop compiled code at its next check, not only the waits.
            self.ctx.cancel_current(Cancel::ClientGone);
        }
        let outer_gone = GONE.with(|g| g.replace(self.gone));
        let outer_limit = LIMIT.with(|l| l.replace(self.limit));
        let result = {
            let _current = ctx::enter_task(&self.ctx);
            catch_unwind(AssertUnwindSafe(|| coroutine.resume(wake)))
        };
        GONE.with(|g| g.set(outer_gone));
        self.limit = LIMIT.with(|l| l.replace(outer_limit));
        let result = match result {
            Ok(result) => result,
            Err(panic) => {
                // The panic unwound the task's own frames: it is over.
                UNFINISHED.with(|n| n.set(n.get().saturating_sub(1)));
                self.coroutine = None;
                resume_unwind(panic);
            }
        };
        match result {
            CoroutineResult::Yield(park) => Step::Parked(park),
            CoroutineResult::Return(value) => {
                UNFINISHED.with(|n| n.set(n.get().saturating_sub(1)));
                if let Some(done) = self.coroutine.take() {
                    stack::give_back(done.into_stack(), Arc::clone(&self.ctx));
                }
                Step::Done(value)
            }
        }
    }
}

// SAFETY: a task's stack (its frames, the function it runs) is touched only by
// `resume`, which asserts it runs on the thread that started the task; moving the
// handle between threads (the server keeps it in a table its loop threads share)
// touches nothing on that stack, and dropping it elsewhere only forgets a suspended
// coroutine. The result crosses to the resuming thread, so it must be `Send`.
unsafe impl<R: Send> Send for Task<R> {}

impl<R> Drop for Task<R> {
    fn drop(&mut self) {
        if let Some(coroutine) = self.coroutine.take() {
            UNFINISHED.with(|n| n.set(n.get().saturating_sub(1)));
            if coroutine.started() && !coroutine.done() {
                // Compiled frames have no unwind information: leak, never unwind.
                std::mem::forget(coroutine);
            }
        }
    }
}

/// Is the calling code running inside a task?
pub fn in_task() -> bool {
    !YIELDER.with(Cell::get).is_null()
}

/// Wait for what `park` names: suspend the running task, or block this thread when
/// there is none. Outside a task the answer is never [`Wake::ClientGone`].
pub fn wait(park: Park) -> Wake {
    if GONE.with(Cell::get) {
        return Wake::ClientGone;
    }
    let limit = LIMIT.with(Cell::get);
    if out_of_time(limit) {
        return Wake::OutOfTime;
    }
    let park = Park {
        deadline: match (park.deadline, limit) {
            (Some(own), Some(limit)) => Some(own.min(limit)),
            (own, limit) => own.or(limit),
        },
        ..park
    };
    let yielder = YIELDER.with(|y| y.replace(std::ptr::null()));
    let wake = if yielder.is_null() {
        block(park)
    } else {
        // SAFETY: the pointer was set by this task's own function, whose frame (and
        // so the yielder it received) lives until the task finishes; we run inside
        // that task.
        let wake = unsafe { &*yielder }.suspend(park);
        YIELDER.with(|y| y.set(yielder));
        wake
    };
    if wake == Wake::Timer && out_of_time(limit) {
        return Wake::OutOfTime;
    }
    wake
}

/// `wait` for a thread with no task: `poll` the descriptor, or sleep.
fn block(park: Park) -> Wake {
    let timeout_ms = park.deadline.map_or(-1, |d| {
        let left = d.saturating_duration_since(Instant::now());
        // Round up, so the deadline has passed when poll returns.
        i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
    });
    match park.fd {
        Some((fd, ready)) => {
            let events = match ready {
                Ready::Read => libc::POLLIN,
                Ready::Write => libc::POLLOUT,
            };
            let mut p = libc::pollfd {
                fd,
                events,
                revents: 0,
            };
            // SAFETY: one live pollfd entry.
            match unsafe { libc::poll(&mut p, 1, timeout_ms) } {
                0 => Wake::Timer,
                // Ready, or failed: the caller's next I/O call says which.
                _ => Wake::Fd,
            }
        }
        None => {
            if let Some(d) = park.deadline {
                thread::sleep(d.saturating_duration_since(Instant::now()));
            }
            Wake::Timer
        }
    }
}

/// Wait until `fd` is ready, at most `timeout` (`None`: no limit). `TimedOut` when it
/// passes; `ConnectionAborted` when the client of the handler hung up meanwhile.
pub fn wait_fd(fd: RawFd, ready: Ready, timeout: Option<Duration>) -> io::Result<()> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let park = Park {
            fd: Some((fd, ready)),
            deadline,
        };
        match wait(park) {
            Wake::Fd => return Ok(()),
            Wake::ClientGone => return Err(client_gone()),
            Wake::Unwatchable => return Err(io::Error::other("cannot wait for the socket")),
            Wake::OutOfTime => return Err(out_of_time_error()),
            Wake::Timer if deadline.is_some_and(|d| Instant::now() >= d) => {
                return Err(io::ErrorKind::TimedOut.into())
            }
            Wake::Timer => {}
        }
    }
}

/// Sleep for `d`; `Err` when the client of the handler hung up meanwhile.
pub fn sleep(d: Duration) -> io::Result<()> {
    let deadline = Instant::now() + d;
    while Instant::now() < deadline {
        let park = Park {
            fd: None,
            deadline: Some(deadline),
        };
        match wait(park) {
            Wake::ClientGone => return Err(client_gone()),
            Wake::OutOfTime => return Err(out_of_time_error()),
            Wake::Unwatchable => thread::sleep(deadline.saturating_duration_since(Instant::now())),
            Wake::Fd | Wake::Timer => {}
        }
    }
    Ok(())
}

fn out_of_time_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the handler ran out of time")
}

fn client_gone() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "the client hung up")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    #[test]
    fn a_task_parks_where_it_waits_and_resumes_where_it_left_off() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let fd = client.as_raw_fd();
        let (mut task, step) = Task::start(move || {
            assert!(in_task());
            let first = wait_fd(fd, Ready::Read, None).is_ok();
            let second = wait_fd(fd, Ready::Read, None).map_err(|e| e.kind());
            (first, second)
        })
        .unwrap_or_else(|(e, _)| panic!("{e}"));
        assert!(!in_task());
        let Step::Parked(park) = step else {
            panic!("finished without waiting")
        };
        assert_eq!(park.fd, Some((fd, Ready::Read)));
        assert!(matches!(task.resume(Wake::Fd), Step::Parked(_)));
        match task.resume(Wake::ClientGone) {
            Step::Done(result) => {
                assert_eq!(result, (true, Err(io::ErrorKind::ConnectionAborted)))
            }
            Step::Parked(_) => panic!("parked again after its client left"),
        }
    }

    #[test]
    fn a_stale_timer_wake_parks_again_and_outside_a_task_waits_block() {
        let (mut task, step) = Task::start(|| sleep(Duration::from_secs(3600)).is_ok())
            .unwrap_or_else(|(e, _)| panic!("{e}"));
        assert!(matches!(step, Step::Parked(Park { fd: None, .. })));
        // The deadline has not passed: woken early, it parks again.
        assert!(matches!(task.resume(Wake::Timer), Step::Parked(_)));
        assert!(matches!(task.resume(Wake::ClientGone), Step::Done(false)));

        let started = Instant::now();
        assert!(sleep(Duration::from_millis(20)).is_ok());
        assert!(started.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn a_time_limit_ends_waits_at_its_deadline() {
        let limit = time_limit(Some(Instant::now() + Duration::from_millis(20)));
        let slept = sleep(Duration::from_secs(5)).map_err(|e| e.kind());
        drop(limit);
        assert_eq!(slept, Err(io::ErrorKind::TimedOut));
        assert!(
            sleep(Duration::from_millis(1)).is_ok(),
            "the limit outlived its guard"
        );
    }

    #[test]
    fn the_stack_guard_uses_the_task_stack() {
        let (_task, step) = Task::start(|| {
            let limit = crate::ctx::handle()
                .stack_limit
                .load(std::sync::atomic::Ordering::SeqCst);
            let here = &limit as *const u64 as u64;
            (here > limit, here - limit < stack::TASK_STACK_SIZE as u64)
        })
        .unwrap_or_else(|(e, _)| panic!("{e}"));
        assert!(matches!(step, Step::Done((true, true))));
    }
}
