//! Builtins: statistics over numeric lists (`sum`, `avg`, `median`, `quantile`,
//! `stdev`, `variance`) and set operations on lists (`setunion`, `setinter`, `setdiff`).
//!
//! Set results are deduplicated and ordered by [`set_key`], a type-prefixed text, so
//! they are deterministic; the order is lexicographic on that key, not numeric.

use std::collections::{BTreeMap, HashSet};

use super::convert::{list_arg, num_arg, nums_arg};
use super::BuiltinDef;
use crate::error::{codes, RtError, RtResult};
use crate::value::{num_to_string, Obj, Value};

#[rustfmt::skip]
pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef { name: "sum", min_args: 1, max_args: 1, f: sum },
    BuiltinDef { name: "avg", min_args: 1, max_args: 1, f: avg },
    BuiltinDef { name: "median", min_args: 1, max_args: 1, f: median },
    BuiltinDef { name: "quantile", min_args: 2, max_args: 2, f: quantile },
    BuiltinDef { name: "stdev", min_args: 1, max_args: 1, f: stdev },
    BuiltinDef { name: "variance", min_args: 1, max_args: 1, f: variance },
    BuiltinDef { name: "setunion", min_args: 2, max_args: 2, f: setunion },
    BuiltinDef { name: "setinter", min_args: 2, max_args: 2, f: setinter },
    BuiltinDef { name: "setdiff", min_args: 2, max_args: 2, f: setdiff },
];

/// The identity of a number, text or bool as a set element (`n:1`, `t:a`, `b:true`);
/// `None` for other kinds. Also used by `unq` and `uniqby` for hashing.
pub(super) fn set_key(v: &Value) -> Option<String> {
    if let Some(n) = v.as_num() {
        return Some(format!("n:{}", num_to_string(n)));
    }
    if let Some(b) = v.as_bool() {
        return Some(format!("b:{b}"));
    }
    match v.heap() {
        Some(Obj::Text(_, s)) => Some(format!("t:{s}")),
        _ => None,
    }
}

/// The sum of some numbers, starting from +0 (`Iterator::sum` for `f64` starts from -0,
/// which would make `sum []` print `-0`).
pub(super) fn total(xs: impl IntoIterator<Item = f64>) -> f64 {
    xs.into_iter().fold(0.0, |acc, x| acc + x)
}

fn non_empty(builtin: &str, v: &Value) -> RtResult<Vec<f64>> {
    let xs = nums_arg(builtin, v)?;
    if xs.is_empty() {
        return Err(RtError::new(
            codes::DOMAIN,
            format!("{builtin}: empty list"),
        ));
    }
    Ok(xs)
}

fn sorted(mut xs: Vec<f64>) -> Vec<f64> {
    xs.sort_by(f64::total_cmp);
    xs
}

fn sum(args: &[Value]) -> RtResult {
    Ok(Value::num(total(nums_arg("sum", &args[0])?)))
}

fn avg(args: &[Value]) -> RtResult {
    let xs = nums_arg("avg", &args[0])?;
    if xs.is_empty() {
        return Err(RtError::new(
            codes::DOMAIN,
            "avg: cannot average an empty list",
        ));
    }
    Ok(Value::num(total(xs.iter().copied()) / xs.len() as f64))
}

fn median(args: &[Value]) -> RtResult {
    let xs = sorted(non_empty("median", &args[0])?);
    let mid = xs.len() / 2;
    Ok(Value::num(if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    }))
}

/// `quantile xs p`: linear interpolation between the order statistics around
/// `p * (n - 1)`; `p` is clamped to `[0, 1]`.
fn quantile(args: &[Value]) -> RtResult {
    let xs = sorted(non_empty("quantile", &args[0])?);
    let p = num_arg("quantile", &args[1])?;
    if p.is_nan() {
        return Err(RtError::new(codes::DOMAIN, "quantile: p is NaN"));
    }
    let h = p.clamp(0.0, 1.0) * (xs.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Ok(Value::num(xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo])))
}

/// Sample variance (divides by `n - 1`).
fn sample_variance(builtin: &str, v: &Value) -> RtResult<f64> {
    let xs = nums_arg(builtin, v)?;
    if xs.len() < 2 {
        return Err(RtError::new(
            codes::DOMAIN,
            format!("{builtin}: need at least 2 values"),
        ));
    }
    let n = xs.len() as f64;
    let mean = total(xs.iter().copied()) / n;
    Ok(total(xs.iter().map(|x| (x - mean) * (x - mean))) / (n - 1.0))
}

fn variance(args: &[Value]) -> RtResult {
    Ok(Value::num(sample_variance("variance", &args[0])?))
}

fn stdev(args: &[Value]) -> RtResult {
    Ok(Value::num(sample_variance("stdev", &args[0])?.sqrt()))
}

/// The elements of a list argument keyed by [`set_key`].
fn keyed<'a>(builtin: &str, v: &'a Value) -> RtResult<Vec<(String, &'a Value)>> {
    list_arg(builtin, v)?
        .iter()
        .map(|x| {
            set_key(x).map(|k| (k, x)).ok_or_else(|| {
                RtError::new(
                    codes::TYPE,
                    format!(
                        "{builtin}: elements must be n, t or b, got {}",
                        x.kind_name()
                    ),
                )
            })
        })
        .collect()
}

/// The elements of `a` (and of `b` too when `union`) kept by `keep(key_in_b)`,
/// deduplicated and ordered by key.
fn set_op(builtin: &str, args: &[Value], union: bool, keep: fn(bool) -> bool) -> RtResult {
    let a = keyed(builtin, &args[0])?;
    let b = keyed(builtin, &args[1])?;
    let in_b: HashSet<&str> = b.iter().map(|(k, _)| k.as_str()).collect();
    let mut out: BTreeMap<&str, &Value> = BTreeMap::new();
    for (k, v) in &a {
        if keep(in_b.contains(k.as_str())) {
            out.entry(k).or_insert(v);
        }
    }
    if union {
        for (k, v) in &b {
            out.entry(k).or_insert(v);
        }
    }
    Ok(Value::list(out.into_values().cloned().collect()))
}

fn setunion(args: &[Value]) -> RtResult {
    set_op("setunion", args, true, |_| true)
}

fn setinter(args: &[Value]) -> RtResult {
    set_op("setinter", args, false, |in_b| in_b)
}

fn setdiff(args: &[Value]) -> RtResult {
    set_op("setdiff", args, false, |in_b| !in_b)
}

#[cfg(test)]
mod tests {
    use super::super::test_values::{n, nums, show};
    use super::*;

    #[test]
    fn sum_and_avg() {
        assert_eq!(show(sum(&[nums(&[1.0, 2.0, 3.0])])), "6");
        assert_eq!(show(sum(&[nums(&[])])), "0");
        assert_eq!(show(avg(&[nums(&[1.0, 2.0])])), "1.5");
        let e = avg(&[nums(&[])]).unwrap_err();
        assert_eq!(e.to_string(), "ILO-R004: avg: cannot average an empty list");
        assert_eq!(
            sum(&[Value::list(vec![Value::text("a")])])
                .unwrap_err()
                .code,
            codes::TYPE
        );
    }

    #[test]
    fn median_and_quantile() {
        assert_eq!(show(median(&[nums(&[3.0, 1.0, 2.0])])), "2");
        assert_eq!(show(median(&[nums(&[4.0, 1.0, 3.0, 2.0])])), "2.5");
        assert_eq!(median(&[nums(&[])]).unwrap_err().code, codes::DOMAIN);
        let xs = nums(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!(show(quantile(&[xs.clone(), n(0.5)])), "2.5");
        assert_eq!(show(quantile(&[xs.clone(), n(0.25)])), "1.75");
        assert_eq!(show(quantile(&[xs.clone(), n(7.0)])), "4");
        assert_eq!(show(quantile(&[xs, n(-1.0)])), "1");
    }

    #[test]
    fn sample_spread() {
        let xs = nums(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            show(variance(std::slice::from_ref(&xs))),
            "1.6666666666666667"
        );
        assert_eq!(show(stdev(&[xs])), "1.2909944487358056");
        assert_eq!(stdev(&[nums(&[1.0])]).unwrap_err().code, codes::DOMAIN);
    }

    #[test]
    fn set_operations_dedupe_and_sort_by_key() {
        let s = |a: &[f64], b: &[f64], f: fn(&[Value]) -> RtResult| show(f(&[nums(a), nums(b)]));
        assert_eq!(s(&[3.0, 1.0], &[1.0, 2.0], setunion), "[1, 2, 3]");
        assert_eq!(s(&[3.0, 1.0, 2.0], &[2.0, 3.0, 4.0], setinter), "[2, 3]");
        assert_eq!(s(&[3.0, 1.0, 2.0, 1.0], &[2.0], setdiff), "[1, 3]");
        // Lexicographic on the key, as documented: 10 sorts before 9.
        assert_eq!(s(&[9.0, 10.0], &[], setunion), "[10, 9]");
        let mixed = Value::list(vec![Value::text("a"), n(1.0), Value::bool(true)]);
        assert_eq!(show(setunion(&[mixed, nums(&[])])), "[true, 1, a]");
        let bad = Value::list(vec![Value::NIL]);
        assert_eq!(setdiff(&[bad, nums(&[])]).unwrap_err().code, codes::TYPE);
    }
}
