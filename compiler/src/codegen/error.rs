//! What can stop code generation. A verified program should always compile, so each
//! case is a gap in the compiler (or a backend limit), reported as `ILO-C001` at the
//! construct or function concerned rather than as a panic.

use std::fmt;

use crate::diag::Diagnostic;
use crate::span::Span;

/// Stable diagnostic codes of the code generator.
pub mod codes {
    /// The code generator could not compile a verified program.
    pub const INTERNAL: &str = "ILO-C001";
}

#[derive(Clone, Debug)]
pub enum CodegenError {
    /// Cranelift refused a declaration, a definition or a setting.
    Backend { message: String, span: Span },
    /// A construct the translator cannot compile (a check the verifier lacks).
    Unsupported { what: String, span: Span },
}

impl CodegenError {
    /// A backend failure with no source position yet (see [`CodegenError::at`]).
    pub fn backend(message: impl fmt::Display) -> CodegenError {
        CodegenError::Backend {
            message: message.to_string(),
            span: Span::default(),
        }
    }

    /// The same error placed at `span` when it has no position of its own.
    pub fn at(self, span: Span) -> CodegenError {
        match self {
            CodegenError::Backend { message, span: s } if s == Span::default() => {
                CodegenError::Backend { message, span }
            }
            other => other,
        }
    }

    fn span(&self) -> Span {
        match self {
            CodegenError::Backend { span, .. } | CodegenError::Unsupported { span, .. } => *span,
        }
    }
}

impl fmt::Display for CodegenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodegenError::Backend { message, .. } => f.write_str(message),
            CodegenError::Unsupported { what, .. } => f.write_str(what),
        }
    }
}

impl std::error::Error for CodegenError {}

impl From<CodegenError> for Diagnostic {
    fn from(e: CodegenError) -> Diagnostic {
        Diagnostic::error(codes::INTERNAL, e.to_string(), e.span())
    }
}
