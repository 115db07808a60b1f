//! Writing response bodies with `writev`: one loop per body shape.
//!
//! - text: head and body in one vectored write;
//! - eager list: head plus every element's chunk in one vectored write (the kernel
//!   takes at most `IOV_MAX` slices per call; the loop continues after partial writes);
//! - lazy source: each line is written as soon as it is produced. Before asking the
//!   source for a line, the writer checks `ready`: if the next line is not buffered,
//!   whatever was gathered (the head, ready lines) goes out now, because the call may
//!   block. A line that arrived while the source was not ready is written on its own,
//!   straight from the source's buffer. Lines that were ready are gathered, up to a
//!   cap, so a fast source costs one syscall per batch and a slow one no latency.
//!
//! Gathered lines are copied into a batch buffer: a source's line is only valid until
//! its next `next_line`, and gathering needs several at once. The line that ends a
//! slow wait is never copied, so it is written while the source's lock is held: with
//! a source shared between responses, a client that stops reading can hold the others
//! up until the write timeout.
//!
//! All functions are generic over `Write` so tests can count and inspect writes.

use std::io::{self, IoSlice, Write};
use std::ops::Range;
use std::sync::Mutex;

use super::framing::{line_size, push_chunk, push_end, push_line, Framing, SizeLine};
use crate::line_source::LineSource;
use crate::value::Value;

/// Limits on one gathered write.
#[derive(Clone, Copy, Debug)]
pub struct Gather {
    pub max_lines: usize,
    pub max_bytes: usize,
}

/// Write every slice completely, resuming after partial writes.
pub fn write_all_vectored<W: Write>(w: &mut W, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match w.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Head and a contiguous body in one vectored write.
pub fn write_bytes<W: Write>(w: &mut W, head: &[u8], body: &[u8]) -> io::Result<()> {
    write_all_vectored(w, &mut [IoSlice::new(head), IoSlice::new(body)])
}

fn payload(v: &Value) -> &[u8] {
    v.as_text().unwrap_or("").as_bytes()
}

/// Head and a list of texts, one chunk per non-empty element. Returns payload bytes.
pub fn write_list<W: Write>(
    w: &mut W,
    head: &[u8],
    items: &[Value],
    framing: Framing,
) -> io::Result<u64> {
    let sizes: Vec<SizeLine> = items
        .iter()
        .map(|v| SizeLine::new(payload(v).len()))
        .collect();
    let mut iov = Vec::with_capacity(2 + 3 * items.len());
    iov.push(IoSlice::new(head));
    let mut bytes = 0u64;
    for (item, size) in items.iter().zip(&sizes) {
        bytes += payload(item).len() as u64;
        push_chunk(&mut iov, framing, size, payload(item));
    }
    push_end(&mut iov, framing);
    write_all_vectored(w, &mut iov)?;
    Ok(bytes)
}

/// How a streamed body ended.
#[derive(Debug)]
pub enum StreamEnd {
    /// The source ended and the body was terminated properly.
    Complete,
    /// A write failed: the client went away (or stopped reading past the timeout).
    ClientGone(io::Error),
    /// The source failed; the body was cut short without its terminating chunk.
    SourceFailed(String),
}

pub struct Streamed {
    pub end: StreamEnd,
    /// Payload bytes produced by the source (newlines included).
    pub body_bytes: u64,
}

/// Lines copied while the source reported more ready.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    lines: Vec<(Range<usize>, SizeLine)>,
}

impl Batch {
    fn push(&mut self, line: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(line);
        self.lines.push((start..self.data.len(), line_size(line)));
    }

    fn is_full(&self, gather: Gather) -> bool {
        self.lines.len() >= gather.max_lines || self.data.len() >= gather.max_bytes
    }

    fn clear(&mut self) {
        self.data.clear();
        self.lines.clear();
    }
}

/// One vectored write of: the head (if not yet sent), the gathered lines, an optional
/// uncopied last line, and the end of the body when `end`.
fn flush<W: Write>(
    w: &mut W,
    head: Option<&[u8]>,
    batch: &Batch,
    last: Option<&[u8]>,
    end: bool,
    framing: Framing,
) -> io::Result<()> {
    let mut iov = Vec::with_capacity(2 + 3 * (batch.lines.len() + 1));
    if let Some(h) = head {
        iov.push(IoSlice::new(h));
    }
    for (range, size) in &batch.lines {
        push_line(&mut iov, framing, size, &batch.data[range.clone()]);
    }
    let last_size = last.map(line_size);
    if let (Some(line), Some(size)) = (last, last_size.as_ref()) {
        push_line(&mut iov, framing, size, line);
    }
    if end {
        push_end(&mut iov, framing);
    }
    if iov.is_empty() {
        return Ok(());
    }
    write_all_vectored(w, &mut iov)
}

/// Stream a lazy source after `head`. The source's lock is taken per line, so a
/// source shared between connections (stdin) hands each line to exactly one of them.
/// `hung_up` is asked before waiting on a source with nothing ready: a client that
/// has left should not take a line it will never receive.
pub fn stream_source<W: Write>(
    w: &mut W,
    head: &[u8],
    source: &Mutex<Box<dyn LineSource>>,
    framing: Framing,
    gather: Gather,
    hung_up: &dyn Fn() -> bool,
) -> Streamed {
    let mut head = Some(head);
    let mut batch = Batch::default();
    let mut body_bytes = 0u64;
    let finish = |end: StreamEnd, body_bytes: u64| Streamed { end, body_bytes };
    // A shared source may be locked by another response waiting for its next line;
    // the head must not wait for that, nor for a source with nothing buffered.
    let head_now = match source.try_lock() {
        Ok(src) => !src.ready(),
        Err(_) => true,
    };
    if head_now {
        if let Err(e) = flush(w, head.take(), &batch, None, false, framing) {
            return finish(StreamEnd::ClientGone(e), body_bytes);
        }
    }
    loop {
        let Ok(mut src) = source.lock() else {
            let _ = flush(w, head.take(), &batch, None, false, framing);
            return finish(
                StreamEnd::SourceFailed("line source poisoned by an earlier panic".into()),
                body_bytes,
            );
        };
        let ready = src.ready();
        if !ready && hung_up() {
            return finish(
                StreamEnd::ClientGone(io::ErrorKind::ConnectionAborted.into()),
                body_bytes,
            );
        }
        let pending = head.is_some() || !batch.lines.is_empty();
        if (!ready && pending) || batch.is_full(gather) {
            // The next line may take a while: send what we have now.
            if let Err(e) = flush(w, head.take(), &batch, None, false, framing) {
                return finish(StreamEnd::ClientGone(e), body_bytes);
            }
            batch.clear();
        }
        match src.next_line() {
            Err(message) => {
                let _ = flush(w, head.take(), &batch, None, false, framing);
                return finish(StreamEnd::SourceFailed(message), body_bytes);
            }
            Ok(None) => {
                return match flush(w, head.take(), &batch, None, true, framing) {
                    Ok(()) => finish(StreamEnd::Complete, body_bytes),
                    Err(e) => finish(StreamEnd::ClientGone(e), body_bytes),
                };
            }
            Ok(Some(line)) => {
                body_bytes += line.len() as u64 + 1;
                if ready {
                    batch.push(line);
                } else {
                    if let Err(e) = flush(w, head.take(), &batch, Some(line), false, framing) {
                        return finish(StreamEnd::ClientGone(e), body_bytes);
                    }
                    batch.clear();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// Records each vectored write; optionally accepts at most `cap` bytes per call
    /// to exercise partial writes, or fails after `fail_after` calls.
    #[derive(Default)]
    struct Recorder {
        writes: Vec<Vec<u8>>,
        cap: Option<usize>,
        fail_after: Option<usize>,
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if self.fail_after == Some(self.writes.len()) {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let mut all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            if let Some(cap) = self.cap {
                all.truncate(cap);
            }
            let n = all.len();
            self.writes.push(all);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Recorder {
        fn joined(&self) -> Vec<u8> {
            self.writes.concat()
        }
    }

    /// A scripted source: each entry is a line and whether it is already buffered
    /// (`ready`) when the writer asks; `Err` entries fail.
    struct Script {
        items: VecDeque<Result<(bool, String), String>>,
        current: String,
        closed: bool,
    }

    impl Script {
        fn new(items: Vec<Result<(bool, &str), &str>>) -> Script {
            Script {
                items: items
                    .into_iter()
                    .map(|i| i.map(|(r, s)| (r, s.to_string())).map_err(str::to_string))
                    .collect(),
                current: String::new(),
                closed: false,
            }
        }
    }

    impl LineSource for Script {
        fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
            match self.items.pop_front() {
                None => Ok(None),
                Some(Err(e)) => Err(e),
                Some(Ok((_, line))) => {
                    self.current = line;
                    Ok(Some(self.current.as_bytes()))
                }
            }
        }
        fn ready(&self) -> bool {
            matches!(self.items.front(), Some(Ok((true, _))))
        }
        fn close(&mut self) {
            self.closed = true;
            self.items.clear();
        }
    }

    const GATHER: Gather = Gather {
        max_lines: 64,
        max_bytes: 64 * 1024,
    };

    fn stream(
        items: Vec<Result<(bool, &str), &str>>,
        rec: &mut Recorder,
        gather: Gather,
    ) -> Streamed {
        let src: Mutex<Box<dyn LineSource>> = Mutex::new(Box::new(Script::new(items)));
        stream_source(rec, b"HEAD\r\n", &src, Framing::Chunked, gather, &|| false)
    }

    #[test]
    fn text_goes_out_with_the_head_in_one_write() {
        let mut rec = Recorder::default();
        write_bytes(&mut rec, b"H|", b"body").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rec.writes, vec![b"H|body".to_vec()]);
    }

    #[test]
    fn partial_writes_are_resumed() {
        let mut rec = Recorder {
            cap: Some(3),
            ..Recorder::default()
        };
        let items = vec![Value::text("hello"), Value::text(""), Value::text("world")];
        let bytes =
            write_list(&mut rec, b"H|", &items, Framing::Chunked).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bytes, 10);
        assert_eq!(
            rec.joined(),
            b"H|5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n".to_vec()
        );
        assert!(rec.writes.len() > 1);
    }

    #[test]
    fn ready_lines_are_gathered_into_one_write_with_the_head() {
        let mut rec = Recorder::default();
        let out = stream(
            vec![Ok((true, "a")), Ok((true, "bb")), Ok((true, "c"))],
            &mut rec,
            GATHER,
        );
        assert!(matches!(out.end, StreamEnd::Complete));
        assert_eq!(out.body_bytes, 7);
        // The source does not report its end as ready, so the terminator follows alone.
        assert_eq!(
            rec.writes,
            vec![
                b"HEAD\r\n2\r\na\n\r\n3\r\nbb\n\r\n2\r\nc\n\r\n".to_vec(),
                b"0\r\n\r\n".to_vec()
            ]
        );
    }

    #[test]
    fn slow_lines_go_out_one_by_one_and_the_head_does_not_wait() {
        let mut rec = Recorder::default();
        let out = stream(vec![Ok((false, "a")), Ok((false, "b"))], &mut rec, GATHER);
        assert!(matches!(out.end, StreamEnd::Complete));
        assert_eq!(
            rec.writes,
            vec![
                b"HEAD\r\n".to_vec(),
                b"2\r\na\n\r\n".to_vec(),
                b"2\r\nb\n\r\n".to_vec(),
                b"0\r\n\r\n".to_vec()
            ]
        );
    }

    #[test]
    fn a_burst_after_a_wait_is_flushed_before_the_next_wait() {
        let mut rec = Recorder::default();
        let items = vec![
            Ok((false, "a")),
            Ok((true, "b")),
            Ok((true, "c")),
            Ok((false, "d")),
        ];
        stream(items, &mut rec, GATHER);
        assert_eq!(
            rec.writes,
            vec![
                b"HEAD\r\n".to_vec(),
                b"2\r\na\n\r\n".to_vec(),
                b"2\r\nb\n\r\n2\r\nc\n\r\n".to_vec(),
                b"2\r\nd\n\r\n".to_vec(),
                b"0\r\n\r\n".to_vec()
            ]
        );
    }

    #[test]
    fn gathering_is_capped() {
        let mut rec = Recorder::default();
        let items = (0..5).map(|_| Ok((true, "x"))).collect();
        let gather = Gather {
            max_lines: 2,
            max_bytes: 1 << 20,
        };
        stream(items, &mut rec, gather);
        let lines_per_write: Vec<usize> = rec
            .writes
            .iter()
            .map(|w| w.windows(3).filter(|c| **c == b"x\n\r"[..]).count())
            .collect();
        assert_eq!(lines_per_write, vec![2, 2, 1, 0]);
    }

    #[test]
    fn a_source_error_cuts_the_body_without_the_last_chunk() {
        let mut rec = Recorder::default();
        let out = stream(
            vec![Ok((true, "a")), Err("upstream reset")],
            &mut rec,
            GATHER,
        );
        assert!(matches!(out.end, StreamEnd::SourceFailed(ref m) if m == "upstream reset"));
        let all = rec.joined();
        assert!(
            all.ends_with(b"2\r\na\n\r\n"),
            "{:?}",
            String::from_utf8_lossy(&all)
        );
    }

    #[test]
    fn a_failed_write_reports_the_client_gone() {
        let mut rec = Recorder {
            fail_after: Some(1),
            ..Recorder::default()
        };
        let out = stream(vec![Ok((false, "a")), Ok((false, "b"))], &mut rec, GATHER);
        assert!(matches!(out.end, StreamEnd::ClientGone(_)));
    }

    #[test]
    fn a_departed_client_takes_no_line_from_a_slow_source() {
        let mut rec = Recorder::default();
        let src: Mutex<Box<dyn LineSource>> =
            Mutex::new(Box::new(Script::new(vec![Ok((false, "kept"))])));
        let out = stream_source(&mut rec, b"H|", &src, Framing::Chunked, GATHER, &|| true);
        assert!(matches!(out.end, StreamEnd::ClientGone(_)));
        assert_eq!(out.body_bytes, 0);
        let left = src
            .lock()
            .map(|mut s| s.next_line().map(|l| l.map(<[u8]>::to_vec)));
        assert!(
            matches!(left, Ok(Ok(Some(ref l))) if l == b"kept"),
            "the line stays in the source"
        );
    }

    #[test]
    fn close_delimited_streams_have_no_framing() {
        let mut rec = Recorder::default();
        let src: Mutex<Box<dyn LineSource>> = Mutex::new(Box::new(Script::new(vec![
            Ok((true, "a")),
            Ok((false, "b")),
        ])));
        stream_source(
            &mut rec,
            b"H|",
            &src,
            Framing::CloseDelimited,
            GATHER,
            &|| false,
        );
        assert_eq!(rec.joined(), b"H|a\nb\n".to_vec());
    }
}
