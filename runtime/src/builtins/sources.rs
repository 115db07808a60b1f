//! Builtins: lazy line sources (`get-stream` family, `for-line`, `tail-file`, and
//! `bcast`, a subscriber of a broadcast hub).
//!
//! The HTTP ones return `R stream t`, like `get`: `^message` when the connection,
//! the status or the `--allow-net` check fails before the body. `for-line` and
//! `tail-file` return the stream itself, so `@line (for-line "stdin"){…}` reads
//! naturally; a file that cannot be opened (or is outside `--allow-read`) is therefore
//! a runtime error `ILO-R009` with the reason, raised where the source is made.

use super::convert::{func_arg, int_arg, text_arg};
use super::net::{headers_arg, result_value};
use super::BuiltinDef;
use crate::error::{codes, RtError, RtResult};
use crate::func::{call_value, resolve};
use crate::http_client::Request;
use crate::line_source::transform::{Step, Transform};
use crate::line_source::{broadcast, open};
use crate::value::Value;

#[rustfmt::skip]
pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef { name: "get-stream", min_args: 1, max_args: 1, f: get_stream },
    BuiltinDef { name: "get-stream-h", min_args: 2, max_args: 2, f: get_stream_h },
    BuiltinDef { name: "pst-stream", min_args: 2, max_args: 2, f: pst_stream },
    BuiltinDef { name: "pst-stream-h", min_args: 3, max_args: 3, f: pst_stream_h },
    BuiltinDef { name: "for-line", min_args: 1, max_args: 1, f: for_line },
    BuiltinDef { name: "tail-file", min_args: 1, max_args: 2, f: tail_file },
    BuiltinDef { name: "bcast", min_args: 2, max_args: 2, f: bcast },
];

/// A lazy transform of the source value `src` (see `line_source::transform`).
pub(super) fn transformed(src: &Value, step: Step) -> Value {
    Value::source(Box::new(Transform::new(src.clone(), step)))
}

/// A count of lines (`take n src`, `drop n src`). Counting from the end, as a
/// negative count does for a list, cannot be done lazily, so it is an error.
pub(super) fn count_arg(builtin: &str, n: &Value) -> RtResult<u64> {
    let n = int_arg(builtin, n)?;
    u64::try_from(n).map_err(|_| {
        RtError::new(
            codes::DOMAIN,
            format!("{builtin}: a stream's line count must not be negative, got {n}"),
        )
    })
}

/// `get-stream url`
fn get_stream(args: &[Value]) -> RtResult {
    let req = Request::get(text_arg("get-stream", &args[0])?);
    Ok(result_value(open::http(&req)))
}

/// `get-stream-h url headers`
fn get_stream_h(args: &[Value]) -> RtResult {
    let req = Request::get(text_arg("get-stream-h", &args[0])?)
        .with_headers(headers_arg("get-stream-h", &args[1])?);
    Ok(result_value(open::http(&req)))
}

/// `pst-stream url body`
fn pst_stream(args: &[Value]) -> RtResult {
    let url = text_arg("pst-stream", &args[0])?;
    let body = text_arg("pst-stream", &args[1])?;
    Ok(result_value(open::http(&Request::post(
        url,
        body.as_bytes(),
    ))))
}

/// `pst-stream-h url body headers`
fn pst_stream_h(args: &[Value]) -> RtResult {
    let url = text_arg("pst-stream-h", &args[0])?;
    let body = text_arg("pst-stream-h", &args[1])?;
    let req =
        Request::post(url, body.as_bytes()).with_headers(headers_arg("pst-stream-h", &args[2])?);
    Ok(result_value(open::http(&req)))
}

/// `for-line "stdin"` or `for-line PATH` (a file literally named `stdin`: `./stdin`).
fn for_line(args: &[Value]) -> RtResult {
    let path = text_arg("for-line", &args[0])?;
    if path == "stdin" {
        return Ok(open::stdin());
    }
    open::file(path).map_err(|e| RtError::new(codes::PANIC, format!("for-line: {e}")))
}

/// `tail-file PATH [N]`
fn tail_file(args: &[Value]) -> RtResult {
    let path = text_arg("tail-file", &args[0])?;
    let opened = match args.get(1) {
        None => open::tail(path, None),
        // `tail-file PATH ID`: resume just after the event with that id.
        Some(id) if id.as_text().is_some() => open::tail_resume(path, id.as_text().unwrap_or("")),
        Some(n) => {
            let n = int_arg("tail-file", n)?;
            let n = usize::try_from(n).map_err(|_| {
                RtError::new(
                    codes::DOMAIN,
                    format!("tail-file: line count must not be negative, got {n}"),
                )
            })?;
            open::tail(path, Some(n))
        }
    };
    opened.map_err(|e| RtError::new(codes::PANIC, format!("tail-file: {e}")))
}

/// `bcast name open`: subscribe to the broadcast hub `name`, calling `open` (no
/// arguments; a stream, or `~stream`/`^message`) to open its upstream when the hub has
/// none. See `line_source::broadcast`.
fn bcast(args: &[Value]) -> RtResult {
    let name = text_arg("bcast", &args[0])?;
    let open = func_arg("bcast", &args[1])?;
    let subscriber = broadcast::subscribe(name, || {
        let opened = call_value(open, &[]).map_err(|e| format!("bcast: {}", resolve(e).message))?;
        match opened.as_result() {
            Some(Ok(src)) => Ok(src.clone()),
            Some(Err(e)) => Err(format!("bcast: cannot open '{name}': {e}")),
            None => Ok(opened),
        }
    })
    .map_err(|m| RtError::new(codes::PANIC, m))?;
    Ok(Value::source(Box::new(subscriber)))
}
