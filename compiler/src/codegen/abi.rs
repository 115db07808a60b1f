//! The native calling convention of compiled ilo functions and the runtime imports.
//!
//! Every ilo function (declared, lambda, closure, builtin wrapper) compiles to
//! `extern "C" fn(ctx: i64, env: i64, a1: i64, …, an: i64) -> i64`: `ctx` is the
//! thread's `Ctx`, `env` the function's own value word (0 on direct calls), arguments
//! borrowed value words, the result an owned word or `ERROR_SENTINEL`.
//!
//! Runtime entry points are imported by walking `ilo_runtime::abi::ENTRY_POINTS`, the
//! runtime's single list, so no name or signature is repeated here; code generation
//! names them by `Entry` variant.

use super::error::CodegenError;
use cranelift_codegen::ir::{types, AbiParam, Signature, Type};
use cranelift_codegen::isa::CallConv;
use cranelift_module::{FuncId, Linkage, Module};
pub use ilo_runtime::abi::Entry;
use ilo_runtime::abi::{AbiType, ENTRY_POINTS};

/// Value words, pointers and integers are all 64-bit.
pub const WORD: Type = types::I64;

pub use ilo_runtime::abi::{ITER_END, ITER_REUSED};
pub use ilo_runtime::value::{
    ERROR_SENTINEL, FALSE, FIRST_TAGGED, HEAP_TAG, NIL, PTR_MASK, TAG_MASK, TRUE,
};

fn cl_type(t: AbiType) -> Type {
    match t {
        AbiType::F64 => types::F64,
        AbiType::Word | AbiType::OwnedWord | AbiType::Int | AbiType::Ptr => WORD,
    }
}

/// The signature of an ilo function taking `arity` arguments.
pub fn ilo_signature(call_conv: CallConv, arity: usize) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params
        .extend(std::iter::repeat_n(AbiParam::new(WORD), arity + 2));
    sig.returns.push(AbiParam::new(WORD));
    sig
}

/// Signature of the per-function entry trampoline the driver calls:
/// `extern "C" fn(ctx, args: *const u64) -> u64`.
pub fn entry_signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(WORD));
    sig.params.push(AbiParam::new(WORD));
    sig.returns.push(AbiParam::new(WORD));
    sig
}

/// Every runtime entry point, imported into one module.
pub struct RuntimeImports {
    /// Indexed by `Entry`, like `ENTRY_POINTS`.
    funcs: Vec<FuncId>,
}

impl RuntimeImports {
    pub fn declare<M: Module>(module: &mut M) -> Result<RuntimeImports, CodegenError> {
        let call_conv = module.isa().default_call_conv();
        let mut funcs = Vec::with_capacity(ENTRY_POINTS.len());
        for ep in ENTRY_POINTS {
            let mut sig = Signature::new(call_conv);
            sig.params
                .extend(ep.params.iter().map(|t| AbiParam::new(cl_type(*t))));
            if let Some(r) = ep.ret {
                sig.returns.push(AbiParam::new(cl_type(r)));
            }
            let id = module
                .declare_function(ep.name, Linkage::Import, &sig)
                .map_err(CodegenError::backend)?;
            funcs.push(id);
        }
        Ok(RuntimeImports { funcs })
    }

    /// The imported entry point.
    pub fn get(&self, entry: Entry) -> FuncId {
        self.funcs[entry as usize]
    }
}

/// (name, address) of every runtime entry point, for JIT symbol registration.
pub fn runtime_symbols() -> impl Iterator<Item = (&'static str, *const u8)> {
    ENTRY_POINTS.iter().map(|e| (e.name, e.entry.addr()))
}
