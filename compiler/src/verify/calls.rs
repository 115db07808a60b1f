//! Names and calls: what a `Ref` or `Call` resolves to (local, user function or
//! builtin, in that order), arity and argument types, builtin overload selection,
//! and the `!` / `!!` unwraps.

use crate::ast::{Expr, ExprKind, Type, Unwrap};
use crate::builtin_sigs::Sig;
use crate::diag::{did_you_mean, Diagnostic};
use crate::span::Span;

use super::check::{conversion_hint, FnChecker};
use super::codes;
use super::globals;
use super::types::{
    bind, compatible, contains_dynamic, erase_vars, is_concrete, is_dynamic, join, relied_on, show,
    substitute, Bindings,
};
use super::{CallTarget, RuntimeCheck};

impl FnChecker<'_> {
    /// A name used as a value: a local, a function value (`map dbl xs`), or a bare
    /// zero-argument builtin (`mmap`, `now`), which becomes a call.
    pub fn reference(&mut self, e: &mut Expr) -> Type {
        let ExprKind::Ref(ident) = &mut e.kind else {
            unreachable!("reference() is called on Ref nodes")
        };
        let name = ident.name.clone();
        if let Some(key) = self.scopes.use_local(&name) {
            return self.scopes.type_of(&key);
        }
        if let Some(f) = self.globals.funcs.get(&name) {
            self.tables
                .calls
                .insert(e.id, CallTarget::User(name.clone()));
            self.tables.value_funcs.insert(name);
            return Type::Fn(
                f.params.iter().map(erase_vars).collect(),
                Box::new(erase_vars(&f.ret)),
            );
        }
        if let Some((short, sigs)) = globals::builtin(&name) {
            self.note_alias(&name, short, ident.span);
            ident.name = short.to_string();
            if sigs.iter().any(|s| s.params.is_empty() && !s.variadic) {
                e.kind = ExprKind::Call {
                    callee: ident.clone(),
                    args: Vec::new(),
                    unwrap: Unwrap::None,
                };
                return self.call(e);
            }
            self.tables
                .calls
                .insert(e.id, CallTarget::Builtin(short.to_string()));
            let sig = &sigs[0];
            return Type::Fn(
                sig.params.iter().map(erase_vars).collect(),
                Box::new(erase_vars(&sig.ret)),
            );
        }
        let mut candidates: Vec<String> = self
            .scopes
            .visible_names()
            .into_iter()
            .map(String::from)
            .collect();
        candidates.extend(self.globals.funcs.keys().cloned());
        let mut d = Diagnostic::error(
            codes::UNDEFINED_VARIABLE,
            format!("undefined variable '{name}'"),
            e.span,
        );
        if let Some(s) = did_you_mean(&name, candidates.iter().map(String::as_str)) {
            d = d.with_suggestion(format!("did you mean '{s}'?"));
        }
        self.report(d);
        Type::Any
    }

    /// `name args…` (also the rewritten `xs.i` and bare zero-argument builtins).
    pub fn call(&mut self, e: &mut Expr) -> Type {
        let (id, span) = (e.id, e.span);
        let ExprKind::Call {
            callee,
            args,
            unwrap,
        } = &mut e.kind
        else {
            unreachable!("call() is called on Call nodes")
        };
        let arg_types: Vec<Type> = args.iter_mut().map(|a| self.expr(a, true)).collect();
        let name = callee.name.clone();
        let ret = if let Some(key) = self.scopes.use_local(&name) {
            self.tables
                .calls
                .insert(id, CallTarget::Local(name.clone()));
            let callee_ty = self.scopes.type_of(&key);
            self.call_value(&name, &callee_ty, args, &arg_types, span)
        } else if let Some(f) = self.globals.funcs.get(&name) {
            self.tables.calls.insert(id, CallTarget::User(name.clone()));
            self.check_args(&name, &f.params, args, &arg_types, span);
            // A function called directly trusts its parameters: what it is given is
            // checked here, where the verifier could not prove it fits.
            for (i, ((param, actual), arg)) in
                f.params.iter().zip(&arg_types).zip(args.iter()).enumerate()
            {
                let place = format!("argument {} of '{name}'", i + 1);
                self.tables.note_check(arg.id, param, actual, place);
            }
            erase_vars(&f.ret)
        } else if let Some((short, sigs)) = globals::builtin(&name) {
            self.note_alias(&name, short, callee.span);
            callee.name = short.to_string();
            self.tables
                .calls
                .insert(id, CallTarget::Builtin(short.to_string()));
            self.builtin_call(short, sigs, args, &arg_types, span)
        } else {
            let mut d = Diagnostic::error(
                codes::UNDEFINED_FUNCTION,
                format!(
                    "undefined function '{name}' (called with {} args)",
                    args.len()
                ),
                span,
            );
            if let Some(s) = did_you_mean(&name, self.globals.callable_names()) {
                d = d.with_suggestion(format!("did you mean '{s}'?"));
            }
            self.report(d);
            Type::Any
        };
        let builtin = matches!(self.tables.calls.get(&id), Some(CallTarget::Builtin(_)));
        let ty = self.unwrap(&name, ret, *unwrap, span);
        // A builtin given a function value (`map f xs`) types its result from that
        // value's declared type, which a `_`-returning function may have been
        // accepted for; a lambda or a named function checks its own results.
        let unproven_fn = args.iter().enumerate().any(|(i, a)| {
            matches!(arg_types[i], Type::Fn(..))
                && !matches!(a.kind, ExprKind::Lambda(_))
                && !matches!(self.tables.calls.get(&a.id), Some(CallTarget::User(_)))
        });
        if builtin && unproven_fn && relied_on(&ty) {
            let check = RuntimeCheck {
                ty: ty.clone(),
                place: format!("result of '{name}'"),
            };
            self.tables.result_checks.insert(id, check);
        } else {
            self.tables.result_checks.remove(&id);
        }
        ty
    }

    /// Calling a parameter or local: its type says how, when it is known.
    fn call_value(
        &mut self,
        name: &str,
        callee: &Type,
        args: &[Expr],
        arg_types: &[Type],
        span: Span,
    ) -> Type {
        match callee {
            Type::Fn(params, ret) => {
                self.check_args(name, params, args, arg_types, span);
                erase_vars(ret)
            }
            t if is_dynamic(t) || matches!(t, Type::Opt(_)) => Type::Any,
            t => {
                self.error(
                    codes::NOT_A_FUNCTION,
                    format!("'{name}' is a {}, not a function", show(t)),
                    span,
                );
                Type::Any
            }
        }
    }

    /// Exact arity and per-argument compatibility against a fixed parameter list.
    fn check_args(
        &mut self,
        name: &str,
        params: &[Type],
        args: &[Expr],
        arg_types: &[Type],
        span: Span,
    ) {
        if params.len() != args.len() {
            self.error(
                codes::ARITY,
                format!("'{name}' expects {} args, got {}", params.len(), args.len()),
                span,
            );
            return;
        }
        for ((param, actual), arg) in params.iter().zip(arg_types).zip(args) {
            self.check_arg(name, param, actual, arg.span);
        }
    }

    fn check_arg(&mut self, name: &str, param: &Type, actual: &Type, span: Span) {
        if compatible(param, actual) {
            return;
        }
        if *actual == Type::Stream && matches!(param, Type::List(_)) {
            self.stream_not_list(name, span);
            return;
        }
        let mut d = Diagnostic::error(
            codes::ARG_TYPE,
            format!("'{name}' expects {}, got {}", show(param), show(actual)),
            span,
        );
        if let Some(fix) = conversion_hint(param, actual) {
            d = d.with_suggestion(fix);
        }
        self.report(d);
    }

    /// Pick the builtin overload the arguments fit and instantiate its return type.
    fn builtin_call(
        &mut self,
        name: &str,
        sigs: &[Sig],
        args: &[Expr],
        arg_types: &[Type],
        span: Span,
    ) -> Type {
        if matches!(name, "mget" | "mset" | "mhas" | "mdel") && args.len() >= 2 {
            self.check_map_key(name, &arg_types[0], &arg_types[1], args[1].span);
        }
        let candidates: Vec<&Sig> = sigs
            .iter()
            .filter(|s| s.accepts_arity(args.len()))
            .collect();
        if candidates.is_empty() {
            self.error(
                codes::ARITY,
                format!(
                    "'{name}' expects {} args, got {}",
                    arity_list(sigs),
                    args.len()
                ),
                span,
            );
            return Type::Any;
        }
        let mismatches = |s: &Sig| {
            s.params
                .iter()
                .zip(arg_types)
                .filter(|(p, a)| !compatible(p, a))
                .count()
        };
        let matching: Vec<&Sig> = candidates
            .iter()
            .copied()
            .filter(|s| mismatches(s) == 0)
            .collect();
        if matching.is_empty() {
            // Report against the overload closest to the call; between equally close
            // ones, the one made for a stream argument when there is one (`map f src`
            // with the wrong `f` is about `f`, not about lists).
            let misses_stream = |s: &Sig| {
                s.params
                    .iter()
                    .zip(arg_types)
                    .any(|(p, a)| *a == Type::Stream && *p != Type::Stream)
            };
            let best = candidates
                .iter()
                .copied()
                .min_by_key(|s| (mismatches(s), misses_stream(s)))
                .expect("candidates is not empty");
            for ((param, actual), arg) in best.params.iter().zip(arg_types).zip(args) {
                self.check_arg(name, param, actual, arg.span);
            }
            // Unknown rather than a guess, so one mistake is reported once.
            return Type::Any;
        }
        self.fit_builtin_values(matching[0], args);
        // With unknown arguments several overloads may fit; only what all of them
        // return is certain.
        if matching.len() > 1 && arg_types.iter().any(contains_dynamic) {
            let mut rets = matching.iter().map(|s| instantiate(s, arg_types));
            let first = rets.next().expect("matching is not empty");
            return rets.fold(first, |acc, t| join(&acc, &t));
        }
        instantiate(matching[0], arg_types)
    }

    /// A builtin passed as a function argument (`fld max xs 0`) takes as many
    /// arguments as the parameter's function type has, when it has such an overload:
    /// its recorded type says so, and code generation builds the value to match.
    fn fit_builtin_values(&mut self, sig: &Sig, args: &[Expr]) {
        for (param, arg) in sig.params.iter().zip(args) {
            let (Type::Fn(want, _), ExprKind::Ref(_)) = (param, &arg.kind) else {
                continue;
            };
            let Some(CallTarget::Builtin(name)) = self.tables.calls.get(&arg.id) else {
                continue;
            };
            let Some((_, sigs)) = globals::builtin(name) else {
                continue;
            };
            if let Some(fit) = sigs
                .iter()
                .find(|s| !s.variadic && s.params.len() == want.len())
            {
                self.tables.types[arg.id.0 as usize] = Type::Fn(
                    fit.params.iter().map(erase_vars).collect(),
                    Box::new(erase_vars(&fit.ret)),
                );
            }
        }
    }

    /// Map keys are text or numbers; anything else can never be a key, and a key of
    /// the other kind than the map's can never be found (`7` is not `"7"`).
    fn check_map_key(&mut self, name: &str, map: &Type, key: &Type, span: Span) {
        let texty = |t: &Type| matches!(t, Type::Text | Type::Sum(_));
        if let Type::Map(want, _) = map {
            let clash = (**want == Type::Num && texty(key)) || (texty(want) && *key == Type::Num);
            if clash {
                self.error(
                    codes::ARG_TYPE,
                    format!(
                        "'{name}' key must match map key type {}, got {}",
                        show(want),
                        show(key)
                    ),
                    span,
                );
                return;
            }
        }
        let keyable = matches!(key, Type::Num | Type::Text | Type::Sum(_));
        if is_concrete(key) && !keyable {
            self.error(
                codes::ARG_TYPE,
                format!(
                    "'{name}' expects a map key of type t or n, got {}",
                    show(key)
                ),
                span,
            );
        }
    }

    /// `f! …` / `f!! …`: the payload of the R or O that `f` returns.
    fn unwrap(&mut self, name: &str, ret: Type, unwrap: Unwrap, span: Span) -> Type {
        if unwrap == Unwrap::None {
            return ret;
        }
        let bang = if unwrap == Unwrap::Propagate {
            "!"
        } else {
            "!!"
        };
        let inner = match &ret {
            Type::Result(ok, _) => (**ok).clone(),
            Type::Opt(payload) => (**payload).clone(),
            t if is_dynamic(t) => Type::Any,
            t => {
                self.error(
                    codes::UNWRAP_CALLEE,
                    format!(
                        "'{name}' returns {}, not R or O: there is nothing for '{bang}' to unwrap",
                        show(t)
                    ),
                    span,
                );
                return ret;
            }
        };
        if unwrap == Unwrap::Propagate {
            let enclosing = self.scopes.top_ref().ret.clone();
            let can_propagate =
                matches!(enclosing, Type::Result(..) | Type::Opt(_)) || is_dynamic(&enclosing);
            if !can_propagate {
                let d = Diagnostic::error(
                    codes::UNWRAP_CONTEXT,
                    format!(
                        "'{name}!' returns early on failure, but the enclosing function returns {}, not R or O",
                        show(&enclosing)
                    ),
                    span,
                )
                .with_suggestion(format!("use '{name}!!' to abort on failure, or make the function return R"));
                self.report(d);
            }
        }
        inner
    }

    fn note_alias(&mut self, used: &str, short: &'static str, span: Span) {
        if used != short && self.tables.first_alias.is_none() {
            self.tables.first_alias = Some((used.to_string(), short, span));
        }
    }
}

/// The overload's return type with its variables bound from the arguments.
fn instantiate(sig: &Sig, arg_types: &[Type]) -> Type {
    let mut env = Bindings::new();
    for (param, actual) in sig.params.iter().zip(arg_types) {
        bind(param, actual, &mut env);
    }
    substitute(&sig.ret, &env)
}

/// "1", "1 or 2", "0, 1 or 2", "at least 1".
fn arity_list(sigs: &[Sig]) -> String {
    if let Some(v) = sigs.iter().find(|s| s.variadic) {
        return format!("at least {}", v.params.len());
    }
    let mut counts: Vec<usize> = sigs.iter().map(|s| s.params.len()).collect();
    counts.sort_unstable();
    counts.dedup();
    let text: Vec<String> = counts.iter().map(usize::to_string).collect();
    match text.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => text.join(""),
    }
}
