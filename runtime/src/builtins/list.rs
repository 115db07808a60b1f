//! Builtins: list construction and reshaping (`lst`, `flat`, `zip`, `enumerate`,
//! `range`, `chunks`, `window`, `cumsum`) and sorting (`srt`, `rsrt`).
//!
//! The plain sort accepts all-number or all-text lists, or a text (sorting its
//! characters); `srt fn xs` sorts by a key function and lives with the other
//! higher-order builtins in `hof.rs`.

use std::cmp::Ordering;

use super::convert::{int_arg, list_arg, num_arg, nums_arg};
use super::hof::sort_by_key;
use super::{number_sort, text_sort};
use super::{Args, BuiltinDef, InPlaceDef};
use crate::error::{codes, RtError, RtResult};
use crate::value::{Obj, Value};

#[rustfmt::skip]
pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef { name: "srt", min_args: 1, max_args: 3, f: srt },
    BuiltinDef { name: "rsrt", min_args: 1, max_args: 3, f: rsrt },
    BuiltinDef { name: "lst", min_args: 3, max_args: 3, f: lst },
    BuiltinDef { name: "flat", min_args: 1, max_args: 1, f: flat },
    BuiltinDef { name: "zip", min_args: 2, max_args: 2, f: zip },
    BuiltinDef { name: "enumerate", min_args: 1, max_args: 1, f: enumerate },
    BuiltinDef { name: "range", min_args: 2, max_args: 2, f: range },
    BuiltinDef { name: "chunks", min_args: 2, max_args: 2, f: chunks },
    BuiltinDef { name: "window", min_args: 2, max_args: 2, f: window },
    BuiltinDef { name: "cumsum", min_args: 1, max_args: 1, f: cumsum },
];

pub const IN_PLACE: &[InPlaceDef] = &[
    InPlaceDef {
        name: "srt",
        f: srt_in_place,
    },
    InPlaceDef {
        name: "rsrt",
        f: rsrt_in_place,
    },
    InPlaceDef {
        name: "lst",
        f: lst_in_place,
    },
];

/// The most elements `range` will build, so a typo cannot exhaust memory.
const MAX_RANGE: f64 = 1e9;
// `range` counts its elements in an i32.
const _: () = assert!(MAX_RANGE <= i32::MAX as f64);

/// Order two sort keys: numbers numerically, texts by bytes; anything else (including
/// a number against a text) is not sortable.
pub(super) fn compare_keys(builtin: &str, a: &Value, b: &Value) -> RtResult<Ordering> {
    if let (Some(x), Some(y)) = (a.as_num(), b.as_num()) {
        return Ok(x.total_cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_text(), b.as_text()) {
        return Ok(x.cmp(y));
    }
    Err(RtError::new(
        codes::TYPE,
        format!(
            "{builtin}: can only sort numbers or texts, not {} with {}",
            a.kind_name(),
            b.kind_name()
        ),
    ))
}

/// Sort a list (all numbers or all texts) or the characters of a text; a list handed
/// over unshared is sorted where it is.
fn sorted(builtin: &str, v: Value, descending: bool) -> RtResult {
    let flip = |o: Ordering| if descending { o.reverse() } else { o };
    match v.heap() {
        Some(Obj::Text(_, s)) => {
            let mut cs: Vec<char> = s.chars().collect();
            cs.sort_by(|a, b| flip(a.cmp(b)));
            Ok(Value::text(cs.into_iter().collect::<String>()))
        }
        Some(Obj::List(xs)) => {
            let keys = sort_keys(builtin, xs)?;
            let mut out = v;
            if let Some(Obj::List(xs)) = out.make_mut() {
                match keys {
                    SortKeys::Numbers(plan) => number_sort::sort_numbers(xs, plan, descending),
                    SortKeys::Texts => text_sort::sort_texts(xs, descending),
                }
            }
            Ok(out)
        }
        _ => Err(RtError::new(
            codes::TYPE,
            format!("{builtin}: expected L or t, got {}", v.kind_name()),
        )),
    }
}

/// What a plain sort compares: every element a number, or every element a text.
enum SortKeys {
    Numbers(number_sort::Plan),
    Texts,
}

/// Check every element against the first up front, so the comparator cannot fail and
/// compares one kind without asking again.
fn sort_keys(builtin: &str, xs: &[Value]) -> RtResult<SortKeys> {
    let Some(first) = xs.first() else {
        return Ok(SortKeys::Numbers(number_sort::Plan::Same));
    };
    if first.is_num() {
        if let Some(plan) = number_sort::Plan::of(xs) {
            return Ok(SortKeys::Numbers(plan));
        }
    } else if xs.iter().all(|x| x.as_text().is_some()) {
        return Ok(SortKeys::Texts);
    }
    for x in xs {
        compare_keys(builtin, first, x)?;
    }
    Err(RtError::new(
        codes::TYPE,
        format!("{builtin}: can only sort numbers or texts"),
    ))
}

/// `srt xs`, `srt fn xs` (by key), `srt fn ctx xs` (key function also gets `ctx`).
fn srt(args: &[Value]) -> RtResult {
    srt_in_place(&mut Args::borrowed(args))
}

fn srt_in_place(args: &mut Args) -> RtResult {
    match args.len() {
        1 => sorted("srt", args.take(0), false),
        2 => sort_by_key(&args[0], None, &args[1], false),
        3 => sort_by_key(&args[0], Some(&args[1]), &args[2], false),
        _ => Err(RtError::new(codes::CALL, "srt takes 1 to 3 arguments")),
    }
}

/// `rsrt xs`, `rsrt fn xs`, `rsrt fn ctx xs`: as `srt`, descending.
fn rsrt(args: &[Value]) -> RtResult {
    rsrt_in_place(&mut Args::borrowed(args))
}

fn rsrt_in_place(args: &mut Args) -> RtResult {
    match args.len() {
        1 => sorted("rsrt", args.take(0), true),
        2 => sort_by_key(&args[0], None, &args[1], true),
        3 => sort_by_key(&args[0], Some(&args[1]), &args[2], true),
        _ => Err(RtError::new(codes::CALL, "rsrt takes 1 to 3 arguments")),
    }
}

/// `lst xs i v`: `xs` with element `i` (negative from the end) replaced; in place
/// when `xs` was handed over unshared.
fn lst(args: &[Value]) -> RtResult {
    lst_in_place(&mut Args::borrowed(args))
}

fn lst_in_place(args: &mut Args) -> RtResult {
    let v = args.take(2);
    let xs = args.take(0);
    set_element(xs, &args.all()[1], v)
}

/// `lst xs i v` given a reference to `xs` of its own: a list nothing else holds is
/// updated where it is, a shared one copied. Also what compiled code calls directly
/// (`ilo_lst_move`), so both paths share every check and error.
pub fn set_element(mut xs: Value, i: &Value, v: Value) -> RtResult {
    let len = list_arg("lst", &xs)?.len() as i64;
    let i = int_arg("lst", i)?;
    let i = if i < 0 { i + len } else { i };
    if i < 0 || i >= len {
        return Err(RtError::new(codes::DOMAIN, "list index out of bounds"));
    }
    if let Some(Obj::List(items)) = xs.make_mut() {
        items[i as usize] = v;
    }
    Ok(xs)
}

/// `flat xs`: splice nested lists one level; other elements stay as they are.
fn flat(args: &[Value]) -> RtResult {
    let mut out = Vec::new();
    for x in list_arg("flat", &args[0])? {
        match x.as_list() {
            Some(inner) => out.extend_from_slice(inner),
            None => out.push(x.clone()),
        }
    }
    Ok(Value::list(out))
}

fn zip(args: &[Value]) -> RtResult {
    let a = list_arg("zip", &args[0])?;
    let b = list_arg("zip", &args[1])?;
    Ok(Value::list(
        a.iter()
            .zip(b)
            .map(|(x, y)| Value::list(vec![x.clone(), y.clone()]))
            .collect(),
    ))
}

fn enumerate(args: &[Value]) -> RtResult {
    let xs = list_arg("enumerate", &args[0])?;
    Ok(Value::list(
        xs.iter()
            .enumerate()
            .map(|(i, x)| Value::list(vec![Value::num(i as f64), x.clone()]))
            .collect(),
    ))
}

/// `range a b`: `a, a+1, …` while below `b`.
fn range(args: &[Value]) -> RtResult {
    let a = num_arg("range", &args[0])?;
    let b = num_arg("range", &args[1])?;
    let count = (b - a).ceil();
    if count.is_nan() || count > MAX_RANGE {
        return Err(RtError::new(
            codes::DOMAIN,
            format!("range: cannot build a list of {count} numbers"),
        ));
    }
    let count = count.max(0.0) as usize;
    let mut out = crate::limits::list_with_capacity("range", count)?;
    // Counted in i32 (the count is at most MAX_RANGE): that converts to f64 two at a
    // time in vector registers, which a usize or i64 counter does not.
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    out.extend((0..count).map(|i| Value::num(a + f64::from(i))));
    Ok(Value::list(out))
}

/// A positive size argument for `chunks` / `window`.
fn size_arg(builtin: &str, v: &Value) -> RtResult<usize> {
    match int_arg(builtin, v)? {
        n if n >= 1 => Ok(n as usize),
        n => Err(RtError::new(
            codes::DOMAIN,
            format!("{builtin}: size must be at least 1, got {n}"),
        )),
    }
}

fn chunks(args: &[Value]) -> RtResult {
    let n = size_arg("chunks", &args[0])?;
    let xs = list_arg("chunks", &args[1])?;
    Ok(Value::list(
        xs.chunks(n).map(|c| Value::list(c.to_vec())).collect(),
    ))
}

fn window(args: &[Value]) -> RtResult {
    let n = size_arg("window", &args[0])?;
    let xs = list_arg("window", &args[1])?;
    // Each window is a list of its own: the result holds about len × n elements.
    let windows = xs.len().saturating_sub(n - 1);
    crate::limits::check(
        "window",
        windows.saturating_mul(n).saturating_mul(size_of::<Value>()),
    )?;
    Ok(Value::list(
        xs.windows(n).map(|w| Value::list(w.to_vec())).collect(),
    ))
}

fn cumsum(args: &[Value]) -> RtResult {
    let mut total = 0.0;
    let out = nums_arg("cumsum", &args[0])?
        .into_iter()
        .map(|x| {
            total += x;
            Value::num(total)
        })
        .collect();
    Ok(Value::list(out))
}

#[cfg(test)]
mod tests {
    use super::super::test_values::{n, nums, show, t};
    use super::*;

    #[test]
    fn plain_sorts() {
        assert_eq!(show(srt(&[nums(&[3.0, 1.0, 2.0])])), "[1, 2, 3]");
        assert_eq!(show(srt(&[Value::list(vec![t("b"), t("a")])])), "[a, b]");
        assert_eq!(show(srt(&[t("cab")])), "abc");
        assert_eq!(show(rsrt(&[nums(&[1.0, 3.0, 2.0])])), "[3, 2, 1]");
        assert_eq!(show(rsrt(&[t("abc")])), "cba");
        assert_eq!(show(srt(&[nums(&[])])), "[]");
        let mixed = Value::list(vec![n(1.0), t("a")]);
        assert_eq!(srt(&[mixed]).unwrap_err().code, codes::TYPE);
    }

    #[test]
    fn lst_replaces_one_element_in_a_copy() {
        let xs = nums(&[1.0, 2.0, 3.0]);
        assert_eq!(show(lst(&[xs.clone(), n(1.0), n(9.0)])), "[1, 9, 3]");
        assert_eq!(show(lst(&[xs.clone(), n(-1.0), n(0.0)])), "[1, 2, 0]");
        assert_eq!(xs.to_string(), "[1, 2, 3]");
        let e = lst(&[xs, n(3.0), n(0.0)]).unwrap_err();
        assert_eq!(e.to_string(), "ILO-R004: list index out of bounds");
    }

    #[test]
    fn flat_zip_enumerate() {
        let nested = Value::list(vec![nums(&[1.0]), nums(&[2.0, 3.0]), n(4.0)]);
        assert_eq!(show(flat(&[nested])), "[1, 2, 3, 4]");
        assert_eq!(
            show(zip(&[nums(&[1.0, 2.0, 5.0]), nums(&[3.0, 4.0])])),
            "[[1, 3], [2, 4]]"
        );
        let xs = Value::list(vec![t("a"), t("b")]);
        assert_eq!(show(enumerate(&[xs])), "[[0, a], [1, b]]");
    }

    #[test]
    fn range_is_half_open() {
        assert_eq!(show(range(&[n(2.0), n(5.0)])), "[2, 3, 4]");
        assert_eq!(show(range(&[n(5.0), n(2.0)])), "[]");
        assert_eq!(show(range(&[n(0.5), n(2.0)])), "[0.5, 1.5]");
        assert_eq!(range(&[n(0.0), n(1e300)]).unwrap_err().code, codes::DOMAIN);
    }

    #[test]
    fn chunks_and_windows() {
        let xs = nums(&[1.0, 2.0, 3.0]);
        assert_eq!(show(chunks(&[n(2.0), xs.clone()])), "[[1, 2], [3]]");
        assert_eq!(show(window(&[n(2.0), xs.clone()])), "[[1, 2], [2, 3]]");
        assert_eq!(show(window(&[n(4.0), xs.clone()])), "[]");
        assert_eq!(chunks(&[n(0.0), xs]).unwrap_err().code, codes::DOMAIN);
    }

    #[test]
    fn cumsum_keeps_length() {
        assert_eq!(show(cumsum(&[nums(&[1.0, 2.0, 3.0])])), "[1, 3, 6]");
        assert_eq!(show(cumsum(&[nums(&[])])), "[]");
    }
}
