//! Where and how the command reports problems: the diagnostic format chosen from the
//! flags and the terminal, and the process exit codes.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use ilo_compiler::diag::{Diagnostic, Severity};
use ilo_compiler::render::{render_all, Format};
use ilo_compiler::span::SourceMap;
use ilo_runtime::program::command;
use ilo_runtime::program::render::DiagFormat;

use crate::cli::GlobalOpts;

/// Exit code of a program that returned `^e` or failed at run time.
pub const EXIT_PROGRAM_ERROR: u8 = 1;
/// Exit code for a program that does not compile, or a command-line usage error.
pub const EXIT_COMPILE_ERROR: u8 = 2;

/// How diagnostics reach stderr.
#[derive(Clone, Copy, Debug)]
pub struct Reporter {
    pub format: Format,
}

impl Reporter {
    /// `--json` / `--text` force a format; otherwise text on a terminal, JSON elsewhere
    /// (so tools reading a pipe get something they can parse). Colour needs both a
    /// terminal and an unset (or empty) `NO_COLOR`.
    pub fn from_opts(opts: &GlobalOpts) -> Reporter {
        let tty = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let text = Format::Text {
            color: tty && !no_color,
        };
        let format = if opts.json {
            Format::Json
        } else if opts.text || tty {
            text
        } else {
            Format::Json
        };
        Reporter { format }
    }

    /// Write diagnostics to stderr.
    pub fn diagnostics(&self, diags: &[Diagnostic], sources: &SourceMap) {
        let text = render_all(diags, sources, self.format);
        let mut err = std::io::stderr().lock();
        // Nothing useful can be done if stderr itself is gone.
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    /// A command-line usage problem (not tied to a source location), exit 2, written
    /// the way built binaries write theirs.
    pub fn usage_error(&self, message: &str) -> ExitCode {
        ExitCode::from(command::usage_error(message, self.diag_format()))
    }

    /// The runtime's name for this reporter's format (runtime errors and server logs
    /// are rendered by the runtime, shared with built binaries).
    pub fn diag_format(&self) -> DiagFormat {
        match self.format {
            Format::Text { color } => DiagFormat::Text { color },
            Format::Json => DiagFormat::Json,
        }
    }
}

/// Do any of these diagnostics stop compilation?
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.severity == Severity::Error)
}
