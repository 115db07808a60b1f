//! `ilo check FILE`: load and verify a program without running it.
//!
//! Every diagnostic of every file is printed, warnings and hints included; exit 0 when
//! there are no errors, 2 when there are. The same front-end step is shared with `run`.

use std::path::Path;
use std::process::ExitCode;

use ilo_compiler::loader::{self, Loaded};
use ilo_compiler::span::SourceMap;
use ilo_compiler::verify::{self, Checked};

use crate::report::{has_errors, Reporter, EXIT_COMPILE_ERROR};

/// Where a program comes from.
pub enum ProgramSource<'a> {
    File(&'a Path),
    Inline(&'a str),
}

/// Load and verify, reporting every diagnostic. `Err` carries the exit code.
pub fn front_end(
    source: ProgramSource<'_>,
    reporter: &Reporter,
) -> Result<(Checked, SourceMap), ExitCode> {
    let Loaded {
        program,
        sources,
        diagnostics,
    } = match source {
        ProgramSource::File(path) => loader::load_file(path),
        ProgramSource::Inline(code) => loader::load_inline(code),
    };
    if !diagnostics.is_empty() {
        reporter.diagnostics(&diagnostics, &sources);
    }
    let program = match program {
        Some(p) if !has_errors(&diagnostics) => p,
        _ => return Err(ExitCode::from(EXIT_COMPILE_ERROR)),
    };
    match verify::verify(program) {
        Ok(checked) => {
            // Warnings and hints do not stop the program, but they are worth seeing.
            if !checked.warnings.is_empty() {
                reporter.diagnostics(&checked.warnings, &sources);
            }
            Ok((checked, sources))
        }
        Err(diags) => {
            reporter.diagnostics(&diags, &sources);
            Err(ExitCode::from(EXIT_COMPILE_ERROR))
        }
    }
}

pub fn check(file: &str, reporter: &Reporter) -> ExitCode {
    match front_end(ProgramSource::File(Path::new(file)), reporter) {
        Ok(_) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
