//! Records and indexing from compiled code.
//!
//! A declared record type reaches the runtime as a descriptor, `name\0field\0field…`,
//! the compiler emitted as static bytes next to an 8-byte zeroed slot. The first
//! construction parses the descriptor into an `Arc<RecordType>` and caches it in the
//! slot, so no init function is needed and AOT objects work the same way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{self, codes, RtError};
use crate::text_shape::{char_value, Chars};
use crate::value::{Obj, RecordType, Value};

use super::{borrow, bytes, words};

fn parse_names(desc: &[u8]) -> Vec<String> {
    desc.split(|b| *b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// The record type described at (`slot`, `desc`), parsed on first use and cached.
///
/// # Safety
/// As for [`ilo_record_new`]: `slot` is an 8-aligned word living as long as the code,
/// `desc` points at `desc_len` readable bytes.
unsafe fn record_type(slot: *mut u8, desc: *mut u8, desc_len: i64) -> Arc<RecordType> {
    // SAFETY: guaranteed by the caller.
    let slot = unsafe { &*(slot as *const AtomicU64) };
    let mut cached = slot.load(Ordering::Acquire);
    if cached == 0 {
        // SAFETY: the descriptor bytes are static data the compiler emitted.
        let mut names = parse_names(unsafe { bytes(desc, desc_len) });
        let name = names.remove(0);
        let ty = Arc::new(RecordType {
            name,
            fields: names,
        });
        let raw = Arc::into_raw(ty) as u64;
        cached = match slot.compare_exchange(0, raw, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => raw,
            Err(winner) => {
                // SAFETY: `raw` came from Arc::into_raw above and was never shared.
                drop(unsafe { Arc::from_raw(raw as *const RecordType) });
                winner
            }
        };
    }
    let ptr = cached as *const RecordType;
    // SAFETY: the slot holds one strong count for the life of the program; we add one
    // for the Arc we return.
    unsafe {
        Arc::increment_strong_count(ptr);
        Arc::from_raw(ptr)
    }
}

/// `pt x:1 y:2`: a record of the type described at (`slot`, `desc`), with `n` borrowed
/// field values at `vals` in declaration order.
///
/// # Safety
///
/// `slot` is an 8-aligned word, zero until this function fills it, that lives as long
/// as the calling code; `desc` points at `desc_len` readable bytes; and `vals` points
/// at `n` live value words, borrowed for the call.
pub unsafe extern "C" fn ilo_record_new(
    slot: *mut u8,
    desc: *mut u8,
    desc_len: i64,
    vals: *mut u8,
    n: i64,
) -> u64 {
    // SAFETY: this function's contract covers `slot` and `desc`.
    let ty = unsafe { record_type(slot, desc, desc_len) };
    // SAFETY: compiled code passes `n` live words.
    let mut values = unsafe { Value::borrow_slice(words(vals, n)) }.to_vec();
    values.resize(ty.fields.len(), Value::NIL);
    Value::record(ty, values).into_raw()
}

/// `e.name` (strict, `safe == 0`) or `e.?name` (safe). `hint` is the field's position
/// when the compiler knows the record type (or -1); it is checked before use, so a
/// wrong hint only costs a search. Strict access to a missing field is `ILO-R005`;
/// safe access yields nil for anything that is not a record with that field.
///
/// # Safety
///
/// `obj` is a live value word, borrowed for the call; and `name` points at `name_len`
/// readable bytes.
pub unsafe extern "C" fn ilo_field(
    obj: u64,
    name: *mut u8,
    name_len: i64,
    hint: i64,
    safe: i64,
) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let v = unsafe { borrow(&obj) };
    // SAFETY: the compiler passes its own field-name bytes.
    let name_bytes = unsafe { bytes(name, name_len) };
    if let Some(rec) = v.as_record() {
        // Compared as bytes, so no text is made of the name on the way: a handler
        // reads a few fields of its request (a record of unknown type, no hint) on
        // every call.
        let is_name = |f: &String| f.as_bytes() == name_bytes;
        let hinted = usize::try_from(hint)
            .ok()
            .filter(|&i| rec.ty.fields.get(i).is_some_and(is_name));
        if let Some(i) = hinted.or_else(|| rec.ty.fields.iter().position(is_name)) {
            return rec.values[i].clone().into_raw();
        }
    }
    let name = String::from_utf8_lossy(name_bytes);
    if let Some(Some(value)) = v.as_map().map(|m| m.get(crate::value::KeyRef::Text(&name))) {
        return value.clone().into_raw();
    }
    if safe != 0 {
        return Value::NIL.into_raw();
    }
    let message = match v.as_record() {
        Some(rec) => format!("no field '{name}' on {}", rec.ty.name),
        None => format!("no field '{name}' on a value of type {}", v.kind_name()),
    };
    error::raise(RtError::new(codes::FIELD, message))
}

/// `e with a:1 b:2`: record `obj` with the fields named in `names` (NUL-separated)
/// replaced by the `n` borrowed words at `vals`. When `owned` is 1 the caller hands
/// over its reference to `obj`, and a record nothing else holds is updated in place;
/// otherwise (and for a shared record) the result is a copy. Fallible.
///
/// # Safety
///
/// `obj` is a live value word, handed over when `owned` is 1 and borrowed otherwise;
/// `names` points at `names_len` readable bytes; and `vals` points at `n` live value
/// words, borrowed for the call.
pub unsafe extern "C" fn ilo_with(
    obj: u64,
    names: *mut u8,
    names_len: i64,
    vals: *mut u8,
    n: i64,
    owned: i64,
) -> u64 {
    let mut rec = if owned != 0 {
        // SAFETY: compiled code gives up its reference to `obj`.
        unsafe { Value::from_raw(obj) }
    } else {
        // SAFETY: the caller passes live words (this function's contract).
        unsafe { borrow(&obj) }.clone()
    };
    // SAFETY: the compiler passes its own name bytes and `n` live words. The names are
    // matched as bytes where they lie: a record updated in a loop allocates nothing.
    let names = unsafe { bytes(names, names_len) }.split(|b| *b == 0);
    // SAFETY: as above.
    let vals = unsafe { Value::borrow_slice(words(vals, n)) };
    let kind = rec.kind_name();
    let Some(Obj::Record(r)) = rec.make_mut() else {
        return error::raise(RtError::new(
            codes::TYPE,
            format!("'with' expects a record, got {kind}"),
        ));
    };
    for (name, value) in names.zip(vals) {
        match r.ty.fields.iter().position(|f| f.as_bytes() == name) {
            Some(i) => r.values[i] = value.clone(),
            None => {
                let name = String::from_utf8_lossy(name);
                let message = format!("no field '{name}' on {}", r.ty.name);
                return error::raise(RtError::new(codes::FIELD, message));
            }
        }
    }
    rec.into_raw()
}

/// `xs.3`: element `idx` of a list (or character of a text). `ILO-R004` when out of
/// bounds.
///
/// # Safety
///
/// `obj` is a live value word, borrowed for the call.
pub unsafe extern "C" fn ilo_index(obj: u64, idx: i64) -> u64 {
    // SAFETY: the caller passes live words (this function's contract).
    let v = unsafe { borrow(&obj) };
    let i = idx as usize;
    if let Some(items) = v.as_list() {
        if let Some(item) = items.get(i) {
            return item.clone().into_raw();
        }
    } else if let Some(Obj::Text(shape, s)) = v.heap() {
        if let Some(c) = Chars::new(s, shape).get(i) {
            return char_value(c).into_raw();
        }
    } else {
        return error::raise(RtError::new(
            codes::TYPE,
            format!("cannot index a value of type {}", v.kind_name()),
        ));
    }
    error::raise(RtError::new(codes::DOMAIN, "list index out of bounds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(w: u64) -> Value {
        // SAFETY: test words come from entry points returning owned words.
        unsafe { Value::from_raw(w) }
    }

    #[test]
    fn records_construct_read_and_update() {
        let mut slot = 0u64;
        let desc = b"pt\0x\0y";
        let vals = [Value::num(1.0).raw(), Value::num(2.0).raw()];
        let mut mk = || {
            // SAFETY: live words this test holds; pointers cover their lengths.
            own(unsafe {
                ilo_record_new(
                    &mut slot as *mut u64 as *mut u8,
                    desc.as_ptr() as *mut u8,
                    desc.len() as i64,
                    vals.as_ptr() as *mut u8,
                    2,
                )
            })
        };
        let r = mk();
        let r2 = mk();
        assert_eq!(r.to_string(), "pt {x: 1, y: 2}");
        assert!(crate::value::RecordTypeRef::ptr_eq(
            &r.as_record().unwrap().ty,
            &r2.as_record().unwrap().ty
        ));
        // SAFETY: live words this test holds; pointers cover their lengths.
        let y = own(unsafe { ilo_field(r.raw(), b"y".as_ptr() as *mut u8, 1, 0, 0) });
        assert_eq!(y.to_string(), "2");
        // SAFETY: live words this test holds; pointers cover their lengths.
        let z = unsafe { ilo_field(r.raw(), b"z".as_ptr() as *mut u8, 1, -1, 0) };
        assert_eq!(z, crate::value::ERROR_SENTINEL);
        assert_eq!(error::take_pending().unwrap().error.code, codes::FIELD);
        // SAFETY: live words this test holds; pointers cover their lengths.
        assert!(own(unsafe { ilo_field(r.raw(), b"z".as_ptr() as *mut u8, 1, -1, 1) }).is_nil());
        let five = [Value::num(5.0).raw()];
        // SAFETY: live words this test holds; pointers cover their lengths.
        let q = own(unsafe {
            ilo_with(
                r.raw(),
                b"y".as_ptr() as *mut u8,
                1,
                five.as_ptr() as *mut u8,
                1,
                0,
            )
        });
        assert_eq!(q.to_string(), "pt {x: 1, y: 5}");
        assert_eq!(r.to_string(), "pt {x: 1, y: 2}");
        // Handed over while unshared: the same record, updated where it is.
        let q_word = q.into_raw();
        // SAFETY: live words this test holds; pointers cover their lengths.
        let q2 = own(unsafe {
            ilo_with(
                q_word,
                b"x".as_ptr() as *mut u8,
                1,
                five.as_ptr() as *mut u8,
                1,
                1,
            )
        });
        assert_eq!(q2.raw(), q_word);
        assert_eq!(q2.to_string(), "pt {x: 5, y: 5}");
        drop((r, r2, q2));
        // SAFETY: the slot's strong count, released so the test does not leak.
        drop(unsafe { Arc::from_raw(slot as *const RecordType) });
    }

    #[test]
    fn index_out_of_bounds_is_r004() {
        let xs = Value::list(vec![Value::num(1.0)]);
        // SAFETY: live words this test holds; pointers cover their lengths.
        assert_eq!(own(unsafe { ilo_index(xs.raw(), 0) }).to_string(), "1");
        // SAFETY: live words this test holds; pointers cover their lengths.
        assert_eq!(
            unsafe { ilo_index(xs.raw(), 5) },
            crate::value::ERROR_SENTINEL
        );
        let e = error::take_pending().unwrap().error;
        assert_eq!(
            (e.code, e.message.as_str()),
            (codes::DOMAIN, "list index out of bounds")
        );
    }
}
