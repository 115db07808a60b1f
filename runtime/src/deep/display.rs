//! The display form of values of any depth: text bare, lists `[1, 2]`, maps
//! `{a: 1; b: 2}`, records `pt {x: 1, y: 2}`, results `~v` / `^e`.
//!
//! Each open container is one [`Frame`] on a heap stack holding its iterator, so the
//! native stack stays flat however deep the value.

use std::fmt::{self, Write};
use std::iter::Zip;
use std::slice;

use crate::value::{fmt_num, MapKey, Obj, Value, FALSE, NIL, TRUE};
use crate::value_map;

/// A container whose elements are still being written.
enum Frame<'a> {
    List(slice::Iter<'a, Value>),
    Map(value_map::Iter<'a>),
    Record(Zip<slice::Iter<'a, String>, slice::Iter<'a, Value>>),
}

impl<'a> Frame<'a> {
    /// Write the separator and any label before the next element and return it;
    /// `None` once the container is done (its closing bracket is then written).
    fn next_element(
        &mut self,
        first: bool,
        out: &mut impl Write,
    ) -> Result<Option<&'a Value>, fmt::Error> {
        let (sep, close) = match self {
            Frame::List(_) => (", ", "]"),
            Frame::Map(_) => ("; ", "}"),
            Frame::Record(_) => (", ", "}"),
        };
        let element = match self {
            Frame::List(items) => items.next().map(|v| (None, v)),
            Frame::Map(entries) => entries.next().map(|(k, v)| (Some(EntryKey::Key(k)), v)),
            Frame::Record(fields) => fields.next().map(|(n, v)| (Some(EntryKey::Name(n)), v)),
        };
        let Some((label, value)) = element else {
            out.write_str(close)?;
            return Ok(None);
        };
        if !first {
            out.write_str(sep)?;
        }
        match label {
            Some(EntryKey::Key(k)) => write!(out, "{k}: ")?,
            Some(EntryKey::Name(n)) => write!(out, "{n}: ")?,
            None => {}
        }
        Ok(Some(value))
    }
}

enum EntryKey<'a> {
    Key(&'a MapKey),
    Name(&'a str),
}

/// Write `root`'s display form to `out`.
pub fn write_display(root: &Value, out: &mut impl Write) -> fmt::Result {
    // (frame, whether it has written no element yet)
    let mut open: Vec<(Frame<'_>, bool)> = Vec::new();
    let mut next = Some(root);
    loop {
        if let Some(v) = next.take() {
            next = open_value(v, out, &mut open)?;
            continue;
        }
        let Some((frame, first)) = open.last_mut() else {
            return Ok(());
        };
        let was_first = std::mem::replace(first, false);
        match frame.next_element(was_first, out)? {
            Some(v) => next = Some(v),
            None => {
                open.pop();
            }
        }
    }
}

/// Write a value's scalar form, or its opening and push its frame. Results write
/// their sigil and hand back the wrapped value to write next (no frame needed).
fn open_value<'a>(
    v: &'a Value,
    out: &mut impl Write,
    open: &mut Vec<(Frame<'a>, bool)>,
) -> Result<Option<&'a Value>, fmt::Error> {
    if let Some(n) = v.as_num() {
        fmt_num(n, out)?;
        return Ok(None);
    }
    match v.raw() {
        NIL => out.write_str("nil")?,
        TRUE => out.write_str("true")?,
        FALSE => out.write_str("false")?,
        _ => match v.heap() {
            Some(Obj::Text(_, s)) => out.write_str(s)?,
            Some(Obj::List(items)) => {
                out.write_str("[")?;
                open.push((Frame::List(items.iter()), true));
            }
            Some(Obj::Map(m)) => {
                out.write_str("{")?;
                open.push((Frame::Map(m.iter()), true));
            }
            Some(Obj::Record(r)) => {
                write!(out, "{} {{", r.ty.name)?;
                open.push((Frame::Record(r.ty.fields.iter().zip(r.values.iter())), true));
            }
            Some(Obj::Ok(inner)) => {
                out.write_str("~")?;
                return Ok(Some(inner));
            }
            Some(Obj::Err(inner)) => {
                out.write_str("^")?;
                return Ok(Some(inner));
            }
            Some(Obj::Func(func)) => write!(out, "<fn:{}>", func.name)?,
            Some(Obj::Source(_)) => out.write_str("<stream>")?,
            None => out.write_str("<invalid>")?,
        },
    }
    Ok(None)
}
