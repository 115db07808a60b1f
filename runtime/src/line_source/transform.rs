//! Lazy transforms of a line source: `map f src`, `flt f src`, `take n src`,
//! `drop n src`.
//!
//! A transform is itself a line source wrapping the source value it was given, so
//! transforms nest and the body writer streams them like any other source. Nothing is
//! read until the consumer asks: each `advance` asks the inner source for one line
//! and passes it through the step, so a line keeps the latency it had (a pending
//! inner source makes the transform pending on the same descriptor).
//!
//! The inner source is locked only while lines are taken from it, never while the
//! compiled function runs: the function may itself read other sources. `map` and
//! `flt` take the lines a source nothing else holds has ready in one lock
//! ([`super::ahead`]). A function
//! that fails (a runtime error inside it, or `map` returning something other than
//! text) fails the transformed source with that error's message, as a broken upstream
//! would.

use super::ahead::Ahead;
use super::{block_on, Interrupter, LineSource, Progress, Readiness, Waker};
use crate::func::{call_value_owned, resolve};
use crate::value::{Obj, Value};

/// What happens to each line of the inner source.
pub enum Step {
    /// Replace the line with `f line`, which must be text.
    Map(Value),
    /// Keep the line when `f line` is truthy.
    Keep(Value),
    /// Pass this many more lines, then end.
    Take(u64),
    /// Skip this many more lines, then pass the rest.
    Drop(u64),
}

pub struct Transform {
    /// The source value being transformed.
    inner: Value,
    step: Step,
    /// The current line (a copy: the inner buffer moves on), when it was pulled
    /// directly from `inner` rather than from `ahead`.
    line: Vec<u8>,
    /// For `map` and `flt`, what `line()` answers: `map`'s result for the current
    /// line, or the line `flt` kept. Kept as a value so that, when nothing else holds
    /// it by the next line, its object and buffer carry that line to the function:
    /// no allocation per line.
    current: Option<Value>,
    /// Lines taken ahead from `inner` (only for `map` and `flt` over a source nothing
    /// else holds; see [`Ahead`]).
    ahead: Ahead,
    /// The line just pulled is `ahead`'s, not in `line`.
    from_ahead: bool,
    /// The event id the inner source gave the current line.
    id: Option<String>,
    finished: bool,
}

impl Transform {
    /// Wrap the source value `inner` (anything else is an ended source).
    pub fn new(inner: Value, step: Step) -> Transform {
        Transform {
            inner,
            step,
            line: Vec::new(),
            current: None,
            ahead: Ahead::default(),
            from_ahead: false,
            id: None,
            finished: false,
        }
    }

    /// Run `f` with the inner source locked; `default` if `inner` is no source.
    fn with_inner<T>(&self, default: T, f: impl FnOnce(&mut dyn LineSource) -> T) -> T {
        with_source(&self.inner, default, f)
    }

    fn pull(&mut self) -> Progress {
        self.from_ahead = self.ahead.has_lines() || self.reads_ahead();
        if self.from_ahead {
            return self.ahead.pull(&self.inner, &mut self.id);
        }
        pull_line(&self.inner, &mut self.line, &mut self.id)
    }

    /// The line just pulled as a text value the step's function may own, made from
    /// the last one's value when nothing else holds it (no allocation per line).
    fn line_value(&mut self) -> Value {
        let previous = self.current.take();
        if self.from_ahead {
            text_from(previous, self.ahead.line())
        } else {
            recycle_text(previous, &mut self.line)
        }
    }

    /// Whether lines may be taken from `inner` ahead of use: every one of them is used
    /// (unlike `take`, which stops, and `drop`, which never needs it), and nothing else
    /// holds the source to read the lines held here.
    fn reads_ahead(&self) -> bool {
        matches!(self.step, Step::Map(_) | Step::Keep(_)) && self.inner.is_unique()
    }

    /// Apply the step to the line just pulled: `Some` to answer, `None` to pull again.
    fn apply(&mut self) -> Option<Progress> {
        match &self.step {
            Step::Map(_) | Step::Keep(_) => {}
            Step::Take(_) | Step::Drop(_) => return self.count(),
        }
        let arg = self.line_value();
        match &self.step {
            Step::Map(f) => Some(match call_owned(f, "map", arg) {
                Ok(out) if out.as_text().is_some() => {
                    self.current = Some(out);
                    Progress::Line
                }
                Ok(out) => Progress::Failed(format!(
                    "map: the function must return text for a stream, got {}",
                    out.kind_name()
                )),
                Err(message) => Progress::Failed(message),
            }),
            Step::Keep(f) => {
                // The line is needed after the call: the function gets a reference of
                // its own (so it cannot change ours in place), not a copy.
                self.current = Some(arg.clone());
                match call_owned(f, "flt", arg) {
                    Ok(keep) => keep.truthy().then_some(Progress::Line),
                    Err(message) => Some(Progress::Failed(message)),
                }
            }
            Step::Take(_) | Step::Drop(_) => None,
        }
    }

    /// `take` and `drop`: count the line just pulled.
    fn count(&mut self) -> Option<Progress> {
        match &mut self.step {
            Step::Take(left) => {
                *left -= 1;
                Some(Progress::Line)
            }
            Step::Drop(left) if *left > 0 => {
                *left -= 1;
                None
            }
            Step::Drop(_) | Step::Map(_) | Step::Keep(_) => Some(Progress::Line),
        }
    }

    /// Yield nothing more, and let go of what is buffered (the current line, its
    /// value, the lines read ahead).
    fn stop(&mut self) {
        self.finished = true;
        self.line = Vec::new();
        self.current = None;
        self.ahead.clear();
    }

    fn finish(&mut self, progress: Progress) -> Progress {
        if matches!(progress, Progress::End | Progress::Failed(_)) {
            self.stop();
            self.id = None;
        }
        progress
    }
}

/// Call a step's function `f` with the argument `arg`, which it owns.
fn call_owned(f: &Value, step: &str, arg: Value) -> Result<Value, String> {
    call_value_owned(f, [arg]).map_err(|e| format!("{step}: {}", resolve(e).message))
}

/// The bytes of a line as text (invalid UTF-8 replaced), keeping the buffer if valid.
fn to_text(line: Vec<u8>) -> String {
    String::from_utf8(line).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A text value holding `line`, made from `previous` (the last line's result) when
/// nothing else holds it: the line's buffer moves into that object and its old
/// buffer comes back in `line` for the next pull, so a function that hands back its
/// argument (`upr l`, changed in place) costs no allocation per line.
fn recycle_text(previous: Option<Value>, line: &mut Vec<u8>) -> Value {
    let mut value = match previous {
        Some(v) if v.is_unique() && v.as_text().is_some() => v,
        _ => return Value::text(to_text(std::mem::take(line))),
    };
    if let Some(Obj::Text(_, text)) = value.make_mut() {
        let spare = std::mem::take(text).into_bytes();
        *text = to_text(std::mem::replace(line, spare));
    }
    value
}

/// A text value holding a copy of `line`, made from `previous` when nothing else
/// holds it (its buffer is reused).
fn text_from(previous: Option<Value>, line: &str) -> Value {
    match previous {
        Some(mut value) if value.is_unique() && value.as_text().is_some() => {
            if let Some(Obj::Text(_, text)) = value.make_mut() {
                text.clear();
                text.push_str(line);
            }
            value
        }
        _ => Value::text(line.to_string()),
    }
}

/// Take the next line of the source value `inner` into `line` (and its id into `id`),
/// without blocking unless that source can only block. Shared by the wrappers.
pub(super) fn pull_line(inner: &Value, line: &mut Vec<u8>, id: &mut Option<String>) -> Progress {
    with_source(inner, Progress::End, |src| {
        if src.readiness() == Readiness::Blocking {
            return match src.next_line() {
                Ok(Some(l)) => {
                    line.clear();
                    line.extend_from_slice(l);
                    *id = src.line_id();
                    Progress::Line
                }
                Ok(None) => Progress::End,
                Err(m) => Progress::Failed(m),
            };
        }
        let progress = src.advance();
        if progress == Progress::Line {
            line.clear();
            line.extend_from_slice(src.line());
            *id = src.line_id();
        }
        progress
    })
}

/// Run `f` with the source behind `value` locked; `default` if it is no source.
pub(super) fn with_source<T>(
    value: &Value,
    default: T,
    f: impl FnOnce(&mut dyn LineSource) -> T,
) -> T {
    match value.as_source() {
        Some(cell) => {
            let mut src = cell.lock().unwrap_or_else(|p| p.into_inner());
            f(src.as_mut())
        }
        None => default,
    }
}

impl LineSource for Transform {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        block_on(self)
    }

    fn ready(&self) -> bool {
        if self.finished || matches!(self.step, Step::Take(0)) {
            return true;
        }
        if self.ahead.has_lines() {
            return true;
        }
        // For `flt` and `drop` a ready inner line may be skipped; the next one may
        // not be ready. The event-driven writer relies on `advance`, which is exact.
        self.with_inner(true, |src| src.ready())
    }

    fn close(&mut self) {
        self.stop();
        self.with_inner((), |src| src.close());
    }

    fn interrupter(&self) -> Option<Interrupter> {
        self.with_inner(None, |src| src.interrupter())
    }

    fn readiness(&self) -> Readiness {
        if self.finished || matches!(self.step, Step::Take(0)) || self.ahead.has_lines() {
            return Readiness::Always;
        }
        // Over a blocking-only source this is `Blocking` too: the server then pumps
        // the transform, whose `next_line` blocks in the inner one.
        self.with_inner(Readiness::Always, |src| src.readiness())
    }

    fn wake_by(&mut self, waker: &Waker) -> bool {
        // A transform has something exactly when its source has.
        !self.finished && self.with_inner(false, |src| src.wake_by(waker))
    }

    fn advance(&mut self) -> Progress {
        loop {
            if self.finished || matches!(self.step, Step::Take(0)) {
                return self.finish(Progress::End);
            }
            match self.pull() {
                Progress::Line => {
                    if let Some(progress) = self.apply() {
                        return self.finish(progress);
                    }
                }
                other => return self.finish(other),
            }
        }
    }

    fn line(&self) -> &[u8] {
        match self.current.as_ref().and_then(Value::as_text) {
            Some(text) => text.as_bytes(),
            None => &self.line,
        }
    }

    fn line_id(&self) -> Option<String> {
        self.id.clone()
    }

    fn media_type(&self) -> Option<&'static str> {
        // Asked while a response is being set up: never wait for a shared source.
        let cell = self.inner.as_source()?;
        let src = cell.try_lock().ok()?;
        src.media_type()
    }

    fn wait(&mut self) -> Result<(), String> {
        self.with_inner(Ok(()), |src| src.wait())
    }
}
