//! Server-sent events: `sse [f] [n] src` turns a line source into an event stream.
//!
//! Each line of the inner source becomes one event, framed here so a handler never
//! writes the wire format: `data: LINE`, preceded by `id: …` when the inner source
//! gives its lines ids (`tail-file` does, so a browser's `Last-Event-ID` can resume
//! it). With a function `f`, each line is first passed to it: a text result is the
//! event's data, a record supplies any of `event`, `id`, `data` and `retry`, and nil
//! skips the line. Multi-line data is split into one `data:` field per line, as the
//! format requires; newlines in other fields are replaced by spaces so a value can
//! never inject a field.
//!
//! An event is handed to the body writer as one "line" holding all its fields; the
//! writer's own line ending closes it with the blank line that dispatches an event.
//!
//! **Heartbeats.** When the inner source has been quiet for the heartbeat period
//! (default [`DEFAULT_HEARTBEAT`]), the stream yields a comment line `:` that browsers
//! ignore but that keeps proxies and load balancers from cutting an idle connection.
//! The period is measured from the last thing sent. Waiting for "a line or the
//! period" is one descriptor ([`Alarm`]), so the server's event loop needs nothing
//! special. Over a source that can only block (none of the built-in ones), there are
//! no heartbeats.

use std::time::{Duration, Instant};

use super::alarm::Alarm;
use super::transform::{pull_line, with_source};
use super::{block_on, Interrupter, LineSource, Progress, Readiness, Waker};
use crate::func::{call_value, resolve};
use crate::value::Value;

/// Longer than the quiet period after which common proxies give up on a response
/// (often 30 or 60 seconds), with room to spare.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(15);

/// The content type of an event stream.
pub const MEDIA_TYPE: &str = "text/event-stream";

/// The fields of one event.
#[derive(Default)]
pub struct Event<'a> {
    pub event: Option<&'a str>,
    pub id: Option<&'a str>,
    pub data: &'a str,
    pub retry: Option<u64>,
}

impl Event<'_> {
    /// The fields in wire form, each line ending in `\n`, without the blank line that
    /// ends the event.
    pub fn fields(&self, out: &mut Vec<u8>) {
        let mut field = |name: &str, value: &str| {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend(value.bytes().map(|b| match b {
                b'\n' | b'\r' | 0 => b' ',
                b => b,
            }));
            out.push(b'\n');
        };
        if let Some(event) = self.event {
            field("event", event);
        }
        if let Some(id) = self.id {
            field("id", id);
        }
        if let Some(retry) = self.retry {
            field("retry", &retry.to_string());
        }
        // `lines` would drop a trailing empty line, which is data too.
        let data = self.data.replace("\r\n", "\n").replace('\r', "\n");
        for line in data.split('\n') {
            field("data", line);
        }
    }
}

/// The event a value describes: a text is the data; a record gives `event`, `id`,
/// `data` and `retry` fields (any may be missing); anything else is an error.
/// `default_id` is used when the record has no `id`.
pub fn event_from(
    value: &Value,
    default_id: Option<&str>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    if let Some(text) = value.as_text() {
        let event = Event {
            id: default_id,
            data: text,
            ..Event::default()
        };
        event.fields(out);
        return Ok(());
    }
    let Some(record) = value.as_record() else {
        return Err(format!(
            "an event is a text or a record with event/id/data/retry fields, got {}",
            value.kind_name()
        ));
    };
    let field = |name: &str| record.ty.field_index(name).map(|i| &record.values[i]);
    let text_field = |name: &str| -> Result<Option<String>, String> {
        match field(name) {
            None => Ok(None),
            Some(v) if v.is_nil() => Ok(None),
            Some(v) => match v.as_text() {
                Some(t) => Ok(Some(t.to_string())),
                None => Ok(Some(v.to_string())),
            },
        }
    };
    let retry = match field("retry") {
        None => None,
        Some(v) if v.is_nil() => None,
        Some(v) => match v.as_num() {
            Some(n) if n >= 0.0 && n.is_finite() => Some(n as u64),
            _ => return Err(format!("an event's retry must be milliseconds, got {v}")),
        },
    };
    let event = text_field("event")?;
    let id = text_field("id")?;
    let data = text_field("data")?.unwrap_or_default();
    Event {
        event: event.as_deref(),
        id: id.as_deref().or(default_id),
        data: &data,
        retry,
    }
    .fields(out);
    Ok(())
}

pub struct SseSource {
    inner: Value,
    /// Maps each line to its event (text or record); nil skips the line.
    shape: Option<Value>,
    heartbeat: Option<Duration>,
    /// Waits for the inner descriptor or the heartbeat; made on first need.
    alarm: Option<Alarm>,
    /// When something was last handed out (an event or a heartbeat).
    last_sent: Instant,
    /// The inner source's current line.
    inner_line: Vec<u8>,
    /// The current event, framed (or a heartbeat).
    event: Vec<u8>,
    id: Option<String>,
    finished: bool,
}

impl SseSource {
    /// Events from the source value `inner`; `heartbeat` `None` sends none.
    pub fn new(inner: Value, shape: Option<Value>, heartbeat: Option<Duration>) -> SseSource {
        SseSource {
            inner,
            shape,
            heartbeat,
            alarm: None,
            last_sent: Instant::now(),
            inner_line: Vec::new(),
            event: Vec::new(),
            id: None,
            finished: false,
        }
    }

    /// Frame the line just pulled: `Ok(false)` when the shaping function skipped it.
    fn frame(&mut self) -> Result<bool, String> {
        self.event.clear();
        let text = String::from_utf8_lossy(&self.inner_line).into_owned();
        let value = match &self.shape {
            None => Value::text(text),
            Some(f) => {
                let v = call_value(f, &[Value::text(text)])
                    .map_err(|e| format!("sse: {}", resolve(e).message))?;
                if v.is_nil() {
                    return Ok(false);
                }
                v
            }
        };
        // Every field ends in a newline; the writer's line ending adds the blank
        // line that closes the event.
        event_from(&value, self.id.as_deref(), &mut self.event).map_err(|m| format!("sse: {m}"))?;
        Ok(true)
    }

    fn finish(&mut self, progress: Progress) -> Progress {
        if matches!(progress, Progress::End | Progress::Failed(_)) {
            self.finished = true;
            self.alarm = None;
            self.inner_line = Vec::new();
            self.event = Vec::new();
        }
        progress
    }

    /// Nothing from the inner source now: a heartbeat when one is due, else wait
    /// (arming the alarm for when it will be).
    fn quiet(&mut self) -> Progress {
        let Some(period) = self.heartbeat else {
            return Progress::Pending;
        };
        let quiet_for = self.last_sent.elapsed();
        if quiet_for >= period {
            self.event.clear();
            self.event.push(b':');
            self.last_sent = Instant::now();
            return Progress::Line;
        }
        if let Some(alarm) = &self.alarm {
            alarm.arm(period - quiet_for);
        }
        Progress::Pending
    }
}

impl LineSource for SseSource {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        block_on(self)
    }

    fn ready(&self) -> bool {
        self.finished || with_source(&self.inner, true, |src| src.ready())
    }

    fn close(&mut self) {
        self.finish(Progress::End);
        with_source(&self.inner, (), |src| src.close());
    }

    fn interrupter(&self) -> Option<Interrupter> {
        with_source(&self.inner, None, |src| src.interrupter())
    }

    fn readiness(&self) -> Readiness {
        if self.finished {
            return Readiness::Always;
        }
        let inner = with_source(&self.inner, Readiness::Always, |src| src.readiness());
        let Some(period) = self.heartbeat else {
            return inner;
        };
        match (inner, &self.alarm) {
            (Readiness::Fd(_), Some(alarm)) => Readiness::Fd(alarm.raw_fd()),
            // No alarm could be made: look again when a heartbeat may be due.
            (Readiness::Fd(_), None) => Readiness::After(period),
            (Readiness::After(d), _) => {
                let left = period.saturating_sub(self.last_sent.elapsed());
                Readiness::After(d.min(left))
            }
            (other, _) => other,
        }
    }

    fn wake_by(&mut self, waker: &Waker) -> bool {
        // Heartbeats are timed by the alarm, which watches the source's descriptor.
        !self.finished
            && self.heartbeat.is_none()
            && with_source(&self.inner, false, |src| src.wake_by(waker))
    }

    fn advance(&mut self) -> Progress {
        loop {
            if self.finished {
                return Progress::End;
            }
            match pull_line(&self.inner, &mut self.inner_line, &mut self.id) {
                Progress::Line => match self.frame() {
                    Ok(true) => {
                        self.last_sent = Instant::now();
                        return Progress::Line;
                    }
                    Ok(false) => continue,
                    Err(message) => return self.finish(Progress::Failed(message)),
                },
                Progress::Pending => {
                    self.watch_inner();
                    return self.quiet();
                }
                other => return self.finish(other),
            }
        }
    }

    fn line(&self) -> &[u8] {
        &self.event
    }

    fn line_id(&self) -> Option<String> {
        self.id.clone()
    }

    fn media_type(&self) -> Option<&'static str> {
        Some(MEDIA_TYPE)
    }
}

impl SseSource {
    /// Make sure the alarm also watches the inner source's descriptor.
    fn watch_inner(&mut self) {
        if self.heartbeat.is_none() {
            return;
        }
        let Readiness::Fd(fd) = with_source(&self.inner, Readiness::Always, |s| s.readiness())
        else {
            return;
        };
        if self.alarm.is_none() {
            self.alarm = Alarm::new().ok();
        }
        if let Some(alarm) = self.alarm.as_mut() {
            if alarm.watch(fd).is_err() {
                self.alarm = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(event: Event<'_>) -> String {
        let mut out = Vec::new();
        event.fields(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn multi_line_data_is_one_field_per_line_and_other_fields_cannot_inject() {
        let text = framed(Event {
            event: Some("a\nid: forged"),
            id: Some("7"),
            data: "one\r\ntwo\n",
            retry: Some(1500),
        });
        assert_eq!(
            text,
            "event: a id: forged\nid: 7\nretry: 1500\ndata: one\ndata: two\ndata: \n"
        );
    }

    #[test]
    fn a_text_is_data_and_other_values_are_errors() {
        let mut out = Vec::new();
        event_from(&Value::text("hi"), Some("3-9"), &mut out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, b"id: 3-9\ndata: hi\n");
        assert!(event_from(&Value::num(1.0), None, &mut Vec::new()).is_err());
    }
}
