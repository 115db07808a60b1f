//! Lines a transform takes from its source ahead of use, all under one lock.
//!
//! A transform asks its source for one line per `advance`, and the source sits behind
//! a lock that must not be held while the transform's function runs (the function
//! may read other sources). Taking the lines the source has *now* in one go, and
//! handing them out one at a time, makes that one lock per batch instead of per line.
//! Only the lines the source already has are taken (a pending source stops the
//! batch), so no line waits longer than before; and only a source nothing else holds
//! is read ahead, so no other reader can miss the lines held here.
//!
//! The batch is checked as UTF-8 once, not line by line: a newline is a character of
//! its own, so the lines of valid text are valid text. Lines come out as `&str`, ready
//! to be copied into the text value the transform's function gets. Only a batch with
//! invalid bytes is converted line by line, each line with its own replacements, as
//! a line read alone would be.

use super::transform::with_source;
use super::{Progress, Readiness};
use crate::value::Value;

/// Lines taken per lock, and the byte budget that also ends a batch.
const MAX_LINES: usize = 64;
const MAX_BYTES: usize = 32 * 1024;

#[derive(Default)]
pub struct Ahead {
    /// The lines, one after another, as text.
    text: String,
    /// Where each line ends in `text`, and its event id.
    lines: Vec<(usize, Option<String>)>,
    /// The next line to hand out.
    next: usize,
    /// How the source answered after the last line taken.
    stop: Option<Progress>,
}

impl Ahead {
    /// Lines taken but not yet handed out.
    pub fn has_lines(&self) -> bool {
        self.next < self.lines.len()
    }

    /// Forget everything taken (the transform ended or was closed).
    pub fn clear(&mut self) {
        *self = Ahead::default();
    }

    /// Move on to the next line (then [`Ahead::line`]) and give its event id to `id`,
    /// taking a batch from `inner` first when none is left; what the source answered
    /// once its lines are handed out.
    pub fn pull(&mut self, inner: &Value, id: &mut Option<String>) -> Progress {
        if !self.has_lines() {
            if let Some(stop) = self.stop.take() {
                return stop;
            }
            self.refill(inner);
        }
        let Some((_, line_id)) = self.lines.get_mut(self.next) else {
            return self.stop.take().unwrap_or(Progress::End);
        };
        *id = line_id.take();
        self.next += 1;
        Progress::Line
    }

    /// The line the last successful [`Ahead::pull`] moved to.
    pub fn line(&self) -> &str {
        let start = match self.next {
            0 | 1 => 0,
            n => self.lines[n - 2].0,
        };
        let end = self.next.checked_sub(1).map_or(0, |i| self.lines[i].0);
        self.text.get(start..end).unwrap_or_default()
    }

    /// Take the lines `inner` has now, with it locked once.
    fn refill(&mut self, inner: &Value) {
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        bytes.clear();
        self.lines.clear();
        self.next = 0;
        let lines = &mut self.lines;
        let buf = &mut bytes;
        self.stop = with_source(inner, Some(Progress::End), |src| {
            if src.readiness() == Readiness::Blocking {
                // Only a blocking read is possible: take that one line.
                return match src.next_line() {
                    Ok(Some(l)) => {
                        buf.extend_from_slice(l);
                        lines.push((buf.len(), src.line_id()));
                        None
                    }
                    Ok(None) => Some(Progress::End),
                    Err(m) => Some(Progress::Failed(m)),
                };
            }
            while lines.len() < MAX_LINES && buf.len() < MAX_BYTES {
                match src.advance() {
                    Progress::Line => {
                        buf.extend_from_slice(src.line());
                        lines.push((buf.len(), src.line_id()));
                    }
                    stop => return Some(stop),
                }
            }
            // Full: the next pull takes another batch.
            None
        });
        self.text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => lossy_lines(&e.into_bytes(), &mut self.lines),
        };
    }
}

/// The lines ending at `ends` in `bytes` as text, each with its invalid bytes
/// replaced; `ends` is moved to where each line ends in the text.
fn lossy_lines(bytes: &[u8], ends: &mut [(usize, Option<String>)]) -> String {
    let mut text = String::with_capacity(bytes.len());
    let mut start = 0;
    for (end, _) in ends.iter_mut() {
        text.push_str(&String::from_utf8_lossy(&bytes[start..*end]));
        start = *end;
        *end = text.len();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_source::reader::ReaderSource;

    fn source(bytes: &'static [u8]) -> Value {
        Value::source(Box::new(ReaderSource::new(bytes, "test")))
    }

    fn all_lines(inner: &Value) -> Vec<String> {
        let mut ahead = Ahead::default();
        let mut id = None;
        let mut out = Vec::new();
        while ahead.pull(inner, &mut id) == Progress::Line {
            out.push(ahead.line().to_string());
        }
        out
    }

    #[test]
    fn lines_come_out_as_they_went_in() {
        let inner = source(b"one\ntwo\n\nf\xc3\xbcnf\nlast");
        assert_eq!(all_lines(&inner), ["one", "two", "", "f\u{fc}nf", "last"]);
    }

    #[test]
    fn only_the_line_with_invalid_bytes_gets_replacements() {
        let inner = source(b"ok\nbad \xff here\nalso ok\n");
        assert_eq!(all_lines(&inner), ["ok", "bad \u{fffd} here", "also ok"]);
    }
}
