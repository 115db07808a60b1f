//! The per-thread context compiled code receives as its first argument.
//!
//! Its job is the native stack guard: every compiled function compares the stack
//! pointer with `stack_limit` on entry (and every loop on its back edge) and calls
//! `ilo_stack_overflow` instead of running into the guard page, so unbounded
//! recursion is a diagnostic (ILO-R006), never a segfault.
//!
//! The same comparison is how a running handler is cancelled from another thread:
//! [`Ctx::cancel`] raises the limit above any stack address, so the next function
//! entry or loop back edge takes the overflow path, which then reports the
//! cancellation (ILO-R008) instead, and the error unwinds the compiled frames like
//! any runtime error. Compiled code pays nothing extra for it: no second flag to load.
//!
//! A server handler runs on a task stack of its own ([`crate::suspend`]), not on its
//! thread's: while a task runs, [`current`] and [`handle`] answer the task's context,
//! whose limit is that stack's, so the guard keeps working there.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[repr(C)]
pub struct Ctx {
    /// Lowest stack address compiled code may use (plus a safety margin); `u64::MAX`
    /// while cancelled. Compiled code loads it at offset 0.
    pub stack_limit: AtomicU64,
    /// The limit while not cancelled.
    normal_limit: u64,
    cancel: Mutex<CancelState>,
    /// The watcher this context is known to (see [`Ctx::join_watcher`]); 0: none yet.
    watcher: AtomicU64,
}

/// Why a handler was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cancel {
    /// The client hung up before the handler finished.
    ClientGone,
    /// The handler ran longer than `--handler-timeout`.
    TimedOut,
}

#[derive(Default)]
struct CancelState {
    /// Bumped at each [`Ctx::begin`] and [`Ctx::finish`], so a cancellation meant for
    /// one piece of work never stops the next one on the same thread.
    generation: u64,
    reason: Option<Cancel>,
    /// What a watcher looks at to decide whether to cancel the work in progress.
    watched: Option<Watched>,
}

/// What a server handler call in progress is watched for: its client hanging up, its
/// deadline passing (see `httpd::running`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watched {
    pub client: std::os::fd::RawFd,
    pub deadline: Option<std::time::Instant>,
}

/// Bytes kept free below the limit for runtime calls made near the limit.
const STACK_MARGIN: u64 = 64 * 1024;

thread_local! {
    static CTX: Arc<Ctx> = Arc::new(Ctx::new(compute_stack_limit()));
    /// The context of the task running on this thread right now, if any: the pointer
    /// for [`current`] (read on every call from Rust into compiled code), the handle
    /// for [`handle`].
    static TASK_PTR: Cell<*const Ctx> = const { Cell::new(std::ptr::null()) };
    static TASK: RefCell<Option<Arc<Ctx>>> = const { RefCell::new(None) };
}

/// The calling thread's context, or the running task's. The pointer stays valid for
/// the thread's lifetime (a task's, for as long as the task runs).
pub fn current() -> *mut Ctx {
    let task = TASK_PTR.with(Cell::get);
    if !task.is_null() {
        return task as *mut Ctx;
    }
    CTX.with(|c| Arc::as_ptr(c) as *mut Ctx)
}

/// A handle on the current context that another thread may cancel through.
pub fn handle() -> Arc<Ctx> {
    TASK.with(|t| t.borrow().clone())
        .unwrap_or_else(|| CTX.with(Arc::clone))
}

/// Why the current work was cancelled, if it was.
pub fn cancelled() -> Option<Cancel> {
    handle().state().reason
}

/// Makes a task's context the current one until dropped (see [`enter_task`]).
pub(crate) struct TaskGuard {
    previous: Option<Arc<Ctx>>,
}

/// Make `ctx` current on this thread while a task runs on the stack it describes.
pub(crate) fn enter_task(ctx: &Arc<Ctx>) -> TaskGuard {
    TASK_PTR.with(|p| p.set(Arc::as_ptr(ctx)));
    let previous = TASK.with(|t| t.borrow_mut().replace(Arc::clone(ctx)));
    TaskGuard { previous }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        TASK_PTR.with(|p| p.set(previous.as_ref().map_or(std::ptr::null(), Arc::as_ptr)));
        TASK.with(|t| *t.borrow_mut() = previous);
    }
}

impl Ctx {
    /// The context of a task stack whose lowest usable address is `low`.
    pub(crate) fn for_stack(low: u64) -> Ctx {
        Ctx::new(low + STACK_MARGIN)
    }

    fn new(limit: u64) -> Ctx {
        Ctx {
            stack_limit: AtomicU64::new(limit),
            normal_limit: limit,
            cancel: Mutex::new(CancelState::default()),
            watcher: AtomicU64::new(0),
        }
    }

    /// Record that watcher `id` (non-zero) knows this context; false if it already
    /// did. A context is a thread's or a pooled task stack's, so this is true once per
    /// context, not per piece of work.
    pub fn join_watcher(&self, id: u64) -> bool {
        // Only the thread running the context's work calls this: no race to lose.
        if self.watcher.load(Ordering::Relaxed) == id {
            return false;
        }
        self.watcher.store(id, Ordering::Relaxed);
        true
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CancelState> {
        self.cancel.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start a piece of work that may be cancelled, watched for what `watched` says;
    /// its generation, for [`Ctx::cancel`].
    pub fn begin(&self, watched: Watched) -> u64 {
        let mut st = self.state();
        st.generation += 1;
        st.reason = None;
        st.watched = Some(watched);
        self.stack_limit.store(self.normal_limit, Ordering::SeqCst);
        st.generation
    }

    /// End the piece of work; whether (and why) it was cancelled.
    pub fn finish(&self) -> Option<Cancel> {
        let mut st = self.state();
        st.generation += 1;
        st.watched = None;
        self.stack_limit.store(self.normal_limit, Ordering::SeqCst);
        st.reason.take()
    }

    /// The work in progress and what it is watched for, if any.
    pub fn watched(&self) -> Option<(u64, Watched)> {
        let st = self.state();
        st.watched.map(|w| (st.generation, w))
    }

    /// Stop the work in progress, if any (a task whose client hung up while it waited).
    pub(crate) fn cancel_current(&self, why: Cancel) {
        let generation = self.state().generation;
        // `begin` and `finish` each bump the generation from 0: odd while work runs.
        if generation % 2 == 1 {
            self.cancel(generation, why);
        }
    }

    /// Stop work `generation` at its next function entry or loop back edge. Does
    /// nothing if that work already finished.
    pub fn cancel(&self, generation: u64, why: Cancel) {
        let mut st = self.state();
        if st.generation == generation && st.reason.is_none() {
            st.reason = Some(why);
            self.stack_limit.store(u64::MAX, Ordering::SeqCst);
        }
    }
}

fn compute_stack_limit() -> u64 {
    match thread_stack_bounds() {
        Some((low, size)) if size > 2 * STACK_MARGIN => low + STACK_MARGIN,
        // Unknown bounds: assume an 8 MiB stack below the current frame.
        _ => {
            let here = &0u8 as *const u8 as u64;
            here.saturating_sub(8 * 1024 * 1024 - STACK_MARGIN)
        }
    }
}

#[cfg(target_os = "linux")]
fn thread_stack_bounds() -> Option<(u64, u64)> {
    // SAFETY: pthread_getattr_np fills `attr` for the calling thread; we destroy it after
    // reading the stack address and size.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        if rc != 0 {
            return None;
        }
        let low = addr as u64;
        // The main thread's reported size is its rlimit, which may exceed what is mapped
        // so far; guard pages still sit at `low`, so the limit is sound either way.
        Some((low, size as u64))
    }
}

#[cfg(not(target_os = "linux"))]
fn thread_stack_bounds() -> Option<(u64, u64)> {
    None
}
