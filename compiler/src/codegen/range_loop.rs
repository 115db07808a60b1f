//! `@i a..b{…}`: the counting loop.
//!
//! The language counts in f64 (`i` starts at `a` and grows by one while `i < b`).
//! When `a` is a constant integer, every value of `i` is an integer, so the loop
//! counts in an i64 register instead and compares it with `b` rounded up, computed
//! once: an integer add and compare per iteration rather than a float add and
//! compare, and a counter that survives the calls in the body in a callee-saved
//! register (no float register does). `i` itself is converted from the counter where
//! the body reads it, and the conversion is remembered (`Translator::exact_ints`) so
//! an index taken from `i` needs no float-to-integer conversion or integrality test.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, Block, InstBuilder, InstructionData, Opcode, Value as ClifValue,
};
use cranelift_frontend::Variable;
use cranelift_module::Module;

use super::translator::{Operand, Translator};
use crate::ast::{Block as AstBlock, Expr, Ident, Type};

/// Starts beyond this magnitude are counted in f64 (where `+1` stops being exact).
const EXACT_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53

/// Whether a loop starting at `start` can count in integers: an integer small enough
/// for every step to be exact, and not -0 (which `i` would show).
fn is_exact_start(start: f64) -> bool {
    start.fract() == 0.0
        && start.abs() <= EXACT_LIMIT
        && !(start == 0.0 && start.is_sign_negative())
}

/// An integer-counted loop checks for cancellation once in this many iterations (a
/// power of two): microseconds apart, however small the body.
const POLL_EVERY: i64 = 4096;

/// How a range loop counts.
#[derive(Clone, Copy)]
enum Counter {
    /// An i64 running up to `limit` (the bound rounded up): exact, as the start is an
    /// integer; `from_zero` when that start is not negative.
    Int {
        var: Variable,
        limit: ClifValue,
        from_zero: bool,
    },
    /// The f64 of the language, compared with `end` each time.
    Float { var: Variable, end: ClifValue },
}

impl<M: Module> Translator<'_, M> {
    /// `@i a..b{…}`: the bound is evaluated once, the loop is rotated (tested once
    /// before it and then at the bottom of each iteration).
    pub fn for_range(
        &mut self,
        var: &Ident,
        start: &Expr,
        end: &Expr,
        body: &AstBlock,
        value: Option<&str>,
    ) {
        let s = self.expr(start);
        let s_num = self.is_num(start);
        let s = self.f64(s, s_num, start.span);
        let e = self.expr(end);
        let e_num = self.is_num(end);
        let e = self.f64(e, e_num, end.span);
        let setup = self.b.create_block();
        let exit = self.b.create_block();
        let counter = self.counter(s, e);
        // An f64 test, whichever way the loop counts: a NaN bound runs nothing.
        let mut more = self.b.ins().fcmp(FloatCC::LessThan, s, e);
        if let Counter::Int { var, limit, .. } = counter {
            // Always true when the f64 test is; it uses the limit here, before the
            // loop, because Cranelift places a computation where it is first used
            // and did not hoist this one out of the loop when that was the latch.
            let first = self.b.use_var(var);
            let below = self.b.ins().icmp(IntCC::SignedLessThan, first, limit);
            more = self.b.ins().band(more, below);
        }
        self.b.ins().brif(more, setup, &[], exit, &[]);
        self.b.switch_to_block(setup);
        self.versioned_counting_loop(counter, (var, body, value), exit);
        self.b.switch_to_block(exit);
    }

    /// The loop twice (see `tested_list.rs`) when its body only updates a list in
    /// place. A counter from zero or above indexes the list in bounds throughout
    /// when its limit is within the length: the test before the loop then checks
    /// that too, and an update indexed by it needs no bounds test.
    fn versioned_counting_loop(
        &mut self,
        counter: Counter,
        (var, body, value): (&Ident, &AstBlock, Option<&str>),
        exit: Block,
    ) {
        let limit = match counter {
            Counter::Int {
                limit,
                from_zero: true,
                ..
            } => Some(limit),
            _ => None,
        };
        self.list_versioned_loop((body, &[]), limit, &|t| {
            t.counting_loop(counter, var, body, value, exit)
        });
    }

    /// The counter for a loop from `s` to `e`, set to its start (used only once the
    /// loop is known to run, `s < e`).
    fn counter(&mut self, s: ClifValue, e: ClifValue) -> Counter {
        match self.constant_f64(s) {
            Some(start) if is_exact_start(start) => {
                let var = self.b.declare_var(types::I64);
                let first = self.b.ins().iconst(types::I64, start as i64);
                self.b.def_var(var, first);
                // The smallest integer not below `e`: truncation, plus one when that
                // fell short (positive fractions). Where
                // the `+1` overflows (a bound of 2^63 or more) the truncation, which
                // saturated, stands. No constant appears here: Cranelift
                // rematerialises constants where they are used, which would keep
                // all of this from being hoisted out of the loop.
                let t = self.b.ins().fcvt_to_sint_sat(types::I64, e);
                let back = self.b.ins().fcvt_from_sint(types::F64, t);
                let short = self.b.ins().fcmp(FloatCC::LessThan, back, e);
                let short = self.b.ins().uextend(types::I64, short);
                let sum = self.b.ins().iadd(t, short);
                let grew = self.b.ins().icmp(IntCC::SignedGreaterThanOrEqual, sum, t);
                let limit = self.b.ins().select(grew, sum, t);
                Counter::Int {
                    var,
                    limit,
                    from_zero: start >= 0.0,
                }
            }
            _ => {
                let var = self.b.declare_var(types::F64);
                self.b.def_var(var, s);
                Counter::Float { var, end: e }
            }
        }
    }

    /// The loop itself, entered from the current block with `counter` at its first
    /// value; leaves to `exit` when the counter reaches its bound.
    fn counting_loop(
        &mut self,
        counter: Counter,
        var: &Ident,
        body: &AstBlock,
        value: Option<&str>,
        exit: Block,
    ) {
        let body_b = self.b.create_block();
        let step = self.b.create_block();
        self.b.ins().jump(body_b, &[]);
        self.b.switch_to_block(body_b);
        let i = match counter {
            Counter::Int { var, .. } => {
                let n = self.b.use_var(var);
                let i = self.b.ins().fcvt_from_sint(types::F64, n);
                self.exact_ints.insert(i, n);
                self.note_loop_counter(n);
                i
            }
            Counter::Float { var, .. } => self.b.use_var(var),
        };
        self.assign(&var.name, Operand::Num(i), &Type::Num, var.span);
        let span = var.span;
        self.in_loop(exit, step, body, value);
        self.b.ins().jump(step, &[]);
        self.b.switch_to_block(step);
        match counter {
            Counter::Int { var, limit, .. } => {
                let n = self.b.use_var(var);
                let next = self.b.ins().iadd_imm_s(n, 1);
                self.b.def_var(var, next);
                // The cancellation check (see `Translator::back_edge_check`) on one
                // iteration in POLL_EVERY: a test of the counter's low bits instead
                // of a load and compare, and the context and stack pointer it reads
                // need no register in the loop. The checking path ends in its own
                // copy of the loop test, so the usual one has a single predecessor.
                let check = self.b.create_block();
                let usual = self.b.create_block();
                self.b.set_cold_block(check);
                let low = self.b.ins().band_imm_s(next, POLL_EVERY - 1);
                self.b.ins().brif(low, usual, &[], check, &[]);
                for (blk, checks) in [(usual, false), (check, true)] {
                    self.b.switch_to_block(blk);
                    if checks {
                        self.back_edge_check(span);
                    }
                    let more = self.b.ins().icmp(IntCC::SignedLessThan, next, limit);
                    self.b.ins().brif(more, body_b, &[], exit, &[]);
                }
            }
            Counter::Float { var, end } => {
                self.back_edge_check(span);
                let i = self.b.use_var(var);
                let one = self.b.ins().f64const(1.0);
                let next = self.b.ins().fadd(i, one);
                self.b.def_var(var, next);
                let more = self.b.ins().fcmp(FloatCC::LessThan, next, end);
                self.b.ins().brif(more, body_b, &[], exit, &[]);
            }
        }
    }

    /// The number `v` always is, when it is an f64 constant.
    fn constant_f64(&self, v: ClifValue) -> Option<f64> {
        let dfg = &self.b.func.dfg;
        let inst = dfg.value_def(dfg.resolve_aliases(v)).inst()?;
        match dfg.insts[inst] {
            InstructionData::UnaryIeee64 {
                opcode: Opcode::F64const,
                imm,
            } => Some(f64::from_bits(imm.bits())),
            _ => None,
        }
    }

    /// The i64 the f64 `x` was converted from, when it is a range loop's counter.
    pub fn exact_int(&self, x: ClifValue) -> Option<ClifValue> {
        let x = self.b.func.dfg.resolve_aliases(x);
        self.exact_ints.get(&x).copied()
    }
}
