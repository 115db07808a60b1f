//! The translator: one struct holding the Cranelift `FunctionBuilder`, the locals of
//! the function being compiled and the bookkeeping for reference counting and error
//! exits. Expressions, statements, control flow, calls and records each add their
//! methods in a module of their own; this one holds the shared machinery.
//!
//! Ownership discipline (see `ilo_runtime::value`): every word local owns one
//! reference; an expression yields a [`Operand`] saying whether its word is owned (a
//! temporary to release) or borrowed (a local's value). While an owned temporary is
//! waiting for its siblings to be evaluated it sits on `temps`, so any exit taken in
//! between (a runtime error, `ret`, `brk`) releases it. All exits from the function go
//! through one exit block that releases every word local.
//!
//! A read of a local that is its last use (`last_use.rs`) moves the reference out of
//! the variable (which becomes nil) and yields it owned, so the consumer can hand it
//! over to a runtime entry point that updates a unique value in place.

use std::collections::{HashMap, HashSet};

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, Block, FuncRef, GlobalValue, InstBuilder, InstructionData, MemFlagsData, Opcode,
    StackSlotData, StackSlotKind, Value as ClifValue,
};
use cranelift_frontend::{FunctionBuilder, Variable};
use cranelift_module::{DataId, FuncId, Module};

use super::abi::{Entry, ERROR_SENTINEL, FIRST_TAGGED, HEAP_TAG, NIL, TAG_MASK, WORD};
use super::error::CodegenError;
use super::program_state::ProgramState;
use crate::ast::{Expr, ExprId, Type};
use crate::span::Span;
use crate::verify::Checked;

/// The result of translating an expression.
#[derive(Clone, Copy, Debug)]
pub enum Operand {
    /// An unboxed number in an f64 register.
    Num(ClifValue),
    /// A word that is never a heap reference (bool, nil, a number as a word).
    Imm(ClifValue),
    /// A word whose reference we own: release it or hand it on.
    Owned(ClifValue),
    /// A word borrowed from a local: retain it before storing it anywhere.
    Borrowed(ClifValue),
}

/// A local variable: an f64 (when always a number) or an owning word.
#[derive(Clone, Copy)]
pub struct Local {
    pub var: Variable,
    pub numeric: bool,
}

/// Where `brk` and `cnt` go, and how many temporaries were live when the loop began.
pub struct LoopFrame {
    pub brk: Block,
    pub cnt: Block,
    pub temps: usize,
}

/// The value the previous statement left for a subject-less match `?{…}`.
pub enum Prev {
    /// An owned temporary (also on `temps`), with its static type.
    Value(Operand, Type),
    /// The local the previous statement bound.
    Local(String, Type),
}

pub struct Translator<'a, M: Module> {
    pub b: FunctionBuilder<'a>,
    pub module: &'a mut M,
    pub sh: &'a mut ProgramState,
    pub checked: &'a Checked,
    pub ctx: ClifValue,
    pub env: ClifValue,
    pub locals: HashMap<String, Local>,
    pub temps: Vec<ClifValue>,
    pub loops: Vec<LoopFrame>,
    pub prev: Option<Prev>,
    pub exit: Block,
    /// The `Ref` expressions that are last uses of their local (see `last_use.rs`).
    pub moves: HashSet<ExprId>,
    /// The `mget` calls that take the value out of a map held once (see `map_take.rs`).
    pub map_takes: HashSet<ExprId>,
    /// The nil word, made once in the entry block: what a moved-out local holds, so
    /// paths that meet after moving the same local agree on one value and the release
    /// of it disappears at compile time.
    pub nil_word: ClifValue,
    /// A record local already tested for an in-place `with` (see `inline_update.rs`):
    /// its fields are read by plain loads while the update's values are computed.
    pub tested_record: Option<super::inline_update::TestedRecord>,
    /// Field reads that move their value out of the record an update is rebuilding
    /// (see `field_move.rs`), while that update's values are translated.
    pub field_moves: super::field_move::FieldMoves,
    /// The list a loop version tested once before the loop (see `tested_list.rs`).
    pub tested_list: Option<super::tested_list::TestedList>,
    /// The record a versioned loop tested once before it (see `record_loop.rs`),
    /// while its fast copy is emitted.
    pub hoisted_record: Option<super::inline_update::TestedRecord>,
    /// Whether this function checks its own results against its declared return type
    /// (a lambda or a function used as a value; see `Checked::unproven_returns`).
    pub checks_returns: bool,
    /// f64 values known to be exact conversions of an i64: a range loop's counter
    /// (see `range_loop.rs`), so an index taken from it skips the conversion back.
    pub exact_ints: HashMap<ClifValue, ClifValue>,
    frefs: HashMap<FuncId, FuncRef>,
    gvs: HashMap<DataId, GlobalValue>,
}

impl<'a, M: Module> Translator<'a, M> {
    /// A translator emitting into `b`, whose current block is the function body
    /// entry; `exit` is the (not yet filled) exit block taking the result word.
    pub fn new(
        b: FunctionBuilder<'a>,
        module: &'a mut M,
        sh: &'a mut ProgramState,
        checked: &'a Checked,
        (ctx, env, exit): (ClifValue, ClifValue, Block),
    ) -> Self {
        let mut b = b;
        let nil_word = b.ins().iconst(WORD, NIL as i64);
        Translator {
            nil_word,
            b,
            module,
            sh,
            checked,
            ctx,
            env,
            locals: HashMap::new(),
            temps: Vec::new(),
            loops: Vec::new(),
            prev: None,
            exit,
            moves: HashSet::new(),
            map_takes: HashSet::new(),
            tested_record: None,
            field_moves: Default::default(),
            tested_list: None,
            hoisted_record: None,
            checks_returns: false,
            exact_ints: HashMap::new(),
            frefs: HashMap::new(),
            gvs: HashMap::new(),
        }
    }

    // ── types and diagnostics ──

    pub fn ty(&self, e: &Expr) -> &'a Type {
        self.checked.type_of(e.id)
    }

    pub fn is_num(&self, e: &Expr) -> bool {
        *self.ty(e) == Type::Num
    }

    /// Report a construct the code generator cannot compile (a verifier gap).
    pub fn unsupported(&mut self, what: impl Into<String>, span: Span) {
        self.sh.errors.push(CodegenError::Unsupported {
            what: what.into(),
            span,
        });
    }

    // ── blocks ──

    /// Start emitting into a fresh block.
    pub fn switch_new(&mut self) -> Block {
        let blk = self.b.create_block();
        self.b.switch_to_block(blk);
        blk
    }

    pub fn iconst(&mut self, w: u64) -> ClifValue {
        self.b.ins().iconst(WORD, w as i64)
    }

    // ── calls ──

    pub fn fref(&mut self, id: FuncId) -> FuncRef {
        if let Some(r) = self.frefs.get(&id) {
            return *r;
        }
        let r = self.module.declare_func_in_func(id, self.b.func);
        self.frefs.insert(id, r);
        r
    }

    /// Call runtime entry point `entry`; its result, if it has one.
    pub fn rt(&mut self, entry: Entry, args: &[ClifValue]) -> ClifValue {
        let id = self.sh.rt.get(entry);
        let r = self.fref(id);
        let call = self.b.ins().call(r, args);
        match self.b.inst_results(call).first().copied() {
            Some(v) => v,
            // Entry points without a result (retain, release, err_span).
            None => self.iconst(0),
        }
    }

    /// Call a fallible entry point and take the error exit on `ERROR_SENTINEL`.
    pub fn rt_checked(&mut self, entry: Entry, args: &[ClifValue], span: Span) -> ClifValue {
        let r = self.rt(entry, args);
        self.check(r, span);
        r
    }

    /// Branch to an error exit (attributing `span`) when `r` is the error sentinel.
    pub fn check(&mut self, r: ClifValue, span: Span) {
        let sentinel = self.iconst(ERROR_SENTINEL);
        let failed = self.b.ins().icmp(IntCC::Equal, r, sentinel);
        self.branch_to_error(failed, span);
    }

    /// When `failed` is set, attach `span` to the pending error, release everything
    /// live and return the sentinel.
    pub fn branch_to_error(&mut self, failed: ClifValue, span: Span) {
        let err = self.b.create_block();
        let ok = self.b.create_block();
        self.b.set_cold_block(err);
        self.b.ins().brif(failed, err, &[], ok, &[]);
        self.b.switch_to_block(err);
        let id = self.sh.span_id(span);
        let id = self.b.ins().iconst(WORD, id);
        self.rt(Entry::ilo_err_span, &[id]);
        let sentinel = self.iconst(ERROR_SENTINEL);
        self.exit_with(sentinel, 0);
        self.b.switch_to_block(ok);
    }

    /// Release the temporaries above `keep`, jump to the function exit returning the
    /// owned word `w`, and continue in a fresh (unreachable) block.
    pub fn exit_with(&mut self, w: ClifValue, keep: usize) {
        self.release_temps_above(keep);
        self.b.ins().jump(self.exit, &[w.into()]);
        self.switch_new();
    }

    /// Release (newest first) the temporaries above depth `keep`, for a jump out of
    /// the constructs that own them. The stack itself is unchanged: the code after
    /// the jump is unreachable, and the constructs pop their own entries.
    pub fn release_temps_above(&mut self, keep: usize) {
        let live: Vec<ClifValue> = self.temps[keep..].iter().rev().copied().collect();
        for t in live {
            self.release(t);
        }
    }

    /// Address of static data `id` in this function.
    pub fn data_addr(&mut self, id: DataId) -> ClifValue {
        let gv = match self.gvs.get(&id) {
            Some(gv) => *gv,
            None => {
                let gv = self.module.declare_data_in_func(id, self.b.func);
                self.gvs.insert(id, gv);
                gv
            }
        };
        self.b.ins().symbol_value(WORD, gv)
    }

    /// Address and length of static `bytes` (names, descriptors, literal text).
    pub fn bytes(&mut self, bytes: &[u8]) -> (ClifValue, ClifValue) {
        let id = match self.sh.static_bytes(self.module, bytes) {
            Ok(id) => id,
            Err(e) => {
                self.unsupported(format!("cannot emit data: {e}"), Span::default());
                return (self.iconst(0), self.iconst(0));
            }
        };
        let addr = self.data_addr(id);
        let len = self.b.ins().iconst(WORD, bytes.len() as i64);
        (addr, len)
    }

    /// Store words in a fresh stack array; its address (for `P` arguments).
    pub fn word_array(&mut self, words: &[ClifValue]) -> ClifValue {
        if words.is_empty() {
            return self.iconst(0);
        }
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (words.len() * 8) as u32,
            3,
        ));
        for (i, w) in words.iter().enumerate() {
            self.b.ins().stack_store(WORD, *w, slot, (i * 8) as i32);
        }
        self.b.ins().stack_addr(WORD, slot, 0)
    }

    // ── reference counting ──

    /// Call `entry` (`ilo_retain` / `ilo_release`) only when `w` is a heap reference:
    /// numbers, bools and nil never reach the runtime.
    fn rc_op(&mut self, entry: Entry, w: ClifValue) {
        if let Some(word) = self.constant_word(w) {
            if word & TAG_MASK != HEAP_TAG {
                return;
            }
        }
        let tag = self.b.ins().band_imm_s(w, TAG_MASK as i64);
        let heap = self.b.ins().icmp_imm_s(IntCC::Equal, tag, HEAP_TAG as i64);
        let call = self.b.create_block();
        let done = self.b.create_block();
        self.b.ins().brif(heap, call, &[], done, &[]);
        self.b.switch_to_block(call);
        self.rt(entry, &[w]);
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(done);
    }

    /// The word `w` always is, when it is a constant.
    fn constant_word(&self, w: ClifValue) -> Option<u64> {
        let dfg = &self.b.func.dfg;
        let inst = dfg.value_def(dfg.resolve_aliases(w)).inst()?;
        match dfg.insts[inst] {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } => Some(imm.bits() as u64),
            _ => None,
        }
    }

    pub fn release(&mut self, w: ClifValue) {
        self.rc_op(Entry::ilo_release, w);
    }

    pub fn retain(&mut self, w: ClifValue) {
        self.rc_op(Entry::ilo_retain, w);
    }

    /// Give up a value that is no longer needed.
    pub fn drop_v(&mut self, v: Operand) {
        if let Operand::Owned(w) = v {
            self.release(w);
        }
    }

    /// Keep an owned temporary alive (and released on early exits) while siblings
    /// are evaluated. Pair with [`Translator::pop`].
    pub fn push(&mut self, v: Operand) {
        if let Operand::Owned(w) = v {
            self.temps.push(w);
        }
    }

    /// Evaluate `es` in order, each result held (see [`Translator::push`]) while the
    /// next is evaluated; pop them, newest first, when done.
    pub fn held<'e>(&mut self, es: impl IntoIterator<Item = &'e Expr>) -> Vec<Operand> {
        let es: Vec<&Expr> = es.into_iter().collect();
        (0..es.len())
            .map(|i| {
                let v = self.expr(es[i]);
                let v = self.kept_against(v, es[i + 1..].iter().copied());
                self.push(v);
                v
            })
            .collect()
    }

    /// `v`, made owned when it is a borrowed word and one of the operands evaluated
    /// after it, `later`, may bind a local (in a conditional's block, say): the local
    /// that lent the word could be rebound, releasing it under its borrower.
    pub fn kept_against<'e>(
        &mut self,
        v: Operand,
        mut later: impl Iterator<Item = &'e Expr>,
    ) -> Operand {
        match v {
            Operand::Borrowed(w) if later.any(super::last_use::binds_a_local) => {
                self.retain(w);
                Operand::Owned(w)
            }
            _ => v,
        }
    }

    /// As [`Translator::held`], but the first argument, a bare local, is read after the
    /// others (see `last_use::read_last`); the operands come back, and
    /// sit on the temporaries, in argument order.
    pub fn held_first_last(&mut self, args: &[Expr]) -> Vec<Operand> {
        let Some((first, rest)) = args.split_first() else {
            return Vec::new();
        };
        let rest = self.held(rest);
        // A local's read neither fails nor holds temporaries; restack it below the rest.
        let first = self.expr(first);
        for v in rest.iter().rev() {
            self.pop(*v);
        }
        let mut all = vec![first];
        all.extend(rest);
        for v in &all {
            self.push(*v);
        }
        all
    }

    pub fn pop(&mut self, v: Operand) {
        if let Operand::Owned(w) = v {
            let top = self.temps.pop();
            debug_assert_eq!(top, Some(w));
        }
    }

    // ── representation changes ──

    /// The word of `v`, ownership unchanged.
    pub fn word(&mut self, v: Operand) -> ClifValue {
        match v {
            Operand::Num(x) => self.b.ins().bitcast(WORD, MemFlagsData::new(), x),
            Operand::Imm(w) | Operand::Owned(w) | Operand::Borrowed(w) => w,
        }
    }

    /// An owned word for `v` (retaining a borrowed one).
    pub fn owned(&mut self, v: Operand) -> ClifValue {
        if let Operand::Borrowed(w) = v {
            self.retain(w);
        }
        self.word(v)
    }

    /// `v` as an f64. When the verifier did not prove it is a number (`known_num`),
    /// the word is checked at run time (`ILO-R001` otherwise).
    pub fn f64(&mut self, v: Operand, known_num: bool, span: Span) -> ClifValue {
        let w = match v {
            Operand::Num(x) => return x,
            Operand::Imm(w) | Operand::Owned(w) | Operand::Borrowed(w) => w,
        };
        let w = if known_num {
            w
        } else {
            // Held on `temps` so the error exit releases a non-number; once checked,
            // it is a number and needs no release.
            self.push(v);
            let r = self.rt_checked(Entry::ilo_expect_num, &[w], span);
            self.pop(v);
            r
        };
        self.b.ins().bitcast(types::F64, MemFlagsData::new(), w)
    }

    /// A word test: `w` holds a number.
    pub fn is_num_word(&mut self, w: ClifValue) -> ClifValue {
        self.b
            .ins()
            .icmp_imm_s(IntCC::UnsignedLessThan, w, FIRST_TAGGED as i64)
    }

    /// `true`/`false` word from an i8 condition.
    pub fn bool_word(&mut self, c: ClifValue) -> Operand {
        let t = self.iconst(super::abi::TRUE);
        let f = self.iconst(super::abi::FALSE);
        Operand::Imm(self.b.ins().select(c, t, f))
    }

    pub fn nil(&mut self) -> Operand {
        Operand::Imm(self.iconst(NIL))
    }

    /// Values whose static type rules out heap references need no counting.
    pub fn classify(&self, v: Operand, ty: &Type) -> Operand {
        match (v, ty) {
            (Operand::Owned(w) | Operand::Borrowed(w), Type::Num | Type::Bool | Type::Nil) => {
                Operand::Imm(w)
            }
            _ => v,
        }
    }

    // ── locals ──

    pub fn read_local(&mut self, name: &str) -> Option<Operand> {
        let l = *self.locals.get(name)?;
        let x = self.b.use_var(l.var);
        Some(if l.numeric {
            Operand::Num(x)
        } else {
            Operand::Borrowed(x)
        })
    }

    /// The last use of word local `name`: its reference, owned, leaving nil behind
    /// (so the exit block's release of the variable is a no-op). `None` for a
    /// numeric local, which holds no reference.
    pub fn move_local(&mut self, name: &str) -> Option<Operand> {
        let l = *self.locals.get(name)?;
        if l.numeric {
            return None;
        }
        let w = self.b.use_var(l.var);
        self.b.def_var(l.var, self.nil_word);
        Some(Operand::Owned(w))
    }

    /// Store `v` (of static type `ty`) into local `name`, releasing the old value.
    pub fn assign(&mut self, name: &str, v: Operand, ty: &Type, span: Span) {
        self.note_assignment(name);
        let Some(l) = self.locals.get(name).copied() else {
            self.drop_v(v);
            self.unsupported(format!("no local '{name}'"), span);
            return;
        };
        if l.numeric {
            let x = self.f64(v, *ty == Type::Num, span);
            self.drop_v(v);
            self.b.def_var(l.var, x);
        } else {
            let new = self.owned(v);
            let old = self.b.use_var(l.var);
            self.b.def_var(l.var, new);
            self.release(old);
        }
    }
}
