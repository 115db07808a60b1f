//! Request heads: parsing with `httparse`, the questions the connection loop asks of
//! them (keep-alive? body length? 100-continue?), and the request record handed to
//! the handler.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use super::config::MAX_HEAD_BYTES;
use crate::value::{MapKey, RecordType, Value};

/// Most headers a request may carry; more answers 431 like an oversized head.
const MAX_HEADERS: usize = 100;

/// A parsed request line and headers.
#[derive(Debug)]
pub struct RequestHead {
    pub method: String,
    /// The target up to `?`, as sent (not percent-decoded).
    pub path: String,
    /// The raw query after `?`, empty when there is none.
    pub query: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Bytes the head occupied in the input, blank line included.
    pub len: usize,
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

/// Parse a head from the start of `buf`. `Ok(None)`: incomplete, read more.
pub fn parse_head(buf: &[u8]) -> Result<Option<RequestHead>, Reject> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    let len = match req.parse(buf) {
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
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = req
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    Ok(Some(RequestHead {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        minor_version,
        headers,
        len,
    }))
}

impl RequestHead {
    /// The first value of a header (`name` lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn connection_has(&self, token: &str) -> bool {
        self.headers
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
        self.method == "HEAD"
    }

    pub fn expects_continue(&self) -> bool {
        self.header("expect")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
    }

    /// The body's delimitation. Conflicting or unparsable framing is a 400 (request
    /// smuggling hides in the ambiguity); codings other than `chunked` are a 501.
    pub fn body_length(&self) -> Result<BodyLength, Reject> {
        let mut lengths = self.headers.iter().filter(|(n, _)| n == "content-length");
        let te = self.header("transfer-encoding");
        if let Some(te) = te {
            if lengths.next().is_some() {
                return Err(Reject(400));
            }
            return if te.trim().eq_ignore_ascii_case("chunked") {
                Ok(BodyLength::Chunked)
            } else {
                Err(Reject(501))
            };
        }
        let Some((_, first)) = lengths.next() else {
            return Ok(BodyLength::None);
        };
        let n: usize = first.trim().parse().map_err(|_| Reject(400))?;
        if lengths.any(|(_, other)| other.trim() != first.trim()) {
            return Err(Reject(400));
        }
        Ok(if n == 0 {
            BodyLength::None
        } else {
            BodyLength::Fixed(n)
        })
    }

    /// The record the handler receives:
    /// `req{method:t path:t query:t headers:M t t body:t}`. Repeated headers are
    /// joined with `, `, which HTTP defines as equivalent.
    pub fn to_value(&self, body: String) -> Value {
        let mut headers: BTreeMap<MapKey, Value> = BTreeMap::new();
        for (name, value) in &self.headers {
            let key = MapKey::Text(name.clone());
            let joined = match headers.get(&key).and_then(|v| v.as_text()) {
                Some(prev) => format!("{prev}, {value}"),
                None => value.clone(),
            };
            headers.insert(key, Value::text(joined));
        }
        Value::record(
            request_type(),
            vec![
                Value::text(self.method.clone()),
                Value::text(self.path.clone()),
                Value::text(self.query.clone()),
                Value::map(headers),
                Value::text(body),
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
            (h.method.as_str(), h.path.as_str(), h.query.as_str()),
            ("GET", "/a/b", "x=1&y=2")
        );
        assert_eq!(h.header("x-thing"), Some("V"));
        assert_eq!(
            h.len,
            "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h\r\nX-Thing: V\r\n\r\n".len()
        );
        let v = h.to_value(String::new());
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
        let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES + 1));
        assert_eq!(parse_head(&big).map(|h| h.is_some()), Err(Reject(431)));
        assert_eq!(
            parse_head(b"NOT HTTP\r\n\r\n").map(|h| h.is_some()),
            Err(Reject(400))
        );
    }

    #[test]
    fn keep_alive_rules_follow_the_version() {
        assert!(parse("GET / HTTP/1.1\r\n\r\n").wants_keep_alive());
        assert!(!parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").wants_keep_alive());
        assert!(!parse("GET / HTTP/1.0\r\n\r\n").wants_keep_alive());
        assert!(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").wants_keep_alive());
    }

    #[test]
    fn body_length_rejects_ambiguity() {
        let len = |raw: &str| parse(raw).body_length();
        assert_eq!(
            len("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n"),
            Ok(BodyLength::Fixed(5))
        );
        assert_eq!(
            len("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Ok(BodyLength::Chunked)
        );
        assert_eq!(len("GET / HTTP/1.1\r\n\r\n"), Ok(BodyLength::None));
        assert_eq!(
            len("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            Err(Reject(400))
        );
        assert_eq!(
            len("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Err(Reject(400))
        );
        assert_eq!(
            len("POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(Reject(400))
        );
        assert_eq!(
            len("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
            Err(Reject(501))
        );
    }

    #[test]
    fn repeated_headers_are_joined() {
        let v = parse("GET / HTTP/1.1\r\nAccept: a\r\nAccept: b\r\n\r\n").to_value(String::new());
        let rec = v.as_record().map(|r| r.values[3].to_string());
        assert_eq!(rec.as_deref(), Some("{accept: a, b}"));
    }
}
