//! Choosing the function a command line runs, and turning its text arguments into
//! values of the parameter kinds.
//!
//! Rules (SPEC.md, "Command line"):
//! - the first argument names the function to run when it has identifier shape and a
//!   function of that name exists; otherwise it is data;
//! - with no such name, a main file declaring exactly one function runs it, and one
//!   declaring several runs `main`;
//! - arguments convert by parameter kind: `n` parses a number, `t` (and sum types)
//!   take the text, `b` takes `true`/`false`, `L T` reads a comma list (optionally in
//!   brackets, nested lists in brackets), `O T` also accepts `nil`, and `_` reads the
//!   shape (a bracketed or comma list, a number, a bool, `nil`, else text);
//! - a text written in double quotes loses them, alone or as a list element, as when
//!   a shell passes `'"two words"'` through. Nothing inside is unescaped.

use super::{Description, FunctionInfo, ParamKind};
use crate::value::Value;

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

/// Pick the entry function: its index and the arguments left for it. Only functions
/// of file 0 (the file the user named) count when deciding whether it has exactly one.
pub fn select<'a>(desc: &Description, args: &'a [String]) -> Result<(usize, &'a [String]), String> {
    let fns = &desc.functions;
    if let Some(first) = args.first() {
        if is_ident(first) {
            if let Some(i) = fns.iter().position(|f| f.name == *first) {
                return Ok((i, &args[1..]));
            }
        }
    }
    let own: Vec<usize> = (0..fns.len()).filter(|&i| fns[i].file == 0).collect();
    if let [only] = own.as_slice() {
        return Ok((*only, args));
    }
    if let Some(main) = fns.iter().position(|f| f.name == "main") {
        return Ok((main, args));
    }
    if own.is_empty() {
        return Err("the program declares no function to run".to_string());
    }
    let names: Vec<&str> = own.iter().map(|&i| fns[i].name.as_str()).collect();
    Err(format!(
        "the program declares several functions and no `main`; name the one to run: {}",
        names.join(", ")
    ))
}

/// Convert the command-line arguments for `func`, checking their number.
pub fn convert_args(func: &FunctionInfo, args: &[String]) -> Result<Vec<Value>, String> {
    if args.len() != func.params.len() {
        let sig: Vec<String> = func
            .params
            .iter()
            .map(|p| format!("{}:{}", p.name, p.type_text))
            .collect();
        return Err(format!(
            "function '{}' takes {} argument{} ({}), got {}",
            func.name,
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
            convert(&p.kind, &p.type_text, arg)
                .map_err(|why| format!("argument '{}' of '{}': {why}", p.name, func.name))
        })
        .collect()
}

/// `type_text` names the parameter's declared type in the message for kinds a
/// command line cannot express.
fn convert(kind: &ParamKind, type_text: &str, arg: &str) -> Result<Value, String> {
    match kind {
        ParamKind::Num => parse_num(arg)
            .map(Value::num)
            .ok_or_else(|| format!("expected a number, got '{arg}'")),
        ParamKind::Text => Ok(Value::text(unquote(arg))),
        ParamKind::Bool => {
            parse_bool(arg).ok_or_else(|| format!("expected true or false, got '{arg}'"))
        }
        ParamKind::List(inner) => list_items(arg)
            .into_iter()
            .map(|item| convert(inner, inner_text(type_text), item))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::list),
        ParamKind::Opt(_) if arg == "nil" => Ok(Value::NIL),
        ParamKind::Opt(inner) => convert(inner, inner_text(type_text), arg),
        ParamKind::Any => Ok(by_shape(arg)),
        ParamKind::Unsupported => Err(format!(
            "a value of type {type_text} cannot be given on the command line"
        )),
    }
}

/// `L (M t n)` → `M t n`: the element type's text, for messages about it.
fn inner_text(type_text: &str) -> &str {
    let rest = type_text
        .split_once(' ')
        .map_or(type_text, |(_, rest)| rest);
    rest.strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(rest)
}

/// `"hi"` → `hi`; anything else unchanged.
fn unquote(arg: &str) -> &str {
    if arg.len() >= 2 && arg.starts_with('"') && arg.ends_with('"') {
        &arg[1..arg.len() - 1]
    } else {
        arg
    }
}

/// The elements of a list argument, each trimmed: the text between the outer
/// brackets (when there are both) split at commas that are not inside inner brackets.
/// Commas inside quotes still split, as upstream ilo does.
fn list_items(arg: &str) -> Vec<&str> {
    let arg = arg.trim();
    let body = arg
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(arg);
    if body.trim().is_empty() {
        return Vec::new();
    }
    let mut items = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in body.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(body[start..].trim());
    items
}

/// An untyped argument, read by its shape: a list when bracketed or comma-separated
/// (elements read the same way), then a number, a bool, `nil`, or text.
fn by_shape(arg: &str) -> Value {
    let trimmed = arg.trim();
    let bracketed = trimmed.starts_with('[') && trimmed.ends_with(']');
    if bracketed || (list_items(trimmed).len() > 1) {
        return Value::list(list_items(trimmed).into_iter().map(by_shape).collect());
    }
    if let Some(n) = parse_num(arg) {
        Value::num(n)
    } else if let Some(b) = parse_bool(arg) {
        b
    } else if trimmed == "nil" {
        Value::NIL
    } else {
        Value::text(unquote(trimmed))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::ParamInfo;

    fn func(name: &str, file: u32, params: &[(&str, ParamKind, &str)]) -> FunctionInfo {
        FunctionInfo {
            name: name.into(),
            file,
            params: params
                .iter()
                .map(|(n, k, t)| ParamInfo {
                    name: (*n).into(),
                    kind: k.clone(),
                    type_text: (*t).into(),
                })
                .collect(),
            silent_result: false,
        }
    }

    fn desc(functions: Vec<FunctionInfo>) -> Description {
        Description {
            functions,
            ..Description::default()
        }
    }

    fn args(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn identifier_shape() {
        for ok in ["run", "run-d", "r2", "a1-b2"] {
            assert!(is_ident(ok), "{ok}");
        }
        for bad in ["runD", "run_d", "-run", "foo-", "foo--bar", "2x", "", "a.b"] {
            assert!(!is_ident(bad), "{bad}");
        }
    }

    #[test]
    fn named_function_wins_then_single_own_then_main() {
        let d = desc(vec![
            func("helper", 1, &[]),
            func("dbl", 0, &[("x", ParamKind::Num, "n")]),
            func("main", 0, &[]),
        ]);
        let a = args(&["dbl", "4"]);
        assert_eq!(select(&d, &a).unwrap(), (1, &a[1..]));
        let a = args(&["helper"]);
        assert_eq!(select(&d, &a).unwrap().0, 0);
        let a = args(&["other"]);
        assert_eq!(select(&d, &a).unwrap(), (2, &a[..]));
        let d = desc(vec![func("lib", 1, &[]), func("f", 0, &[])]);
        assert_eq!(select(&d, &[]).unwrap().0, 1);
        let d = desc(vec![func("a", 0, &[]), func("b", 0, &[])]);
        assert!(select(&d, &[]).unwrap_err().contains("a, b"));
        assert!(select(&desc(vec![]), &[])
            .unwrap_err()
            .contains("no function"));
    }

    #[test]
    fn conversion_follows_parameter_kinds() {
        let list_n = ParamKind::List(Box::new(ParamKind::Num));
        let f = func(
            "f",
            0,
            &[
                ("a", ParamKind::Num, "n"),
                ("b", ParamKind::Text, "t"),
                ("c", list_n, "L n"),
                ("d", ParamKind::Bool, "b"),
                ("e", ParamKind::Any, "_"),
                ("g", ParamKind::Opt(Box::new(ParamKind::Num)), "O n"),
            ],
        );
        let vals = convert_args(&f, &args(&["-3.5", "42", "[1,2]", "true", "abc", "nil"])).unwrap();
        let shown: Vec<String> = vals.iter().map(|v| v.to_string()).collect();
        assert_eq!(shown, ["-3.5", "42", "[1, 2]", "true", "abc", "nil"]);
        assert!(vals[1].as_text().is_some(), "t params stay text");
        let l = ParamKind::List(Box::new(ParamKind::List(Box::new(ParamKind::Text))));
        let g = func("g", 0, &[("m", l, "L (L t)"), ("s", ParamKind::Text, "t")]);
        let vals = convert_args(&g, &args(&[r#"[["u", "v"],["w"]]"#, r#""two words""#])).unwrap();
        let shown: Vec<String> = vals.iter().map(|v| v.to_string()).collect();
        assert_eq!(shown, ["[[u, v], [w]]", "two words"]);
        let a = func("a", 0, &[("x", ParamKind::Any, "_")]);
        let shown = |arg: &str| convert_args(&a, &args(&[arg])).unwrap()[0].to_string();
        assert_eq!(shown(r#"[1,[2,"z"]]"#), "[1, [2, z]]");
        assert_eq!(shown("p,q"), "[p, q]");
        assert_eq!(shown("nil"), "nil");
        assert_eq!(shown(r#""hey""#), "hey");
        let err = convert_args(&f, &args(&["x"])).unwrap_err();
        assert_eq!(
            err,
            "function 'f' takes 6 arguments (a:n b:t c:L n d:b e:_ g:O n), got 1"
        );
        let bad = args(&["inf", "1", "1", "true", "1", "2"]);
        assert!(convert_args(&f, &bad)
            .unwrap_err()
            .contains("expected a number, got 'inf'"));
        let m = func("m", 0, &[("x", ParamKind::Unsupported, "M t n")]);
        assert_eq!(
            convert_args(&m, &args(&["a"])).unwrap_err(),
            "argument 'x' of 'm': a value of type M t n cannot be given on the command line"
        );
    }
}
