//! Structural equality (`=`) over values of any depth.

use crate::value::{Obj, Value};

/// Numbers by value, texts by content, lists, maps, records and results element by
/// element; functions and sources by identity. Pairs still to compare wait on a work
/// list, so nesting costs heap, not stack.
pub fn equal(a: &Value, b: &Value) -> bool {
    let mut pending: Vec<(&Value, &Value)> = Vec::new();
    let mut next = Some((a, b));
    while let Some((a, b)) = next {
        if !shallow_equal(a, b, &mut pending) {
            return false;
        }
        next = pending.pop();
    }
    true
}

/// Compare the outer layer of `a` and `b`; their element pairs go on `pending`.
fn shallow_equal<'a>(
    a: &'a Value,
    b: &'a Value,
    pending: &mut Vec<(&'a Value, &'a Value)>,
) -> bool {
    if let (Some(x), Some(y)) = (a.as_num(), b.as_num()) {
        return x == y;
    }
    if a.raw() == b.raw() {
        return true;
    }
    match (a.heap(), b.heap()) {
        (Some(Obj::Text(_, x)), Some(Obj::Text(_, y))) => x == y,
        (Some(Obj::List(x)), Some(Obj::List(y))) => {
            x.len() == y.len() && {
                pending.extend(x.iter().zip(y.iter()));
                true
            }
        }
        (Some(Obj::Map(x)), Some(Obj::Map(y))) => {
            x.len() == y.len()
                && x.iter().zip(y.iter()).all(|((kx, vx), (ky, vy))| {
                    pending.push((vx, vy));
                    kx == ky
                })
        }
        (Some(Obj::Record(x)), Some(Obj::Record(y))) => {
            x.ty.name == y.ty.name && x.ty.fields == y.ty.fields && {
                pending.extend(x.values.iter().zip(y.values.iter()));
                true
            }
        }
        (Some(Obj::Ok(x)), Some(Obj::Ok(y))) | (Some(Obj::Err(x)), Some(Obj::Err(y))) => {
            pending.push((x, y));
            true
        }
        _ => false,
    }
}
