//! Which locals a function has, and which of them live in f64 registers.
//!
//! A local is kept as an unboxed f64 Cranelift variable when every binding of that
//! name in the function is statically a number (the verifier's `Type::Num`); all other
//! locals hold value words and own a reference. Lambda bodies are separate functions
//! and are not entered.

use std::collections::BTreeMap;

use crate::ast::{Block, Expr, ExprKind, FnDecl, Pattern, StmtKind, Type, TypeTest};
use crate::verify::Checked;

/// Name → "always a number" for every local of one function (parameters, captures,
/// and every name bound in its body). Ordered so generated code is deterministic.
pub fn locals(f: &FnDecl, captures: &[String], checked: &Checked) -> BTreeMap<String, bool> {
    let mut c = Collector {
        checked,
        out: BTreeMap::new(),
    };
    for p in &f.params {
        c.bind(&p.name.name, p.ty.kind == Type::Num);
    }
    for name in captures {
        // A capture's type is not recorded; it arrives as a word.
        c.bind(name, false);
    }
    c.block(&f.body);
    c.out
}

struct Collector<'a> {
    checked: &'a Checked,
    out: BTreeMap<String, bool>,
}

impl Collector<'_> {
    fn bind(&mut self, name: &str, numeric: bool) {
        let e = self.out.entry(name.to_string()).or_insert(numeric);
        *e &= numeric;
    }

    fn is_num(&self, e: &Expr) -> bool {
        *self.checked.type_of(e.id) == Type::Num
    }

    fn block(&mut self, b: &Block) {
        if let Some(name) = b.last().and_then(loop_value_local) {
            self.bind(&name, false);
        }
        for s in b {
            match &s.kind {
                StmtKind::Let { name, value } => {
                    let n = self.is_num(value);
                    self.bind(&name.name, n);
                    self.expr(value);
                }
                StmtKind::Destructure { fields, value } => {
                    for f in fields {
                        self.bind(&f.name, false);
                    }
                    self.expr(value);
                }
                StmtKind::Expr(e) | StmtKind::Ret(e) | StmtKind::Brk(Some(e)) => self.expr(e),
                StmtKind::Guard { cond, value, .. } => {
                    self.expr(cond);
                    self.expr(value);
                }
                StmtKind::When { cond, body, .. } | StmtKind::While { cond, body } => {
                    self.expr(cond);
                    self.block(body);
                }
                StmtKind::ForEach { var, iter, body } => {
                    let elem_num = matches!(
                        self.checked.type_of(iter.id),
                        Type::List(t) if **t == Type::Num
                    );
                    self.bind(&var.name, elem_num);
                    self.expr(iter);
                    self.block(body);
                }
                StmtKind::ForRange {
                    var,
                    start,
                    end,
                    body,
                } => {
                    self.bind(&var.name, true);
                    self.expr(start);
                    self.expr(end);
                    self.block(body);
                }
                StmtKind::Brk(None) | StmtKind::Cnt => {}
            }
        }
    }

    /// Blocks nested inside expressions (ternaries, match arms) bind names too.
    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Num(_)
            | ExprKind::Text(_)
            | ExprKind::Bool(_)
            | ExprKind::Nil
            | ExprKind::Ref(_)
            | ExprKind::Lambda(_) => {}
            ExprKind::List(items) => items.iter().for_each(|x| self.expr(x)),
            ExprKind::Unary { expr, .. }
            | ExprKind::Field { expr, .. }
            | ExprKind::Index { expr, .. }
            | ExprKind::Ok(expr)
            | ExprKind::Err(expr) => self.expr(expr),
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Coalesce { lhs, rhs } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|x| self.expr(x)),
            ExprKind::Record { fields, .. } => fields.iter().for_each(|(_, x)| self.expr(x)),
            ExprKind::With { expr, fields } => {
                self.expr(expr);
                fields.iter().for_each(|(_, x)| self.expr(x));
            }
            ExprKind::Ternary { cond, then, els } => {
                self.expr(cond);
                self.block(then);
                self.block(els);
            }
            ExprKind::Match { subject, arms } => {
                if let Some(s) = subject {
                    self.expr(s);
                }
                for arm in arms {
                    match &arm.pattern {
                        Pattern::Ok(v) | Pattern::Err(v) => self.bind(&v.name, false),
                        Pattern::IsType(t, v) => self.bind(&v.name, *t == TypeTest::Num),
                        Pattern::Wildcard => self.bind("_", false),
                        _ => {}
                    }
                    self.block(&arm.body);
                }
            }
        }
    }
}

/// A loop that ends a block gives the block a value: the value of its body's last
/// statement in the last iteration that completed (nil when none did). It is kept in
/// a hidden word local, named here so it cannot collide with a source name; being a
/// local, the function's exit releases it on every path.
pub fn loop_value_local(s: &crate::ast::Stmt) -> Option<String> {
    matches!(
        s.kind,
        StmtKind::ForEach { .. } | StmtKind::ForRange { .. } | StmtKind::While { .. }
    )
    .then(|| format!("loop value@{}:{}", s.span.file.0, s.span.start))
}
