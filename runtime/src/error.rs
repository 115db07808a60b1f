//! Runtime errors and the thread's pending-error slot.
//!
//! Rust code in the runtime returns `Result<_, RtError>`. At the `extern "C"` boundary
//! an error is parked in a thread-local slot and [`ERROR_SENTINEL`] is returned; compiled
//! code that sees the sentinel attaches the span id of the failing operation
//! (`ilo_err_span`, first span wins) and returns the sentinel to its own caller, up to
//! the driver, which takes the error and reports it.

use std::cell::RefCell;
use std::fmt;

use crate::value::{Value, ERROR_SENTINEL};

/// A runtime error: a stable `ILO-R…` code and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtError {
    pub code: &'static str,
    pub message: String,
}

impl RtError {
    pub fn new(code: &'static str, message: impl Into<String>) -> RtError {
        RtError {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for RtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Shorthands for the codes the runtime raises.
pub mod codes {
    /// Type mismatch found at run time (operand of the wrong kind).
    pub const TYPE: &str = "ILO-R001";
    /// Call of a function value with the wrong number of arguments, or of a non-function.
    pub const CALL: &str = "ILO-R002";
    /// Division-like domain errors: index out of bounds, empty list, modulo by zero.
    pub const DOMAIN: &str = "ILO-R004";
    /// Strict field access on a missing field.
    pub const FIELD: &str = "ILO-R005";
    /// Stack overflow (unbounded recursion).
    pub const STACK: &str = "ILO-R006";
    /// A value larger than `--max-alloc` or than the system grants, a line longer than
    /// `--max-line`.
    pub const LIMIT: &str = "ILO-R007";
    /// A handler stopped because its client hung up or it ran past `--handler-timeout`.
    pub const CANCELLED: &str = "ILO-R008";
    /// I/O and stream failures, and `!!` on an Err or nil.
    pub const PANIC: &str = "ILO-R009";
    /// Not a user-visible code: marks an error that is already parked, with its span,
    /// by an ilo function a builtin called (see `func.rs`). [`super::raise`] keeps the
    /// parked error when it sees this code.
    pub const FORWARDED: &str = "ILO-FORWARDED";
}

pub type RtResult<T = Value> = Result<T, RtError>;

/// The pending error, with the span id attached by compiled code (if any).
#[derive(Clone, Debug)]
pub struct PendingError {
    pub error: RtError,
    pub span: Option<u32>,
}

thread_local! {
    static PENDING: RefCell<Option<PendingError>> = const { RefCell::new(None) };
}

/// Park an error for compiled code and return the sentinel word.
pub fn raise(error: RtError) -> u64 {
    PENDING.with(|p| {
        let mut slot = p.borrow_mut();
        // A forwarded error is already parked with the span where it happened.
        if error.code == codes::FORWARDED && slot.is_some() {
            return;
        }
        *slot = Some(PendingError { error, span: None });
    });
    ERROR_SENTINEL
}

/// Convert a runtime result into a word for compiled code.
pub fn to_word(r: RtResult) -> u64 {
    match r {
        Ok(v) => v.into_raw(),
        Err(e) => raise(e),
    }
}

/// Attach a span id to the pending error unless one is already attached.
pub fn attach_span(span: u32) {
    PENDING.with(|p| {
        if let Some(pe) = p.borrow_mut().as_mut() {
            pe.span.get_or_insert(span);
        }
    });
}

/// Take the pending error (the driver calls this after a sentinel result).
pub fn take_pending() -> Option<PendingError> {
    PENDING.with(|p| p.borrow_mut().take())
}
