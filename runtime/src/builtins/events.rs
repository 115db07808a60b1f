//! Builtins: server-sent events (`sse`, `sse-ev`).
//!
//! `sse [f] [secs] src` wraps a line source in an event stream (see
//! `line_source::sse`): one event per line, shaped by `f` when given, with a heartbeat
//! comment after `secs` quiet seconds (default 15; 0 sends none). `sse-ev x` is one
//! event as text, for bodies that are not streamed.

use std::time::Duration;

use super::convert::func_arg;
use super::BuiltinDef;
use crate::error::{codes, RtError, RtResult};
use crate::line_source::sse::{event_from, SseSource, DEFAULT_HEARTBEAT};
use crate::value::Value;

#[rustfmt::skip]
pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef { name: "sse", min_args: 1, max_args: 3, f: sse },
    BuiltinDef { name: "sse-ev", min_args: 1, max_args: 1, f: sse_ev },
];

/// `sse src`, `sse secs src`, `sse f src`, `sse f secs src`.
fn sse(args: &[Value]) -> RtResult {
    let Some((src, options)) = args.split_last() else {
        return Err(RtError::new(codes::CALL, "sse takes a stream"));
    };
    if src.as_source().is_none() {
        return Err(RtError::new(
            codes::TYPE,
            format!("sse: expected a stream, got {}", src.kind_name()),
        ));
    }
    let (shape, secs) = match options {
        [] => (None, None),
        [f, secs] => (Some(func_arg("sse", f)?.clone()), Some(secs)),
        [x] if x.as_func().is_some() => (Some(x.clone()), None),
        [secs] => (None, Some(secs)),
        _ => return Err(RtError::new(codes::CALL, "sse called with too many args")),
    };
    let heartbeat = match secs {
        None => Some(DEFAULT_HEARTBEAT),
        Some(v) => match v.as_num() {
            Some(0.0) => None,
            Some(n) if n > 0.0 && n.is_finite() => Some(Duration::from_secs_f64(n)),
            _ => {
                return Err(RtError::new(
                    codes::DOMAIN,
                    format!("sse: the heartbeat period is seconds (0 for none), got {v}"),
                ))
            }
        },
    };
    Ok(Value::source(Box::new(SseSource::new(
        src.clone(),
        shape,
        heartbeat,
    ))))
}

/// `sse-ev x`: a text (the data) or a record (event/id/data/retry) as one whole event.
fn sse_ev(args: &[Value]) -> RtResult {
    let mut out = Vec::new();
    event_from(&args[0], None, &mut out)
        .map_err(|m| RtError::new(codes::TYPE, format!("sse-ev: {m}")))?;
    out.push(b'\n');
    Ok(Value::text(String::from_utf8_lossy(&out).into_owned()))
}
