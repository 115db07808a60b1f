//! `extern "C"` operations on values that compiled code calls directly.
//!
//! Every function here is listed in `abi.rs`. Arguments are borrowed words, results
//! owned words (unless a doc says a word is consumed); fallible ones return
//! `ERROR_SENTINEL` with the error parked (error.rs).
//!
//! Submodules group the operations the code generator emits calls to: `arith`
//! (operators on values of unknown kind), `construct` (literals, lists, results,
//! function values), `expect_type` (a value of unknown type entering a typed
//! place), `records` (records, fields, indexing) and `control` (match,
//! unwrapping, iteration).

// Entry points that take value words or pointers are `unsafe extern "C"` functions:
// each one's `# Safety` section states what compiled code guarantees (live words,
// pointers covering the stated lengths), and the code generator upholds it.
pub(crate) mod arith;
pub(crate) mod construct;
pub(crate) mod control;
pub(crate) mod expect_type;
pub(crate) mod records;

use crate::builtins;
use crate::ctx;
use crate::error::{self, codes, RtError};
use crate::value::Value;

/// Borrow a word passed in by compiled code.
///
/// # Safety
/// `w` must be a live value word that stays alive while the borrow is used, as every
/// entry point's contract promises for its word arguments.
unsafe fn borrow(w: &u64) -> &Value {
    // SAFETY: guaranteed by the caller.
    unsafe { Value::borrow_raw(w) }
}

/// `n` consecutive words at `p` (empty when `n` is 0, whatever `p` is).
///
/// # Safety
/// When `n > 0`, `p` must point at `n` readable, aligned words.
unsafe fn words<'a>(p: *mut u8, n: i64) -> &'a [u64] {
    if n <= 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(p as *const u64, n as usize) }
    }
}

/// `len` bytes at `p` (empty when `len` is 0).
///
/// # Safety
/// When `len > 0`, `p` must point at `len` readable bytes.
unsafe fn bytes<'a>(p: *mut u8, len: i64) -> &'a [u8] {
    if len <= 0 {
        &[]
    } else {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) }
    }
}

/// Raise the type error for binary operator `op` applied to `a` and `b`.
fn type_error(op: &str, a: &Value, b: &Value) -> u64 {
    error::raise(RtError::new(
        codes::TYPE,
        format!(
            "'{op}' cannot be applied to {} and {}",
            a.kind_name(),
            b.kind_name()
        ),
    ))
}

/// Add one reference.
///
/// # Safety
///
/// `w` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_retain(w: u64) {
    // SAFETY: compiled code only passes live value words.
    std::mem::forget(unsafe { Value::borrow_raw(&w) }.clone());
}

/// Drop one reference (consumes it).
///
/// # Safety
///
/// `w` is a live value word whose reference the caller hands over.
pub unsafe extern "C" fn ilo_release(w: u64) {
    // SAFETY: compiled code passes a word whose reference it owns.
    drop(unsafe { Value::from_raw(w) });
}

/// Attach a span id to the pending error (first one wins).
pub extern "C" fn ilo_err_span(span: i64) {
    error::attach_span(span as u32);
}

/// Called by a function prologue or loop back edge that found the stack pointer
/// below the limit: a real overflow, or the limit raised to cancel the work.
pub extern "C" fn ilo_stack_overflow() -> u64 {
    let error = match ctx::cancelled() {
        Some(ctx::Cancel::ClientGone) => {
            RtError::new(codes::CANCELLED, "cancelled: the client hung up")
        }
        Some(ctx::Cancel::TimedOut) => RtError::new(
            codes::CANCELLED,
            "cancelled: the handler ran longer than --handler-timeout",
        ),
        None => RtError::new(codes::STACK, "stack overflow: recursion too deep"),
    };
    error::raise(error)
}

/// Call library builtin `id` (an index into `builtins::table()`) with `nargs` borrowed
/// argument words at `args`.
///
/// # Safety
///
/// `args` points at `nargs` live value words, borrowed for the call.
pub unsafe extern "C" fn ilo_builtin(id: i64, args: *mut u8, nargs: i64) -> u64 {
    // SAFETY: the same contract, with every word borrowed.
    unsafe { ilo_builtin_owned(id, args, nargs, 0) }
}

/// As [`ilo_builtin`], except that the words whose bit is set in `owned` are handed
/// over: the callee consumes them (updating a uniquely held one in place) whether it
/// succeeds or fails.
///
/// # Safety
///
/// `args` points at `nargs` live value words; those whose bit is set in `owned` are
/// handed over, the others borrowed.
pub unsafe extern "C" fn ilo_builtin_owned(id: i64, args: *mut u8, nargs: i64, owned: i64) -> u64 {
    let words: &[u64] = if nargs <= 0 {
        &[]
    } else {
        // SAFETY: compiled code passes a pointer to `nargs` consecutive live words.
        unsafe { std::slice::from_raw_parts(args as *const u64, nargs as usize) }
    };
    // SAFETY: the words are live values borrowed for the duration of the call.
    let vals = unsafe { Value::borrow_slice(words) };
    // SAFETY: compiled code gives up its reference to every word with a set bit.
    let mut args = unsafe { builtins::Args::with_owned(vals, owned as u64) };
    // A panic must not unwind into compiled code (that aborts the process, and with it
    // a server): a bug in a builtin becomes a runtime error for this one program run.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        builtins::call_owning(id as usize, &mut args)
    }))
    .unwrap_or_else(|_| {
        let name = builtins::table().get(id as usize).map_or("?", |b| b.name);
        Err(RtError::new(
            codes::PANIC,
            format!("internal error in builtin '{name}'"),
        ))
    });
    args.release_untaken();
    error::to_word(result)
}
