//! Lines a transform takes from its source ahead of use, all under one lock.
//!
//! A transform asks its source for one line per `advance`, and the source sits behind
//! a lock that must not be held while the transform's function runs (the function
//! may read other sources). Taking the lines the source has *now* in one go, and
//! handing them out one at a time, makes that one lock per batch instead of per line.
//! Only the lines the source already has are taken (a pending source stops the
//! batch), so no line waits longer than before; and only a source nothing else holds
//! is read ahead, so no other reader can miss the lines held here.

use super::transform::with_source;
use super::{Progress, Readiness};
use crate::value::Value;

/// Lines taken per lock, and the byte budget that also ends a batch.
const MAX_LINES: usize = 64;
const MAX_BYTES: usize = 32 * 1024;

#[derive(Default)]
pub struct Ahead {
    /// The lines, one after another.
    bytes: Vec<u8>,
    /// Where each line ends in `bytes`, and its event id.
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

    /// Hand out the next line into `line` and `id`, taking a batch from `inner` first
    /// when none is left; what the source answered once its lines are handed out.
    pub fn pull(&mut self, inner: &Value, line: &mut Vec<u8>, id: &mut Option<String>) -> Progress {
        if !self.has_lines() {
            if let Some(stop) = self.stop.take() {
                return stop;
            }
            self.refill(inner);
        }
        let start = match self.next {
            0 => 0,
            n => self.lines[n - 1].0,
        };
        let Some((end, line_id)) = self.lines.get_mut(self.next) else {
            return self.stop.take().unwrap_or(Progress::End);
        };
        let end = *end;
        *id = line_id.take();
        line.clear();
        line.extend_from_slice(&self.bytes[start..end]);
        self.next += 1;
        Progress::Line
    }

    /// Take the lines `inner` has now, with it locked once.
    fn refill(&mut self, inner: &Value) {
        self.bytes.clear();
        self.lines.clear();
        self.next = 0;
        let (bytes, lines) = (&mut self.bytes, &mut self.lines);
        self.stop = with_source(inner, Some(Progress::End), |src| {
            if src.readiness() == Readiness::Blocking {
                // Only a blocking read is possible: take that one line.
                return match src.next_line() {
                    Ok(Some(l)) => {
                        bytes.extend_from_slice(l);
                        lines.push((bytes.len(), src.line_id()));
                        None
                    }
                    Ok(None) => Some(Progress::End),
                    Err(m) => Some(Progress::Failed(m)),
                };
            }
            while lines.len() < MAX_LINES && bytes.len() < MAX_BYTES {
                match src.advance() {
                    Progress::Line => {
                        bytes.extend_from_slice(src.line());
                        lines.push((bytes.len(), src.line_id()));
                    }
                    stop => return Some(stop),
                }
            }
            // Full: the next pull takes another batch.
            None
        });
    }
}
