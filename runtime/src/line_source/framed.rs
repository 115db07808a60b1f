//! A line held as it goes on the wire in a chunked body, framed once for every
//! response that sends it.
//!
//! A broadcast line reaches thousands of subscribers; framing it per subscriber
//! (formatting its size in hex, then three copies) was a tenth of the loop's
//! user-space work per subscriber line. A [`FramedLine`] is framed where the line is
//! copied for a loop, and each subscriber's response copies the whole chunk in one
//! piece ([`crate::line_source::LineSource::chunk`]). The bare line, which transforms
//! and other readers get, is a slice of the same buffer.

use std::sync::Arc;

use crate::httpd::framing::{append_line, Framing};

/// One line and its chunk frame in one shared buffer: a leading byte saying where the
/// line starts within the chunk (after the size line), then the chunk itself (size
/// line, the line, its newline, the chunk's CRLF).
#[derive(Clone)]
pub struct FramedLine(Arc<[u8]>);

/// What follows the line in its chunk: the newline and the chunk's CRLF.
const CHUNK_TAIL: usize = 3;

impl FramedLine {
    pub fn new(line: &[u8]) -> FramedLine {
        let mut buf = Vec::with_capacity(line.len() + 24);
        buf.push(0);
        append_line(&mut buf, Framing::Chunked, line);
        // The size line is at most 16 hex digits and its CRLF.
        buf[0] = (buf.len() - 1 - line.len() - CHUNK_TAIL) as u8;
        FramedLine(Arc::from(buf))
    }

    /// The placeholder before a first line: an empty line.
    pub fn empty() -> FramedLine {
        FramedLine::new(b"")
    }

    /// The chunk: size line, line, newline, CRLF.
    pub fn chunk(&self) -> &[u8] {
        &self.0[1..]
    }

    /// The line itself, without its newline.
    pub fn line(&self) -> &[u8] {
        let start = 1 + usize::from(self.0[0]);
        &self.0[start..self.0.len() - CHUNK_TAIL]
    }

    /// Both hold the one buffer.
    pub fn same(a: &FramedLine, b: &FramedLine) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chunk_is_the_usual_framing_and_the_line_is_inside_it() {
        let long = "x".repeat(300);
        for text in ["tick 1", "", "a\rb", long.as_str()] {
            let framed = FramedLine::new(text.as_bytes());
            let mut expected = Vec::new();
            append_line(&mut expected, Framing::Chunked, text.as_bytes());
            assert_eq!(framed.chunk(), expected.as_slice(), "{text:?}");
            assert_eq!(framed.line(), text.as_bytes());
        }
        assert!(FramedLine::empty().line().is_empty());
    }
}
