//! Parts of the request record shared between requests instead of made afresh: the
//! common method texts, the empty text, and what each worker thread saw last: the
//! whole head (with its record, when the request had no body), the path and the
//! header block.
//!
//! Clients repeat themselves: a keep-alive connection (and a load balancer's, or a
//! benchmark's, fifty of them) sends the same headers and often the same request line
//! request after request. Parsing a head and building its header map costs hundreds
//! of instructions and about a dozen allocations; comparing its bytes with the last
//! head's costs a `memcmp`. A head is a pure function of its bytes, so equal bytes
//! give the last head again. A shared value is never uniquely held (this cache keeps
//! a reference), so a handler that updates its request gets a copy and nothing it
//! does shows in another request: handlers see exactly the values a fresh build would
//! give them.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use super::request::RequestHead;
use crate::value::{KeyRef, Map, Text, Value};

/// Texts most request records carry: the common methods, and the empty text (no
/// query, no body).
const COMMON_TEXTS: [&str; 8] = [
    "", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
];

/// One of [`COMMON_TEXTS`], made once and shared by every request: retaining it is an
/// atomic increment where a fresh text costs two allocations and two frees.
fn common_text(text: &str) -> Option<Text> {
    static TEXTS: OnceLock<Vec<Text>> = OnceLock::new();
    let i = COMMON_TEXTS.iter().position(|t| *t == text)?;
    let texts = TEXTS.get_or_init(|| COMMON_TEXTS.iter().map(|t| Text::from(*t)).collect());
    texts.get(i).cloned()
}

/// `text` as a shared common text when it is one, else a new text.
pub fn text(text: &str) -> Text {
    common_text(text).unwrap_or_else(|| Text::from(text))
}

/// [`text`] for a text already owned (a request body): moved, not copied, when new.
pub fn owned_text(text: String) -> Text {
    common_text(&text).unwrap_or_else(|| Text::from(text))
}

/// A request's headers: the names (lower-cased) and values in arrival order, for the
/// server's own questions, and the map the handler sees (repeated names joined with
/// `, `, which HTTP defines as equivalent).
pub struct HeaderBlock {
    /// The header lines exactly as received: equal bytes, equal headers.
    raw: Box<[u8]>,
    pub fields: Vec<(String, String)>,
    pub map: Value,
}

impl HeaderBlock {
    fn build(raw: &[u8], parsed: &[httparse::Header<'_>]) -> HeaderBlock {
        let fields: Vec<(String, String)> = parsed
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        let mut map = Map::new();
        for (name, value) in &fields {
            let joined = match map.get(KeyRef::Text(name)).and_then(Value::as_text) {
                Some(earlier) => format!("{earlier}, {value}"),
                None => value.clone(),
            };
            map.set(KeyRef::Text(name), Value::text(joined));
        }
        HeaderBlock {
            raw: raw.into(),
            fields,
            map: Value::map(map),
        }
    }
}

/// What this thread last built, kept for the next request.
struct Recent {
    /// The last head parsed, and its bytes (ending with the blank line).
    head: Option<(Vec<u8>, RequestHead)>,
    /// The record of the last head with an empty body, once a request asked for it.
    empty_body_record: Option<Value>,
    headers: Option<Arc<HeaderBlock>>,
    path: Option<Text>,
}

thread_local! {
    static RECENT: RefCell<Recent> = const {
        RefCell::new(Recent {
            head: None,
            empty_body_record: None,
            headers: None,
            path: None,
        })
    };
}

/// The thread's last head, when `buf` starts with the same bytes: httparse reads no
/// further than a head's blank line, so the same bytes parse to the same head.
pub fn repeated_head(buf: &[u8]) -> Option<RequestHead> {
    RECENT.with(|recent| {
        let recent = recent.try_borrow().ok()?;
        let (bytes, head) = recent.head.as_ref()?;
        buf.starts_with(bytes).then(|| head.clone())
    })
}

/// Keep `head`, parsed from `bytes`, as the thread's last head.
pub fn remember_head(bytes: &[u8], head: &RequestHead) {
    RECENT.with(|recent| {
        let Ok(mut recent) = recent.try_borrow_mut() else {
            return;
        };
        recent.empty_body_record = None;
        // The buffer of the head it replaces is reused.
        let mut kept = recent.head.take().map(|(b, _)| b).unwrap_or_default();
        kept.clear();
        kept.extend_from_slice(bytes);
        recent.head = Some((kept, head.clone()));
    })
}

/// The record of `head` with an empty body: the one made for the thread's last head
/// when `head` is that head, else `build()`'s (kept when `head` is the last head).
pub fn empty_body_record(head: &RequestHead, build: impl FnOnce() -> Value) -> Value {
    RECENT.with(|recent| {
        let Ok(mut recent) = recent.try_borrow_mut() else {
            return build();
        };
        let is_last = recent.head.as_ref().is_some_and(|(_, last)| last.is(head));
        if !is_last {
            return build();
        }
        recent.empty_body_record.get_or_insert_with(build).clone()
    })
}

/// The header block for the header lines `raw` (parsed into `parsed`): the thread's
/// last one when the bytes are the same, else a new one, which becomes the last.
pub fn header_block(raw: &[u8], parsed: &[httparse::Header<'_>]) -> Arc<HeaderBlock> {
    RECENT.with(|recent| {
        let Ok(mut recent) = recent.try_borrow_mut() else {
            return Arc::new(HeaderBlock::build(raw, parsed));
        };
        if let Some(block) = recent.headers.as_ref().filter(|b| *b.raw == *raw) {
            return Arc::clone(block);
        }
        let block = Arc::new(HeaderBlock::build(raw, parsed));
        recent.headers = Some(Arc::clone(&block));
        block
    })
}

/// The path as a text: the thread's last one when it is the same, else a new one,
/// which becomes the last.
pub fn path_text(path: &str) -> Text {
    RECENT.with(|recent| {
        let Ok(mut recent) = recent.try_borrow_mut() else {
            return Text::from(path);
        };
        if let Some(text) = recent.path.as_ref().filter(|t| t.as_str() == path) {
            return text.clone();
        }
        let text = Text::from(path);
        recent.path = Some(text.clone());
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(raw: &[u8]) -> Arc<HeaderBlock> {
        let mut slots = [httparse::EMPTY_HEADER; 8];
        let mut req = httparse::Request::new(&mut slots);
        assert!(matches!(req.parse(raw), Ok(httparse::Status::Complete(_))));
        header_block(raw, req.headers)
    }

    #[test]
    fn equal_header_bytes_share_one_block_and_different_ones_do_not() {
        let a = block(b"GET / HTTP/1.1\r\nHost: h\r\nAccept: x\r\n\r\n");
        let b = block(b"GET / HTTP/1.1\r\nHost: h\r\nAccept: x\r\n\r\n");
        assert!(Arc::ptr_eq(&a, &b));
        let c = block(b"GET / HTTP/1.1\r\nHost: h\r\nAccept: y\r\n\r\n");
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.map.to_string(), "{accept: y; host: h}");
        // The map a record gets is never uniquely held while the block lives, so no
        // handler can change it in place.
        assert!(!c.map.clone().is_unique());
    }

    #[test]
    fn repeated_names_are_joined_in_the_map_and_kept_apart_in_the_fields() {
        let b = block(b"GET / HTTP/1.1\r\nHost: h\r\nAccept: a\r\naccept: b\r\n\r\n");
        assert_eq!(b.map.to_string(), "{accept: a, b; host: h}");
        assert_eq!(b.fields.len(), 3);
    }

    fn head(raw: &[u8]) -> RequestHead {
        match super::super::request::parse_head(raw) {
            Ok(Some(h)) => h,
            other => panic!("expected a head, got {other:?}"),
        }
    }

    #[test]
    fn a_repeated_head_is_the_last_one_and_shares_its_empty_body_record() {
        let first = head(b"GET /r?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");
        // The same head with a body behind it, as a pipelined buffer holds it.
        let again = head(b"GET /r?q=1 HTTP/1.1\r\nHost: h\r\n\r\nGET /next");
        assert!(again.is(&first));
        assert_eq!(again.len, first.len);
        let a = first.record(String::new());
        let b = again.record(String::new());
        assert_eq!(a.raw(), b.raw());
        assert_eq!(
            b.to_string(),
            "req {method: GET, path: /r, query: q=1, headers: {host: h}, body: }"
        );
        assert!(!b.is_unique());
        // A body makes a record of its own.
        let with_body = again.record("x".to_string());
        assert_ne!(with_body.raw(), a.raw());
        assert!(with_body.to_string().ends_with("body: x}"));
        // A head differing in one byte is parsed afresh; the old head's record is not
        // handed to it, nor to the old head once another was parsed.
        let other = head(b"GET /r?q=2 HTTP/1.1\r\nHost: h\r\n\r\n");
        assert!(!other.is(&first));
        assert_eq!(other.query(), "q=2");
        assert!(other
            .record(String::new())
            .to_string()
            .contains("query: q=2"));
        assert_ne!(first.record(String::new()).raw(), a.raw());
    }

    #[test]
    fn a_repeated_path_is_one_text() {
        let a = path_text("/p");
        let b = path_text("/p");
        assert_eq!(a.as_str(), "/p");
        assert_eq!(a.clone().into_value().raw(), b.into_value().raw());
        // Shared with the cache, so a handler updating it gets a copy.
        assert!(!a.clone().into_value().is_unique());
        assert_eq!(path_text("/q").as_str(), "/q");
    }
}
