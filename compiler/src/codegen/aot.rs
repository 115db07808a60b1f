//! The AOT driver: a verified program into a relocatable object file that, linked
//! with the runtime's static library, is a standalone executable.
//!
//! The code comes from the same [`compile_into`] the JIT uses, here into a
//! `cranelift_object::ObjectModule`. Two things are added around it:
//!
//! - a program descriptor (`ilo_runtime::aot::ProgramDesc`): a version word, the
//!   [`Description`] serialised by the runtime's own codec (function names, files,
//!   parameter kinds, span table, source texts, handler), and a table of the entry
//!   trampolines, filled by relocations;
//! - a C `main(argc, argv)` that calls `ilo_aot_main(argc, argv, &descriptor)`, so the
//!   runtime runs the program contract exactly as it does for the JIT.

use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature, UserFuncName};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{DataDescription, DataId, FuncId, Linkage, Module};
use cranelift_object::{ObjectBuilder, ObjectModule};
use ilo_runtime::abi::AOT_MAIN;
use ilo_runtime::aot::{DESC_VERSION, DESC_WORDS};
use ilo_runtime::program::{
    codec, Description, FunctionInfo, ParamInfo, ParamKind, SourceText, SpanInfo,
};

use super::{compile_into, Compiled};
use crate::ast::{Decl, Expr, ExprKind, Stmt, StmtKind, Type};
use crate::diag::Diagnostic;
use crate::span::{SourceMap, Span};
use crate::verify::Checked;

const WORD_BYTES: usize = 8;

/// Upstream ilo prints nothing for an entry function whose body ends in a loop,
/// unless the function can return early (`ret` or a braceless guard anywhere in it).
fn silent_result(body: &[Stmt]) -> bool {
    let ends_in_loop = body.last().is_some_and(|s| {
        matches!(
            s.kind,
            StmtKind::ForEach { .. } | StmtKind::ForRange { .. } | StmtKind::While { .. }
        )
    });
    ends_in_loop && !returns_early(body)
}

fn returns_early(block: &[Stmt]) -> bool {
    block.iter().any(|s| match &s.kind {
        StmtKind::Ret(_) | StmtKind::Guard { .. } => true,
        StmtKind::When { body, .. }
        | StmtKind::ForEach { body, .. }
        | StmtKind::ForRange { body, .. }
        | StmtKind::While { body, .. } => returns_early(body),
        StmtKind::Expr(e) | StmtKind::Let { value: e, .. } => expr_returns_early(e),
        _ => false,
    })
}

/// `ret` inside a match arm or conditional block of an expression statement.
fn expr_returns_early(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Match { arms, .. } => arms.iter().any(|a| returns_early(&a.body)),
        ExprKind::Ternary { then, els, .. } => returns_early(then) || returns_early(els),
        _ => false,
    }
}

/// The program's functions as the runtime sees them, in declaration order.
pub fn function_infos(checked: &Checked) -> Vec<FunctionInfo> {
    checked
        .program
        .decls
        .iter()
        .filter_map(|d| match d {
            // A tool is callable from the program, not an entry point.
            Decl::Func(f) if !f.tool => Some(FunctionInfo {
                silent_result: silent_result(&f.body),
                name: f.name.name.clone(),
                file: f.span.file.0,
                params: f
                    .params
                    .iter()
                    .map(|p| ParamInfo {
                        name: p.name.name.clone(),
                        kind: param_kind(&p.ty.kind),
                        type_text: type_text(&p.ty.kind),
                    })
                    .collect(),
            }),
            _ => None,
        })
        .collect()
}

/// The full description of a compiled program: functions in the order of
/// `compiled.functions` (the order of the entry table), spans and sources.
pub fn describe(
    checked: &Checked,
    compiled: &Compiled,
    sources: &SourceMap,
    handler: Option<&str>,
) -> Result<Description, String> {
    let infos = function_infos(checked);
    let functions = compiled
        .functions
        .iter()
        .map(|c| {
            infos
                .iter()
                .find(|i| i.name == c.name)
                .cloned()
                .ok_or_else(|| format!("compiled function '{}' has no declaration", c.name))
        })
        .collect::<Result<_, _>>()?;
    Ok(Description {
        functions,
        handler: handler.map(String::from),
        ..locations(&compiled.spans, sources)
    })
}

/// The span table and source texts that runtime diagnostics are rendered from, in a
/// description with no functions (shared by the JIT's and the object file's).
pub(crate) fn locations(spans: &[Span], sources: &SourceMap) -> Description {
    Description {
        functions: Vec::new(),
        spans: spans
            .iter()
            .map(|s| SpanInfo {
                file: s.file.0,
                start: s.start,
                end: s.end,
            })
            .collect(),
        sources: sources
            .files
            .iter()
            .map(|f| SourceText {
                name: f.name.clone(),
                text: f.text.clone(),
            })
            .collect(),
        handler: None,
    }
}

/// Compile `checked` into the bytes of an object file for the host. `handler` names
/// the function to serve over HTTP; `None` builds a command.
pub fn compile_object(
    checked: &Checked,
    sources: &SourceMap,
    handler: Option<&str>,
) -> Result<Vec<u8>, Vec<Diagnostic>> {
    let fail = |e: &dyn std::fmt::Display| super::internal(e);
    let mut flags = settings::builder();
    flags.set("opt_level", "speed").map_err(|e| fail(&e))?;
    // Executables are position independent by default on current toolchains.
    flags.set("is_pic", "true").map_err(|e| fail(&e))?;
    let isa = cranelift_native::builder()
        .map_err(|e| fail(&e))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| fail(&e))?;
    let builder = ObjectBuilder::new(
        isa,
        "ilo_program",
        cranelift_module::default_libcall_names(),
    )
    .map_err(|e| fail(&e))?;
    let mut module = ObjectModule::new(builder);

    let compiled = compile_into(&mut module, checked)?;
    let description = describe(checked, &compiled, sources, handler).map_err(|e| fail(&e))?;
    let entries: Vec<FuncId> = compiled.functions.iter().map(|f| f.entry).collect();
    let desc = emit_descriptor(&mut module, &codec::encode(&description), &entries)
        .map_err(|e| fail(&e))?;
    emit_main(&mut module, desc).map_err(|e| fail(&e))?;
    module.finish().emit().map_err(|e| fail(&e))
}

/// Module errors are large; the emitters only ever report them as text.
fn module_error(e: cranelift_module::ModuleError) -> String {
    e.to_string()
}

/// Emit the descriptor: `[version, &meta, meta_len, &entries, entry_count]`.
fn emit_descriptor(
    module: &mut ObjectModule,
    meta: &str,
    entries: &[FuncId],
) -> Result<DataId, String> {
    let meta_id = module
        .declare_data("ilo.aot.meta", Linkage::Local, false, false)
        .map_err(module_error)?;
    let mut d = DataDescription::new();
    d.define(meta.as_bytes().to_vec().into_boxed_slice());
    module.define_data(meta_id, &d).map_err(module_error)?;

    let table_id = module
        .declare_data("ilo.aot.entries", Linkage::Local, false, false)
        .map_err(module_error)?;
    let mut d = DataDescription::new();
    // At least one word, so an empty program still has a distinct, aligned table.
    d.define(vec![0u8; entries.len().max(1) * WORD_BYTES].into_boxed_slice());
    d.set_align(WORD_BYTES as u64);
    for (i, entry) in entries.iter().enumerate() {
        let f = module.declare_func_in_data(*entry, &mut d);
        d.write_function_addr((i * WORD_BYTES) as u32, f);
    }
    module.define_data(table_id, &d).map_err(module_error)?;

    let desc_id = module
        .declare_data("ilo.aot.desc", Linkage::Local, false, false)
        .map_err(module_error)?;
    let mut d = DataDescription::new();
    let words: [u64; DESC_WORDS] = [DESC_VERSION, 0, meta.len() as u64, 0, entries.len() as u64];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    d.define(bytes.into_boxed_slice());
    d.set_align(WORD_BYTES as u64);
    let meta_gv = module.declare_data_in_data(meta_id, &mut d);
    d.write_data_addr(WORD_BYTES as u32, meta_gv, 0);
    let table_gv = module.declare_data_in_data(table_id, &mut d);
    d.write_data_addr((3 * WORD_BYTES) as u32, table_gv, 0);
    module.define_data(desc_id, &d).map_err(module_error)?;
    Ok(desc_id)
}

/// `int main(int argc, char **argv) { return ilo_aot_main(argc, argv, &desc); }`
fn emit_main(module: &mut ObjectModule, desc: DataId) -> Result<(), String> {
    let call_conv = module.isa().default_call_conv();
    let ptr = module.isa().pointer_type();
    let mut main_sig = Signature::new(call_conv);
    main_sig.params.push(AbiParam::new(types::I32));
    main_sig.params.push(AbiParam::new(ptr));
    main_sig.returns.push(AbiParam::new(types::I32));
    let mut rt_sig = main_sig.clone();
    rt_sig.params.push(AbiParam::new(ptr));

    let main_id = module
        .declare_function("main", Linkage::Export, &main_sig)
        .map_err(module_error)?;
    let rt_main = module
        .declare_function(AOT_MAIN, Linkage::Import, &rt_sig)
        .map_err(module_error)?;
    let mut ctx = module.make_context();
    ctx.func.signature = main_sig;
    ctx.func.name = UserFuncName::user(0, main_id.as_u32());
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let block = b.create_block();
        b.append_block_params_for_function_params(block);
        b.switch_to_block(block);
        let params = b.block_params(block).to_vec();
        let gv = module.declare_data_in_func(desc, b.func);
        let desc_addr = b.ins().symbol_value(ptr, gv);
        let callee = module.declare_func_in_func(rt_main, b.func);
        let call = b.ins().call(callee, &[params[0], params[1], desc_addr]);
        let code = b.inst_results(call)[0];
        b.ins().return_(&[code]);
        b.seal_all_blocks();
        b.finalize(module.isa().frontend_config());
    }
    module
        .define_function(main_id, &mut ctx)
        .map_err(module_error)?;
    Ok(())
}

/// How a command-line argument converts to a value of type `ty` (see
/// `ilo_runtime::program::args`).
pub fn param_kind(ty: &Type) -> ParamKind {
    match ty {
        Type::Num => ParamKind::Num,
        Type::Text | Type::Sum(_) => ParamKind::Text,
        Type::Bool => ParamKind::Bool,
        Type::List(inner) => ParamKind::List(Box::new(param_kind(inner))),
        Type::Opt(inner) => ParamKind::Opt(Box::new(param_kind(inner))),
        Type::Any | Type::Var(_) | Type::Nil => ParamKind::Any,
        _ => ParamKind::Unsupported,
    }
}

/// A type as it is written in ilo source (`L (R n t)`), for messages.
pub fn type_text(ty: &Type) -> String {
    match ty {
        Type::Num => "n".into(),
        Type::Text => "t".into(),
        Type::Bool => "b".into(),
        Type::Any => "_".into(),
        Type::Nil => "nil".into(),
        Type::List(t) => format!("L {}", nested(t)),
        Type::Result(a, b) => format!("R {} {}", nested(a), nested(b)),
        Type::Opt(t) => format!("O {}", nested(t)),
        Type::Map(k, v) => format!("M {} {}", nested(k), nested(v)),
        Type::Sum(vs) => format!("S {}", vs.join(" ")),
        Type::Fn(ps, r) => {
            let mut parts: Vec<String> = ps.iter().map(nested).collect();
            parts.push(nested(r));
            format!("F {}", parts.join(" "))
        }
        Type::Named(n) => n.clone(),
        Type::Var(c) => c.to_string(),
        Type::Stream => "stream".into(),
    }
}

/// Compound types nested inside another are parenthesised: `L (L n)`.
fn nested(ty: &Type) -> String {
    let s = type_text(ty);
    if s.contains(' ') {
        format!("({s})")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_type_text_follow_the_declared_type() {
        let t = Type::List(Box::new(Type::Opt(Box::new(Type::Num))));
        assert_eq!(
            param_kind(&t),
            ParamKind::List(Box::new(ParamKind::Opt(Box::new(ParamKind::Num))))
        );
        assert_eq!(type_text(&t), "L (O n)");
        let m = Type::Map(Box::new(Type::Text), Box::new(Type::Num));
        assert_eq!(param_kind(&m), ParamKind::Unsupported);
        assert_eq!(param_kind(&Type::Sum(vec!["a".into()])), ParamKind::Text);
    }
}
