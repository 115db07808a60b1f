//! Finding every lambda in a program, so each can be declared (and later compiled) as
//! a function of its own before any body that creates it is translated.

use crate::ast::{Expr, ExprId, ExprKind, FnDecl};
use crate::walk::{walk_block, Visitor};

/// Every lambda inside `f` (including lambdas nested in lambdas), outermost first.
pub fn collect<'a>(f: &'a FnDecl, out: &mut Vec<(ExprId, &'a FnDecl)>) {
    walk_block(&mut Lambdas(out), &f.body);
}

struct Lambdas<'o, 'a>(&'o mut Vec<(ExprId, &'a FnDecl)>);

impl<'a> Visitor<'a> for Lambdas<'_, 'a> {
    fn expr(&mut self, e: &'a Expr) -> bool {
        if let ExprKind::Lambda(f) = &e.kind {
            self.0.push((e.id, f));
        }
        true
    }
}
