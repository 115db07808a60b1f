//! `ilo FILE [func] [args…]`, `ilo run …` and `ilo 'inline code' [args…]`: compile a
//! program with the JIT, call its entry function and turn the result into output and
//! an exit code.
//!
//! Output contract (SPEC.md, "Program output"): a plain value or `~v` prints `v` on
//! stdout and exits 0; `^e` prints `^e` on stderr and exits 1; a runtime error is a
//! diagnostic on stderr and exits 1; a program that does not compile exits 2.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use ilo_compiler::codegen::JitProgram;
use ilo_compiler::diag::Diagnostic;
use ilo_compiler::span::FileId;
use ilo_runtime::Value;

use crate::check::{front_end, ProgramSource};
use crate::entry;
use crate::report::{Reporter, EXIT_COMPILE_ERROR, EXIT_PROGRAM_ERROR};

/// Decide whether `program` names a file or is inline code.
///
/// An existing path is a file. Otherwise, text that contains characters only code
/// has (an ilo program always has `>` in a signature, most have `;` or spaces) is
/// inline code; anything else is reported as a missing file.
pub fn classify(program: &str) -> Result<ProgramSource<'_>, String> {
    let path = Path::new(program);
    if path.is_file() {
        return Ok(ProgramSource::File(path));
    }
    let looks_like_code = program
        .chars()
        .any(|c| matches!(c, '>' | ';' | ' ' | '\n' | '\t' | '{' | '"' | '[' | '('));
    if looks_like_code && !program.ends_with(".ilo") {
        Ok(ProgramSource::Inline(program))
    } else if path.exists() {
        Err(format!("'{program}' is not a file"))
    } else {
        Err(format!("no such file: '{program}'"))
    }
}

pub fn run(program: &str, args: &[String], reporter: &Reporter) -> ExitCode {
    let source = match classify(program) {
        Ok(s) => s,
        Err(msg) => return reporter.usage_error(&msg),
    };
    let (checked, sources) = match front_end(source, reporter) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // The main file (or the inline program) is always the first one loaded.
    let (func, rest) = match entry::select(&checked.program, FileId(0), args) {
        Ok(x) => x,
        Err(msg) => return reporter.usage_error(&msg),
    };
    let values = match entry::convert_args(func, rest) {
        Ok(v) => v,
        Err(msg) => return reporter.usage_error(&msg),
    };
    let name = func.name.name.clone();

    let jit = match JitProgram::compile(&checked) {
        Ok(j) => j,
        Err(diags) => {
            reporter.diagnostics(&diags, &sources);
            return ExitCode::from(EXIT_COMPILE_ERROR);
        }
    };
    // Deep (but finite) recursion needs more stack than the main thread has.
    match jit.call_on_big_stack(&name, values) {
        Ok(value) => print_result(&value),
        Err(failure) => {
            let diag = match failure.span {
                Some(span) => {
                    Diagnostic::error(failure.error.code, failure.error.message.clone(), span)
                }
                None => Diagnostic {
                    labels: Vec::new(),
                    ..Diagnostic::error(
                        failure.error.code,
                        failure.error.message.clone(),
                        Default::default(),
                    )
                },
            };
            flush_stdout();
            reporter.diagnostics(&[diag], &sources);
            ExitCode::from(EXIT_PROGRAM_ERROR)
        }
    }
}

/// Top-level output: only the outermost result is split across the two streams.
fn print_result(value: &Value) -> ExitCode {
    match value.as_result() {
        Some(Ok(v)) => print_stdout(v),
        Some(Err(e)) => {
            flush_stdout();
            eprintln!("^{e}");
            ExitCode::from(EXIT_PROGRAM_ERROR)
        }
        None => print_stdout(value),
    }
}

fn print_stdout(v: &Value) -> ExitCode {
    let mut out = std::io::stdout().lock();
    // A closed stdout (`ilo … | head -0`) is not the program's failure.
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
    ExitCode::SUCCESS
}

/// Anything the program printed with `prnt` goes out before the error does.
fn flush_stdout() {
    let _ = std::io::stdout().flush();
}
