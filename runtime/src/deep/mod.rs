//! Whole-value operations that must not depend on how deep a value is nested.
//!
//! A program can build a list nested a million levels deep in a loop (`x=[i x]`).
//! Walking such a value recursively needs a native frame per level and overflows a
//! thread's stack (a server's small loop-thread stack first), which aborts the whole
//! process. Everything here walks values with an explicit work list on the heap
//! instead: freeing ([`release`]), structural equality ([`equal`]), the display form
//! ([`display`]) and JSON text ([`json`]).

pub mod display;
pub mod equal;
pub mod json;
pub mod release;

#[cfg(test)]
mod tests;
