//! Shared helpers for the code generator tests: load inline source, verify it, JIT it
//! and call a function, returning what the program would print.

#![allow(dead_code)]

use ilo_compiler::ast::Type;
use ilo_compiler::codegen::{JitProgram, RuntimeFailure};
use ilo_compiler::loader;
use ilo_compiler::span::SourceMap;
use ilo_compiler::verify::verify;
use ilo_runtime::Value;

/// Compile `code`, panicking with the diagnostics when it does not load or verify.
pub fn compile(code: &str) -> (JitProgram, SourceMap) {
    let loaded = loader::load_inline(code);
    let Some(program) = loaded.program else {
        panic!("{code:?} does not load: {:#?}", loaded.diagnostics);
    };
    let checked = match verify(program) {
        Ok(c) => c,
        Err(d) => panic!("{code:?} does not verify: {d:#?}"),
    };
    match JitProgram::compile(&checked) {
        Ok(p) => (p, loaded.sources),
        Err(d) => panic!("{code:?} does not compile: {d:#?}"),
    }
}

/// Convert command-line style arguments by the parameter types (numbers for `n`,
/// comma lists for `L n` / `L t`, raw text otherwise).
pub fn args_for(types: &[Type], args: &[&str]) -> Vec<Value> {
    types
        .iter()
        .zip(args)
        .map(|(t, a)| match t {
            Type::Num => Value::num(a.parse().expect("numeric argument")),
            Type::Bool => Value::bool(*a == "true"),
            Type::List(inner) => Value::list(
                a.split(',')
                    .map(|x| match **inner {
                        Type::Num => Value::num(x.parse().expect("numeric element")),
                        _ => Value::text(x),
                    })
                    .collect(),
            ),
            _ => Value::text(*a),
        })
        .collect()
}

/// Run `func` of `code` with `args` on a big stack.
pub fn call(code: &str, func: &str, args: &[&str]) -> Result<Value, RuntimeFailure> {
    let (prog, _) = compile(code);
    let types = prog.param_types(func).expect("function exists");
    prog.call_on_big_stack(func, args_for(&types, args))
}

/// The entry function the tests use: `main` when declared, else the first function.
pub fn entry(code: &str) -> String {
    if code.lines().any(|l| l.starts_with("main")) {
        return "main".into();
    }
    let first = code
        .lines()
        .find(|l| !l.starts_with("type ") && !l.starts_with("use "))
        .unwrap_or("f");
    first
        .split([' ', '>', ':'])
        .next()
        .unwrap_or("f")
        .to_string()
}

/// What the program prints: the value (an Ok unwrapped), `^e` for an Err result, or
/// `CODE: message` for a runtime error.
pub fn output(code: &str, args: &[&str]) -> String {
    match call(code, &entry(code), args) {
        Ok(v) => match v.as_result() {
            Some(Ok(inner)) => inner.to_string(),
            Some(Err(e)) => format!("^{e}"),
            None => v.to_string(),
        },
        Err(f) => format!("{}: {}", f.error.code, f.error.message),
    }
}

/// Run every `(code, args, expected output)` case (`⏎` in code is a newline) and fail
/// once with every mismatch listed.
pub fn check_outputs(cases: &[(&str, &[&str], &str)]) {
    let mut failures = Vec::new();
    for (code, args, want) in cases {
        let code = code.replace('⏎', "\n");
        let got = output(&code, args);
        if got != *want {
            failures.push(format!("{code:?} {args:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The source text a runtime failure's span covers.
pub fn failing_text(code: &str, args: &[&str]) -> String {
    let (prog, sources) = compile(code);
    let func = entry(code);
    let types = prog.param_types(&func).expect("function exists");
    let failure = prog
        .call_on_big_stack(&func, args_for(&types, args))
        .expect_err("program should fail");
    let span = failure.span.expect("failure has a span");
    let text = &sources.file(span.file).text;
    text[span.start as usize..span.end as usize].to_string()
}
