//! Calls and function values.
//!
//! - a user function: a direct call `f(ctx, 0, args…)`;
//! - `lst` / `mset` on a list / map that is ours to give, `mget` and `at`: an entry
//!   point of their own (`ilo_lst_move`, `ilo_mset_move`, `ilo_mget`, or
//!   `ilo_mget_take` for the reads `map_take.rs` chose, `ilo_at`), no table lookup; `lst`
//!   first tries the inline store of `inline_update.rs`;
//! - a library builtin: `ilo_builtin(id, args, n)` with the id looked up by name now,
//!   or `ilo_builtin_owned(id, args, n, mask)` when some arguments are ours to give
//!   (temporaries and last uses of locals, bit `i` for argument `i`): the runtime then
//!   consumes those, and a builtin may update a value nothing else holds in place;
//! - `mod` on two numbers: inline (`modulo.rs`); `str` of a number: `ilo_num_text`;
//! - a local holding a function value: `ilo_func_code` checks it and yields the code
//!   address, then an indirect call passes the value itself as `env`.
//!
//! Every call result is checked for the error sentinel; `!` and `!!` unwrap it.

use cranelift_codegen::ir::{InstBuilder, Value as ClifValue};
use cranelift_module::{Linkage, Module};

use super::abi::{ilo_signature, Entry, WORD};
use super::names;
use super::program_state::{FnRef, Wrapper};
use super::translator::{Operand, Translator};
use crate::ast::{Expr, Ident, Type, Unwrap};
use crate::span::Span;
use crate::verify::types::needs_check;
use crate::verify::CallTarget;

impl<M: Module> Translator<'_, M> {
    pub fn call(&mut self, e: &Expr, callee: &Ident, args: &[Expr], unwrap: Unwrap) -> Operand {
        let target = match self.checked.calls.get(&e.id) {
            Some(t) => t.clone(),
            None if self.locals.contains_key(&callee.name) => {
                CallTarget::Local(callee.name.clone())
            }
            None if self.sh.user.contains_key(&callee.name) => {
                CallTarget::User(callee.name.clone())
            }
            None => CallTarget::Builtin(callee.name.clone()),
        };
        if let (CallTarget::Builtin(name), [a, b], Unwrap::None) = (&target, args, unwrap) {
            if name == "mod" && self.is_num(a) && self.is_num(b) {
                return self.modulo(a, b, e.span);
            }
        }
        if let (CallTarget::Builtin(name), [x], Unwrap::None) = (&target, args, unwrap) {
            if name == "str" && self.is_num(x) {
                let v = self.expr(x);
                let v = self.f64(v, true, x.span);
                return Operand::Owned(self.rt(Entry::ilo_num_text, &[v]));
            }
        }
        let first_last = self.read_last(e).is_some();
        let vals = if first_last {
            self.held_first_last(args)
        } else {
            self.held(args)
        };
        if let CallTarget::Builtin(name) = &target {
            let take = self.map_takes.contains(&e.id);
            match direct_entry(name, &vals, take) {
                Some(Direct::Consumes(entry)) => {
                    // Every argument handed over (borrowed ones retained first), so the
                    // runtime consumes them all, failure or not: off the stack
                    // unreleased.
                    let words = self.handed_over(&vals);
                    for v in vals.iter().rev() {
                        self.pop(*v);
                    }
                    let call = |t: &mut Self| {
                        let r = t.rt(entry, &words);
                        t.check(r, e.span);
                        r
                    };
                    let r = match entry {
                        Entry::ilo_lst_move => {
                            self.set_element_inline(&words, (&args[0], vals[1]), call)
                        }
                        _ => call(self),
                    };
                    return self.unwrap(r, unwrap, e.span);
                }
                Some(Direct::Borrows(entry)) => {
                    let words: Vec<ClifValue> = vals.iter().map(|v| self.word(*v)).collect();
                    let r = self.rt(entry, &words);
                    self.check(r, e.span);
                    for v in vals.into_iter().rev() {
                        self.pop(v);
                        self.drop_v(v);
                    }
                    return self.unwrap(r, unwrap, e.span);
                }
                None => {}
            }
        }
        let words: Vec<ClifValue> = vals.iter().map(|v| self.word(*v)).collect();
        if let CallTarget::Builtin(name) = &target {
            let owned = owned_mask(&vals);
            if let (Some(id), Some(mask)) = (ilo_runtime::builtins::lookup(name), owned) {
                let id = self.b.ins().iconst(WORD, id as i64);
                let arr = self.word_array(&words);
                let n = self.b.ins().iconst(WORD, words.len() as i64);
                let mask = self.b.ins().iconst(WORD, mask as i64);
                let r = self.rt(Entry::ilo_builtin_owned, &[id, arr, n, mask]);
                // Consumed by the runtime, failure or not: off the stack unreleased.
                for v in vals.into_iter().rev() {
                    self.pop(v);
                }
                self.check(r, e.span);
                return self.unwrap(r, unwrap, e.span);
            }
        }
        // Compiled functions own their arguments (`consumed`); the plain builtin call
        // only borrows them.
        let (r, consumed) = match &target {
            CallTarget::User(name) => match self.sh.user.get(name).copied() {
                Some(f) => {
                    let fref = self.fref(f.id);
                    let zero = self.iconst(0);
                    let mut all = vec![self.ctx, zero];
                    all.extend(self.handed_over(&vals));
                    let call = self.b.ins().call(fref, &all);
                    (Some(self.b.inst_results(call)[0]), true)
                }
                None => (None, false),
            },
            CallTarget::Builtin(name) => match ilo_runtime::builtins::lookup(name) {
                Some(id) => {
                    let id = self.b.ins().iconst(WORD, id as i64);
                    let arr = self.word_array(&words);
                    let n = self.b.ins().iconst(WORD, words.len() as i64);
                    (Some(self.rt(Entry::ilo_builtin, &[id, arr, n])), false)
                }
                None => (None, false),
            },
            CallTarget::Local(name) => match self.read_local(name) {
                Some(f) => {
                    let fw = self.word(f);
                    (Some(self.call_value(fw, &vals, e.span)), true)
                }
                None => (None, false),
            },
        };
        let Some(r) = r else {
            for v in vals.into_iter().rev() {
                self.pop(v);
                self.drop_v(v);
            }
            self.unsupported(
                format!("cannot resolve call to '{}'", callee.name),
                callee.span,
            );
            return self.nil();
        };
        if consumed {
            // The callee released them, failure or not: off the stack unreleased.
            for v in vals.into_iter().rev() {
                self.pop(v);
            }
            self.check(r, e.span);
        } else {
            self.check(r, e.span);
            for v in vals.into_iter().rev() {
                self.pop(v);
                self.drop_v(v);
            }
        }
        let out = self.unwrap(r, unwrap, e.span);
        // A function value's type promises a result its function need not have
        // declared (`F n n` holding `x:_>_`), so what it returned is checked.
        // So may a declared function's (which checks only when it is also a value).
        let unproven = match &target {
            CallTarget::Local(_) => true,
            CallTarget::User(name) => {
                self.checked.unproven_returns.contains(name)
                    && !self.checked.value_funcs.contains(name)
            }
            CallTarget::Builtin(_) => false,
        };
        if unproven && needs_check(self.ty(e), &Type::Any) {
            self.push(out);
            let place = format!("result of '{}'", callee.name);
            self.expect_type(out, self.ty(e), &place, e.span);
            self.pop(out);
        }
        out
    }

    /// One owned word per argument for a callee that takes them over: temporaries and
    /// last uses as they are, borrowed words retained. Nothing may fail between this
    /// and the call, since the retained words are on no release list.
    fn handed_over(&mut self, vals: &[Operand]) -> Vec<ClifValue> {
        vals.iter().map(|v| self.owned(*v)).collect()
    }

    /// Call the function value `f` (borrowed), handing `args` over.
    fn call_value(&mut self, f: ClifValue, vals: &[Operand], span: Span) -> ClifValue {
        let args = vals.to_vec();
        let n = self.b.ins().iconst(WORD, args.len() as i64);
        let code = self.rt(Entry::ilo_func_code, &[f, n]);
        let bad = self
            .b
            .ins()
            .icmp_imm_s(cranelift_codegen::ir::condcodes::IntCC::Equal, code, 0);
        self.branch_to_error(bad, span);
        let sig = ilo_signature(self.sh.call_conv, args.len());
        let sig = self.b.import_signature(sig);
        let mut all = vec![self.ctx, f];
        all.extend(self.handed_over(&args));
        let call = self.b.ins().call_indirect(sig, code, &all);
        self.b.inst_results(call)[0]
    }

    /// `f! …` returns an Err or nil result from the enclosing function as is;
    /// `f!! …` turns it into ILO-R009. Both yield the Ok payload otherwise.
    fn unwrap(&mut self, r: ClifValue, unwrap: Unwrap, span: Span) -> Operand {
        match unwrap {
            Unwrap::None => Operand::Owned(r),
            Unwrap::Panic => Operand::Owned(self.rt_checked(Entry::ilo_unwrap_panic, &[r], span)),
            Unwrap::Propagate => {
                let failed = self.rt(Entry::ilo_is_failure, &[r]);
                let out = self.b.create_block();
                let cont = self.b.create_block();
                self.b.ins().brif(failed, out, &[], cont, &[]);
                self.b.switch_to_block(out);
                self.exit_with(r, 0);
                self.b.ins().jump(cont, &[]);
                self.b.switch_to_block(cont);
                Operand::Owned(self.rt(Entry::ilo_unwrap_move, &[r]))
            }
        }
    }

    /// A function value for a named function or builtin (`map dbl xs`, `map str xs`),
    /// named by reference `e`; `None` when `target` names neither.
    pub fn function_value(&mut self, target: &CallTarget, e: &Expr) -> Option<Operand> {
        match target {
            CallTarget::User(name) => {
                let f = *self.sh.user.get(name)?;
                Some(self.make_func(f, name, &[]))
            }
            CallTarget::Builtin(name) => {
                // The verifier records the arity the value is used with
                // (`fld max xs 0` wants two-argument `max`); else the fewest.
                let wanted = match self.checked.type_of(e.id) {
                    crate::ast::Type::Fn(params, _) => Some(params.len()),
                    _ => None,
                };
                let f = self.builtin_wrapper(name, wanted, e.span)?;
                Some(self.make_func(f, name, &[]))
            }
            CallTarget::Local(name) => self.read_local(name),
        }
    }

    fn builtin_wrapper(&mut self, name: &str, wanted: Option<usize>, span: Span) -> Option<FnRef> {
        let builtin_id = ilo_runtime::builtins::lookup(name)?;
        let def = &ilo_runtime::builtins::table()[builtin_id];
        let (min, max) = (def.min_args as usize, def.max_args as usize);
        let arity = wanted.filter(|n| (min..=max).contains(n)).unwrap_or(min);
        if let Some(w) = self.sh.wrappers.get(&(name.to_string(), arity)) {
            return Some(w.func);
        }
        let sig = ilo_signature(self.sh.call_conv, arity);
        let id = match self.module.declare_function(
            &names::builtin_wrapper(name, arity),
            Linkage::Local,
            &sig,
        ) {
            Ok(id) => id,
            Err(err) => {
                self.unsupported(format!("cannot declare wrapper for {name}: {err}"), span);
                return None;
            }
        };
        let func = FnRef { id, arity };
        self.sh
            .wrappers
            .insert((name.to_string(), arity), Wrapper { func, builtin_id });
        Some(func)
    }

    /// `ilo_func_new` for compiled function `f`, capturing the borrowed `caps`.
    fn make_func(&mut self, f: FnRef, name: &str, caps: &[ClifValue]) -> Operand {
        let fref = self.fref(f.id);
        let code = self.b.ins().func_addr(WORD, fref);
        let arity = self.b.ins().iconst(WORD, f.arity as i64);
        let (np, nl) = self.bytes(name.as_bytes());
        let arr = self.word_array(caps);
        let n = self.b.ins().iconst(WORD, caps.len() as i64);
        Operand::Owned(self.rt(Entry::ilo_func_new, &[code, arity, np, nl, arr, n]))
    }

    /// A lambda: its lifted function, plus copies of the captured locals.
    pub fn lambda_value(&mut self, e: &Expr) -> Operand {
        let Some(f) = self.sh.lambdas.get(&e.id).copied() else {
            self.unsupported("lambda was not lifted", e.span);
            return self.nil();
        };
        let names = self
            .checked
            .captures
            .get(&e.id)
            .cloned()
            .unwrap_or_default();
        let caps: Vec<ClifValue> = names
            .iter()
            .map(|n| match self.read_local(n) {
                Some(v) => self.word(v),
                None => self.iconst(super::abi::NIL),
            })
            .collect();
        self.make_func(f, "lambda", &caps)
    }
}

/// A builtin with an entry point of its own, called without the builtin table.
enum Direct {
    /// The entry point consumes every argument.
    Consumes(Entry),
    /// The entry point borrows every argument.
    Borrows(Entry),
}

/// The entry point that performs builtin `name` directly, for the builtins a loop
/// typically calls once per element (where the table lookup and argument array of a
/// builtin call cost as much as the work): updates when the updated value (the first
/// argument) is ours to give, and the map lookup that usually precedes one.
/// `take` marks an `mget` that may move its value out (see `map_take.rs`).
fn direct_entry(name: &str, vals: &[Operand], take: bool) -> Option<Direct> {
    match (name, vals) {
        ("lst", [Operand::Owned(_), _, _]) => Some(Direct::Consumes(Entry::ilo_lst_move)),
        ("mset", [Operand::Owned(_), _, _]) => Some(Direct::Consumes(Entry::ilo_mset_move)),
        ("mget", [Operand::Borrowed(_), _]) if take => Some(Direct::Borrows(Entry::ilo_mget_take)),
        ("mget", [_, _]) => Some(Direct::Borrows(Entry::ilo_mget)),
        ("at", [_, _]) => Some(Direct::Borrows(Entry::ilo_at)),
        _ => None,
    }
}

/// Bit `i` set for each owned argument `i`; `None` when none is owned (or one beyond
/// the mask's 64 bits is, which the plain borrowed call handles).
fn owned_mask(vals: &[Operand]) -> Option<u64> {
    let mut mask = 0u64;
    for (i, v) in vals.iter().enumerate() {
        if let Operand::Owned(_) = v {
            if i >= 64 {
                return None;
            }
            mask |= 1 << i;
        }
    }
    (mask != 0).then_some(mask)
}
