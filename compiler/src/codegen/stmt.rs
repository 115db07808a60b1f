//! Statements and blocks: bindings, guards, returns, loops' `brk` and `cnt`.

use cranelift_codegen::ir::InstBuilder;
use cranelift_module::Module;

use super::last_use::is_subjectless_match;
use super::translator::{Operand, Prev, Translator};
use crate::ast::{Block, Expr, Ident, Stmt, StmtKind, Type};

impl<M: Module> Translator<'_, M> {
    /// Run a block; its value is that of its last statement when that is an
    /// expression or a binding, nil otherwise.
    pub fn block_value(&mut self, block: &Block) -> Operand {
        let outer_prev = self.prev.take();
        let mut result = None;
        for (i, s) in block.iter().enumerate() {
            let last = i + 1 == block.len();
            let feeds_match = block.get(i + 1).is_some_and(is_subjectless_match);
            match &s.kind {
                StmtKind::Expr(e) => {
                    let v = self.expr(e);
                    if last {
                        result = Some(v);
                    } else if feeds_match {
                        self.push(v);
                        self.prev = Some(Prev::Value(v, self.ty(e).clone()));
                    } else {
                        self.drop_v(v);
                    }
                }
                _ if last && super::vars::loop_value_local(s).is_some() => {
                    let name = super::vars::loop_value_local(s).unwrap_or_default();
                    self.loop_stmt(s, Some(&name));
                    result = self.read_local(&name);
                }
                _ => {
                    self.stmt(s);
                    // A trailing binding gives the block the bound value, as the
                    // verifier types it (`=c{x=1}{x=2}` is a number).
                    if last {
                        if let StmtKind::Let { name, .. } = &s.kind {
                            result = self.read_local(&name.name);
                        }
                    }
                    if feeds_match {
                        if let StmtKind::Let { name, value } = &s.kind {
                            let ty = self.ty(value).clone();
                            self.prev = Some(Prev::Local(name.name.clone(), ty));
                        }
                    }
                }
            }
        }
        // A kept value not consumed (only possible in malformed trees) is released.
        if let Some(Prev::Value(v, _)) = self.prev.take() {
            self.pop(v);
            self.drop_v(v);
        }
        self.prev = outer_prev;
        match result {
            Some(v) => v,
            None => self.nil(),
        }
    }

    /// Run a block for its effects only.
    pub fn block_effect(&mut self, block: &Block) {
        let v = self.block_value(block);
        self.drop_v(v);
    }

    pub fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Let { name, value } => self.let_stmt(name, value),
            StmtKind::Destructure { fields, value } => self.destructure(fields, value),
            StmtKind::Expr(e) => {
                let v = self.expr(e);
                self.drop_v(v);
            }
            StmtKind::Guard {
                cond,
                negated,
                value,
            } => self.when(cond, *negated, |t| t.ret(value)),
            StmtKind::When {
                cond,
                negated,
                body,
            } => self.when(cond, *negated, |t| t.block_effect(body)),
            StmtKind::ForEach { .. } | StmtKind::ForRange { .. } | StmtKind::While { .. } => {
                self.loop_stmt(s, None)
            }
            StmtKind::Ret(e) => self.ret(e),
            StmtKind::Brk(value) => {
                if let Some(e) = value {
                    let v = self.expr(e);
                    self.drop_v(v);
                }
                self.loop_jump(true, s);
            }
            StmtKind::Cnt => self.loop_jump(false, s),
        }
    }

    /// A loop; with `value`, each completed iteration stores its body's value in that
    /// hidden local (reset to nil first, so an outer loop's repeats start afresh).
    fn loop_stmt(&mut self, s: &Stmt, value: Option<&str>) {
        if let Some(name) = value {
            let nil = self.nil();
            self.assign(name, nil, &Type::Nil, s.span);
        }
        match &s.kind {
            StmtKind::ForEach { var, iter, body } => self.for_each(var, iter, body, value),
            StmtKind::ForRange {
                var,
                start,
                end,
                body,
            } => self.record_versioned_loop(&[start, end], body, &|t| {
                t.for_range(var, start, end, body, value)
            }),
            StmtKind::While { cond, body } => {
                self.record_versioned_loop(&[cond], body, &|t| t.while_loop(cond, body, value))
            }
            _ => {}
        }
    }

    /// Run `then` when `cond` holds (or, `negated`, does not), then carry on: the shape
    /// of braceless guards (whose `then` returns) and braced conditionals.
    fn when(&mut self, cond: &Expr, negated: bool, then: impl FnOnce(&mut Self)) {
        let c = self.cond(cond, negated);
        let then_b = self.b.create_block();
        let cont = self.b.create_block();
        self.b.ins().brif(c, then_b, &[], cont, &[]);
        self.b.switch_to_block(then_b);
        then(self);
        self.b.ins().jump(cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// `ret e` (and a guard's value): return from the function, releasing everything.
    fn ret(&mut self, e: &Expr) {
        let v = self.expr(e);
        if self.checks_returns {
            if let Some(check) = self.checked.return_checks.get(&e.id) {
                self.push(v);
                self.expect_type(v, &check.ty, &check.place, e.span);
                self.pop(v);
            }
        }
        let w = self.owned(v);
        self.exit_with(w, 0);
    }

    fn loop_jump(&mut self, is_break: bool, s: &Stmt) {
        let Some(frame) = self.loops.last() else {
            self.unsupported("brk/cnt outside a loop", s.span);
            return;
        };
        let (target, keep) = (if is_break { frame.brk } else { frame.cnt }, frame.temps);
        self.release_temps_above(keep);
        self.b.ins().jump(target, &[]);
        self.switch_new();
    }

    fn let_stmt(&mut self, name: &Ident, value: &Expr) {
        let v = self.expr(value);
        let ty = self.ty(value).clone();
        self.assign(&name.name, v, &ty, name.span);
    }
}

/// The static type of a block's value (its last expression or binding).
pub fn block_type<'t>(checked: &'t crate::verify::Checked, block: &Block) -> &'t Type {
    match block.last().map(|s| &s.kind) {
        Some(StmtKind::Expr(e)) | Some(StmtKind::Let { value: e, .. }) => checked.type_of(e.id),
        _ => &Type::Nil,
    }
}
