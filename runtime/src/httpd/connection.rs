//! Serving the requests a connection has buffered: parse a head, read the body, call
//! the handler, write the response, and go round again while complete requests remain
//! and the connection is kept alive.
//!
//! Pipelined requests need nothing special: bytes after one request stay in the input
//! buffer and are parsed once the response before them is written. Waiting for the
//! *next* request is the event loop's job ([`super::event_loop`]), and so is waiting
//! for the rest of a body: a request whose body is incomplete goes back to the loop
//! as a [`PendingBody`] and is picked up again when more bytes arrive.
//!
//! A response whose body is a line source is not written here: its head and body
//! become a [`Streaming`] that the event loop drives ([`super::body_stream`]), and
//! [`finish_stream`] logs it when it ends. Closing a connection after its last
//! response is the loop's job too ([`super::linger`]): nothing here waits on a client.

use std::io::Write;
use std::net::{Shutdown as SocketShutdown, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::access_log::AccessLog;
use super::body_stream::{BodyStream, StreamEnd};
use super::body_writer::{write_bytes, write_list, Gather};
use super::client_out::ClientOut;
use super::config::ServerConfig;
use super::framing::{plan, Framing, Persist};
use super::head::{render, with_head, with_head_then, JOIN_BODY_AT_MOST};
use super::input::Input;
use super::metrics::{Metrics, Open, Tally};
use super::request::{parse_head, Reject, RequestHead};
use super::request_body::{BodyDecoder, BodyError};
use super::response::{interpret, Body, Response};
use super::running::Running;
use super::shutdown::Shutdown;
use super::stats::ServerStats;
use super::Handler;
use crate::ctx::Cancel;
use crate::suspend;
use crate::value::{Text, Value};

/// What every connection thread shares.
pub struct Shared {
    pub config: ServerConfig,
    pub handler: Handler,
    pub shutdown: Arc<Shutdown>,
    pub stats: Arc<ServerStats>,
    pub log: AccessLog,
    /// Handler calls in progress, watched for hang-ups and timeouts.
    pub running: Running,
    /// Present only with `--metrics`: otherwise nothing is counted.
    pub metrics: Option<Arc<Metrics>>,
}

impl Shared {
    /// One request answered: its access-log line. (Its metrics were counted before
    /// its last bytes were written: see [`Tally`].)
    fn finished(&self, method: &str, path: &str, status: u16, bytes: u64, started: Instant) {
        if !self.log.quiet {
            self.log
                .request(method, path, status, bytes, started.elapsed());
        }
    }

    /// The metrics' count of a response about to be written.
    fn tally(&self, status: u16, started: Instant) -> Option<Tally> {
        Tally::new(self.metrics.as_ref(), status, started)
    }
}

/// The client's socket for this connection's answers ([`super::client_out`]).
fn client_out<'a>(stream: &'a TcpStream, shared: &'a Shared) -> ClientOut<'a> {
    ClientOut::new(stream, &shared.stats, shared.config.write_timeout)
}

/// Where [`serve_buffered`] left the connection.
pub enum Served {
    /// To be closed at once: the client left or the socket failed.
    Closed,
    /// A last response was written (a refusal, or one that did not keep the
    /// connection alive): the event loop closes the connection gracefully
    /// ([`super::linger`]).
    Lingering,
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
    method: Text,
    path: Text,
    status: u16,
    started: Instant,
    /// The connection may serve another request after a complete body.
    keep_alive: bool,
    /// Counts the stream in `--metrics` while it lasts.
    _open: Open,
}

/// What to do after one exchange.
enum Next {
    Continue,
    /// Done with the connection, as [`Served::Closed`] or [`Served::Lingering`] says.
    End(Served),
    Stream(Box<Streaming>),
}

/// Where a connection stands once its streamed body has ended.
#[derive(Debug, PartialEq, Eq)]
pub enum AfterStream {
    /// It may serve another request.
    KeepAlive,
    /// Its last response is complete: close it gracefully ([`super::linger`]).
    Linger,
    /// The client left: close it at once.
    Close,
}

/// A request whose head is parsed and whose body is still arriving. It stays with the
/// parked connection between reads, so a slow body holds no thread.
pub struct PendingBody {
    head: RequestHead,
    decoder: BodyDecoder,
    started: Instant,
    /// The whole body must have arrived by then.
    pub deadline: Instant,
}

/// Serve every complete request already in `input`, in order (pipelining needs
/// nothing more), and stop at the first incomplete head or body; an incomplete body
/// is left in `pending` for the next call. Never panics outward: a panicking handler
/// is answered with 500 inside [`exchange`].
///
/// `read_at` is when the caller read the bytes (it looked at the clock then): the
/// first request starts at that instant, so a request costs fewer clock reads; later
/// ones, which waited for the requests before them, look again.
pub fn serve_buffered(
    stream: &TcpStream,
    input: &mut Input,
    pending: &mut Option<PendingBody>,
    shared: &Shared,
    read_at: Instant,
) -> Served {
    let mut requests = 0;
    let mut now = Some(read_at);
    loop {
        // A body that was parked waits no more once it is complete: its handler's
        // time starts now, not when its head arrived.
        let (mut request, handler_from) = match pending.take() {
            Some(p) => (p, None),
            None => match start_request(stream, input, shared, now.take()) {
                Started::Request(p) => {
                    let from = p.started;
                    (p, Some(from))
                }
                Started::NeedMore => return Served::NeedMore { requests },
                Started::Refused(end) => return end,
            },
        };
        if let Err(status) = read_body(stream, input, &mut request) {
            return reject(stream, shared, status, Some(&request.head), request.started);
        }
        if !request.decoder.is_done() {
            // The decoder holds what arrived; a parked body keeps no read buffer.
            input.release_if_empty();
            *pending = Some(request);
            return Served::NeedMore { requests };
        }
        let PendingBody {
            head,
            decoder,
            started,
            ..
        } = request;
        let body = match String::from_utf8(decoder.into_body()) {
            Ok(body) => body,
            Err(_) => {
                // The record holds text; replacing bytes would alter the data unseen.
                return reject_with(stream, shared, 400, NOT_UTF8, Some(&head), started);
            }
        };
        let handler_from = handler_from.unwrap_or_else(Instant::now);
        match exchange(stream, input, shared, &head, body, started, handler_from) {
            Next::Continue => requests += 1,
            Next::End(end) => return end,
            Next::Stream(stream) => return Served::Streaming { stream, requests },
        }
    }
}

/// The answer to a request body that is not UTF-8.
const NOT_UTF8: &str = "request body is not valid UTF-8 text\n";

enum Started {
    Request(PendingBody),
    NeedMore,
    /// Refused (answered, or the answer could not be written).
    Refused(Served),
}

/// Parse the next head in `input` and decide how its body is delimited. The request
/// started at `now`, or, when not given, at the clock's reading.
fn start_request(
    stream: &TcpStream,
    input: &mut Input,
    shared: &Shared,
    now: Option<Instant>,
) -> Started {
    let head = match parse_head(input.available()) {
        Ok(Some(head)) => head,
        Ok(None) => return Started::NeedMore,
        Err(Reject(status)) => {
            shared.stats.count_request();
            return Started::Refused(reject(stream, shared, status, None, Instant::now()));
        }
    };
    shared.stats.count_request();
    input.consume(head.len);
    let started = now.unwrap_or_else(Instant::now);
    let cfg = &shared.config;
    let decoder = head.body_length().and_then(|length| {
        BodyDecoder::new(&length, cfg.max_body).map_err(|e| Reject(body_error_status(&e)))
    });
    let decoder = match decoder {
        Ok(d) => d,
        Err(Reject(status)) => {
            return Started::Refused(reject(stream, shared, status, Some(&head), started));
        }
    };
    if !decoder.is_done()
        && head.expects_continue()
        && head.minor_version >= 1
        && input.available().is_empty()
    {
        let mut out = client_out(stream, shared);
        if out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return Started::Refused(Served::Closed);
        }
    }
    Started::Request(PendingBody {
        head,
        decoder,
        started,
        deadline: started + cfg.idle_timeout.max(cfg.header_timeout),
    })
}

/// Feed the body what is buffered, then what the socket holds right now (without
/// waiting). `Err` is the status to refuse the request with.
///
/// A client that closes its side before the body is complete gets 400 at once: the
/// body can never complete, and the end of input is seen only here (its report came
/// with the last bytes), so parking the connection would hold it until the body
/// deadline.
fn read_body(stream: &TcpStream, input: &mut Input, request: &mut PendingBody) -> Result<(), u16> {
    loop {
        let used = request
            .decoder
            .feed(input.available())
            .map_err(|e| body_error_status(&e))?;
        input.consume(used);
        if request.decoder.is_done() {
            return Ok(());
        }
        match input.read_now(stream) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(_) => return Err(BODY_CUT_SHORT),
        }
    }
}

/// The answer to a body whose client closed or reset the connection before it ended.
const BODY_CUT_SHORT: u16 = 400;

fn body_error_status(e: &BodyError) -> u16 {
    match e {
        BodyError::TooLarge => 413,
        BodyError::Malformed => 400,
    }
}

/// A head that did not complete before the header timeout: answer 408 and close.
pub fn reject_slow_head(stream: &TcpStream, shared: &Shared) {
    shared.stats.count_request();
    time_out(stream, shared, None, Instant::now());
}

/// A body that did not complete before its deadline: answer 408 and close.
pub fn reject_slow_body(stream: &TcpStream, shared: &Shared, pending: &PendingBody) {
    time_out(stream, shared, Some(&pending.head), pending.started);
}

/// Answer 408 and close at once, without the lingering other refusals get: the
/// client sent nothing for the whole timeout, so there is nothing to drain. The
/// deadline sweep calls this on the loop thread, outside any task, so the answer is
/// written only if it fits now: a client whose socket is still full of earlier
/// answers would otherwise hold the whole loop in the wait for room.
fn time_out(stream: &TcpStream, shared: &Shared, head: Option<&RequestHead>, started: Instant) {
    let message = format!("{}\n", super::head::reason(408));
    let mut out = ClientOut::new(stream, &shared.stats, Duration::ZERO);
    write_refusal(&mut out, shared, 408, &message, head, started);
    let _ = stream.shutdown(SocketShutdown::Write);
}

/// Handle one request whose head and body have been read; its handler starts at
/// `handler_from` (for `--handler-timeout`).
fn exchange(
    stream: &TcpStream,
    input: &mut Input,
    shared: &Shared,
    head: &RequestHead,
    body: String,
    started: Instant,
    handler_from: Instant,
) -> Next {
    let keep_wanted = head.wants_keep_alive();
    let request = head.record(body);
    // Nothing pipelined behind this request: hold no large read buffer while the
    // handler runs (it may wait on an upstream for long).
    input.release_if_empty_and_large();
    let response = respond(shared, head, request, stream.as_raw_fd(), handler_from);
    let keep_wanted = keep_wanted && !shared.shutdown.is_requested();
    let sent = send(stream, shared, head, response, keep_wanted, started);
    if sent.stream.is_some() {
        // A stream may last for hours: it keeps no read buffer at all.
        input.release_if_empty();
    }
    shared.stats.count_response();
    if let Some(body) = sent.stream {
        let (method, path) = head.method_and_path();
        return Next::Stream(Box::new(Streaming {
            body,
            method,
            path,
            status: sent.status,
            started,
            keep_alive: sent.keep_alive,
            _open: Open::stream(shared.metrics.as_ref()),
        }));
    }
    shared.finished(
        head.method(),
        head.path(),
        sent.status,
        sent.body_bytes,
        started,
    );
    if sent.keep_alive {
        Next::Continue
    } else if sent.broken {
        Next::End(Served::Closed)
    } else {
        Next::End(Served::Lingering)
    }
}

/// A streamed body ended: log the request, release the source unless the body ended
/// it, and say whether the connection may serve another request.
pub fn finish_stream(shared: &Shared, done: Streaming, end: StreamEnd) -> AfterStream {
    let Streaming {
        mut body,
        method,
        path,
        status,
        started,
        mut keep_alive,
        _open,
    } = done;
    // Not counted yet only when the body never ended (the client left first).
    body.settle_tally();
    let body_bytes = body.body_bytes;
    let source = body.into_source();
    let broken = matches!(end, StreamEnd::ClientGone(_));
    match end {
        StreamEnd::Complete => {}
        StreamEnd::ClientGone(_) => close_source(source),
        StreamEnd::SourceFailed(message) => {
            shared.log.problem(
                &format!("{} {}", method.as_str(), path.as_str()),
                &format!("body source failed mid-stream, response cut short: {message}"),
            );
            close_source(source);
            keep_alive = false;
        }
    }
    shared.finished(method.as_str(), path.as_str(), status, body_bytes, started);
    if broken {
        AfterStream::Close
    } else if keep_alive && !shared.shutdown.is_requested() {
        AfterStream::KeepAlive
    } else {
        AfterStream::Linger
    }
}

/// Call the handler and interpret its value; every failure, a panic included,
/// becomes a logged 500, and a call cancelled by `--handler-timeout` a 503. The
/// call is registered for the monitor meanwhile (see [`super::running`]).
fn respond(
    shared: &Shared,
    head: &RequestHead,
    request: Value,
    client: RawFd,
    from: Instant,
) -> Response {
    let deadline = shared.config.handler_timeout.map(|t| from + t);
    let call = shared.running.enter(client, deadline);
    // Waits for upstreams and sleeps end at the deadline too, not only compiled code.
    let limit = suspend::time_limit(call.deadline());
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        (shared.handler)(request).and_then(interpret)
    }));
    drop(limit);
    let cancelled = call.finish();
    let diagnostic = match outcome {
        // A handler whose wait ran out of time may still return: it timed out all
        // the same.
        Ok(Ok(_)) if cancelled == Some(Cancel::TimedOut) => {
            format!(
                "{}: cancelled: the handler ran longer than --handler-timeout (waiting)",
                crate::error::codes::CANCELLED
            )
        }
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
        .problem(&format!("{} {}", head.method(), head.path()), &diagnostic);
    if let Some(m) = &shared.metrics {
        m.handler_error();
    }
    match cancelled {
        Some(Cancel::TimedOut) => Response::plain(503, "Service Unavailable\n"),
        _ => Response::plain(500, "Internal Server Error\n"),
    }
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
    started: Instant,
) -> Sent {
    let Response {
        status,
        headers,
        body,
    } = response;
    let plan = plan(
        req.minor_version,
        req.is_head(),
        keep_wanted,
        status,
        body.shape(),
    );
    let mut out = client_out(stream, shared);
    let mut sent = Sent {
        status,
        body_bytes: 0,
        keep_alive: plan.keep_alive(),
        broken: false,
        stream: None,
    };
    let gather = Gather {
        max_lines: shared.config.gather_max_lines,
        max_bytes: shared.config.gather_max_bytes,
    };
    let (minor, framing, persist) = (req.minor_version, plan.framing, plan.persist);
    let tally = shared.tally(status, started);
    let streamed = plan.with_body && matches!(body, Body::Source(_));
    let tally = if streamed {
        tally
    } else {
        // Counted before the write that completes the response: see `Tally`.
        if let Some(t) = tally {
            t.settle(0, 0);
        }
        None
    };
    // A small eager body goes out in the head's buffer: one plain `send`.
    let small = match &body {
        _ if !plan.with_body => None,
        Body::Text(text) => Some(text.as_str().as_bytes()),
        Body::Bytes(b) => Some(&b[..]),
        Body::List(_) | Body::Source(_) => None,
    }
    .filter(|b| b.len() <= JOIN_BODY_AT_MOST);
    if let Some(bytes) = small {
        sent.body_bytes = bytes.len() as u64;
        let result = with_head_then(minor, status, &headers, framing, persist, bytes, |all| {
            out.write_all(all)
        });
        if result.is_err() {
            sent.keep_alive = false;
            sent.broken = true;
        }
        return sent;
    }
    let result = with_head(
        minor,
        status,
        &headers,
        framing,
        persist,
        |head| match body {
            _ if !plan.with_body => {
                if let Body::Source(src) = body {
                    close_source(src);
                }
                out.write_all(head)
            }
            Body::Text(text) => {
                let text = text.as_str().as_bytes();
                sent.body_bytes = text.len() as u64;
                write_bytes(&mut out, head, text)
            }
            Body::Bytes(b) => {
                sent.body_bytes = b.len() as u64;
                write_bytes(&mut out, head, &b)
            }
            Body::List(items) => {
                write_list(&mut out, head, &items, framing).map(|n| sent.body_bytes = n)
            }
            Body::Source(v) => {
                // The stream outlives this call: it keeps a copy of the head.
                let mut body = BodyStream::new(head.to_vec(), v, framing, gather);
                body.count_with(tally);
                sent.stream = Some(body);
                Ok(())
            }
        },
    );
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

/// Answer a request the server refuses (bad head, too large) and say how to close.
fn reject(
    stream: &TcpStream,
    shared: &Shared,
    status: u16,
    head: Option<&RequestHead>,
    started: Instant,
) -> Served {
    let message = format!("{}\n", super::head::reason(status));
    reject_with(stream, shared, status, &message, head, started)
}

/// [`reject`] with a message of its own as the body.
fn reject_with(
    stream: &TcpStream,
    shared: &Shared,
    status: u16,
    message: &str,
    head: Option<&RequestHead>,
    started: Instant,
) -> Served {
    let mut out = client_out(stream, shared);
    if write_refusal(&mut out, shared, status, message, head, started) {
        Served::Lingering
    } else {
        Served::Closed
    }
}

/// Write a refusal (`Connection: close`), count and log it; whether the write went.
fn write_refusal(
    out: &mut ClientOut<'_>,
    shared: &Shared,
    status: u16,
    message: &str,
    head: Option<&RequestHead>,
    started: Instant,
) -> bool {
    let response = Response::plain(status, message);
    let rendered = render(
        1,
        status,
        &response.headers,
        Framing::Length(message.len()),
        Persist::Close,
    );
    if let Some(t) = shared.tally(status, started) {
        t.settle(0, 0);
    }
    let ok = write_bytes(out, &rendered, message.as_bytes()).is_ok();
    let (method, path) = head.map_or(("-", "-"), |h| (h.method(), h.path()));
    shared.finished(method, path, status, message.len() as u64, started);
    ok
}
