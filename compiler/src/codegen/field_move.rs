//! Moving a heap field out of a record that is about to be rebuilt, as in
//! `a=a with t:+a.t (str i)`.
//!
//! Reading `a.t` adds a reference to the text, so the `+` that follows finds it
//! shared and copies it: one copy per update, a quadratic loop. When the update
//! replaces `t`, reads `a.t` exactly once among its new values, and names `a`
//! nowhere else there, the read can instead take the text out of the record held
//! once by `a` and leave nil in its slot: the `+` then owns the only reference and
//! appends in place, and the `with` stores the result in the slot.
//!
//! Updates whose values are plain operators on locals and field reads test the
//! record before their values (`inline_update.rs`) and move there. This module is
//! the rule for every other update: the read itself tests that the record is of its
//! declared type and held once, and reads as always when it is not. Between that
//! test and the `with`, nothing can make a new reference to the record (the values
//! name it in no other way) and no path can leave the values and carry on with the
//! record still in use (they hold no statement but expressions, so no `brk`,
//! `cnt` or assignment); an error or a `!` leaves the function, which releases the
//! record with nil in the slot and the moved value once, from the temporaries.

use std::collections::HashMap;

use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value as ClifValue};
use cranelift_module::Module;

use super::abi::{NIL, WORD};
use super::translator::Translator;
use crate::ast::{Expr, ExprId, ExprKind, Ident, MatchArm, Pattern, Stmt, StmtKind, Type};
use crate::walk::{walk_expr, Visitor};

/// A field read that moves its value out of the record local it reads.
#[derive(Clone)]
pub struct FieldMove {
    pub record: String,
    pub index: usize,
}

/// What the values of one update do with its record local.
struct Uses<'e> {
    local: &'e str,
    /// Every `local.f` read, in evaluation order.
    reads: Vec<&'e Expr>,
    /// The local is named other than in a field read, rebound, shadowed, or the
    /// values hold a statement that could leave them early.
    escapes: bool,
}

impl<'e> Visitor<'e> for Uses<'e> {
    fn stmt(&mut self, stmt: &'e Stmt) {
        if !matches!(stmt.kind, StmtKind::Expr(_)) {
            self.escapes = true;
        }
    }

    fn arm(&mut self, arm: &'e MatchArm) {
        if let Pattern::Ok(id) | Pattern::Err(id) | Pattern::IsType(_, id) = &arm.pattern {
            self.escapes |= id.name == self.local;
        }
    }

    fn expr(&mut self, e: &'e Expr) -> bool {
        match &e.kind {
            ExprKind::Field { expr, .. } if is_ref(expr, self.local) => {
                self.reads.push(e);
                false
            }
            ExprKind::Ref(id) => {
                self.escapes |= id.name == self.local;
                false
            }
            ExprKind::Call { callee, .. } => {
                self.escapes |= callee.name == self.local;
                true
            }
            ExprKind::Match { subject: None, .. } => {
                // It matches the previous statement's value, which may be the
                // record itself, read without naming it.
                self.escapes = true;
                false
            }
            ExprKind::Lambda(_) => {
                // A read inside may run any number of times, or after the update.
                let mut inner = Uses {
                    local: self.local,
                    reads: Vec::new(),
                    escapes: false,
                };
                walk_expr(&mut inner, e);
                self.escapes |= inner.escapes || !inner.reads.is_empty();
                false
            }
            _ => true,
        }
    }
}

/// The fields an update replaces exactly once (declaration index) that `reads`, the
/// field reads of its record among its values, read exactly once, with that read:
/// the fields whose value can move from the read to the store.
pub(super) fn replaced_and_read_once<'e>(
    fields: &[(Ident, Expr)],
    indices: &[usize],
    reads: &[&'e Expr],
) -> Vec<(usize, &'e Expr)> {
    fields
        .iter()
        .zip(indices)
        .filter(|((name, _), _)| fields.iter().filter(|(n, _)| n.name == name.name).count() == 1)
        .filter_map(|((name, _), &index)| {
            let mut same = reads.iter().filter(
                |r| matches!(&r.kind, ExprKind::Field { name: f, .. } if f.name == name.name),
            );
            match (same.next(), same.next()) {
                (Some(read), None) => Some((index, *read)),
                _ => None,
            }
        })
        .collect()
}

fn is_ref(e: &Expr, local: &str) -> bool {
    matches!(&e.kind, ExprKind::Ref(id) if id.name == local)
}

impl<M: Module> Translator<'_, M> {
    /// The reads in `fields`, the new values of an update of record local `local` of
    /// declared type `record` that hands the local over, that may move their field
    /// out: each the one read of a field replaced once, not read as a number,
    /// boolean or nil (those hold no reference worth moving). Empty when the values
    /// use the local in any other way.
    pub fn field_moves(
        &self,
        (local, record): (&str, &str),
        fields: &[(Ident, Expr)],
        indices: &[usize],
    ) -> Vec<(ExprId, FieldMove)> {
        let mut uses = Uses {
            local,
            reads: Vec::new(),
            escapes: false,
        };
        for (_, x) in fields {
            walk_expr(&mut uses, x);
        }
        if uses.escapes {
            return Vec::new();
        }
        replaced_and_read_once(fields, indices, &uses.reads)
            .into_iter()
            .filter(|(_, read)| !matches!(self.ty(read), Type::Num | Type::Bool | Type::Nil))
            .map(|(index, read)| {
                let record = record.to_string();
                (read.id, FieldMove { record, index })
            })
            .collect()
    }

    /// The read [`Translator::field_moves`] chose, of the borrowed record word
    /// `obj`: on a record of its declared type held once, the field's word, owned,
    /// with nil left in its slot; `read` emits the ordinary read otherwise.
    pub fn field_moved_out(
        &mut self,
        obj: ClifValue,
        mv: &FieldMove,
        read: impl FnOnce(&mut Self) -> ClifValue,
    ) -> ClifValue {
        let offset = (mv.index * 8) as i32;
        let take = |t: &mut Self, slow| {
            let fields = t.declared_record(obj, &mv.record, true, slow)?;
            let w =
                t.b.ins()
                    .load(WORD, MemFlagsData::trusted(), fields, offset);
            let nil = t.iconst(NIL);
            t.b.ins()
                .store(MemFlagsData::trusted(), nil, fields, offset);
            Some(w)
        };
        self.fast_or_slow(take, read)
    }
}

/// Moves registered for the update being translated, by the id of their read.
pub type FieldMoves = HashMap<ExprId, FieldMove>;
