//! Relations between types: compatibility (may a value of one type flow where another
//! is expected), join (the type of a value that comes from either of two places),
//! display in ilo's own notation, and the weak unification of builtin type variables.
//!
//! The language is dynamic underneath, so compatibility is deliberately permissive:
//! `_` and type variables match anything, an optional matches its payload, sum types
//! match text. Join is the opposite: it must never claim more than is certain, because
//! the code generator keeps values typed `n` in float registers with no runtime check.

use std::collections::HashMap;

use crate::ast::Type;

/// Whether a value of type `actual` is accepted where `expected` is required.
pub fn compatible(expected: &Type, actual: &Type) -> bool {
    use Type::*;
    match (expected, actual) {
        (Any | Var(_), _) | (_, Any | Var(_)) => true,
        (Opt(_), Nil) | (Nil, Nil) => true,
        (Opt(e), Opt(a)) => compatible(e, a),
        (Opt(e), a) => compatible(e, a),
        // An optional used as its payload: a nil there is a runtime error, not a
        // static one (`mget` results are routinely used directly).
        (e, Opt(a)) => compatible(e, a),
        (Num, Num) | (Text, Text) | (Bool, Bool) | (Stream, Stream) => true,
        (Text, Sum(_)) | (Sum(_), Text) => true,
        (Sum(e), Sum(a)) => a.iter().all(|v| e.contains(v)),
        (List(e), List(a)) => compatible(e, a),
        (Result(eo, ee), Result(ao, ae)) => compatible(eo, ao) && compatible(ee, ae),
        (Map(ek, ev), Map(ak, av)) => compatible(ek, ak) && compatible(ev, av),
        (Fn(ep, er), Fn(ap, ar)) => {
            ep.len() == ap.len()
                && ep.iter().zip(ap).all(|(e, a)| compatible(e, a))
                && compatible(er, ar)
        }
        (Named(e), Named(a)) => e == a || e == "json" || a == "json",
        _ => false,
    }
}

/// The most precise type that covers both `a` and `b`.
pub fn join(a: &Type, b: &Type) -> Type {
    use Type::*;
    if a == b {
        return a.clone();
    }
    match (a, b) {
        (Any, _) | (_, Any) | (Var(_), _) | (_, Var(_)) => Any,
        (Nil, Opt(t)) | (Opt(t), Nil) => Opt(t.clone()),
        (Nil, t) | (t, Nil) => Opt(Box::new(t.clone())),
        (Opt(x), Opt(y)) => Opt(Box::new(join(x, y))),
        (Opt(x), y) | (y, Opt(x)) => Opt(Box::new(join(x, y))),
        (List(x), List(y)) => List(Box::new(join(x, y))),
        (Result(xo, xe), Result(yo, ye)) => Result(Box::new(join(xo, yo)), Box::new(join(xe, ye))),
        (Map(xk, xv), Map(yk, yv)) => Map(Box::new(join(xk, yk)), Box::new(join(xv, yv))),
        (Sum(x), Sum(y)) => {
            let mut all = x.clone();
            all.extend(y.iter().filter(|v| !x.contains(v)).cloned());
            Sum(all)
        }
        (Sum(_), Text) | (Text, Sum(_)) => Text,
        _ => Any,
    }
}

/// `_` or a type variable: nothing is known statically.
pub fn is_dynamic(t: &Type) -> bool {
    matches!(t, Type::Any | Type::Var(_))
}

/// Whether any part of `t` is unknown (so more than one overload may fit it).
pub fn contains_dynamic(t: &Type) -> bool {
    use Type::*;
    match t {
        Any | Var(_) | Nil => true,
        List(x) | Opt(x) => contains_dynamic(x),
        Result(x, y) | Map(x, y) => contains_dynamic(x) || contains_dynamic(y),
        Fn(ps, r) => ps.iter().any(contains_dynamic) || contains_dynamic(r),
        Num | Text | Bool | Sum(_) | Named(_) | Stream => false,
    }
}

/// A type whose runtime shape is fixed: an operator can tell statically whether it
/// accepts it. Unknown, nil-able and variable types are not concrete.
pub fn is_concrete(t: &Type) -> bool {
    !matches!(t, Type::Any | Type::Var(_) | Type::Opt(_) | Type::Nil)
}

/// Whether the code generator relies on some part of a value of type `t` being of
/// that kind: numbers (kept in f64 registers), bools and nil (words without a
/// reference), records of a declared type (read at fixed field positions), and the
/// lists, maps, results and optionals holding them.
pub fn relied_on(t: &Type) -> bool {
    use Type::*;
    match t {
        Num | Bool | Nil => true,
        Named(name) => name != "json",
        List(x) | Opt(x) => relied_on(x),
        Result(x, y) | Map(x, y) => relied_on(x) || relied_on(y),
        Any | Var(_) | Text | Sum(_) | Stream | Fn(..) => false,
    }
}

/// Whether a value of type `actual`, accepted where `expected` is required (see
/// [`compatible`]), must be checked when it gets there: some part codegen relies on
/// (see [`relied_on`]) is not proven by `actual` (`_`, a type variable, or an
/// optional that may be nil).
pub fn needs_check(expected: &Type, actual: &Type) -> bool {
    use Type::*;
    if !relied_on(expected) {
        return false;
    }
    match (expected, actual) {
        (Num, Num) | (Bool, Bool) | (Nil, Nil) | (Opt(_), Nil) => false,
        (Named(e), Named(a)) => e != a,
        (Opt(e), Opt(a)) => needs_check(e, a),
        (Opt(e), a) => needs_check(e, a),
        (List(e), List(a)) => needs_check(e, a),
        (Result(eo, ee), Result(ao, ae)) | (Map(eo, ee), Map(ao, ae)) => {
            needs_check(eo, ao) || needs_check(ee, ae)
        }
        _ => true,
    }
}

/// The shape the runtime's `ilo_expect_type` checks a value against: only the parts
/// codegen relies on, anything else is `_` (see that function for the notation).
pub fn check_shape(t: &Type) -> String {
    use Type::*;
    match t {
        Num => "n".into(),
        Bool => "b".into(),
        Nil => "0".into(),
        Named(name) if name != "json" => format!("T{name};"),
        List(x) => format!("L{}", check_shape(x)),
        Opt(x) => format!("O{}", check_shape(x)),
        Result(x, y) => format!("R{}{}", check_shape(x), check_shape(y)),
        Map(x, y) => format!("M{}{}", check_shape(x), check_shape(y)),
        _ => "_".into(),
    }
}

/// `t` in ilo notation, as written in a signature (`L n`, `R (L t) t`, `F n n`).
pub fn show(t: &Type) -> String {
    use Type::*;
    match t {
        Num => "n".into(),
        Text => "t".into(),
        Bool => "b".into(),
        Any => "_".into(),
        Nil => "nil".into(),
        Stream => "stream".into(),
        Var(c) => c.to_string(),
        Named(name) => name.clone(),
        List(x) => format!("L {}", show_operand(x)),
        Opt(x) => format!("O {}", show_operand(x)),
        Result(x, y) => format!("R {} {}", show_operand(x), show_operand(y)),
        Map(x, y) => format!("M {} {}", show_operand(x), show_operand(y)),
        Sum(variants) => format!("S {}", variants.join(" ")),
        Fn(ps, r) => {
            let mut parts: Vec<String> = ps.iter().map(show_operand).collect();
            parts.push(show_operand(r));
            format!("F {}", parts.join(" "))
        }
    }
}

fn show_operand(t: &Type) -> String {
    use Type::*;
    match t {
        List(_) | Opt(_) | Result(..) | Map(..) | Sum(_) | Fn(..) => format!("({})", show(t)),
        _ => show(t),
    }
}

/// Type-variable bindings made while matching one call's arguments.
pub type Bindings = HashMap<char, Type>;

/// Bind the type variables of `pattern` (a builtin parameter type) from `actual`.
/// A variable bound twice gets the join of both, so conflicting uses become `_`.
pub fn bind(pattern: &Type, actual: &Type, env: &mut Bindings) {
    use Type::*;
    match (pattern, actual) {
        (Var(c), a) => {
            let joined = match env.get(c) {
                Some(old) => join(old, a),
                None => a.clone(),
            };
            env.insert(*c, joined);
        }
        (_, Any | Var(_)) => bind_all_unknown(pattern, env),
        (List(p), List(a)) => bind(p, a, env),
        (Opt(_), Nil) => {}
        (Opt(p), Opt(a)) => bind(p, a, env),
        (Opt(p), a) => bind(p, a, env),
        (p, Opt(a)) => bind(p, a, env),
        (Result(po, pe), Result(ao, ae)) | (Map(po, pe), Map(ao, ae)) => {
            bind(po, ao, env);
            bind(pe, ae, env);
        }
        (Fn(pp, pr), Fn(ap, ar)) if pp.len() == ap.len() => {
            for (p, a) in pp.iter().zip(ap) {
                bind(p, a, env);
            }
            bind(pr, ar, env);
        }
        _ => bind_all_unknown(pattern, env),
    }
}

fn bind_all_unknown(pattern: &Type, env: &mut Bindings) {
    for_each_var(pattern, &mut |c| {
        env.insert(c, Type::Any);
    });
}

fn for_each_var(t: &Type, f: &mut impl FnMut(char)) {
    use Type::*;
    match t {
        Var(c) => f(*c),
        List(x) | Opt(x) => for_each_var(x, f),
        Result(x, y) | Map(x, y) => {
            for_each_var(x, f);
            for_each_var(y, f);
        }
        Fn(ps, r) => {
            for p in ps {
                for_each_var(p, f);
            }
            for_each_var(r, f);
        }
        _ => {}
    }
}

/// `t` with every bound variable replaced by its binding and every unbound one by `_`.
pub fn substitute(t: &Type, env: &Bindings) -> Type {
    use Type::*;
    match t {
        Var(c) => env.get(c).cloned().unwrap_or(Any),
        List(x) => List(Box::new(substitute(x, env))),
        Opt(x) => Opt(Box::new(substitute(x, env))),
        Result(x, y) => Result(Box::new(substitute(x, env)), Box::new(substitute(y, env))),
        Map(x, y) => Map(Box::new(substitute(x, env)), Box::new(substitute(y, env))),
        Fn(ps, r) => Fn(
            ps.iter().map(|p| substitute(p, env)).collect(),
            Box::new(substitute(r, env)),
        ),
        other => other.clone(),
    }
}

/// `t` with every type variable replaced by `_`: what a user function's declared
/// `a` promises at a call site (nothing; the body is not checked against it).
pub fn erase_vars(t: &Type) -> Type {
    substitute(t, &Bindings::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Type::*;

    fn list(t: Type) -> Type {
        List(Box::new(t))
    }

    #[test]
    fn join_keeps_numbers_only_when_certain() {
        assert_eq!(join(&Num, &Num), Num);
        assert_eq!(join(&Num, &Any), Any);
        assert_eq!(join(&Num, &Text), Any);
        assert_eq!(join(&Nil, &Num), Opt(Box::new(Num)));
        assert_eq!(join(&list(Any), &list(Num)), list(Any));
    }

    #[test]
    fn compatibility_is_permissive_where_the_language_is_dynamic() {
        assert!(compatible(&Num, &Any));
        assert!(compatible(&Opt(Box::new(Num)), &Nil));
        assert!(compatible(&Text, &Sum(vec!["red".into()])));
        assert!(compatible(&Var('a'), &list(Num)));
        assert!(!compatible(&Num, &Text));
        assert!(!compatible(&Num, &Nil));
        assert!(!compatible(&list(Num), &list(Text)));
        assert!(!compatible(&list(Num), &Stream));
    }

    #[test]
    fn only_unproven_parts_codegen_relies_on_are_checked() {
        assert!(needs_check(&Num, &Any));
        assert!(needs_check(&Num, &Opt(Box::new(Num))));
        assert!(!needs_check(&Num, &Num));
        assert!(!needs_check(&Text, &Any));
        assert!(needs_check(&list(Num), &list(Any)));
        assert!(!needs_check(&list(Text), &Any));
        assert!(needs_check(&Named("acc".into()), &Any));
        assert!(!needs_check(&Named("acc".into()), &Named("acc".into())));
        assert_eq!(
            check_shape(&Result(Box::new(list(Num)), Box::new(Text))),
            "RLn_"
        );
    }

    #[test]
    fn shows_types_in_ilo_notation() {
        assert_eq!(show(&list(Num)), "L n");
        assert_eq!(
            show(&Result(Box::new(list(Text)), Box::new(Text))),
            "R (L t) t"
        );
        assert_eq!(show(&Fn(vec![Num], Box::new(Bool))), "F n b");
    }

    #[test]
    fn binds_variables_from_arguments() {
        let mut env = Bindings::new();
        bind(
            &Fn(vec![Var('a')], Box::new(Var('c'))),
            &Fn(vec![Num], Box::new(Text)),
            &mut env,
        );
        bind(&list(Var('a')), &list(Num), &mut env);
        assert_eq!(substitute(&list(Var('c')), &env), list(Text));
        assert_eq!(env[&'a'], Num);
        bind(&list(Var('a')), &Any, &mut env);
        assert_eq!(env[&'a'], Any);
        assert_eq!(substitute(&Var('z'), &env), Any);
    }
}
