//! The handle ABI: pulling lines from a source value by its word, as a C caller would.
//!
//! A handle is the source's value word, borrowed for each call. The source sits behind
//! the value's mutex, so each line goes to exactly one caller even when threads share
//! a source. Compiled code does not call these (an `@line` loop steps a source through
//! `ilo_iter_next`), so they are not in `abi.rs`; they stay `extern "C"` as the word-level
//! face of a source that the tests drive.

use std::cell::RefCell;
use std::sync::{Mutex, MutexGuard, TryLockError};

use super::LineSource;
use crate::error::{self, codes, RtError, RtResult};
use crate::value::Value;

thread_local! {
    /// The last error `ilo_source_next_line` reported on this thread, with its handle.
    static LAST_ERROR: RefCell<Option<(u64, String)>> = const { RefCell::new(None) };
}

/// Lock a source, recovering from a poisoned lock: a panic elsewhere must not make
/// the source unusable for the server's other connections.
fn lock(src: &Mutex<Box<dyn LineSource>>) -> MutexGuard<'_, Box<dyn LineSource>> {
    src.lock().unwrap_or_else(|p| p.into_inner())
}

fn not_a_source(v: &Value) -> String {
    format!("expected a stream, got {}", v.kind_name())
}

/// The next line of `src` as a text value (invalid UTF-8 replaced), `None` at end.
/// A failure while reading is a runtime error `ILO-R009` with the source's message
/// (`http-stream read error: …` for HTTP bodies). Used by `@line src{…}`.
pub fn next_text(src: &Value) -> RtResult<Option<Value>> {
    let cell = src
        .as_source()
        .ok_or_else(|| RtError::new(codes::TYPE, not_a_source(src)))?;
    let mut guard = lock(cell);
    match guard.next_line() {
        Ok(Some(line)) => Ok(Some(Value::text(
            String::from_utf8_lossy(line).into_owned(),
        ))),
        Ok(None) => Ok(None),
        Err(message) => Err(RtError::new(codes::PANIC, message)),
    }
}

/// Pull one line. Writes the line's address to `*out_ptr` and its length to
/// `*out_len` and returns 1; returns 0 at end and -1 on error (see
/// [`ilo_source_error`]). The bytes stay valid until the next call on this source.
///
/// # Safety
///
/// `h` is a live value word, borrowed for the call; `out_ptr` points at a writable
/// pointer-sized slot and `out_len` at a writable 8-byte slot (neither need be aligned).
pub unsafe extern "C" fn ilo_source_next_line(h: u64, out_ptr: *mut u8, out_len: *mut u8) -> i64 {
    // SAFETY: the caller passes a live value word (this function's contract).
    let v = unsafe { Value::borrow_raw(&h) };
    let Some(cell) = v.as_source() else {
        let message = not_a_source(v);
        LAST_ERROR.with(|e| *e.borrow_mut() = Some((h, message)));
        return -1;
    };
    let mut guard = lock(cell);
    match guard.next_line() {
        Ok(Some(line)) => {
            // SAFETY: the caller passes pointers to a writable pointer-sized slot and
            // a writable u64 slot (this function's contract). The line lives in the source's own buffer, which is
            // untouched until the next `next_line` on this source.
            unsafe {
                (out_ptr as *mut *const u8).write_unaligned(line.as_ptr());
                (out_len as *mut u64).write_unaligned(line.len() as u64);
            }
            1
        }
        Ok(None) => 0,
        Err(message) => {
            LAST_ERROR.with(|e| *e.borrow_mut() = Some((h, message)));
            -1
        }
    }
}

/// The message of the last error `ilo_source_next_line` returned for `h` on this
/// thread, as a text value; nil if there was none.
pub extern "C" fn ilo_source_error(h: u64) -> u64 {
    LAST_ERROR.with(|e| match e.borrow().as_ref() {
        Some((handle, message)) if *handle == h => Value::text(message.clone()).into_raw(),
        _ => Value::NIL.into_raw(),
    })
}

/// 1 when a whole line is buffered so the next `ilo_source_next_line` will not block,
/// else 0 (also when another thread is reading the source right now).
///
/// # Safety
///
/// `h` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_source_ready(h: u64) -> i64 {
    // SAFETY: the caller passes a live value word (this function's contract).
    let v = unsafe { Value::borrow_raw(&h) };
    let Some(cell) = v.as_source() else {
        return 0;
    };
    match cell.try_lock() {
        Ok(guard) => guard.ready() as i64,
        Err(TryLockError::Poisoned(p)) => p.into_inner().ready() as i64,
        Err(TryLockError::WouldBlock) => 0,
    }
}

/// Close the source now (its socket, file or reader is released); later reads end.
///
/// # Safety
///
/// `h` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_source_close(h: u64) {
    // SAFETY: the caller passes a live value word (this function's contract).
    let v = unsafe { Value::borrow_raw(&h) };
    if let Some(cell) = v.as_source() {
        lock(cell).close();
    }
}

/// `next_text` for compiled code: a text word, nil at end (a line is never nil), or
/// the error sentinel with an `ILO-R009` error pending.
///
/// # Safety
///
/// `h` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_source_next_text(h: u64) -> u64 {
    // SAFETY: the caller passes a live value word (this function's contract).
    let v = unsafe { Value::borrow_raw(&h) };
    match next_text(v) {
        Ok(Some(text)) => text.into_raw(),
        Ok(None) => Value::NIL.into_raw(),
        Err(e) => error::raise(e),
    }
}
