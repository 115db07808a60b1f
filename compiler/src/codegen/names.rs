//! Symbol names of generated functions and data.
//!
//! ilo names may contain `-`; every generated symbol gets a `ilo.` prefix and a kind,
//! so user functions never collide with runtime entry points (`ilo_add`) or with
//! each other across kinds.

use crate::ast::ExprId;

/// A declared (or imported) user function.
pub fn user_fn(name: &str) -> String {
    format!("ilo.fn.{name}")
}

/// The array-argument entry trampoline of a user function (see `abi::entry_signature`).
pub fn entry(name: &str) -> String {
    format!("ilo.entry.{name}")
}

/// A lambda, lifted to a function of its own.
pub fn lambda(id: ExprId) -> String {
    format!("ilo.lambda.{}", id.0)
}

/// The function-value wrapper of a library builtin (`map str xs`).
pub fn builtin_wrapper(name: &str, arity: usize) -> String {
    format!("ilo.builtin.{name}.{arity}")
}

/// Static bytes number `n` (literal text, names, record descriptors).
pub fn bytes(n: usize) -> String {
    format!("ilo.bytes.{n}")
}

/// Cache slot number `n` (a text literal's value or a record type).
pub fn slot(n: usize) -> String {
    format!("ilo.slot.{n}")
}
