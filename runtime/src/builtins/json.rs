//! Builtins: JSON (`jpar`, `jdmp`, `jpth`) and the value ↔ JSON mapping.
//!
//! The mapping is shared with the rest of the runtime (file formats, HTTP bodies)
//! through [`to_json`] and [`from_json`]:
//!
//! | ilo                | JSON                                              |
//! |--------------------|---------------------------------------------------|
//! | number             | number (integral values without a fraction)       |
//! | text / bool / nil  | string / bool / null                              |
//! | list               | array                                             |
//! | record, map        | object, keys sorted (map number keys stringified) |
//! | `~v` / `^e`        | `{"ok": v}` / `{"err": e}`                        |
//!
//! Parsing goes the other way, except that every object becomes a record of type
//! `json` whose fields are the object's keys in sorted order. serde_json is built
//! without `preserve_order`, so its object map is already sorted by key.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Number};

use super::convert::text_arg;
use super::BuiltinDef;
use crate::error::RtResult;
use crate::value::{MapKey, Obj, RecordType, Value};

/// The record type name given to every parsed JSON object.
pub const JSON_RECORD_NAME: &str = "json";

pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef {
        name: "jpar",
        min_args: 1,
        max_args: 1,
        f: jpar,
    },
    BuiltinDef {
        name: "jdmp",
        min_args: 1,
        max_args: 1,
        f: jdmp,
    },
    BuiltinDef {
        name: "jpth",
        min_args: 2,
        max_args: 2,
        f: jpth,
    },
];

/// `jpar text` → `R _ t`: the parsed value, or Err with the parser's message.
fn jpar(args: &[Value]) -> RtResult {
    let text = text_arg("jpar", &args[0])?;
    Ok(parse_to_result(text))
}

/// `jdmp value` → `t`: compact JSON.
fn jdmp(args: &[Value]) -> RtResult {
    Ok(Value::text(to_json(&args[0]).to_string()))
}

/// `jpth json path` → `R t t`: the value at a dot path (`items.0.name`). Strings come
/// back bare, anything else as compact JSON text.
fn jpth(args: &[Value]) -> RtResult {
    let text = text_arg("jpth", &args[0])?;
    let path = text_arg("jpth", &args[1])?;
    let doc: serde_json::Value = match serde_json::from_str(text) {
        Ok(doc) => doc,
        Err(e) => return Ok(Value::err(Value::text(e.to_string()))),
    };
    Ok(match lookup_path(&doc, path) {
        Ok(serde_json::Value::String(s)) => Value::ok(Value::text(s.clone())),
        Ok(other) => Value::ok(Value::text(other.to_string())),
        Err(msg) => Value::err(Value::text(msg)),
    })
}

/// Parse JSON text into `Ok(value)` or `Err(message)` as an ilo result value.
pub fn parse_to_result(text: &str) -> Value {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(j) => Value::ok(from_json(j)),
        Err(e) => Value::err(Value::text(e.to_string())),
    }
}

/// Walk a dot-separated path of object keys and array indices. The empty path is the
/// whole document.
fn lookup_path<'a>(
    doc: &'a serde_json::Value,
    path: &str,
) -> Result<&'a serde_json::Value, String> {
    if path.is_empty() {
        return Ok(doc);
    }
    let mut cur = doc;
    for seg in path.split('.') {
        cur = match cur {
            serde_json::Value::Object(m) => {
                m.get(seg).ok_or_else(|| format!("key '{seg}' not found"))?
            }
            serde_json::Value::Array(items) => {
                let i: usize = seg
                    .parse()
                    .map_err(|_| format!("expected an array index, got '{seg}'"))?;
                items
                    .get(i)
                    .ok_or_else(|| format!("index {i} out of bounds (length {})", items.len()))?
            }
            other => return Err(format!("cannot look up '{seg}' in {}", json_kind(other))),
        };
    }
    Ok(cur)
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Convert an ilo value to JSON. Functions and streams have no JSON form and become
/// null, as do NaN and infinities (JSON has no spelling for them).
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    if let Some(n) = v.as_num() {
        return num_to_json(n);
    }
    if v.is_nil() {
        return J::Null;
    }
    if let Some(b) = v.as_bool() {
        return J::Bool(b);
    }
    match v.heap() {
        Some(Obj::Text(s)) => J::String(s.clone()),
        Some(Obj::List(items)) => J::Array(items.iter().map(to_json).collect()),
        Some(Obj::Map(m)) => J::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match k {
                        MapKey::Int(i) => i.to_string(),
                        MapKey::Text(s) => s.clone(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Some(Obj::Record(r)) => J::Object(
            r.ty.fields
                .iter()
                .zip(&r.values)
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Some(Obj::Ok(inner)) => single_key_object("ok", to_json(inner)),
        Some(Obj::Err(inner)) => single_key_object("err", to_json(inner)),
        Some(Obj::Func(_)) | Some(Obj::Source(_)) | None => J::Null,
    }
}

fn single_key_object(key: &str, v: serde_json::Value) -> serde_json::Value {
    let mut m = Map::new();
    m.insert(key.to_string(), v);
    serde_json::Value::Object(m)
}

/// Integral numbers that fit an `i64` are written without a fraction (`3`, not `3.0`).
fn num_to_json(n: f64) -> serde_json::Value {
    // 2^63: the first integral f64 that no longer fits in an i64.
    const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if n.fract() == 0.0 && n.abs() < I64_LIMIT {
        serde_json::Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// Convert parsed JSON into an ilo value. Objects become `json` records; objects with
/// the same key set share one `RecordType`.
pub fn from_json(j: serde_json::Value) -> Value {
    Converter::default().convert(j)
}

#[derive(Default)]
struct Converter {
    shapes: HashMap<Vec<String>, Arc<RecordType>>,
}

impl Converter {
    fn convert(&mut self, j: serde_json::Value) -> Value {
        use serde_json::Value as J;
        match j {
            J::Null => Value::NIL,
            J::Bool(b) => Value::bool(b),
            // Every serde_json number (without arbitrary precision) has an f64 form.
            J::Number(n) => Value::num(n.as_f64().unwrap_or(f64::NAN)),
            J::String(s) => Value::text(s),
            J::Array(items) => Value::list(items.into_iter().map(|x| self.convert(x)).collect()),
            J::Object(m) => {
                let (keys, vals): (Vec<String>, Vec<serde_json::Value>) = m.into_iter().unzip();
                let ty = self.shape(keys);
                let values = vals.into_iter().map(|x| self.convert(x)).collect();
                Value::record(ty, values)
            }
        }
    }

    fn shape(&mut self, keys: Vec<String>) -> Arc<RecordType> {
        if let Some(ty) = self.shapes.get(&keys) {
            return ty.clone();
        }
        let ty = Arc::new(RecordType {
            name: JSON_RECORD_NAME.to_string(),
            fields: keys.clone(),
        });
        self.shapes.insert(keys, ty.clone());
        ty
    }
}

#[cfg(test)]
mod tests;
