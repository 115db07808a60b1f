//! Control flow: conditions, loops, ternaries, match and `??`.
//!
//! Conditions are computed as Cranelift booleans, never as bool words, so a numeric
//! comparison in a guard or loop header is one `fcmp`. Constructs that yield a value
//! on several paths merge through a block parameter that is an f64 when the verifier
//! typed the whole construct as a number and an owned word otherwise.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, Block, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Value as ClifValue,
};
use cranelift_module::Module;
use ilo_runtime::value::layout;

use super::abi::{Entry, HEAP_TAG, ITER_END, ITER_REUSED, NIL, PTR_MASK, TAG_MASK, TRUE, WORD};
use super::stmt::block_type;
use super::translator::{LoopFrame, Operand, Prev, Translator};
use crate::ast::{
    BinOp, Block as AstBlock, Expr, ExprKind, Ident, MatchArm, Pattern, Type, TypeTest, UnOp,
};
use crate::span::Span;

impl<M: Module> Translator<'_, M> {
    /// The truth of `e` (inverted when `negated`) as an i8.
    pub fn cond(&mut self, e: &Expr, negated: bool) -> ClifValue {
        let c = self.cond_inner(e);
        if negated {
            self.b.ins().icmp_imm_s(IntCC::Equal, c, 0)
        } else {
            c
        }
    }

    fn cond_inner(&mut self, e: &Expr) -> ClifValue {
        match &e.kind {
            ExprKind::Bool(b) => self.b.ins().iconst(types::I8, i64::from(*b)),
            ExprKind::Unary {
                op: UnOp::Not,
                expr,
            } => self.cond(expr, true),
            ExprKind::Binary { op, lhs, rhs } => match op {
                BinOp::And | BinOp::Or => self.short_circuit(*op == BinOp::And, lhs, rhs),
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => {
                    self.compare(*op, lhs, rhs, e.span)
                }
                _ => self.truth_of(e),
            },
            _ => self.truth_of(e),
        }
    }

    fn truth_of(&mut self, e: &Expr) -> ClifValue {
        let v = self.expr(e);
        let ty = self.ty(e).clone();
        self.truthy(v, &ty)
    }

    /// Truthiness (false, nil, 0, "" and [] are false), consuming `v`.
    pub fn truthy(&mut self, v: Operand, ty: &Type) -> ClifValue {
        match v {
            Operand::Num(x) => {
                let zero = self.b.ins().f64const(0.0);
                self.b.ins().fcmp(FloatCC::OrderedNotEqual, x, zero)
            }
            _ if *ty == Type::Bool => {
                let w = self.word(v);
                self.b.ins().icmp_imm_s(IntCC::Equal, w, TRUE as i64)
            }
            _ => {
                let w = self.word(v);
                let r = self.rt(Entry::ilo_truthy, &[w]);
                self.drop_v(v);
                self.b.ins().icmp_imm_s(IntCC::NotEqual, r, 0)
            }
        }
    }

    /// `&a b` / `|a b`: `b` is evaluated only when `a` does not decide.
    fn short_circuit(&mut self, and: bool, lhs: &Expr, rhs: &Expr) -> ClifValue {
        let a = self.cond(lhs, false);
        let rhs_b = self.b.create_block();
        let merge = self.b.create_block();
        self.b.append_block_param(merge, types::I8);
        if and {
            self.b.ins().brif(a, rhs_b, &[], merge, &[a.into()]);
        } else {
            self.b.ins().brif(a, merge, &[a.into()], rhs_b, &[]);
        }
        self.b.switch_to_block(rhs_b);
        let c = self.cond(rhs, false);
        self.b.ins().jump(merge, &[c.into()]);
        self.b.switch_to_block(merge);
        self.b.block_params(merge)[0]
    }

    /// Comparison operators: `fcmp` on numbers, the runtime otherwise.
    fn compare(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr, span: Span) -> ClifValue {
        if self.is_num(lhs) && self.is_num(rhs) {
            let a = self.expr(lhs);
            let a = self.f64(a, true, lhs.span);
            let b = self.expr(rhs);
            let b = self.f64(b, true, rhs.span);
            let cc = match op {
                BinOp::Eq => FloatCC::Equal,
                BinOp::Ne => FloatCC::NotEqual,
                BinOp::Lt => FloatCC::LessThan,
                BinOp::Gt => FloatCC::GreaterThan,
                BinOp::Le => FloatCC::LessThanOrEqual,
                _ => FloatCC::GreaterThanOrEqual,
            };
            return self.b.ins().fcmp(cc, a, b);
        }
        let held = self.held([lhs, rhs]);
        let (a, b) = (held[0], held[1]);
        let (wa, wb) = (self.word(a), self.word(b));
        let c = match op {
            BinOp::Eq | BinOp::Ne => {
                let r = self.rt(Entry::ilo_eq, &[wa, wb]);
                let cc = if op == BinOp::Eq {
                    IntCC::NotEqual
                } else {
                    IntCC::Equal
                };
                self.b.ins().icmp_imm_s(cc, r, 0)
            }
            _ => {
                let code = match op {
                    BinOp::Lt => 0,
                    BinOp::Gt => 1,
                    BinOp::Le => 2,
                    _ => 3,
                };
                let code = self.b.ins().iconst(WORD, code);
                let r = self.rt_checked(Entry::ilo_compare, &[wa, wb, code], span);
                self.b.ins().icmp_imm_s(IntCC::Equal, r, TRUE as i64)
            }
        };
        self.pop(b);
        self.pop(a);
        self.drop_v(b);
        self.drop_v(a);
        c
    }

    // ── merging values from several paths ──

    /// A merge block taking an f64 (`numeric`) or an owned word.
    fn merge_block(&mut self, numeric: bool) -> Block {
        let m = self.b.create_block();
        self.b
            .append_block_param(m, if numeric { types::F64 } else { WORD });
        m
    }

    /// Convert a branch's value for the merge block and jump there.
    fn jump_merge(&mut self, merge: Block, v: Operand, ty: &Type, numeric: bool, span: Span) {
        let out = if numeric {
            let x = self.f64(v, *ty == Type::Num, span);
            self.drop_v(v);
            x
        } else {
            self.owned(v)
        };
        self.b.ins().jump(merge, &[out.into()]);
    }

    fn merged(&mut self, merge: Block, numeric: bool, ty: &Type) -> Operand {
        self.b.switch_to_block(merge);
        let p = self.b.block_params(merge)[0];
        if numeric {
            Operand::Num(p)
        } else {
            self.classify(Operand::Owned(p), ty)
        }
    }

    /// Every two-branch conditional expression.
    pub fn ternary(&mut self, e: &Expr, cond: &Expr, then: &AstBlock, els: &AstBlock) -> Operand {
        let numeric = self.is_num(e);
        let c = self.cond(cond, false);
        let (tb, eb) = (self.b.create_block(), self.b.create_block());
        let merge = self.merge_block(numeric);
        self.b.ins().brif(c, tb, &[], eb, &[]);
        for (blk, body) in [(tb, then), (eb, els)] {
            self.b.switch_to_block(blk);
            let v = self.block_value(body);
            let ty = block_type(self.checked, body).clone();
            self.jump_merge(merge, v, &ty, numeric, e.span);
        }
        let ty = self.ty(e).clone();
        self.merged(merge, numeric, &ty)
    }

    /// `a??b`
    pub fn coalesce(&mut self, e: &Expr, lhs: &Expr, rhs: &Expr) -> Operand {
        let a = self.expr(lhs);
        if let Operand::Num(_) = a {
            return a;
        }
        let numeric = self.is_num(e);
        let w = self.word(a);
        let is_nil = self.b.ins().icmp_imm_s(IntCC::Equal, w, NIL as i64);
        let (lb, rb) = (self.b.create_block(), self.b.create_block());
        let merge = self.merge_block(numeric);
        self.b.ins().brif(is_nil, rb, &[], lb, &[]);
        self.b.switch_to_block(lb);
        let lty = self.ty(lhs).clone();
        self.jump_merge(merge, a, &lty, numeric, e.span);
        self.b.switch_to_block(rb);
        let v = self.expr(rhs);
        let rty = self.ty(rhs).clone();
        self.jump_merge(merge, v, &rty, numeric, e.span);
        let ty = self.ty(e).clone();
        self.merged(merge, numeric, &ty)
    }

    // ── match ──

    pub fn match_expr(&mut self, e: &Expr, subject: Option<&Expr>, arms: &[MatchArm]) -> Operand {
        let (subj, sty) = match subject {
            Some(s) => (self.expr(s), self.ty(s).clone()),
            None => match self.prev.take() {
                Some(Prev::Value(v, ty)) => {
                    self.pop(v);
                    (v, ty)
                }
                Some(Prev::Local(name, ty)) => match self.read_local(&name) {
                    Some(v) => (v, ty),
                    None => (self.nil(), Type::Nil),
                },
                None => (self.nil(), Type::Nil),
            },
        };
        self.push(subj);
        let catch_all = arms.last().is_some_and(|a| a.pattern == Pattern::Wildcard);
        let numeric = self.is_num(e) && catch_all;
        let merge = self.merge_block(numeric);
        for arm in arms {
            let next = self.b.create_block();
            if let Some(c) = self.pattern_test(subj, &sty, &arm.pattern) {
                let body = self.b.create_block();
                self.b.ins().brif(c, body, &[], next, &[]);
                self.b.switch_to_block(body);
            }
            self.pattern_bind(subj, &arm.pattern, arm.span);
            let v = self.block_value(&arm.body);
            let ty = block_type(self.checked, &arm.body).clone();
            self.jump_merge(merge, v, &ty, numeric, arm.span);
            self.b.switch_to_block(next);
        }
        // No arm matched: the match is nil.
        let none = if numeric {
            Operand::Num(self.b.ins().f64const(f64::NAN))
        } else {
            self.nil()
        };
        self.jump_merge(merge, none, &Type::Nil, numeric, e.span);
        let ty = self.ty(e).clone();
        let out = self.merged(merge, numeric, &ty);
        self.pop(subj);
        self.drop_v(subj);
        out
    }

    /// The arm's test; `None` when it always matches.
    fn pattern_test(&mut self, subj: Operand, sty: &Type, p: &Pattern) -> Option<ClifValue> {
        let w = self.word(subj);
        Some(match p {
            Pattern::Wildcard => return None,
            Pattern::Num(n) => match subj {
                Operand::Num(x) => {
                    let n = self.b.ins().f64const(*n);
                    self.b.ins().fcmp(FloatCC::Equal, x, n)
                }
                _ => {
                    let is_num = self.is_num_word(w);
                    let x = self.b.ins().bitcast(types::F64, MemFlagsData::new(), w);
                    let n = self.b.ins().f64const(*n);
                    let eq = self.b.ins().fcmp(FloatCC::Equal, x, n);
                    self.b.ins().band(is_num, eq)
                }
            },
            Pattern::Text(s) => {
                let lit = self.text_literal(s);
                let r = self.rt(Entry::ilo_eq, &[w, lit]);
                self.b.ins().icmp_imm_s(IntCC::NotEqual, r, 0)
            }
            Pattern::Bool(b) => {
                let bw = if *b {
                    super::abi::TRUE
                } else {
                    super::abi::FALSE
                };
                self.b.ins().icmp_imm_s(IntCC::Equal, w, bw as i64)
            }
            Pattern::Nil => self.b.ins().icmp_imm_s(IntCC::Equal, w, NIL as i64),
            Pattern::Ok(_) => {
                let tag = self.rt(Entry::ilo_result_tag, &[w]);
                if matches!(sty, Type::Opt(_)) {
                    // A present optional matches `~v` as well.
                    let not_nil = self.b.ins().icmp_imm_s(IntCC::NotEqual, w, NIL as i64);
                    let not_err = self.b.ins().icmp_imm_s(IntCC::NotEqual, tag, 2);
                    self.b.ins().band(not_nil, not_err)
                } else {
                    self.b.ins().icmp_imm_s(IntCC::Equal, tag, 1)
                }
            }
            Pattern::Err(_) => {
                let tag = self.rt(Entry::ilo_result_tag, &[w]);
                self.b.ins().icmp_imm_s(IntCC::Equal, tag, 2)
            }
            Pattern::IsType(TypeTest::Num, _) => match subj {
                Operand::Num(_) => return None,
                _ => self.is_num_word(w),
            },
            Pattern::IsType(tt, _) => {
                let want = match tt {
                    TypeTest::Text => 1,
                    TypeTest::Bool => 2,
                    _ => 3,
                };
                let kind = self.rt(Entry::ilo_kind, &[w]);
                self.b.ins().icmp_imm_s(IntCC::Equal, kind, want)
            }
        })
    }

    fn pattern_bind(&mut self, subj: Operand, p: &Pattern, span: Span) {
        match p {
            Pattern::Ok(v) | Pattern::Err(v) => {
                let w = self.word(subj);
                let inner = self.rt(Entry::ilo_result_inner, &[w]);
                self.bind_local(v, Operand::Owned(inner), &Type::Any, span);
            }
            Pattern::IsType(tt, v) => {
                let view = match subj {
                    Operand::Owned(w) => Operand::Borrowed(w),
                    other => other,
                };
                let ty = if *tt == TypeTest::Num {
                    Type::Num
                } else {
                    Type::Any
                };
                self.bind_local(v, view, &ty, span);
            }
            Pattern::Wildcard => {
                // `_` is a word local (see vars.rs): bind a borrowed view of the subject.
                let w = self.word(subj);
                let name = Ident {
                    name: "_".to_string(),
                    span,
                };
                self.bind_local(&name, Operand::Borrowed(w), &Type::Any, span);
            }
            _ => {}
        }
    }

    fn bind_local(&mut self, name: &Ident, v: Operand, ty: &Type, span: Span) {
        self.assign(&name.name, v, ty, span);
    }

    // ── loops ──

    /// The loop body; with `value`, its value is stored in that local (see
    /// `vars::loop_value_local`).
    pub(super) fn in_loop(&mut self, brk: Block, cnt: Block, body: &AstBlock, value: Option<&str>) {
        self.loops.push(LoopFrame {
            brk,
            cnt,
            temps: self.temps.len(),
        });
        match value {
            Some(name) if !body.last().is_some_and(crate::verify::ends_in_binding) => {
                let v = self.block_value(body);
                let span = body.last().map(|s| s.span).unwrap_or_default();
                self.assign(name, v, &Type::Any, span);
            }
            _ => self.block_effect(body),
        }
        self.loops.pop();
    }

    /// `wh cond{…}`, twice when its body only updates a list in place (see
    /// `tested_list.rs`).
    pub fn while_loop(&mut self, cond: &Expr, body: &AstBlock, value: Option<&str>) {
        let exit = self.b.create_block();
        self.list_versioned_loop((body, &[cond]), None, &|t| {
            t.rotated_while(cond, body, value, exit)
        });
        self.b.switch_to_block(exit);
    }

    /// The loop of `wh`, leaving to `exit`. Rotated: the condition is tested before
    /// the first iteration and again at the bottom of each one, so an iteration costs
    /// one branch instead of two.
    fn rotated_while(&mut self, cond: &Expr, body: &AstBlock, value: Option<&str>, exit: Block) {
        let body_b = self.b.create_block();
        let latch = self.b.create_block();
        let c = self.cond(cond, false);
        self.b.ins().brif(c, body_b, &[], exit, &[]);
        self.b.switch_to_block(body_b);
        self.in_loop(exit, latch, body, value);
        self.b.ins().jump(latch, &[]);
        self.b.switch_to_block(latch);
        self.back_edge_check(cond.span);
        let c = self.cond(cond, false);
        self.b.ins().brif(c, body_b, &[], exit, &[]);
    }

    /// `@x xs{…}` over a list (or text, map keys) or a lazy line source. The loop
    /// holds its own reference to the collection; leaving the loop by any path drops
    /// it, which closes a source.
    pub fn for_each(&mut self, var: &Ident, iter: &Expr, body: &AstBlock, value: Option<&str>) {
        let coll = self.expr(iter);
        let cw = self.owned(coll);
        let coll = Operand::Owned(cw);
        self.push(coll);
        let elem_ty = match self.ty(iter) {
            Type::List(t) => (**t).clone(),
            Type::Stream => Type::Text,
            _ => Type::Any,
        };
        // Versioned when the body only updates a list in place (see
        // `tested_list.rs`); the collection is evaluated once, before either version.
        let exit = self.b.create_block();
        self.list_versioned_loop((body, &[]), None, &|t| {
            t.each_loop(cw, (var, body, value), (&elem_ty, iter.span), exit)
        });
        self.b.switch_to_block(exit);
        self.pop(coll);
        self.release(cw);
    }

    /// The loop of `@x xs{…}` over the collection word `cw`, leaving to `exit`.
    ///
    /// A list is read in place: the loop holds a reference to it, so nothing updates
    /// it in place while the loop runs (only a list held once is), and its length
    /// and element pointer are read once, before the loop. Anything else (texts,
    /// maps, sources, values that cannot be iterated) goes through the runtime's
    /// `ilo_iter_next` on each iteration, as the flag set here says, with a cursor in
    /// a stack slot that the runtime advances: for a text it is a byte offset, so
    /// each character costs the same however far into the text it is. The held
    /// reference also keeps the text from being appended to in place under it. The
    /// runtime is lent the variable's value too: when it wrote the next character
    /// into that (a text only the variable holds), the assignment is skipped.
    fn each_loop(
        &mut self,
        cw: ClifValue,
        (var, body, value): (&Ident, &AstBlock, Option<&str>),
        (elem_ty, span): (&Type, Span),
        exit: Block,
    ) {
        let (is_list, items, len) = self.list_parts(cw);
        let index = self.b.declare_var(WORD);
        let zero = self.iconst(0);
        self.b.def_var(index, zero);
        let cursor =
            self.b
                .create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 8, 3));
        self.b.ins().stack_store(WORD, zero, cursor, 0);
        let header = self.b.create_block();
        let in_place = self.b.create_block();
        let element = self.b.create_block();
        let by_runtime = self.b.create_block();
        let body_b = self.b.create_block();
        self.b.append_block_param(body_b, WORD);
        self.b.ins().jump(header, &[]);
        self.b.switch_to_block(header);
        self.back_edge_check(span);
        let i = self.b.use_var(index);
        self.b.ins().brif(is_list, in_place, &[], by_runtime, &[]);
        self.b.switch_to_block(in_place);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, i, len);
        self.b.ins().brif(more, element, &[], exit, &[]);
        self.b.switch_to_block(element);
        let offset = self.b.ins().ishl_imm_u(i, 3);
        let addr = self.b.ins().iadd(items, offset);
        let x = self.b.ins().load(WORD, MemFlagsData::trusted(), addr, 0);
        self.retain(x);
        self.b.ins().jump(body_b, &[x.into()]);
        self.b.switch_to_block(by_runtime);
        let at = self.b.ins().stack_addr(WORD, cursor, 0);
        // The variable's value, lent so a text of its own can take the next character.
        let prev = match self.locals.get(&var.name).copied() {
            Some(l) if !l.numeric => self.b.use_var(l.var),
            _ => self.iconst(NIL),
        };
        let x = self.rt_checked(Entry::ilo_iter_next, &[cw, at, prev], span);
        let done = self.b.ins().icmp_imm_s(IntCC::Equal, x, ITER_END as i64);
        let not_done = self.b.create_block();
        let body_start = self.b.create_block();
        self.b.ins().brif(done, exit, &[], not_done, &[]);
        self.b.switch_to_block(not_done);
        let reused = self.b.ins().icmp_imm_s(IntCC::Equal, x, ITER_REUSED as i64);
        self.b
            .ins()
            .brif(reused, body_start, &[], body_b, &[x.into()]);
        self.b.switch_to_block(body_b);
        let x = self.b.block_params(body_b)[0];
        let elem = self.classify(Operand::Owned(x), elem_ty);
        self.assign(&var.name, elem, elem_ty, var.span);
        self.b.ins().jump(body_start, &[]);
        self.b.switch_to_block(body_start);
        let i1 = self.b.ins().iadd_imm_s(i, 1);
        self.b.def_var(index, i1);
        self.in_loop(exit, header, body, value);
        self.b.ins().jump(header, &[]);
    }

    /// Whether the word `w` is a list (an i8), and if so its element pointer and
    /// length (zero otherwise).
    fn list_parts(&mut self, w: ClifValue) -> (ClifValue, ClifValue, ClifValue) {
        let heap_b = self.b.create_block();
        let done = self.b.create_block();
        for ty in [types::I8, WORD, WORD] {
            self.b.append_block_param(done, ty);
        }
        let no = self.b.ins().iconst(types::I8, 0);
        let zero = self.iconst(0);
        let tag = self.b.ins().band_imm_s(w, TAG_MASK as i64);
        let heap = self.b.ins().icmp_imm_s(IntCC::Equal, tag, HEAP_TAG as i64);
        self.b.ins().brif(
            heap,
            heap_b,
            &[],
            done,
            &[no.into(), zero.into(), zero.into()],
        );
        self.b.switch_to_block(heap_b);
        let p = self.b.ins().band_imm_s(w, PTR_MASK as i64);
        let kind = self
            .b
            .ins()
            .uload8(types::I32, MemFlagsData::trusted(), p, layout::KIND);
        let is_list = self
            .b
            .ins()
            .icmp_imm_s(IntCC::Equal, kind, i64::from(layout::KIND_LIST));
        // Read only for a list; a zero length makes the in-place path end at once
        // should the flag ever be wrong.
        let items = self.list_items(p);
        let len = self.list_len(p);
        let items = self.b.ins().select(is_list, items, zero);
        let len = self.b.ins().select(is_list, len, zero);
        self.b
            .ins()
            .jump(done, &[is_list.into(), items.into(), len.into()]);
        self.b.switch_to_block(done);
        let params = self.b.block_params(done);
        (params[0], params[1], params[2])
    }
}
