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

/// A runtime error: a stable `ILO-R…` code (from [`codes`]) and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtError {
    pub code: &'static str,
    pub message: String,
    /// A stand-in for an error already parked with its span (see [`RtError::forwarded`]).
    forwarded: bool,
}

impl RtError {
    pub fn new(code: &'static str, message: impl Into<String>) -> RtError {
        RtError {
            code,
            message: message.into(),
            forwarded: false,
        }
    }

    /// The stand-in for an error that an ilo function called from a builtin has
    /// already parked, with the span where it happened (see `func.rs`): a builtin
    /// propagates it like any error, and [`raise`] keeps the parked one.
    pub fn forwarded() -> RtError {
        RtError {
            forwarded: true,
            ..RtError::new(codes::PANIC, "error raised inside a called function")
        }
    }

    /// Whether this is the [`RtError::forwarded`] stand-in.
    pub fn is_forwarded(&self) -> bool {
        self.forwarded
    }
}

impl fmt::Display for RtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for RtError {}

/// Stable diagnostic codes of the runtime (and of the program contract's usage errors).
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
    /// A command-line usage problem (no such function, wrong arguments), not a runtime
    /// error of the program: exit code 2.
    pub const USAGE: &str = "ILO-CLI";
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
        if error.is_forwarded() && slot.is_some() {
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
