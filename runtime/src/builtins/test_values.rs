//! Shorthands the builtin families' unit tests share for making argument values and
//! reading results.

use crate::error::RtResult;
use crate::value::Value;

pub fn t(s: &str) -> Value {
    Value::text(s)
}

pub fn n(x: f64) -> Value {
    Value::num(x)
}

pub fn nums(xs: &[f64]) -> Value {
    Value::list(xs.iter().map(|x| n(*x)).collect())
}

/// The display form of a result that must be Ok.
pub fn show(r: RtResult) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => panic!("expected a value, got {e}"),
    }
}
