//! The element storage of lists and records: a growable array of values whose layout
//! (`ptr`, `len`, `cap`, in that order) is fixed, so compiled code can read an
//! element or replace one in place without calling the runtime (see
//! [`crate::value::layout`]).
//!
//! `Vec<Value>`'s own field order is not guaranteed, so the parts of one are held
//! here instead; reading goes through the slice it derefs to, and growing through
//! [`ValueVec::vec_mut`], which lends the parts out as a real `Vec` and takes them
//! back when done.
//!
//! Length and capacity are 32-bit: with them a record's contents (type pointer and
//! these parts) take 24 bytes, so every heap object fits malloc's 48-byte chunks
//! rather than its 64-byte ones. A list of more than [`MAX_LEN`] elements (32 GiB of
//! words) cannot exist: the runtime's list reservations refuse one with an error
//! (`limits::reserve_list`), and any other way of building one stops at a panic
//! here, which the builtin boundary turns into an error too.

use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use crate::value::Value;

/// Where the element pointer lies in a [`ValueVec`].
pub(crate) const PTR_OFFSET: usize = std::mem::offset_of!(ValueVec, ptr);
/// Where the element count (a `u32`) lies in a [`ValueVec`].
pub(crate) const LEN_OFFSET: usize = std::mem::offset_of!(ValueVec, len);

/// The most elements a list or record holds.
pub const MAX_LEN: usize = u32::MAX as usize;

/// A `Vec<Value>` with a layout compiled code may rely on.
#[repr(C)]
pub struct ValueVec {
    ptr: NonNull<Value>,
    len: u32,
    cap: u32,
}

// SAFETY: a ValueVec owns its elements exactly as a Vec<Value> does, and Value is Send
// and Sync.
unsafe impl Send for ValueVec {}
// SAFETY: as above; shared access only reads.
unsafe impl Sync for ValueVec {}

impl ValueVec {
    pub fn new() -> ValueVec {
        ValueVec::from(Vec::new())
    }

    /// The elements as a `Vec`, giving up this storage.
    pub fn into_vec(self) -> Vec<Value> {
        let this = ManuallyDrop::new(self);
        // SAFETY: the parts came from a Vec<Value> (`From<Vec<Value>>` or a `VecMut`
        // write-back) and are owned by `this`, which is never used again.
        unsafe { this.parts_as_vec() }
    }

    /// The parts as the `Vec` they came from.
    ///
    /// # Safety
    /// The caller makes sure the elements are owned by one of the two afterwards, not
    /// both: the `Vec` is forgotten or `self` is.
    unsafe fn parts_as_vec(&self) -> Vec<Value> {
        // SAFETY: the parts came from a Vec<Value> whose length and capacity fitted
        // in u32 (`From<Vec<Value>>`), so widening them gives that Vec's back.
        unsafe { Vec::from_raw_parts(self.ptr.as_ptr(), self.len as usize, self.cap as usize) }
    }

    /// Empty the storage at once when no element is a heap value (a list of
    /// numbers, say): such elements own nothing, so none needs its drop. One pass
    /// without branches looks, which the compiler vectorises; `false`, and nothing
    /// changed, when some element holds a reference.
    pub fn clear_if_plain(&mut self) -> bool {
        let any_heap = self.iter().fold(0u64, |n, v| n | u64::from(v.is_heap())) != 0;
        if !any_heap {
            self.len = 0;
        }
        !any_heap
    }

    /// The elements as a `Vec` for as long as the returned guard lives (to push,
    /// reserve or drain); its parts come back here when the guard is dropped.
    pub fn vec_mut(&mut self) -> VecMut<'_> {
        // SAFETY: the parts came from a Vec<Value>; while the guard lives it holds
        // `self` mutably, so nothing reads the stale parts, and its drop writes the
        // Vec's (possibly moved) parts back.
        let vec = unsafe { self.parts_as_vec() };
        VecMut {
            owner: self,
            vec: ManuallyDrop::new(vec),
        }
    }
}

impl Default for ValueVec {
    fn default() -> ValueVec {
        ValueVec::new()
    }
}

impl From<Vec<Value>> for ValueVec {
    /// # Panics
    /// When `v` has more than [`MAX_LEN`] elements (see the module comment).
    #[inline]
    fn from(mut v: Vec<Value>) -> ValueVec {
        // The capacity bounds the length, so one test covers both.
        if v.capacity() > MAX_LEN {
            fit_capacity(&mut v);
        }
        let mut v = ManuallyDrop::new(v);
        ValueVec {
            // A Vec's pointer is never null (dangling when nothing is allocated).
            ptr: NonNull::new(v.as_mut_ptr()).unwrap_or(NonNull::dangling()),
            // Both fit: checked above.
            len: v.len() as u32,
            cap: v.capacity() as u32,
        }
    }
}

/// Bring a capacity that doubling took past [`MAX_LEN`] back to it, or panic when the
/// length itself is over.
#[cold]
fn fit_capacity(v: &mut Vec<Value>) {
    assert!(
        v.len() <= MAX_LEN,
        "a list of {} elements is over the {MAX_LEN} a list holds",
        v.len()
    );
    v.shrink_to(MAX_LEN);
    assert!(
        v.capacity() <= MAX_LEN,
        "a list's capacity stayed over {MAX_LEN}"
    );
}

impl Deref for ValueVec {
    type Target = [Value];

    fn deref(&self) -> &[Value] {
        // SAFETY: `ptr` points at `len` initialised values owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len as usize) }
    }
}

impl DerefMut for ValueVec {
    fn deref_mut(&mut self) -> &mut [Value] {
        // SAFETY: as for `deref`, borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len as usize) }
    }
}

impl Clone for ValueVec {
    fn clone(&self) -> ValueVec {
        ValueVec::from(self.to_vec())
    }
}

impl Drop for ValueVec {
    fn drop(&mut self) {
        // SAFETY: the parts came from a Vec<Value> and are dropped once, here.
        drop(unsafe { self.parts_as_vec() });
    }
}

/// A `ValueVec` lent out as a `Vec` (see [`ValueVec::vec_mut`]).
pub struct VecMut<'a> {
    owner: &'a mut ValueVec,
    vec: ManuallyDrop<Vec<Value>>,
}

impl Deref for VecMut<'_> {
    type Target = Vec<Value>;

    fn deref(&self) -> &Vec<Value> {
        &self.vec
    }
}

impl DerefMut for VecMut<'_> {
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        &mut self.vec
    }
}

impl Drop for VecMut<'_> {
    fn drop(&mut self) {
        // SAFETY: the Vec is not used again; its parts go back to the owner (whose
        // stale parts it replaces, without dropping them: they were the Vec's).
        let vec = unsafe { ManuallyDrop::take(&mut self.vec) };
        let parts = ValueVec::from(vec);
        let stale = std::mem::replace(self.owner, parts);
        std::mem::forget(stale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_through_the_lent_vec_and_keeps_its_elements() {
        let mut v = ValueVec::new();
        for i in 0..100 {
            v.vec_mut().push(Value::num(i as f64));
        }
        assert_eq!(v.len(), 100);
        assert_eq!(v[42].as_num(), Some(42.0));
        let copy = v.clone();
        v[0] = Value::text("x");
        assert_eq!(copy[0].as_num(), Some(0.0));
        let drained: Vec<Value> = v.vec_mut().drain(..).collect();
        assert_eq!((drained.len(), v.len()), (100, 0));
        assert_eq!(copy.into_vec().len(), 100);
    }

    #[test]
    fn only_storage_without_references_is_cleared_at_once() {
        let mut numbers = ValueVec::from(vec![Value::num(1.0), Value::NIL, Value::num(2.0)]);
        assert!(numbers.clear_if_plain());
        assert!(numbers.is_empty());
        let shared = Value::text("kept");
        let mut mixed = ValueVec::from(vec![Value::num(1.0), shared.clone()]);
        assert!(!mixed.clear_if_plain());
        assert_eq!(mixed.len(), 2);
        drop(mixed);
        assert!(shared.is_unique());
    }

    #[test]
    fn elements_are_released_when_dropped() {
        let shared = Value::text("kept");
        let v = ValueVec::from(vec![shared.clone(), shared.clone()]);
        assert!(!shared.is_unique());
        drop(v);
        assert!(shared.is_unique());
    }
}
