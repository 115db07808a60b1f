//! Builtins: JSON (`jpar`, `jdmp`, `jpth`) and the value ↔ JSON mapping.
//!
//! The mapping is shared with the rest of the runtime (file formats, HTTP bodies)
//! through [`crate::deep::json`] (writing, at any depth) and [`from_json`]:
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

use super::convert::text_arg;
use super::BuiltinDef;
use crate::deep::json::to_json_text;
use crate::error::RtResult;
use crate::value::{RecordType, Value};

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
    Ok(Value::text(to_json_text(&args[0])))
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
