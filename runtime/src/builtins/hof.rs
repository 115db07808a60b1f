//! Builtins: higher-order functions over lists (and, for `map`/`flt`, lazily over a
//! line source: see `line_source::transform`) (`map`, `flt`, `fld`, `ct`, `flatmap`,
//! `mapr`, `partition`, `grp`, `uniqby`, and the key form of `srt`).
//!
//! Function arguments are ilo function values, called through `func::call_value`; an
//! error inside one propagates with `?` and keeps the span where it happened (see
//! `func.rs`). `map`, `flt`, `ct`, `fld`, `srt` and `rsrt` also have a context form,
//! `map fn ctx xs` (`fld fn ctx xs init`), which passes `ctx` to the function after the
//! element: a way to give a named function state without a closure.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use super::convert::{func_arg, list_arg};
use super::list::compare_keys;
use super::sources::transformed;
use super::stats::set_key;
use super::{Args, BuiltinDef, InPlaceDef};
use crate::error::{codes, RtError, RtResult};
use crate::func::{call_value, call_value_owned};
use crate::line_source::transform::Step;
use crate::ops::expect_type::trusting;
use crate::value::{Map, MapKey, Value};

#[rustfmt::skip]
pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef { name: "map", min_args: 2, max_args: 3, f: map },
    BuiltinDef { name: "flt", min_args: 2, max_args: 3, f: flt },
    BuiltinDef { name: "fld", min_args: 3, max_args: 4, f: fld },
    BuiltinDef { name: "ct", min_args: 2, max_args: 3, f: ct },
    BuiltinDef { name: "flatmap", min_args: 2, max_args: 2, f: flatmap },
    BuiltinDef { name: "mapr", min_args: 2, max_args: 2, f: mapr },
    BuiltinDef { name: "partition", min_args: 2, max_args: 2, f: partition },
    BuiltinDef { name: "grp", min_args: 2, max_args: 2, f: grp },
    BuiltinDef { name: "uniqby", min_args: 2, max_args: 2, f: uniqby },
];

pub const IN_PLACE: &[InPlaceDef] = &[InPlaceDef {
    name: "fld",
    f: fld_in_place,
}];

/// A function argument with its optional context value.
struct Callback<'a> {
    f: &'a Value,
    ctx: Option<&'a Value>,
}

impl Callback<'_> {
    /// Call with the element (and the context, when there is one).
    fn call(&self, x: &Value) -> RtResult {
        match self.ctx {
            None => call_value(self.f, std::slice::from_ref(x)),
            Some(c) => call_value(self.f, &[x.clone(), c.clone()]),
        }
    }

    fn test(&self, x: &Value) -> RtResult<bool> {
        Ok(self.call(x)?.truthy())
    }
}

/// The function (with its context, in the `fn ctx xs` form) and the list of a
/// `fn xs` call.
fn callback_and_list<'a>(
    builtin: &str,
    args: &'a [Value],
) -> RtResult<(Callback<'a>, &'a [Value])> {
    let (f, ctx, xs) = match args {
        [f, xs] => (f, None, xs),
        [f, ctx, xs] => (f, Some(ctx), xs),
        _ => {
            return Err(RtError::new(
                codes::CALL,
                format!("{builtin} takes a function and a list"),
            ))
        }
    };
    let cb = Callback {
        f: func_arg(builtin, f)?,
        ctx,
    };
    Ok((cb, list_arg(builtin, xs)?))
}

fn map(args: &[Value]) -> RtResult {
    if let Some(lazy) = over_source("map", args, Step::Map)? {
        return Ok(lazy);
    }
    let (cb, xs) = callback_and_list("map", args)?;
    let out = xs.iter().map(|x| cb.call(x)).collect::<RtResult<_>>()?;
    Ok(Value::list(out))
}

fn flt(args: &[Value]) -> RtResult {
    if let Some(lazy) = over_source("flt", args, Step::Keep)? {
        return Ok(lazy);
    }
    let (cb, xs) = callback_and_list("flt", args)?;
    let mut out = Vec::new();
    for x in xs {
        if cb.test(x)? {
            out.push(x.clone());
        }
    }
    Ok(Value::list(out))
}

/// `map fn src` / `flt fn src` over a line source: a lazy transform of it, `None`
/// when the second argument is not a source.
fn over_source(builtin: &str, args: &[Value], step: fn(Value) -> Step) -> RtResult<Option<Value>> {
    match args {
        [f, src] if src.as_source().is_some() => {
            let f = func_arg(builtin, f)?.clone();
            Ok(Some(transformed(src, step(f))))
        }
        _ => Ok(None),
    }
}

/// `fld fn xs init`: `fn (fn (fn init x0) x1) …`; `fld fn ctx xs init` calls
/// `fn acc x ctx`.
fn fld(args: &[Value]) -> RtResult {
    fld_in_place(&mut Args::borrowed(args))
}

/// `fld` handing the accumulator over: the callback receives the only reference to
/// it (an initial value the caller gave up, then each result), so `mset`, `lst`, `+`
/// or `with` on it inside the callback update it where it is instead of copying it
/// on every element.
fn fld_in_place(args: &mut Args) -> RtResult {
    let (f, ctx, xs, init) = match args.all() {
        [f, xs, _] => (f, None, xs, 2),
        [f, ctx, xs, _] => (f, Some(ctx), xs, 3),
        _ => {
            return Err(RtError::new(
                codes::CALL,
                "fld takes a function, a list and an initial value",
            ))
        }
    };
    let f = func_arg("fld", f)?;
    // A reference of our own, so an accumulator that is this very list is never
    // the only reference to it while its elements are read.
    let list = xs.clone();
    let mut acc = args.take(init);
    for (i, x) in list_arg("fld", &list)?.iter().enumerate() {
        let word = acc.raw();
        let call = || match ctx {
            None => call_value_owned(f, [acc, x.clone()]),
            Some(c) => call_value_owned(f, [acc, x.clone(), c.clone()]),
        };
        // From the second call on, the accumulator is `f`'s own result.
        acc = if i == 0 {
            call()?
        } else {
            trusting(f, word, call)?
        };
    }
    Ok(acc)
}

fn ct(args: &[Value]) -> RtResult {
    let (cb, xs) = callback_and_list("ct", args)?;
    let mut n = 0usize;
    for x in xs {
        if cb.test(x)? {
            n += 1;
        }
    }
    Ok(Value::num(n as f64))
}

/// `flatmap fn xs`: map, then splice list results one level (non-lists are kept).
fn flatmap(args: &[Value]) -> RtResult {
    let (cb, xs) = callback_and_list("flatmap", args)?;
    let mut out = Vec::new();
    for x in xs {
        let r = cb.call(x)?;
        match r.as_list() {
            Some(items) => out.extend_from_slice(items),
            None => out.push(r),
        }
    }
    Ok(Value::list(out))
}

/// `mapr fn xs`: `~[…]` of the Ok values, or the first `^e` the function returns.
fn mapr(args: &[Value]) -> RtResult {
    let (cb, xs) = callback_and_list("mapr", args)?;
    let mut out = Vec::with_capacity(xs.len());
    for x in xs {
        let r = cb.call(x)?;
        match r.as_result() {
            Some(Ok(v)) => out.push(v.clone()),
            Some(Err(_)) => return Ok(r),
            None => {
                return Err(RtError::new(
                    codes::TYPE,
                    format!("mapr: function must return R, got {}", r.kind_name()),
                ))
            }
        }
    }
    Ok(Value::ok(Value::list(out)))
}

/// `partition fn xs`: `[passing, failing]`, each in the original order.
fn partition(args: &[Value]) -> RtResult {
    let (cb, xs) = callback_and_list("partition", args)?;
    let (mut pass, mut fail) = (Vec::new(), Vec::new());
    for x in xs {
        if cb.test(x)? {
            pass.push(x.clone());
        } else {
            fail.push(x.clone());
        }
    }
    Ok(Value::list(vec![Value::list(pass), Value::list(fail)]))
}

/// `grp fn xs`: a map from each key's display text to the elements with that key.
fn grp(args: &[Value]) -> RtResult {
    let (cb, xs) = callback_and_list("grp", args)?;
    let mut groups: BTreeMap<MapKey, Vec<Value>> = BTreeMap::new();
    for x in xs {
        let key = MapKey::Text(cb.call(x)?.to_string());
        groups.entry(key).or_default().push(x.clone());
    }
    Ok(Value::map(
        groups
            .into_iter()
            .map(|(k, v)| (k, Value::list(v)))
            .collect::<Map>(),
    ))
}

/// `uniqby fn xs`: the first element for each distinct key, in order.
fn uniqby(args: &[Value]) -> RtResult {
    let (cb, xs) = callback_and_list("uniqby", args)?;
    let mut seen = HashSet::new();
    let mut odd_keys: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    for x in xs {
        let k = cb.call(x)?;
        let fresh = match set_key(&k) {
            Some(sk) => seen.insert(sk),
            // Keys that are not numbers, texts or bools compare structurally.
            None if odd_keys.contains(&k) => false,
            None => {
                odd_keys.push(k);
                true
            }
        };
        if fresh {
            out.push(x.clone());
        }
    }
    Ok(Value::list(out))
}

/// `srt fn xs`: a stable sort by the number or text key `fn` returns for each element
/// (the function is called once per element); `descending` for `rsrt fn xs`, which
/// keeps equal keys in their original order too.
pub(super) fn sort_by_key(
    f: &Value,
    ctx: Option<&Value>,
    xs: &Value,
    descending: bool,
) -> RtResult {
    let cb = Callback {
        f: func_arg("srt", f)?,
        ctx,
    };
    let xs = list_arg("srt", xs)?;
    let keys = xs
        .iter()
        .map(|x| cb.call(x))
        .collect::<RtResult<Vec<_>>>()?;
    if let Some(first) = keys.first() {
        for k in &keys {
            compare_keys("srt", first, k)?;
        }
    }
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| {
        let ord = compare_keys("srt", &keys[a], &keys[b]).unwrap_or(Ordering::Equal);
        if descending {
            ord.reverse()
        } else {
            ord
        }
    });
    Ok(Value::list(
        order.into_iter().map(|i| xs[i].clone()).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error;
    use crate::value::{Func, Obj};

    type Word = u64;
    type CtxPtr = *mut u8;

    /// Wrap a test `extern "C"` function as an ilo function value.
    fn func(name: &str, code: *const (), arity: u32) -> Value {
        // SAFETY: every caller below passes one of the test functions above with the
        // arity it declares; they are static, so they outlive the value.
        Value::alloc(Obj::Func(Box::new(unsafe {
            Func::new(name.into(), code as usize, arity, vec![])
        })))
    }

    /// Number words are the f64 bits, so tests can read them directly.
    fn num(w: Word) -> f64 {
        f64::from_bits(w)
    }

    extern "C" fn double(_: CtxPtr, _: Word, x: Word) -> Word {
        Value::num(num(x) * 2.0).into_raw()
    }
    extern "C" fn above_one(_: CtxPtr, _: Word, x: Word) -> Word {
        Value::bool(num(x) > 1.0).into_raw()
    }
    extern "C" fn distance(_: CtxPtr, _: Word, x: Word, c: Word) -> Word {
        Value::num((num(x) - num(c)).abs()).into_raw()
    }
    extern "C" fn add(_: CtxPtr, _: Word, a: Word, x: Word) -> Word {
        Value::num(num(a) + num(x)).into_raw()
    }
    extern "C" fn add_scaled(_: CtxPtr, _: Word, a: Word, x: Word, c: Word) -> Word {
        Value::num(num(a) + num(x) * num(c)).into_raw()
    }
    extern "C" fn parity(_: CtxPtr, _: Word, x: Word) -> Word {
        Value::num(num(x) % 2.0).into_raw()
    }
    extern "C" fn parity_name(_: CtxPtr, _: Word, x: Word) -> Word {
        Value::text(if num(x) % 2.0 == 0.0 { "e" } else { "o" }).into_raw()
    }
    extern "C" fn negate(_: CtxPtr, _: Word, x: Word) -> Word {
        Value::num(-num(x)).into_raw()
    }
    extern "C" fn twice(_: CtxPtr, _: Word, x: Word) -> Word {
        Value::list(vec![Value::num(num(x)), Value::num(num(x))]).into_raw()
    }
    extern "C" fn ok_unless_three(_: CtxPtr, _: Word, x: Word) -> Word {
        if num(x) == 3.0 {
            Value::err(Value::text("three")).into_raw()
        } else {
            Value::ok(Value::num(num(x) * 2.0)).into_raw()
        }
    }
    extern "C" fn fails_on_two(_: CtxPtr, _: Word, x: Word) -> Word {
        if num(x) == 2.0 {
            let w = error::raise(RtError::new(codes::DOMAIN, "two"));
            error::attach_span(11);
            return w;
        }
        Value::num(num(x)).into_raw()
    }

    fn nums(xs: &[f64]) -> Value {
        Value::list(xs.iter().map(|x| Value::num(*x)).collect())
    }
    fn show(r: RtResult) -> String {
        r.unwrap().to_string()
    }

    #[test]
    fn map_flt_ct() {
        let xs = nums(&[1.0, 2.0, 3.0]);
        let dbl = func("double", double as *const (), 1);
        assert_eq!(show(map(&[dbl, xs.clone()])), "[2, 4, 6]");
        let gt1 = func("above_one", above_one as *const (), 1);
        assert_eq!(show(flt(&[gt1.clone(), xs.clone()])), "[2, 3]");
        assert_eq!(show(ct(&[gt1, xs.clone()])), "2");
    }

    #[test]
    fn context_forms_pass_the_context_after_the_element() {
        let xs = nums(&[1.0, 9.0, 4.0, 6.0]);
        let dist = func("distance", distance as *const (), 2);
        let five = Value::num(5.0);
        assert_eq!(
            show(map(&[dist.clone(), five.clone(), xs.clone()])),
            "[4, 4, 1, 1]"
        );
        assert_eq!(
            show(flt(&[dist.clone(), five.clone(), xs.clone()])),
            "[1, 9, 4, 6]"
        );
        assert_eq!(show(ct(&[dist.clone(), five.clone(), xs.clone()])), "4");
        let scaled = func("add_scaled", add_scaled as *const (), 3);
        let init = Value::num(0.0);
        assert_eq!(
            show(fld(&[scaled, Value::num(10.0), xs.clone(), init])),
            "200"
        );
        // Descending by key keeps equal keys in their original order.
        let by_dist = sort_by_key(&dist, Some(&five), &xs, true);
        assert_eq!(show(by_dist), "[1, 9, 4, 6]");
    }

    #[test]
    fn fld_folds_left_from_init() {
        let xs = nums(&[1.0, 2.0, 3.0]);
        let plus = func("add", add as *const (), 2);
        assert_eq!(show(fld(&[plus, xs.clone(), Value::num(0.0)])), "6");
        let plus = func("add", add as *const (), 2);
        assert_eq!(show(fld(&[plus, nums(&[]), Value::num(7.0)])), "7");
    }

    #[test]
    fn flatmap_mapr_partition() {
        let xs = nums(&[1.0, 2.0]);
        let tw = func("twice", twice as *const (), 1);
        assert_eq!(show(flatmap(&[tw, xs.clone()])), "[1, 1, 2, 2]");
        let okf = func("ok_unless_three", ok_unless_three as *const (), 1);
        assert_eq!(show(mapr(&[okf.clone(), xs])), "~[2, 4]");
        assert_eq!(show(mapr(&[okf, nums(&[1.0, 3.0, 4.0])])), "^three");
        let dbl = func("double", double as *const (), 1);
        assert_eq!(mapr(&[dbl, nums(&[1.0])]).unwrap_err().code, codes::TYPE);
        let gt1 = func("above_one", above_one as *const (), 1);
        assert_eq!(
            show(partition(&[gt1, nums(&[1.0, 2.0, 3.0])])),
            "[[2, 3], [1]]"
        );
    }

    #[test]
    fn grp_uniqby_and_sort_by_key() {
        let xs = nums(&[1.0, 2.0, 3.0, 4.0]);
        let name = func("parity_name", parity_name as *const (), 1);
        assert_eq!(
            show(grp(&[name, nums(&[1.0, 2.0, 3.0])])),
            "{e: [2]; o: [1, 3]}"
        );
        let par = func("parity", parity as *const (), 1);
        assert_eq!(
            show(grp(&[par.clone(), xs.clone()])),
            "{0: [2, 4]; 1: [1, 3]}"
        );
        assert_eq!(show(uniqby(&[par, xs])), "[1, 2]");
        let neg = func("negate", negate as *const (), 1);
        assert_eq!(
            show(sort_by_key(&neg, None, &nums(&[1.0, 3.0, 2.0]), false)),
            "[3, 2, 1]"
        );
        // Context form: the key function gets the element, then the context.
        let dist = func("distance", distance as *const (), 2);
        let xs = nums(&[1.0, 9.0, 4.0, 6.0]);
        let by_dist = sort_by_key(&dist, Some(&Value::num(5.0)), &xs, false);
        assert_eq!(show(by_dist), "[4, 6, 1, 9]");
        let tw = func("twice", twice as *const (), 1);
        let e = sort_by_key(&tw, None, &nums(&[1.0, 2.0]), false).unwrap_err();
        assert_eq!(e.code, codes::TYPE);
    }

    #[test]
    fn bad_function_arguments_are_errors() {
        let xs = nums(&[1.0]);
        assert_eq!(
            map(&[Value::num(1.0), xs.clone()]).unwrap_err().code,
            codes::TYPE
        );
        let plus = func("add", add as *const (), 2);
        assert_eq!(map(&[plus, xs]).unwrap_err().code, codes::CALL);
    }

    #[test]
    fn errors_inside_the_function_are_forwarded_with_their_span() {
        let f = func("fails_on_two", fails_on_two as *const (), 1);
        let e = map(&[f, nums(&[1.0, 2.0, 3.0])]).unwrap_err();
        assert!(e.is_forwarded());
        error::raise(e);
        let pending = error::take_pending().expect("parked");
        assert_eq!(pending.error.message, "two");
        assert_eq!(pending.span, Some(11));
    }
}
