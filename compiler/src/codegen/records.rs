//! Records: construction, field access, `with` and destructuring.
//!
//! A declared type reaches the runtime as a static descriptor `name\0f1\0f2…` plus a
//! cache slot (see `ilo_runtime::ops::records`). Field access passes the field name
//! and, when the record type is statically known, its position as a hint; JSON records
//! (type `json`) and values of unknown type are looked up by name at run time.

use cranelift_codegen::ir::{InstBuilder, Value as ClifValue};
use cranelift_module::Module;

use super::abi::{Entry, WORD};
use super::translator::{Operand, Translator};
use crate::ast::{Expr, Ident, Type};

impl<M: Module> Translator<'_, M> {
    fn record_fields(&self, name: &str) -> Option<Vec<String>> {
        self.sh.records.get(name).cloned()
    }

    /// `pt x:1 y:2`: field values are evaluated in source order and passed in
    /// declaration order; fields not given are nil.
    pub fn record(&mut self, e: &Expr, ty: &Ident, fields: &[(Ident, Expr)]) -> Operand {
        let Some(decl) = self.record_fields(&ty.name) else {
            self.unsupported(format!("unknown record type '{}'", ty.name), ty.span);
            return self.nil();
        };
        let held = self.held(fields.iter().map(|(_, x)| x));
        let vals: Vec<(String, Operand)> = fields
            .iter()
            .zip(held)
            .map(|((n, _), v)| (n.name.clone(), v))
            .collect();
        let nil = self.iconst(super::abi::NIL);
        let mut words = vec![nil; decl.len()];
        for (name, v) in &vals {
            match decl.iter().position(|f| f == name) {
                Some(i) => words[i] = self.word(*v),
                None => self.unsupported(format!("no field '{name}' on {}", ty.name), e.span),
            }
        }
        let slot = match self.sh.record_slot(self.module, &ty.name) {
            Ok(id) => self.data_addr(id),
            Err(err) => {
                self.unsupported(format!("cannot emit record type: {err}"), e.span);
                return self.nil();
            }
        };
        let desc = std::iter::once(ty.name.clone())
            .chain(decl.iter().cloned())
            .collect::<Vec<_>>()
            .join("\0");
        let (dp, dl) = self.bytes(desc.as_bytes());
        let arr = self.word_array(&words);
        let n = self.b.ins().iconst(WORD, words.len() as i64);
        let r = self.rt(Entry::ilo_record_new, &[slot, dp, dl, arr, n]);
        for (_, v) in vals.into_iter().rev() {
            self.pop(v);
            self.drop_v(v);
        }
        Operand::Owned(r)
    }

    /// The declared record type `ty` names and the position of field `name` in it.
    fn declared_field<'t>(&self, ty: &'t Type, name: &str) -> Option<(&'t str, usize)> {
        let Type::Named(r) = ty else { return None };
        let i = self.sh.records.get(r)?.iter().position(|f| f == name)?;
        Some((r.as_str(), i))
    }

    /// Read field `name` of the word `obj` (borrowed); owned result. On a record of
    /// the declared type the verifier gave it, a load (`inline_update.rs`); the
    /// runtime's lookup otherwise.
    fn read_field(
        &mut self,
        obj: ClifValue,
        obj_ty: &Type,
        name: &str,
        safe: bool,
        e: &Expr,
    ) -> ClifValue {
        let declared = self.declared_field(obj_ty, name);
        let slow_read = |t: &mut Self| {
            let (np, nl) = t.bytes(name.as_bytes());
            let hint =
                t.b.ins()
                    .iconst(WORD, declared.map_or(-1, |(_, i)| i as i64));
            let safe_flag = t.b.ins().iconst(WORD, i64::from(safe));
            let args = [obj, np, nl, hint, safe_flag];
            if safe {
                t.rt(Entry::ilo_field, &args)
            } else {
                t.rt_checked(Entry::ilo_field, &args, e.span)
            }
        };
        match declared {
            Some(field) => self.field_inline(obj, field, slow_read),
            None => slow_read(self),
        }
    }

    pub fn field(&mut self, e: &Expr, inner: &Expr, name: &Ident, safe: bool) -> Operand {
        if let Some(v) = self.tested_field(inner, &name.name) {
            return v;
        }
        let obj = self.expr(inner);
        self.push(obj);
        let w = self.word(obj);
        let ty = self.ty(inner).clone();
        let read = |t: &mut Self| t.read_field(w, &ty, &name.name, safe, e);
        let r = match self.field_moves.get(&e.id).cloned() {
            Some(mv) => self.field_moved_out(w, &mv, read),
            None => read(self),
        };
        self.pop(obj);
        self.drop_v(obj);
        Operand::Owned(r)
    }

    /// `e with a:1 b:2`. A bare local record is read after the field values, so
    /// `r=r with n:+r.n 1` can hand `r` over: updated in place when unshared, tested
    /// once before its values when they leave it alone (`inline_update.rs`), else
    /// with the one read of a replaced field moving it out (`field_move.rs`).
    pub fn with(&mut self, e: &Expr, inner: &Expr, fields: &[(Ident, Expr)]) -> Operand {
        let ty = self.ty(inner);
        let indices: Option<Vec<usize>> = fields
            .iter()
            .map(|(n, _)| self.declared_field(ty, &n.name).map(|(_, i)| i))
            .collect();
        // `r with x:(?c{r=…;1}{2})`: a field value rebinds the record's local, so the
        // record must be read first, as written, not after its values.
        let local = self.read_last(e);
        if let (Some(indices), Some(local), Type::Named(record)) = (indices, local, ty) {
            if self.moves.contains(&inner.id) {
                let generic = |t: &mut Self| t.with_generic(e, inner, fields);
                let tested = (local, record.as_str());
                if let Some(r) = self.with_tested_once(tested, inner, fields, &indices, generic) {
                    return Operand::Owned(r);
                }
                let moves = self.field_moves(tested, fields, &indices);
                self.field_moves.extend(moves.iter().cloned());
                let r = self.with_generic(e, inner, fields);
                for (id, _) in &moves {
                    self.field_moves.remove(id);
                }
                return Operand::Owned(r);
            }
        }
        Operand::Owned(self.with_generic(e, inner, fields))
    }

    /// `e with a:1 b:2` without testing the record first; owned result.
    fn with_generic(&mut self, e: &Expr, inner: &Expr, fields: &[(Ident, Expr)]) -> ClifValue {
        let record_last = self.read_last(e).is_some();
        let mut obj = None;
        if !record_last {
            let v = self.expr(inner);
            let v = self.kept_against(v, fields.iter().map(|(_, x)| x));
            self.push(v);
            obj = Some(v);
        }
        let vals = self.held(fields.iter().map(|(_, x)| x));
        // A local's read neither fails nor holds temporaries.
        let obj = obj.unwrap_or_else(|| self.expr(inner));
        let names = fields
            .iter()
            .map(|(n, _)| n.name.as_str())
            .collect::<Vec<_>>()
            .join("\0");
        let ow = self.word(obj);
        let handed_over = matches!(obj, Operand::Owned(_));
        // Off the temporaries: from here each path disposes of them itself.
        for v in vals.iter().rev() {
            self.pop(*v);
        }
        if !record_last {
            // An owned record is consumed by `ilo_with` or the inline update.
            self.pop(obj);
        }
        let slow_with = |t: &mut Self| {
            let (np, nl) = t.bytes(names.as_bytes());
            let words: Vec<ClifValue> = vals.iter().map(|v| t.word(*v)).collect();
            let arr = t.word_array(&words);
            let n = t.b.ins().iconst(WORD, words.len() as i64);
            let owned = t.b.ins().iconst(WORD, i64::from(handed_over));
            let r = t.rt(Entry::ilo_with, &[ow, np, nl, arr, n, owned]);
            for v in vals.iter().rev() {
                t.drop_v(*v);
            }
            if !handed_over {
                t.drop_v(obj);
            }
            t.check(r, e.span);
            r
        };
        let ty = self.ty(inner);
        let declared: Option<Vec<usize>> = fields
            .iter()
            .map(|(n, _)| self.declared_field(ty, &n.name).map(|(_, i)| i))
            .collect();
        match (declared, ty) {
            (Some(indices), Type::Named(record)) if handed_over => {
                self.with_inline(ow, record, (&indices, &vals), slow_with)
            }
            _ => slow_with(self),
        }
    }

    /// `{a;b}=e`: bind each named field (strict access) to a same-named local.
    pub fn destructure(&mut self, fields: &[Ident], value: &Expr) {
        // Owned, not borrowed: `{a;b}=a` rebinds the very local the record came from.
        let obj = self.expr(value);
        let w = self.owned(obj);
        let obj = Operand::Owned(w);
        self.push(obj);
        let ty = self.ty(value).clone();
        for f in fields {
            let r = self.read_field(w, &ty, &f.name, false, value);
            self.assign(&f.name, Operand::Owned(r), &Type::Any, f.span);
        }
        self.pop(obj);
        self.drop_v(obj);
    }
}
