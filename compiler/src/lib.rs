//! ilo compiler: front end (lexer, parser, import loader, verifier, diagnostics) and the
//! Cranelift code generator shared by the JIT and AOT builds.
//!
//! Pipeline: `loader::load` (lex + parse every file, resolve `use`) → `verify::verify`
//! (names, arity, types; produces [`verify::Checked`]) → `codegen` (Cranelift IR into any
//! `cranelift_module::Module`).

pub mod ast;
pub mod builtin_names;
pub mod builtin_sigs;
pub mod codegen;
pub mod diag;
pub mod lexer;
pub mod loader;
pub mod parser;
pub mod render;
pub mod span;
pub mod verify;
pub mod walk;
