//! Builtins: the process environment and the clock (`env`, `now`, `sleep`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::convert::{num_arg, text_arg};
use super::BuiltinDef;
use crate::error::{codes, RtError, RtResult};
use crate::value::Value;

pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef {
        name: "env",
        min_args: 1,
        max_args: 1,
        f: env,
    },
    BuiltinDef {
        name: "now",
        min_args: 0,
        max_args: 0,
        f: now,
    },
    BuiltinDef {
        name: "sleep",
        min_args: 1,
        max_args: 1,
        f: sleep,
    },
];

/// `env key` → `R t t`. A value that is not valid UTF-8 is read lossily rather than
/// reported as missing; a name outside `--allow-env` is an `Err` naming the flag.
fn env(args: &[Value]) -> RtResult {
    let key = text_arg("env", &args[0])?;
    if let Err(denied) = crate::caps::check_env(key) {
        return Ok(Value::err(Value::text(denied)));
    }
    // `var_os` panics on keys containing '=' or NUL; such a variable cannot exist.
    let found = if key.is_empty() || key.contains(['=', '\0']) {
        None
    } else {
        std::env::var_os(key)
    };
    Ok(match found {
        Some(v) => Value::ok(Value::text(v.to_string_lossy().into_owned())),
        None => Value::err(Value::text(format!("env var '{key}' not set"))),
    })
}

/// `now` → `n`: seconds since the Unix epoch, with sub-second precision.
fn now(_args: &[Value]) -> RtResult {
    let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        // A clock set before 1970: report the negative offset.
        Err(e) => -e.duration().as_secs_f64(),
    };
    Ok(Value::num(secs))
}

/// `sleep ms` → nil. Zero, negative and NaN durations return at once.
fn sleep(args: &[Value]) -> RtResult {
    let ms = num_arg("sleep", &args[0])?;
    if ms > 0.0 {
        let d = Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
            RtError::new(
                codes::DOMAIN,
                format!("sleep: duration {ms} ms is too long"),
            )
        })?;
        // In a server handler this suspends its task, not the event loop. A client
        // that hangs up ends the sleep early; the handler is cancelled by then.
        let _ = crate::suspend::sleep(d);
    }
    Ok(Value::NIL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn env_reads_set_variables_and_reports_missing_ones() {
        // PATH is set for any process that can run cargo.
        let expected = std::env::var("PATH").unwrap();
        let r = env(&[Value::text("PATH")]).unwrap();
        assert_eq!(r.to_string(), format!("~{expected}"));
        let r = env(&[Value::text("NOPE_X_UNSET")]).unwrap();
        assert_eq!(r.to_string(), "^env var 'NOPE_X_UNSET' not set");
        let r = env(&[Value::text("A=B")]).unwrap();
        assert_eq!(r.to_string(), "^env var 'A=B' not set");
        assert_eq!(
            env(&[Value::num(1.0)]).unwrap_err().message,
            "env: expected t, got n"
        );
    }

    #[test]
    fn now_is_current_unix_time() {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let n = now(&[]).unwrap().as_num().unwrap();
        assert!(n >= before && n - before < 5.0, "{n} vs {before}");
    }

    #[test]
    fn sleep_waits_and_returns_nil() {
        let start = Instant::now();
        assert!(sleep(&[Value::num(20.0)]).unwrap().is_nil());
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(sleep(&[Value::num(-5.0)]).unwrap().is_nil());
        assert!(sleep(&[Value::num(f64::NAN)]).unwrap().is_nil());
        assert_eq!(
            sleep(&[Value::num(f64::INFINITY)]).unwrap_err().code,
            codes::DOMAIN
        );
        assert_eq!(sleep(&[Value::text("1")]).unwrap_err().code, codes::TYPE);
    }
}
