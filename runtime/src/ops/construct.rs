//! Building values from compiled code: text literals, lists, results, function values
//! and closures, the list append behind `+=`, and the direct forms of `lst`, `mset`
//! and `mget`.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{self, codes, RtError};
use crate::limits;
use crate::value::{Func, Obj, Value};

use super::{borrow, bytes, words};

/// The text literal whose UTF-8 bytes are `ptr[..len]`, made once and cached in the
/// 8-byte, zero-initialised `slot` the compiler reserved for it. The result is
/// *borrowed*: the slot keeps its reference for the life of the program.
///
/// # Safety
///
/// `slot` is an 8-aligned word, zero until this function fills it, that lives as long
/// as the calling code; and `ptr` points at `len` readable bytes.
pub unsafe extern "C" fn ilo_text_lit(slot: *mut u8, ptr: *mut u8, len: i64) -> u64 {
    // SAFETY: the compiler passes an 8-aligned slot that lives as long as the code.
    let slot = unsafe { &*(slot as *const AtomicU64) };
    let cached = slot.load(Ordering::Acquire);
    if cached != 0 {
        return cached;
    }
    // SAFETY: `ptr[..len]` is a literal the compiler emitted from a Rust `&str`.
    let text = String::from_utf8_lossy(unsafe { bytes(ptr, len) }).into_owned();
    let word = Value::text(text).into_raw();
    match slot.compare_exchange(0, word, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => word,
        Err(winner) => {
            // Another thread cached the literal first; keep theirs.
            // SAFETY: we own `word`, nobody else saw it.
            drop(unsafe { Value::from_raw(word) });
            winner
        }
    }
}

/// `[a b c]`: a new list holding (retained) copies of `n` borrowed words.
///
/// # Safety
///
/// `vals` points at `n` live value words, borrowed for the call.
pub unsafe extern "C" fn ilo_list_new(vals: *mut u8, n: i64) -> u64 {
    // SAFETY: compiled code passes `n` live words.
    let items = unsafe { Value::borrow_slice(words(vals, n)) }.to_vec();
    Value::list(items).into_raw()
}

/// `+=xs v` when `xs` must stay untouched: a new list. Fallible (xs not a list).
///
/// # Safety
///
/// `xs` and `v` are live value words, borrowed for the call.
pub unsafe extern "C" fn ilo_append(xs: u64, v: u64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let (xs, v) = unsafe { (borrow(&xs), borrow(&v)) };
    match xs.as_list() {
        Some(items) => {
            crate::copy_stats::record(crate::copy_stats::Kind::List, items.len());
            let out = crate::limits::list_with_capacity("+=", items.len() + 1).map(|mut out| {
                out.extend_from_slice(items);
                out.push(v.clone());
                Value::list(out)
            });
            error::to_word(out)
        }
        None => not_a_list(xs),
    }
}

/// `lst xs i v` with every argument handed over: when `xs` was its variable's last
/// use and nothing else holds the list, element `i` is replaced where it is. The same
/// checks and errors as the `lst` builtin (it is the same function), without the
/// builtin table and argument array in between. Fallible.
///
/// # Safety
///
/// `xs`, `i` and `v` are live value words whose references the caller hands over.
pub unsafe extern "C" fn ilo_lst_move(xs: u64, i: u64, v: u64) -> u64 {
    // SAFETY: the caller hands over its references (this function's contract).
    let (xs, i, v) = unsafe { (Value::from_raw(xs), Value::from_raw(i), Value::from_raw(v)) };
    error::to_word(crate::builtins::set_element(xs, &i, v))
}

/// `m=mset m k v` with every argument handed over: a map nothing else holds is
/// updated where it is. The same function as the `mset` builtin. Fallible.
///
/// # Safety
///
/// `m`, `k` and `v` are live value words whose references the caller hands over.
pub unsafe extern "C" fn ilo_mset_move(m: u64, k: u64, v: u64) -> u64 {
    // SAFETY: the caller hands over its references (this function's contract).
    let (m, k, v) = unsafe { (Value::from_raw(m), Value::from_raw(k), Value::from_raw(v)) };
    error::to_word(crate::builtins::map_set(m, &k, v))
}

/// `mget m k`, both borrowed: the same function as the `mget` builtin, called without
/// the builtin table. Fallible.
///
/// # Safety
///
/// `m` and `k` are live value words, borrowed for the call.
pub unsafe extern "C" fn ilo_mget(m: u64, k: u64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let (m, k) = unsafe { (borrow(&m), borrow(&k)) };
    error::to_word(crate::builtins::map_get(m, k))
}

/// `at xs i` (a list's element, a text's character): both borrowed. Fallible.
///
/// # Safety
///
/// `xs` and `i` are live value words, borrowed for the call.
pub unsafe extern "C" fn ilo_at(xs: u64, i: u64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let (xs, i) = unsafe { (borrow(&xs), borrow(&i)) };
    error::to_word(crate::builtins::element_at(xs, i))
}

/// `mget m k` where `m` is a local whose map the next statements set at the same key
/// (the compiler's `map_take` rule): both borrowed, and the value moves out of the
/// entry when the local's reference is the only one. Fallible.
///
/// # Safety
///
/// `m` and `k` are live value words, borrowed for the call, and `m` is the word of a
/// local variable (its one reference, when the count says it is unique).
pub unsafe extern "C" fn ilo_mget_take(m: u64, k: u64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract); `m` stays the
    // variable's reference, so it is never dropped here.
    let (mut m, k) = unsafe { (std::mem::ManuallyDrop::new(Value::from_raw(m)), borrow(&k)) };
    error::to_word(crate::builtins::map_take(&mut m, k))
}

/// `xs=+=xs v`: consumes `xs` (the variable's value) and pushes in place when it is
/// the only reference (amortised O(1)); a shared list is copied first. Fallible.
///
/// # Safety
///
/// `v` is a live value word, borrowed for the call; and `xs` is a live value word whose
/// reference the caller hands over.
pub unsafe extern "C" fn ilo_list_push_move(xs: u64, v: u64) -> u64 {
    // SAFETY: compiled code hands over its reference to `xs`.
    let mut xs = unsafe { Value::from_raw(xs) };
    // SAFETY: the caller passes live words (this function's contract).
    let v = unsafe { borrow(&v) };
    if xs.as_list().is_none() {
        return not_a_list(&xs);
    }
    if xs.raw() == v.raw() {
        // `xs=+=xs xs`: never mutate the list while it is also the pushed value.
        // SAFETY: both words are live: `xs` is held here, `v` borrowed from the caller.
        return unsafe { ilo_append(xs.raw(), v.raw()) };
    }
    if let Some(Obj::List(items)) = xs.make_mut() {
        // A free slot and a length still under the `--max-alloc` ceiling: one store.
        // Else grow through `reserve_list`, which checks the length and the ceiling.
        let within = (items.len() + 1) * std::mem::size_of::<Value>() <= limits::max_alloc();
        let v = if within {
            let Err(v) = items.push_within(v.clone()) else {
                return xs.into_raw();
            };
            v
        } else {
            v.clone()
        };
        // A list taken from at the front (a queue) is moved to the start of its
        // allocation here: leave room for as many pushes as it holds, so that move
        // happens once per that many, not on every push.
        let extra = if items.starts_late() {
            items.len().max(1)
        } else {
            1
        };
        let mut items = items.vec_mut();
        // The room for a queue is a choice, not a need: under a ceiling it would pass,
        // the one element the push needs is all that is asked for.
        let reserved = limits::reserve_list("+=", &mut items, extra)
            .or_else(|_| limits::reserve_list("+=", &mut items, 1));
        if let Err(e) = reserved {
            return error::raise(e);
        }
        items.push(v);
    }
    xs.into_raw()
}

fn not_a_list(v: &Value) -> u64 {
    error::raise(RtError::new(
        codes::TYPE,
        format!("'+=' expects a list, got {}", v.kind_name()),
    ))
}

/// `~v`
///
/// # Safety
///
/// `v` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_ok(v: u64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    Value::ok(unsafe { borrow(&v) }.clone()).into_raw()
}

/// `^e`
///
/// # Safety
///
/// `v` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_err(v: u64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    Value::err(unsafe { borrow(&v) }.clone()).into_raw()
}

/// A function value for compiled code at `code` taking `arity` arguments, named
/// `name[..name_len]`, capturing copies of `ncaps` borrowed words at `caps`.
///
/// # Safety
///
/// `code` is the address of a compiled ilo function taking `arity` arguments, which
/// stays mapped while the value lives; `name` points at `name_len` readable bytes; and
/// `caps` points at `ncaps` live value words, borrowed for the call.
pub unsafe extern "C" fn ilo_func_new(
    code: *mut u8,
    arity: i64,
    name: *mut u8,
    name_len: i64,
    caps: *mut u8,
    ncaps: i64,
) -> u64 {
    // SAFETY: the compiler passes its own name bytes and `ncaps` live words.
    let name = String::from_utf8_lossy(unsafe { bytes(name, name_len) }).into_owned();
    // SAFETY: as above.
    let captures = unsafe { Value::borrow_slice(words(caps, ncaps)) }.to_vec();
    // SAFETY: the caller passes compiled code taking `arity` arguments that stays
    // mapped while the value lives (this function's contract).
    let func = unsafe { Func::new(name, code as usize, arity as u32, captures) };
    Value::alloc(Obj::Func(Box::new(func))).into_raw()
}

/// Capture `i` of the closure whose function value is `env` (owned copy).
///
/// # Safety
///
/// `env` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_closure_capture(env: u64, i: i64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    unsafe { borrow(&env) }
        .as_func()
        .and_then(|f| f.captures.get(i as usize))
        .cloned()
        .unwrap_or(Value::NIL)
        .into_raw()
}

/// The code address of function value `f` after checking it takes `nargs` arguments;
/// 0 with an `ILO-R002` error pending otherwise. Compiled code then calls the address
/// directly with `env = f`.
///
/// # Safety
///
/// `f` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_func_code(f: u64, nargs: i64) -> i64 {
    // SAFETY: the caller passes live words (this function's contract).
    let v = unsafe { borrow(&f) };
    let message = match v.as_func() {
        Some(func) if func.arity as i64 == nargs => return func.code as i64,
        Some(func) => format!(
            "{} expects {} args, called with {nargs}",
            func.name, func.arity
        ),
        None => format!("cannot call a value of type {}", v.kind_name()),
    };
    error::raise(RtError::new(codes::CALL, message));
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(w: u64) -> Value {
        // SAFETY: test words come from entry points returning owned words.
        unsafe { Value::from_raw(w) }
    }

    #[test]
    fn text_literal_is_made_once() {
        let mut slot = 0u64;
        let s = "hé";
        let p = s.as_ptr() as *mut u8;
        // SAFETY: live words this test holds; pointers cover their lengths.
        let a = unsafe { ilo_text_lit(&mut slot as *mut u64 as *mut u8, p, s.len() as i64) };
        // SAFETY: live words this test holds; pointers cover their lengths.
        let b = unsafe { ilo_text_lit(&mut slot as *mut u64 as *mut u8, p, s.len() as i64) };
        assert_eq!(a, b);
        // SAFETY: the literal's slot keeps this word alive.
        assert_eq!(unsafe { borrow(&a) }.as_text(), Some("hé"));
        drop(own(slot));
    }

    #[test]
    fn push_move_keeps_shared_lists_intact() {
        let xs = Value::list(vec![Value::num(1.0)]);
        let keep = xs.clone();
        // SAFETY: live words this test holds; pointers cover their lengths.
        let r = own(unsafe { ilo_list_push_move(xs.into_raw(), Value::num(2.0).raw()) });
        assert_eq!(keep.to_string(), "[1]");
        assert_eq!(r.to_string(), "[1, 2]");
        let before = r.raw();
        // SAFETY: live words this test holds; pointers cover their lengths.
        let r2 = own(unsafe { ilo_list_push_move(r.into_raw(), Value::num(3.0).raw()) });
        assert_eq!(r2.raw(), before, "unique list grows in place");
    }
}
