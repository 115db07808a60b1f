//! Choosing the function a command line runs, and turning its text arguments into
//! values of the parameter types.
//!
//! Rules (SPEC.md, "Command line"):
//! - the first argument names the function to run when it has identifier shape and a
//!   function of that name exists; otherwise it is data;
//! - with no such name, a file (or inline program) declaring exactly one function runs
//!   it, and one declaring several runs `main`;
//! - arguments convert by the declared parameter type: `n` parses a number, `t` (and
//!   sum types) pass the text through untouched, `b` takes `true`/`false`, `L T` splits
//!   a comma list (optionally in brackets), `O T` also accepts `nil`, and `_` guesses
//!   (number, then bool, then text).

use ilo_compiler::ast::{Decl, FnDecl, Program, Type};
use ilo_compiler::span::FileId;
use ilo_runtime::Value;

/// Does `s` have the shape of an ilo identifier: `[a-z][a-z0-9]*(-[a-z0-9]+)*`?
pub fn is_ident(s: &str) -> bool {
    let mut segments = s.split('-');
    let Some(first) = segments.next() else {
        return false;
    };
    let first_ok = first.starts_with(|c: char| c.is_ascii_lowercase())
        && first
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && segments.all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn functions(program: &Program) -> impl Iterator<Item = &FnDecl> {
    program.decls.iter().filter_map(|d| match d {
        Decl::Func(f) => Some(f),
        _ => None,
    })
}

/// Pick the entry function. `main_file` is the file the user named (or the inline
/// program): only its own functions count when deciding whether it has exactly one.
/// Returns the function and the arguments left for it.
pub fn select<'p, 'a>(
    program: &'p Program,
    main_file: FileId,
    args: &'a [String],
) -> Result<(&'p FnDecl, &'a [String]), String> {
    if let Some(first) = args.first() {
        if is_ident(first) {
            if let Some(f) = functions(program).find(|f| f.name.name == *first) {
                return Ok((f, &args[1..]));
            }
        }
    }
    let own: Vec<&FnDecl> = functions(program)
        .filter(|f| f.span.file == main_file)
        .collect();
    if let [only] = own.as_slice() {
        return Ok((only, args));
    }
    if let Some(main) = functions(program).find(|f| f.name.name == "main") {
        return Ok((main, args));
    }
    if own.is_empty() {
        return Err("the program declares no function to run".to_string());
    }
    let names: Vec<&str> = own.iter().map(|f| f.name.name.as_str()).collect();
    Err(format!(
        "the program declares several functions and no `main`; name the one to run: {}",
        names.join(", ")
    ))
}

/// Convert the command-line arguments for `func`, checking their number.
pub fn convert_args(func: &FnDecl, args: &[String]) -> Result<Vec<Value>, String> {
    if args.len() != func.params.len() {
        let sig: Vec<String> = func
            .params
            .iter()
            .map(|p| format!("{}:{}", p.name.name, type_name(&p.ty.kind)))
            .collect();
        return Err(format!(
            "function '{}' takes {} argument{} ({}), got {}",
            func.name.name,
            func.params.len(),
            if func.params.len() == 1 { "" } else { "s" },
            sig.join(" "),
            args.len()
        ));
    }
    func.params
        .iter()
        .zip(args)
        .map(|(p, arg)| {
            convert(&p.ty.kind, arg)
                .map_err(|why| format!("argument '{}' of '{}': {why}", p.name.name, func.name.name))
        })
        .collect()
}

fn convert(ty: &Type, arg: &str) -> Result<Value, String> {
    match ty {
        Type::Num => parse_num(arg)
            .map(Value::num)
            .ok_or_else(|| format!("expected a number, got '{arg}'")),
        Type::Text | Type::Sum(_) => Ok(Value::text(arg)),
        Type::Bool => parse_bool(arg).ok_or_else(|| format!("expected true or false, got '{arg}'")),
        Type::List(inner) => {
            let body = arg
                .strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'))
                .unwrap_or(arg);
            if body.trim().is_empty() {
                return Ok(Value::list(Vec::new()));
            }
            body.split(',')
                .map(|item| convert(inner, item.trim()))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::list)
        }
        Type::Opt(inner) if arg == "nil" => {
            let _ = inner;
            Ok(Value::NIL)
        }
        Type::Opt(inner) => convert(inner, arg),
        Type::Any | Type::Var(_) | Type::Nil => Ok(guess(arg)),
        other => Err(format!(
            "a value of type {} cannot be given on the command line",
            type_name(other)
        )),
    }
}

/// Untyped argument: a number if it reads as one, then a bool, else text.
fn guess(arg: &str) -> Value {
    if let Some(n) = parse_num(arg) {
        Value::num(n)
    } else if let Some(b) = parse_bool(arg) {
        b
    } else {
        Value::text(arg)
    }
}

/// Decimal numbers only: Rust's parser would also take `inf` and `NaN`, which are
/// names, not numbers, on an ilo command line.
fn parse_num(s: &str) -> Option<f64> {
    let s = s.trim();
    let digits = s.trim_start_matches(['-', '+']);
    if !digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    s.parse().ok()
}

fn parse_bool(s: &str) -> Option<Value> {
    match s {
        "true" => Some(Value::bool(true)),
        "false" => Some(Value::bool(false)),
        _ => None,
    }
}

/// A type as it is written in ilo source.
pub fn type_name(ty: &Type) -> String {
    match ty {
        Type::Num => "n".into(),
        Type::Text => "t".into(),
        Type::Bool => "b".into(),
        Type::Any => "_".into(),
        Type::Nil => "nil".into(),
        Type::List(t) => format!("L {}", nested(t)),
        Type::Result(a, b) => format!("R {} {}", nested(a), nested(b)),
        Type::Opt(t) => format!("O {}", nested(t)),
        Type::Map(k, v) => format!("M {} {}", nested(k), nested(v)),
        Type::Sum(vs) => format!("S {}", vs.join(" ")),
        Type::Fn(ps, r) => {
            let mut parts: Vec<String> = ps.iter().map(nested).collect();
            parts.push(nested(r));
            format!("F {}", parts.join(" "))
        }
        Type::Named(n) => n.clone(),
        Type::Var(c) => c.to_string(),
        Type::Stream => "stream".into(),
    }
}

/// Compound types nested inside another are parenthesised: `L (L n)`.
fn nested(ty: &Type) -> String {
    let s = type_name(ty);
    if s.contains(' ') {
        format!("({s})")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ilo_compiler::ast::{Block, Ident, Param, TypeExpr};
    use ilo_compiler::span::Span;

    fn func(name: &str, file: u32, params: &[(&str, Type)]) -> Decl {
        let span = Span::new(FileId(file), 0, 0);
        Decl::Func(FnDecl {
            name: Ident {
                name: name.into(),
                span,
            },
            params: params
                .iter()
                .map(|(n, t)| Param {
                    name: Ident {
                        name: (*n).into(),
                        span,
                    },
                    ty: TypeExpr {
                        kind: t.clone(),
                        span,
                    },
                })
                .collect(),
            ret: TypeExpr {
                kind: Type::Num,
                span,
            },
            body: Block::new(),
            span,
        })
    }

    fn program(decls: Vec<Decl>) -> Program {
        Program {
            decls,
            expr_count: 0,
        }
    }

    fn args(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn identifier_shape() {
        for ok in ["run", "run-d", "r2", "list-orders", "a1-b2"] {
            assert!(is_ident(ok), "{ok}");
        }
        for bad in [
            "runD", "run_d", "-run", "foo-", "foo--bar", "2x", "", "a.b", "/tmp",
        ] {
            assert!(!is_ident(bad), "{bad}");
        }
    }

    #[test]
    fn single_function_runs_with_all_args() {
        let p = program(vec![func("f", 0, &[("x", Type::Text)])]);
        let a = args(&["abc"]);
        let (f, rest) = select(&p, FileId(0), &a).unwrap();
        assert_eq!(f.name.name, "f");
        assert_eq!(rest, ["abc"]);
    }

    #[test]
    fn named_function_wins_then_main() {
        let p = program(vec![
            func("helper", 1, &[]),
            func("dbl", 0, &[("x", Type::Num)]),
            func("main", 0, &[]),
        ]);
        let a = args(&["dbl", "4"]);
        let (f, rest) = select(&p, FileId(0), &a).unwrap();
        assert_eq!((f.name.name.as_str(), rest), ("dbl", &a[1..]));
        let a = args(&["helper"]);
        assert_eq!(select(&p, FileId(0), &a).unwrap().0.name.name, "helper");
        let a = args(&["other"]);
        let (f, rest) = select(&p, FileId(0), &a).unwrap();
        assert_eq!((f.name.name.as_str(), rest.len()), ("main", 1));
    }

    #[test]
    fn imported_functions_do_not_count_towards_single_function_files() {
        let p = program(vec![func("lib", 1, &[]), func("f", 0, &[])]);
        assert_eq!(select(&p, FileId(0), &[]).unwrap().0.name.name, "f");
    }

    #[test]
    fn several_functions_without_main_is_an_error_listing_them() {
        let p = program(vec![func("a", 0, &[]), func("b", 0, &[])]);
        let err = select(&p, FileId(0), &[]).unwrap_err();
        assert!(err.contains("a, b"), "{err}");
    }

    #[test]
    fn conversion_follows_parameter_types() {
        let Decl::Func(f) = func(
            "f",
            0,
            &[
                ("a", Type::Num),
                ("b", Type::Text),
                ("c", Type::List(Box::new(Type::Num))),
                ("d", Type::Bool),
                ("e", Type::Any),
                ("g", Type::List(Box::new(Type::Text))),
            ],
        ) else {
            unreachable!()
        };
        let vals =
            convert_args(&f, &args(&["-3.5", "42", "1,2,3", "true", "abc", "[x,y]"])).unwrap();
        let shown: Vec<String> = vals.iter().map(|v| v.to_string()).collect();
        assert_eq!(shown, ["-3.5", "42", "[1, 2, 3]", "true", "abc", "[x, y]"]);
        assert!(vals[1].as_text().is_some(), "t params stay text");
        assert!(vals[4].as_text().is_some());
        assert!(convert_args(&f, &args(&["x"]))
            .unwrap_err()
            .contains("takes 6 arguments"));
        let bad = args(&["nan", "1", "1", "true", "1", "a"]);
        assert!(convert_args(&f, &bad)
            .unwrap_err()
            .contains("expected a number"));
    }

    #[test]
    fn type_names_read_like_source() {
        let t = Type::List(Box::new(Type::Result(
            Box::new(Type::Num),
            Box::new(Type::Text),
        )));
        assert_eq!(type_name(&t), "L (R n t)");
    }
}
