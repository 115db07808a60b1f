//! The check compiled code makes where a value the verifier could not type (`_`, a
//! type variable, an optional) enters a place declared with a type the code generator
//! relies on: a parameter, a record field, a function's result.
//!
//! Only the kinds codegen specialises on are checked (numbers kept in f64 registers,
//! bools and nil treated as words without a reference), and the containers that can
//! hold them, and records of a declared type (whose fields may be numbers): a list, map, result or optional of those is checked element by element.
//! Texts and function values are left to the operations that use them, which
//! check their operands anyway.
//!
//! The compiler passes a shape (`shape` below), and for the message the declared type
//! as written and the place: `shape\0display\0place` (`parameter 'x' of 'f'`).

use std::cell::Cell;

use crate::error::{self, codes, RtError};
use crate::value::{MapKey, Value};

use super::{borrow, bytes};

/// The word itself when `w` fits the shape in `desc`; ILO-R001 otherwise.
///
/// Shapes, in prefix form: `n` a number, `b` a bool, `0` nil, `_` anything,
/// `L` x a list of x, `O` x nil or x, `R` x y an ok x or an err y, `M` k v a map,
/// `T`name`;` a record of the declared type `name` (whose fields were checked when
/// it was made), `W`name`;`i`;` x: when the value is a record of type `name`, its
/// field number `i` is an x (after a `with` on a value of unknown type).
///
/// # Safety
///
/// `w` is a live value word, borrowed for the call; `desc` points at `len` readable
/// bytes.
pub unsafe extern "C" fn ilo_expect_type(w: u64, desc: *mut u8, len: i64) -> u64 {
    // SAFETY: the caller passes a live word (this function's contract).
    let v = unsafe { borrow(&w) };
    // SAFETY: the caller passes `len` readable bytes at `desc` (this function's contract).
    let desc = unsafe { bytes(desc, len) };
    let mut parts = desc.splitn(3, |b| *b == 0);
    let shape = parts.next().unwrap_or_default();
    if let Some(n) = v
        .as_list()
        .map(<[Value]>::len)
        .or(v.as_map().map(|m| m.len()))
    {
        crate::copy_stats::record_check(n);
    }
    let shown = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let place = String::from_utf8_lossy(parts.next().unwrap_or_default());
    match mismatch(v, shape) {
        None => w,
        Some(found) if place.is_empty() => error::raise(RtError::new(
            codes::TYPE,
            format!("expected {shown}, got {found}"),
        )),
        Some(found) => error::raise(RtError::new(
            codes::TYPE,
            format!("{place}: expected {shown}, got {found}"),
        )),
    }
}

thread_local! {
    /// The accumulator `fld` is handing back to its function, and that function value.
    static TRUSTED: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// Run `call` (a call of function value `f` by `fld`) with `acc`, `f`'s own previous
/// result, trusted as its first argument: checking it again would walk the whole
/// accumulator on every element, which made folding into a list or map quadratic.
pub(crate) fn trusting<R>(f: &crate::value::Value, acc: u64, call: impl FnOnce() -> R) -> R {
    let outer = TRUSTED.replace((acc, f.raw()));
    let r = call();
    TRUSTED.set(outer);
    r
}

/// [`ilo_expect_type`] for the first parameter of a function whose result has that
/// parameter's type (the code generator emits it only there), called as the value
/// `env`: the word `fld` is handing back to that same function value (see
/// [`trusting`]) is its own result, of the declared type already, and passes unchecked.
///
/// # Safety
///
/// As [`ilo_expect_type`]; `env` is the calling function's value word, or 0.
pub unsafe extern "C" fn ilo_expect_acc(w: u64, env: u64, desc: *mut u8, len: i64) -> u64 {
    if env != 0 && TRUSTED.get() == (w, env) {
        return w;
    }
    // SAFETY: the caller's guarantees are this function's own.
    unsafe { ilo_expect_type(w, desc, len) }
}

/// What in `v` does not fit `shape` (`t`, or `L holding t` for a bad element), or
/// `None` when all of it fits.
fn mismatch(v: &Value, shape: &[u8]) -> Option<String> {
    let (found, _) = check(v, shape);
    found
}

/// Check `v` against the shape at the start of `shape`; what did not fit, and the rest
/// of `shape` after the part that was used.
fn check<'s>(v: &Value, shape: &'s [u8]) -> (Option<String>, &'s [u8]) {
    let Some((&head, rest)) = shape.split_first() else {
        return (None, shape);
    };
    let kind = || {
        Some(match v.as_record() {
            Some(r) => r.ty.name.clone(),
            None => v.kind_name().to_string(),
        })
    };
    match head {
        b'n' => (if v.is_num() { None } else { kind() }, rest),
        b'b' => (if v.as_bool().is_some() { None } else { kind() }, rest),
        b'0' => (if v.is_nil() { None } else { kind() }, rest),
        b'O' => {
            if v.is_nil() {
                (None, skip(rest))
            } else {
                check(v, rest)
            }
        }
        b'L' => {
            let elem = rest;
            let after = skip(elem);
            let Some(items) = v.as_list() else {
                return (kind(), after);
            };
            // A list of numbers (the common case) is one tight loop over its words.
            if elem.first() == Some(&b'n') && items.iter().all(Value::is_num) {
                return (None, after);
            }
            let bad = items.iter().find_map(|x| check(x, elem).0);
            (bad.map(|b| format!("L holding {b}")), after)
        }
        b'M' => {
            let key = rest;
            let val = skip(key);
            let after = skip(val);
            let Some(m) = v.as_map() else {
                return (kind(), after);
            };
            let bad = m.iter().find_map(|(k, x)| {
                let k = match k {
                    MapKey::Int(i) => Value::num(*i as f64),
                    // Only its kind matters here: a text key is never a number.
                    MapKey::Text(_) => Value::text(String::new()),
                };
                check(&k, key).0.or_else(|| check(x, val).0)
            });
            (bad.map(|b| format!("M holding {b}")), after)
        }
        b'R' => {
            let ok = rest;
            let err = skip(ok);
            let after = skip(err);
            let bad = match v.as_result() {
                Some(Ok(x)) => check(x, ok).0,
                Some(Err(x)) => check(x, err).0,
                None => return (kind(), after),
            };
            (bad.map(|b| format!("R holding {b}")), after)
        }
        b'W' => {
            // `W`name`;`index`;` shape: field `index` of a record of type `name`.
            let mut parts = rest.splitn(3, |b| *b == b';');
            let name = parts.next().unwrap_or_default();
            let index = std::str::from_utf8(parts.next().unwrap_or_default())
                .ok()
                .and_then(|i| i.parse::<usize>().ok());
            let field = parts.next().unwrap_or_default();
            let after = skip(field);
            let value = v
                .as_record()
                .filter(|r| r.ty.name.as_bytes() == name)
                .zip(index)
                .and_then(|(r, i)| r.values.get(i));
            match value {
                Some(x) => (check(x, field).0, after),
                None => (None, after),
            }
        }
        b'T' => {
            let end = rest.iter().position(|b| *b == b';').unwrap_or(rest.len());
            let (name, after) = rest.split_at(end);
            let after = after.get(1..).unwrap_or_default();
            let fits = v.as_record().is_some_and(|r| r.ty.name.as_bytes() == name);
            (if fits { None } else { kind() }, after)
        }
        _ => (None, rest),
    }
}

/// The rest of `shape` after one complete shape.
fn skip(shape: &[u8]) -> &[u8] {
    match shape.split_first() {
        Some((b'L' | b'O', rest)) => skip(rest),
        Some((b'M' | b'R', rest)) => skip(skip(rest)),
        Some((b'W', rest)) => {
            let mut parts = rest.splitn(3, |b| *b == b';');
            let _ = (parts.next(), parts.next());
            skip(parts.next().unwrap_or_default())
        }
        Some((b'T', rest)) => {
            let end = rest.iter().position(|b| *b == b';').unwrap_or(rest.len());
            rest.get(end + 1..).unwrap_or_default()
        }
        Some((_, rest)) => rest,
        None => shape,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_fit_only_their_kind() {
        assert_eq!(mismatch(&Value::num(1.0), b"n"), None);
        assert_eq!(mismatch(&Value::text("hi"), b"n").as_deref(), Some("t"));
        assert_eq!(mismatch(&Value::bool(true), b"b"), None);
        assert_eq!(mismatch(&Value::num(0.0), b"b").as_deref(), Some("n"));
        assert_eq!(mismatch(&Value::text("x"), b"_"), None);
    }

    #[test]
    fn containers_are_checked_element_by_element() {
        let good = Value::list(vec![Value::num(1.0), Value::num(2.0)]);
        let bad = Value::list(vec![Value::num(1.0), Value::text("x")]);
        assert_eq!(mismatch(&good, b"Ln"), None);
        assert_eq!(mismatch(&bad, b"Ln").as_deref(), Some("L holding t"));
        assert_eq!(
            mismatch(&Value::ok(bad.clone()), b"RLn_"),
            Some("R holding L holding t".into())
        );
        assert_eq!(mismatch(&Value::err(Value::text("e")), b"RLn_"), None);
        assert_eq!(mismatch(&Value::NIL, b"On"), None);
        assert_eq!(mismatch(&Value::NIL, b"n").as_deref(), Some("nil"));
    }

    #[test]
    fn skip_passes_over_one_whole_shape() {
        assert_eq!(skip(b"RLnOb_"), b"_");
        assert_eq!(skip(b"MnLnb"), b"b");
        assert_eq!(skip(b"LTacc;n"), b"n");
        assert_eq!(skip(b"Wacc;0;LnOb"), b"Ob");
    }
}
