//! `ilo FILE [func] [args…]`, `ilo run …` and `ilo 'inline code' [args…]`: compile a
//! program with the JIT, call its entry function and turn the result into output and
//! an exit code.
//!
//! Output contract (SPEC.md, "Program output"): a plain value or `~v` prints `v` on
//! stdout and exits 0; `^e` prints `^e` on stderr and exits 1; a runtime error is a
//! diagnostic on stderr and exits 1; a program that does not compile exits 2.
//!
//! Entry selection, argument conversion, output and the runtime-error diagnostic are
//! the runtime's (`ilo_runtime::program`), shared with binaries built by `ilo build`,
//! so both behave identically; only the order of steps is decided here (arguments are
//! checked before anything is compiled).

use std::path::Path;
use std::process::ExitCode;

use ilo_compiler::codegen::{aot, JitProgram};
use ilo_compiler::span::SourceMap;
use ilo_compiler::verify::Checked;
use ilo_runtime::program::{args, command, Description, Program};

use crate::check::{front_end, ProgramSource};
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

pub fn run(program: &str, cli_args: &[String], reporter: &Reporter) -> ExitCode {
    let source = match classify(program) {
        Ok(s) => s,
        Err(msg) => return reporter.usage_error(&msg),
    };
    let (checked, sources) = match front_end(source, reporter) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Selection needs only names, files (the main file is always file 0) and
    // parameters, so a wrong command line is reported before compiling.
    let declared = Description {
        functions: aot::function_infos(&checked),
        ..Description::default()
    };
    let (chosen, rest) = match args::select(&declared, cli_args) {
        Ok(x) => x,
        Err(msg) => return reporter.usage_error(&msg),
    };
    let values = match args::convert_args(&declared.functions[chosen], rest) {
        Ok(v) => v,
        Err(msg) => return reporter.usage_error(&msg),
    };
    let name = &declared.functions[chosen].name;
    let (program, index) = match compile(&checked, &sources, name, reporter) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Deep (but finite) recursion needs more stack than the main thread has.
    let outcome = program.call_on_big_stack(index, values);
    ilo_runtime::copy_stats::report_if_asked();
    match outcome {
        Ok(value) => ExitCode::from(command::print_entry_result(
            &declared.functions[chosen],
            &value,
        )),
        Err(failure) => {
            command::report_failure(&program, &failure, reporter.diag_format());
            ExitCode::from(EXIT_PROGRAM_ERROR)
        }
    }
}

/// JIT-compile a verified program into the runtime's form of it (shared with built
/// binaries) and find the function `name` there.
pub fn compile(
    checked: &Checked,
    sources: &SourceMap,
    name: &str,
    reporter: &Reporter,
) -> Result<(Program, usize), ExitCode> {
    let jit = JitProgram::compile(checked).map_err(|diags| {
        reporter.diagnostics(&diags, sources);
        ExitCode::from(EXIT_COMPILE_ERROR)
    })?;
    let program = jit
        .into_program(checked, sources)
        .map_err(|msg| internal_error(&msg))?;
    let index = program
        .find(name)
        .ok_or_else(|| internal_error(&format!("the function '{name}' was not compiled")))?;
    Ok((program, index))
}

/// A failure of ilo itself rather than of the program.
fn internal_error(message: &str) -> ExitCode {
    eprintln!("ilo: internal error: {message}");
    ExitCode::from(EXIT_PROGRAM_ERROR)
}
