//! Builtins: maps (`mmap`, `mget`, `mset`, `mhas`, `mkeys`, `mvals`, `mdel`) and `frq`.
//!
//! Keys are texts or integers, and the two never collide (`7` and `"7"` differ).
//! A number key floors to an integer, as `at xs i` does; NaN and infinities are errors.
//! `mset` and `mdel` are functional: they return a new map, which is the argument
//! updated in place when the caller handed over the only reference to it (see
//! `Args::take`), and an updated copy otherwise.

use std::collections::BTreeMap;

use super::convert::{list_arg, map_arg};
use super::{Args, BuiltinDef, InPlaceDef};
use crate::error::{codes, RtError, RtResult};
use crate::value::{num_to_string, KeyRef, Map, MapKey, Obj, Value};

#[rustfmt::skip]
pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef { name: "mmap", min_args: 0, max_args: 0, f: mmap },
    BuiltinDef { name: "mget", min_args: 2, max_args: 2, f: mget },
    BuiltinDef { name: "mset", min_args: 3, max_args: 3, f: mset },
    BuiltinDef { name: "mhas", min_args: 2, max_args: 2, f: mhas },
    BuiltinDef { name: "mkeys", min_args: 1, max_args: 1, f: mkeys },
    BuiltinDef { name: "mvals", min_args: 1, max_args: 1, f: mvals },
    BuiltinDef { name: "mdel", min_args: 2, max_args: 2, f: mdel },
    BuiltinDef { name: "frq", min_args: 1, max_args: 1, f: frq },
];

pub const IN_PLACE: &[InPlaceDef] = &[
    InPlaceDef {
        name: "mset",
        f: mset_in_place,
    },
    InPlaceDef {
        name: "mdel",
        f: mdel_in_place,
    },
];

/// The map key for a text or number value.
pub(super) fn map_key(builtin: &str, v: &Value) -> RtResult<MapKey> {
    key_ref(builtin, v).map(KeyRef::to_key)
}

/// The key a text or number value names, borrowed from it.
fn key_ref<'v>(builtin: &str, v: &'v Value) -> RtResult<KeyRef<'v>> {
    if let Some(n) = v.as_num() {
        if !n.is_finite() {
            return Err(RtError::new(
                codes::DOMAIN,
                format!(
                    "{builtin}: map key must be finite, got {}",
                    num_to_string(n)
                ),
            ));
        }
        return Ok(KeyRef::Int(n.floor() as i64));
    }
    match v.as_text() {
        Some(s) => Ok(KeyRef::Text(s)),
        None => Err(RtError::new(
            codes::TYPE,
            format!("{builtin}: map key must be t or n, got {}", v.kind_name()),
        )),
    }
}

/// Apply `edit` to the map argument: in place when it was handed over unshared, to a
/// copy otherwise.
fn updated(builtin: &str, args: &mut Args, edit: impl FnOnce(&mut Map)) -> RtResult {
    map_arg(builtin, &args[0])?;
    let mut out = args.take(0);
    if let Some(Obj::Map(map)) = out.make_mut() {
        edit(map);
    }
    Ok(out)
}

fn mmap(_args: &[Value]) -> RtResult {
    Ok(Value::map(Map::new()))
}

fn mget(args: &[Value]) -> RtResult {
    get(&args[0], &args[1])
}

/// `mget m k`: the value, or nil when the key is absent. Also what compiled code
/// calls directly (`ilo_mget`).
pub fn get(m: &Value, k: &Value) -> RtResult {
    let m = map_arg("mget", m)?;
    let k = key_ref("mget", k)?;
    Ok(m.get(k).cloned().unwrap_or(Value::NIL))
}

/// `mget m k` for code that sets the same key of the same map next (see the
/// compiler's `map_take` rule): when `m` is the only reference to its map, the value
/// moves out of the entry (nil left there until that `mset` overwrites it), so the
/// caller holds it once and can update it in place; otherwise exactly `get`. Also what
/// compiled code calls directly (`ilo_mget_take`).
pub fn take(m: &mut Value, k: &Value) -> RtResult {
    map_arg("mget", m)?;
    let key = key_ref("mget", k)?;
    match m.unique_mut() {
        Some(Obj::Map(map)) => Ok(map.take(key).unwrap_or(Value::NIL)),
        _ => get(m, k),
    }
}

fn mset(args: &[Value]) -> RtResult {
    mset_in_place(&mut Args::borrowed(args))
}

fn mset_in_place(args: &mut Args) -> RtResult {
    let v = args.take(2);
    let m = args.take(0);
    set(m, &args.all()[1], v)
}

/// `mset m k v` given a reference to `m` of its own: a map nothing else holds is
/// updated where it is, a shared one copied. Also what compiled code calls directly
/// (`ilo_mset_move`), so both paths share every check and error.
pub fn set(mut m: Value, k: &Value, v: Value) -> RtResult {
    let k = key_ref("mset", k)?;
    map_arg("mset", &m)?;
    // `unique_mut` first: the common case, without `make_mut`'s copying code.
    if let Some(Obj::Map(map)) = m.unique_mut() {
        map.set(k, v);
    } else if let Some(Obj::Map(map)) = m.make_mut() {
        map.set(k, v);
    }
    Ok(m)
}

fn mhas(args: &[Value]) -> RtResult {
    let m = map_arg("mhas", &args[0])?;
    Ok(Value::bool(m.contains_key(key_ref("mhas", &args[1])?)))
}

/// `mkeys m`: keys in order (integers first, then texts).
fn mkeys(args: &[Value]) -> RtResult {
    let m = map_arg("mkeys", &args[0])?;
    Ok(Value::list(m.keys().map(MapKey::to_value).collect()))
}

/// `mvals m`: values in key order.
fn mvals(args: &[Value]) -> RtResult {
    let m = map_arg("mvals", &args[0])?;
    Ok(Value::list(m.values().cloned().collect()))
}

fn mdel(args: &[Value]) -> RtResult {
    mdel_in_place(&mut Args::borrowed(args))
}

fn mdel_in_place(args: &mut Args) -> RtResult {
    let k = key_ref("mdel", &args.all()[1])?;
    updated("mdel", args, |m| {
        m.remove(k);
    })
}

/// `frq xs`: how often each element occurs, keyed by the element itself when it can
/// be a map key (a number or a text), else by its display text.
fn frq(args: &[Value]) -> RtResult {
    let mut counts: BTreeMap<MapKey, f64> = BTreeMap::new();
    for x in list_arg("frq", &args[0])? {
        let key = map_key("frq", x).unwrap_or_else(|_| MapKey::Text(x.to_string()));
        *counts.entry(key).or_default() += 1.0;
    }
    Ok(Value::map(
        counts
            .into_iter()
            .map(|(k, c)| (k, Value::num(c)))
            .collect::<Map>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_values::{n, show, t};
    use super::*;

    fn ab() -> Value {
        let m = mset(&[mmap(&[]).unwrap(), t("b"), n(1.0)]).unwrap();
        mset(&[m, t("a"), n(2.0)]).unwrap()
    }

    #[test]
    fn take_moves_the_value_out_of_a_map_held_once_and_reads_a_shared_one() {
        let mut m = mset(&[mmap(&[]).unwrap(), t("a"), Value::list(vec![n(1.0)])]).unwrap();
        let shared = m.clone();
        assert_eq!(show(take(&mut m, &t("a"))), "[1]");
        assert_eq!(m.to_string(), "{a: [1]}");
        drop(shared);
        let taken = take(&mut m, &t("a")).unwrap();
        assert!(
            taken.is_unique(),
            "the map's reference moved out with the value"
        );
        assert_eq!(m.to_string(), "{a: nil}");
        assert!(take(&mut m, &t("zz")).unwrap().is_nil());
        assert!(take(&mut m, &Value::bool(true)).is_err());
    }

    #[test]
    fn set_get_and_has() {
        let m = ab();
        assert_eq!(m.to_string(), "{a: 2; b: 1}");
        assert_eq!(show(mget(&[m.clone(), t("a")])), "2");
        assert!(mget(&[m.clone(), t("zz")]).unwrap().is_nil());
        assert_eq!(show(mhas(&[m.clone(), t("a")])), "true");
        assert_eq!(show(mhas(&[m, t("c")])), "false");
    }

    #[test]
    fn mset_leaves_its_argument_unchanged() {
        let m = ab();
        let m2 = mset(&[m.clone(), t("c"), n(3.0)]).unwrap();
        assert_eq!(m.to_string(), "{a: 2; b: 1}");
        assert_eq!(m2.to_string(), "{a: 2; b: 1; c: 3}");
        let m3 = mdel(&[m.clone(), t("a")]).unwrap();
        assert_eq!(m3.to_string(), "{b: 1}");
        assert_eq!(m.to_string(), "{a: 2; b: 1}");
    }

    #[test]
    fn number_keys_floor_and_differ_from_text_keys() {
        let m = mset(&[mmap(&[]).unwrap(), n(7.9), t("seven")]).unwrap();
        assert_eq!(show(mget(&[m.clone(), n(7.0)])), "seven");
        assert_eq!(show(mhas(&[m.clone(), t("7")])), "false");
        let e = mset(&[m.clone(), n(f64::NAN), n(1.0)]).unwrap_err();
        assert_eq!(e.code, codes::DOMAIN);
        assert_eq!(mget(&[m, Value::NIL]).unwrap_err().code, codes::TYPE);
        assert_eq!(mget(&[n(1.0), t("a")]).unwrap_err().code, codes::TYPE);
    }

    #[test]
    fn keys_and_values_come_in_key_order() {
        assert_eq!(show(mkeys(&[ab()])), "[a, b]");
        assert_eq!(show(mvals(&[ab()])), "[2, 1]");
        let m = mset(&[ab(), n(5.0), t("five")]).unwrap();
        let keys = mkeys(&[m]).unwrap();
        assert!(keys.as_list().unwrap()[0].is_num());
    }

    #[test]
    fn frq_keys_numbers_as_numbers_and_the_rest_by_text() {
        let xs = Value::list(vec![t("a"), t("b"), t("a")]);
        assert_eq!(show(frq(&[xs])), "{a: 2; b: 1}");
        let nums = Value::list(vec![n(5.0), n(5.0), n(6.0)]);
        let counts = frq(&[nums]).unwrap();
        assert_eq!(counts.to_string(), "{5: 2; 6: 1}");
        assert!(counts.as_map().unwrap().contains_key(KeyRef::Int(5)));
        // 1 and "1" are different keys; a bool is keyed by its text.
        let mixed = Value::list(vec![n(1.0), t("1"), Value::bool(true), t("true")]);
        assert_eq!(show(frq(&[mixed])), "{1: 1; 1: 1; true: 2}");
    }
}
