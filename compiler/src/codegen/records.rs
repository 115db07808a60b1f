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
        let vals: Vec<(String, Operand)> = fields
            .iter()
            .map(|(n, x)| {
                let v = self.expr(x);
                self.push(v);
                (n.name.clone(), v)
            })
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

    /// Read field `name` of the word `obj` (borrowed); owned result.
    fn read_field(
        &mut self,
        obj: ClifValue,
        obj_ty: &Type,
        name: &str,
        safe: bool,
        e: &Expr,
    ) -> ClifValue {
        let hint = match obj_ty {
            Type::Named(r) => self
                .sh
                .records
                .get(r)
                .and_then(|fs| fs.iter().position(|f| f == name))
                .map_or(-1, |i| i as i64),
            _ => -1,
        };
        let (np, nl) = self.bytes(name.as_bytes());
        let hint = self.b.ins().iconst(WORD, hint);
        let safe_flag = self.b.ins().iconst(WORD, i64::from(safe));
        let args = [obj, np, nl, hint, safe_flag];
        if safe {
            self.rt(Entry::ilo_field, &args)
        } else {
            self.rt_checked(Entry::ilo_field, &args, e.span)
        }
    }

    pub fn field(&mut self, e: &Expr, inner: &Expr, name: &Ident, safe: bool) -> Operand {
        let obj = self.expr(inner);
        self.push(obj);
        let w = self.word(obj);
        let ty = self.ty(inner).clone();
        let r = self.read_field(w, &ty, &name.name, safe, e);
        self.pop(obj);
        self.drop_v(obj);
        Operand::Owned(r)
    }

    /// `e with a:1 b:2`. A bare local record is read after the field values, so
    /// `r=r with n:+r.n 1` can hand `r` over: updated in place when unshared.
    pub fn with(&mut self, e: &Expr, inner: &Expr, fields: &[(Ident, Expr)]) -> Operand {
        let record_last = self.is_bare_local(inner);
        let mut obj = None;
        if !record_last {
            let v = self.expr(inner);
            self.push(v);
            obj = Some(v);
        }
        let vals: Vec<Operand> = fields
            .iter()
            .map(|(_, x)| {
                let v = self.expr(x);
                self.push(v);
                v
            })
            .collect();
        // A local's read neither fails nor holds temporaries.
        let obj = obj.unwrap_or_else(|| self.expr(inner));
        let names = fields
            .iter()
            .map(|(n, _)| n.name.as_str())
            .collect::<Vec<_>>()
            .join("\0");
        let (np, nl) = self.bytes(names.as_bytes());
        let words: Vec<ClifValue> = vals.iter().map(|v| self.word(*v)).collect();
        let arr = self.word_array(&words);
        let n = self.b.ins().iconst(WORD, words.len() as i64);
        let ow = self.word(obj);
        let handed_over = matches!(obj, Operand::Owned(_));
        let owned = self.b.ins().iconst(WORD, i64::from(handed_over));
        let r = self.rt(Entry::ilo_with, &[ow, np, nl, arr, n, owned]);
        for v in vals.into_iter().rev() {
            self.pop(v);
            self.drop_v(v);
        }
        if !record_last {
            // An owned record was consumed by `ilo_with`, failure or not.
            self.pop(obj);
        }
        if !handed_over {
            self.drop_v(obj);
        }
        self.check(r, e.span);
        Operand::Owned(r)
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
