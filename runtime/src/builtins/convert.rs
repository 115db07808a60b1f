//! Builtins: conversions between values and text (`str`, `num`, `fmt`, `fmt2`, `padl`,
//! `padr`) and `prnt`.
//!
//! Also home of the argument accessors the other families share: they turn a borrowed
//! [`Value`] into the Rust type a builtin needs, or an `ILO-R001` error naming the
//! builtin and the kind it got. (The verifier catches most mismatches; values typed
//! `_` reach these checks at run time.)

use std::fmt::Write as _;
use std::io::Write;

use super::{Args, BuiltinDef, InPlaceDef};
use crate::error::{codes, RtError, RtResult};
use crate::value::{num_to_string, Map, Obj, Value};

#[rustfmt::skip]
pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef { name: "str", min_args: 1, max_args: 1, f: str_ },
    BuiltinDef { name: "num", min_args: 1, max_args: 1, f: num },
    BuiltinDef { name: "fmt", min_args: 1, max_args: super::VARIADIC, f: fmt },
    BuiltinDef { name: "fmt2", min_args: 2, max_args: 2, f: fmt2 },
    BuiltinDef { name: "prnt", min_args: 1, max_args: 1, f: prnt },
    BuiltinDef { name: "padl", min_args: 2, max_args: 3, f: padl },
    BuiltinDef { name: "padr", min_args: 2, max_args: 3, f: padr },
];

pub const IN_PLACE: &[InPlaceDef] = &[InPlaceDef {
    name: "fmt",
    f: fmt_in_place,
}];

// ── argument accessors shared by the families ──

fn type_error(builtin: &str, expected: &str, got: &Value) -> RtError {
    RtError::new(
        codes::TYPE,
        format!("{builtin}: expected {expected}, got {}", got.kind_name()),
    )
}

pub(super) fn num_arg(builtin: &str, v: &Value) -> RtResult<f64> {
    v.as_num().ok_or_else(|| type_error(builtin, "n", v))
}

pub(super) fn text_arg<'a>(builtin: &str, v: &'a Value) -> RtResult<&'a str> {
    v.as_text().ok_or_else(|| type_error(builtin, "t", v))
}

pub(super) fn list_arg<'a>(builtin: &str, v: &'a Value) -> RtResult<&'a [Value]> {
    v.as_list().ok_or_else(|| type_error(builtin, "L", v))
}

pub(super) fn map_arg<'a>(builtin: &str, v: &'a Value) -> RtResult<&'a Map> {
    v.as_map().ok_or_else(|| type_error(builtin, "M", v))
}

/// A list whose elements are all numbers.
pub(super) fn nums_arg(builtin: &str, v: &Value) -> RtResult<Vec<f64>> {
    list_arg(builtin, v)?
        .iter()
        .map(|x| x.as_num().ok_or_else(|| type_error(builtin, "L n", v)))
        .collect()
}

/// An integer argument (counts, indices, widths): floats floor, as `at xs i` does.
pub(super) fn int_arg(builtin: &str, v: &Value) -> RtResult<i64> {
    let n = num_arg(builtin, v)?;
    if n.is_finite() {
        // `as` saturates at the i64 range, which is the clamping every caller wants.
        Ok(n.floor() as i64)
    } else {
        Err(RtError::new(
            codes::DOMAIN,
            format!(
                "{builtin}: expected a finite number, got {}",
                num_to_string(n)
            ),
        ))
    }
}

/// A function value (called later through `func::call_value`).
pub(super) fn func_arg<'a>(builtin: &str, v: &'a Value) -> RtResult<&'a Value> {
    match v.as_func() {
        Some(_) => Ok(v),
        None => Err(type_error(builtin, "F", v)),
    }
}

// ── the builtins ──

/// `str x`: the display form; numbers print without a trailing `.0`.
fn str_(args: &[Value]) -> RtResult {
    if args[0].as_text().is_some() {
        return Ok(args[0].clone());
    }
    if let Some(n) = args[0].as_num() {
        // Straight to the number's digits, not through `Display` and the formatter.
        return Ok(Value::text(num_to_string(n)));
    }
    Ok(Value::text(args[0].to_string()))
}

/// `num t`: `~n` when the text reads as a number, otherwise `^t` (the text itself).
fn num(args: &[Value]) -> RtResult {
    if args[0].is_num() {
        return Ok(Value::ok(args[0].clone()));
    }
    let s = text_arg("num", &args[0])?;
    Ok(match s.trim().parse::<f64>() {
        Ok(n) => Value::ok(Value::num(n)),
        Err(_) => Value::err(args[0].clone()),
    })
}

/// `fmt tmpl args…`: each bare `{}` takes the next argument's display form. Printf-style
/// specs such as `{:.2f}` are rejected so they cannot silently print wrong; `fmt2` and
/// `padl` cover precision and width. Placeholders without an argument stay as `{}`.
fn fmt(args: &[Value]) -> RtResult {
    fmt_in_place(&mut Args::borrowed(args))
}

/// `fmt "{}…" s …` with `s` a text handed over unshared extends `s` where it is, so
/// growing a text with `s=fmt "{}{}," s x` in a loop costs the new part only.
fn fmt_in_place(args: &mut Args) -> RtResult {
    let vals = args.all();
    let tmpl = text_arg("fmt", &vals[0])?;
    // Held to the end: `vals[1]` must stay alive while the copy below reads it.
    let mut _head = None;
    if let (Some(tail), Some(first)) = (tmpl.strip_prefix("{}"), vals.get(1)) {
        if first.as_text().is_some() {
            let mut head = args.take(1);
            if head.is_unique() {
                if let Some(Obj::Text(_, out)) = head.make_mut() {
                    fill_template(out, tail, &vals[2..])?;
                }
                return Ok(head);
            }
            _head = Some(head);
        }
    }
    let mut out = String::with_capacity(tmpl.len());
    fill_template(&mut out, tmpl, &vals[1..])?;
    Ok(Value::text(out))
}

/// Append `tmpl` to `out` with each `{}` replaced by the next of `args`.
fn fill_template(out: &mut String, tmpl: &str, args: &[Value]) -> RtResult<()> {
    let mut rest = args.iter();
    let mut chars = tmpl.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '{' {
            match chars.peek() {
                Some((_, '}')) => {
                    chars.next();
                    match rest.next() {
                        Some(v) => {
                            let _ = write!(out, "{v}");
                        }
                        None => out.push_str("{}"),
                    }
                    continue;
                }
                Some((_, ':')) => {
                    let spec_end = tmpl[i..].find('}').map_or(tmpl.len(), |e| i + e + 1);
                    return Err(RtError::new(
                        codes::DOMAIN,
                        format!(
                            "fmt: format spec '{}' is not supported; use bare {{}} with fmt2 for decimals and padl for width",
                            &tmpl[i..spec_end]
                        ),
                    ));
                }
                _ => {}
            }
        }
        out.push(c);
    }
    Ok(())
}

/// `fmt2 x digits`: fixed decimals, half-to-even on the exact binary value (which is
/// what Rust's precision formatting does); `digits` is clamped to 0..=20.
fn fmt2(args: &[Value]) -> RtResult {
    let x = num_arg("fmt2", &args[0])?;
    let digits = int_arg("fmt2", &args[1])?.clamp(0, 20) as usize;
    if !x.is_finite() {
        return Ok(Value::text(num_to_string(x)));
    }
    Ok(Value::text(format!("{x:.digits$}")))
}

/// `prnt v`: write the display form and a newline to stdout, return `v`.
fn prnt(args: &[Value]) -> RtResult {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", args[0])
        .and_then(|_| out.flush())
        .map_err(|e| RtError::new(codes::PANIC, format!("prnt: {e}")))?;
    Ok(args[0].clone())
}

fn padl(args: &[Value]) -> RtResult {
    pad("padl", args, true)
}

fn padr(args: &[Value]) -> RtResult {
    pad("padr", args, false)
}

/// Pad to a width counted in characters, with spaces or a one-character fill text.
fn pad(builtin: &str, args: &[Value], left: bool) -> RtResult {
    let s = match args[0].as_text() {
        Some(s) => s.to_owned(),
        None if args[0].is_num() => args[0].to_string(),
        None => return Err(type_error(builtin, "t", &args[0])),
    };
    let width = int_arg(builtin, &args[1])?.max(0) as usize;
    let fill = match args.get(2) {
        None => ' ',
        Some(v) => {
            let mut cs = text_arg(builtin, v)?.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => c,
                _ => {
                    return Err(RtError::new(
                        codes::DOMAIN,
                        format!("{builtin}: pad text must be exactly one character"),
                    ))
                }
            }
        }
    };
    let have = s.chars().count();
    if have >= width {
        return Ok(Value::text(s));
    }
    let pad_bytes = (width - have).saturating_mul(fill.len_utf8());
    let mut out = crate::limits::text_with_capacity(builtin, s.len().saturating_add(pad_bytes))?;
    if !left {
        out.push_str(&s);
    }
    out.extend(std::iter::repeat_n(fill, width - have));
    if left {
        out.push_str(&s);
    }
    Ok(Value::text(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::text(s)
    }
    fn n(x: f64) -> Value {
        Value::num(x)
    }

    #[test]
    fn str_formats_numbers_without_trailing_zero() {
        assert_eq!(str_(&[n(3.0)]).unwrap().to_string(), "3");
        assert_eq!(str_(&[n(0.1)]).unwrap().to_string(), "0.1");
        assert_eq!(str_(&[n(-2.5)]).unwrap().as_text(), Some("-2.5"));
    }

    #[test]
    fn num_parses_or_returns_the_text_as_err() {
        assert_eq!(num(&[t("12")]).unwrap().to_string(), "~12");
        assert_eq!(num(&[t("1e3")]).unwrap().to_string(), "~1000");
        assert_eq!(num(&[t("3.5")]).unwrap().to_string(), "~3.5");
        let bad = num(&[t("zz")]).unwrap();
        assert_eq!(bad.as_result().unwrap().unwrap_err().as_text(), Some("zz"));
        assert_eq!(num(&[n(1.0)]).unwrap().to_string(), "~1");
        assert_eq!(num(&[Value::NIL]).unwrap_err().code, codes::TYPE);
    }

    #[test]
    fn fmt_fills_bare_placeholders_left_to_right() {
        let r = fmt(&[t("a={} b={}"), n(1.0), t("x")]).unwrap();
        assert_eq!(r.as_text(), Some("a=1 b=x"));
        let l = Value::list(vec![n(1.0), n(2.0)]);
        assert_eq!(fmt(&[t("{}"), l]).unwrap().as_text(), Some("[1, 2]"));
        assert_eq!(fmt(&[t("{} {}"), n(1.0)]).unwrap().as_text(), Some("1 {}"));
        assert_eq!(fmt(&[t("{a}")]).unwrap().as_text(), Some("{a}"));
    }

    #[test]
    fn fmt_rejects_printf_specs() {
        let e = fmt(&[t("x={:.2f}"), n(1.0)]).unwrap_err();
        assert_eq!(e.code, codes::DOMAIN);
        assert!(e.message.contains("{:.2f}"), "{}", e.message);
    }

    #[test]
    fn fmt2_rounds_half_to_even_and_clamps_digits() {
        assert_eq!(fmt2(&[n(1.23456), n(2.0)]).unwrap().as_text(), Some("1.23"));
        assert_eq!(fmt2(&[n(0.125), n(2.0)]).unwrap().as_text(), Some("0.12"));
        assert_eq!(fmt2(&[n(0.375), n(2.0)]).unwrap().as_text(), Some("0.38"));
        assert_eq!(fmt2(&[n(2.5), n(-3.0)]).unwrap().as_text(), Some("2"));
        let wide = fmt2(&[n(1.0), n(99.0)]).unwrap();
        assert_eq!(wide.as_text().map(str::len), Some(22));
    }

    #[test]
    fn prnt_returns_its_argument() {
        let v = Value::list(vec![n(1.0)]);
        let r = prnt(std::slice::from_ref(&v)).unwrap();
        assert_eq!(r.raw(), v.raw());
    }

    #[test]
    fn padding_counts_characters() {
        assert_eq!(
            padl(&[t("7"), n(3.0), t("0")]).unwrap().as_text(),
            Some("007")
        );
        assert_eq!(padr(&[t("ab"), n(4.0)]).unwrap().as_text(), Some("ab  "));
        assert_eq!(padl(&[t("hé"), n(3.0)]).unwrap().as_text(), Some(" hé"));
        assert_eq!(padl(&[t("long"), n(2.0)]).unwrap().as_text(), Some("long"));
        assert_eq!(
            padr(&[t("a"), n(3.0), t("..")]).unwrap_err().code,
            codes::DOMAIN
        );
    }

    #[test]
    fn accessors_report_the_builtin_and_kind() {
        let e = num_arg("abs", &t("x")).unwrap_err();
        assert_eq!(e.code, codes::TYPE);
        assert_eq!(e.message, "abs: expected n, got t");
        assert_eq!(int_arg("at", &n(-1.5)).unwrap(), -2);
        assert_eq!(int_arg("at", &n(f64::NAN)).unwrap_err().code, codes::DOMAIN);
        assert!(nums_arg("sum", &Value::list(vec![n(1.0), t("a")])).is_err());
        assert!(func_arg("map", &n(1.0)).is_err());
    }

    #[test]
    fn library_builtin_names_are_unique_across_the_whole_table() {
        use crate::builtins::{hof, linalg, list, map, math, stats, table, text};
        let families = [
            TABLE,
            text::TABLE,
            list::TABLE,
            map::TABLE,
            hof::TABLE,
            math::TABLE,
            stats::TABLE,
            linalg::TABLE,
        ];
        for def in families.iter().flat_map(|f| f.iter()) {
            let count = table().iter().filter(|d| d.name == def.name).count();
            assert_eq!(count, 1, "builtin {} is defined {count} times", def.name);
            assert!(def.min_args <= def.max_args, "{}", def.name);
        }
    }
}
