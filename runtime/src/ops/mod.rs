//! `extern "C"` operations on values that compiled code calls directly.
//!
//! Every function here is listed in `abi.rs`. Arguments are borrowed words, results
//! owned words; fallible ones return `ERROR_SENTINEL` with the error parked (error.rs).

use crate::builtins;
use crate::ctx::{self, Ctx};
use crate::error::{self, codes, RtError};
use crate::value::Value;

/// Add one reference.
pub extern "C" fn ilo_retain(w: u64) {
    // SAFETY: compiled code only passes live value words.
    std::mem::forget(unsafe { Value::borrow_raw(&w) }.clone());
}

/// Drop one reference (consumes it).
pub extern "C" fn ilo_release(w: u64) {
    // SAFETY: compiled code passes a word whose reference it owns.
    drop(unsafe { Value::from_raw(w) });
}

/// The calling thread's context (stack limit).
pub extern "C" fn ilo_ctx() -> *mut u8 {
    ctx::current() as *mut Ctx as *mut u8
}

/// Attach a span id to the pending error (first one wins).
pub extern "C" fn ilo_err_span(span: i64) {
    error::attach_span(span as u32);
}

/// Called by a function prologue that found the stack pointer below the limit.
pub extern "C" fn ilo_stack_overflow() -> u64 {
    error::raise(RtError::new(
        codes::STACK,
        "stack overflow: recursion too deep",
    ))
}

/// Call library builtin `id` (an index into `builtins::table()`) with `nargs` borrowed
/// argument words at `args`.
pub extern "C" fn ilo_builtin(id: i64, args: *mut u8, nargs: i64) -> u64 {
    let words: &[u64] = if nargs == 0 {
        &[]
    } else {
        // SAFETY: compiled code passes a pointer to `nargs` consecutive live words.
        unsafe { std::slice::from_raw_parts(args as *const u64, nargs as usize) }
    };
    // SAFETY: the words are live values borrowed for the duration of the call.
    let vals = unsafe { Value::borrow_slice(words) };
    error::to_word(builtins::call(id as usize, vals))
}
