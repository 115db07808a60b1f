//! A small HTTP/1.1 client, blocking for its caller, for the `get`/`post` builtins and the `get-stream`
//! family.
//!
//! One request per connection (`Connection: close`), plain TCP or TLS. The response
//! head is read eagerly; the body is a [`BodyReader`] reader that follows the response's
//! framing (`Content-Length`, chunked, or until close) and hands over bytes as they
//! arrive. GET follows redirects. Every hop is checked against the `--allow-net`
//! capability before anything is connected. Errors are plain messages, as the builtins
//! return them in `Err`.
//!
//! Waiting (connect, request write, head, body) goes through [`crate::suspend`]: in a
//! server handler it suspends the handler's task instead of blocking its event loop.
//!
//! Layout: [`url`] parses and joins URLs, [`message`] is the framing without I/O,
//! [`conn`] opens TCP/TLS connections, [`body`] reads bodies.

pub mod body;
pub mod conn;
pub mod message;
pub mod url;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Duration;

pub use body::{BodyReader, ShutdownHandle};
use conn::{Conn, Waiting};
use message::Head;
use url::Url;

use crate::caps;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;
/// Longest response head accepted.
const MAX_HEAD: u64 = 64 * 1024;
/// The read buffer kept with a connection for its heads and chunk framing.
const FRAMING_BUFFER: usize = 1024;

pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    pub fn get(url: impl Into<String>) -> Request {
        Request {
            method: "GET",
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn post(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Request {
        Request {
            method: "POST",
            url: url.into(),
            headers: Vec::new(),
            body: Some(body.into()),
        }
    }

    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Request {
        self.headers = headers;
        self
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    /// Per read while waiting for the response head.
    pub head: Duration,
    /// Per read of the body; `None` for streams, which may idle between lines.
    pub body: Option<Duration>,
}

impl Timeouts {
    /// For eager requests: the whole body is wanted now.
    pub const EAGER: Timeouts = Timeouts {
        connect: Duration::from_secs(10),
        head: Duration::from_secs(30),
        body: Some(Duration::from_secs(30)),
    };
    /// For streams: the upstream may send a line now and then, forever.
    pub const STREAM: Timeouts = Timeouts {
        connect: Duration::from_secs(10),
        head: Duration::from_secs(30),
        body: None,
    };
}

pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: BodyReader,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `Err` message for a non-2xx response.
    pub fn status_error(&self) -> String {
        format!("HTTP {} {}", self.status, self.reason)
            .trim_end()
            .to_string()
    }
}

/// Send a request and read the response head, following redirects for GET.
pub fn send(req: &Request, timeouts: Timeouts) -> Result<Response, String> {
    let mut url = Url::parse(&req.url)?;
    for _ in 0..=MAX_REDIRECTS {
        let response = send_once(req, &url, timeouts)?;
        let redirect = matches!(response.status, 301 | 302 | 303 | 307 | 308);
        if !(redirect && req.method == "GET") {
            return Ok(response);
        }
        let Some(location) = header(&response.headers, "location") else {
            return Ok(response);
        };
        url = url.join(location)?;
    }
    Err(format!("too many redirects (more than {MAX_REDIRECTS})"))
}

/// `send` for a body to be read as lines: a non-2xx status is an error.
pub fn open_stream(req: &Request) -> Result<BodyReader, String> {
    let response = send(req, Timeouts::STREAM)?;
    if !response.is_success() {
        return Err(response.status_error());
    }
    Ok(response.body)
}

/// `send` and read the whole body as text (invalid UTF-8 replaced); a non-2xx status
/// is an error.
pub fn fetch_text(req: &Request) -> Result<String, String> {
    let mut response = send(req, Timeouts::EAGER)?;
    if !response.is_success() {
        return Err(response.status_error());
    }
    let mut bytes = Vec::new();
    response
        .body
        .read_to_end(&mut bytes)
        .map_err(|e| io_message(&e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A read timeout surfaces as `WouldBlock` on Unix; say what it means.
fn io_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "timed out".to_string(),
        _ => e.to_string(),
    }
}

fn send_once(req: &Request, url: &Url, timeouts: Timeouts) -> Result<Response, String> {
    // With the port always present, both `host` and `host:port` entries can match.
    caps::check_net(&format!("{}:{}", url.host, url.port))?;
    let body = req.body.as_deref();
    let head = message::encode_request(req.method, url, &req.headers, body.map(<[u8]>::len))?;
    let mut conn = Conn::open(url, timeouts.connect)?;
    conn.socket()
        .set_waiting(Waiting::Upto(Some(timeouts.head)));
    // The TLS handshake happens on this first write, so certificate problems surface
    // here.
    conn.write_all(&head)
        .and_then(|_| conn.write_all(body.unwrap_or_default()))
        .and_then(|_| conn.flush())
        .map_err(|e| conn::tls_failure(url.bare_host(), &e).unwrap_or_else(|| io_message(&e)))?;
    // Small: it only has to hold framing lines. BodyReader bytes bypass it when the caller
    // reads more than it holds (the line splitter reads 16 KiB at a time), and a
    // stream that stays open for hours keeps it.
    let mut reader = BufReader::with_capacity(FRAMING_BUFFER, conn);
    let head = loop {
        let head = read_head(&mut reader)?;
        // Interim responses (100 Continue, 103 Early Hints) precede the real one.
        if head.status / 100 != 1 || head.status == 101 {
            break head;
        }
    };
    let framing = message::body_framing(req.method, &head)?;
    let body = BodyReader::new(reader, framing);
    body.set_read_timeout(timeouts.body);
    Ok(Response {
        status: head.status,
        reason: head.reason,
        headers: head.headers,
        body,
    })
}

/// Read up to and including the blank line ending the head, then parse it.
fn read_head(reader: &mut BufReader<Conn>) -> Result<Head, String> {
    let mut bytes = Vec::new();
    loop {
        let before = bytes.len();
        let limit = MAX_HEAD.saturating_sub(before as u64) + 1;
        reader
            .by_ref()
            .take(limit)
            .read_until(b'\n', &mut bytes)
            .map_err(|e| io_message(&e))?;
        let line = &bytes[before..];
        if line.is_empty() {
            return Err(if before == 0 {
                "connection closed before a response was received".to_string()
            } else {
                "connection closed in the middle of the response head".to_string()
            });
        }
        if bytes.len() as u64 > MAX_HEAD {
            return Err("response head too large".to_string());
        }
        if line == b"\r\n" || line == b"\n" {
            return message::parse_head(&bytes);
        }
    }
}
