//! Run-time checks where a value the verifier could not type enters a place whose
//! declared type the generated code relies on (see `verify::types::needs_check`): an
//! argument of a direct call, a record field, a function's result, the parameters of
//! a function called as a value, the result of calling a function value.
//!
//! Without them a `_` value could reach an f64 register or be treated as a word
//! without a reference. Well-typed code has none of these checks: they appear only
//! where a `_`, a type variable or an optional meets a declared type.

use cranelift_codegen::ir::InstBuilder;
use cranelift_module::Module;

use super::abi::Entry;
use super::translator::{Operand, Translator};
use crate::ast::Type;
use crate::span::Span;
use crate::verify::types::{check_shape, show};
use crate::verify::WithCheck;

impl<M: Module> Translator<'_, M> {
    /// Fail with ILO-R001 (at `span`, naming `place`) unless `v` fits `expected`.
    /// The caller holds `v` (on `temps`, when owned), so the error exit releases it.
    pub fn expect_type(&mut self, v: Operand, expected: &Type, place: &str, span: Span) {
        if let Operand::Num(_) = v {
            return;
        }
        self.expect_shape(v, &check_shape(expected), &show(expected), place, span);
    }

    /// As [`Translator::expect_type`], for the first parameter of a function called as a
    /// value whose result has the same type: the runtime lets through the word `fld`
    /// hands back to this function value as its own previous result
    /// (`ilo_expect_acc`), so folding does not walk the accumulator on every element.
    pub fn expect_accumulator(&mut self, v: Operand, expected: &Type, place: &str, span: Span) {
        let shape = check_shape(expected);
        if matches!(v, Operand::Num(_)) || shape == "n" {
            return self.expect_type(v, expected, place, span);
        }
        let w = self.word(v);
        let desc = format!("{shape}\0{}\0{place}", show(expected));
        let (ptr, len) = self.bytes(desc.as_bytes());
        let env = self.env;
        self.rt_checked(Entry::ilo_expect_acc, &[w, env, ptr, len], span);
    }

    /// After `r with f:v` on a value of unknown type (`v` its result, held by the
    /// caller): each record type's field given a type the code relies on is checked.
    pub fn check_dynamic_with(&mut self, v: Operand, checks: &[WithCheck], span: Span) {
        for c in checks {
            let shape = format!("W{};{};{}", c.record, c.index, check_shape(&c.ty));
            let place = format!("field '{}' of '{}'", c.field, c.record);
            self.expect_shape(v, &shape, &show(&c.ty), &place, span);
        }
    }

    /// Fail with ILO-R001 unless `v` fits `shape` (see `ilo_expect_type`).
    fn expect_shape(&mut self, v: Operand, shape: &str, shown: &str, place: &str, span: Span) {
        let w = self.word(v);
        let desc = format!("{shape}\0{shown}\0{place}");
        let call = |t: &mut Self| {
            let (ptr, len) = t.bytes(desc.as_bytes());
            t.rt_checked(Entry::ilo_expect_type, &[w, ptr, len], span);
        };
        if shape != "n" {
            call(self);
            return;
        }
        // A number is one comparison; anything else goes to the runtime to fail.
        let slow = self.b.create_block();
        let done = self.b.create_block();
        self.b.set_cold_block(slow);
        let is_num = self.is_num_word(w);
        self.b.ins().brif(is_num, done, &[], slow, &[]);
        self.b.switch_to_block(slow);
        call(self);
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(done);
    }
}
