//! Running a program as a command: pick the entry function, convert the arguments,
//! call it, and turn the result into output and an exit code.
//!
//! Output contract (SPEC.md, "Program output"): a plain value or `~v` prints `v` on
//! stdout and exits 0; `^e` prints `^e` on stderr and exits 1; a runtime error is a
//! diagnostic on stderr and exits 1; a usage problem (unknown function, wrong
//! arguments) is a diagnostic without location and exits 2. A function whose body
//! ends in a loop and never returns early prints nothing of its own (see
//! `FunctionInfo::silent_result`).

use std::io::Write;

use super::render::{render_all, Diag, DiagFormat};
use super::{args, Failure, Program};
use crate::error::codes;
use crate::value::Value;

/// Exit code of a program that returned `^e` or failed at run time.
pub const EXIT_PROGRAM_ERROR: u8 = 1;
/// Exit code of a command-line usage error (and, in `ilo`, of a compile error).
pub const EXIT_USAGE_ERROR: u8 = 2;

/// Run `program` with the command-line `args` (capability flags, then the function
/// name, optionally, then its arguments). Returns the process exit code.
pub fn run(program: &Program, args: &[String], format: DiagFormat) -> u8 {
    let args = crate::caps::apply_leading_flags(args);
    let desc = &program.description;
    let (index, rest) = match args::select(desc, args) {
        Ok(x) => x,
        Err(msg) => return usage_error(&msg, format),
    };
    let values = match args::convert_args(&desc.functions[index], rest) {
        Ok(v) => v,
        Err(msg) => return usage_error(&msg, format),
    };
    // Deep (but finite) recursion needs more stack than the main thread has.
    let outcome = program.call_on_big_stack(index, values);
    crate::copy_stats::report_if_asked();
    match outcome {
        Ok(value) => print_entry_result(&desc.functions[index], &value),
        Err(failure) => {
            report_failure(program, &failure, format);
            EXIT_PROGRAM_ERROR
        }
    }
}

/// Write a runtime failure's diagnostic to stderr, after whatever the program
/// printed with `prnt`.
pub fn report_failure(program: &Program, failure: &Failure, format: DiagFormat) {
    flush_stdout();
    let text = render_failure(program, failure, format);
    let mut err = std::io::stderr().lock();
    // Nothing useful can be done if stderr itself is gone.
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// A runtime failure's diagnostic, newline-terminated.
pub fn render_failure(program: &Program, failure: &Failure, format: DiagFormat) -> String {
    render_all(
        &[Diag::from_failure(failure)],
        &program.description.sources,
        format,
    )
}

/// A usage problem, not tied to a source location: report it and return exit code 2.
pub fn usage_error(message: &str, format: DiagFormat) -> u8 {
    match format {
        DiagFormat::Json => {
            let j = serde_json::json!({
                "severity": "error",
                "code": codes::USAGE,
                "message": message,
                "labels": [],
                "notes": [],
                "suggestion": null,
            });
            eprintln!("{j}");
        }
        DiagFormat::Text { .. } => eprintln!("error: {message}"),
    }
    EXIT_USAGE_ERROR
}

/// The entry function's output: nothing for a silent one (unless it is `^e`), else
/// [`print_result`]. Returns the exit code.
pub fn print_entry_result(func: &super::FunctionInfo, value: &Value) -> u8 {
    if func.silent_result && !matches!(value.as_result(), Some(Err(_))) {
        return 0;
    }
    print_result(value)
}

/// Top-level output: only the outermost result is split across the two streams.
pub fn print_result(value: &Value) -> u8 {
    match value.as_result() {
        Some(Ok(v)) => print_stdout(v),
        Some(Err(e)) => {
            flush_stdout();
            eprintln!("^{e}");
            EXIT_PROGRAM_ERROR
        }
        None => print_stdout(value),
    }
}

fn print_stdout(v: &Value) -> u8 {
    let mut out = std::io::stdout().lock();
    // A closed stdout (`prog | head -0`) is not the program's failure.
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
    0
}

fn flush_stdout() {
    let _ = std::io::stdout().flush();
}
