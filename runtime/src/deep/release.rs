//! Freeing a value whose last reference went, without recursing into its elements.
//!
//! Dropping a `Vec<Value>` would drop each element, whose own drop frees its
//! elements, and so on: one native frame per level of nesting. Instead, an object
//! being freed first gives up its elements; each element that was the last reference
//! to its own object joins a work list, and the loop frees objects from the list
//! until it is empty. Elements without elements of their own (texts, numbers) never
//! wait on the list.
//!
//! The list holds the objects' boxes, not their contents: an object is emptied where
//! it lies and only a pointer moves. Moving the `repr(u8)` contents themselves (a
//! tag byte, padding, then the variant) was a third of the time of freeing a CSV
//! file's rows, much of it loads waiting on the partial stores of such a move.

use crate::value::{HeapObject, Obj, Value, ValueVec};

/// Free an object whose count reached zero, and everything only it kept alive.
pub fn free(first: Box<HeapObject>) {
    let mut pending: Vec<Box<HeapObject>> = Vec::new();
    let mut next = Some(first);
    while let Some(mut object) = next {
        give_up_elements(&mut object.obj, &mut pending);
        drop(object);
        next = pending.pop();
    }
}

/// Empty a container, releasing each element: an element freed by that which has
/// elements of its own goes on `pending`; one without is freed at once.
// The boxes are the objects' own allocations, kept so nothing but a pointer moves.
#[allow(clippy::vec_box)]
fn give_up_elements(obj: &mut Obj, pending: &mut Vec<Box<HeapObject>>) {
    let mut release = |v: Value| {
        if let Some(object) = v.release_shallow() {
            if has_elements(&object.obj) {
                pending.push(object);
            }
        }
    };
    match obj {
        Obj::List(items) => give_up_values(items, &mut release),
        Obj::Map(map) => std::mem::take(&mut **map)
            .into_values()
            .for_each(&mut release),
        Obj::Record(r) => give_up_values(&mut r.values, &mut release),
        Obj::Ok(v) | Obj::Err(v) => release(std::mem::replace(v, Value::NIL)),
        Obj::Func(f) => f.captures.drain(..).for_each(&mut release),
        Obj::Text(..) | Obj::Source(_) => {}
    }
}

/// Empty a list's or record's elements, releasing the heap values among them. Numbers,
/// booleans and nil hold nothing, so storage holding nothing else is emptied after one
/// vectorised look, and otherwise such an element costs a tag test.
fn give_up_values(items: &mut ValueVec, release: &mut impl FnMut(Value)) {
    if items.clear_if_plain() {
        return;
    }
    for v in items.vec_mut().drain(..) {
        if v.is_heap() {
            release(v);
        } else {
            // Nothing to release: skip the drop's own test.
            std::mem::forget(v);
        }
    }
}

/// Whether freeing `obj` may free other objects (it holds values). One that cannot
/// (a text) is best dropped where it lies, without moving it to the work list.
pub fn has_elements(obj: &Obj) -> bool {
    match obj {
        Obj::List(items) => !items.is_empty(),
        Obj::Map(map) => !map.is_empty(),
        Obj::Record(r) => !r.values.is_empty(),
        Obj::Func(f) => !f.captures.is_empty(),
        Obj::Ok(_) | Obj::Err(_) => true,
        Obj::Text(..) | Obj::Source(_) => false,
    }
}
