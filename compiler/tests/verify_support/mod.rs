//! Shared helpers for the verifier tests: parse inline source, verify it, and pick
//! out diagnostics.

#![allow(dead_code)]

use ilo_compiler::ast::{Decl, SourceProgram};
use ilo_compiler::diag::{Diagnostic, Severity};
use ilo_compiler::loader;
use ilo_compiler::verify::{verify, Checked};

/// Load `code` as an inline program; panics on a syntax error (the tests are about
/// the verifier, so a parse failure is a broken test).
pub fn parse(code: &str) -> SourceProgram {
    let loaded = loader::load_inline(code);
    let errors: Vec<&Diagnostic> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{code:?} does not parse: {errors:?}");
    loaded.program.expect("a program without errors")
}

pub fn check(code: &str) -> Result<Checked, Vec<Diagnostic>> {
    verify(parse(code))
}

/// The verified program; panics with the errors if it does not verify.
pub fn ok(code: &str) -> Checked {
    match check(code) {
        Ok(checked) => checked,
        Err(diags) => panic!("{code:?} should verify, got {:#?}", messages(&diags)),
    }
}

/// The errors of a program that must not verify.
pub fn errors(code: &str) -> Vec<Diagnostic> {
    match check(code) {
        Ok(_) => panic!("{code:?} should not verify"),
        Err(diags) => diags
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect(),
    }
}

pub fn first_error(code: &str) -> Diagnostic {
    errors(code).remove(0)
}

/// Codes of all errors of a program that must not verify.
pub fn error_codes(code: &str) -> Vec<&'static str> {
    errors(code).iter().map(|d| d.code).collect()
}

pub fn messages(diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect()
}

/// The declaration of function `name`.
pub fn func<'a>(checked: &'a Checked, name: &str) -> &'a ilo_compiler::ast::FnDecl {
    checked
        .program
        .decls
        .iter()
        .find_map(|d| match d {
            Decl::Func(f) if f.name.name == name => Some(f),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no function {name}"))
}
