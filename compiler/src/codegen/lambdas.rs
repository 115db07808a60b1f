//! Finding every lambda in a program, so each can be declared (and later compiled) as
//! a function of its own before any body that creates it is translated.

use crate::ast::{Block, Expr, ExprId, ExprKind, FnDecl, StmtKind};

/// Every lambda inside `f` (including lambdas nested in lambdas), outermost first.
pub fn collect<'a>(f: &'a FnDecl, out: &mut Vec<(ExprId, &'a FnDecl)>) {
    block(&f.body, out);
}

fn block<'a>(b: &'a Block, out: &mut Vec<(ExprId, &'a FnDecl)>) {
    for s in b {
        match &s.kind {
            StmtKind::Let { value: e, .. }
            | StmtKind::Destructure { value: e, .. }
            | StmtKind::Expr(e)
            | StmtKind::Ret(e)
            | StmtKind::Brk(Some(e)) => expr(e, out),
            StmtKind::Guard { cond, value, .. } => {
                expr(cond, out);
                expr(value, out);
            }
            StmtKind::When { cond, body, .. } | StmtKind::While { cond, body } => {
                expr(cond, out);
                block(body, out);
            }
            StmtKind::ForEach { iter, body, .. } => {
                expr(iter, out);
                block(body, out);
            }
            StmtKind::ForRange {
                start, end, body, ..
            } => {
                expr(start, out);
                expr(end, out);
                block(body, out);
            }
            StmtKind::Brk(None) | StmtKind::Cnt => {}
        }
    }
}

fn expr<'a>(e: &'a Expr, out: &mut Vec<(ExprId, &'a FnDecl)>) {
    match &e.kind {
        ExprKind::Lambda(f) => {
            out.push((e.id, f));
            collect(f, out);
        }
        ExprKind::Num(_)
        | ExprKind::Text(_)
        | ExprKind::Bool(_)
        | ExprKind::Nil
        | ExprKind::Ref(_) => {}
        ExprKind::List(items) => items.iter().for_each(|x| expr(x, out)),
        ExprKind::Unary { expr: x, .. }
        | ExprKind::Field { expr: x, .. }
        | ExprKind::Index { expr: x, .. }
        | ExprKind::Ok(x)
        | ExprKind::Err(x) => expr(x, out),
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Coalesce { lhs, rhs } => {
            expr(lhs, out);
            expr(rhs, out);
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|x| expr(x, out)),
        ExprKind::Record { fields, .. } => fields.iter().for_each(|(_, x)| expr(x, out)),
        ExprKind::With { expr: x, fields } => {
            expr(x, out);
            fields.iter().for_each(|(_, f)| expr(f, out));
        }
        ExprKind::Ternary { cond, then, els } => {
            expr(cond, out);
            block(then, out);
            block(els, out);
        }
        ExprKind::Match { subject, arms } => {
            if let Some(s) = subject {
                expr(s, out);
            }
            arms.iter().for_each(|a| block(&a.body, out));
        }
    }
}
