//! Results, optionals, runtime type tests and iteration, for match, `!`, `!!` and `@`.

use crate::error::{self, codes, RtError};
use crate::value::{Obj, Value, FALSE, NIL, TRUE};

use super::borrow;

/// Returned by [`ilo_iter_next`] when the iteration is over. Like the error sentinel it
/// is never a value: it only travels from that entry point to the loop header.
pub const ITER_END: u64 = 0xFFFC_0000_0000_0000;

/// 1 for an Ok, 2 for an Err, 0 for anything else.
///
/// # Safety
///
/// `w` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_result_tag(w: u64) -> i64 {
    // SAFETY: the caller passes live words (this function's contract).
    match unsafe { borrow(&w) }.as_result() {
        Some(Ok(_)) => 1,
        Some(Err(_)) => 2,
        None => 0,
    }
}

/// The payload of an Ok or Err (owned); any other value is returned as a copy.
///
/// # Safety
///
/// `w` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_result_inner(w: u64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let v = unsafe { borrow(&w) };
    match v.as_result() {
        Some(Ok(inner)) | Some(Err(inner)) => inner.clone().into_raw(),
        None => v.clone().into_raw(),
    }
}

/// For `!`: 1 when `w` is an Err or nil (the enclosing function returns it as is).
///
/// # Safety
///
/// `w` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_is_failure(w: u64) -> i64 {
    // SAFETY: the caller passes live words (this function's contract).
    i64::from(w == NIL || matches!(unsafe { borrow(&w) }.as_result(), Some(Err(_))))
}

/// For `!` after [`ilo_is_failure`] said no: consumes `w`, yields the Ok payload, or
/// `w` itself for a present optional.
///
/// # Safety
///
/// `w` is a live value word whose reference the caller hands over.
pub unsafe extern "C" fn ilo_unwrap_move(w: u64) -> u64 {
    // SAFETY: compiled code hands over its reference.
    let v = unsafe { Value::from_raw(w) };
    match v.as_result() {
        Some(Ok(inner)) => inner.clone().into_raw(),
        _ => v.into_raw(),
    }
}

/// `!!`: consumes `w`; the Ok payload or present value, or `ILO-R009` for an Err or nil.
///
/// # Safety
///
/// `w` is a live value word whose reference the caller hands over.
pub unsafe extern "C" fn ilo_unwrap_panic(w: u64) -> u64 {
    // SAFETY: compiled code hands over its reference.
    let v = unsafe { Value::from_raw(w) };
    if v.is_nil() {
        return error::raise(RtError::new(
            codes::PANIC,
            "panic-unwrap: expected value, got nil",
        ));
    }
    match v.as_result() {
        Some(Ok(inner)) => inner.clone().into_raw(),
        Some(Err(e)) => error::raise(RtError::new(codes::PANIC, format!("panic-unwrap: {e}"))),
        None => v.into_raw(),
    }
}

/// Runtime kind for `n v:` / `t v:` / `b v:` / `l v:` patterns:
/// 0 number, 1 text, 2 bool, 3 list, 4 nil, 5 anything else.
///
/// # Safety
///
/// `w` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_kind(w: u64) -> i64 {
    // SAFETY: the caller passes live words (this function's contract).
    let v = unsafe { borrow(&w) };
    if v.is_num() {
        return 0;
    }
    match w {
        TRUE | FALSE => return 2,
        NIL => return 4,
        _ => {}
    }
    match v.heap() {
        Some(Obj::Text(_)) => 1,
        Some(Obj::List(_)) => 3,
        _ => 5,
    }
}

/// Element `i` of the iterated value (owned) or [`ITER_END`]: list items, the
/// characters of a text, the keys of a map, or, for a line source, its next line
/// (`i` is ignored: the source keeps its own position). Fallible (read errors,
/// values that cannot be iterated).
///
/// # Safety
///
/// `coll` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_iter_next(coll: u64, i: i64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let v = unsafe { borrow(&coll) };
    let i = i as usize;
    match v.heap() {
        Some(Obj::List(items)) => items.get(i).map_or(ITER_END, |x| x.clone().into_raw()),
        Some(Obj::Text(s)) => s
            .chars()
            .nth(i)
            .map_or(ITER_END, |c| Value::text(c.to_string()).into_raw()),
        Some(Obj::Map(m)) => m.nth(i).map_or(ITER_END, |(k, _)| k.to_value().into_raw()),
        Some(Obj::Source(_)) => match crate::line_source::next_text(v) {
            Ok(Some(line)) => line.into_raw(),
            Ok(None) => ITER_END,
            Err(e) => error::raise(e),
        },
        _ => error::raise(RtError::new(
            codes::TYPE,
            format!("cannot iterate over a value of type {}", v.kind_name()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_unwrap_messages() {
        let e = Value::err(Value::text("zz"));
        // SAFETY: live words this test holds.
        assert_eq!(
            unsafe { ilo_unwrap_panic(e.into_raw()) },
            crate::value::ERROR_SENTINEL
        );
        let p = error::take_pending().unwrap().error;
        assert_eq!(
            (p.code, p.message.as_str()),
            (codes::PANIC, "panic-unwrap: zz")
        );
        // SAFETY: live words this test holds.
        assert_eq!(
            unsafe { ilo_unwrap_panic(NIL) },
            crate::value::ERROR_SENTINEL
        );
        let p = error::take_pending().unwrap().error;
        assert_eq!(p.message, "panic-unwrap: expected value, got nil");
        let ok = Value::ok(Value::num(3.0));
        // SAFETY: the entry point returns an owned word.
        let v = unsafe { Value::from_raw(ilo_unwrap_panic(ok.into_raw())) };
        assert_eq!(v.to_string(), "3");
    }

    #[test]
    fn iterates_lists_then_ends() {
        let xs = Value::list(vec![Value::num(1.0)]);
        // SAFETY: live words this test holds.
        assert_eq!(unsafe { ilo_iter_next(xs.raw(), 0) }, Value::num(1.0).raw());
        // SAFETY: live words this test holds.
        assert_eq!(unsafe { ilo_iter_next(xs.raw(), 1) }, ITER_END);
    }
}
