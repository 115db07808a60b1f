//! Decoding a request body from bytes, by `Content-Length` or chunked, within
//! `max_body`. No I/O: the connection feeds whatever it has buffered, as often as bytes
//! arrive, and the decoder keeps its place between feeds, so a body that trickles in
//! costs a parked connection, never a waiting thread.
//!
//! Limits a client cannot get round: the decoded body is at most `max_body`; a chunk
//! size line (extensions included) at most [`MAX_SIZE_LINE`] bytes; the trailer section
//! at most [`MAX_TRAILERS`] bytes. Trailer fields are read and dropped.

use super::request::BodyLength;

/// Longest chunk size line, extensions included, before the body counts as malformed.
pub const MAX_SIZE_LINE: usize = 1024;
/// Largest trailer section (every trailer line and the final blank line).
pub const MAX_TRAILERS: usize = 8 * 1024;

/// Why the body cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Larger than `max_body`: answer 413.
    TooLarge,
    /// Broken chunk framing: answer 400.
    Malformed,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BodyError::TooLarge => "request body larger than the limit",
            BodyError::Malformed => "malformed chunked request body",
        })
    }
}

impl std::error::Error for BodyError {}

/// Where the decoder stands in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// `remaining` bytes of a `Content-Length` body still to come.
    Fixed {
        remaining: usize,
    },
    /// At a chunk size line.
    Size,
    /// Inside a chunk's data.
    Data {
        remaining: usize,
    },
    /// After a chunk's data, at its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines up to a blank one; `seen` bytes so far.
    Trailers {
        seen: usize,
    },
    Done,
}

/// An incremental body decoder: [`BodyDecoder::feed`] it bytes until it is done.
#[derive(Debug)]
pub struct BodyDecoder {
    state: State,
    body: Vec<u8>,
    max_body: usize,
}

impl BodyDecoder {
    /// A decoder for a body delimited as `length`. A declared length over `max_body`
    /// is refused before a byte of it is read.
    pub fn new(length: &BodyLength, max_body: usize) -> Result<BodyDecoder, BodyError> {
        let state = match *length {
            BodyLength::None => State::Done,
            BodyLength::Fixed(n) if n > max_body => return Err(BodyError::TooLarge),
            BodyLength::Fixed(n) => State::Fixed { remaining: n },
            BodyLength::Chunked => State::Size,
        };
        Ok(BodyDecoder {
            state,
            body: Vec::new(),
            max_body,
        })
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decode from the start of `input`; returns how many bytes were used. Bytes after
    /// the end of the body are left alone (the next pipelined request).
    pub fn feed(&mut self, input: &[u8]) -> Result<usize, BodyError> {
        let mut used = 0;
        while self.state != State::Done {
            let rest = &input[used..];
            let step = match self.state {
                State::Fixed { remaining } => {
                    let take = self.take(rest, remaining);
                    self.state = match remaining - take {
                        0 => State::Done,
                        left => State::Fixed { remaining: left },
                    };
                    take
                }
                State::Data { remaining } => {
                    let take = self.take(rest, remaining);
                    self.state = match remaining - take {
                        0 => State::DataEnd,
                        left => State::Data { remaining: left },
                    };
                    take
                }
                State::Size => self.size_line(rest)?,
                State::DataEnd => match rest {
                    [b'\r', b'\n', ..] => {
                        self.state = State::Size;
                        2
                    }
                    [] | [b'\r'] => 0,
                    _ => return Err(BodyError::Malformed),
                },
                State::Trailers { seen } => self.trailer_line(rest, seen)?,
                State::Done => 0,
            };
            if step == 0 {
                break;
            }
            used += step;
        }
        Ok(used)
    }

    /// The decoded body; call once [`BodyDecoder::is_done`].
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// Append up to `wanted` bytes of body from `rest`; returns how many.
    fn take(&mut self, rest: &[u8], wanted: usize) -> usize {
        let n = wanted.min(rest.len());
        self.body.extend_from_slice(&rest[..n]);
        n
    }

    fn size_line(&mut self, rest: &[u8]) -> Result<usize, BodyError> {
        let (len, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) if rest.len() > MAX_SIZE_LINE => {
                return Err(BodyError::Malformed)
            }
            Ok(httparse::Status::Partial) => return Ok(0),
            Err(_) => return Err(BodyError::Malformed),
        };
        if len > MAX_SIZE_LINE {
            return Err(BodyError::Malformed);
        }
        let size = usize::try_from(size).map_err(|_| BodyError::TooLarge)?;
        if size == 0 {
            self.state = State::Trailers { seen: 0 };
        } else if self.body.len().saturating_add(size) > self.max_body {
            return Err(BodyError::TooLarge);
        } else {
            self.state = State::Data { remaining: size };
        }
        Ok(len)
    }

    /// One trailer line (dropped), or the blank line that ends the body.
    fn trailer_line(&mut self, rest: &[u8], seen: usize) -> Result<usize, BodyError> {
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
            if seen + rest.len() > MAX_TRAILERS {
                return Err(BodyError::Malformed);
            }
            return Ok(0);
        };
        let len = end + 2;
        if seen + len > MAX_TRAILERS {
            return Err(BodyError::Malformed);
        }
        self.state = if end == 0 {
            State::Done
        } else {
            State::Trailers { seen: seen + len }
        };
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 1 << 20;

    /// Decode a whole body held in `input` at once: `Ok(None)` when more is needed.
    pub fn decode_all(
        length: &BodyLength,
        max_body: usize,
        input: &[u8],
    ) -> Result<Option<(Vec<u8>, usize)>, BodyError> {
        let mut decoder = BodyDecoder::new(length, max_body)?;
        let used = decoder.feed(input)?;
        Ok(decoder.is_done().then(|| (decoder.into_body(), used)))
    }

    fn chunked(input: &[u8]) -> Result<Option<(Vec<u8>, usize)>, BodyError> {
        decode_all(&BodyLength::Chunked, MAX, input)
    }

    #[test]
    fn fixed_bodies_stop_at_their_length() {
        let got = decode_all(&BodyLength::Fixed(3), MAX, b"abcGET /");
        assert_eq!(got, Ok(Some((b"abc".to_vec(), 3))));
        assert_eq!(decode_all(&BodyLength::Fixed(3), MAX, b"ab"), Ok(None));
        assert_eq!(
            decode_all(&BodyLength::None, MAX, b"x"),
            Ok(Some((vec![], 0)))
        );
        assert_eq!(
            BodyDecoder::new(&BodyLength::Fixed(MAX + 1), MAX).map(|_| ()),
            Err(BodyError::TooLarge)
        );
    }

    #[test]
    fn chunks_extensions_and_trailers() {
        let wire = b"3;name=v\r\nabc\r\n2\r\nde\r\n0\r\nx-t: 1\r\n\r\nNEXT";
        assert_eq!(chunked(wire), Ok(Some((b"abcde".to_vec(), wire.len() - 4))));
        assert_eq!(
            chunked(b"A\r\n0123456789\r\n0\r\n\r\n").map(|r| r.map(|r| r.0)),
            Ok(Some(b"0123456789".to_vec()))
        );
    }

    #[test]
    fn a_body_fed_byte_by_byte_is_the_same_body() {
        let wire = b"3\r\nabc\r\n1;x\r\nd\r\n0\r\nt: v\r\n\r\n";
        let mut d = BodyDecoder::new(&BodyLength::Chunked, MAX).expect("decoder");
        let mut pending: Vec<u8> = Vec::new();
        for &b in wire.iter() {
            pending.push(b);
            let used = d.feed(&pending).expect("well formed");
            pending.drain(..used);
        }
        assert!(d.is_done() && pending.is_empty());
        assert_eq!(d.into_body(), b"abcd");
    }

    #[test]
    fn broken_framing_is_malformed() {
        assert_eq!(chunked(b"zz\r\n"), Err(BodyError::Malformed));
        assert_eq!(chunked(b"3\r\nabcX\r\n"), Err(BodyError::Malformed));
        assert_eq!(
            chunked(b"+3\r\nabc\r\n0\r\n\r\n"),
            Err(BodyError::Malformed)
        );
        let long_ext = format!("1;{}", "e".repeat(MAX_SIZE_LINE + 1));
        assert_eq!(chunked(long_ext.as_bytes()), Err(BodyError::Malformed));
        let mut trailers = b"0\r\n".to_vec();
        trailers
            .extend(std::iter::repeat_n(b"x: y\r\n".as_slice(), MAX_TRAILERS / 6 + 1).flatten());
        assert_eq!(chunked(&trailers), Err(BodyError::Malformed));
    }

    #[test]
    fn chunk_sizes_count_against_the_limit_before_their_data() {
        assert_eq!(
            decode_all(&BodyLength::Chunked, 4, b"5\r\n"),
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            decode_all(&BodyLength::Chunked, 4, b"3\r\nabc\r\n2\r\n"),
            Err(BodyError::TooLarge)
        );
        assert_eq!(
            chunked(b"ffffffffffffffffff\r\n"),
            Err(BodyError::Malformed)
        );
    }
}
