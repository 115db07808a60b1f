//! The JIT driver: compile a verified program into executable memory and call its
//! functions from Rust.

use std::collections::HashMap;

use cranelift_jit::{JITBuilder, JITModule};
use ilo_runtime::error::{codes, take_pending};
use ilo_runtime::program::{Description, EntryFn, Program};
use ilo_runtime::{RtError, Value};

use super::abi::{runtime_symbols, ERROR_SENTINEL};
use super::compile_into;
use crate::ast::Type;
use crate::diag::Diagnostic;
use crate::span::{SourceMap, Span};
use crate::verify::Checked;

/// A runtime error from compiled code, with the span of the failing operation.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeFailure {
    pub error: RtError,
    pub span: Option<Span>,
}

/// A function of the finalized JIT module: its entry trampoline's address, ready to call.
struct LoadedFunction {
    /// Address of its entry trampoline, an [`EntryFn`].
    entry: usize,
    arity: usize,
    param_types: Vec<Type>,
}

/// Keeps the module, and with it the code memory, alive.
struct CodeMemory(#[allow(dead_code)] JITModule);

// SAFETY: after `finalize_definitions` the module is never touched again: the code and
// data it owns are immutable (text-literal and record-type cache slots are only
// written through atomics in the runtime), so sharing or moving it between threads is
// sound.
unsafe impl Send for CodeMemory {}
// SAFETY: as above.
unsafe impl Sync for CodeMemory {}

/// A compiled program whose functions can be called from any thread.
pub struct JitProgram {
    _code: CodeMemory,
    functions: HashMap<String, LoadedFunction>,
    spans: Vec<Span>,
}

/// Stack size for [`JitProgram::call_on_big_stack`]: deep but finite recursion works;
/// unbounded recursion still ends in ILO-R006 through the stack guard.
pub const BIG_STACK: usize = 256 * 1024 * 1024;

impl JitProgram {
    /// The Cranelift IR the translator emits for user function `func`.
    pub fn clif(checked: &Checked, func: &str) -> Result<String, Vec<Diagnostic>> {
        let mut module = Self::new_module()?;
        super::clif_of(&mut module, checked, func)
    }

    fn new_module() -> Result<JITModule, Vec<Diagnostic>> {
        let mut builder = JITBuilder::with_flags(
            &[("opt_level", "speed")],
            cranelift_module::default_libcall_names(),
        )
        .map_err(super::internal)?;
        for (name, addr) in runtime_symbols() {
            builder.symbol(name, addr);
        }
        Ok(JITModule::new(builder))
    }

    pub fn compile(checked: &Checked) -> Result<JitProgram, Vec<Diagnostic>> {
        let mut module = Self::new_module()?;
        let compiled = compile_into(&mut module, checked)?;
        module.finalize_definitions().map_err(super::internal)?;
        let functions = compiled
            .functions
            .into_iter()
            .map(|f| {
                let entry = module.get_finalized_function(f.entry) as usize;
                (
                    f.name,
                    LoadedFunction {
                        entry,
                        arity: f.arity,
                        param_types: f.param_types,
                    },
                )
            })
            .collect();
        Ok(JitProgram {
            _code: CodeMemory(module),
            functions,
            spans: compiled.spans,
        })
    }

    pub fn arity(&self, func: &str) -> Option<usize> {
        self.functions.get(func).map(|f| f.arity)
    }

    pub fn param_types(&self, func: &str) -> Option<Vec<Type>> {
        self.functions.get(func).map(|f| f.param_types.clone())
    }

    /// Names of the program's functions (unordered).
    pub fn function_names(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }

    /// Call `func` with `args` on the current thread (which should have a large
    /// stack for deeply recursive programs; see [`JitProgram::call_on_big_stack`]).
    pub fn call(&self, func: &str, args: &[Value]) -> Result<Value, RuntimeFailure> {
        let Some(f) = self.functions.get(func) else {
            return Err(RuntimeFailure {
                error: RtError::new(codes::CALL, format!("no function '{func}'")),
                span: None,
            });
        };
        if f.arity != args.len() {
            return Err(RuntimeFailure {
                error: RtError::new(
                    codes::CALL,
                    format!(
                        "{func} expects {} args, called with {}",
                        f.arity,
                        args.len()
                    ),
                ),
                span: None,
            });
        }
        let words: Vec<u64> = args.iter().map(Value::raw).collect();
        // SAFETY: `entry` is a finalized trampoline with the `EntryFn` signature; it
        // reads exactly `arity` words from `words`, which borrows live values.
        let entry: EntryFn = unsafe { std::mem::transmute::<usize, EntryFn>(f.entry) };
        let ctx = ilo_runtime::ctx::current() as *mut u8;
        // SAFETY: `words` holds exactly `arity` live words (checked above) and `ctx` is
        // this thread's context.
        let result = unsafe { entry(ctx, words.as_ptr()) };
        if result == ERROR_SENTINEL {
            let pending = take_pending();
            let (error, span) = match pending {
                Some(p) => (
                    p.error,
                    p.span.and_then(|i| self.spans.get(i as usize).copied()),
                ),
                None => (RtError::new(codes::PANIC, "unknown runtime error"), None),
            };
            return Err(RuntimeFailure { error, span });
        }
        // SAFETY: compiled functions return an owned value word.
        Ok(unsafe { Value::from_raw(result) })
    }

    /// The program as the runtime's program contract sees it, so `ilo httpd` serves a
    /// handler through the same code (`ilo_runtime::program::server`) as a binary
    /// built with `ilo build`. Functions are listed in declaration order.
    ///
    /// Consumes the JIT and leaks its code memory: a [`Program`] holds bare entry
    /// pointers, so the code must stay mapped for the rest of the process (a server
    /// compiles once and serves until it exits).
    pub fn into_program(self, checked: &Checked, sources: &SourceMap) -> Result<Program, String> {
        let mut functions = Vec::new();
        let mut entries = Vec::new();
        for info in super::aot::function_infos(checked) {
            let f = self
                .functions
                .get(&info.name)
                .ok_or_else(|| format!("function '{}' was not compiled", info.name))?;
            // SAFETY: `entry` is a finalized trampoline with the `EntryFn` signature,
            // and the code it points into is leaked below, so it never dangles.
            entries.push(unsafe { std::mem::transmute::<usize, EntryFn>(f.entry) });
            functions.push(info);
        }
        let description = Description {
            functions,
            ..super::aot::locations(&self.spans, sources)
        };
        std::mem::forget(self._code);
        Program::new(description, entries)
    }

    /// [`JitProgram::call`] on a fresh thread with a [`BIG_STACK`] stack.
    pub fn call_on_big_stack(&self, func: &str, args: Vec<Value>) -> Result<Value, RuntimeFailure> {
        std::thread::scope(|s| {
            let handle = std::thread::Builder::new()
                .stack_size(BIG_STACK)
                .spawn_scoped(s, || self.call(func, &args));
            match handle {
                Ok(h) => h.join().unwrap_or_else(|_| {
                    Err(RuntimeFailure {
                        error: RtError::new(codes::PANIC, "the program thread panicked"),
                        span: None,
                    })
                }),
                Err(e) => Err(RuntimeFailure {
                    error: RtError::new(codes::PANIC, format!("cannot start program thread: {e}")),
                    span: None,
                }),
            }
        })
    }
}
