//! Writing eager response bodies with `writev`: one loop per body shape.
//!
//! - text: head and body in one vectored write;
//! - eager list: head plus every element's chunk in one vectored write (the kernel
//!   takes at most `IOV_MAX` slices per call; the loop continues after partial writes).
//!
//! Lazy sources are streamed by [`super::body_stream`] on the event loop instead; the
//! gathering limits they share live here ([`Gather`]).
//!
//! All functions are generic over `Write` so tests can count and inspect writes.

use std::io::{self, IoSlice, Write};

use super::framing::{push_chunk, push_end, Framing, SizeLine};
use crate::value::Text;

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

/// Head and a list of texts, one chunk per non-empty element. Returns payload bytes.
pub fn write_list<W: Write>(
    w: &mut W,
    head: &[u8],
    items: &[Text],
    framing: Framing,
) -> io::Result<u64> {
    let sizes: Vec<SizeLine> = items
        .iter()
        .map(|t| SizeLine::new(t.as_str().len()))
        .collect();
    let mut iov = Vec::with_capacity(2 + 3 * items.len());
    iov.push(IoSlice::new(head));
    let mut bytes = 0u64;
    for (item, size) in items.iter().zip(&sizes) {
        let payload = item.as_str().as_bytes();
        bytes += payload.len() as u64;
        push_chunk(&mut iov, framing, size, payload);
    }
    push_end(&mut iov, framing);
    write_all_vectored(w, &mut iov)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
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
        let items: Vec<Text> = ["hello", "", "world"]
            .iter()
            .filter_map(|s| Text::new(crate::value::Value::text(*s)).ok())
            .collect();
        let bytes =
            write_list(&mut rec, b"H|", &items, Framing::Chunked).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bytes, 10);
        assert_eq!(
            rec.joined(),
            b"H|5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n".to_vec()
        );
        assert!(rec.writes.len() > 1);
    }
}
