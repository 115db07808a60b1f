//! Builtins: eager HTTP requests (`get`, `post`, `get-many`).
//!
//! Each returns `~body` on a 2xx response and `^message` otherwise: connection failures
//! read as the operating system says them (`Connection refused (os error 111)`), other
//! statuses as `HTTP 404 Not Found`, a denied host names `--allow-net`. The transport
//! is the runtime's own client (`http_client`), shared with the `get-stream` family.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::convert::{list_arg, map_arg, text_arg};
use super::BuiltinDef;
use crate::error::RtResult;
use crate::http_client::{self, Request};
use crate::value::Value;

#[rustfmt::skip]
pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef { name: "get", min_args: 1, max_args: 2, f: get },
    BuiltinDef { name: "post", min_args: 2, max_args: 3, f: post },
    BuiltinDef { name: "get-many", min_args: 1, max_args: 1, f: get_many },
];

/// Requests `get-many` runs at once.
const MAX_PARALLEL: usize = 10;

/// A `M t t` header map as name/value pairs (non-text values in display form).
pub(super) fn headers_arg(builtin: &str, v: &Value) -> RtResult<Vec<(String, String)>> {
    Ok(map_arg(builtin, v)?
        .iter()
        .map(|(k, v)| {
            let value = v.as_text().map_or_else(|| v.to_string(), str::to_string);
            (k.to_string(), value)
        })
        .collect())
}

/// `~text` / `^message` from a client result.
pub(super) fn result_value(r: Result<Value, String>) -> Value {
    match r {
        Ok(v) => Value::ok(v),
        Err(message) => Value::err(Value::text(message)),
    }
}

/// `get url [headers]`
fn get(args: &[Value]) -> RtResult {
    let mut req = Request::get(text_arg("get", &args[0])?);
    if let Some(h) = args.get(1) {
        req = req.with_headers(headers_arg("get", h)?);
    }
    Ok(result_value(http_client::fetch_text(&req).map(Value::text)))
}

/// `post url body [headers]`
fn post(args: &[Value]) -> RtResult {
    let url = text_arg("post", &args[0])?;
    let body = text_arg("post", &args[1])?;
    let mut req = Request::post(url, body.as_bytes());
    if let Some(h) = args.get(2) {
        req = req.with_headers(headers_arg("post", h)?);
    }
    Ok(result_value(http_client::fetch_text(&req).map(Value::text)))
}

/// `get-many urls`: every URL fetched, at most [`MAX_PARALLEL`] at a time; results in
/// the order of the URLs.
fn get_many(args: &[Value]) -> RtResult {
    let urls = list_arg("get-many", &args[0])?
        .iter()
        .map(|u| text_arg("get-many", u).map(str::to_string))
        .collect::<RtResult<Vec<String>>>()?;
    let results: Vec<Mutex<Option<Result<String, String>>>> =
        urls.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..urls.len().min(MAX_PARALLEL) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(url) = urls.get(i) else { break };
                let r = http_client::fetch_text(&Request::get(url.as_str()));
                *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
            });
        }
    });
    let values = results
        .into_iter()
        .map(|slot| {
            let r = slot.into_inner().unwrap_or_else(|p| p.into_inner());
            result_value(
                r.unwrap_or_else(|| Err("request did not run".to_string()))
                    .map(Value::text),
            )
        })
        .collect();
    Ok(Value::list(values))
}
