//! The code generator: the verified program to Cranelift IR, into any
//! `cranelift_module::Module` (the JIT here, an object file for AOT builds).
//!
//! Map of the modules:
//! - `abi`: the native calling convention and the runtime imports (from the runtime's
//!   single entry-point list);
//! - `shared`: program-wide state (function ids, static data, the span table);
//! - `function`: prologue, stack guard, locals, exit; entry trampolines and builtin
//!   wrappers;
//! - `translator`: the translator struct and its reference-counting and error-exit
//!   machinery; `expr`, `stmt`, `control`, `calls`, `records` add one method per
//!   construct; `inline_update` the in-place fast paths of `lst`, `with` and field
//!   reads on the heap layout the runtime exports; `modulo` an inline `mod` of two
//!   numbers; `range_loop` the counting loop
//!   `@i a..b`, `tested_list` its version for a body that only updates one list in
//!   place, `record_loop` a loop's version for a body that only updates one record;
//! - `vars`, `lambdas`, `last_use`, `map_take`: pre-passes (which locals are f64,
//!   which lambdas to lift, which reads of a local are its last use and hand the
//!   value over, which `mget` reads move the value out for the `mset` that follows);
//! - `jit`: the JIT driver and the public [`JitProgram`] API.

mod abi;
pub mod aot;
mod calls;
mod control;
mod error;
mod expect;
mod expr;
mod field_move;
mod function;
mod inline_update;
mod jit;
mod lambdas;
mod last_use;
mod map_take;
mod modulo;
mod names;
mod program_state;
mod range_loop;
mod record_loop;
mod records;
mod stmt;
mod tested_list;
mod translator;
mod vars;

use cranelift_codegen::Context;
use cranelift_frontend::FunctionBuilderContext;
use cranelift_module::{FuncId, Linkage, Module};

pub use jit::{JitProgram, RuntimeFailure};

use crate::ast::{Decl, Type};
use crate::diag::Diagnostic;
use crate::span::Span;
use crate::verify::{BodyId, Checked};
use error::CodegenError;
use program_state::{FnRef, ProgramState};

/// A user function translated into a module (not yet finalized): what the driver needs
/// to find and call it once the module is finalized.
#[derive(Clone, Debug)]
pub struct TranslatedFunction {
    pub name: String,
    /// The entry trampoline, `extern "C" fn(ctx, args: *const u64) -> u64`.
    pub entry: FuncId,
    pub arity: usize,
    pub param_types: Vec<Type>,
}

/// A program translated into a module (not yet finalized).
pub struct Compiled {
    pub functions: Vec<TranslatedFunction>,
    /// Span id (as passed to `ilo_err_span`) → source span.
    pub spans: Vec<Span>,
}

/// A failure outside any function, as the driver's diagnostics.
fn internal(e: impl std::fmt::Display) -> Vec<Diagnostic> {
    vec![CodegenError::backend(e).into()]
}

/// Translate every function of `checked` into `module`.
pub fn compile_into<M: Module>(
    module: &mut M,
    checked: &Checked,
) -> Result<Compiled, Vec<Diagnostic>> {
    compile_with(module, checked, None).map(|(c, _)| c)
}

/// The Cranelift IR (before optimisation) of user function `func`, for tests that
/// check what code the translator emits (e.g. that numeric loops make no calls).
pub fn clif_of<M: Module>(
    module: &mut M,
    checked: &Checked,
    func: &str,
) -> Result<String, Vec<Diagnostic>> {
    let (_, clif) = compile_with(module, checked, Some(func.to_string()))?;
    clif.ok_or_else(|| internal(format!("no function '{func}'")))
}

fn compile_with<M: Module>(
    module: &mut M,
    checked: &Checked,
    clif_for: Option<String>,
) -> Result<(Compiled, Option<String>), Vec<Diagnostic>> {
    let rt = abi::RuntimeImports::declare(module).map_err(|e| vec![e.into()])?;
    let call_conv = module.isa().default_call_conv();
    let mut sh = ProgramState::new(rt, call_conv);
    sh.clif_for = clif_for;
    sh.records = checked.records.iter().cloned().collect();

    let decls: Vec<_> = checked
        .program
        .decls
        .iter()
        .filter_map(|d| match d {
            Decl::Func(f) => Some(f),
            _ => None,
        })
        .collect();
    for f in &decls {
        let arity = f.params.len();
        let sig = abi::ilo_signature(call_conv, arity);
        let id = module
            .declare_function(&names::user_fn(&f.name.name), Linkage::Export, &sig)
            .map_err(internal)?;
        sh.user.insert(f.name.name.clone(), FnRef { id, arity });
    }
    let mut lifted = Vec::new();
    for f in &decls {
        lambdas::collect(f, &mut lifted);
    }
    for (id, f) in &lifted {
        let arity = f.params.len();
        let sig = abi::ilo_signature(call_conv, arity);
        let fid = module
            .declare_function(&names::lambda(*id), Linkage::Local, &sig)
            .map_err(internal)?;
        sh.lambdas.insert(*id, FnRef { id: fid, arity });
    }

    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let mut errors = Vec::new();
    for f in &decls {
        let id = sh.user[&f.name.name].id;
        let body = BodyId::Func(f.name.name.clone());
        if let Err(e) = function::define_function(
            module,
            &mut sh,
            checked,
            (&mut ctx, &mut fctx),
            (id, body),
            f,
            &[],
        ) {
            errors.push(e.at(f.span));
        }
    }
    for (eid, f) in &lifted {
        let id = sh.lambdas[eid].id;
        let caps = checked.captures.get(eid).cloned().unwrap_or_default();
        if let Err(e) = function::define_function(
            module,
            &mut sh,
            checked,
            (&mut ctx, &mut fctx),
            (id, BodyId::Lambda(*eid)),
            f,
            &caps,
        ) {
            errors.push(e.at(f.span));
        }
    }
    define_helpers(module, &mut sh, (&mut ctx, &mut fctx), &mut errors);

    let mut functions = Vec::new();
    for f in &decls {
        let target = sh.user[&f.name.name];
        let sig = abi::entry_signature(call_conv);
        let entry = module
            .declare_function(&names::entry(&f.name.name), Linkage::Export, &sig)
            .map_err(internal)?;
        if let Err(e) =
            function::define_entry(module, &mut sh, (&mut ctx, &mut fctx), entry, (target, f))
        {
            errors.push(e.at(f.span));
        }
        functions.push(TranslatedFunction {
            name: f.name.name.clone(),
            entry,
            arity: target.arity,
            param_types: f.params.iter().map(|p| p.ty.kind.clone()).collect(),
        });
    }
    errors.append(&mut sh.errors);
    if !errors.is_empty() {
        return Err(errors.into_iter().map(Diagnostic::from).collect());
    }
    Ok((
        Compiled {
            functions,
            spans: sh.spans,
        },
        sh.clif,
    ))
}

/// Builtin wrappers requested while translating bodies.
fn define_helpers<M: Module>(
    module: &mut M,
    sh: &mut ProgramState,
    (ctx, fctx): (&mut Context, &mut FunctionBuilderContext),
    errors: &mut Vec<CodegenError>,
) {
    let mut wrappers: Vec<_> = sh
        .wrappers
        .values()
        .map(|w| (w.func, w.builtin_id))
        .collect();
    wrappers.sort_by_key(|(f, _)| f.id);
    for (func, builtin_id) in wrappers {
        if let Err(e) =
            function::define_wrapper(module, sh, (&mut *ctx, &mut *fctx), func, builtin_id)
        {
            errors.push(e);
        }
    }
}
