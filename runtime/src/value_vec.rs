//! The element storage of lists and records: a growable array of values whose layout
//! (`ptr`, `len`, `cap`, in that order) is fixed, so compiled code can read an
//! element or replace one in place without calling the runtime (see
//! [`crate::value::layout`]).
//!
//! `Vec<Value>`'s own field order is not guaranteed, so the parts of one are held
//! here instead; reading goes through the slice it derefs to, and growing through
//! [`ValueVec::vec_mut`], which lends the parts out as a real `Vec` and takes them
//! back when done.

use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use crate::value::Value;

/// Where the element pointer lies in a [`ValueVec`].
pub(crate) const PTR_OFFSET: usize = std::mem::offset_of!(ValueVec, ptr);
/// Where the element count lies in a [`ValueVec`].
pub(crate) const LEN_OFFSET: usize = std::mem::offset_of!(ValueVec, len);

/// A `Vec<Value>` with a layout compiled code may rely on.
#[repr(C)]
pub struct ValueVec {
    ptr: NonNull<Value>,
    len: usize,
    cap: usize,
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
        unsafe { Vec::from_raw_parts(this.ptr.as_ptr(), this.len, this.cap) }
    }

    /// The elements as a `Vec` for as long as the returned guard lives (to push,
    /// reserve or drain); its parts come back here when the guard is dropped.
    pub fn vec_mut(&mut self) -> VecMut<'_> {
        // SAFETY: the parts came from a Vec<Value>; while the guard lives it holds
        // `self` mutably, so nothing reads the stale parts, and its drop writes the
        // Vec's (possibly moved) parts back.
        let vec = unsafe { Vec::from_raw_parts(self.ptr.as_ptr(), self.len, self.cap) };
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
    fn from(v: Vec<Value>) -> ValueVec {
        let mut v = ManuallyDrop::new(v);
        ValueVec {
            // A Vec's pointer is never null (dangling when nothing is allocated).
            ptr: NonNull::new(v.as_mut_ptr()).unwrap_or(NonNull::dangling()),
            len: v.len(),
            cap: v.capacity(),
        }
    }
}

impl Deref for ValueVec {
    type Target = [Value];

    fn deref(&self) -> &[Value] {
        // SAFETY: `ptr` points at `len` initialised values owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for ValueVec {
    fn deref_mut(&mut self) -> &mut [Value] {
        // SAFETY: as for `deref`, borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
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
        drop(unsafe { Vec::from_raw_parts(self.ptr.as_ptr(), self.len, self.cap) });
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
    fn elements_are_released_when_dropped() {
        let shared = Value::text("kept");
        let v = ValueVec::from(vec![shared.clone(), shared.clone()]);
        assert!(!shared.is_unique());
        drop(v);
        assert!(shared.is_unique());
    }
}
