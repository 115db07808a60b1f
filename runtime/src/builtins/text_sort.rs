//! Sorting a list of texts (`srt`/`rsrt` on a list whose elements are all texts), in
//! byte order (which for UTF-8 is the order of code points).
//!
//! Comparing two text values directly means following each word to its heap object
//! and from there to its bytes, two dependent loads per side before the first byte.
//! Instead each text's first eight bytes are read once into an integer (big-endian, so
//! integer order is byte order; a shorter text is padded with zeros) and the sort
//! moves 16-byte entries of that prefix and the element's index: most comparisons are
//! one integer comparison within a cache-friendly array, and only texts whose prefixes
//! are equal are compared byte by byte. The values are then moved into the order the
//! entries say, without touching their reference counts. Equal texts cannot be told
//! apart, so an unstable sort is enough.

use crate::value::Value;

/// Below this many elements the entries are not worth building.
const ENTRIES_FROM: usize = 64;

/// Sort `xs`, every element a text, ascending (or descending) by bytes.
pub(super) fn sort_texts(xs: &mut [Value], descending: bool) {
    if xs.len() < ENTRIES_FROM || u32::try_from(xs.len()).is_err() {
        if descending {
            xs.sort_unstable_by(|a, b| text(b).cmp(text(a)));
        } else {
            xs.sort_unstable_by(|a, b| text(a).cmp(text(b)));
        }
        return;
    }
    let mut entries: Vec<Entry> = xs
        .iter()
        .zip(0..)
        .map(|(v, index)| Entry {
            prefix: prefix(text(v)),
            index,
        })
        .collect();
    let order = |a: &Entry, b: &Entry| {
        a.prefix
            .cmp(&b.prefix)
            .then_with(|| text(&xs[a.index as usize]).cmp(text(&xs[b.index as usize])))
    };
    if descending {
        entries.sort_unstable_by(|a, b| order(b, a));
    } else {
        entries.sort_unstable_by(order);
    }
    let sorted: Vec<Value> = entries
        .iter()
        .map(|e| std::mem::replace(&mut xs[e.index as usize], Value::NIL))
        .collect();
    for (slot, v) in xs.iter_mut().zip(sorted) {
        *slot = v;
    }
}

fn text(v: &Value) -> &[u8] {
    v.as_text().unwrap_or_default().as_bytes()
}

/// One element of the list being sorted: its first bytes as an integer, and where it is.
#[derive(Clone, Copy)]
struct Entry {
    prefix: u64,
    index: u32,
}

/// The first eight bytes of `bytes` as a big-endian integer, zeros past its end: two
/// texts whose prefixes differ are ordered as their prefixes are.
#[inline]
fn prefix(bytes: &[u8]) -> u64 {
    let mut head = [0u8; 8];
    let n = bytes.len().min(8);
    head[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sorting through the entries gives exactly what comparing whole texts gives:
    /// shared prefixes longer than eight bytes, texts that are prefixes of others,
    /// zero bytes, multi-byte characters, duplicates.
    #[test]
    fn entries_order_is_byte_order() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pieces = [
            "",
            "a",
            "ab",
            "abcdefgh",
            "abcdefghi",
            "abcdefgh\0",
            "\0",
            "é",
            "z",
            "Z",
            "😀",
        ];
        for len in [10, ENTRIES_FROM, 3000] {
            let texts: Vec<String> = (0..len)
                .map(|_| {
                    let parts = next() % 4;
                    (0..parts)
                        .map(|_| pieces[next() as usize % pieces.len()])
                        .collect()
                })
                .collect();
            for descending in [false, true] {
                let mut values: Vec<Value> =
                    texts.iter().map(|t| Value::text(t.as_str())).collect();
                sort_texts(&mut values, descending);
                let got: Vec<&str> = values.iter().map(|v| v.as_text().unwrap()).collect();
                let mut expected: Vec<&str> = texts.iter().map(String::as_str).collect();
                expected.sort();
                if descending {
                    expected.reverse();
                }
                assert_eq!(got, expected, "{len} texts, descending {descending}");
            }
        }
    }

    #[test]
    fn prefixes_order_as_bytes() {
        let texts = ["", "\0", "a", "a\0", "ab", "abcdefgh", "abcdefgi", "b", "é"];
        for a in texts {
            for b in texts {
                let (pa, pb) = (prefix(a.as_bytes()), prefix(b.as_bytes()));
                if pa != pb {
                    assert_eq!(pa.cmp(&pb), a.cmp(b), "{a:?} against {b:?}");
                }
            }
        }
        assert_eq!(prefix(b"a"), prefix(b"a\0"));
    }
}
