//! Last uses: which reads of a local are the last thing that looks at its value, so
//! the code generator can move the reference out of the variable and hand it over
//! owned instead of lending it. A callee that receives the only reference to a value
//! may update it in place (`m=mset m k v`, `xs=lst xs i v`, `s=fmt "{}…" s x`,
//! `r=r with …`, `xs=srt xs`), which is what keeps such loops linear.
//!
//! A read of word local `x` (an `ExprKind::Ref`) is a last use when
//! - `x` is dead after it: no later read on any path before `x` is bound again
//!   (a backward liveness pass over the tree, iterated to a fixed point for loops);
//! - and no borrowed copy of `x`'s word is still waiting to be used: an earlier
//!   operand of an enclosing call or operator that is a bare read of `x` (`mset m k m`),
//!   or the subject of an enclosing match. A borrowed word does not count in the
//!   reference count, so the callee could not tell that the value is shared.
//!
//! The walk mirrors the evaluation order of the translator (`expr.rs`, `calls.rs`,
//! `control.rs`, `records.rs`): operands left to right, except that a bare local as
//! the record of `r with …`, the left operand of `+` / `+=` and the first argument of
//! `mset`/`mdel`/`lst`/`slc` is read last (the read has no effects), so `r=r with n:+r.n 1`,
//! `s=+s (str s)` and `m=mset m k +(mget m k??0) 1` still end with it: one rule,
//! [`read_last`], which the translator asks too. Lambda bodies are functions of
//! their own; a lambda reads its captures when it is made.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::ast::{BinOp, Block, Expr, ExprId, ExprKind, FnDecl, Pattern, Stmt, StmtKind};
use crate::verify::{CallTarget, Checked};
use crate::walk::{walk_expr, Visitor};

type Live = BTreeSet<String>;

/// The `Ref` expressions of `f` that are last uses of a word local in `words`.
pub fn last_uses(f: &FnDecl, words: &HashSet<String>, checked: &Checked) -> HashSet<ExprId> {
    analyse(f, words, checked).moves
}

fn analyse<'a>(f: &FnDecl, words: &'a HashSet<String>, checked: &'a Checked) -> Analysis<'a> {
    let mut a = Analysis {
        checked,
        words,
        moves: HashSet::new(),
        reads: BTreeMap::new(),
        loops: Vec::new(),
    };
    a.block(&f.body, Live::new(), &[]);
    a
}

/// Where `brk` and `cnt` lead: what is live there.
struct LoopExits {
    brk: Live,
    cnt: Live,
}

struct Analysis<'a> {
    checked: &'a Checked,
    words: &'a HashSet<String>,
    moves: HashSet<ExprId>,
    /// Every read of a word local seen, by id (ids follow source order).
    reads: BTreeMap<ExprId, String>,
    loops: Vec<LoopExits>,
}

fn union(a: &Live, b: &Live) -> Live {
    a.union(b).cloned().collect()
}

fn without<'n>(mut live: Live, names: impl IntoIterator<Item = &'n str>) -> Live {
    for n in names {
        live.remove(n);
    }
    live
}

/// The word local that `e` reads, when `e` is nothing but that read (not a reference
/// to a named function).
pub fn bare_local<'e>(
    e: &'e Expr,
    checked: &Checked,
    is_word_local: impl Fn(&str) -> bool,
) -> Option<&'e str> {
    match &e.kind {
        ExprKind::Ref(id) if !checked.calls.contains_key(&e.id) && is_word_local(&id.name) => {
            Some(&id.name)
        }
        _ => None,
    }
}

/// Builtins that return their first argument updated: a bare local there is read
/// after the other arguments (see [`read_last`]).
const UPDATES_FIRST_ARGUMENT: &[&str] = &["mset", "mdel", "lst", "slc"];

/// The local that `e` reads after its other operands, if any: the one rule the
/// liveness pass and the translator share, as they must agree on the order.
///
/// An operation that returns one operand updated (the left side of `+` / `+=`, the
/// record of `r with …`, the first argument of `mset`/`mdel`/`lst`/`slc`) reads that
/// operand last when it is a bare word local: `s=+s (str s)`,
/// `r=r with n:+r.n 1` and `m=mset m k +(mget m k??0) 1` then end with that read,
/// which can hand the value over instead of lending it while the other operands
/// read it again (and forcing a copy). Reading a local has no effects, so the order
/// shows only when another operand binds the same name again (a statement in a
/// conditional's block, a match pattern): then the local is read first, as written.
pub fn read_last<'e>(
    e: &'e Expr,
    checked: &Checked,
    is_word_local: impl Fn(&str) -> bool,
) -> Option<&'e str> {
    let (updated, others): (&Expr, Vec<&Expr>) = match &e.kind {
        ExprKind::Binary {
            op: BinOp::Add | BinOp::Append,
            lhs,
            rhs,
        } => (lhs, vec![rhs]),
        ExprKind::With { expr, fields } => (expr, fields.iter().map(|(_, x)| x).collect()),
        ExprKind::Call { args, .. }
            if matches!(
                checked.calls.get(&e.id),
                Some(CallTarget::Builtin(name)) if UPDATES_FIRST_ARGUMENT.contains(&name.as_str())
            ) =>
        {
            let (first, rest) = args.split_first()?;
            (first, rest.iter().collect())
        }
        _ => return None,
    };
    let name = bare_local(updated, checked, is_word_local)?;
    (!binds(Some(name), &others)).then_some(name)
}

/// Whether evaluating `e` binds local `name` (outside lambda bodies, which bind their
/// own names).
pub fn rebinds(name: &str, e: &Expr) -> bool {
    binds(Some(name), &[e])
}

/// Whether evaluating `e` may bind a local (a statement in a conditional's block, a
/// match pattern): a word borrowed from a local before it may then be released
/// under the borrower, which must hold a reference of its own.
pub fn binds_a_local(e: &Expr) -> bool {
    binds(None, &[e])
}

/// Whether `exprs` bind `name` (any name, for `None`) outside lambda bodies.
fn binds(name: Option<&str>, exprs: &[&Expr]) -> bool {
    let mut binds = Binds { name, found: false };
    for e in exprs {
        walk_expr(&mut binds, e);
    }
    binds.found
}

/// Finds a binding of one name (or of any) outside lambda bodies.
struct Binds<'n> {
    name: Option<&'n str>,
    found: bool,
}

impl Binds<'_> {
    fn bound(&mut self, name: &str) {
        self.found |= self.name.is_none_or(|n| n == name);
    }
}

impl<'a> Visitor<'a> for Binds<'_> {
    fn stmt(&mut self, s: &'a Stmt) {
        match &s.kind {
            StmtKind::Let { name, .. } => self.bound(&name.name),
            StmtKind::Destructure { fields, .. } => fields.iter().for_each(|f| self.bound(&f.name)),
            StmtKind::ForEach { var, .. } | StmtKind::ForRange { var, .. } => self.bound(&var.name),
            _ => {}
        }
    }

    fn expr(&mut self, e: &'a Expr) -> bool {
        !matches!(e.kind, ExprKind::Lambda(_))
    }

    fn arm(&mut self, arm: &'a crate::ast::MatchArm) {
        if let Pattern::Ok(v) | Pattern::Err(v) | Pattern::IsType(_, v) = &arm.pattern {
            self.bound(&v.name);
        }
    }
}

/// A statement `?{…}` whose subject is the value of the statement before it.
pub fn is_subjectless_match(s: &Stmt) -> bool {
    matches!(
        &s.kind,
        StmtKind::Expr(Expr {
            kind: ExprKind::Match { subject: None, .. },
            ..
        })
    )
}

impl Analysis<'_> {
    fn bare_local<'e>(&self, e: &'e Expr) -> Option<&'e str> {
        bare_local(e, self.checked, |n| self.words.contains(n))
    }

    fn read_last<'e>(&self, e: &'e Expr) -> Option<&'e str> {
        read_last(e, self.checked, |n| self.words.contains(n))
    }

    /// Live before `b`, given live after it. `pending` names locals whose borrowed
    /// words enclosing expressions still hold.
    fn block(&mut self, b: &Block, live_out: Live, pending: &[&str]) -> Live {
        let mut live = live_out;
        for (i, s) in b.iter().enumerate().rev() {
            let implicit_subject = match i.checked_sub(1).map(|j| &b[j].kind) {
                Some(StmtKind::Let { name, .. }) if is_subjectless_match(s) => {
                    Some(name.name.as_str())
                }
                _ => None,
            };
            live = self.stmt(s, live, pending, implicit_subject);
        }
        live
    }

    fn stmt(&mut self, s: &Stmt, live: Live, pending: &[&str], subject: Option<&str>) -> Live {
        match &s.kind {
            StmtKind::Let { name, value } => {
                let after = without(live, [name.name.as_str()]);
                self.expr(value, after, pending)
            }
            StmtKind::Destructure { fields, value } => {
                let after = without(live, fields.iter().map(|f| f.name.as_str()));
                self.expr(value, after, pending)
            }
            StmtKind::Expr(e) => match (&e.kind, subject) {
                (
                    ExprKind::Match {
                        subject: None,
                        arms,
                    },
                    Some(name),
                ) => {
                    let mut live = self.arms(arms, live, pending, Some(name));
                    live.insert(name.to_string());
                    live
                }
                _ => self.expr(e, live, pending),
            },
            StmtKind::Guard { cond, value, .. } => {
                let v = self.expr(value, Live::new(), pending);
                self.expr(cond, union(&v, &live), pending)
            }
            StmtKind::When { cond, body, .. } => {
                let b = self.block(body, live.clone(), pending);
                self.expr(cond, union(&b, &live), pending)
            }
            StmtKind::While { cond, body } => {
                // Rotated loop: the condition runs before the body and after it.
                let mut head = live.clone();
                loop {
                    let b = self.in_loop(body, &live, &head, pending);
                    let next = union(&self.expr(cond, union(&b, &live), pending), &head);
                    if next == head {
                        break head;
                    }
                    head = next;
                }
            }
            StmtKind::ForEach { var, iter, body } => {
                let head = self.loop_head(body, &live, &var.name, pending);
                self.expr(iter, head, pending)
            }
            StmtKind::ForRange {
                var,
                start,
                end,
                body,
            } => {
                let head = self.loop_head(body, &live, &var.name, pending);
                let live = self.expr(end, head, pending);
                self.expr(start, live, pending)
            }
            StmtKind::Ret(e) => self.expr(e, Live::new(), pending),
            StmtKind::Brk(value) => {
                let target = self.loops.last().map_or(live, |l| l.brk.clone());
                match value {
                    Some(e) => self.expr(e, target, pending),
                    None => target,
                }
            }
            StmtKind::Cnt => self.loops.last().map_or(live, |l| l.cnt.clone()),
        }
    }

    /// Live at the head of a loop that binds `var` on every iteration.
    fn loop_head(&mut self, body: &Block, live: &Live, var: &str, pending: &[&str]) -> Live {
        let mut head = live.clone();
        loop {
            let b = self.in_loop(body, live, &head, pending);
            let next = union(&without(b, [var]), &head);
            if next == head {
                return head;
            }
            head = next;
        }
    }

    /// The body of a loop whose exit has `after` live and whose head has `head` live.
    fn in_loop(&mut self, body: &Block, after: &Live, head: &Live, pending: &[&str]) -> Live {
        self.loops.push(LoopExits {
            brk: after.clone(),
            cnt: head.clone(),
        });
        let b = self.block(body, head.clone(), pending);
        self.loops.pop();
        b
    }

    /// Operands evaluated left to right, each one's value held until all are done.
    fn operands(&mut self, ops: &[&Expr], live: Live, pending: &[&str]) -> Live {
        let mut live = live;
        for i in (0..ops.len()).rev() {
            let mut held: Vec<&str> = pending.to_vec();
            held.extend(ops[..i].iter().filter_map(|o| self.bare_local(o)));
            live = self.expr(ops[i], live, &held);
        }
        live
    }

    fn expr(&mut self, e: &Expr, live: Live, pending: &[&str]) -> Live {
        match &e.kind {
            ExprKind::Num(_) | ExprKind::Text(_) | ExprKind::Bool(_) | ExprKind::Nil => live,
            ExprKind::Ref(id) => {
                if self.bare_local(e).is_none() {
                    return live;
                }
                self.reads.entry(e.id).or_insert_with(|| id.name.clone());
                let last = !live.contains(&id.name) && !pending.contains(&id.name.as_str());
                if last {
                    self.moves.insert(e.id);
                } else {
                    self.moves.remove(&e.id);
                }
                let mut live = live;
                live.insert(id.name.clone());
                live
            }
            ExprKind::List(items) => {
                let ops: Vec<&Expr> = items.iter().collect();
                self.operands(&ops, live, pending)
            }
            ExprKind::Unary { expr, .. }
            | ExprKind::Field { expr, .. }
            | ExprKind::Index { expr, .. }
            | ExprKind::Ok(expr)
            | ExprKind::Err(expr) => self.expr(expr, live, pending),
            ExprKind::Binary { op, lhs, rhs } => {
                if matches!(op, BinOp::And | BinOp::Or) {
                    // Short-circuit: the left value is consumed before the right runs.
                    let r = self.expr(rhs, live.clone(), pending);
                    self.expr(lhs, union(&r, &live), pending)
                } else if self.read_last(e).is_some() {
                    // The translator reads a bare local left operand after the right one.
                    self.operands(&[rhs, lhs], live, pending)
                } else {
                    self.operands(&[lhs, rhs], live, pending)
                }
            }
            ExprKind::Call { callee, args, .. } => {
                let mut live = live;
                // A local holding a function value is read after the arguments.
                let local_callee = match self.checked.calls.get(&e.id) {
                    Some(CallTarget::Local(name)) => Some(name.as_str()),
                    Some(_) => None,
                    None => Some(callee.name.as_str()),
                };
                if let Some(name) = local_callee.filter(|n| self.words.contains(*n)) {
                    live.insert(name.to_string());
                }
                let mut ops: Vec<&Expr> = args.iter().collect();
                if self.read_last(e).is_some() {
                    // The translator reads it after the other arguments.
                    ops.rotate_left(1);
                }
                self.operands(&ops, live, pending)
            }
            ExprKind::Record { fields, .. } => {
                let ops: Vec<&Expr> = fields.iter().map(|(_, x)| x).collect();
                self.operands(&ops, live, pending)
            }
            ExprKind::With { expr, fields } => {
                let mut ops: Vec<&Expr> = fields.iter().map(|(_, x)| x).collect();
                // The translator reads a bare local record after the field values,
                // unless one of them binds that local again.
                if self.read_last(e).is_some() {
                    ops.push(expr);
                } else {
                    ops.insert(0, expr);
                }
                self.operands(&ops, live, pending)
            }
            ExprKind::Coalesce { lhs, rhs } => {
                // The right side runs only when the left is nil: nothing is held.
                let r = self.expr(rhs, live.clone(), pending);
                self.expr(lhs, union(&r, &live), pending)
            }
            ExprKind::Match { subject, arms } => {
                let held = subject.as_deref().and_then(|s| self.bare_local(s));
                let live = self.arms(arms, live, pending, held);
                match subject {
                    Some(s) => self.expr(s, live, pending),
                    None => live,
                }
            }
            ExprKind::Ternary { cond, then, els } => {
                let t = self.block(then, live.clone(), pending);
                let f = self.block(els, live, pending);
                self.expr(cond, union(&t, &f), pending)
            }
            ExprKind::Lambda(_) => {
                let mut live = live;
                for name in self.checked.captures.get(&e.id).into_iter().flatten() {
                    if self.words.contains(name) {
                        live.insert(name.clone());
                    }
                }
                live
            }
        }
    }

    /// Match arms, with the subject's word (when it is a bare local) held throughout.
    /// No arm may match, so what is live after the match is live before the arms too.
    fn arms(
        &mut self,
        arms: &[crate::ast::MatchArm],
        live: Live,
        pending: &[&str],
        subject: Option<&str>,
    ) -> Live {
        let mut held: Vec<&str> = pending.to_vec();
        held.extend(subject);
        let mut out = live.clone();
        for arm in arms {
            let body = self.block(&arm.body, live.clone(), &held);
            let body = match &arm.pattern {
                Pattern::Ok(v) | Pattern::Err(v) | Pattern::IsType(_, v) => {
                    without(body, [v.name.as_str()])
                }
                _ => body,
            };
            out = union(&out, &body);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Decl;
    use crate::{loader, verify};

    /// The names of the reads that are last uses in the first function of `code`, in
    /// source order, each with its position among the reads of that name (`m#1` = the
    /// second read of `m`).
    fn moved(code: &str) -> Vec<String> {
        let program = loader::load_inline(code).program.expect("parses");
        let checked = verify::verify(program).expect("verifies");
        let Some(f) = checked.program.decls.iter().find_map(|d| match d {
            Decl::Func(f) => Some(f),
            _ => None,
        }) else {
            panic!("no function");
        };
        let words: HashSet<String> = super::super::vars::locals(f, &[], &checked)
            .into_iter()
            .filter(|(_, numeric)| !numeric)
            .map(|(name, _)| name)
            .collect();
        let a = analyse(f, &words, &checked);
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for (id, name) in &a.reads {
            let nth = seen.iter().filter(|n| **n == name).count();
            seen.push(name);
            if a.moves.contains(id) {
                out.push(format!("{name}#{nth}"));
            }
        }
        out
    }

    #[test]
    fn a_rebinding_update_hands_the_old_value_over() {
        assert_eq!(moved("f>M t n;m=mmap;m=mset m \"a\" 1;m"), ["m#0", "m#1"]);
        assert_eq!(moved("f xs:L n>L n;ys=srt xs;ys"), ["xs#0", "ys#0"]);
    }

    #[test]
    fn a_value_read_again_later_is_lent() {
        assert_eq!(moved("f>L _;m=mmap;n=mset m \"a\" 1;[m n]"), ["m#1", "n#0"]);
    }

    #[test]
    fn a_second_operand_of_the_same_call_blocks_the_move() {
        // `m` is lent as the first argument while the third is evaluated.
        assert_eq!(moved("f>M t _;m=mmap;m=mset m \"s\" m;m"), ["m#2"]);
    }

    #[test]
    fn loops_keep_values_the_next_iteration_reads() {
        // Rebound every iteration: the read is the old value's last use.
        assert_eq!(
            moved("f n:n>n;m=mmap;@i 0..n{m=mset m (str i) i};len m"),
            ["m#0", "m#1"]
        );
        // Read every iteration and never rebound: never a last use inside the loop.
        assert_eq!(
            moved("f n:n>n;m=mmap;s=0;@i 0..n{s=+s (len m)};+s (len m)"),
            ["m#1"]
        );
        // `wh` tests its condition after the body too.
        // and `xs` is rebound before that, so the body's read is its last use.
        assert_eq!(
            moved("f>n;xs=[1 2];wh >(len xs) 0{ys=xs;xs=[]};0"),
            ["xs#1"]
        );
        assert_eq!(
            moved("f>n;xs=[1 2];wh >(len xs) 0{ys=xs;xs=tl ys};0"),
            ["xs#1", "ys#0"]
        );
    }

    #[test]
    fn a_lambda_capture_is_a_use() {
        assert_eq!(
            moved("f>n;m=mmap;g=(k:t>n;len m);m=mset m \"a\" 1;g \"x\""),
            ["m#0"]
        );
    }

    #[test]
    fn an_update_reads_its_target_after_the_other_arguments() {
        // `m#1` is read by `mget` first, then `m#0` is handed to `mset`.
        assert_eq!(
            moved("f k:t>M t n;m=mmap;m=mset m k +(mget m k??0) 1;m"),
            ["m#0", "m#2"]
        );
        // Unless an argument binds it again: then `m` is read first, and lent.
        assert_eq!(
            moved("f>M t n;m=mmap;n=mset m \"a\" (?true{m=mmap;1}{mget m \"a\"});n"),
            ["n#0"]
        );
    }

    #[test]
    fn a_match_subject_is_held_through_the_arms() {
        assert_eq!(moved("f>M t n;m=mmap;r=?m{_:mset m \"z\" 2};r"), ["r#0"]);
    }

    #[test]
    fn a_bare_record_or_append_target_is_read_last() {
        assert_eq!(
            moved("type pt{x:n}\nf>n;p=pt x:1;p=p with x:+p.x 1;p.x"),
            ["p#0", "p#2"]
        );
        assert_eq!(moved("f>t;s=\"a\";s=+s (str (len s));s"), ["s#0", "s#2"]);
    }
}
