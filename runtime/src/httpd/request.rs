//! Request heads: parsing with `httparse`, the questions the connection loop asks of
//! them (keep-alive? body length? 100-continue?), and the request record handed to
//! the handler (its texts and header map shared with earlier requests where they are
//! the same, see [`super::request_reuse`]).

use std::mem::MaybeUninit;
use std::sync::{Arc, OnceLock};

use super::config::MAX_HEAD_BYTES;
use super::request_reuse::{self, HeaderBlock};
use crate::value::{RecordType, Text, Value};

/// Most headers a request may carry; more answers 431 like an oversized head.
const MAX_HEADERS: usize = 100;

/// A parsed request line and headers.
#[derive(Clone)]
pub struct RequestHead {
    method: Text,
    /// The target up to `?`, as sent (not percent-decoded).
    path: Text,
    /// The raw query after `?`, empty when there is none.
    query: Text,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    headers: Arc<HeaderBlock>,
    /// Bytes the head occupied in the input, blank line included.
    pub len: usize,
}

impl std::fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &self.method())
            .field("path", &self.path())
            .field("query", &self.query())
            .field("minor_version", &self.minor_version)
            .field("headers", &self.headers())
            .field("len", &self.len)
            .finish()
    }
}

/// How the request body is delimited.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyLength {
    None,
    Fixed(usize),
    Chunked,
}

/// Why a head cannot be served; the status to answer with before closing.
#[derive(Debug, PartialEq, Eq)]
pub struct Reject(pub u16);

/// A `Content-Length` value: digits only (no sign, no space inside); a number too
/// large for memory is a body too large to take.
fn content_length(value: &str) -> Result<usize, Reject> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reject(400));
    }
    value.parse().map_err(|_| Reject(413))
}

/// Parse a head from the start of `buf`. `Ok(None)`: incomplete, read more.
pub fn parse_head(buf: &[u8]) -> Result<Option<RequestHead>, Reject> {
    if buf.is_empty() {
        return Ok(None);
    }
    if let Some(head) = request_reuse::repeated_head(buf) {
        return Ok(Some(head));
    }
    // Left uninitialised: httparse writes the slots it fills, and zeroing a hundred
    // of them (3 KiB) cost as much as parsing a short head.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => return Err(Reject(431)),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Reject(431)),
        Err(_) => return Err(Reject(400)),
    };
    if len > MAX_HEAD_BYTES {
        return Err(Reject(431));
    }
    let (Some(method), Some(target), Some(minor_version)) = (req.method, req.path, req.version)
    else {
        return Err(Reject(400));
    };
    // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one before.
    let hosts = req
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("host"))
        .count();
    if hosts > 1 || (hosts == 0 && minor_version >= 1) {
        return Err(Reject(400));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // The header lines run from the first name to the end of the head.
    let block_start = req
        .headers
        .first()
        .map_or(Some(len), |h| {
            (h.name.as_ptr() as usize).checked_sub(buf.as_ptr() as usize)
        })
        .filter(|&start| start <= len)
        .unwrap_or(0);
    let headers = request_reuse::header_block(&buf[block_start..len], req.headers);
    let head = RequestHead {
        method: request_reuse::text(method),
        path: request_reuse::path_text(path),
        query: request_reuse::text(query),
        minor_version,
        headers,
        len,
    };
    request_reuse::remember_head(&buf[..len], &head);
    Ok(Some(head))
}

impl RequestHead {
    pub fn method(&self) -> &str {
        self.method.as_str()
    }

    pub fn path(&self) -> &str {
        self.path.as_str()
    }

    pub fn query(&self) -> &str {
        self.query.as_str()
    }

    /// Names lower-cased, in arrival order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers.fields
    }

    /// Whether `other` is this head: the same texts and header block, not only equal
    /// ones (a head from [`request_reuse`] shares them with the one it repeats).
    pub fn is(&self, other: &RequestHead) -> bool {
        let same = |a: &Text, b: &Text| a.as_value().raw() == b.as_value().raw();
        same(&self.method, &other.method)
            && same(&self.path, &other.path)
            && same(&self.query, &other.query)
            && Arc::ptr_eq(&self.headers, &other.headers)
            && self.minor_version == other.minor_version
            && self.len == other.len
    }

    /// The method and path as texts, for what outlives the head (a streamed
    /// response's log line).
    pub fn method_and_path(&self) -> (Text, Text) {
        (self.method.clone(), self.path.clone())
    }

    /// The first value of a header (`name` lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn connection_has(&self, token: &str) -> bool {
        self.headers()
            .iter()
            .filter(|(n, _)| n == "connection")
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told
    /// to keep it.
    pub fn wants_keep_alive(&self) -> bool {
        if self.minor_version == 0 {
            self.connection_has("keep-alive")
        } else {
            !self.connection_has("close")
        }
    }

    pub fn is_head(&self) -> bool {
        self.method() == "HEAD"
    }

    pub fn expects_continue(&self) -> bool {
        self.header("expect")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
    }

    /// The body's delimitation, by the rules of RFC 9112 §6: ambiguous framing is a
    /// 400 (request smuggling hides in the ambiguity), a coding other than `chunked`
    /// before the final `chunked` a 501.
    pub fn body_length(&self) -> Result<BodyLength, Reject> {
        let has = |name: &str| self.headers().iter().any(|(n, _)| n == name);
        if has("transfer-encoding") {
            if has("content-length") || self.minor_version == 0 {
                return Err(Reject(400));
            }
            return self.transfer_codings();
        }
        let mut length = None;
        let values = self
            .headers()
            .iter()
            .filter(|(n, _)| n == "content-length")
            .flat_map(|(_, v)| v.split(','));
        for value in values {
            let n = content_length(value.trim())?;
            if length.is_some_and(|l| l != n) {
                return Err(Reject(400));
            }
            length = Some(n);
        }
        Ok(match length {
            None | Some(0) => BodyLength::None,
            Some(n) => BodyLength::Fixed(n),
        })
    }

    /// Every `Transfer-Encoding` line joined as one list: `chunked` must come last and
    /// once; codings before it are not supported.
    fn transfer_codings(&self) -> Result<BodyLength, Reject> {
        let codings: Vec<&str> = self
            .headers()
            .iter()
            .filter(|(n, _)| n == "transfer-encoding")
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let chunked = |c: &&str| c.eq_ignore_ascii_case("chunked");
        match codings.split_last() {
            Some((last, before)) if chunked(last) && !before.iter().any(chunked) => {
                if before.is_empty() {
                    Ok(BodyLength::Chunked)
                } else {
                    Err(Reject(501))
                }
            }
            _ => Err(Reject(400)),
        }
    }

    /// The record the handler receives:
    /// `req{method:t path:t query:t headers:M t t body:t}`. Repeated headers are
    /// joined with `, `, which HTTP defines as equivalent.
    pub fn record(&self, body: String) -> Value {
        if body.is_empty() {
            return request_reuse::empty_body_record(self, || self.build_record(body));
        }
        self.build_record(body)
    }

    fn build_record(&self, body: String) -> Value {
        Value::record(
            request_type(),
            vec![
                self.method.clone().into_value(),
                self.path.clone().into_value(),
                self.query.clone().into_value(),
                self.headers.map.clone(),
                request_reuse::owned_text(body).into_value(),
            ],
        )
    }
}

/// The request record's type, shared by every request.
pub fn request_type() -> Arc<RecordType> {
    static TYPE: OnceLock<Arc<RecordType>> = OnceLock::new();
    TYPE.get_or_init(|| {
        Arc::new(RecordType {
            name: "req".to_string(),
            fields: ["method", "path", "query", "headers", "body"]
                .iter()
                .map(|f| f.to_string())
                .collect(),
        })
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> RequestHead {
        match parse_head(raw.as_bytes()) {
            Ok(Some(h)) => h,
            other => panic!("expected a complete head, got {other:?}"),
        }
    }

    #[test]
    fn splits_path_and_query_and_lowercases_header_names() {
        let h = parse("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\r\nX-Thing: V\r\n\r\nrest");
        assert_eq!(
            (h.method(), h.path(), h.query()),
            ("GET", "/a/b", "x=1&y=2")
        );
        assert_eq!(h.header("x-thing"), Some("V"));
        assert_eq!(
            h.len,
            "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\r\nX-Thing: V\r\n\r\n".len()
        );
        let v = h.record(String::new());
        assert_eq!(
            v.to_string(),
            "req {method: GET, path: /a/b, query: x=1&y=2, headers: {host: h; x-thing: V}, body: }"
        );
    }

    #[test]
    fn incomplete_heads_ask_for_more_and_oversized_ones_are_431() {
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\nHost: h\r\n").map(|h| h.is_some()),
            Ok(false)
        );
        let mut big = b"GET / HTTP/1.1\r\nHost: h\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES + 1));
        assert_eq!(parse_head(&big).map(|h| h.is_some()), Err(Reject(431)));
        assert_eq!(
            parse_head(b"NOT HTTP\r\n\r\n").map(|h| h.is_some()),
            Err(Reject(400))
        );
    }

    #[test]
    fn keep_alive_rules_follow_the_version() {
        assert!(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n").wants_keep_alive());
        assert!(
            !parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n").wants_keep_alive()
        );
        assert!(!parse("GET / HTTP/1.0\r\n\r\n").wants_keep_alive());
        assert!(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").wants_keep_alive());
    }

    #[test]
    fn body_length_rejects_ambiguity() {
        let len = |raw: &str| parse(raw).body_length();
        assert_eq!(
            len("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"),
            Ok(BodyLength::Fixed(5))
        );
        assert_eq!(
            len("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Ok(BodyLength::Chunked)
        );
        assert_eq!(
            len("GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
            Ok(BodyLength::None)
        );
        assert_eq!(
            len("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n"),
            Err(Reject(400))
        );
        assert_eq!(
            len("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Err(Reject(400))
        );
        assert_eq!(
            len("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(Reject(400))
        );
        assert_eq!(
            len("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"),
            Err(Reject(400))
        );
    }

    #[test]
    fn host_rules() {
        let head = |raw: &str| parse_head(raw.as_bytes()).map(|h| h.is_some());
        assert_eq!(head("GET / HTTP/1.1\r\n\r\n"), Err(Reject(400)));
        assert_eq!(
            head("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
            Err(Reject(400))
        );
        assert_eq!(
            head("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"),
            Err(Reject(400))
        );
        assert_eq!(head("GET / HTTP/1.0\r\n\r\n"), Ok(true));
        assert_eq!(head("GET / HTTP/1.1\r\nHOST: a\r\n\r\n"), Ok(true));
    }

    #[test]
    fn content_length_is_digits_only() {
        let len = |value: &str| {
            parse(&format!(
                "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {value}\r\n\r\n"
            ))
            .body_length()
        };
        assert_eq!(len("5"), Ok(BodyLength::Fixed(5)));
        assert_eq!(len("0"), Ok(BodyLength::None));
        assert_eq!(len("5, 5"), Ok(BodyLength::Fixed(5)));
        for bad in ["+5", "-5", "5 5", "0x5", "5,6", "", " , ", "1e3", "٣"] {
            assert_eq!(len(bad), Err(Reject(400)), "Content-Length: {bad:?}");
        }
        assert_eq!(len("99999999999999999999999"), Err(Reject(413)));
    }

    #[test]
    fn transfer_encoding_list_rules() {
        let te = |values: &[&str]| {
            let lines: String = values
                .iter()
                .map(|v| format!("Transfer-Encoding: {v}\r\n"))
                .collect();
            parse(&format!("POST / HTTP/1.1\r\nHost: h\r\n{lines}\r\n")).body_length()
        };
        assert_eq!(te(&["chunked"]), Ok(BodyLength::Chunked));
        assert_eq!(te(&["Chunked "]), Ok(BodyLength::Chunked));
        assert_eq!(te(&["chunked, chunked"]), Err(Reject(400)));
        assert_eq!(te(&["chunked", "chunked"]), Err(Reject(400)));
        assert_eq!(te(&["chunked, gzip"]), Err(Reject(400)));
        assert_eq!(te(&["chunked", "identity"]), Err(Reject(400)));
        assert_eq!(te(&["gzip"]), Err(Reject(400)));
        assert_eq!(te(&[""]), Err(Reject(400)));
        assert_eq!(te(&["gzip, chunked"]), Err(Reject(501)));
        assert_eq!(te(&["gzip", "chunked"]), Err(Reject(501)));
        let http10 = parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(http10.body_length(), Err(Reject(400)));
    }

    #[test]
    fn repeated_headers_are_joined() {
        let v = parse("GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\nAccept: b\r\n\r\n")
            .record(String::new());
        let rec = v.as_record().map(|r| r.values[3].to_string());
        assert_eq!(rec.as_deref(), Some("{accept: a, b; host: h}"));
    }
}
