//! Builtins: text operations, and the sequence operations that work on both lists and
//! texts (`len`, `has`, `hd`, `tl`, `rev`, `unq`, `slc`, `at`, `take`, `drop`).
//!
//! `len` counts bytes, as the language defines it; every other operation on a text
//! works on characters (Unicode scalars), so `hd "héllo"` is `"h"` and slicing never
//! splits a character. Case functions are ASCII-only by definition.

use std::collections::HashSet;
use std::ops::Range;

use super::convert::{int_arg, list_arg, text_arg};
use super::sources::{count_arg, transformed};
use super::stats::set_key;
use super::{Args, BuiltinDef, InPlaceDef};
use crate::copy_stats;
use crate::error::{codes, RtError, RtResult};
use crate::line_source::transform::Step;
use crate::text_shape::{char_value, Chars};
use crate::value::{Obj, Value};

#[rustfmt::skip]
pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef { name: "len", min_args: 1, max_args: 1, f: len },
    BuiltinDef { name: "has", min_args: 2, max_args: 2, f: has },
    BuiltinDef { name: "hd", min_args: 1, max_args: 1, f: hd },
    BuiltinDef { name: "tl", min_args: 1, max_args: 1, f: tl },
    BuiltinDef { name: "rev", min_args: 1, max_args: 1, f: rev },
    BuiltinDef { name: "unq", min_args: 1, max_args: 1, f: unq },
    BuiltinDef { name: "slc", min_args: 3, max_args: 3, f: slc },
    BuiltinDef { name: "at", min_args: 2, max_args: 2, f: at },
    BuiltinDef { name: "take", min_args: 2, max_args: 2, f: take },
    BuiltinDef { name: "drop", min_args: 2, max_args: 2, f: drop },
    BuiltinDef { name: "trm", min_args: 1, max_args: 1, f: trm },
    BuiltinDef { name: "spl", min_args: 2, max_args: 2, f: spl },
    BuiltinDef { name: "cat", min_args: 2, max_args: 2, f: cat },
    BuiltinDef { name: "chars", min_args: 1, max_args: 1, f: chars },
    BuiltinDef { name: "ord", min_args: 1, max_args: 1, f: ord },
    BuiltinDef { name: "chr", min_args: 1, max_args: 1, f: chr },
    BuiltinDef { name: "upr", min_args: 1, max_args: 1, f: upr },
    BuiltinDef { name: "lwr", min_args: 1, max_args: 1, f: lwr },
    BuiltinDef { name: "cap", min_args: 1, max_args: 1, f: cap },
];

pub const IN_PLACE: &[InPlaceDef] = &[
    InPlaceDef {
        name: "rev",
        f: rev_in_place,
    },
    InPlaceDef {
        name: "tl",
        f: tl_in_place,
    },
    InPlaceDef {
        name: "slc",
        f: slc_in_place,
    },
    InPlaceDef {
        name: "take",
        f: take_in_place,
    },
    InPlaceDef {
        name: "drop",
        f: drop_in_place,
    },
    InPlaceDef {
        name: "upr",
        f: upr_in_place,
    },
    InPlaceDef {
        name: "lwr",
        f: lwr_in_place,
    },
];

/// A list or a text seen as a sequence of characters. A text stays borrowed: its
/// characters are found by position through its shape (`text_shape`: byte offsets in
/// an ASCII text, a walk only as far as needed in another), so `hd`, `at` and `take`
/// do not copy it into a character array.
enum Seq<'a> {
    List(&'a [Value]),
    Text(Chars<'a>),
}

impl Seq<'_> {
    fn of<'a>(builtin: &str, v: &'a Value) -> RtResult<Seq<'a>> {
        match v.heap() {
            Some(Obj::List(xs)) => Ok(Seq::List(xs)),
            Some(Obj::Text(shape, s)) => Ok(Seq::Text(Chars::new(s, shape))),
            _ => Err(RtError::new(
                codes::TYPE,
                format!("{builtin}: expected L or t, got {}", v.kind_name()),
            )),
        }
    }

    fn len(&self) -> usize {
        match self {
            Seq::List(xs) => xs.len(),
            Seq::Text(s) => s.count(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Seq::List(xs) => xs.is_empty(),
            Seq::Text(s) => s.text.is_empty(),
        }
    }

    /// The sub-sequence as a new value of the same kind; `r` ends at most at the end.
    fn slice(&self, r: Range<usize>) -> Value {
        match self {
            Seq::List(xs) => {
                // A copy of part of a list someone else holds (or did not hand over):
                // counted, as `xs=tl xs` copying per iteration is what makes it quadratic.
                let part = &xs[r.start.min(xs.len())..r.end.min(xs.len())];
                copy_stats::record(copy_stats::Kind::List, part.len());
                Value::list(part.to_vec())
            }
            Seq::Text(s) => Value::text(s.slice(r.start, r.end)),
        }
    }

    /// The element at `i` (a one-character text for texts), if there is one.
    fn get(&self, i: usize) -> Option<Value> {
        match self {
            Seq::List(xs) => xs.get(i).cloned(),
            Seq::Text(s) => s.get(i).map(char_value),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Seq::List(_) => "list",
            Seq::Text(_) => "text",
        }
    }
}

/// A Python-style index: negative counts from the end, then clamped to `0..=len`.
fn clamp_index(i: i64, len: usize) -> usize {
    let len = len as i64;
    let i = if i < 0 { i + len } else { i };
    i.clamp(0, len) as usize
}

fn len(args: &[Value]) -> RtResult {
    let n = match args[0].heap() {
        Some(Obj::Text(_, s)) => s.len(),
        Some(Obj::List(xs)) => xs.len(),
        Some(Obj::Map(m)) => m.len(),
        _ => {
            return Err(RtError::new(
                codes::TYPE,
                format!("len: expected t, L or M, got {}", args[0].kind_name()),
            ))
        }
    };
    Ok(Value::num(n as f64))
}

/// `has xs v`: list membership, or substring for texts.
fn has(args: &[Value]) -> RtResult {
    let found = match args[0].heap() {
        Some(Obj::List(xs)) => xs.contains(&args[1]),
        Some(Obj::Text(_, s)) => s.contains(text_arg("has", &args[1])?),
        _ => {
            return Err(RtError::new(
                codes::TYPE,
                format!("has: expected L or t, got {}", args[0].kind_name()),
            ))
        }
    };
    Ok(Value::bool(found))
}

fn hd(args: &[Value]) -> RtResult {
    let s = Seq::of("hd", &args[0])?;
    s.get(0)
        .ok_or_else(|| RtError::new(codes::DOMAIN, format!("hd: empty {}", s.kind())))
}

fn tl(args: &[Value]) -> RtResult {
    let s = Seq::of("tl", &args[0])?;
    if s.is_empty() {
        return Err(RtError::new(
            codes::DOMAIN,
            format!("tl: empty {}", s.kind()),
        ));
    }
    Ok(s.slice(1..s.len()))
}

/// Argument `i` when it is a list handed over that nothing else holds: its elements
/// can leave where they are (`ValueVec::drop_front`, `truncate`) instead of the rest
/// being copied, so `xs=tl xs` in a loop is linear.
fn list_held_once(args: &mut Args, i: usize) -> Option<Value> {
    if !args.is_handed_over(i) || args[i].as_list().is_none() {
        return None;
    }
    let xs = args.take(i);
    if xs.is_unique() {
        return Some(xs);
    }
    // Shared after all: another holder keeps `args[i]` alive once ours is released.
    std::mem::drop(xs);
    None
}

/// Keep elements `range` of a list held once, where they are.
fn keep_in_place(mut xs: Value, range: Range<usize>) -> Value {
    if let Some(Obj::List(items)) = xs.unique_mut() {
        items.truncate(range.end.max(range.start));
        items.drop_front(range.start);
    }
    xs
}

fn tl_in_place(args: &mut Args) -> RtResult {
    match list_held_once(args, 0) {
        Some(xs) if xs.as_list().is_some_and(|l| !l.is_empty()) => {
            Ok(keep_in_place(xs, 1..usize::MAX))
        }
        Some(xs) => tl(std::slice::from_ref(&xs)),
        None => tl(args.all()),
    }
}

fn slc_in_place(args: &mut Args) -> RtResult {
    let Some(xs) = list_held_once(args, 0) else {
        return slc(args.all());
    };
    let len = xs.as_list().map_or(0, <[Value]>::len);
    let a = clamp_index(int_arg("slc", &args[1])?, len);
    let b = clamp_index(int_arg("slc", &args[2])?, len);
    Ok(keep_in_place(xs, a..b.max(a)))
}

fn take_in_place(args: &mut Args) -> RtResult {
    counted_in_place(args, "take", take, |n, _| 0..n)
}

fn drop_in_place(args: &mut Args) -> RtResult {
    counted_in_place(args, "drop", drop, |n, len| n..len)
}

/// `take n xs` / `drop n xs` on a list held once: the elements `keep(n, len)` stay
/// where they are (`n` clamped to the list); anything else goes to `borrowed`.
fn counted_in_place(
    args: &mut Args,
    name: &str,
    borrowed: fn(&[Value]) -> RtResult,
    keep: fn(usize, usize) -> Range<usize>,
) -> RtResult {
    if args[1].as_source().is_some() {
        return borrowed(args.all());
    }
    let Some(xs) = list_held_once(args, 1) else {
        return borrowed(args.all());
    };
    let len = xs.as_list().map_or(0, <[Value]>::len);
    let n = clamp_index(int_arg(name, &args[0])?, len);
    Ok(keep_in_place(xs, keep(n, len)))
}

fn rev(args: &[Value]) -> RtResult {
    rev_in_place(&mut Args::borrowed(args))
}

/// `rev xs`: a list handed over unshared is reversed where it is.
fn rev_in_place(args: &mut Args) -> RtResult {
    if let Seq::Text(s) = Seq::of("rev", &args[0])? {
        return Ok(Value::text(s.text.chars().rev().collect::<String>()));
    }
    let mut out = args.take(0);
    if let Some(Obj::List(xs)) = out.make_mut() {
        xs.reverse();
    }
    Ok(out)
}

/// `unq xs`: drop repeats, keeping first occurrences in order.
fn unq(args: &[Value]) -> RtResult {
    Ok(match Seq::of("unq", &args[0])? {
        Seq::Text(s) => {
            let mut seen = HashSet::new();
            Value::text(
                s.text
                    .chars()
                    .filter(|c| seen.insert(*c))
                    .collect::<String>(),
            )
        }
        Seq::List(xs) => {
            // Hashable elements (numbers, texts, bools) dedupe by key; others compare
            // structurally against what was kept.
            let mut seen = HashSet::new();
            let mut kept: Vec<Value> = Vec::new();
            for x in xs {
                let fresh = match set_key(x) {
                    Some(k) => seen.insert(k),
                    None => !kept.contains(x),
                };
                if fresh {
                    kept.push(x.clone());
                }
            }
            Value::list(kept)
        }
    })
}

/// `slc xs a b`: elements `a..b`; negative indices count from the end; bounds clamp.
fn slc(args: &[Value]) -> RtResult {
    let s = Seq::of("slc", &args[0])?;
    let a = clamp_index(int_arg("slc", &args[1])?, s.len());
    let b = clamp_index(int_arg("slc", &args[2])?, s.len());
    Ok(s.slice(a..b.max(a)))
}

/// `at xs i`: one element; negative `i` counts from the end, fractional `i` floors.
fn at(args: &[Value]) -> RtResult {
    element_at(&args[0], &args[1])
}

/// `at xs i`, also what compiled code calls directly (`ilo_at`).
pub fn element_at(xs: &Value, i: &Value) -> RtResult {
    let s = Seq::of("at", xs)?;
    let i = int_arg("at", i)?;
    // Only an index from the end needs the length (for a text, a count).
    let i = if i < 0 { i + s.len() as i64 } else { i };
    usize::try_from(i)
        .ok()
        .and_then(|i| s.get(i))
        .ok_or_else(|| RtError::new(codes::DOMAIN, format!("{} index out of bounds", s.kind())))
}

/// `take n xs`: Python's `xs[:n]`.
fn take(args: &[Value]) -> RtResult {
    if args[1].as_source().is_some() {
        return Ok(transformed(
            &args[1],
            Step::Take(count_arg("take", &args[0])?),
        ));
    }
    let s = Seq::of("take", &args[1])?;
    let n = int_arg("take", &args[0])?;
    // A count from the start needs no length: the slice stops at the end.
    let end = usize::try_from(n).unwrap_or_else(|_| clamp_index(n, s.len()));
    Ok(s.slice(0..end))
}

/// `drop n xs`: Python's `xs[n:]`.
fn drop(args: &[Value]) -> RtResult {
    if args[1].as_source().is_some() {
        return Ok(transformed(
            &args[1],
            Step::Drop(count_arg("drop", &args[0])?),
        ));
    }
    let s = Seq::of("drop", &args[1])?;
    let start = clamp_index(int_arg("drop", &args[0])?, s.len());
    Ok(s.slice(start..s.len()))
}

fn trm(args: &[Value]) -> RtResult {
    Ok(Value::text(text_arg("trm", &args[0])?.trim()))
}

/// `spl t sep`: every piece, empty ones included; an empty separator splits into
/// characters.
fn spl(args: &[Value]) -> RtResult {
    let s = text_arg("spl", &args[0])?;
    let sep = text_arg("spl", &args[1])?;
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::text(c.to_string())).collect()
    } else {
        s.split(sep).map(Value::text).collect()
    };
    Ok(Value::list(parts))
}

/// `cat xs sep`: join; non-text elements contribute their display form.
fn cat(args: &[Value]) -> RtResult {
    let xs = list_arg("cat", &args[0])?;
    let sep = text_arg("cat", &args[1])?;
    let mut out = String::new();
    for (i, x) in xs.iter().enumerate() {
        let shown;
        let piece = match x.as_text() {
            Some(t) => t,
            None => {
                shown = x.to_string();
                &shown
            }
        };
        // The same long text may be listed many times: the join can outgrow memory.
        let sep = if i > 0 { sep } else { "" };
        crate::limits::reserve_text("cat", &mut out, sep.len().saturating_add(piece.len()))?;
        out.push_str(sep);
        out.push_str(piece);
    }
    Ok(Value::text(out))
}

fn chars(args: &[Value]) -> RtResult {
    let s = text_arg("chars", &args[0])?;
    Ok(Value::list(
        s.chars().map(|c| Value::text(c.to_string())).collect(),
    ))
}

fn ord(args: &[Value]) -> RtResult {
    match text_arg("ord", &args[0])?.chars().next() {
        Some(c) => Ok(Value::num(c as u32 as f64)),
        None => Err(RtError::new(codes::DOMAIN, "ord: empty text")),
    }
}

fn chr(args: &[Value]) -> RtResult {
    let n = int_arg("chr", &args[0])?;
    u32::try_from(n)
        .ok()
        .and_then(char::from_u32)
        .map(|c| Value::text(c.to_string()))
        .ok_or_else(|| RtError::new(codes::DOMAIN, format!("chr: {n} is not a character code")))
}

fn upr(args: &[Value]) -> RtResult {
    Ok(Value::text(text_arg("upr", &args[0])?.to_ascii_uppercase()))
}

fn lwr(args: &[Value]) -> RtResult {
    Ok(Value::text(text_arg("lwr", &args[0])?.to_ascii_lowercase()))
}

/// `upr` on a handed-over text nobody else holds changes its bytes where they are
/// (ASCII case changes keep every character's length), so a mapped stream line is
/// not copied again.
fn upr_in_place(args: &mut Args) -> RtResult {
    change_case_in_place(args, "upr", str::make_ascii_uppercase)
}

fn lwr_in_place(args: &mut Args) -> RtResult {
    change_case_in_place(args, "lwr", str::make_ascii_lowercase)
}

fn change_case_in_place(args: &mut Args, builtin: &str, change: fn(&mut str)) -> RtResult {
    text_arg(builtin, &args[0])?;
    let mut out = args.take(0);
    if let Some(Obj::Text(_, s)) = out.make_mut() {
        change(s);
    }
    Ok(out)
}

fn cap(args: &[Value]) -> RtResult {
    let mut s = text_arg("cap", &args[0])?.to_owned();
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    Ok(Value::text(s))
}

#[cfg(test)]
mod tests {
    use super::super::test_values::{n, nums, show, t};
    use super::*;

    #[test]
    fn len_counts_bytes_elements_and_entries() {
        assert_eq!(show(len(&[t("héllo")])), "6");
        assert_eq!(show(len(&[nums(&[1.0, 2.0])])), "2");
        assert_eq!(show(len(&[Value::map(crate::value::Map::new())])), "0");
        assert_eq!(len(&[n(1.0)]).unwrap_err().code, codes::TYPE);
    }

    #[test]
    fn has_checks_membership_and_substrings() {
        assert_eq!(show(has(&[t("hello"), t("ell")])), "true");
        assert_eq!(show(has(&[t("hello"), t("z")])), "false");
        assert_eq!(show(has(&[nums(&[1.0, 2.0]), n(2.0)])), "true");
        assert_eq!(show(has(&[nums(&[1.0]), t("1")])), "false");
    }

    #[test]
    fn hd_and_tl_work_on_characters_and_reject_empty() {
        assert_eq!(show(hd(&[t("héllo")])), "h");
        assert_eq!(show(tl(&[t("héllo")])), "éllo");
        assert_eq!(
            show(tl(&[Value::list(vec![t("a"), t("b"), t("c")])])),
            "[b, c]"
        );
        let e = hd(&[nums(&[])]).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (codes::DOMAIN, "hd: empty list")
        );
        assert_eq!(tl(&[t("")]).unwrap_err().message, "tl: empty text");
    }

    #[test]
    fn rev_and_unq() {
        assert_eq!(show(rev(&[nums(&[1.0, 2.0, 3.0])])), "[3, 2, 1]");
        assert_eq!(show(rev(&[t("abc")])), "cba");
        assert_eq!(show(unq(&[nums(&[1.0, 1.0, 2.0])])), "[1, 2]");
        assert_eq!(show(unq(&[t("banana")])), "ban");
        let nested = Value::list(vec![nums(&[1.0]), nums(&[1.0]), t("1"), n(1.0)]);
        assert_eq!(show(unq(&[nested])), "[[1], 1, 1]");
    }

    #[test]
    fn slc_takes_negative_indices_and_clamps() {
        let xs = nums(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(show(slc(&[xs.clone(), n(1.0), n(3.0)])), "[2, 3]");
        assert_eq!(show(slc(&[xs.clone(), n(-2.0), n(99.0)])), "[3, 4]");
        assert_eq!(show(slc(&[xs, n(3.0), n(1.0)])), "[]");
        assert_eq!(show(slc(&[t("héllo"), n(1.0), n(-1.0)])), "éll");
    }

    #[test]
    fn at_indexes_from_either_end_and_floors() {
        let xs = nums(&[1.0, 2.0, 3.0]);
        assert_eq!(show(at(&[xs.clone(), n(-1.0)])), "3");
        assert_eq!(show(at(&[xs.clone(), n(1.7)])), "2");
        assert_eq!(show(at(&[t("héllo"), n(1.0)])), "é");
        let e = at(&[xs.clone(), n(5.0)]).unwrap_err();
        assert_eq!(e.to_string(), "ILO-R004: list index out of bounds");
        assert_eq!(at(&[xs, n(-4.0)]).unwrap_err().code, codes::DOMAIN);
    }

    #[test]
    fn take_and_drop_follow_python_slices() {
        let xs = nums(&[1.0, 2.0, 3.0]);
        assert_eq!(show(take(&[n(2.0), xs.clone()])), "[1, 2]");
        assert_eq!(show(take(&[n(-1.0), xs.clone()])), "[1, 2]");
        assert_eq!(show(take(&[n(9.0), xs.clone()])), "[1, 2, 3]");
        assert_eq!(show(drop(&[n(1.0), xs.clone()])), "[2, 3]");
        assert_eq!(show(drop(&[n(-1.0), xs])), "[3]");
        assert_eq!(show(take(&[n(2.0), t("héllo")])), "hé");
    }

    #[test]
    fn trm_spl_cat() {
        assert_eq!(show(trm(&[t("  a  ")])), "a");
        assert_eq!(show(spl(&[t("a,b,,c"), t(",")])), "[a, b, , c]");
        assert_eq!(show(spl(&[t("ab"), t("")])), "[a, b]");
        let xs = Value::list(vec![t("a"), t("b"), n(3.0)]);
        assert_eq!(show(cat(&[xs, t(",")])), "a,b,3");
    }

    #[test]
    fn characters_and_codes() {
        assert_eq!(show(chars(&[t("abc")])), "[a, b, c]");
        assert_eq!(show(ord(&[t("A")])), "65");
        assert_eq!(ord(&[t("")]).unwrap_err().code, codes::DOMAIN);
        assert_eq!(show(chr(&[n(66.0)])), "B");
        assert_eq!(chr(&[n(-1.0)]).unwrap_err().code, codes::DOMAIN);
        assert_eq!(chr(&[n(55296.0)]).unwrap_err().code, codes::DOMAIN);
    }

    #[test]
    fn ascii_case() {
        assert_eq!(show(upr(&[t("abcé")])), "ABCé");
        assert_eq!(show(lwr(&[t("ABC")])), "abc");
        assert_eq!(show(cap(&[t("abc")])), "Abc");
        assert_eq!(show(cap(&[t("éa")])), "éa");
        assert_eq!(show(cap(&[t("")])), "");
    }
}
