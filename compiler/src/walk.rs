//! The one traversal of the syntax tree for passes that only need to look at every
//! node: a [`Visitor`] says what to do at a node, [`walk_block`] and [`walk_expr`] know
//! the shape of the tree. Passes that compute something flow-sensitive (the verifier,
//! last-use analysis, translation) follow control flow themselves and do not use it.
//!
//! Children are visited in source order, which is also evaluation order: a
//! statement's expressions before its body, operands left to right, a match subject
//! before its arms. A lambda's body is entered unless the visitor declines.

use crate::ast::{Block, Expr, ExprKind, MatchArm, Stmt, StmtKind};

/// What a pass does at each node. Every method has a default that does nothing, so a
/// pass overrides only the nodes it cares about.
pub trait Visitor<'a> {
    /// Before a block's statements.
    fn block(&mut self, _block: &'a Block) {}

    /// Before a statement's expressions and body.
    fn stmt(&mut self, _stmt: &'a Stmt) {}

    /// Before an expression's children; `false` skips them (a lambda's body, say).
    fn expr(&mut self, _expr: &'a Expr) -> bool {
        true
    }

    /// Before a match arm's body (its pattern may bind a name).
    fn arm(&mut self, _arm: &'a MatchArm) {}
}

/// Visit `block`, its statements and everything inside them.
pub fn walk_block<'a, V: Visitor<'a> + ?Sized>(v: &mut V, block: &'a Block) {
    v.block(block);
    for stmt in block {
        walk_stmt(v, stmt);
    }
}

/// Visit `stmt` and everything inside it.
pub fn walk_stmt<'a, V: Visitor<'a> + ?Sized>(v: &mut V, stmt: &'a Stmt) {
    v.stmt(stmt);
    match &stmt.kind {
        StmtKind::Let { value: e, .. }
        | StmtKind::Destructure { value: e, .. }
        | StmtKind::Expr(e)
        | StmtKind::Ret(e)
        | StmtKind::Brk(Some(e)) => walk_expr(v, e),
        StmtKind::Guard { cond, value, .. } => {
            walk_expr(v, cond);
            walk_expr(v, value);
        }
        StmtKind::When { cond, body, .. } | StmtKind::While { cond, body } => {
            walk_expr(v, cond);
            walk_block(v, body);
        }
        StmtKind::ForEach { iter, body, .. } => {
            walk_expr(v, iter);
            walk_block(v, body);
        }
        StmtKind::ForRange {
            start, end, body, ..
        } => {
            walk_expr(v, start);
            walk_expr(v, end);
            walk_block(v, body);
        }
        StmtKind::Brk(None) | StmtKind::Cnt => {}
    }
}

/// Visit `expr` and, unless the visitor declines, everything inside it.
pub fn walk_expr<'a, V: Visitor<'a> + ?Sized>(v: &mut V, expr: &'a Expr) {
    if !v.expr(expr) {
        return;
    }
    match &expr.kind {
        ExprKind::Num(_)
        | ExprKind::Text(_)
        | ExprKind::Bool(_)
        | ExprKind::Nil
        | ExprKind::Ref(_) => {}
        ExprKind::List(items) | ExprKind::Call { args: items, .. } => {
            items.iter().for_each(|x| walk_expr(v, x));
        }
        ExprKind::Unary { expr: x, .. }
        | ExprKind::Field { expr: x, .. }
        | ExprKind::Index { expr: x, .. }
        | ExprKind::Ok(x)
        | ExprKind::Err(x) => walk_expr(v, x),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Coalesce { lhs, rhs } => {
            walk_expr(v, lhs);
            walk_expr(v, rhs);
        }
        ExprKind::Record { fields, .. } => fields.iter().for_each(|(_, x)| walk_expr(v, x)),
        ExprKind::With { expr: x, fields } => {
            walk_expr(v, x);
            fields.iter().for_each(|(_, f)| walk_expr(v, f));
        }
        ExprKind::Ternary { cond, then, els } => {
            walk_expr(v, cond);
            walk_block(v, then);
            walk_block(v, els);
        }
        ExprKind::Match { subject, arms } => {
            if let Some(s) = subject {
                walk_expr(v, s);
            }
            for arm in arms {
                v.arm(arm);
                walk_block(v, &arm.body);
            }
        }
        ExprKind::Lambda(f) => walk_block(v, &f.body),
    }
}
