//! JSON text of values of any depth, compact (`jdmp`, response bodies) or indented
//! two spaces (`wr path v "json"`).
//!
//! The mapping: numbers (integral ones without a fraction; NaN and infinities as
//! `null`), texts as strings, `nil` as `null`, lists as arrays, records and maps as
//! objects with keys sorted (map number keys written as strings), `~v` / `^e` as
//! `{"ok": v}` / `{"err": e}`, functions and streams as `null`. Open containers wait
//! on a heap stack, as in [`super::display`].

use std::borrow::Cow;
use std::slice;
use std::vec;

use crate::value::{MapKey, Obj, Value};

enum Frame<'a> {
    Array(slice::Iter<'a, Value>),
    Object(vec::IntoIter<(Cow<'a, str>, &'a Value)>),
}

/// Compact JSON text of `root`.
pub fn to_json_text(root: &Value) -> String {
    write_json(root, false)
}

/// JSON text of `root`, indented by two spaces per level.
pub fn to_json_pretty(root: &Value) -> String {
    write_json(root, true)
}

fn write_json(root: &Value, pretty: bool) -> String {
    let mut out = String::new();
    let mut open: Vec<(Frame<'_>, bool)> = Vec::new();
    let mut next = Some(root);
    loop {
        if let Some(v) = next.take() {
            open_value(v, &mut out, &mut open);
            continue;
        }
        let depth = open.len();
        let Some((frame, first)) = open.last_mut() else {
            return out;
        };
        let element = match frame {
            Frame::Array(items) => items.next().map(|v| (None, v)),
            Frame::Object(entries) => entries.next().map(|(k, v)| (Some(k), v)),
        };
        let Some((key, value)) = element else {
            let close = if matches!(frame, Frame::Array(_)) {
                ']'
            } else {
                '}'
            };
            open.pop();
            newline(&mut out, pretty, depth - 1);
            out.push(close);
            continue;
        };
        if !std::mem::replace(first, false) {
            out.push(',');
        }
        newline(&mut out, pretty, depth);
        if let Some(key) = key {
            push_string(&mut out, &key);
            out.push_str(if pretty { ": " } else { ":" });
        }
        next = Some(value);
    }
}

fn newline(out: &mut String, pretty: bool, depth: usize) {
    if pretty {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    }
}

/// Write a scalar, or an empty container, or open a container's frame.
fn open_value<'a>(v: &'a Value, out: &mut String, open: &mut Vec<(Frame<'a>, bool)>) {
    if let Some(n) = v.as_num() {
        out.push_str(&num_text(n));
        return;
    }
    if v.is_nil() {
        out.push_str("null");
        return;
    }
    if let Some(b) = v.as_bool() {
        out.push_str(if b { "true" } else { "false" });
        return;
    }
    let frame = match v.heap() {
        Some(Obj::Text(_, s)) => return push_string(out, s),
        Some(Obj::List(items)) => Frame::Array(items.iter()),
        Some(Obj::Map(m)) => {
            let mut entries: Vec<(Cow<'a, str>, &'a Value)> = m
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        MapKey::Int(i) => Cow::Owned(i.to_string()),
                        MapKey::Text(s) => Cow::Borrowed(s.as_str()),
                    };
                    (key, v)
                })
                .collect();
            // `1` and `"1"` are one JSON key: the text key, which iterates later, wins.
            entries.reverse();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries.dedup_by(|later, earlier| later.0 == earlier.0);
            Frame::Object(entries.into_iter())
        }
        Some(Obj::Record(r)) => {
            let mut entries: Vec<(Cow<'a, str>, &'a Value)> =
                r.ty.fields
                    .iter()
                    .map(|f| Cow::Borrowed(f.as_str()))
                    .zip(r.values.iter())
                    .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Frame::Object(entries.into_iter())
        }
        Some(Obj::Ok(inner)) => Frame::Object(vec![(Cow::Borrowed("ok"), inner)].into_iter()),
        Some(Obj::Err(inner)) => Frame::Object(vec![(Cow::Borrowed("err"), inner)].into_iter()),
        Some(Obj::Func(_)) | Some(Obj::Source(_)) | None => {
            out.push_str("null");
            return;
        }
    };
    let empty = match &frame {
        Frame::Array(items) => items.len() == 0,
        Frame::Object(entries) => entries.len() == 0,
    };
    match (&frame, empty) {
        (Frame::Array(_), true) => out.push_str("[]"),
        (Frame::Object(_), true) => out.push_str("{}"),
        (Frame::Array(_), false) => out.push('['),
        (Frame::Object(_), false) => out.push('{'),
    }
    if !empty {
        open.push((frame, true));
    }
}

fn push_string(out: &mut String, s: &str) {
    // serde_json knows JSON's escaping rules; a str always serialises.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string()));
}

/// Integral numbers that fit an `i64` without a fraction (`3`, not `3.0`); NaN and
/// infinities, which JSON cannot spell, as `null`.
fn num_text(n: f64) -> String {
    // 2^63: the first integral f64 that no longer fits in an i64.
    const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.fract() == 0.0 && n.abs() < I64_LIMIT {
        (n as i64).to_string()
    } else {
        serde_json::Number::from_f64(n).map_or_else(|| "null".to_string(), |x| x.to_string())
    }
}
