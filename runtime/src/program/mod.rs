//! The program contract, shared by every way of running compiled ilo code.
//!
//! A compiled program reaches the runtime as a [`Program`]: a compiler-free
//! [`Description`] (function names, files, parameters, the span table, the source
//! texts, and which function serves HTTP) plus one entry trampoline per function. The
//! JIT builds one in memory; an AOT binary decodes one from the descriptor the
//! compiler embedded in it (see [`crate::aot`]). Everything that follows from the
//! description lives here, once:
//!
//! - [`args`]: choosing the entry function and converting command-line arguments;
//! - [`command`]: running a program as a command (output streams and exit codes);
//! - [`render`]: runtime-error diagnostics in text or JSON;
//! - [`server`]: the HTTP handler closure and the server's command-line flags;
//! - [`codec`]: the description's serialised form.

pub mod args;
pub mod codec;
pub mod command;
pub mod render;
pub mod server;

use crate::ctx;
use crate::error::{codes, take_pending, RtError};
use crate::value::{Value, ERROR_SENTINEL};

/// A function's entry trampoline: `(ctx, args) -> result word`, reading exactly
/// `arity` borrowed argument words and returning an owned word or `ERROR_SENTINEL`.
/// Calling one is unsafe: `args` must point at `arity` live value words and `ctx` at
/// the calling thread's context.
pub type EntryFn = unsafe extern "C" fn(*mut u8, *const u64) -> u64;

/// How a command-line argument converts to a parameter's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// `n`: a decimal number.
    Num,
    /// `t` and sum types: the text as given.
    Text,
    /// `b`: `true` or `false`.
    Bool,
    /// `_` and type variables: number, then bool, then text.
    Any,
    /// `L T`: a comma list, optionally in brackets.
    List(Box<ParamKind>),
    /// `O T`: `nil` or a `T`.
    Opt(Box<ParamKind>),
    /// Anything else (maps, records, functions…): not expressible on a command line.
    Unsupported,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamInfo {
    pub name: String,
    pub kind: ParamKind,
    /// The declared type as written in source, for messages (`L n`).
    pub type_text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInfo {
    pub name: String,
    /// Index of the source file declaring it; 0 is the file the user named.
    pub file: u32,
    pub params: Vec<ParamInfo>,
    /// Run as the entry function, its result is not printed: the body ends in a loop
    /// and never returns early, so (as upstream ilo has it) its value is a
    /// statement's. Output comes from `prnt` inside the loop.
    pub silent_result: bool,
}

/// A byte range in one of the program's source files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpanInfo {
    pub file: u32,
    pub start: u32,
    pub end: u32,
}

/// A source file, kept so runtime errors can show the failing line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceText {
    /// Display name: the path as given when compiling.
    pub name: String,
    pub text: String,
}

/// Everything about a compiled program except its code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Description {
    pub functions: Vec<FunctionInfo>,
    /// Span id (as compiled code passes it to `ilo_err_span`) → span.
    pub spans: Vec<SpanInfo>,
    pub sources: Vec<SourceText>,
    /// For a server program, the name of the handler function.
    pub handler: Option<String>,
}

/// A runtime error out of compiled code, with the span of the failing operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub error: RtError,
    pub span: Option<SpanInfo>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Where it happened needs the sources: `render` draws that.
        self.error.fmt(f)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl Failure {
    fn without_span(code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            error: RtError::new(code, message),
            span: None,
        }
    }
}

/// Stack size of the thread a command runs on: deep (but finite) recursion works, and
/// unbounded recursion still ends in ILO-R006 through the compiled stack guard.
pub const BIG_STACK: usize = 256 * 1024 * 1024;

/// A description together with the code it describes.
pub struct Program {
    pub description: Description,
    /// `entries[i]` is the trampoline of `description.functions[i]`.
    entries: Vec<EntryFn>,
}

impl Program {
    /// Pair a description with its trampolines, one per function, in order.
    pub fn new(description: Description, entries: Vec<EntryFn>) -> Result<Program, String> {
        if entries.len() != description.functions.len() {
            return Err(format!(
                "program descriptor lists {} functions but {} entry points",
                description.functions.len(),
                entries.len()
            ));
        }
        Ok(Program {
            description,
            entries,
        })
    }

    /// Index of the function called `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.description
            .functions
            .iter()
            .position(|f| f.name == name)
    }

    /// Call function `index` on the current thread with borrowed `args`.
    pub fn call(&self, index: usize, args: &[Value]) -> Result<Value, Failure> {
        let (Some(info), Some(entry)) = (
            self.description.functions.get(index),
            self.entries.get(index),
        ) else {
            return Err(Failure::without_span(codes::CALL, "no such function"));
        };
        if info.params.len() != args.len() {
            return Err(Failure::without_span(
                codes::CALL,
                format!(
                    "{} expects {} args, called with {}",
                    info.name,
                    info.params.len(),
                    args.len()
                ),
            ));
        }
        // `Value` is a transparent word, so the arguments are already the word array
        // the trampoline reads: no copy (and no allocation) per call.
        let words = args.as_ptr().cast::<u64>();
        // SAFETY: `words` points at exactly the function's arity of live words
        // (checked above), borrowed from `args` for the call, and `ctx::current()` is
        // this thread's context.
        let result = unsafe { entry(ctx::current() as *mut u8, words) };
        if result == ERROR_SENTINEL {
            return Err(match take_pending() {
                Some(p) => Failure {
                    span: p
                        .span
                        .and_then(|i| self.description.spans.get(i as usize).copied()),
                    error: p.error,
                },
                None => Failure::without_span(codes::PANIC, "unknown runtime error"),
            });
        }
        // SAFETY: a non-sentinel result of an entry trampoline is an owned value word.
        Ok(unsafe { Value::from_raw(result) })
    }

    /// [`Program::call`] on a fresh thread with a [`BIG_STACK`] stack.
    pub fn call_on_big_stack(&self, index: usize, args: Vec<Value>) -> Result<Value, Failure> {
        std::thread::scope(|s| {
            let spawned = std::thread::Builder::new()
                .stack_size(BIG_STACK)
                .spawn_scoped(s, || self.call(index, &args));
            match spawned {
                Ok(h) => h.join().unwrap_or_else(|_| {
                    Err(Failure::without_span(
                        codes::PANIC,
                        "the program thread panicked",
                    ))
                }),
                Err(e) => Err(Failure::without_span(
                    codes::PANIC,
                    format!("cannot start program thread: {e}"),
                )),
            }
        })
    }
}
