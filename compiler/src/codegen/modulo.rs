//! `mod a b` on two operands the verifier proved numbers, inline.
//!
//! Two integers of magnitude below the runtime's `SMALL_INTEGER_BOUND` (counters,
//! keys, indices) take one integer division; anything else (fractions, huge values,
//! NaN, infinities, a zero divisor) calls `ilo_mod`, the runtime's `remainder`.
//! Both paths give the bits C's `fmod` gives: the integer remainder is exact, and its
//! sign is copied from `a`, so `mod -3 3` stays `-0`.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Value as ClifValue};
use cranelift_module::Module;
use ilo_runtime::builtins::math::SMALL_INTEGER_BOUND;

use super::abi::{Entry, WORD};
use super::translator::{Operand, Translator};
use crate::ast::Expr;
use crate::span::Span;

impl<M: Module> Translator<'_, M> {
    /// `mod a b` with both operands of type `n`.
    pub fn modulo(&mut self, a: &Expr, b: &Expr, span: Span) -> Operand {
        let x = self.expr(a);
        let x = self.f64(x, true, a.span);
        let y = self.expr(b);
        let y = self.f64(y, true, b.span);
        let (ix, x_fits) = self.small_integer(x);
        let (iy, y_fits) = self.small_integer(y);
        let nonzero = self.b.ins().icmp_imm_s(IntCC::NotEqual, iy, 0);
        let fits = self.b.ins().band(x_fits, y_fits);
        let fast = self.b.ins().band(fits, nonzero);

        let int_block = self.b.create_block();
        let slow_block = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, types::F64);
        self.b.set_cold_block(slow_block);
        self.b.ins().brif(fast, int_block, &[], slow_block, &[]);

        self.b.switch_to_block(int_block);
        self.b.seal_block(int_block);
        let r = self.b.ins().srem(ix, iy);
        let r = self.b.ins().fcvt_from_sint(types::F64, r);
        let r = self.b.ins().fcopysign(r, x);
        self.b.ins().jump(done, &[r.into()]);

        self.b.switch_to_block(slow_block);
        self.b.seal_block(slow_block);
        let w = self.rt_checked(Entry::ilo_mod, &[x, y], span);
        let r = self.b.ins().bitcast(types::F64, MemFlagsData::new(), w);
        self.b.ins().jump(done, &[r.into()]);

        self.b.switch_to_block(done);
        self.b.seal_block(done);
        Operand::Num(self.b.block_params(done)[0])
    }

    /// `x` converted to an i64, and whether that is exact with a magnitude below
    /// `SMALL_INTEGER_BOUND` (else the integer is meaningless but harmless).
    fn small_integer(&mut self, x: ClifValue) -> (ClifValue, ClifValue) {
        let i = self.b.ins().fcvt_to_sint_sat(WORD, x);
        let back = self.b.ins().fcvt_from_sint(types::F64, i);
        let exact = self.b.ins().fcmp(FloatCC::Equal, back, x);
        // |i| < B  ⇔  i + (B - 1) < 2B - 1, unsigned (below -(B - 1) it wraps high).
        let shifted = self.b.ins().iadd_imm_s(i, SMALL_INTEGER_BOUND - 1);
        let limit = (2 * SMALL_INTEGER_BOUND as u64 - 1) as i64;
        let in_range = self
            .b
            .ins()
            .icmp_imm_s(IntCC::UnsignedLessThan, shifted, limit);
        (i, self.b.ins().band(exact, in_range))
    }
}
