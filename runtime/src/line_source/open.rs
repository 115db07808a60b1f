//! Opening each kind of source as a stream value, after the capability check.
//!
//! These are what the `sources` builtins call; they are public so the server and tests
//! can open sources without going through the builtin table.

use super::reader::ReaderSource;
use super::stdin::StdinSource;
use super::tail::TailSource;
use super::Interrupter;
use crate::caps::{self, OpenError};
use crate::http_client::{self, Request};
use crate::value::Value;

/// An HTTP response body's lines. Connection failures and non-2xx statuses are errors
/// here; a failure later, mid-body, is the stream's `http-stream read error: …`.
pub fn http(req: &Request) -> Result<Value, String> {
    let body = http_client::open_stream(req)?;
    // The head was read blocking; the body is read as the socket becomes readable.
    body.set_nonblocking().map_err(|e| e.to_string())?;
    let socket = body.shutdown_handle();
    let fd = body.raw_fd();
    let source = ReaderSource::new(body, "http-stream read error: ")
        .waiting_on(fd)
        .with_interrupter(Interrupter::new(move || socket.shutdown()));
    Ok(Value::source(Box::new(source)))
}

/// A file's lines, read lazily to its end.
pub fn file(path: &str) -> Result<Value, String> {
    let file = caps::open_read(path).map_err(|e| cannot_open(path, e))?;
    let source = ReaderSource::new(file, format!("read error: {path}: "));
    Ok(Value::source(Box::new(source)))
}

/// A handle on the process's shared stdin lines.
pub fn stdin() -> Value {
    Value::source(Box::new(StdinSource::new()))
}

/// Follow `path` like `tail -F`, first yielding its last `last` lines if given.
pub fn tail(path: &str, last: Option<usize>) -> Result<Value, String> {
    let resolved = caps::resolve_read(path).map_err(|e| cannot_open(path, e))?;
    let source =
        TailSource::open(&resolved, last).map_err(|e| cannot_open(path, OpenError::Io(e)))?;
    Ok(Value::source(Box::new(source)))
}

/// Follow `path` from just after the line whose id was `id` (see
/// [`TailSource::resume`]); an empty `id` follows from the end.
pub fn tail_resume(path: &str, id: &str) -> Result<Value, String> {
    let resolved = caps::resolve_read(path).map_err(|e| cannot_open(path, e))?;
    let source =
        TailSource::resume(&resolved, id).map_err(|e| cannot_open(path, OpenError::Io(e)))?;
    Ok(Value::source(Box::new(source)))
}

fn cannot_open(path: &str, e: OpenError) -> String {
    match e {
        OpenError::Denied(message) => message,
        OpenError::Io(e) => format!("cannot open '{path}': {e}"),
    }
}
