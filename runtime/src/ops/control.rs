//! Results, optionals, runtime type tests and iteration, for match, `!`, `!!` and `@`.

use std::mem::ManuallyDrop;

use crate::error::{self, codes, RtError};
use crate::value::{Obj, Value, FALSE, NIL, TRUE};

use super::borrow;

/// Returned by [`ilo_iter_next`] when the iteration is over. Like the error sentinel it
/// is never a value: it only travels from that entry point to the loop header.
pub const ITER_END: u64 = 0xFFFC_0000_0000_0000;

/// Returned by [`ilo_iter_next`] when it wrote the next character into the loop
/// variable's own text. Never a value either.
pub const ITER_REUSED: u64 = 0xFFFD_0000_0000_0000;

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
        Some(Obj::Text(..)) => 1,
        Some(Obj::List(_)) => 3,
        _ => 5,
    }
}

/// The next element of the iterated value (owned) or [`ITER_END`]: list items, the
/// characters of a text (each a one-character text), the keys of a map, or, for a
/// line source, its next line. `*cursor` is the loop's position, 0 before the first
/// element: an element index for lists and maps, a byte offset for a text (so each
/// character is found without counting from the start), unused for a source, which
/// keeps its own. It is advanced past the element returned. Fallible (read errors,
/// values that cannot be iterated).
///
/// `prev` is the loop variable's current value. When that is a text nothing but the
/// variable holds, a text's next character is written into it and [`ITER_REUSED`]
/// returned instead of a new text: the variable already holds the element, and a
/// loop over a text allocates nothing per character. A character the body kept
/// (stored, captured, aliased) is shared, so it is never overwritten: the next one
/// gets a fresh text.
///
/// # Safety
///
/// `coll` and `prev` are live value words, borrowed for the call (`prev` from the
/// caller's variable, which holds its reference); `cursor` points to an initialised,
/// 8-byte aligned `i64` the caller owns for the call.
pub unsafe extern "C" fn ilo_iter_next(coll: u64, cursor: *mut u8, prev: u64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let v = unsafe { borrow(&coll) };
    // SAFETY: the caller passes a valid, exclusive cursor (this function's contract).
    let cursor = unsafe { &mut *cursor.cast::<i64>() };
    if let Some(Obj::Text(_, s)) = v.heap() {
        let Some(c) = next_char(s, *cursor as usize) else {
            return ITER_END;
        };
        *cursor += c.len() as i64;
        // SAFETY: `prev` is a live word whose reference the caller's variable keeps;
        // `ManuallyDrop` leaves that reference alone.
        let mut prev = ManuallyDrop::new(unsafe { Value::from_raw(prev) });
        if let Some(Obj::Text(_, t)) = prev.unique_mut() {
            t.clear();
            t.push_str(c);
            return ITER_REUSED;
        }
        let mut t = String::with_capacity(MAX_CHAR_BYTES);
        t.push_str(c);
        return Value::text(t).into_raw();
    }
    next_other(v, cursor)
}

/// The longest character in UTF-8, so a loop's reused text never grows.
const MAX_CHAR_BYTES: usize = 4;

/// [`ilo_iter_next`] for everything but a text. Kept out of line so the text path
/// saves few registers.
#[inline(never)]
fn next_other(v: &Value, cursor: &mut i64) -> u64 {
    let at = *cursor as usize;
    let next = match v.heap() {
        Some(Obj::List(items)) => items.get(at).map(|x| (x.clone(), 1)),
        Some(Obj::Map(m)) => m.nth(at).map(|(k, _)| (k.to_value(), 1)),
        Some(Obj::Source(_)) => match crate::line_source::next_text(v) {
            Ok(line) => line.map(|line| (line, 0)),
            Err(e) => return error::raise(e),
        },
        _ => {
            return error::raise(RtError::new(
                codes::TYPE,
                format!("cannot iterate over a value of type {}", v.kind_name()),
            ))
        }
    };
    match next {
        Some((x, step)) => {
            *cursor += step;
            x.into_raw()
        }
        None => ITER_END,
    }
}

/// The character starting at byte `at` of `s`, as a slice of it, if any. A cursor
/// that is not on a character boundary (which the loop never makes: the text cannot
/// change under it) ends the iteration rather than panicking.
fn next_char(s: &str, at: usize) -> Option<&str> {
    let len = match *s.as_bytes().get(at)? {
        0..0x80 => 1,
        0xC0..0xE0 => 2,
        0xE0..0xF0 => 3,
        _ => 4,
    };
    s.get(at..at + len)
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

    /// Every element `ilo_iter_next` yields for `coll`, rendered, and the final cursor.
    fn drain(coll: &Value) -> (Vec<String>, i64) {
        let mut cursor = 0i64;
        let mut out = Vec::new();
        loop {
            // SAFETY: a live word this test holds and a cursor on its stack.
            let w = unsafe { ilo_iter_next(coll.raw(), (&raw mut cursor).cast(), NIL) };
            if w == ITER_END {
                return (out, cursor);
            }
            // SAFETY: the entry point returns an owned word.
            out.push(unsafe { Value::from_raw(w) }.to_string());
        }
    }

    #[test]
    fn iterates_lists_then_ends() {
        let xs = Value::list(vec![Value::num(1.0), Value::num(2.0)]);
        assert_eq!(drain(&xs), (vec!["1".to_string(), "2".to_string()], 2));
    }

    #[test]
    fn iterates_text_by_byte_offset() {
        let s = Value::text("aé€😀b");
        let (chars, end) = drain(&s);
        assert_eq!(chars, ["a", "é", "€", "😀", "b"]);
        assert_eq!(end, "aé€😀b".len() as i64);
        assert_eq!(drain(&Value::text("")), (vec![], 0));
    }

    #[test]
    fn a_text_held_once_by_the_variable_takes_the_next_character() {
        let s = Value::text("aé😀");
        let mut cursor = 0i64;
        let next = |cursor: &mut i64, prev: &Value| {
            // SAFETY: live words this test holds and a cursor on its stack.
            unsafe { ilo_iter_next(s.raw(), (&raw mut *cursor).cast(), prev.raw()) }
        };
        // SAFETY: the entry point returns an owned word.
        let x = unsafe { Value::from_raw(next(&mut cursor, &Value::NIL)) };
        assert_eq!(x.as_text(), Some("a"));
        assert_eq!(next(&mut cursor, &x), ITER_REUSED);
        assert_eq!(x.as_text(), Some("é"));
        // Kept elsewhere: left alone, and the next character is a new text.
        let kept = x.clone();
        // SAFETY: the entry point returns an owned word.
        let y = unsafe { Value::from_raw(next(&mut cursor, &x)) };
        assert_eq!((kept.as_text(), y.as_text()), (Some("é"), Some("😀")));
        assert_eq!(next(&mut cursor, &y), ITER_END);
        assert_eq!(y.as_text(), Some("😀"));
    }

    #[test]
    fn a_cursor_inside_a_character_ends_the_text() {
        let s = Value::text("é");
        let mut cursor = 1i64;
        // SAFETY: a live word this test holds and a cursor on its stack.
        assert_eq!(
            unsafe { ilo_iter_next(s.raw(), (&raw mut cursor).cast(), NIL) },
            ITER_END
        );
    }
}
