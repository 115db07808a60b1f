//! Builtins: whole-file reading and writing (`rd`, `rdl`, `rdb`, `rdjl`, `wr`, `wrl`).
//!
//! Failures the program can act on (a missing file, bad CSV/JSON, an unknown format)
//! come back as `Err` values whose text is the underlying error's message, e.g.
//! `No such file or directory (os error 2)`. Only an argument of the wrong kind, or
//! `rdjl` (whose type has no outer result) failing to read, raises a runtime error.
//!
//! Streaming line-by-line reads are line sources, not these builtins.

mod csv;
mod shared_cells;

use std::io::{Read, Write};
use std::path::Path;

use super::convert::{list_arg, text_arg};
use super::json::parse_to_result;
use super::BuiltinDef;
use crate::deep::json::to_json_pretty;
use crate::error::{codes, RtError, RtResult};
use crate::value::Value;

pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef {
        name: "rd",
        min_args: 1,
        max_args: 2,
        f: rd,
    },
    BuiltinDef {
        name: "rdl",
        min_args: 1,
        max_args: 1,
        f: rdl,
    },
    BuiltinDef {
        name: "rdb",
        min_args: 2,
        max_args: 2,
        f: rdb,
    },
    BuiltinDef {
        name: "rdjl",
        min_args: 1,
        max_args: 1,
        f: rdjl,
    },
    BuiltinDef {
        name: "wr",
        min_args: 2,
        max_args: 3,
        f: wr,
    },
    BuiltinDef {
        name: "wrl",
        min_args: 2,
        max_args: 2,
        f: wrl,
    },
];

/// How file contents are turned into a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Tsv,
    Json,
    Raw,
}

impl Format {
    fn from_name(name: &str) -> Result<Format, String> {
        match name {
            "csv" => Ok(Format::Csv),
            "tsv" => Ok(Format::Tsv),
            "json" => Ok(Format::Json),
            "raw" => Ok(Format::Raw),
            other => Err(format!(
                "unknown format '{other}' (expected csv, tsv, json or raw)"
            )),
        }
    }

    /// `.csv`, `.tsv` and `.json` (any letter case) select a format; anything else
    /// is plain text.
    fn from_extension(path: &str) -> Format {
        let ext = Path::new(path)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => Format::Csv,
            Some("tsv") => Format::Tsv,
            Some("json") => Format::Json,
            _ => Format::Raw,
        }
    }

    fn delimiter(self) -> Option<char> {
        match self {
            Format::Csv => Some(','),
            Format::Tsv => Some('\t'),
            Format::Json | Format::Raw => None,
        }
    }
}

/// `rd path [fmt]` → `R _ t`: the file decoded by its extension or the named format.
fn rd(args: &[Value]) -> RtResult {
    let path = text_arg("rd", &args[0])?;
    let format = match args.get(1) {
        Some(v) => match Format::from_name(text_arg("rd", v)?) {
            Ok(f) => f,
            Err(e) => return Ok(err_text(e)),
        },
        None => Format::from_extension(path),
    };
    Ok(match read_file(path) {
        Ok(text) => decode(&text, format),
        Err(e) => err_text(e),
    })
}

/// `rdl path` → `R (L t) t`: the file's lines without their `\n` / `\r\n`.
fn rdl(args: &[Value]) -> RtResult {
    let path = text_arg("rdl", &args[0])?;
    Ok(match read_file(path) {
        Ok(text) => Value::ok(Value::list(text.lines().map(Value::text).collect())),
        Err(e) => err_text(e),
    })
}

/// `rdb text fmt` → `R _ t`: decode text already in memory (an HTTP body, an env var).
fn rdb(args: &[Value]) -> RtResult {
    let text = text_arg("rdb", &args[0])?;
    let fmt = text_arg("rdb", &args[1])?;
    Ok(match Format::from_name(fmt) {
        Ok(format) => decode(text, format),
        Err(e) => err_text(e),
    })
}

/// `rdjl path` → `L (R _ t)`: one parse result per non-blank line of a JSON-lines
/// file. The type has no room for a read failure, so that raises.
fn rdjl(args: &[Value]) -> RtResult {
    let path = text_arg("rdjl", &args[0])?;
    let text = read_file(path).map_err(|e| RtError::new(codes::PANIC, format!("rdjl: {e}")))?;
    Ok(Value::list(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(parse_to_result)
            .collect(),
    ))
}

/// `wr path text` or `wr path data fmt` → `R t t`: write (overwriting) and return
/// the path. `csv`/`tsv` take a list of rows, `json` any value (pretty-printed).
fn wr(args: &[Value]) -> RtResult {
    let path = text_arg("wr", &args[0])?;
    let format = match args.get(2) {
        Some(v) => match Format::from_name(text_arg("wr", v)?) {
            Ok(f) => f,
            Err(e) => return Ok(err_text(e)),
        },
        None => Format::Raw,
    };
    let contents = match encode(&args[1], format) {
        Ok(s) => s,
        Err(e) => return Ok(err_text(e)),
    };
    Ok(write_file(path, &args[0], &contents))
}

/// `wrl path xs` → `R t t`: the items joined with `\n` (no trailing newline).
fn wrl(args: &[Value]) -> RtResult {
    let path = text_arg("wrl", &args[0])?;
    let items = list_arg("wrl", &args[1])?;
    let lines: Vec<String> = items.iter().map(Value::to_string).collect();
    Ok(write_file(path, &args[0], &lines.join("\n")))
}

/// Every file read passes the `--allow-read` gate first, like the file line sources.
fn read_file(path: &str) -> Result<String, String> {
    let mut file = crate::caps::open_read(path).map_err(|e| e.to_string())?;
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| e.to_string())?;
    Ok(text)
}

/// Write (through the `--allow-write` gate) and answer `Ok(path)` (sharing the
/// caller's path value) or `Err(message)`.
fn write_file(path: &str, path_value: &Value, contents: &str) -> Value {
    let written = crate::caps::open_write(path)
        .map_err(|e| e.to_string())
        .and_then(|mut f| f.write_all(contents.as_bytes()).map_err(|e| e.to_string()));
    match written {
        Ok(()) => Value::ok(path_value.clone()),
        Err(e) => err_text(e),
    }
}

/// Text → `Ok(value)` / `Err(message)` in the given format.
fn decode(text: &str, format: Format) -> Value {
    match format {
        Format::Json => parse_to_result(text),
        Format::Raw => Value::ok(Value::text(text)),
        Format::Csv | Format::Tsv => {
            let delim = format.delimiter().unwrap_or(',');
            let mut cells = shared_cells::SharedCells::default();
            Value::ok(Value::list(csv::parse_into(
                text,
                delim,
                |cell: &str| cells.text(cell),
                Value::list,
            )))
        }
    }
}

/// Value → file contents in the given format. Cells and raw values that are not text
/// are written in their display form.
fn encode(data: &Value, format: Format) -> Result<String, String> {
    match format {
        Format::Raw => Ok(data.to_string()),
        Format::Json => Ok(to_json_pretty(data)),
        Format::Csv | Format::Tsv => {
            let name = if format == Format::Csv { "csv" } else { "tsv" };
            let rows = data.as_list().ok_or_else(|| {
                format!(
                    "{name} data must be a list of rows, got {}",
                    data.kind_name()
                )
            })?;
            let rows = rows
                .iter()
                .map(|row| {
                    row.as_list()
                        .map(|cells| cells.iter().map(Value::to_string).collect::<Vec<_>>())
                        .ok_or_else(|| {
                            format!("{name} rows must be lists, got {}", row.kind_name())
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(csv::write(&rows, format.delimiter().unwrap_or(',')))
        }
    }
}

fn err_text(msg: impl Into<String>) -> Value {
    Value::err(Value::text(msg.into()))
}

#[cfg(test)]
mod tests;
