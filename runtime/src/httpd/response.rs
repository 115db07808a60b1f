//! Interpreting the handler's returned value as a response: status, headers, body shape.
//!
//! - a text is `200` with that text;
//! - a record with `status` and `body` fields (and optionally `headers`, a map of
//!   text to text that overrides the defaults) is a full response; a zero-argument
//!   function as `body` is called first and its result is the body;
//! - `~v` (an Ok result) is treated as `v`; `^e` (an Err result) answers 500 with `e`
//!   as text, so a handler can let an error value escape and still get a readable
//!   answer;
//! - the same holds for a Result in a record's `body`, except that `^e` there answers
//!   502: the body was to come from elsewhere (typically `get-stream`) and did not;
//! - any other value is rendered as JSON.
//!
//! Body shapes: text, list of texts (chunked, one chunk per element), a lazy line
//! source (chunked, streamed), or anything else as JSON.

use std::borrow::Cow;

use super::framing::Shape;
use crate::line_source::sse;
use crate::value::{Text, Value};

/// A response header: lower-case name and value, static for the server's defaults.
pub type Header = (Cow<'static, str>, Cow<'static, str>);

pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
pub const APPLICATION_JSON: &str = "application/json";

/// The headers of a response the handler adds none to, for the two common content
/// types: borrowed by every such response instead of built for each, and recognised
/// by address when the head is rendered (see [`super::head::with_head`]).
static PLAIN_HEADERS: [Header; 1] = [(Cow::Borrowed("content-type"), Cow::Borrowed(TEXT_PLAIN))];
static JSON_HEADERS: [Header; 1] = [(
    Cow::Borrowed("content-type"),
    Cow::Borrowed(APPLICATION_JSON),
)];

/// The headers every response with this content type starts from.
fn default_headers(content_type: &'static str) -> Cow<'static, [Header]> {
    match content_type {
        TEXT_PLAIN => Cow::Borrowed(&PLAIN_HEADERS),
        APPLICATION_JSON => Cow::Borrowed(&JSON_HEADERS),
        other => Cow::Owned(vec![(Cow::Borrowed("content-type"), Cow::Borrowed(other))]),
    }
}

/// Framing is the server's business: these response headers from a handler are ignored.
const SERVER_OWNED_HEADERS: [&str; 3] = ["content-length", "transfer-encoding", "connection"];

pub enum Body {
    /// A text value, written from its own bytes.
    Text(Text),
    /// Bytes rendered by the server (JSON, error messages).
    Bytes(Vec<u8>),
    /// A list of texts: one chunk per non-empty element.
    List(Vec<Text>),
    /// A lazy line source: one chunk per line, streamed.
    Source(Value),
}

impl Body {
    /// What the framing decision needs to know of the body.
    pub fn shape(&self) -> Shape {
        match self {
            Body::Text(t) => Shape::Sized(t.as_str().len()),
            Body::Bytes(b) => Shape::Sized(b.len()),
            Body::List(_) | Body::Source(_) => Shape::Pieces,
        }
    }
}

pub struct Response {
    pub status: u16,
    /// Final headers (lower-cased names), defaults merged with the handler's.
    pub headers: Cow<'static, [Header]>,
    pub body: Body,
}

impl Response {
    /// A plain-text response the server makes itself (errors, rejections).
    pub fn plain(status: u16, message: &str) -> Response {
        Response {
            status,
            headers: Cow::Borrowed(&PLAIN_HEADERS),
            body: Body::Bytes(message.as_bytes().to_vec()),
        }
    }
}

/// Interpret a handler result. `Err` carries a diagnostic for the log: the value
/// could not be turned into a response (bad status, bad header, body function failed).
pub fn interpret(value: Value) -> Result<Response, String> {
    match value.as_result() {
        Some(Ok(inner)) => return interpret(inner.clone()),
        Some(Err(e)) => return Ok(Response::plain(500, &e.to_string())),
        None => {}
    }
    let Some(record) = value.as_record() else {
        let (content_type, body) = body_shape(value);
        return Ok(with_headers(200, content_type, None, body));
    };
    let field = |name: &str| record.ty.field_index(name).map(|i| &record.values[i]);
    let (Some(status), Some(body)) = (field("status"), field("body")) else {
        // A record that is not a response is data: JSON.
        let (content_type, body) = body_shape(value.clone());
        return Ok(with_headers(200, content_type, None, body));
    };
    let status = status_code(status)?;
    let extra = match field("headers") {
        Some(h) if !h.is_nil() => Some(header_pairs(h)?),
        _ => None,
    };
    let mut body = match body.as_func() {
        Some(f) if f.arity == 0 => crate::func::call_value(body, &[])
            .map_err(|e| format!("response body function failed: {}", crate::func::resolve(e)))?,
        _ => body.clone(),
    };
    // A Result body (`body:(get-stream url)`) is what a Result at top level is: `~v`
    // is answered as `v`; `^e` means the body could not be had from where it comes
    // from, so the promised status cannot stand: 502, the gateway's answer.
    while let Some(result) = body.as_result() {
        match result {
            Ok(inner) => body = inner.clone(),
            Err(e) => return Ok(Response::plain(502, &e.to_string())),
        }
    }
    let (content_type, body) = body_shape(body);
    Ok(with_headers(status, content_type, extra, body))
}

/// Decide the body shape and its default content type.
fn body_shape(body: Value) -> (&'static str, Body) {
    let body = match Text::new(body) {
        Ok(text) => return (TEXT_PLAIN, Body::Text(text)),
        Err(other) => other,
    };
    if let Some(src) = body.as_source() {
        // Never wait for the lock: a source shared between responses may be held by
        // one that waits for its next line. Such a source is plain lines anyway.
        let media = match src.try_lock() {
            Ok(s) => s.media_type(),
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().media_type(),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        return (media.unwrap_or(TEXT_PLAIN), Body::Source(body));
    }
    if let Some(texts) = body
        .as_list()
        .and_then(|items| items.iter().map(|v| Text::new(v.clone()).ok()).collect())
    {
        return (TEXT_PLAIN, Body::List(texts));
    }
    let json = crate::deep::json::to_json_text(&body);
    (APPLICATION_JSON, Body::Bytes(json.into_bytes()))
}

fn status_code(v: &Value) -> Result<u16, String> {
    match v.as_num() {
        Some(n) if n.fract() == 0.0 && (100.0..=599.0).contains(&n) => Ok(n as u16),
        _ => Err(format!(
            "response status must be a number from 100 to 599, got {v}"
        )),
    }
}

/// The handler's headers as (lower-cased name, value) pairs. Names and values are
/// checked so a handler cannot inject header lines.
fn header_pairs(v: &Value) -> Result<Vec<(String, String)>, String> {
    let Some(map) = v.as_map() else {
        return Err(format!(
            "response headers must be a map, got {}",
            v.kind_name()
        ));
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, value) in map {
        let name = name.to_string().to_ascii_lowercase();
        let value = value.to_string();
        let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !name_ok || value.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(format!("invalid response header {name:?}"));
        }
        out.push((name, value));
    }
    Ok(out)
}

fn with_headers(
    status: u16,
    content_type: &'static str,
    extra: Option<Vec<(String, String)>>,
    body: Body,
) -> Response {
    let mut headers = default_headers(content_type);
    if content_type == sse::MEDIA_TYPE {
        // Events are live: a cache or a proxy must not keep or hold them.
        headers
            .to_mut()
            .push((Cow::Borrowed("cache-control"), Cow::Borrowed("no-cache")));
    }
    for (name, value) in extra.into_iter().flatten() {
        if SERVER_OWNED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let headers = headers.to_mut();
        match headers.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = Cow::Owned(value),
            None => headers.push((Cow::Owned(name), Cow::Owned(value))),
        }
    }
    Response {
        status,
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::value::{MapKey, RecordType};

    fn response(status: Value, body: Value, headers: Option<Value>) -> Value {
        let mut fields = vec!["status".to_string(), "body".to_string()];
        let mut values = vec![status, body];
        if let Some(h) = headers {
            fields.push("headers".to_string());
            values.push(h);
        }
        Value::record(
            Arc::new(RecordType {
                name: "res".into(),
                fields,
            }),
            values,
        )
    }

    fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    #[test]
    fn plain_text_is_200_text() {
        let r = interpret(Value::text("hi")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status, 200);
        assert!(matches!(r.body, Body::Text(ref v) if v.as_str() == "hi"));
        assert_eq!(header(&r, "content-type"), Some(TEXT_PLAIN));
    }

    #[test]
    fn records_give_status_and_override_headers_but_not_framing() {
        let mut h = BTreeMap::new();
        h.insert(
            MapKey::Text("Content-Type".into()),
            Value::text("text/html"),
        );
        h.insert(MapKey::Text("x-a".into()), Value::text("1"));
        h.insert(MapKey::Text("content-length".into()), Value::text("99"));
        let r = interpret(response(
            Value::num(404.0),
            Value::text("no"),
            Some(Value::map(h)),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status, 404);
        assert_eq!(header(&r, "content-type"), Some("text/html"));
        assert_eq!(header(&r, "x-a"), Some("1"));
        assert_eq!(header(&r, "content-length"), None);
    }

    #[test]
    fn shapes_lists_json_and_results() {
        let texts = Value::list(vec![Value::text("a"), Value::text("b")]);
        assert!(matches!(
            interpret(texts).map(|r| r.body),
            Ok(Body::List(_))
        ));
        let nums = Value::list(vec![Value::num(1.0), Value::num(2.0)]);
        let r = interpret(nums).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(header(&r, "content-type"), Some(APPLICATION_JSON));
        assert!(matches!(r.body, Body::Bytes(ref b) if b == b"[1,2]"));
        let ok = interpret(Value::ok(Value::text("fine"))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.status, 200);
        let err = interpret(Value::err(Value::text("boom"))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(err.status, 500);
        assert!(matches!(err.body, Body::Bytes(ref b) if b == b"boom"));
    }

    #[test]
    fn a_result_body_is_unwrapped_or_answered_502() {
        let ok = response(Value::num(201.0), Value::ok(Value::text("x")), None);
        let r = interpret(ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status, 201);
        assert!(matches!(r.body, Body::Text(ref v) if v.as_str() == "x"));
        let lines = Value::ok(Value::list(vec![Value::text("a\n"), Value::text("b\n")]));
        let r =
            interpret(response(Value::num(200.0), lines, None)).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(r.body, Body::List(_)));
        let failed = response(Value::num(200.0), Value::err(Value::text("refused")), None);
        let r = interpret(failed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status, 502);
        assert!(matches!(r.body, Body::Bytes(ref b) if b == b"refused"));
    }

    #[test]
    fn nil_headers_are_no_headers() {
        let r = interpret(response(
            Value::num(200.0),
            Value::text(""),
            Some(Value::NIL),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.headers.len(), 1);
    }

    #[test]
    fn bad_status_and_injected_headers_are_errors() {
        assert!(interpret(response(Value::num(42.0), Value::text(""), None)).is_err());
        assert!(interpret(response(Value::text("200"), Value::text(""), None)).is_err());
        let mut h = BTreeMap::new();
        h.insert(MapKey::Text("x".into()), Value::text("a\r\nset-cookie: b"));
        assert!(interpret(response(
            Value::num(200.0),
            Value::text(""),
            Some(Value::map(h))
        ))
        .is_err());
    }
}
