//! The stacks tasks run on, and each thread's pool of them.
//!
//! A stack is one anonymous mapping reserved without committing memory
//! (`MAP_NORESERVE`): pages are backed only once touched, so a handler that recurses
//! deeply may use several megabytes while a thousand shallow ones waiting on their
//! upstreams cost a few pages each. The lowest page is a guard page; the stack guard
//! in compiled code ([`crate::ctx`]) stops well above it. A finished task's stack goes
//! back to its thread's pool for the next task, so memory stays flat however many
//! requests come and go; the pool keeps at most [`POOL_MAX`] stacks.

use std::cell::RefCell;
use std::io;
use std::sync::Arc;

use corosensei::stack::{Stack, StackPointer};

use crate::ctx::Ctx;

/// Room for deep recursion in a handler (reserved, not committed).
pub const TASK_STACK_SIZE: usize = 8 * 1024 * 1024;
/// Stacks kept for reuse per thread. Most requests finish without waiting, so one
/// stack would serve them all; a burst of waiting handlers takes more, and keeping
/// them all afterwards would hold the pages they touched (about 10 KiB each) for good.
const POOL_MAX: usize = 16;

/// One task stack: `len` bytes ending at `base`, the lowest page a guard.
pub struct TaskStack {
    base: StackPointer,
    len: usize,
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096).max(4096)
}

impl TaskStack {
    fn new(size: usize) -> io::Result<TaskStack> {
        let page = page_size();
        let len = (size + page).next_multiple_of(page);
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK;
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let low = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if low == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = TaskStack {
            base: StackPointer::new(low as usize + len)
                .ok_or_else(|| io::Error::other("stack mapped at address zero"))?,
            len,
        };
        // SAFETY: the lowest page of the mapping just made, which nothing uses yet.
        if unsafe { libc::mprotect(low, page, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The lowest address of the mapping (the guard page's).
    pub fn low(&self) -> usize {
        self.base.get() - self.len
    }
}

impl Drop for TaskStack {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`; no task runs on it any
        // more (a stack is dropped only when its coroutine finished or was dropped).
        unsafe { libc::munmap(self.low() as *mut libc::c_void, self.len) };
    }
}

// SAFETY: `base` is the top of a live mapping of `len` bytes, page aligned (so
// aligned to STACK_ALIGNMENT), and `limit` its bottom, guard page included.
unsafe impl Stack for TaskStack {
    fn base(&self) -> StackPointer {
        self.base
    }

    fn limit(&self) -> StackPointer {
        StackPointer::new(self.low()).unwrap_or(self.base)
    }
}

thread_local! {
    static POOL: RefCell<Vec<(TaskStack, Arc<Ctx>)>> = const { RefCell::new(Vec::new()) };
}

/// A stack (and the context describing its limit) from this thread's pool, or a new
/// one.
pub fn take() -> io::Result<(TaskStack, Arc<Ctx>)> {
    if let Some(pooled) = POOL.with(|p| p.borrow_mut().pop()) {
        return Ok(pooled);
    }
    let stack = TaskStack::new(TASK_STACK_SIZE)?;
    let above_guard = (stack.low() + page_size()) as u64;
    let ctx = Arc::new(Ctx::for_stack(above_guard));
    Ok((stack, ctx))
}

/// Return a finished task's stack to this thread's pool.
pub fn give_back(stack: TaskStack, ctx: Arc<Ctx>) {
    POOL.with(|p| {
        let mut pool = p.borrow_mut();
        if pool.len() < POOL_MAX {
            pool.push((stack, ctx));
        }
    });
}
