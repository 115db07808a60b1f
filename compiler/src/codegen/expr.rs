//! Expressions: literals, locals, operators, lists, results and indexing. Calls,
//! function values, records and control-flow expressions have modules of their own.
//!
//! Where the verifier typed both operands as numbers, arithmetic is inline f64 code;
//! otherwise the operation is one runtime call on words.

use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value as ClifValue};
use cranelift_module::Module;

use super::abi::{Entry, FALSE, TRUE, WORD};
use super::translator::{Operand, Translator};
use crate::ast::{BinOp, Expr, ExprKind, UnOp};

impl<M: Module> Translator<'_, M> {
    /// Translate `e`. The result's representation follows its static type.
    pub fn expr(&mut self, e: &Expr) -> Operand {
        let v = self.expr_inner(e);
        if let Some(checks) = self.checked.with_checks.get(&e.id) {
            self.push(v);
            self.check_dynamic_with(v, checks, e.span);
            self.pop(v);
        }
        let checks = [&self.checked.result_checks, &self.checked.checks];
        for check in checks.into_iter().filter_map(|c| c.get(&e.id)) {
            self.push(v);
            self.expect_type(v, &check.ty, &check.place, e.span);
            self.pop(v);
        }
        let ty = self.ty(e);
        self.classify(v, ty)
    }

    fn expr_inner(&mut self, e: &Expr) -> Operand {
        match &e.kind {
            ExprKind::Num(n) => Operand::Num(self.b.ins().f64const(*n)),
            ExprKind::Text(s) => Operand::Borrowed(self.text_literal(s)),
            ExprKind::Bool(b) => Operand::Imm(self.iconst(if *b { TRUE } else { FALSE })),
            ExprKind::Nil => self.nil(),
            ExprKind::Ref(id) => self.reference(e, id),
            ExprKind::List(items) => self.list(items),
            ExprKind::Unary { op, expr } => self.unary(e, *op, expr),
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, *op, lhs, rhs),
            ExprKind::Call {
                callee,
                args,
                unwrap,
            } => self.call(e, callee, args, *unwrap),
            ExprKind::Field { expr, name, safe } => self.field(e, expr, name, *safe),
            ExprKind::Index { expr, index } => {
                let obj = self.expr(expr);
                self.push(obj);
                let w = self.word(obj);
                let i = self.b.ins().iconst(WORD, *index as i64);
                let r = self.rt_checked(Entry::ilo_index, &[w, i], e.span);
                self.pop(obj);
                self.drop_v(obj);
                Operand::Owned(r)
            }
            ExprKind::Record { ty, fields } => self.record(e, ty, fields),
            ExprKind::With { expr, fields } => self.with(e, expr, fields),
            ExprKind::Ok(inner) => self.wrap(Entry::ilo_ok, inner),
            ExprKind::Err(inner) => self.wrap(Entry::ilo_err, inner),
            ExprKind::Coalesce { lhs, rhs } => self.coalesce(e, lhs, rhs),
            ExprKind::Match { subject, arms } => self.match_expr(e, subject.as_deref(), arms),
            ExprKind::Ternary { cond, then, els } => self.ternary(e, cond, then, els),
            ExprKind::Lambda(_) => self.lambda_value(e),
        }
    }

    /// The local `e` reads after its other operands (see `last_use::read_last`).
    pub fn read_last<'e>(&self, e: &'e Expr) -> Option<&'e str> {
        super::last_use::read_last(e, self.checked, |n| {
            self.locals.get(n).is_some_and(|l| !l.numeric)
        })
    }

    /// A borrowed word for text literal `s`, made on first use and cached in a slot.
    pub fn text_literal(&mut self, s: &str) -> ClifValue {
        let slot = match self.sh.text_slot(self.module, s) {
            Ok(id) => self.data_addr(id),
            Err(err) => {
                self.unsupported(
                    format!("cannot emit text literal: {err}"),
                    Default::default(),
                );
                return self.iconst(super::abi::NIL);
            }
        };
        // Atomic (acquire) so a text another thread just cached is seen complete.
        let cached = self
            .b
            .ins()
            .atomic_load(WORD, MemFlagsData::trusted(), slot);
        let slow = self.b.create_block();
        let done = self.b.create_block();
        self.b.append_block_param(done, WORD);
        self.b.set_cold_block(slow);
        self.b.ins().brif(cached, done, &[cached.into()], slow, &[]);
        self.b.switch_to_block(slow);
        let (ptr, len) = self.bytes(s.as_bytes());
        let made = self.rt(Entry::ilo_text_lit, &[slot, ptr, len]);
        self.b.ins().jump(done, &[made.into()]);
        self.b.switch_to_block(done);
        self.b.block_params(done)[0]
    }

    fn reference(&mut self, e: &Expr, id: &crate::ast::Ident) -> Operand {
        if let Some(target) = self.checked.calls.get(&e.id).cloned() {
            if let Some(v) = self.function_value(&target, e) {
                return v;
            }
        }
        if self.moves.contains(&e.id) {
            if let Some(v) = self.move_local(&id.name) {
                return v;
            }
        }
        if let Some(v) = self.read_local(&id.name) {
            return v;
        }
        let target = crate::verify::CallTarget::User(id.name.clone());
        if let Some(v) = self.function_value(&target, e) {
            return v;
        }
        self.unsupported(format!("unknown name '{}'", id.name), id.span);
        self.nil()
    }

    fn list(&mut self, items: &[Expr]) -> Operand {
        let vals = self.held(items);
        let words: Vec<ClifValue> = vals.iter().map(|v| self.word(*v)).collect();
        let arr = self.word_array(&words);
        let n = self.b.ins().iconst(WORD, words.len() as i64);
        let r = self.rt(Entry::ilo_list_new, &[arr, n]);
        for v in vals.into_iter().rev() {
            self.pop(v);
            self.drop_v(v);
        }
        Operand::Owned(r)
    }

    fn wrap(&mut self, entry: Entry, inner: &Expr) -> Operand {
        let v = self.expr(inner);
        let w = self.word(v);
        let r = self.rt(entry, &[w]);
        self.drop_v(v);
        Operand::Owned(r)
    }

    fn unary(&mut self, e: &Expr, op: UnOp, inner: &Expr) -> Operand {
        match op {
            UnOp::Not => {
                let c = self.cond(inner, true);
                self.bool_word(c)
            }
            UnOp::Neg if self.is_num(inner) => {
                let v = self.expr(inner);
                let x = self.f64(v, true, inner.span);
                Operand::Num(self.b.ins().fneg(x))
            }
            UnOp::Neg => {
                let v = self.expr(inner);
                let w = self.word(v);
                self.push(v);
                let r = self.rt_checked(Entry::ilo_neg, &[w], e.span);
                self.pop(v);
                self.drop_v(v);
                Operand::Owned(r)
            }
        }
    }

    fn binary(&mut self, e: &Expr, op: BinOp, lhs: &Expr, rhs: &Expr) -> Operand {
        if op.is_condition() {
            let c = self.cond(e, false);
            return self.bool_word(c);
        }
        let numeric = self.is_num(lhs) && self.is_num(rhs) && op != BinOp::Append;
        if numeric {
            let a = self.expr(lhs);
            let a = self.f64(a, true, lhs.span);
            let b = self.expr(rhs);
            let b = self.f64(b, true, rhs.span);
            let ins = self.b.ins();
            return Operand::Num(match op {
                BinOp::Add => ins.fadd(a, b),
                BinOp::Sub => ins.fsub(a, b),
                BinOp::Mul => ins.fmul(a, b),
                _ => ins.fdiv(a, b),
            });
        }
        // `s=+s (str s)`: a bare local on the left is read after the right operand
        // (the read has no effects), so that read can be the local's last use.
        let read_last = self.read_last(e).is_some();
        let (a, b) = if read_last {
            let b = self.expr(rhs);
            self.push(b);
            // A local's read neither fails nor holds temporaries; restack as `a` below `b`.
            let a = self.expr(lhs);
            self.pop(b);
            self.push(a);
            self.push(b);
            (a, b)
        } else {
            let held = self.held([lhs, rhs]);
            (held[0], held[1])
        };
        let (wa, wb) = (self.word(a), self.word(b));
        if let (Operand::Owned(_), BinOp::Add | BinOp::Append) = (a, op) {
            // The left operand is ours to give: `s=+s t` and `xs=+=xs v` append in place
            // when nothing else holds the text or list. The entry point consumes it
            // whether it succeeds or fails.
            let entry = if op == BinOp::Add {
                Entry::ilo_add_move
            } else {
                Entry::ilo_list_push_move
            };
            let r = self.rt(entry, &[wa, wb]);
            self.pop(b);
            self.pop(a);
            self.drop_v(b);
            self.check(r, e.span);
            return Operand::Owned(r);
        }
        let r = match op {
            BinOp::Add => self.rt_checked(Entry::ilo_add, &[wa, wb], e.span),
            BinOp::Append => self.rt_checked(Entry::ilo_append, &[wa, wb], e.span),
            _ => {
                let code = match op {
                    BinOp::Sub => 0,
                    BinOp::Mul => 1,
                    _ => 2,
                };
                let code = self.b.ins().iconst(WORD, code);
                self.rt_checked(Entry::ilo_arith, &[wa, wb, code], e.span)
            }
        };
        self.pop(b);
        self.pop(a);
        self.drop_v(b);
        self.drop_v(a);
        Operand::Owned(r)
    }
}
