//! Parts of the request record shared between requests instead of made afresh: the
//! common method texts, the empty text, the last path and the last header block each
//! worker thread saw.
//!
//! Clients repeat themselves: a keep-alive connection (and a load balancer's, or a
//! benchmark's, fifty of them) sends the same headers and often the same path request
//! after request. Building the header map costs about a dozen allocations; comparing
//! the header bytes with the last ones costs a `memcmp`. A shared value is never
//! uniquely held (this cache keeps a reference), so a handler that updates its
//! request's headers or path gets a copy and nothing it does shows in another
//! request: handlers see exactly the values a fresh build would give them.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

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
    headers: Option<Arc<HeaderBlock>>,
    path: Option<Text>,
}

thread_local! {
    static RECENT: RefCell<Recent> = const {
        RefCell::new(Recent {
            headers: None,
            path: None,
        })
    };
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
