//! Arithmetic, comparison and truthiness on words whose kind the compiler could not
//! prove. Where the verifier knows both operands are numbers, compiled code does the
//! work inline in f64 registers and never calls these.

use crate::copy_stats::{record, Kind};
use crate::error::{self, codes, RtError};
use crate::limits;
use crate::value::{num_to_string, Obj, Value, FALSE, TRUE};

use super::{borrow, type_error};
use crate::builtins::math::remainder;

/// `+a b`: numbers add, texts and lists concatenate. Fallible.
///
/// # Safety
///
/// `a` and `b` are live value words, borrowed for the call.
pub unsafe extern "C" fn ilo_add(a: u64, b: u64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let (a, b) = unsafe { (borrow(&a), borrow(&b)) };
    if let (Some(x), Some(y)) = (a.as_num(), b.as_num()) {
        return Value::num(x + y).into_raw();
    }
    if let (Some(x), Some(y)) = (a.as_text(), b.as_text()) {
        // A copy of `a`'s contents: counted, since `s=+s t` landing here on every
        // iteration is what makes building a text quadratic.
        record(Kind::Text, x.len());
        let joined =
            limits::text_with_capacity("+", x.len().saturating_add(y.len())).map(|mut s| {
                s.push_str(x);
                s.push_str(y);
                Value::text(s)
            });
        return error::to_word(joined);
    }
    if let (Some(x), Some(y)) = (a.as_list(), b.as_list()) {
        record(Kind::List, x.len());
        let joined =
            limits::list_with_capacity("+", x.len().saturating_add(y.len())).map(|mut v| {
                v.extend_from_slice(x);
                v.extend_from_slice(y);
                Value::list(v)
            });
        return error::to_word(joined);
    }
    type_error("+", a, b)
}

/// `s=+s t` with `s` the target variable: consumes `a` (the variable's value) and
/// appends `b` in place when `a` is the only reference, so building a text or list
/// piece by piece is amortised O(1) per step. Otherwise behaves like [`ilo_add`].
///
/// # Safety
///
/// `b` is a live value word, borrowed for the call; and `a` is a live value word whose
/// reference the caller hands over.
pub unsafe extern "C" fn ilo_add_move(a: u64, b: u64) -> u64 {
    // SAFETY: compiled code hands over its reference to `a`.
    let mut a = unsafe { Value::from_raw(a) };
    // SAFETY: the caller passes live words (this function's contract).
    let b = unsafe { borrow(&b) };
    // The common case first: a text held only here, grown by another text. One test
    // of each kind and of the count, a room check and a copy; `s=+s s` (the same object)
    // takes the copying path below.
    if a.raw() != b.raw() {
        if let (Some(Obj::Text(_, s)), Some(Obj::Text(_, t))) = (a.unique_mut(), b.heap()) {
            if !has_room(s, t.len()) {
                if let Err(word) = grow_text(s, t.len()) {
                    return word;
                }
            }
            // Both are texts, so the bytes are copied without re-validation.
            s.push_str(t);
            return a.into_raw();
        }
    }
    add_move_general(a, b)
}

/// The rest of [`ilo_add_move`]: lists, shared or identical operands, other kinds.
/// Out of line so the text path above saves no registers for it.
#[inline(never)]
fn add_move_general(mut a: Value, b: &Value) -> u64 {
    let appendable = matches!(
        (a.heap(), b.heap()),
        (Some(Obj::Text(..)), Some(Obj::Text(..))) | (Some(Obj::List(_)), Some(Obj::List(_)))
    );
    // `s=+s s`: the operand is the very object we would mutate, so copy instead.
    if !appendable || !a.is_unique() || a.raw() == b.raw() {
        // SAFETY: both words are live: `a` is held here, `b` borrowed from the caller.
        return unsafe { ilo_add(a.raw(), b.raw()) };
    }
    let grown = match (a.make_mut(), b.heap()) {
        (Some(Obj::List(v)), Some(Obj::List(w))) => {
            let mut v = v.vec_mut();
            limits::reserve_list("+", &mut v, w.len()).map(|()| v.extend_from_slice(w))
        }
        _ => Ok(()),
    };
    match grown {
        Ok(()) => a.into_raw(),
        Err(e) => error::raise(e),
    }
}

/// Whether `more` bytes fit in `s`'s buffer without passing the size ceiling: then
/// an append is a copy and a length update.
#[inline]
fn has_room(s: &String, more: usize) -> bool {
    let total = s.len().saturating_add(more);
    total <= limits::max_alloc() && more <= s.capacity() - s.len()
}

/// Grow `s` for `more` bytes through the ceiling check (`limits::reserve_text`, which
/// doubles, so growth is amortised); on failure the error is parked and its word
/// returned. Kept out of line so the in-place path holds no error value.
#[cold]
#[inline(never)]
fn grow_text(s: &mut String, more: usize) -> Result<(), u64> {
    limits::reserve_text("+", s, more).map_err(error::raise)
}

/// `-a b` (op 0), `*a b` (op 1), `/a b` (op 2) on words that should be numbers.
///
/// # Safety
///
/// `a` and `b` are live value words, borrowed for the call.
pub unsafe extern "C" fn ilo_arith(a: u64, b: u64, op: i64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let (a, b) = unsafe { (borrow(&a), borrow(&b)) };
    let name = ["-", "*", "/"].get(op as usize).copied().unwrap_or("?");
    match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) => Value::num(match op {
            0 => x - y,
            1 => x * y,
            _ => x / y,
        })
        .into_raw(),
        _ => type_error(name, a, b),
    }
}

/// `-x` on a word that should be a number.
///
/// # Safety
///
/// `a` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_neg(a: u64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let a = unsafe { borrow(&a) };
    match a.as_num() {
        Some(x) => Value::num(-x).into_raw(),
        None => error::raise(RtError::new(
            codes::TYPE,
            format!("'-' expects n, got {}", a.kind_name()),
        )),
    }
}

/// `mod a b` on two numbers, for compiled code whose inline integer path did not
/// apply (see [`remainder`]). Fallible: a zero divisor is ILO-R004.
pub extern "C" fn ilo_mod(a: f64, b: f64) -> u64 {
    error::to_word(remainder(a, b).map(Value::num))
}

/// `str x` of a number, for compiled code that knows `x` is one: its digits as a new
/// text, without the builtin table.
pub extern "C" fn ilo_num_text(x: f64) -> u64 {
    Value::text(num_to_string(x)).into_raw()
}

/// Ordering: op 0 `<`, 1 `>`, 2 `<=`, 3 `>=`; numbers with numbers, texts with texts.
/// Returns a bool word. Fallible.
///
/// # Safety
///
/// `a` and `b` are live value words, borrowed for the call.
pub unsafe extern "C" fn ilo_compare(a: u64, b: u64, op: i64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let (a, b) = unsafe { (borrow(&a), borrow(&b)) };
    let ord = match (a.as_num(), b.as_num()) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => match (a.as_text(), b.as_text()) {
            (Some(x), Some(y)) => Some(x.cmp(y)),
            _ => {
                let name = ["<", ">", "<=", ">="]
                    .get(op as usize)
                    .copied()
                    .unwrap_or("?");
                return type_error(name, a, b);
            }
        },
    };
    let holds = ord.is_some_and(|o| match op {
        0 => o.is_lt(),
        1 => o.is_gt(),
        2 => o.is_le(),
        _ => o.is_ge(),
    });
    if holds {
        TRUE
    } else {
        FALSE
    }
}

/// Structural equality, 1 or 0.
///
/// # Safety
///
/// `a` and `b` are live value words, borrowed for the call.
pub unsafe extern "C" fn ilo_eq(a: u64, b: u64) -> i64 {
    // SAFETY: the caller passes live words (this function's contract).
    i64::from(unsafe { borrow(&a) == borrow(&b) })
}

/// Truthiness, 1 or 0 (see `Value::truthy`).
///
/// # Safety
///
/// `a` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_truthy(a: u64) -> i64 {
    // SAFETY: the caller passes live words (this function's contract).
    i64::from(unsafe { borrow(&a) }.truthy())
}

/// The word itself when it is a number; a type error otherwise. Used where the
/// compiler needs an f64 but could not prove the operand is one.
///
/// # Safety
///
/// `a` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_expect_num(a: u64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let v = unsafe { borrow(&a) };
    if v.is_num() {
        a
    } else {
        error::raise(RtError::new(
            codes::TYPE,
            format!("expected n, got {}", v.kind_name()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(w: u64) -> Value {
        // SAFETY: test words come from entry points returning owned words.
        unsafe { Value::from_raw(w) }
    }

    #[test]
    fn add_concatenates_texts_and_lists() {
        let a = Value::text("ab");
        let b = Value::text("c");
        // SAFETY: live words this test holds.
        assert_eq!(own(unsafe { ilo_add(a.raw(), b.raw()) }).to_string(), "abc");
        let l = Value::list(vec![Value::num(1.0)]);
        // SAFETY: live words this test holds.
        assert_eq!(
            own(unsafe { ilo_add(l.raw(), l.raw()) }).to_string(),
            "[1, 1]"
        );
        // SAFETY: live words this test holds.
        assert_eq!(
            own(unsafe { ilo_add(Value::num(1.0).raw(), Value::num(2.0).raw()) }).to_string(),
            "3"
        );
    }

    #[test]
    fn add_move_appends_in_place_only_when_unique() {
        let a = Value::text("ab").into_raw();
        let t = Value::text("c");
        // SAFETY: live words this test holds.
        let r = unsafe { ilo_add_move(a, t.raw()) };
        assert_eq!(r, a, "unique text is extended in place");
        let shared = own(r);
        let keep = shared.clone();
        // SAFETY: live words this test holds.
        let r2 = own(unsafe { ilo_add_move(shared.into_raw(), t.raw()) });
        assert_eq!(keep.to_string(), "abc");
        assert_eq!(r2.to_string(), "abcc");
    }

    #[test]
    fn compare_orders_texts_and_rejects_mixed() {
        let a = Value::text("a");
        let b = Value::text("b");
        // SAFETY: live words this test holds.
        assert_eq!(unsafe { ilo_compare(a.raw(), b.raw(), 0) }, TRUE);
        // SAFETY: live words this test holds.
        assert_eq!(unsafe { ilo_compare(a.raw(), b.raw(), 3) }, FALSE);
        // SAFETY: live words this test holds.
        assert_eq!(
            unsafe { ilo_compare(a.raw(), Value::num(1.0).raw(), 0) },
            crate::value::ERROR_SENTINEL
        );
        let e = crate::error::take_pending().map(|p| p.error.code);
        assert_eq!(e, Some(codes::TYPE));
    }
}
