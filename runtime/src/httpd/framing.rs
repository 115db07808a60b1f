//! Body framing as `iovec`s, kept apart from I/O so it is testable without sockets.
//!
//! A chunk on the wire is three pieces: the size line (hex length + CRLF), the payload,
//! and a CRLF. The payload is never copied here: the framer only appends slices that
//! point at the caller's bytes, plus small static pieces. Size lines are rendered into
//! fixed arrays the caller keeps alive for as long as the slices are in use.
//!
//! Lines from a source lost their `\n`; it is restored by a static piece, so a line
//! chunk is `size(len+1)`, `line`, `"\n\r\n"`. HTTP/1.0 clients cannot read chunked
//! bodies, so for them the body is close-delimited and only the payloads are written.
//!
//! Which framing a response gets, and whether its connection is kept, is decided here
//! too, by [`plan`]: a function of the request and the response, no socket involved.

use std::io::IoSlice;

/// The chunk that ends a chunked body (no trailers).
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";
/// Ends a chunk's payload.
pub const CRLF: &[u8] = b"\r\n";
/// Restores a line's newline and ends its chunk.
const NEWLINE_CRLF: &[u8] = b"\n\r\n";
const NEWLINE: &[u8] = b"\n";

/// How the body's end is signalled to the client: the one framing decision of a
/// response, made by [`plan`] and followed by the head and every body writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: n`: a body whose size is known before the head is written.
    Length(usize),
    /// `Transfer-Encoding: chunked` (HTTP/1.1).
    Chunked,
    /// The body ends when the connection closes (HTTP/1.0).
    CloseDelimited,
    /// The status allows no body (1xx, 204, 304).
    NoBody,
}

/// What the connection does after this response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persist {
    /// HTTP/1.1 default: say nothing.
    KeepImplicit,
    /// HTTP/1.0 client that asked for keep-alive.
    KeepExplicit,
    Close,
}

/// The response body as far as framing cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// All bytes at hand: their count.
    Sized(usize),
    /// Produced piece by piece (a list of chunks, a line source).
    Pieces,
}

/// Everything decided about a response before a byte of it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub framing: Framing,
    pub persist: Persist,
    /// Whether body bytes follow the head (not for `HEAD` or a bodiless status).
    pub with_body: bool,
}

impl Plan {
    pub fn keep_alive(&self) -> bool {
        self.persist != Persist::Close
    }
}

/// Statuses that never carry a body.
pub fn forbids_body(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}

/// Decide a response's framing and persistence from the request (`minor_version`,
/// whether it is `HEAD`, whether it allows keep-alive) and the response (status,
/// body shape). HTTP/1.0 cannot read chunked bodies, so pieces are close-delimited
/// there, and such a connection cannot be kept.
pub fn plan(
    minor_version: u8,
    head_request: bool,
    keep_wanted: bool,
    status: u16,
    shape: Shape,
) -> Plan {
    let http10 = minor_version == 0;
    let framing = match shape {
        _ if forbids_body(status) => Framing::NoBody,
        Shape::Sized(n) => Framing::Length(n),
        Shape::Pieces if http10 => Framing::CloseDelimited,
        Shape::Pieces => Framing::Chunked,
    };
    let persist = match (keep_wanted && framing != Framing::CloseDelimited, http10) {
        (false, _) => Persist::Close,
        (true, true) => Persist::KeepExplicit,
        (true, false) => Persist::KeepImplicit,
    };
    Plan {
        framing,
        persist,
        with_body: !head_request && framing != Framing::NoBody,
    }
}

/// A chunk size line, `"{len:x}\r\n"`, rendered without allocating.
#[derive(Clone, Copy)]
pub struct SizeLine {
    buf: [u8; 18],
    len: u8,
}

impl SizeLine {
    pub fn new(payload_len: usize) -> SizeLine {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        // Written once per streamed line: count the digits first and fill them in from
        // the last, with no second pass to reverse them.
        let bits = usize::BITS - (payload_len | 1).leading_zeros();
        let count = bits.div_ceil(4) as usize;
        let mut buf = [0u8; 18];
        let mut n = payload_len;
        for digit in buf[..count].iter_mut().rev() {
            *digit = HEX[n & 0xf];
            n >>= 4;
        }
        buf[count] = b'\r';
        buf[count + 1] = b'\n';
        SizeLine {
            buf,
            len: (count + 2) as u8,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

/// The size line a source line needs: its payload includes the restored `\n`.
pub fn line_size(line: &[u8]) -> SizeLine {
    SizeLine::new(line.len() + 1)
}

/// Append the pieces of one source line (newline restored). `size` must come from
/// [`line_size`] for this line; it is ignored for close-delimited bodies.
pub fn push_line<'a>(
    out: &mut Vec<IoSlice<'a>>,
    framing: Framing,
    size: &'a SizeLine,
    line: &'a [u8],
) {
    match framing {
        Framing::Chunked => {
            out.push(IoSlice::new(size.as_bytes()));
            if !line.is_empty() {
                out.push(IoSlice::new(line));
            }
            out.push(IoSlice::new(NEWLINE_CRLF));
        }
        _ => {
            if !line.is_empty() {
                out.push(IoSlice::new(line));
            }
            out.push(IoSlice::new(NEWLINE));
        }
    }
}

/// Append one element of an eager list as a chunk, as is. Empty payloads are skipped:
/// an empty chunk would end a chunked body early.
pub fn push_chunk<'a>(
    out: &mut Vec<IoSlice<'a>>,
    framing: Framing,
    size: &'a SizeLine,
    payload: &'a [u8],
) {
    if payload.is_empty() {
        return;
    }
    if framing == Framing::Chunked {
        out.push(IoSlice::new(size.as_bytes()));
    }
    out.push(IoSlice::new(payload));
    if framing == Framing::Chunked {
        out.push(IoSlice::new(CRLF));
    }
}

/// Append the end of the body: the last chunk when chunked, nothing otherwise.
pub fn push_end(out: &mut Vec<IoSlice<'_>>, framing: Framing) {
    if framing == Framing::Chunked {
        out.push(IoSlice::new(LAST_CHUNK));
    }
}

/// Append a source line's framing and bytes to an output buffer (for streamed bodies,
/// whose lines must outlive the source's buffer while the socket is not writable).
pub fn append_line(out: &mut Vec<u8>, framing: Framing, line: &[u8]) {
    if framing == Framing::Chunked {
        let size = line_size(line);
        let size = size.as_bytes();
        out.reserve(size.len() + line.len() + NEWLINE_CRLF.len());
        out.extend_from_slice(size);
        out.extend_from_slice(line);
        out.extend_from_slice(NEWLINE_CRLF);
    } else {
        out.extend_from_slice(line);
        out.extend_from_slice(NEWLINE);
    }
}

/// Append the end of a streamed body (nothing when the close ends it).
pub fn append_end(out: &mut Vec<u8>, framing: Framing) {
    if framing == Framing::Chunked {
        out.extend_from_slice(LAST_CHUNK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_version_method_status_and_shape() {
        let p = plan(1, false, true, 200, Shape::Sized(5));
        assert_eq!(
            (p.framing, p.persist, p.with_body),
            (Framing::Length(5), Persist::KeepImplicit, true)
        );
        let p = plan(1, false, true, 200, Shape::Pieces);
        assert_eq!((p.framing, p.keep_alive()), (Framing::Chunked, true));
        // HTTP/1.0: pieces end with the connection, which therefore closes.
        let p = plan(0, false, true, 200, Shape::Pieces);
        assert_eq!(
            (p.framing, p.persist),
            (Framing::CloseDelimited, Persist::Close)
        );
        let p = plan(0, false, true, 200, Shape::Sized(1));
        assert_eq!(p.persist, Persist::KeepExplicit);
        let p = plan(1, false, false, 200, Shape::Sized(1));
        assert_eq!(p.persist, Persist::Close);
        // HEAD announces the framing but sends no body; 204 and 304 have none at all.
        let p = plan(1, true, true, 200, Shape::Sized(9));
        assert_eq!((p.framing, p.with_body), (Framing::Length(9), false));
        for status in [101, 204, 304] {
            let p = plan(1, false, true, status, Shape::Pieces);
            assert_eq!((p.framing, p.with_body), (Framing::NoBody, false));
        }
    }

    fn concat(slices: &[IoSlice<'_>]) -> Vec<u8> {
        slices.iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn size_lines_are_lowercase_hex_with_crlf() {
        assert_eq!(SizeLine::new(0).as_bytes(), b"0\r\n");
        assert_eq!(SizeLine::new(10).as_bytes(), b"a\r\n");
        assert_eq!(SizeLine::new(255).as_bytes(), b"ff\r\n");
        assert_eq!(SizeLine::new(0x10000).as_bytes(), b"10000\r\n");
        assert_eq!(
            SizeLine::new(usize::MAX).as_bytes(),
            b"ffffffffffffffff\r\n"
        );
    }

    #[test]
    fn a_line_chunk_restores_the_newline_and_points_at_the_line() {
        let line = b"hello".to_vec();
        let size = line_size(&line);
        let mut out = Vec::new();
        push_line(&mut out, Framing::Chunked, &size, &line);
        assert_eq!(concat(&out), b"6\r\nhello\n\r\n");
        assert_eq!(
            out.len(),
            3,
            "size line, payload and tail are separate iovecs"
        );
        // The payload iovec is the caller's buffer, not a copy.
        assert_eq!(out[1].as_ptr(), line.as_ptr());
    }

    #[test]
    fn an_empty_line_is_still_a_one_byte_chunk() {
        let size = line_size(b"");
        let mut out = Vec::new();
        push_line(&mut out, Framing::Chunked, &size, b"");
        assert_eq!(concat(&out), b"1\r\n\n\r\n");
    }

    #[test]
    fn appended_lines_match_their_iovecs() {
        for framing in [Framing::Chunked, Framing::CloseDelimited] {
            for line in [&b""[..], b"x", &[b'y'; 300]] {
                let size = line_size(line);
                let mut iov = Vec::new();
                push_line(&mut iov, framing, &size, line);
                push_end(&mut iov, framing);
                let mut appended = Vec::new();
                append_line(&mut appended, framing, line);
                append_end(&mut appended, framing);
                assert_eq!(appended, concat(&iov));
            }
        }
    }

    #[test]
    fn close_delimited_lines_are_bare() {
        let size = line_size(b"ab");
        let mut out = Vec::new();
        push_line(&mut out, Framing::CloseDelimited, &size, b"ab");
        push_end(&mut out, Framing::CloseDelimited);
        assert_eq!(concat(&out), b"ab\n");
    }

    #[test]
    fn list_elements_become_chunks_and_empty_ones_are_skipped() {
        let items: [&[u8]; 3] = [b"abc", b"", b"0123456789abcdef"];
        let sizes: Vec<SizeLine> = items.iter().map(|p| SizeLine::new(p.len())).collect();
        let mut out = Vec::new();
        for (p, s) in items.iter().zip(&sizes) {
            push_chunk(&mut out, Framing::Chunked, s, p);
        }
        push_end(&mut out, Framing::Chunked);
        assert_eq!(
            concat(&out),
            b"3\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n".to_vec()
        );
    }

    #[test]
    fn close_delimited_list_is_the_concatenation() {
        let items: [&[u8]; 3] = [b"a", b"", b"bc"];
        let sizes: Vec<SizeLine> = items.iter().map(|p| SizeLine::new(p.len())).collect();
        let mut out = Vec::new();
        for (p, s) in items.iter().zip(&sizes) {
            push_chunk(&mut out, Framing::CloseDelimited, s, p);
        }
        push_end(&mut out, Framing::CloseDelimited);
        assert_eq!(concat(&out), b"abc");
    }
}
