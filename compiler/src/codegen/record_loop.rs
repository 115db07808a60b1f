//! Loop versioning for a record that a loop only rebinds through `with` on itself,
//! as in `@i 0..n{a=a with n:+a.n 1 s:+a.s i}`.
//!
//! Each such update tests the record (a heap object of the record kind, held once,
//! of the declared type) before storing in place. In a loop whose every statement is
//! `r=r with …` of the same local, with values that cannot make a reference to `r`
//! (`inline_update::keeps_record_alone`), the answer cannot change from one iteration
//! to the next: the updates store into the same object, nothing else can reach it,
//! and nothing rebinds `r` to anything but itself. So the record is tested once
//! before the loop, and two copies of the loop are emitted: one, taken when the test
//! passes, whose updates store without tests and whose field reads come from one
//! variable per field (a register, rather than a load that waits on the previous
//! iteration's store); the other, the loop as it always was, for a record that is
//! shared, of another type, or not a record at all, which then copies or fails
//! exactly as before.

use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData};
use cranelift_module::Module;

use super::abi::WORD;
use super::inline_update::{keeps_record_alone, reads_of, FieldCache, TestedRecord};
use super::translator::{Operand, Translator};
use crate::ast::{Block as AstBlock, Expr, ExprKind, StmtKind, Type};

/// The record local a loop body only updates in place, its declared type, and which
/// of its fields the loop only reads and writes as numbers.
struct Candidate {
    local: String,
    record: String,
    numeric: Vec<bool>,
}

impl<M: Module> Translator<'_, M> {
    /// Emit a loop through `emit` (which may be called twice): versioned on its record
    /// when `header` (the expressions the loop evaluates besides its body: a range's
    /// bounds, a condition) and `body` have the shape above, as it is otherwise.
    pub fn record_versioned_loop(
        &mut self,
        header: &[&Expr],
        body: &AstBlock,
        emit: &dyn Fn(&mut Self),
    ) {
        let Some(c) = self.loop_record(header, body) else {
            return emit(self);
        };
        let Some(Operand::Borrowed(w)) = self.read_local(&c.local) else {
            return emit(self);
        };
        let general = self.b.create_block();
        let Some(fields) = self.declared_record(w, &c.record, true, general) else {
            // No test was emitted (the type's slot is unavailable): no fast copy.
            self.b.ins().jump(general, &[]);
            self.b.switch_to_block(general);
            return emit(self);
        };
        let mut cache = Vec::with_capacity(c.numeric.len());
        for (i, &numeric) in c.numeric.iter().enumerate() {
            let word = self
                .b
                .ins()
                .load(WORD, MemFlagsData::trusted(), fields, (i * 8) as i32);
            cache.push(if numeric {
                // Its number now (tested here, once); the loop stores only numbers.
                let is_num = self.is_num_word(word);
                self.continue_if(is_num, general);
                let var = self.b.declare_var(types::F64);
                let n = self.b.ins().bitcast(types::F64, MemFlagsData::new(), word);
                self.b.def_var(var, n);
                FieldCache::Num(var)
            } else {
                let var = self.b.declare_var(WORD);
                self.b.def_var(var, word);
                FieldCache::Word(var)
            });
        }
        let done = self.b.create_block();
        self.hoisted_record = Some(TestedRecord {
            local: c.local,
            record: c.record,
            fields,
            moved: Vec::new(),
            emptied: Vec::new(),
            cache: Some(cache),
        });
        emit(self);
        self.hoisted_record = None;
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(general);
        emit(self);
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(done);
    }

    /// The record local `body` only updates in place, when the loop has that shape:
    /// every statement `r=r with f:v…` on the same word local `r` of a declared record
    /// type, handing `r` over, naming declared fields, with values (and `header`)
    /// that leave `r` alone.
    fn loop_record(&self, header: &[&Expr], body: &AstBlock) -> Option<Candidate> {
        if self.hoisted_record.is_some() || self.tested_record.is_some() {
            return None;
        }
        let is_local = |n: &str| self.locals.contains_key(n);
        let mut found: Option<Candidate> = None;
        let mut reads = Vec::new();
        let mut writes = Vec::new();
        for s in body {
            let StmtKind::Let { name, value } = &s.kind else {
                return None;
            };
            let ExprKind::With {
                expr: inner,
                fields,
            } = &value.kind
            else {
                return None;
            };
            let ExprKind::Ref(id) = &inner.kind else {
                return None;
            };
            let Type::Named(record) = self.ty(inner) else {
                return None;
            };
            let declared = self.sh.records.get(record)?;
            let shape_holds = id.name == name.name
                && self.moves.contains(&inner.id)
                && fields.iter().all(|(f, x)| {
                    declared.contains(&f.name) && keeps_record_alone(x, &id.name, &is_local)
                });
            if !shape_holds {
                return None;
            }
            for (f, x) in fields {
                writes.push((f.name.as_str(), x));
                reads_of(x, &id.name, &mut reads);
            }
            match &found {
                None => {
                    found = Some(Candidate {
                        local: id.name.clone(),
                        record: record.clone(),
                        numeric: Vec::new(),
                    })
                }
                Some(c) if c.local == id.name && c.record == *record => {}
                Some(_) => return None,
            }
        }
        let mut c = found?;
        let word_local = self.locals.get(&c.local).is_some_and(|l| !l.numeric);
        let header_alone = header
            .iter()
            .all(|e| keeps_record_alone(e, &c.local, &is_local));
        if !(word_local && header_alone) {
            return None;
        }
        for e in header {
            reads_of(e, &c.local, &mut reads);
        }
        let num = |e: &Expr| *self.ty(e) == Type::Num;
        c.numeric = self.sh.records.get(&c.record)?
            .iter()
            .map(|field| {
                let named = |e: &Expr| {
                    matches!(&e.kind, ExprKind::Field { name, .. } if name.name == *field)
                };
                reads.iter().filter(|e| named(e)).all(|e| num(e))
                    && writes.iter().filter(|(f, _)| f == field).all(|(_, x)| num(x))
            })
            .collect();
        Some(c)
    }
}
