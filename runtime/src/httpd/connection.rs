//! Serving the requests a connection has buffered: parse a head, read the body, call
//! the handler, write the response, and go round again while complete requests remain
//! and the connection is kept alive.
//!
//! Pipelined requests need nothing special: bytes after one request stay in the input
//! buffer and are parsed once the response before them is written. Waiting for the
//! *next* request is the event loop's job ([`super::event_loop`]); a body that is
//! still arriving is read here, with the same bounded, shutdown-aware waits.
//!
//! A response whose body is a line source is not written here: its head and body
//! become a [`Streaming`] that the event loop drives ([`super::body_stream`]), and
//! [`finish_stream`] logs and closes it when it ends.

use std::io::{self, Read, Write};
use std::net::{Shutdown as SocketShutdown, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::access_log::AccessLog;
use super::body_stream::{BodyStream, StreamEnd};
use super::body_writer::{write_bytes, write_list, Gather};
use super::config::ServerConfig;
use super::framing::Framing;
use super::head::{forbids_body, render, Delimit, Persist};
use super::input::Input;
use super::request::{parse_head, BodyLength, Reject, RequestHead};
use super::request_body::{BodyError, BodySource};
use super::response::{interpret, Body, Response};
use super::shutdown::Shutdown;
use super::stats::ServerStats;
use super::Handler;
use crate::value::Value;

/// What every connection thread shares.
pub struct Shared {
    pub config: ServerConfig,
    pub handler: Handler,
    pub shutdown: Arc<Shutdown>,
    pub stats: Arc<ServerStats>,
    pub log: AccessLog,
}

/// The socket as a `Write` that counts system calls.
struct Counted<'a> {
    stream: &'a TcpStream,
    stats: &'a ServerStats,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stats.count_write();
        self.stream.write(buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.stats.count_write();
        self.stream.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where [`serve_buffered`] left the connection.
pub enum Served {
    /// Closed (or to be closed): the client left, a request was refused, or the last
    /// response did not keep the connection alive.
    Closed,
    /// Kept alive: wait for more bytes. `requests` complete requests were answered.
    NeedMore { requests: usize },
    /// The last request's body is a stream for the event loop to drive; the requests
    /// before it were answered.
    Streaming {
        stream: Box<Streaming>,
        requests: usize,
    },
}

/// A streamed response in progress, with what its access log line needs at the end.
pub struct Streaming {
    pub body: BodyStream,
    method: String,
    path: String,
    status: u16,
    started: Instant,
    /// The connection may serve another request after a complete body.
    keep_alive: bool,
}

/// What to do after one exchange.
enum Next {
    Continue,
    Close,
    Stream(Box<Streaming>),
}

/// Serve every complete request already in `input`, in order (pipelining needs
/// nothing more), and stop at the first incomplete head. Never panics outward: a
/// panicking handler is answered with 500 inside [`exchange`].
pub fn serve_buffered(stream: &TcpStream, input: &mut Input, shared: &Shared) -> Served {
    let mut requests = 0;
    loop {
        let head = match parse_head(input.available()) {
            Ok(Some(head)) => head,
            Ok(None) => return Served::NeedMore { requests },
            Err(Reject(status)) => {
                shared.stats.count_request();
                reject(stream, shared, status, None, Instant::now());
                return Served::Closed;
            }
        };
        shared.stats.count_request();
        input.consume(head.len);
        match exchange(stream, input, shared, &head) {
            Next::Continue => requests += 1,
            Next::Close => return Served::Closed,
            Next::Stream(stream) => return Served::Streaming { stream, requests },
        }
    }
}

/// A head that did not complete before the header timeout: answer 408 and close.
pub fn reject_slow_head(stream: &TcpStream, shared: &Shared) {
    shared.stats.count_request();
    reject(stream, shared, 408, None, Instant::now());
}

/// Handle one request whose head has been consumed.
fn exchange(stream: &TcpStream, input: &mut Input, shared: &Shared, head: &RequestHead) -> Next {
    let started = Instant::now();
    let cfg = &shared.config;
    let length = match head.body_length() {
        Ok(BodyLength::Fixed(n)) if n > cfg.max_body => Err(Reject(413)),
        other => other,
    };
    let length = match length {
        Ok(l) => l,
        Err(Reject(status)) => {
            reject(stream, shared, status, Some(head), started);
            return Next::Close;
        }
    };
    if length != BodyLength::None
        && head.expects_continue()
        && head.minor_version >= 1
        && input.available().is_empty()
    {
        let mut out = Counted {
            stream,
            stats: &shared.stats,
        };
        if out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return Next::Close;
        }
    }
    let body = BodySource {
        stream,
        input,
        wake_fd: shared.shutdown.wake_fd(),
        deadline: Instant::now() + cfg.idle_timeout.max(cfg.header_timeout),
        max_body: cfg.max_body,
    }
    .read(&length);
    let body = match body {
        Ok(b) => b,
        Err(BodyError::TooLarge) => {
            reject(stream, shared, 413, Some(head), started);
            return Next::Close;
        }
        Err(BodyError::Malformed) => {
            reject(stream, shared, 400, Some(head), started);
            return Next::Close;
        }
        Err(BodyError::Read(_)) => return Next::Close,
    };
    let request = head.to_value(body);
    // Nothing pipelined behind this request: hold no read buffer during the response.
    input.release_if_empty();
    let response = respond(shared, head, request);
    let keep_wanted = head.wants_keep_alive() && !shared.shutdown.is_requested();
    let sent = send(stream, shared, head, response, keep_wanted);
    if let Some(body) = sent.stream {
        return Next::Stream(Box::new(Streaming {
            body,
            method: head.method.clone(),
            path: head.path.clone(),
            status: sent.status,
            started,
            keep_alive: sent.keep_alive,
        }));
    }
    shared.log.request(
        &head.method,
        &head.path,
        sent.status,
        sent.body_bytes,
        started.elapsed(),
    );
    if !sent.keep_alive && !sent.broken {
        linger_close(stream);
    }
    if sent.keep_alive {
        Next::Continue
    } else {
        Next::Close
    }
}

/// A streamed body ended: log the request, release the source unless the body ended
/// it, and close the connection unless it may serve another request. Returns whether
/// it may.
pub fn finish_stream(stream: &TcpStream, shared: &Shared, done: Streaming, end: StreamEnd) -> bool {
    let Streaming {
        body,
        method,
        path,
        status,
        started,
        mut keep_alive,
    } = done;
    let body_bytes = body.body_bytes;
    let source = body.into_source();
    let broken = matches!(end, StreamEnd::ClientGone(_));
    match end {
        StreamEnd::Complete => {}
        StreamEnd::ClientGone(_) => close_source(source),
        StreamEnd::SourceFailed(message) => {
            shared.log.problem(
                &format!("{method} {path}"),
                &format!("body source failed mid-stream, response cut short: {message}"),
            );
            close_source(source);
            keep_alive = false;
        }
    }
    shared
        .log
        .request(&method, &path, status, body_bytes, started.elapsed());
    keep_alive = keep_alive && !broken && !shared.shutdown.is_requested();
    if !keep_alive && !broken {
        linger_close(stream);
    }
    keep_alive
}

/// Call the handler and interpret its value; every failure, a panic included,
/// becomes a logged 500.
fn respond(shared: &Shared, head: &RequestHead, request: Value) -> Response {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        (shared.handler)(request).and_then(interpret)
    }));
    let diagnostic = match outcome {
        Ok(Ok(response)) => return response,
        Ok(Err(diagnostic)) => diagnostic,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            format!("handler panicked: {what}")
        }
    };
    shared
        .log
        .problem(&format!("{} {}", head.method, head.path), &diagnostic);
    Response::plain(500, "Internal Server Error\n")
}

struct Sent {
    status: u16,
    body_bytes: u64,
    keep_alive: bool,
    /// The socket failed; do not bother lingering on it.
    broken: bool,
    /// A line-source body, not written yet: the event loop streams it.
    stream: Option<BodyStream>,
}

fn send(
    stream: &TcpStream,
    shared: &Shared,
    req: &RequestHead,
    response: Response,
    keep_wanted: bool,
) -> Sent {
    let http10 = req.minor_version == 0;
    let status = response.status;
    let delimit = match &response.body {
        _ if forbids_body(status) => Delimit::NoBody,
        Body::Text(v) => Delimit::Length(v.as_text().map_or(0, str::len)),
        Body::Bytes(b) => Delimit::Length(b.len()),
        Body::List(_) | Body::Source(_) if http10 => Delimit::Close,
        Body::List(_) | Body::Source(_) => Delimit::Chunked,
    };
    let framing = if delimit == Delimit::Close {
        Framing::CloseDelimited
    } else {
        Framing::Chunked
    };
    let keep_alive = keep_wanted && delimit != Delimit::Close;
    let persist = match (keep_alive, http10) {
        (false, _) => Persist::Close,
        (true, true) => Persist::KeepExplicit,
        (true, false) => Persist::KeepImplicit,
    };
    let head = render(
        req.minor_version,
        status,
        &response.headers,
        delimit,
        persist,
    );
    let mut out = Counted {
        stream,
        stats: &shared.stats,
    };
    let mut sent = Sent {
        status,
        body_bytes: 0,
        keep_alive,
        broken: false,
        stream: None,
    };
    let head_only = req.is_head() || delimit == Delimit::NoBody;
    let result = match response.body {
        _ if head_only => {
            if let Body::Source(src) = response.body {
                close_source(src);
            }
            out.write_all(&head)
        }
        Body::Text(v) => {
            let text = v.as_text().unwrap_or("").as_bytes();
            sent.body_bytes = text.len() as u64;
            write_bytes(&mut out, &head, text)
        }
        Body::Bytes(b) => {
            sent.body_bytes = b.len() as u64;
            write_bytes(&mut out, &head, &b)
        }
        Body::List(v) => write_list(&mut out, &head, v.as_list().unwrap_or(&[]), framing)
            .map(|n| sent.body_bytes = n),
        Body::Source(v) => {
            let gather = Gather {
                max_lines: shared.config.gather_max_lines,
                max_bytes: shared.config.gather_max_bytes,
            };
            sent.stream = Some(BodyStream::new(head, v, framing, gather));
            return sent;
        }
    };
    if result.is_err() {
        sent.keep_alive = false;
        sent.broken = true;
    }
    sent
}

/// Close a source this response owns. A source still referenced elsewhere (one
/// shared by every request, like stdin) is only let go, not closed.
fn close_source(v: Value) {
    if v.is_unique() {
        if let Some(Ok(mut src)) = v.as_source().map(|m| m.lock()) {
            src.close();
        }
    }
}

/// Answer a request the server refuses (bad head, too large, timed out) and close.
fn reject(
    stream: &TcpStream,
    shared: &Shared,
    status: u16,
    head: Option<&RequestHead>,
    started: Instant,
) {
    let response = Response::plain(status, &format!("{}\n", super::head::reason(status)));
    let bytes = match &response.body {
        Body::Bytes(b) => b.clone(),
        _ => Vec::new(),
    };
    let rendered = render(
        1,
        status,
        &response.headers,
        Delimit::Length(bytes.len()),
        Persist::Close,
    );
    let mut out = Counted {
        stream,
        stats: &shared.stats,
    };
    let ok = write_bytes(&mut out, &rendered, &bytes).is_ok();
    let (method, path) = head.map_or(("-", "-"), |h| (h.method.as_str(), h.path.as_str()));
    shared
        .log
        .request(method, path, status, bytes.len() as u64, started.elapsed());
    if ok {
        linger_close(stream);
    }
}

/// Close gracefully: send FIN, then drain what the client still sends for a moment,
/// so unread request bytes do not turn the close into a reset that destroys the
/// response before the client reads it.
fn linger_close(stream: &TcpStream) {
    let _ = stream.shutdown(SocketShutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 1024];
    let mut drained = 0usize;
    let mut reader = stream;
    while drained < 256 * 1024 {
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}
