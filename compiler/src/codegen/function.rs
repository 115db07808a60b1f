//! Whole functions: the prologue (stack guard, locals, parameters, captures), the
//! body, and the single exit block; plus the small generated helpers (entry
//! trampolines for the driver, wrappers that turn builtins into function values).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{FuncId, Module};

use super::abi::{entry_signature, ilo_signature, Entry, ERROR_SENTINEL, NIL, WORD};
use super::error::CodegenError;
use super::program_state::{FnRef, ProgramState};
use super::translator::{Local, Operand, Translator};
use super::{last_use, map_take, vars};
use crate::ast::{FnDecl, Type};
use crate::verify::types::{check_shape, relied_on, show};
use crate::verify::{BodyId, Checked};
use std::collections::HashSet;

/// Compile `decl` (a declared function or a lambda capturing `captures`, known to
/// the verifier as `body`) as `id`.
pub fn define_function<M: Module>(
    module: &mut M,
    sh: &mut ProgramState,
    checked: &Checked,
    (ctx, fctx): (&mut Context, &mut FunctionBuilderContext),
    (id, body): (FuncId, BodyId),
    decl: &FnDecl,
    captures: &[String],
) -> Result<(), CodegenError> {
    ctx.func.signature = ilo_signature(sh.call_conv, decl.params.len());
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let exit = b.create_block();
        b.append_block_param(exit, WORD);
        let mut t = Translator::new(b, module, sh, checked, (params[0], params[1], exit));
        // Arguments that may hold a reference (not statically numbers, bools or nil).
        let counted: Vec<_> = decl
            .params
            .iter()
            .zip(&params[2..])
            .filter(|(p, _)| !matches!(p.ty.kind, Type::Num | Type::Bool | Type::Nil))
            .map(|(_, a)| *a)
            .collect();
        t.stack_guard(&counted);
        // A function value is called with whatever its caller had (a builtin's
        // elements, a server's request), so its parameters are checked on entry; a
        // direct call's arguments were checked by the caller where needed.
        let value_called = match &body {
            BodyId::Lambda(_) => true,
            BodyId::Func(name) => checked.value_funcs.contains(name),
        };
        let checked_params = value_called.then_some(&body);
        t.declare_locals(decl, captures, &params[2..], checked_params);
        t.checks_returns = value_called;
        let words: HashSet<String> = t
            .locals
            .iter()
            .filter(|(_, l)| !l.numeric)
            .map(|(n, _)| n.clone())
            .collect();
        t.moves = last_use::last_uses(decl, &words, checked);
        let locals: HashSet<String> = t.locals.keys().cloned().collect();
        t.map_takes = map_take::map_takes(&decl.body, checked, &words, &locals);
        let v = t.block_value(&decl.body);
        if value_called && checked.checked_bodies.contains(&body) {
            let span = decl.body.last().map_or(decl.span, |s| s.span);
            t.push(v);
            let place = match &body {
                BodyId::Func(name) => format!("result of '{name}'"),
                BodyId::Lambda(_) => "lambda result".to_string(),
            };
            t.expect_type(v, &decl.ret.kind, &place, span);
            t.pop(v);
        }
        let w = t.owned(v);
        t.b.ins().jump(exit, &[w.into()]);
        t.emit_exit();
        t.b.seal_all_blocks();
        let config = t.module.isa().frontend_config();
        t.b.finalize(config);
    }
    if sh.clif_for.as_deref() == Some(decl.name.name.as_str()) && captures.is_empty() {
        sh.clif = Some(ctx.func.display().to_string());
    }
    let dump = dump_requested(&decl.name.name, captures);
    ctx.set_disasm(dump);
    let result = module
        .define_function(id, ctx)
        .map_err(|e| CodegenError::backend(format!("cannot compile {}: {e:?}", decl.name.name)));
    if dump {
        dump_code(&decl.name.name, ctx);
    }
    ctx.clear();
    result
}

/// The environment variable naming the functions whose code is printed to stderr as
/// it is compiled (comma-separated names, or `*` for all): the optimised Cranelift IR
/// and the machine code, for reading what a loop costs instruction by instruction.
pub const DUMP_CODE_VAR: &str = "ILO_DUMP_CODE";

/// Whether [`DUMP_CODE_VAR`] asks for function `name` (lambdas, which have
/// captures or no name of their own, are dumped only under `*`).
fn dump_requested(name: &str, captures: &[String]) -> bool {
    let Some(list) = std::env::var_os(DUMP_CODE_VAR) else {
        return false;
    };
    let list = list.to_string_lossy();
    list.split(',')
        .any(|n| n == "*" || (n == name && captures.is_empty()))
}

fn dump_code(name: &str, ctx: &Context) {
    eprintln!("; ── {name}: optimised IR ──\n{}", ctx.func.display());
    if let Some(asm) = ctx.compiled_code().and_then(|c| c.vcode.as_deref()) {
        eprintln!("; ── {name}: machine code ──\n{asm}");
    }
}

impl<M: Module> Translator<'_, M> {
    /// Unbounded recursion must end in ILO-R006, not in the guard page: compare the
    /// stack pointer with the thread's limit (`Ctx::stack_limit`, offset 0) first. The
    /// function owns its arguments, so that early return releases them.
    fn stack_guard(&mut self, args: &[cranelift_codegen::ir::Value]) {
        let sp = self.b.ins().get_stack_pointer(WORD);
        let limit = self
            .b
            .ins()
            .load(WORD, MemFlagsData::trusted(), self.ctx, 0);
        let over = self.b.ins().icmp(IntCC::UnsignedLessThan, sp, limit);
        let overflow = self.b.create_block();
        let body = self.b.create_block();
        self.b.set_cold_block(overflow);
        self.b.ins().brif(over, overflow, &[], body, &[]);
        self.b.switch_to_block(overflow);
        for a in args {
            self.release(*a);
        }
        let r = self.rt(Entry::ilo_stack_overflow, &[]);
        self.b.ins().return_(&[r]);
        self.b.switch_to_block(body);
    }

    /// A loop's back edge makes the entry guard's comparison too, so a loop that
    /// never calls a function still stops when its thread's work is cancelled (the
    /// runtime raises the limit to the top; see `ilo_runtime::ctx`): one load, one
    /// compare, one branch per iteration.
    pub fn back_edge_check(&mut self, span: crate::span::Span) {
        let sp = self.b.ins().get_stack_pointer(WORD);
        // Atomic: another thread raises the limit, and a plain load in a loop with no
        // calls would be merged with the entry guard's load and never see it.
        let limit = self
            .b
            .ins()
            .atomic_load(WORD, MemFlagsData::trusted(), self.ctx);
        let stop = self.b.ins().icmp(IntCC::UnsignedLessThan, sp, limit);
        let stopped = self.b.create_block();
        let go_on = self.b.create_block();
        self.b.set_cold_block(stopped);
        self.b.ins().brif(stop, stopped, &[], go_on, &[]);
        // The report always parks an error, so the cold path never comes back into
        // the loop: values the loop keeps in registers need not survive its call.
        self.b.switch_to_block(stopped);
        self.rt(Entry::ilo_stack_overflow, &[]);
        let id = self.sh.span_id(span);
        let id = self.b.ins().iconst(WORD, id);
        self.rt(Entry::ilo_err_span, &[id]);
        let sentinel = self.iconst(ERROR_SENTINEL);
        self.exit_with(sentinel, 0);
        self.b.switch_to_block(go_on);
    }

    /// Every local starts as 0.0 or nil, so the exit block may release all of them on
    /// any path. Parameters take over the references the caller handed over (a
    /// function owns its arguments), captures are copied out of the closure's
    /// function value.
    fn declare_locals(
        &mut self,
        decl: &FnDecl,
        captures: &[String],
        args: &[cranelift_codegen::ir::Value],
        checked_params: Option<&BodyId>,
    ) {
        for (name, numeric) in vars::locals(decl, captures, self.checked) {
            let ty = if numeric { types::F64 } else { WORD };
            let var = self.b.declare_var(ty);
            let init = if numeric {
                self.b.ins().f64const(0.0)
            } else {
                self.iconst(NIL)
            };
            self.b.def_var(var, init);
            self.locals.insert(name, Local { var, numeric });
        }
        if let Some(body) = checked_params {
            // Every argument is held, so a failed check releases them all.
            let held: Vec<Operand> = args.iter().map(|a| Operand::Owned(*a)).collect();
            for v in &held {
                self.push(*v);
            }
            for (i, (p, v)) in decl.params.iter().zip(&held).enumerate() {
                if relied_on(&p.ty.kind) {
                    let place = match body {
                        BodyId::Func(f) => format!("parameter '{}' of '{f}'", p.name.name),
                        BodyId::Lambda(_) => format!("lambda parameter '{}'", p.name.name),
                    };
                    if i == 0 && check_shape(&p.ty.kind) == check_shape(&decl.ret.kind) {
                        self.expect_accumulator(*v, &p.ty.kind, &place, p.name.span);
                    } else {
                        self.expect_type(*v, &p.ty.kind, &place, p.name.span);
                    }
                }
            }
            for v in held.iter().rev() {
                self.pop(*v);
            }
        }
        for (p, arg) in decl.params.iter().zip(args) {
            let ty = p.ty.kind.clone();
            let v = self.classify(Operand::Owned(*arg), &ty);
            self.assign(&p.name.name, v, &ty, p.name.span);
        }
        for (i, name) in captures.iter().enumerate() {
            let i = self.b.ins().iconst(WORD, i as i64);
            let w = self.rt(Entry::ilo_closure_capture, &[self.env, i]);
            self.assign(name, Operand::Owned(w), &crate::ast::Type::Any, decl.span);
        }
    }

    /// The exit block: release every word local, return the result word.
    fn emit_exit(&mut self) {
        self.b.switch_to_block(self.exit);
        let r = self.b.block_params(self.exit)[0];
        let mut words: Vec<_> = self
            .locals
            .iter()
            .filter(|(_, l)| !l.numeric)
            .map(|(n, l)| (n.clone(), l.var))
            .collect();
        words.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, var) in words {
            let w = self.b.use_var(var);
            self.release(w);
        }
        self.b.ins().return_(&[r]);
    }
}

/// `extern "C" fn(ctx, args: *const u64) -> u64` calling `target` (declared as
/// `decl`) with the words at `args` (borrowed from the driver; each is retained for
/// the callee, which owns its arguments): lets the driver call a function of any
/// arity. The command line converts arguments by the parameter types, but a server
/// hands its handler the request whatever the handler declared, so a parameter of a
/// type the body relies on is checked first (ILO-R001 at the parameter).
pub fn define_entry<M: Module>(
    module: &mut M,
    sh: &mut ProgramState,
    (ctx, fctx): (&mut Context, &mut FunctionBuilderContext),
    id: FuncId,
    (target, decl): (FnRef, &FnDecl),
) -> Result<(), CodegenError> {
    ctx.func.signature = entry_signature(sh.call_conv);
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let p = b.block_params(entry).to_vec();
        let load = |b: &mut FunctionBuilder, i: usize| {
            b.ins()
                .load(WORD, MemFlagsData::trusted(), p[1], (i * 8) as i32)
        };
        for (i, param) in decl.params.iter().enumerate().take(target.arity) {
            if !relied_on(&param.ty.kind) {
                continue;
            }
            let desc = format!(
                "{}\0{}\0parameter '{}' of '{}'",
                check_shape(&param.ty.kind),
                show(&param.ty.kind),
                param.name.name,
                decl.name.name
            );
            let data = sh
                .static_bytes(module, desc.as_bytes())
                .map_err(|e| CodegenError::backend(format!("cannot emit data: {e}")))?;
            let gv = module.declare_data_in_func(data, b.func);
            let ptr = b.ins().symbol_value(WORD, gv);
            let len = b.ins().iconst(WORD, desc.len() as i64);
            let w = load(&mut b, i);
            let expect = module.declare_func_in_func(sh.rt.get(Entry::ilo_expect_type), b.func);
            let call = b.ins().call(expect, &[w, ptr, len]);
            let r = b.inst_results(call)[0];
            let failed = b.ins().icmp_imm_s(IntCC::Equal, r, ERROR_SENTINEL as i64);
            let err = b.create_block();
            let ok = b.create_block();
            b.set_cold_block(err);
            b.ins().brif(failed, err, &[], ok, &[]);
            b.switch_to_block(err);
            // Nothing is retained yet: the arguments stay the driver's.
            let span = b.ins().iconst(WORD, sh.span_id(param.name.span));
            let attach = module.declare_func_in_func(sh.rt.get(Entry::ilo_err_span), b.func);
            b.ins().call(attach, &[span]);
            b.ins().return_(&[r]);
            b.switch_to_block(ok);
        }
        let env = b.ins().iconst(WORD, 0);
        let mut args = vec![p[0], env];
        let retain = module.declare_func_in_func(sh.rt.get(Entry::ilo_retain), b.func);
        for i in 0..target.arity {
            let w = load(&mut b, i);
            b.ins().call(retain, &[w]);
            args.push(w);
        }
        let callee = module.declare_func_in_func(target.id, b.func);
        let call = b.ins().call(callee, &args);
        let r = b.inst_results(call)[0];
        b.ins().return_(&[r]);
        b.seal_all_blocks();
        b.finalize(module.isa().frontend_config());
    }
    let result = module
        .define_function(id, ctx)
        .map_err(|e| CodegenError::backend(format!("cannot compile entry: {e:?}")));
    ctx.clear();
    result
}

/// An ilo-convention function calling library builtin `builtin_id` with its arguments,
/// so a builtin can be passed as a function value (`map str xs`).
pub fn define_wrapper<M: Module>(
    module: &mut M,
    sh: &ProgramState,
    (ctx, fctx): (&mut Context, &mut FunctionBuilderContext),
    func: FnRef,
    builtin_id: usize,
) -> Result<(), CodegenError> {
    ctx.func.signature = ilo_signature(sh.call_conv, func.arity);
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let p = b.block_params(entry).to_vec();
        let args = if func.arity == 0 {
            b.ins().iconst(WORD, 0)
        } else {
            let slot = b.create_sized_stack_slot(cranelift_codegen::ir::StackSlotData::new(
                cranelift_codegen::ir::StackSlotKind::ExplicitSlot,
                (func.arity * 8) as u32,
                3,
            ));
            for (i, w) in p[2..].iter().enumerate() {
                b.ins().stack_store(WORD, *w, slot, (i * 8) as i32);
            }
            b.ins().stack_addr(WORD, slot, 0)
        };
        let id = b.ins().iconst(WORD, builtin_id as i64);
        let n = b.ins().iconst(WORD, func.arity as i64);
        // The wrapper owns its arguments and hands every one of them over.
        let r = if func.arity <= 64 {
            let mask = b.ins().iconst(WORD, all_owned(func.arity) as i64);
            let callee = module.declare_func_in_func(sh.rt.get(Entry::ilo_builtin_owned), b.func);
            let call = b.ins().call(callee, &[id, args, n, mask]);
            b.inst_results(call)[0]
        } else {
            let callee = module.declare_func_in_func(sh.rt.get(Entry::ilo_builtin), b.func);
            let call = b.ins().call(callee, &[id, args, n]);
            let r = b.inst_results(call)[0];
            let release = module.declare_func_in_func(sh.rt.get(Entry::ilo_release), b.func);
            for w in &p[2..] {
                b.ins().call(release, &[*w]);
            }
            r
        };
        b.ins().return_(&[r]);
        b.seal_all_blocks();
        b.finalize(module.isa().frontend_config());
    }
    let result = module
        .define_function(func.id, ctx)
        .map_err(|e| CodegenError::backend(format!("cannot compile builtin wrapper: {e:?}")));
    ctx.clear();
    result
}

/// The `ilo_builtin_owned` mask handing over all of `arity` (at most 64) arguments.
fn all_owned(arity: usize) -> u64 {
    if arity >= 64 {
        u64::MAX
    } else {
        (1u64 << arity) - 1
    }
}
