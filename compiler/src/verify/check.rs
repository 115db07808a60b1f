//! The body checker: one instance per pass over one top-level function. This file
//! holds the shared state, the per-function driver and the statement rules;
//! expressions are in `expr.rs`, calls and name references in `calls.rs`.

use std::collections::{HashMap, HashSet};

use crate::ast::{Block, Expr, ExprId, ExprKind, FnDecl, Stmt, StmtKind, Type};
use crate::diag::{Diagnostic, Severity};
use crate::span::Span;

use super::codes;
use super::globals::Globals;
use super::scope::{BodyId, Frame, LocalKey, Scopes};
use super::types::{compatible, join, show};
use super::{CallTarget, RuntimeCheck, WithCheck};

/// Side tables filled while checking, shared by every function of the program.
#[derive(Default)]
pub struct Tables {
    pub types: Vec<Type>,
    pub calls: HashMap<ExprId, CallTarget>,
    pub captures: HashMap<ExprId, Vec<String>>,
    pub locals: HashMap<BodyId, Vec<(String, Type)>>,
    /// The next free expression id (new nodes made by rewrites).
    pub next_id: u32,
    /// Values of a type not proven to fit where they go, with the declared type to
    /// check them against at run time (see `types::needs_check`).
    pub checks: HashMap<ExprId, RuntimeCheck>,
    /// Builtin calls whose result is checked against their type (see `calls.rs`).
    pub result_checks: HashMap<ExprId, RuntimeCheck>,
    /// `ret` and guard values of a type not proven to fit their body's return type.
    pub return_checks: HashMap<ExprId, (BodyId, RuntimeCheck)>,
    /// `with` on a value of unknown type: the fields to check after the update.
    pub with_checks: HashMap<ExprId, Vec<WithCheck>>,
    /// Bodies whose value must be checked against the declared return type.
    pub checked_bodies: HashSet<BodyId>,
    /// Functions used as values, so callable with arguments nothing checked.
    pub value_funcs: HashSet<String>,
    /// The first long builtin alias seen: `(long, short, span)`.
    pub first_alias: Option<(String, &'static str, Span)>,
}

impl Tables {
    pub fn set_type(&mut self, id: ExprId, ty: Type) {
        let i = id.0 as usize;
        if self.types.len() <= i {
            self.types.resize(i + 1, Type::Any);
        }
        self.types[i] = ty;
    }

    /// Remember whether the value of `id` (of type `actual`) must be checked against
    /// `expected`. Passes repeat until local types settle; the last one decides.
    pub fn note_check(&mut self, id: ExprId, expected: &Type, actual: &Type, place: String) {
        if super::types::needs_check(expected, actual) {
            let ty = expected.clone();
            self.checks.insert(id, RuntimeCheck { ty, place });
        } else {
            self.checks.remove(&id);
        }
    }

    pub fn fresh_id(&mut self) -> ExprId {
        let id = ExprId(self.next_id);
        self.next_id += 1;
        id
    }
}

pub struct FnChecker<'a> {
    pub globals: &'a Globals,
    pub tables: &'a mut Tables,
    pub scopes: Scopes,
    /// Name of the top-level function, for "in function 'f'" notes.
    fn_name: String,
    pub diags: Vec<Diagnostic>,
    /// Type of the previous statement's value in the current block (what `?{…}`
    /// without a subject matches).
    pub prev_value: Type,
}

/// Check one top-level function, repeating passes until its local types are stable.
/// Returns the diagnostics of the final pass.
pub fn check_function(globals: &Globals, tables: &mut Tables, f: &mut FnDecl) -> Vec<Diagnostic> {
    const MAX_PASSES: usize = 8;
    let mut prev: HashMap<LocalKey, Type> = HashMap::new();
    for pass in 0..=MAX_PASSES {
        let mut checker = FnChecker {
            globals,
            tables: &mut *tables,
            scopes: Scopes::new(prev.clone()),
            fn_name: f.name.name.clone(),
            diags: Vec::new(),
            prev_value: Type::Any,
        };
        checker.body(None, f);
        let converged = checker.scopes.converged();
        let diags = std::mem::take(&mut checker.diags);
        let cur = checker.scopes.into_types();
        if converged || pass == MAX_PASSES {
            return diags;
        }
        if pass + 1 == MAX_PASSES {
            // Still moving: give up on precision for whatever has not settled.
            prev = cur
                .into_iter()
                .map(|(k, t)| {
                    let settled = prev.get(&k) == Some(&t);
                    (k, if settled { t } else { Type::Any })
                })
                .collect();
        } else {
            prev = cur;
        }
    }
    unreachable!("the last pass returns")
}

impl FnChecker<'_> {
    pub fn fn_name(&self) -> &str {
        &self.fn_name
    }

    /// Report an error or warning, noting the enclosing function.
    pub fn report(&mut self, d: Diagnostic) {
        let note = format!("in function '{}'", self.fn_name);
        self.diags.push(d.with_note(note));
    }

    pub fn error(&mut self, code: &'static str, message: impl Into<String>, span: Span) {
        self.report(Diagnostic::error(code, message, span));
    }

    pub fn warning(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        fix: String,
    ) {
        let mut d = Diagnostic::error(code, message, span).with_suggestion(fix);
        d.severity = Severity::Warning;
        self.report(d);
    }

    /// Check a function or lambda body in a new frame. `lambda` is the lambda's id.
    pub fn body(&mut self, lambda: Option<ExprId>, f: &mut FnDecl) {
        self.scopes
            .frames
            .push(Frame::new(lambda, f.ret.kind.clone()));
        for p in &f.params {
            self.scopes.bind_block(&p.name.name, &p.ty.kind);
        }
        let saved_prev = std::mem::replace(&mut self.prev_value, Type::Any);
        if let Some(value) = self.block_in_place(&mut f.body, true) {
            let span = f.body.last().map_or(f.span, |s| s.span);
            if !f.tool {
                self.check_return(&value, span, None);
            }
        }
        self.prev_value = saved_prev;
        let frame = self.scopes.frames.pop().expect("pushed above");
        let locals = frame
            .order
            .iter()
            .map(|name| {
                (
                    name.clone(),
                    self.scopes.type_of(&(frame.key, name.clone())),
                )
            })
            .collect();
        match lambda {
            Some(id) => {
                self.tables.captures.insert(id, frame.captures);
                self.tables.locals.insert(BodyId::Lambda(id), locals);
            }
            None => {
                self.tables
                    .locals
                    .insert(BodyId::Func(f.name.name.clone()), locals);
            }
        }
    }

    /// A value leaving the current function or lambda must fit its return type.
    /// `id` is the returned expression; `None` for the body's own value.
    pub fn check_return(&mut self, value: &Type, span: Span, id: Option<ExprId>) {
        let expected = self.scopes.top_ref().ret.clone();
        let body = match self.scopes.top_ref().key {
            Some(lambda) => BodyId::Lambda(lambda),
            None => BodyId::Func(self.fn_name.clone()),
        };
        match id {
            Some(id) => {
                if super::types::needs_check(&expected, value) {
                    let place = match &body {
                        BodyId::Func(name) => format!("result of '{name}'"),
                        BodyId::Lambda(_) => "lambda result".to_string(),
                    };
                    let check = RuntimeCheck {
                        ty: expected.clone(),
                        place,
                    };
                    self.tables.return_checks.insert(id, (body, check));
                } else {
                    self.tables.return_checks.remove(&id);
                }
            }
            None => {
                if super::types::needs_check(&expected, value) {
                    self.tables.checked_bodies.insert(body);
                } else {
                    self.tables.checked_bodies.remove(&body);
                }
            }
        }
        if !compatible(&expected, value) {
            let mut d = Diagnostic::error(
                codes::RETURN_TYPE,
                format!(
                    "return type mismatch: expected {}, got {}",
                    show(&expected),
                    show(value)
                ),
                span,
            );
            if let Some(fix) = conversion_hint(&expected, value) {
                d = d.with_suggestion(fix);
            }
            self.report(d);
        }
    }

    /// A nested block with its own scope. `used`: whether its value is consumed.
    /// Returns the block's value type, or `None` when it always leaves early.
    pub fn block(&mut self, stmts: &mut Block, used: bool) -> Option<Type> {
        self.scopes.push_scope();
        let value = self.block_in_place(stmts, used);
        self.scopes.pop_scope();
        value
    }

    /// The statements of a block in the current scope.
    fn block_in_place(&mut self, stmts: &mut Block, used: bool) -> Option<Type> {
        let saved = std::mem::replace(&mut self.prev_value, Type::Any);
        let mut value = Some(Type::Nil);
        let count = stmts.len();
        for i in 0..count {
            let is_last = i + 1 == count;
            // `?{…}` with no subject consumes the statement before it.
            let next_consumes = stmts.get(i + 1).is_some_and(|s| match &s.kind {
                StmtKind::Expr(e) | StmtKind::Let { value: e, .. } => {
                    matches!(e.kind, ExprKind::Match { subject: None, .. })
                }
                _ => false,
            });
            let consumed = (used && is_last) || next_consumes;
            value = self.stmt(&mut stmts[i], consumed);
            self.prev_value = value.clone().unwrap_or(Type::Any);
        }
        self.prev_value = saved;
        value
    }

    /// Check one statement; returns its value type (`None`: control leaves here).
    fn stmt(&mut self, stmt: &mut Stmt, used: bool) -> Option<Type> {
        let span = stmt.span;
        match &mut stmt.kind {
            StmtKind::Let { name, value } => {
                let ty = self.expr(value, true);
                self.scopes.bind_let(&name.name, &ty);
                Some(ty)
            }
            StmtKind::Destructure { fields, value } => {
                let ty = self.expr(value, true);
                for field in fields.iter() {
                    let field_ty = self.field_type(&ty, &field.name, false, field.span);
                    self.scopes.bind_let(&field.name, &field_ty);
                }
                Some(ty)
            }
            StmtKind::Expr(e) => {
                let ty = self.expr(e, used);
                if !used {
                    self.lint_discarded(e);
                }
                Some(ty)
            }
            StmtKind::Guard { cond, value, .. } => {
                self.expr(cond, true);
                let ty = self.expr(value, true);
                self.check_return(&ty, value.span, Some(value.id));
                Some(Type::Any)
            }
            StmtKind::When { cond, body, .. } => {
                self.expr(cond, true);
                self.block(body, false);
                Some(Type::Any)
            }
            StmtKind::ForEach { var, iter, body } => {
                let iter_ty = self.expr(iter, true);
                let elem = self.element_type(&iter_ty, iter.span);
                Some(self.loop_body(body, Some((&var.name, elem)), used))
            }
            StmtKind::ForRange {
                var,
                start,
                end,
                body,
            } => {
                for bound in [start, end] {
                    let ty = self.expr(bound, true);
                    if !compatible(&Type::Num, &ty) {
                        self.error(
                            codes::OPERAND_TYPE,
                            format!("range bound must be n, got {}", show(&ty)),
                            bound.span,
                        );
                    }
                }
                Some(self.loop_body(body, Some((&var.name, Type::Num)), used))
            }
            StmtKind::While { cond, body } => {
                self.expr(cond, true);
                Some(self.loop_body(body, None, used))
            }
            StmtKind::Ret(e) => {
                let ty = self.expr(e, true);
                self.check_return(&ty, e.span, Some(e.id));
                None
            }
            StmtKind::Brk(value) => {
                if let Some(e) = value {
                    self.expr(e, false);
                }
                self.require_loop("brk", span);
                None
            }
            StmtKind::Cnt => {
                self.require_loop("cnt", span);
                None
            }
        }
    }

    /// Check a loop body; returns the loop's value type: that of the body's last
    /// statement (the value of the last completed iteration), nil when the body ends
    /// in a binding, unknown when it ends by leaving.
    fn loop_body(&mut self, body: &mut Block, var: Option<(&str, Type)>, used: bool) -> Type {
        self.scopes.push_scope();
        if let Some((name, ty)) = var {
            self.scopes.bind_block(name, &ty);
        }
        self.scopes.top().loop_depth += 1;
        let value = self.block(body, used);
        self.scopes.top().loop_depth -= 1;
        self.scopes.pop_scope();
        if body.last().is_some_and(ends_in_binding) {
            return Type::Nil;
        }
        value.unwrap_or(Type::Any)
    }

    fn require_loop(&mut self, what: &str, span: Span) {
        if self.scopes.top_ref().loop_depth == 0 {
            self.error(
                codes::OUTSIDE_LOOP,
                format!("'{what}' outside a loop"),
                span,
            );
        }
    }

    /// What `@x v{…}` binds `x` to, reporting values that cannot be iterated.
    fn element_type(&mut self, iter: &Type, span: Span) -> Type {
        match iter {
            Type::List(elem) => (**elem).clone(),
            Type::Text | Type::Sum(_) | Type::Stream => Type::Text,
            Type::Any | Type::Var(_) | Type::Opt(_) | Type::Map(..) => Type::Any,
            Type::Result(ok, _) if **ok == Type::Stream => {
                self.report(
                    Diagnostic::error(
                        codes::NOT_ITERABLE,
                        format!(
                            "cannot iterate over {}: it is a Result, not a stream",
                            show(iter)
                        ),
                        span,
                    )
                    .with_suggestion("unwrap the source first, e.g. `@line (get-stream! url){…}`"),
                );
                Type::Text
            }
            other => {
                self.error(
                    codes::NOT_ITERABLE,
                    format!("cannot iterate over a value of type {}", show(other)),
                    span,
                );
                Type::Any
            }
        }
    }

    /// T032/T033: a statement whose value is dropped although producing that value
    /// is its only effect.
    fn lint_discarded(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Call { callee, .. }
                if matches!(self.tables.calls.get(&e.id), Some(CallTarget::Builtin(_))) =>
            {
                match callee.name.as_str() {
                    "fmt" | "fmt2" => self.warning(
                        codes::FMT_DISCARDED,
                        format!("the result of '{}' is discarded: it builds text, it does not print", callee.name),
                        e.span,
                        format!("print it with `prnt {} …` or bind it with `s={} …`", callee.name, callee.name),
                    ),
                    name @ ("mset" | "mdel") => self.warning(
                        codes::UPDATE_DISCARDED,
                        format!("the result of '{name}' is discarded: it returns a new map and leaves the old one unchanged"),
                        e.span,
                        format!("rebind it: `m={name} m …`"),
                    ),
                    _ => {}
                }
            }
            ExprKind::Binary {
                op: crate::ast::BinOp::Append,
                lhs,
                ..
            } => {
                let target = match &lhs.kind {
                    ExprKind::Ref(id) => id.name.clone(),
                    _ => "xs".to_string(),
                };
                self.warning(
                    codes::UPDATE_DISCARDED,
                    "the result of '+=' is discarded: it returns a new list and leaves the old one unchanged",
                    e.span,
                    format!("rebind it: `{target}=+={target} …`"),
                );
            }
            _ => {}
        }
    }
}

/// "use str" / "use num" when the mismatch is exactly a number/text conversion.
pub fn conversion_hint(expected: &Type, actual: &Type) -> Option<String> {
    match (expected, actual) {
        (Type::Text, Type::Num) => Some("convert with `str`".into()),
        (Type::Num, Type::Text) => Some("convert with `num` (it returns R n t)".into()),
        _ => None,
    }
}

/// Join of two branch values where `None` means the branch leaves early.
pub fn join_branches(a: Option<Type>, b: Option<Type>) -> Option<Type> {
    match (a, b) {
        (Some(x), Some(y)) => Some(join(&x, &y)),
        (x, None) | (None, x) => x,
    }
}

/// A binding statement gives a loop body no value (upstream ilo types it so).
pub fn ends_in_binding(s: &Stmt) -> bool {
    matches!(s.kind, StmtKind::Let { .. } | StmtKind::Destructure { .. })
}
