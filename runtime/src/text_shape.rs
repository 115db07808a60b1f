//! Finding a text's characters by position.
//!
//! Texts are UTF-8 and ilo indexes them by character (`at s i`, `slc`, `take`,
//! `drop`), so finding character `i` means walking the bytes before it: a loop
//! reading every character by index (`@i 0..len s{c=at s i…}`) was quadratic. Most
//! texts are ASCII, where character `i` is byte `i`. A text object therefore carries
//! a [`TextShape`]: whether every byte is ASCII, found by one pass over the bytes the
//! first time a long walk would be needed and cached until the text changes
//! (`Value::make_mut` and `Value::unique_mut` forget it). Texts with other
//! characters are walked as before; the walks are counted (`copy_stats`), so a test
//! can tell a loop that walks from one that does not without timing it.
//!
//! Short walks (the first [`SHORT_WALK`] characters: `hd`, `at s 0`, a line's first
//! field) never look at the whole text, so they stay cheap on a long text read once.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use crate::copy_stats;
use crate::value::Value;

const UNKNOWN: u8 = 0;
const ASCII: u8 = 1;
const OTHER: u8 = 2;

/// Positions below this are found by walking, without asking for the shape.
pub const SHORT_WALK: usize = 32;

/// Whether a text is known to be all ASCII, known not to be, or not yet looked at.
/// Atomic so a shared text (which may be read on several threads) can cache it: every
/// reader of an unchanging text computes the same answer.
#[derive(Default)]
pub struct TextShape(AtomicU8);

impl TextShape {
    /// Not yet looked at.
    pub const fn unknown() -> TextShape {
        TextShape(AtomicU8::new(UNKNOWN))
    }

    /// Whether every byte of `s`, the text this shape belongs to, is ASCII: cached, or
    /// found by one pass over it and cached.
    pub fn is_ascii(&self, s: &str) -> bool {
        match self.0.load(Ordering::Relaxed) {
            ASCII => true,
            OTHER => false,
            _ => {
                let ascii = s.is_ascii();
                self.0
                    .store(if ascii { ASCII } else { OTHER }, Ordering::Relaxed);
                ascii
            }
        }
    }

    /// The text is about to change: what was known no longer holds.
    #[inline]
    pub fn forget(&mut self) {
        *self.0.get_mut() = UNKNOWN;
    }
}

impl Clone for TextShape {
    fn clone(&self) -> TextShape {
        TextShape(AtomicU8::new(self.0.load(Ordering::Relaxed)))
    }
}

/// A text with its shape, for finding characters by position.
#[derive(Clone, Copy)]
pub struct Chars<'a> {
    pub text: &'a str,
    shape: &'a TextShape,
}

impl<'a> Chars<'a> {
    pub fn new(text: &'a str, shape: &'a TextShape) -> Chars<'a> {
        Chars { text, shape }
    }

    /// Whether positions can be taken as byte offsets.
    fn bytes_are_chars(&self) -> bool {
        self.text.len() <= 1 || self.shape.is_ascii(self.text)
    }

    /// The number of characters.
    pub fn count(&self) -> usize {
        if self.bytes_are_chars() {
            self.text.len()
        } else {
            self.text.chars().count()
        }
    }

    /// The byte offset of character `n`, or the text's length when it has fewer.
    pub fn offset(&self, n: usize) -> usize {
        self.offset_from(0, n)
    }

    /// The byte offset of the character `n` characters after byte offset `from` (a
    /// character boundary), or the text's length when there are fewer.
    pub fn offset_from(&self, from: usize, n: usize) -> usize {
        let rest = &self.text[from..];
        if n == 0 {
            return from;
        }
        if n >= SHORT_WALK && self.bytes_are_chars() {
            return from + n.min(rest.len());
        }
        if n >= SHORT_WALK {
            copy_stats::record_walk(n);
        }
        from + rest.char_indices().nth(n).map_or(rest.len(), |(at, _)| at)
    }

    /// Character `i` as a text slice, if there is one.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let start = self.offset(i);
        let c = self.text[start..].chars().next()?;
        Some(&self.text[start..start + c.len_utf8()])
    }

    /// Characters `start..end` (`end` clamped to the text).
    pub fn slice(&self, start: usize, end: usize) -> &'a str {
        let a = self.offset(start);
        let b = self.offset_from(a, end.saturating_sub(start));
        &self.text[a..b]
    }
}

/// A one-character text as a value: an ASCII character is a text made once and
/// shared (never held once, so never changed in place), as reading a text character
/// by character would otherwise allocate a text per character.
pub fn char_value(c: &str) -> Value {
    static ASCII: OnceLock<Vec<Value>> = OnceLock::new();
    match c.as_bytes() {
        [b] if b.is_ascii() => {
            let table = ASCII.get_or_init(|| {
                (0u8..128)
                    .map(|b| Value::text(char::from(b).to_string()))
                    .collect()
            });
            table[usize::from(*b)].clone()
        }
        _ => Value::text(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> (String, TextShape) {
        (s.to_string(), TextShape::unknown())
    }

    #[test]
    fn positions_are_characters_in_any_text() {
        let long_ascii = "abcdefghij".repeat(10);
        let long_other = "é".repeat(40) + &"x".repeat(40);
        for (text, shape) in [chars("héllo"), chars(&long_ascii), chars(&long_other)] {
            let c = Chars::new(&text, &shape);
            let all: Vec<char> = text.chars().collect();
            assert_eq!(c.count(), all.len());
            for i in 0..all.len() + 2 {
                let want = all.get(i).map(|ch| ch.to_string());
                assert_eq!(c.get(i).map(str::to_string), want, "{text} at {i}");
                let tail: String = all.iter().skip(i).collect();
                assert_eq!(&text[c.offset(i)..], tail, "{text} from {i}");
                let mid: String = all.iter().skip(i / 2).take(i - i / 2).collect();
                assert_eq!(c.slice(i / 2, i), mid, "{text} {}..{i}", i / 2);
            }
        }
    }

    #[test]
    fn the_shape_is_cached_until_forgotten() {
        let mut shape = TextShape::unknown();
        assert!(shape.is_ascii("plain"));
        // Cached: the answer for the text it was computed for.
        assert!(shape.is_ascii("ö"));
        shape.forget();
        assert!(!shape.is_ascii("ö"));
        assert!(!shape.clone().is_ascii("plain"));
    }
}
