//! Which locals a function has, and which of them live in f64 registers.
//!
//! A local is kept as an unboxed f64 Cranelift variable when every binding of that
//! name in the function is statically a number (the verifier's `Type::Num`); all other
//! locals hold value words and own a reference. Lambda bodies are separate functions
//! and are not entered.

use std::collections::BTreeMap;

use crate::ast::{
    Block, Expr, ExprKind, FnDecl, MatchArm, Pattern, Stmt, StmtKind, Type, TypeTest,
};
use crate::verify::Checked;
use crate::walk::{walk_block, Visitor};

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
    walk_block(&mut c, &f.body);
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
}

impl<'a> Visitor<'a> for Collector<'_> {
    fn block(&mut self, b: &'a Block) {
        if let Some(name) = b.last().and_then(loop_value_local) {
            self.bind(&name, false);
        }
    }

    fn stmt(&mut self, s: &'a Stmt) {
        match &s.kind {
            StmtKind::Let { name, value } => {
                let n = self.is_num(value);
                self.bind(&name.name, n);
            }
            StmtKind::Destructure { fields, .. } => {
                for f in fields {
                    self.bind(&f.name, false);
                }
            }
            StmtKind::ForEach { var, iter, .. } => {
                let elem_num = matches!(
                    self.checked.type_of(iter.id),
                    Type::List(t) if **t == Type::Num
                );
                self.bind(&var.name, elem_num);
            }
            StmtKind::ForRange { var, .. } => self.bind(&var.name, true),
            _ => {}
        }
    }

    /// A lambda's body is a function of its own, with its own locals.
    fn expr(&mut self, e: &'a Expr) -> bool {
        !matches!(e.kind, ExprKind::Lambda(_))
    }

    fn arm(&mut self, arm: &'a MatchArm) {
        match &arm.pattern {
            Pattern::Ok(v) | Pattern::Err(v) => self.bind(&v.name, false),
            Pattern::IsType(t, v) => self.bind(&v.name, *t == TypeTest::Num),
            Pattern::Wildcard => self.bind("_", false),
            _ => {}
        }
    }
}

/// A loop that ends a block gives the block a value: the value of its body's last
/// statement in the last iteration that completed (nil when none did). It is kept in
/// a hidden word local, named here so it cannot collide with a source name; being a
/// local, the function's exit releases it on every path.
pub fn loop_value_local(s: &Stmt) -> Option<String> {
    matches!(
        s.kind,
        StmtKind::ForEach { .. } | StmtKind::ForRange { .. } | StmtKind::While { .. }
    )
    .then(|| format!("loop value@{}:{}", s.span.file.0, s.span.start))
}
