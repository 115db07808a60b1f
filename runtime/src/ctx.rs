//! The per-thread context compiled code receives as its first argument.
//!
//! Its only job today is the native stack guard: every compiled function compares the
//! stack pointer with `stack_limit` on entry and raises `ILO-R006` instead of running
//! into the guard page, so unbounded recursion is a diagnostic, never a segfault.

use std::cell::UnsafeCell;

#[repr(C)]
pub struct Ctx {
    /// Lowest stack address compiled code may use (plus a safety margin).
    pub stack_limit: u64,
}

/// Bytes kept free below the limit for runtime calls made near the limit.
const STACK_MARGIN: u64 = 64 * 1024;

thread_local! {
    static CTX: UnsafeCell<Ctx> = UnsafeCell::new(Ctx { stack_limit: compute_stack_limit() });
}

/// The calling thread's context. The pointer stays valid for the thread's lifetime.
pub fn current() -> *mut Ctx {
    CTX.with(|c| c.get())
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
