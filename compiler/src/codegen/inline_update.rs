//! Inline fast paths for the updates and reads a loop makes once per iteration:
//! `xs=lst xs i v` and `r=r with f:v` on a value that is ours to give, and `r.f` on a
//! record of a declared type.
//!
//! Each path tests, in generated code, what the runtime function would find (a heap
//! object of the expected kind, held once, an index in bounds, the declared
//! record type) and then loads or stores at the offsets `ilo_runtime::value::layout`
//! gives. Any failed test falls back to the runtime call the code made before, so
//! errors, copy-on-share and the copy counters are exactly the runtime's: the fast
//! path only ever handles the case where the runtime would have stored in place.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Block, InstBuilder, MemFlagsData, Value as ClifValue};
use cranelift_frontend::Variable;
use cranelift_module::Module;
use ilo_runtime::value::layout;

use super::abi::{HEAP_TAG, NIL, PTR_MASK, TAG_MASK, WORD};
use super::field_move::replaced_and_read_once;
use super::translator::{Operand, Translator};
use crate::ast::{Expr, ExprKind, Ident, Type};

/// A record local tested, before an update's values are computed (or before a loop,
/// see `record_loop.rs`), to be a record of its declared type held once: its field
/// pointer.
#[derive(Clone)]
pub struct TestedRecord {
    pub local: String,
    pub record: String,
    pub fields: ClifValue,
    /// Fields whose reference moves out with their one read and back with their one
    /// store: read without a retain, overwritten without a release.
    pub moved: Vec<usize>,
    /// Those of `moved` that may hold a heap value (a text, a list…): their read
    /// leaves nil in the slot, so the value read is the only reference (an append
    /// to it happens in place) and an error before the store frees it once.
    pub emptied: Vec<usize>,
    /// In a loop tested once before it: one variable per field holding what is
    /// stored there, so a read is a register, not a load that waits for the last
    /// iteration's store. Valid because nothing else writes the record meanwhile.
    pub cache: Option<Vec<FieldCache>>,
}

/// What a versioned loop keeps of one field of its record (see `record_loop.rs`).
#[derive(Clone, Copy)]
pub enum FieldCache {
    /// The field's word.
    Word(Variable),
    /// The field's number as an f64: a field tested to hold a number before the
    /// loop, which the loop only ever sets to numbers.
    Num(Variable),
}

/// The reads `local.f` in `e`, an expression [`keeps_record_alone`] accepted.
pub(super) fn reads_of<'e>(e: &'e Expr, local: &str, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Field { expr, .. } => match &expr.kind {
            ExprKind::Ref(id) if id.name == local => out.push(e),
            _ => reads_of(expr, local, out),
        },
        ExprKind::Unary { expr, .. } => reads_of(expr, local, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            reads_of(lhs, local, out);
            reads_of(rhs, local, out);
        }
        _ => {}
    }
}

/// Whether computing `e` can neither make a new reference to local `record` nor
/// reassign it: literals, other locals, field reads, operators. What `r=r with …`
/// needs of its values to test `r` once, before them.
pub(super) fn keeps_record_alone(e: &Expr, record: &str, is_local: &impl Fn(&str) -> bool) -> bool {
    match &e.kind {
        ExprKind::Num(_) | ExprKind::Text(_) | ExprKind::Bool(_) | ExprKind::Nil => true,
        ExprKind::Ref(id) => id.name != record && is_local(&id.name),
        ExprKind::Field { expr, .. } => match &expr.kind {
            ExprKind::Ref(id) => is_local(&id.name),
            _ => keeps_record_alone(expr, record, is_local),
        },
        ExprKind::Unary { expr, .. } => keeps_record_alone(expr, record, is_local),
        ExprKind::Binary { lhs, rhs, .. } => {
            keeps_record_alone(lhs, record, is_local) && keeps_record_alone(rhs, record, is_local)
        }
        _ => false,
    }
}

impl<M: Module> Translator<'_, M> {
    /// The element count of the list at object pointer `p` (32 bits in the layout).
    pub(super) fn list_len(&mut self, p: ClifValue) -> ClifValue {
        self.b
            .ins()
            .uload32(MemFlagsData::trusted(), p, layout::LIST_LEN_U32)
    }

    /// The element storage of the list at object pointer `p`.
    pub(super) fn list_items(&mut self, p: ClifValue) -> ClifValue {
        self.b
            .ins()
            .load(WORD, MemFlagsData::trusted(), p, layout::LIST_ITEMS)
    }

    /// The object pointer of `w` when it is a heap object of kind `kind`; branches to
    /// `slow` otherwise.
    pub(super) fn object_of_kind(&mut self, w: ClifValue, kind: u8, slow: Block) -> ClifValue {
        let tag = self.b.ins().band_imm_s(w, TAG_MASK as i64);
        let heap = self.b.ins().icmp_imm_s(IntCC::Equal, tag, HEAP_TAG as i64);
        self.continue_if(heap, slow);
        let p = self.b.ins().band_imm_s(w, PTR_MASK as i64);
        let k = self
            .b
            .ins()
            .uload8(types::I32, MemFlagsData::trusted(), p, layout::KIND);
        let right_kind = self.b.ins().icmp_imm_s(IntCC::Equal, k, i64::from(kind));
        self.continue_if(right_kind, slow);
        p
    }

    /// Branch to `slow` unless the object at `p` has a reference count of one (the
    /// same test as the runtime's `Value::is_unique`).
    pub(super) fn require_unique(&mut self, p: ClifValue, slow: Block) {
        let rc_addr = self.b.ins().iadd_imm_s(p, i64::from(layout::RC));
        let rc = self
            .b
            .ins()
            .atomic_load(WORD, MemFlagsData::trusted(), rc_addr);
        let unique = self.b.ins().icmp_imm_s(IntCC::Equal, rc, 1);
        self.continue_if(unique, slow);
    }

    /// Carry on in a fresh block when `c` holds, else go to `slow`.
    pub(super) fn continue_if(&mut self, c: ClifValue, slow: Block) {
        let next = self.b.create_block();
        self.b.ins().brif(c, next, &[], slow, &[]);
        self.b.switch_to_block(next);
    }

    /// A fast path and the runtime's path meeting in one block; the result word.
    /// `fast` gets the (cold) block to branch to when a test fails and yields its
    /// result, or `None` to take the slow path outright; `slow` emits the runtime's
    /// path. The meeting block is sealed once both are emitted, so a local both paths
    /// moved out reads as the one nil word there (and its release vanishes).
    pub(super) fn fast_or_slow(
        &mut self,
        fast: impl FnOnce(&mut Self, Block) -> Option<ClifValue>,
        slow: impl FnOnce(&mut Self) -> ClifValue,
    ) -> ClifValue {
        let slow_b = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, WORD);
        self.b.set_cold_block(slow_b);
        match fast(self, slow_b) {
            Some(r) => self.b.ins().jump(done, &[r.into()]),
            None => self.b.ins().jump(slow_b, &[]),
        };
        self.b.switch_to_block(slow_b);
        let r = slow(self);
        self.b.ins().jump(done, &[r.into()]);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        self.b.block_params(done)[0]
    }

    /// Replace the word at `addr` with the owned word `new`, releasing the old one.
    pub(super) fn replace_word(&mut self, addr: ClifValue, offset: i32, new: ClifValue) {
        let old = self
            .b
            .ins()
            .load(WORD, MemFlagsData::trusted(), addr, offset);
        self.b
            .ins()
            .store(MemFlagsData::trusted(), new, addr, offset);
        self.release(old);
    }

    /// `xs=lst xs i v` with `words` = (xs, i, v) all handed over, `list` the list
    /// expression and `index` the index operand they came from: a list held once with `i` a number in `0..len`
    /// (floored, as the runtime does) gets the element stored where it is; anything else goes through
    /// `slow_call` (`ilo_lst_move` with its error check), which consumes `words`. The
    /// result is owned.
    pub fn set_element_inline(
        &mut self,
        words: &[ClifValue],
        (list, index): (&Expr, Operand),
        slow_call: impl FnOnce(&mut Self) -> ClifValue,
    ) -> ClifValue {
        let [xs, i, v] = [words[0], words[1], words[2]];
        match self.tested_update(list) {
            Some(tested) => self.fast_or_slow(
                |t, slow| t.store_tested_element(tested, (xs, i, index), v, slow),
                slow_call,
            ),
            None => self.fast_or_slow(
                |t, slow| t.store_element(xs, (i, index), v, slow),
                slow_call,
            ),
        }
    }

    /// The fast path of [`Translator::set_element_inline`]: `xs` with `v` stored at
    /// index `i` (word and operand), or a branch to `slow`.
    fn store_element(
        &mut self,
        xs: ClifValue,
        (i, index): (ClifValue, Operand),
        v: ClifValue,
        slow: Block,
    ) -> Option<ClifValue> {
        let p = self.object_of_kind(xs, layout::KIND_LIST, slow);
        self.require_unique(p, slow);
        let n = self.element_index((i, index), slow);
        let len = self.list_len(p);
        let in_bounds = self.b.ins().icmp(IntCC::UnsignedLessThan, n, len);
        self.continue_if(in_bounds, slow);
        let items = self.list_items(p);
        let offset = self.b.ins().ishl_imm_u(n, 3);
        let addr = self.b.ins().iadd(items, offset);
        self.replace_word(addr, 0, v);
        Some(xs)
    }

    /// The index word `i` (operand `index`) as an i64 that is the element's position
    /// when it is below the length (the caller's test), or a branch to `slow`. A
    /// range loop's counter is one already: a negative one fails the caller's
    /// unsigned test.
    pub(super) fn element_index(
        &mut self,
        (i, index): (ClifValue, Operand),
        slow: Block,
    ) -> ClifValue {
        let x = match index {
            Operand::Num(x) => match self.exact_int(x) {
                Some(n) => return n,
                None => x,
            },
            _ => {
                let is_num = self.is_num_word(i);
                self.continue_if(is_num, slow);
                self.b.ins().bitcast(types::F64, MemFlagsData::new(), i)
            }
        };
        // Not negative (negative indices count from the end; NaN fails too): then
        // truncating is the runtime's flooring, and the bound test catches infinity
        // and anything too large, which saturate to i64::MAX.
        let zero = self.b.ins().f64const(0.0);
        let not_negative = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, x, zero);
        self.continue_if(not_negative, slow);
        self.b.ins().fcvt_to_sint_sat(types::I64, x)
    }

    /// The type pointer a declared record type's slot caches (0 before the first
    /// record of that type is made), or `None` when the slot cannot be emitted.
    fn declared_type_ptr(&mut self, record: &str) -> Option<ClifValue> {
        let id = self.sh.record_slot(self.module, record).ok()?;
        let slot = self.data_addr(id);
        Some(
            self.b
                .ins()
                .atomic_load(WORD, MemFlagsData::trusted(), slot),
        )
    }

    /// The field pointer of `w` when it is a record of declared type `record`;
    /// branches to `slow` otherwise (also while no record of the type exists, as the
    /// slot is then 0). With `unique`, also when the record is shared.
    pub(super) fn declared_record(
        &mut self,
        w: ClifValue,
        record: &str,
        unique: bool,
        slow: Block,
    ) -> Option<ClifValue> {
        let expected = self.declared_type_ptr(record)?;
        let p = self.object_of_kind(w, layout::KIND_RECORD, slow);
        if unique {
            self.require_unique(p, slow);
        }
        let ty = self
            .b
            .ins()
            .load(WORD, MemFlagsData::trusted(), p, layout::RECORD_TYPE);
        let same = self.b.ins().icmp(IntCC::Equal, ty, expected);
        self.continue_if(same, slow);
        Some(
            self.b
                .ins()
                .load(WORD, MemFlagsData::trusted(), p, layout::RECORD_FIELDS),
        )
    }

    /// Field `index` of the borrowed word `obj` when it is a record of declared type
    /// `record`, as an owned word; `slow_read` emits the runtime's read otherwise.
    /// The word is retained whatever the field's static type: a field typed `n` may
    /// still hold a value the verifier let through as `_`, and the retain costs a
    /// tag test for a number.
    pub fn field_inline(
        &mut self,
        obj: ClifValue,
        (record, index): (&str, usize),
        slow_read: impl FnOnce(&mut Self) -> ClifValue,
    ) -> ClifValue {
        let fast = |t: &mut Self, slow| {
            let fields = t.declared_record(obj, record, false, slow)?;
            let w =
                t.b.ins()
                    .load(WORD, MemFlagsData::trusted(), fields, (index * 8) as i32);
            t.retain(w);
            Some(w)
        };
        self.fast_or_slow(fast, slow_read)
    }

    /// `r=r with f:v…` where `r` (local `local` of declared type `record`, `inner` its
    /// handed-over read) is tested once, before the values are computed: when every
    /// value is an expression that leaves `r` alone, a record held once stays so
    /// while they are computed, so its fields are read by plain loads (see
    /// [`Translator::tested_field`]) and then stored; `None` when the update does not
    /// have that shape. `generic` translates the whole update the ordinary way, for
    /// a record that fails the test.
    pub fn with_tested_once(
        &mut self,
        (local, record): (&str, &str),
        inner: &Expr,
        fields: &[(Ident, Expr)],
        indices: &[usize],
        generic: impl FnOnce(&mut Self) -> ClifValue,
    ) -> Option<ClifValue> {
        let is_local = |n: &str| self.locals.contains_key(n);
        if self.tested_record.is_some()
            || !fields
                .iter()
                .all(|(_, x)| keeps_record_alone(x, local, &is_local))
        {
            return None;
        }
        let w = match self.read_local(local)? {
            Operand::Borrowed(w) => w,
            _ => return None,
        };
        if let Some(hoisted) = self.hoisted_record.clone().filter(|h| h.local == local) {
            // The loop around this update tested the record once for all its
            // iterations (`record_loop.rs`).
            let target = (hoisted.fields, hoisted.cache);
            return Some(self.store_tested(target, (local, record), (inner, fields), indices));
        }
        let update = |t: &mut Self, slow| {
            let ptrs = t.declared_record(w, record, true, slow)?;
            let target = (ptrs, None);
            Some(t.store_tested(target, (local, record), (inner, fields), indices))
        };
        Some(self.fast_or_slow(update, generic))
    }

    /// The update of [`Translator::with_tested_once`] on a record already tested, whose
    /// field pointer (and, in a versioned loop, field cache) is `target`: computes the
    /// values with reads of the record's fields as loads (or cache reads), stores
    /// them, and yields the record's word, handed over from its local.
    fn store_tested(
        &mut self,
        (ptrs, cache): (ClifValue, Option<Vec<FieldCache>>),
        (local, record): (&str, &str),
        (inner, fields): (&Expr, &[(Ident, Expr)]),
        indices: &[usize],
    ) -> ClifValue {
        let (moved, emptied) = self.moved_fields(local, fields, indices);
        self.tested_record = Some(TestedRecord {
            local: local.to_string(),
            record: record.to_string(),
            fields: ptrs,
            moved: moved.clone(),
            emptied,
            cache: cache.clone(),
        });
        let vals = self.held(fields.iter().map(|(_, x)| x));
        self.tested_record = None;
        let obj = self.expr(inner);
        let ow = self.word(obj);
        for v in vals.iter().rev() {
            self.pop(*v);
        }
        for ((&i, &v), (_, x)) in indices.iter().zip(&vals).zip(fields) {
            let offset = (i * 8) as i32;
            let store = |t: &mut Self, new| {
                t.b.ins().store(MemFlagsData::trusted(), new, ptrs, offset);
            };
            match cache.as_ref().map(|c| c[i]) {
                Some(FieldCache::Num(var)) => {
                    // A number replaces a number: nothing to count. Stored from the
                    // f64 register as it is (the same bits as its word).
                    let n = self.f64(v, true, x.span);
                    store(self, n);
                    self.b.def_var(var, n);
                }
                Some(FieldCache::Word(var)) => {
                    let new = self.owned(v);
                    let old = self.b.use_var(var);
                    store(self, new);
                    self.b.def_var(var, new);
                    if !moved.contains(&i) {
                        self.release(old);
                    }
                }
                None => {
                    let new = self.owned(v);
                    if moved.contains(&i) {
                        store(self, new);
                    } else {
                        self.replace_word(ptrs, offset, new);
                    }
                }
            }
        }
        ow
    }

    /// The fields of `local` an update both writes once and reads once: such a read
    /// needs no retain and the write no release, as the record's reference moves into
    /// the read and the new value takes its place. Second, those of them read as
    /// anything but a number, boolean or nil, whose read also leaves nil behind (see
    /// [`TestedRecord::emptied`]). A number needs no count anyway; should a value the
    /// verifier let through as `_` be a heap value in a field read as a number, the
    /// read's word is never released either (it is typed as a number), so the
    /// record's reference is what it stands for, counted once, and nothing is freed
    /// twice.
    fn moved_fields(
        &self,
        local: &str,
        fields: &[(Ident, Expr)],
        indices: &[usize],
    ) -> (Vec<usize>, Vec<usize>) {
        let mut reads = Vec::new();
        for (_, x) in fields {
            reads_of(x, local, &mut reads);
        }
        let mut moved = Vec::new();
        let mut emptied = Vec::new();
        for (i, read) in replaced_and_read_once(fields, indices, &reads) {
            moved.push(i);
            if !matches!(self.ty(read), Type::Num | Type::Bool | Type::Nil) {
                emptied.push(i);
            }
        }
        (moved, emptied)
    }

    /// `r.f` on the record local [`Translator::with_tested_once`] is updating, or
    /// one a versioned loop tested (`record_loop.rs`): a load from the tested field
    /// pointer (in such a loop, the field's cached word), retained unless the
    /// field's reference moves (owned result); `None` for any other read.
    pub fn tested_field(&mut self, inner: &Expr, name: &str) -> Option<Operand> {
        let ExprKind::Ref(id) = &inner.kind else {
            return None;
        };
        let tested = [&self.tested_record, &self.hoisted_record]
            .into_iter()
            .flatten()
            .find(|t| t.local == id.name)?;
        let index = self
            .sh
            .records
            .get(&tested.record)?
            .iter()
            .position(|f| f == name)?;
        let (fields, moved) = (tested.fields, tested.moved.contains(&index));
        let emptied = tested.emptied.contains(&index);
        let cached = tested.cache.as_ref().map(|c| c[index]);
        let offset = (index * 8) as i32;
        let w = match cached {
            Some(FieldCache::Num(var)) => return Some(Operand::Num(self.b.use_var(var))),
            Some(FieldCache::Word(var)) => self.b.use_var(var),
            None => self
                .b
                .ins()
                .load(WORD, MemFlagsData::trusted(), fields, offset),
        };
        if emptied {
            // The record, held once, is released by any exit before the store puts
            // the new value here: it must not release the value we now own.
            let nil = self.iconst(NIL);
            self.b
                .ins()
                .store(MemFlagsData::trusted(), nil, fields, offset);
        } else if !moved {
            self.retain(w);
        }
        Some(Operand::Owned(w))
    }

    /// `r with f:v…` on the handed-over word `obj` of declared type `record`, the
    /// fields at declaration positions `indices` taking `vals`: a record held once is
    /// updated where it is (each value stored owned, each old one released); the
    /// runtime's `with` otherwise, through `slow_with`, which must consume `obj` and
    /// deal with `vals` itself. The caller has taken `vals` off the temporaries.
    pub fn with_inline(
        &mut self,
        obj: ClifValue,
        record: &str,
        (indices, vals): (&[usize], &[Operand]),
        slow_with: impl FnOnce(&mut Self) -> ClifValue,
    ) -> ClifValue {
        let update = |t: &mut Self, slow| {
            let fields = t.declared_record(obj, record, true, slow)?;
            for (&i, &v) in indices.iter().zip(vals) {
                let w = t.owned(v);
                t.replace_word(fields, (i * 8) as i32, w);
            }
            Some(obj)
        };
        self.fast_or_slow(update, slow_with)
    }
}
