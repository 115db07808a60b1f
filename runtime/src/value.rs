//! The value model shared by compiled code and the runtime.
//!
//! Every ilo value is one 64-bit word (NaN-boxing):
//!
//! | word                                   | meaning                               |
//! |----------------------------------------|---------------------------------------|
//! | `< 0xFFF9_0000_0000_0000`              | a number: the word is the `f64` bits  |
//! | `0xFFF9_0000_0000_0000`                | `nil`                                 |
//! | `0xFFF9_0000_0000_0001` / `…_0002`     | `false` / `true`                      |
//! | `0xFFFA_xxxx_xxxx_xxxx`                | pointer (low 48 bits) to a [`HeapObject`] |
//! | `0xFFFB_0000_0000_0000`                | [`ERROR_SENTINEL`]: not a value; "a runtime error is pending" |
//!
//! The hardware's default NaN is `0xFFF8_0000_0000_0000`, so arithmetic never produces a
//! tagged word; NaNs entering from outside are canonicalised by [`Value::num`].
//!
//! Heap objects are reference counted with an atomic count, so a value may be dropped
//! on a different thread from the one that made it. A unique object (count 1) may be
//! mutated in place, which is how `xs=+=xs v` and `s=+s t` append in amortised O(1).
//!
//! Ownership across the compiled-code boundary: results are *owned* (+1); runtime
//! entry points *borrow* their arguments unless they document consuming them, and
//! compiled ilo functions own theirs. The compiler hands over references it no longer
//! needs (a variable's last use, or a temporary), so a callee can see a count of one
//! and update the value in place. In Rust, [`Value`] is an owning handle:
//! `Clone` retains, `Drop` releases.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::line_source::LineSource;
pub use crate::text_shape::TextShape;
pub use crate::value_map::{KeyRef, Map, MapKey};
pub use crate::value_vec::ValueVec;

pub const NIL: u64 = 0xFFF9_0000_0000_0000;
pub const FALSE: u64 = 0xFFF9_0000_0000_0001;
pub const TRUE: u64 = 0xFFF9_0000_0000_0002;
/// Words at or above this are not numbers.
pub const FIRST_TAGGED: u64 = 0xFFF9_0000_0000_0000;
pub const HEAP_TAG: u64 = 0xFFFA_0000_0000_0000;
pub const TAG_MASK: u64 = 0xFFFF_0000_0000_0000;
pub const PTR_MASK: u64 = 0x0000_FFFF_FFFF_FFFF;
/// Returned by a fallible entry point or compiled function when a runtime error is
/// pending in the thread's error slot (see `error.rs`). Never stored anywhere.
pub const ERROR_SENTINEL: u64 = 0xFFFB_0000_0000_0000;

/// A reference-counted heap object. Its layout is fixed (`repr(C)` here and on
/// [`Obj`], [`Record`] and [`ValueVec`]) so compiled code can test a list or record
/// and update it in place inline; [`layout`] gives the offsets it uses.
#[repr(C)]
pub struct HeapObject {
    rc: AtomicUsize,
    pub obj: Obj,
}

/// The kind of a heap object. `repr(u8)`: each variant is laid out as a `repr(C)`
/// struct starting with a one-byte tag (the `KIND_*` constants of [`layout`]); every
/// variant's word-aligned contents start at the same offset after it, and a text's
/// one-byte shape sits in the padding between.
#[repr(u8)]
pub enum Obj {
    /// The shape caches whether the text is all ASCII (see `text_shape`); whoever
    /// changes the string goes through `make_mut`/`unique_mut`, which forget it.
    Text(TextShape, String) = layout::KIND_TEXT,
    List(ValueVec) = layout::KIND_LIST,
    /// Boxed, like `Func`, so the common objects (texts, lists) stay small: every
    /// heap object is as large as the largest variant.
    Map(Box<Map>) = layout::KIND_MAP,
    Record(Record) = layout::KIND_RECORD,
    Ok(Value) = layout::KIND_OK,
    Err(Value) = layout::KIND_ERR,
    Func(Box<Func>) = layout::KIND_FUNC,
    /// A lazy line source. The mutex lets the server share one source (stdin) between
    /// connection threads; each line goes to exactly one consumer.
    Source(Mutex<Box<dyn LineSource>>) = layout::KIND_SOURCE,
}

/// Where compiled code finds the parts of a heap object, for the fast paths that test
/// and update a list or record inline. The code generator reads these constants and
/// nothing else; the tests below check them against real objects.
pub mod layout {
    use std::mem::{align_of, offset_of};

    use super::{HeapObject, Obj, Record};
    use crate::value_vec;

    pub const KIND_TEXT: u8 = 0;
    pub const KIND_LIST: u8 = 1;
    pub const KIND_MAP: u8 = 2;
    pub const KIND_RECORD: u8 = 3;
    pub const KIND_OK: u8 = 4;
    pub const KIND_ERR: u8 = 5;
    pub const KIND_FUNC: u8 = 6;
    pub const KIND_SOURCE: u8 = 7;

    /// The reference count, a machine word (`AtomicUsize` is laid out as `usize`).
    pub const RC: i32 = offset_of!(HeapObject, rc) as i32;
    /// The kind tag, one byte: the first byte of the `repr(u8)` [`Obj`].
    pub const KIND: i32 = offset_of!(HeapObject, obj) as i32;
    /// Where a variant's word-aligned contents start: `repr(u8)` lays each variant out
    /// as a `repr(C)` struct after the tag, so they start at the
    /// alignment of the most aligned variant, which is `Obj`'s own.
    const CONTENTS: usize = offset_of!(HeapObject, obj) + align_of::<Obj>();
    /// A list's element pointer (to `len` consecutive value words).
    pub const LIST_ITEMS: i32 = (CONTENTS + value_vec::PTR_OFFSET) as i32;
    /// A list's length, a `u32` (not a word: that keeps every heap object at 40
    /// bytes, see [`crate::value_vec`]).
    pub const LIST_LEN_U32: i32 = (CONTENTS + value_vec::LEN_OFFSET) as i32;
    /// A record's type: the pointer a declared type's slot caches.
    pub const RECORD_TYPE: i32 = (CONTENTS + offset_of!(Record, ty)) as i32;
    /// A record's field pointer (one value word per field, in declaration order).
    pub const RECORD_FIELDS: i32 =
        (CONTENTS + offset_of!(Record, values) + value_vec::PTR_OFFSET) as i32;
}

/// The shape of a record: its type name and field names in declaration order.
/// Declared types are registered once per program; `jpar` makes one per JSON object.
#[derive(Debug, PartialEq, Eq)]
pub struct RecordType {
    pub name: String,
    pub fields: Vec<String>,
}

impl RecordType {
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f == name)
    }
}

/// A record: its type and one value per field, in declaration order.
#[derive(Clone)]
#[repr(C)]
pub struct Record {
    pub ty: RecordTypeRef,
    /// One value per `ty.fields` entry, same order.
    pub values: ValueVec,
}

/// A counted reference to a record type, held as the one pointer `Arc::into_raw`
/// gives, so compiled code can compare a record's type with a declared type's (the
/// pointer cached in that type's slot) without calling the runtime.
#[repr(transparent)]
pub struct RecordTypeRef(NonNull<RecordType>);

// SAFETY: it is an Arc<RecordType> in another form, and RecordType is Send and Sync.
unsafe impl Send for RecordTypeRef {}
// SAFETY: as above.
unsafe impl Sync for RecordTypeRef {}

impl RecordTypeRef {
    pub fn new(ty: Arc<RecordType>) -> RecordTypeRef {
        // SAFETY: Arc::into_raw never returns null.
        RecordTypeRef(unsafe { NonNull::new_unchecked(Arc::into_raw(ty).cast_mut()) })
    }

    /// Both name the very same type (not merely equal ones).
    pub fn ptr_eq(a: &RecordTypeRef, b: &RecordTypeRef) -> bool {
        a.0 == b.0
    }
}

impl std::ops::Deref for RecordTypeRef {
    type Target = RecordType;

    fn deref(&self) -> &RecordType {
        // SAFETY: the pointer holds one strong count of a live Arc.
        unsafe { self.0.as_ref() }
    }
}

impl Clone for RecordTypeRef {
    fn clone(&self) -> RecordTypeRef {
        // SAFETY: the pointer came from Arc::into_raw and holds a strong count.
        unsafe { Arc::increment_strong_count(self.0.as_ptr()) };
        RecordTypeRef(self.0)
    }
}

impl Drop for RecordTypeRef {
    fn drop(&mut self) {
        // SAFETY: the pointer came from Arc::into_raw; this gives up its own count.
        unsafe { Arc::decrement_strong_count(self.0.as_ptr()) };
    }
}

/// A function value: compiled code plus the captured environment of a closure.
///
/// `code` points at a function with the uniform signature
/// `extern "C" fn(ctx: *mut Ctx, env: u64, a1: u64, …, an: u64) -> u64` where `env`
/// is the word of this very `Func` object (so a closure can read its captures).
/// Calling one runs `code`, so `code` and `arity` are set only through the unsafe
/// [`Func::new`] and readable, not writable, outside the runtime.
pub struct Func {
    pub name: String,
    pub(crate) code: usize,
    pub(crate) arity: u32,
    pub captures: Vec<Value>,
}

impl Func {
    /// A function value's contents.
    ///
    /// # Safety
    /// `code` is the address of a function with the uniform signature above taking
    /// `arity` argument words, which stays callable for as long as the value lives.
    pub unsafe fn new(name: String, code: usize, arity: u32, captures: Vec<Value>) -> Func {
        Func {
            name,
            code,
            arity,
            captures,
        }
    }

    /// The address of the compiled code.
    pub fn code(&self) -> usize {
        self.code
    }

    /// How many arguments the code takes.
    pub fn arity(&self) -> u32 {
        self.arity
    }
}

/// An owning handle to one ilo value. `Clone` retains, `Drop` releases.
#[repr(transparent)]
pub struct Value(u64);

// SAFETY: heap objects use atomic reference counts, and in-place mutation happens only
// through `&mut` access to a uniquely owned object (count 1); sources sit behind a Mutex.
unsafe impl Send for Value {}
// SAFETY: as above; shared access never mutates.
unsafe impl Sync for Value {}

impl Value {
    pub const NIL: Value = Value(NIL);

    /// A number. NaNs are canonicalised so they never look like a tagged word.
    #[inline]
    pub fn num(n: f64) -> Value {
        if n.is_nan() {
            Value(f64::NAN.to_bits())
        } else {
            Value(n.to_bits())
        }
    }

    /// Overwrite a slot that holds a number with another number's word, for code
    /// that moves numbers as integers (the radix sort): a number needs no release, so
    /// the old word is not looked at. A word that would be tagged becomes the
    /// canonical NaN, so no caller can make a pointer out of bits.
    #[inline]
    pub(crate) fn overwrite_number(&mut self, bits: u64) {
        debug_assert!(self.is_num(), "overwrite_number on a non-number");
        self.0 = if bits < FIRST_TAGGED {
            bits
        } else {
            f64::NAN.to_bits()
        };
    }

    #[inline]
    pub fn bool(b: bool) -> Value {
        Value(if b { TRUE } else { FALSE })
    }

    pub fn text(s: impl Into<String>) -> Value {
        Value::alloc(Obj::Text(TextShape::unknown(), s.into()))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::alloc(Obj::List(ValueVec::from(items)))
    }

    pub fn map(m: impl Into<Map>) -> Value {
        Value::alloc(Obj::Map(Box::new(m.into())))
    }

    pub fn ok(v: Value) -> Value {
        Value::alloc(Obj::Ok(v))
    }

    pub fn err(v: Value) -> Value {
        Value::alloc(Obj::Err(v))
    }

    pub fn record(ty: Arc<RecordType>, values: Vec<Value>) -> Value {
        Value::alloc(Obj::Record(Record {
            ty: RecordTypeRef::new(ty),
            values: ValueVec::from(values),
        }))
    }

    pub fn source(src: Box<dyn LineSource>) -> Value {
        Value::alloc(Obj::Source(Mutex::new(src)))
    }

    pub fn alloc(obj: Obj) -> Value {
        let b = Box::new(HeapObject {
            rc: AtomicUsize::new(1),
            obj,
        });
        let p = Box::into_raw(b) as u64;
        debug_assert_eq!(p & !PTR_MASK, 0, "heap pointer wider than 48 bits");
        Value(HEAP_TAG | p)
    }

    /// Take ownership of a word produced by compiled code or another entry point.
    ///
    /// # Safety
    /// `w` must be a valid value word whose reference the caller owns.
    #[inline]
    pub unsafe fn from_raw(w: u64) -> Value {
        Value(w)
    }

    /// Borrow a word without taking ownership.
    ///
    /// # Safety
    /// `w` must be a valid value word that stays alive while the borrow is used.
    #[inline]
    pub unsafe fn borrow_raw(w: &u64) -> &Value {
        // SAFETY: Value is repr(transparent) over u64.
        unsafe { &*(w as *const u64 as *const Value) }
    }

    /// Borrow a slice of words as values.
    ///
    /// # Safety
    /// As for [`Value::borrow_raw`], for every word.
    #[inline]
    pub unsafe fn borrow_slice(ws: &[u64]) -> &[Value] {
        // SAFETY: Value is repr(transparent) over u64.
        unsafe { std::slice::from_raw_parts(ws.as_ptr() as *const Value, ws.len()) }
    }

    /// Give up ownership, returning the word (for returning to compiled code).
    #[inline]
    pub fn into_raw(self) -> u64 {
        ManuallyDrop::new(self).0
    }

    /// The word, still owned by `self`.
    #[inline]
    pub fn raw(&self) -> u64 {
        self.0
    }

    #[inline]
    pub fn is_num(&self) -> bool {
        self.0 < FIRST_TAGGED
    }

    #[inline]
    pub fn is_heap(&self) -> bool {
        self.0 & TAG_MASK == HEAP_TAG
    }

    #[inline]
    pub fn is_nil(&self) -> bool {
        self.0 == NIL
    }

    #[inline]
    pub fn as_num(&self) -> Option<f64> {
        self.is_num().then(|| f64::from_bits(self.0))
    }

    #[inline]
    pub fn as_bool(&self) -> Option<bool> {
        match self.0 {
            TRUE => Some(true),
            FALSE => Some(false),
            _ => None,
        }
    }

    /// The heap object, if this is a reference.
    #[inline]
    pub fn heap(&self) -> Option<&Obj> {
        if self.is_heap() {
            // SAFETY: a heap-tagged word always points at a live HeapObject while a
            // reference (self) is held.
            Some(unsafe { &(*((self.0 & PTR_MASK) as *const HeapObject)).obj })
        } else {
            None
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self.heap() {
            Some(Obj::Text(_, s)) => Some(s),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self.heap() {
            Some(Obj::List(v)) => Some(v),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map> {
        match self.heap() {
            Some(Obj::Map(m)) => Some(m),
            _ => None,
        }
    }

    pub fn as_record(&self) -> Option<&Record> {
        match self.heap() {
            Some(Obj::Record(r)) => Some(r),
            _ => None,
        }
    }

    pub fn as_func(&self) -> Option<&Func> {
        match self.heap() {
            Some(Obj::Func(f)) => Some(f),
            _ => None,
        }
    }

    pub fn as_source(&self) -> Option<&Mutex<Box<dyn LineSource>>> {
        match self.heap() {
            Some(Obj::Source(s)) => Some(s),
            _ => None,
        }
    }

    /// `Some(Ok(v))` / `Some(Err(e))` for result values, `None` otherwise.
    pub fn as_result(&self) -> Option<Result<&Value, &Value>> {
        match self.heap() {
            Some(Obj::Ok(v)) => Some(Ok(v)),
            Some(Obj::Err(e)) => Some(Err(e)),
            _ => None,
        }
    }

    fn header(&self) -> Option<&HeapObject> {
        if self.is_heap() {
            // SAFETY: see `heap`.
            Some(unsafe { &*((self.0 & PTR_MASK) as *const HeapObject) })
        } else {
            None
        }
    }

    /// True when this handle is the only reference, so in-place mutation is invisible.
    pub fn is_unique(&self) -> bool {
        self.header()
            .is_some_and(|h| h.rc.load(Ordering::Acquire) == 1)
    }

    /// Mutable access to the object when this is the only reference, else `None`:
    /// the in-place paths' one test, without `make_mut`'s copy branch.
    #[inline]
    pub fn unique_mut(&mut self) -> Option<&mut Obj> {
        if !self.is_unique() {
            return None;
        }
        // SAFETY: `is_unique` found a heap object referenced only by `self`, which we
        // borrow mutably.
        Some(changing(unsafe {
            &mut (*((self.0 & PTR_MASK) as *mut HeapObject)).obj
        }))
    }

    /// Mutable access to the object when this is the only reference; otherwise the
    /// object is first copied (shallowly: elements are retained) into a new one.
    pub fn make_mut(&mut self) -> Option<&mut Obj> {
        if !self.is_heap() {
            return None;
        }
        if !self.is_unique() {
            use crate::copy_stats::{record, Kind};
            let copy = match self.heap()? {
                Obj::Text(shape, s) => {
                    record(Kind::Text, s.len());
                    Obj::Text(shape.clone(), s.clone())
                }
                Obj::List(v) => {
                    record(Kind::List, v.len());
                    Obj::List(v.clone())
                }
                Obj::Map(m) => {
                    record(Kind::Map, m.len());
                    Obj::Map(m.clone())
                }
                Obj::Record(r) => {
                    record(Kind::Record, r.values.len());
                    Obj::Record(r.clone())
                }
                Obj::Ok(v) => Obj::Ok(v.clone()),
                Obj::Err(v) => Obj::Err(v.clone()),
                // Functions and sources are never mutated through values.
                Obj::Func(_) | Obj::Source(_) => return None,
            };
            *self = Value::alloc(copy);
        }
        // SAFETY: the object is uniquely referenced by `self`, which we borrow mutably.
        Some(changing(unsafe {
            &mut (*((self.0 & PTR_MASK) as *mut HeapObject)).obj
        }))
    }

    /// The name of the value's kind, for diagnostics (`n`, `t`, `L`, …).
    pub fn kind_name(&self) -> &'static str {
        if self.is_num() {
            return "n";
        }
        match self.0 {
            NIL => return "nil",
            TRUE | FALSE => return "b",
            _ => {}
        }
        match self.heap() {
            Some(Obj::Text(..)) => "t",
            Some(Obj::List(_)) => "L",
            Some(Obj::Map(_)) => "M",
            Some(Obj::Record(_)) => "record",
            Some(Obj::Ok(_)) | Some(Obj::Err(_)) => "R",
            Some(Obj::Func(_)) => "F",
            Some(Obj::Source(_)) => "stream",
            None => "?",
        }
    }

    /// Truthiness for `&`, `|`, `!`, `wh` and bare-bool conditions: `false`, `nil`,
    /// `0`, `""` and `[]` are false; everything else is true.
    pub fn truthy(&self) -> bool {
        if let Some(n) = self.as_num() {
            return n != 0.0 && !n.is_nan();
        }
        match self.0 {
            NIL | FALSE => false,
            TRUE => true,
            _ => match self.heap() {
                Some(Obj::Text(_, s)) => !s.is_empty(),
                Some(Obj::List(v)) => !v.is_empty(),
                _ => true,
            },
        }
    }
}

/// An object handed out for changing: a text's cached shape no longer holds.
#[inline]
fn changing(obj: &mut Obj) -> &mut Obj {
    if let Obj::Text(shape, _) = obj {
        shape.forget();
    }
    obj
}

/// A value known to be text, checked once where it is made, so code that holds one
/// reads its string without a check (and without a fallback) at each use.
#[derive(Clone)]
pub struct Text(Value);

impl Text {
    /// `v` as text, or `v` back when it is something else.
    pub fn new(v: Value) -> Result<Text, Value> {
        if v.as_text().is_some() {
            Ok(Text(v))
        } else {
            Err(v)
        }
    }

    pub fn as_str(&self) -> &str {
        match self.0.heap() {
            Some(Obj::Text(_, s)) => s,
            _ => unreachable!("a Text is made only from a text value"),
        }
    }

    pub fn into_value(self) -> Value {
        self.0
    }

    pub fn as_value(&self) -> &Value {
        &self.0
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Value::text(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Value::text(s))
    }
}

impl Clone for Value {
    #[inline]
    fn clone(&self) -> Value {
        if let Some(h) = self.header() {
            h.rc.fetch_add(1, Ordering::Relaxed);
        }
        Value(self.0)
    }
}

impl Drop for Value {
    #[inline]
    fn drop(&mut self) {
        if let Some(h) = self.header() {
            if h.rc.fetch_sub(1, Ordering::Release) == 1 {
                std::sync::atomic::fence(Ordering::Acquire);
                // SAFETY: this was the last reference; the pointer came from Box::into_raw.
                let object = unsafe { Box::from_raw((self.0 & PTR_MASK) as *mut HeapObject) };
                // A text (the most common case, like a stream line) has nothing to
                // release: dropped in place, without moving it through the work list.
                if crate::deep::release::has_elements(&object.obj) {
                    crate::deep::release::free(object);
                }
            }
        }
    }
}

impl Value {
    /// Give up this reference without freeing anything: the object comes back when
    /// this was the last reference, for [`crate::deep::release`] to free without
    /// recursion.
    pub(crate) fn release_shallow(self) -> Option<Box<HeapObject>> {
        let this = ManuallyDrop::new(self);
        let h = this.header()?;
        if h.rc.fetch_sub(1, Ordering::Release) != 1 {
            return None;
        }
        std::sync::atomic::fence(Ordering::Acquire);
        // SAFETY: this was the last reference; the pointer came from Box::into_raw.
        Some(unsafe { Box::from_raw((this.0 & PTR_MASK) as *mut HeapObject) })
    }
}

impl PartialEq for Value {
    /// Structural equality (`=`): numbers by value, texts by content, lists, maps,
    /// records and results element by element; functions and sources by identity.
    /// Any depth (see [`crate::deep::equal`]).
    fn eq(&self, other: &Value) -> bool {
        crate::deep::equal::equal(self, other)
    }
}

/// Numbers print with no exponent: an integral number as its exact integer
/// (`44999999767108864`, `1e21` as `1000000000000000000000`, `-0` as `0`), any other
/// as the shortest text that reads back the same.
pub fn fmt_num(n: f64, f: &mut impl fmt::Write) -> fmt::Result {
    if let Some(i) = small_integer(n) {
        f.write_str(itoa::Buffer::new().format(i))
    } else if n.is_nan() {
        f.write_str("NaN")
    } else if n.is_infinite() {
        f.write_str(if n > 0.0 { "inf" } else { "-inf" })
    } else if n.fract() == 0.0 {
        write!(f, "{n:.0}")
    } else {
        write!(f, "{n}")
    }
}

/// `n` as an i64 when it is integral and below 10^18 in magnitude (`-0` included, as
/// 0): exact, and written as one far faster than by the exact-precision float
/// formatter (a text built from counters is mostly such numbers); `itoa` writes the
/// same digits as `{}` in a tenth of `core::fmt`'s instructions.
fn small_integer(n: f64) -> Option<i64> {
    // The round trip proves `n` integral (NaN and saturated values fail it) without
    // `fract`, which is a libm call on this target.
    let i = n as i64;
    (i as f64 == n && i.unsigned_abs() < 1_000_000_000_000_000_000).then_some(i)
}

pub fn num_to_string(n: f64) -> String {
    if let Some(i) = small_integer(n) {
        // One allocation of the exact length, without growing an empty `String`.
        return itoa::Buffer::new().format(i).to_owned();
    }
    let mut s = String::new();
    let _ = fmt_num(n, &mut s);
    s
}

impl fmt::Display for Value {
    /// The display form used by `prnt`, `str`-like contexts and program output:
    /// text bare, lists `[1, 2]`, maps `{a: 1; b: 2}`, records `pt {x: 1, y: 2}`,
    /// results `~v` / `^e`. Any depth (see [`crate::deep::display`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::deep::display::write_display(self, f)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_objects_stay_small() {
        // Every text, list and result is as large as the largest variant; a large
        // one (a map, a function) belongs in a Box. 40 bytes and malloc's 8-byte
        // header fill a 48-byte chunk; one word more and every object takes 64.
        assert!(std::mem::size_of::<HeapObject>() <= 40);
    }

    /// The word at `offset` bytes into the heap object of `v`.
    fn word_at(v: &Value, offset: i32) -> u64 {
        let base = (v.raw() & PTR_MASK) as *const u8;
        // SAFETY: `v` holds the object; the offsets tested lie inside it, and every
        // one of them is word-aligned.
        unsafe { base.add(offset as usize).cast::<u64>().read() }
    }

    #[test]
    fn layout_constants_match_real_objects() {
        use std::mem::offset_of;
        assert_eq!(layout::RC as usize, offset_of!(HeapObject, rc));
        assert_eq!(layout::KIND as usize, offset_of!(HeapObject, obj));
        let xs = Value::list(vec![Value::num(1.0), Value::text("a"), Value::NIL]);
        let items = xs.as_list().unwrap();
        assert_eq!(word_at(&xs, layout::LIST_ITEMS), items.as_ptr() as u64);
        // SAFETY: as for `word_at`; the length is a u32, 4-byte aligned.
        let len = unsafe {
            ((xs.raw() & PTR_MASK) as *const u8)
                .add(layout::LIST_LEN_U32 as usize)
                .cast::<u32>()
                .read()
        };
        assert_eq!(len, 3);
        assert_eq!(word_at(&xs, layout::RC), 1);
        let shared = xs.clone();
        assert_eq!(word_at(&xs, layout::RC), 2);
        drop(shared);
        let kind = |v: &Value| word_at(v, layout::KIND) as u8;
        assert_eq!(kind(&xs), layout::KIND_LIST);
        assert_eq!(kind(&Value::text("t")), layout::KIND_TEXT);
        assert_eq!(kind(&Value::map(Map::new())), layout::KIND_MAP);
        assert_eq!(kind(&Value::ok(Value::NIL)), layout::KIND_OK);
        assert_eq!(kind(&Value::err(Value::NIL)), layout::KIND_ERR);
        let ty = Arc::new(RecordType {
            name: "pt".into(),
            fields: vec!["x".into(), "y".into()],
        });
        let r = Value::record(ty.clone(), vec![Value::num(1.0), Value::num(2.0)]);
        assert_eq!(kind(&r), layout::KIND_RECORD);
        assert_eq!(word_at(&r, layout::RECORD_TYPE), Arc::as_ptr(&ty) as u64);
        let fields = word_at(&r, layout::RECORD_FIELDS) as *const u64;
        // SAFETY: the record holds two field words at that pointer.
        let y = unsafe { fields.add(1).read() };
        assert_eq!(y, Value::num(2.0).raw());
    }

    #[test]
    fn numbers_roundtrip_and_display() {
        assert_eq!(Value::num(3.0).to_string(), "3");
        assert_eq!(
            Value::num(44999999767108864.0).to_string(),
            "44999999767108864"
        );
        assert_eq!(Value::num(-0.0).to_string(), "0");
        assert_eq!(Value::num(0.1 * 3.0).to_string(), "0.30000000000000004");
        assert_eq!(Value::num(1e21).to_string(), "1000000000000000000000");
        assert_eq!(Value::num(1.0 / 0.0).to_string(), "inf");
        // Either side of the integer fast path's bound, and negative.
        assert_eq!(Value::num(-7.0).to_string(), "-7");
        assert_eq!(
            Value::num(999999999999999900.0).to_string(),
            "999999999999999872"
        );
        assert_eq!(Value::num(-1e18).to_string(), "-1000000000000000000");
        assert_eq!(Value::num(123456789e10).to_string(), "1234567890000000000");
        assert!(Value::num(f64::NAN).is_num());
        assert!(Value::num(-f64::NAN).is_num());
    }

    #[test]
    fn integers_print_as_the_exact_float_formatter_prints_them() {
        let mut xs = vec![
            1.0,
            -1.0,
            9.0,
            10.0,
            65535.0,
            2f64.powi(53),
            -2f64.powi(53) - 2.0,
        ];
        for p in 0..18 {
            let t = 10f64.powi(p);
            xs.extend([t - 1.0, t, t + 1.0, -t, -(t - 1.0), 3.0 * t + 7.0]);
        }
        // (zero is the exception: `-0` prints as `0`, tested above)
        for x in xs.into_iter().filter(|x| *x != 0.0) {
            assert_eq!(num_to_string(x), format!("{x:.0}"), "{x}");
            assert_eq!(Value::num(x).to_string(), format!("{x:.0}"), "{x}");
        }
    }

    #[test]
    fn unique_lists_mutate_in_place_shared_ones_copy() {
        let mut a = Value::list(vec![Value::num(1.0)]);
        let before = a.raw();
        if let Some(Obj::List(v)) = a.make_mut() {
            v.vec_mut().push(Value::num(2.0));
        }
        assert_eq!(a.raw(), before);
        let b = a.clone();
        if let Some(Obj::List(v)) = a.make_mut() {
            v.vec_mut().push(Value::num(3.0));
        }
        assert_ne!(a.raw(), b.raw());
        assert_eq!(b.to_string(), "[1, 2]");
        assert_eq!(a.to_string(), "[1, 2, 3]");
    }

    #[test]
    fn display_shapes() {
        let ty = Arc::new(RecordType {
            name: "pt".into(),
            fields: vec!["x".into(), "y".into()],
        });
        let r = Value::record(ty, vec![Value::num(1.0), Value::num(2.0)]);
        assert_eq!(r.to_string(), "pt {x: 1, y: 2}");
        let mut m = Map::new();
        m.set(KeyRef::Text("b"), Value::num(2.0));
        m.set(KeyRef::Text("a"), Value::num(1.0));
        assert_eq!(Value::map(m).to_string(), "{a: 1; b: 2}");
        let l = Value::list(vec![Value::text("a"), Value::NIL, Value::bool(true)]);
        assert_eq!(l.to_string(), "[a, nil, true]");
    }
}
