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
//! rather than its 64-byte ones. A list of more than [`MAX_LEN`] elements (16 GiB of
//! words) cannot exist: the runtime's list reservations refuse one with an error
//! (`limits::reserve_list`), and any other way of building one stops at a panic
//! here, which the builtin boundary turns into an error too.
//!
//! Elements can leave from the front in place ([`ValueVec::drop_front`], for `tl` and
//! `drop` on a list held once): `ptr` then points past the start of its allocation,
//! the capacity's top bit ([`FRONT`]) says so, and the dead slot just before `ptr`
//! holds how many slots lie before it. Readers see only `ptr` and `len`, so nothing
//! else changes for them (compiled code included); giving the parts back as a `Vec`
//! first moves the elements to the start of the allocation.

use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

use crate::value::Value;

/// Where the element pointer lies in a [`ValueVec`].
pub(crate) const PTR_OFFSET: usize = std::mem::offset_of!(ValueVec, ptr);
/// Where the element count (a `u32`) lies in a [`ValueVec`].
pub(crate) const LEN_OFFSET: usize = std::mem::offset_of!(ValueVec, len);

/// Set in `cap` when elements were dropped from the front (see the module comment).
const FRONT: u32 = 1 << 31;

/// The most elements a list or record holds.
pub const MAX_LEN: usize = (FRONT - 1) as usize;

/// A `Vec<Value>` with a layout compiled code may rely on.
#[repr(C)]
pub struct ValueVec {
    ptr: NonNull<Value>,
    len: u32,
    /// Slots from `ptr` on, with [`FRONT`] set when `ptr` is past the allocation's start.
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
        let (start, capacity) = self.allocation();
        let len = self.len as usize;
        if start != self.ptr.as_ptr() {
            // SAFETY: both ranges lie in the allocation (`len` live elements from `ptr`,
            // and as many slots from its start, which is before `ptr`); `copy` allows
            // the overlap. The slots the elements leave are dead from here on.
            unsafe { std::ptr::copy(self.ptr.as_ptr(), start, len) };
        }
        // SAFETY: the allocation came from a Vec<Value> of that capacity, and its
        // first `len` slots now hold the elements.
        unsafe { Vec::from_raw_parts(start, len, capacity) }
    }

    /// The start and capacity of the allocation the elements live in.
    fn allocation(&self) -> (*mut Value, usize) {
        let room = (self.cap & !FRONT) as usize;
        if self.cap & FRONT == 0 {
            return (self.ptr.as_ptr(), room);
        }
        // SAFETY: with FRONT set, `drop_front` moved `ptr` forward within the
        // allocation and wrote into the dead slot before it how many slots lie before
        // `ptr`; that many back is the allocation's start.
        unsafe {
            let front = self.ptr.as_ptr().cast::<u64>().sub(1).read() as usize;
            (self.ptr.as_ptr().sub(front), front + room)
        }
    }

    /// Drop the first `k` elements (all of them if fewer) where they are: the storage
    /// starts later in its allocation instead of moving the rest.
    pub fn drop_front(&mut self, k: usize) {
        let k = k.min(self.len());
        if k == 0 {
            return;
        }
        let (start, _) = self.allocation();
        let old = self.ptr.as_ptr();
        // SAFETY: `k` elements are live from `old`; each is read out once (and dropped
        // below, after the parts are consistent), leaving its slot dead. The new `ptr`
        // is within the allocation (k ≤ len), and the slot before it, one of those just
        // emptied, takes the count of slots before it.
        let gone: Vec<Value> = (0..k).map(|i| unsafe { old.add(i).read() }).collect();
        unsafe {
            let ptr = old.add(k);
            let front = ptr.offset_from(start) as u64;
            ptr.cast::<u64>().sub(1).write(front);
            self.ptr = NonNull::new_unchecked(ptr);
        }
        self.len -= k as u32;
        self.cap = ((self.cap & !FRONT) - k as u32) | FRONT;
        drop(gone);
    }

    /// Whether elements were dropped from the front (the storage starts late in its
    /// allocation, and giving it back as a `Vec` moves the elements).
    pub fn starts_late(&self) -> bool {
        self.cap & FRONT != 0
    }

    /// Append `v` when the allocation has room after the last element; `v` back
    /// otherwise (then grow through [`ValueVec::vec_mut`]).
    pub fn push_within(&mut self, v: Value) -> Result<(), Value> {
        if self.len >= self.cap & !FRONT {
            return Err(v);
        }
        // SAFETY: the slot after the last element lies within the allocation (checked
        // above) and is dead; writing it and counting it makes it the last element.
        unsafe { self.ptr.as_ptr().add(self.len as usize).write(v) };
        self.len += 1;
        Ok(())
    }

    /// Keep the first `n` elements, dropping the rest where they are.
    pub fn truncate(&mut self, n: usize) {
        let len = self.len();
        if n >= len {
            return;
        }
        // SAFETY: elements `n..len` are live; the length drops first, so each is read
        // out (and dropped) once and never seen again.
        self.len = n as u32;
        let gone: Vec<Value> = (n..len)
            .map(|i| unsafe { self.ptr.as_ptr().add(i).read() })
            .collect();
        drop(gone);
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
        let (start, capacity) = self.allocation();
        // SAFETY: the `len` elements from `ptr` are live and dropped once, here; then
        // the allocation, which came from a Vec<Value> of that capacity, is freed.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                self.ptr.as_ptr(),
                self.len as usize,
            ));
            drop(Vec::from_raw_parts(start, 0, capacity));
        }
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
    fn elements_leave_from_either_end_in_place() {
        let shared = Value::text("kept");
        let items: Vec<Value> = (0..10)
            .map(|i| {
                if i % 3 == 0 {
                    shared.clone()
                } else {
                    Value::num(i as f64)
                }
            })
            .collect();
        let mut v = ValueVec::from(items);
        let at = v.as_ptr();
        v.drop_front(1);
        v.drop_front(2);
        assert_eq!(v.as_ptr(), at.wrapping_add(3), "nothing moved");
        v.truncate(6);
        let nums: Vec<Option<f64>> = v.iter().map(Value::as_num).collect();
        assert_eq!(
            nums,
            [None, Some(4.0), Some(5.0), None, Some(7.0), Some(8.0)]
        );
        // The dropped elements were released: `shared` is held by 2 of them now.
        let copy = v.clone();
        drop(copy);
        // Growing gives the storage back as a Vec, moved to its start.
        for i in 0..100 {
            v.vec_mut().push(Value::num(i as f64));
        }
        assert_eq!(v.len(), 106);
        assert_eq!(v[1].as_num(), Some(4.0));
        v.drop_front(100);
        v.drop_front(100);
        assert!(v.is_empty());
        v.vec_mut().push(shared.clone());
        drop(v);
        assert!(shared.is_unique());
        // A queue: taken from the front, pushed at the back within the allocation.
        let mut q = ValueVec::from(Vec::with_capacity(4));
        for i in 0..4 {
            assert!(q.push_within(Value::num(i as f64)).is_ok());
        }
        q.drop_front(2);
        assert!(q.starts_late());
        assert!(
            q.push_within(Value::num(9.0)).is_err(),
            "no room after the last"
        );
        let nums: Vec<Option<f64>> = q.iter().map(Value::as_num).collect();
        assert_eq!(nums, [Some(2.0), Some(3.0)]);
        q.vec_mut().push(Value::num(4.0));
        assert!(!q.starts_late());
        assert_eq!(q[0].as_num(), Some(2.0));
        // Dropped while started late in its allocation.
        let mut w = ValueVec::from(vec![shared.clone(), shared.clone(), Value::num(1.0)]);
        w.drop_front(1);
        drop(w);
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
