//! Builtins: dates as Unix epoch seconds (`dtfmt`, `dtparse`), UTC only, with
//! strftime-style format strings as understood by chrono.

use std::fmt::Write as _;

use chrono::format::ParseErrorKind;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};

use super::convert::{num_arg, text_arg};
use super::BuiltinDef;
use crate::error::RtResult;
use crate::value::Value;

pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef {
        name: "dtfmt",
        min_args: 2,
        max_args: 2,
        f: dtfmt,
    },
    BuiltinDef {
        name: "dtparse",
        min_args: 2,
        max_args: 2,
        f: dtparse,
    },
];

/// `dtfmt epoch fmt` → `R t t`. Fractional seconds are kept (visible through `%.f`).
fn dtfmt(args: &[Value]) -> RtResult {
    let epoch = num_arg("dtfmt", &args[0])?;
    let fmt = text_arg("dtfmt", &args[1])?;
    Ok(to_result(
        format_epoch(epoch, fmt).map_err(|e| format!("dtfmt: {e}")),
    ))
}

/// `dtparse s fmt` → `R n t`. The text is read as UTC unless the format carries an
/// offset (`%z`); a format without a time of day gives midnight.
fn dtparse(args: &[Value]) -> RtResult {
    let s = text_arg("dtparse", &args[0])?;
    let fmt = text_arg("dtparse", &args[1])?;
    Ok(match parse_epoch(s, fmt) {
        Ok(n) => Value::ok(Value::num(n)),
        Err(e) => Value::err(Value::text(format!("dtparse: {e}"))),
    })
}

/// Errors name the builtin (`dtfmt: …`, `dtparse: …`) as upstream ilo's do, so a
/// message passed on still says where it came from.
fn format_epoch(epoch: f64, fmt: &str) -> Result<String, String> {
    let out_of_range = || format!("timestamp out of range ({epoch})");
    if !epoch.is_finite() {
        return Err(out_of_range());
    }
    let secs = epoch.floor();
    // Rounding may carry a fraction like 0.9999999999 up to a whole second.
    let nanos = (((epoch - secs) * 1e9).round() as u32).min(999_999_999);
    if secs.abs() >= i64::MAX as f64 {
        return Err(out_of_range());
    }
    let dt = DateTime::from_timestamp(secs as i64, nanos).ok_or_else(out_of_range)?;
    let mut out = String::new();
    // chrono reports unknown `%` specifiers as a formatting error rather than text.
    write!(out, "{}", dt.format(fmt)).map_err(|_| format!("invalid format string '{fmt}'"))?;
    Ok(out)
}

/// Try the most specific reading first: with an offset, then a naive date and time,
/// then a date alone (midnight). The first error that is not "the format lacks
/// fields" is the one worth reporting.
fn parse_epoch(s: &str, fmt: &str) -> Result<f64, String> {
    let with_offset = match DateTime::parse_from_str(s, fmt) {
        Ok(dt) => return Ok(epoch_of(dt.naive_utc())),
        Err(e) => e,
    };
    if with_offset.kind() != ParseErrorKind::NotEnough {
        return Err(with_offset.to_string());
    }
    let naive = match NaiveDateTime::parse_from_str(s, fmt) {
        Ok(dt) => return Ok(epoch_of(dt)),
        Err(e) => e,
    };
    if naive.kind() != ParseErrorKind::NotEnough {
        return Err(naive.to_string());
    }
    match NaiveDate::parse_from_str(s, fmt) {
        Ok(d) => Ok(epoch_of(d.and_time(NaiveTime::MIN))),
        Err(e) => Err(e.to_string()),
    }
}

fn epoch_of(dt: NaiveDateTime) -> f64 {
    let utc = dt.and_utc();
    utc.timestamp() as f64 + f64::from(utc.timestamp_subsec_nanos()) / 1e9
}

fn to_result(r: Result<String, String>) -> Value {
    match r {
        Ok(s) => Value::ok(Value::text(s)),
        Err(e) => Value::err(Value::text(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt_call(epoch: f64, fmt: &str) -> String {
        dtfmt(&[Value::num(epoch), Value::text(fmt)])
            .unwrap()
            .to_string()
    }

    fn parse_call(s: &str, fmt: &str) -> String {
        dtparse(&[Value::text(s), Value::text(fmt)])
            .unwrap()
            .to_string()
    }

    #[test]
    fn dtfmt_formats_utc() {
        assert_eq!(fmt_call(0.0, "%Y-%m-%d"), "~1970-01-01");
        assert_eq!(fmt_call(1700000000.0, "%Y-%m-%d"), "~2023-11-14");
        assert_eq!(fmt_call(1700000000.0, "%H:%M:%S"), "~22:13:20");
        assert_eq!(fmt_call(-1.0, "%Y-%m-%d %H:%M:%S"), "~1969-12-31 23:59:59");
        assert_eq!(fmt_call(1.25, "%S%.3f"), "~01.250");
        assert_eq!(fmt_call(1700000000.0, "%s"), "~1700000000");
    }

    #[test]
    fn dtfmt_errors() {
        assert_eq!(
            fmt_call(1e20, "%Y"),
            "^dtfmt: timestamp out of range (100000000000000000000)"
        );
        assert_eq!(
            fmt_call(f64::NAN, "%Y"),
            "^dtfmt: timestamp out of range (NaN)"
        );
        assert_eq!(fmt_call(0.0, "%Q"), "^dtfmt: invalid format string '%Q'");
        assert_eq!(
            dtfmt(&[Value::text("0"), Value::text("%Y")])
                .unwrap_err()
                .message,
            "dtfmt: expected n, got t"
        );
    }

    #[test]
    fn dtparse_dates_and_datetimes() {
        assert_eq!(parse_call("2024-01-02", "%Y-%m-%d"), "~1704153600");
        assert_eq!(parse_call("2024-01-15", "%Y-%m-%d"), "~1705276800");
        assert_eq!(
            parse_call("2023-11-14 22:13:20", "%Y-%m-%d %H:%M:%S"),
            "~1700000000"
        );
        assert_eq!(
            parse_call("2023-11-14T23:13:20+0100", "%Y-%m-%dT%H:%M:%S%z"),
            "~1700000000"
        );
        assert_eq!(parse_call("1700000000", "%s"), "~1700000000");
        assert_eq!(
            parse_call("2023-11-14 22:13:20.5", "%Y-%m-%d %H:%M:%S%.f"),
            "~1700000000.5"
        );
    }

    #[test]
    fn dtparse_errors() {
        assert_eq!(
            parse_call("nope", "%Y-%m-%d"),
            "^dtparse: input contains invalid characters"
        );
        assert_eq!(
            parse_call("2024-13-01", "%Y-%m-%d"),
            "^dtparse: input is out of range"
        );
        assert_eq!(
            parse_call("2024-01", "%Y-%m"),
            "^dtparse: input is not enough for unique date and time"
        );
        assert!(dtparse(&[Value::text("x"), Value::NIL]).is_err());
    }

    #[test]
    fn format_then_parse_round_trips() {
        let f = "%Y-%m-%d %H:%M:%S";
        for epoch in [0.0, 86399.0, 951782400.0, 4102444800.0] {
            let s = format_epoch(epoch, f).unwrap();
            assert_eq!(parse_epoch(&s, f).unwrap(), epoch, "{s}");
        }
    }
}
