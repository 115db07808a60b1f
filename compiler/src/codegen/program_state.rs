//! Program-wide state shared by the translation of every function: what each name
//! compiles to, the static data emitted so far, and the span table.

use std::collections::HashMap;

use cranelift_codegen::isa::CallConv;
use cranelift_module::{DataDescription, DataId, FuncId, Linkage, Module};

use super::abi::RuntimeImports;
use super::error::CodegenError;
use super::names;
use crate::ast::ExprId;
use crate::span::Span;

/// A generated function: its id and the number of ilo arguments it takes.
#[derive(Clone, Copy, Debug)]
pub struct FnRef {
    pub id: FuncId,
    pub arity: usize,
}

/// A builtin used as a function value (`map str xs`) needs a wrapper with the ilo
/// calling convention; wrappers are declared on first use and defined at the end.
pub struct Wrapper {
    pub func: FnRef,
    pub builtin_id: usize,
}

pub struct ProgramState {
    pub rt: RuntimeImports,
    pub call_conv: CallConv,
    pub user: HashMap<String, FnRef>,
    pub lambdas: HashMap<ExprId, FnRef>,
    /// Keyed by builtin name and the arity the value takes.
    pub wrappers: HashMap<(String, usize), Wrapper>,
    /// Declared record types: name → field names in declaration order.
    pub records: HashMap<String, Vec<String>>,
    /// Span id → span; compiled code passes the id to `ilo_err_span`.
    pub spans: Vec<Span>,
    pub errors: Vec<CodegenError>,
    /// When set, the Cranelift IR of the user function with this name is kept in
    /// `clif` (for tests and debugging).
    pub clif_for: Option<String>,
    pub clif: Option<String>,
    bytes: HashMap<Vec<u8>, DataId>,
    text_slots: HashMap<String, DataId>,
    record_slots: HashMap<String, DataId>,
    data_count: usize,
}

impl ProgramState {
    pub fn new(rt: RuntimeImports, call_conv: CallConv) -> ProgramState {
        ProgramState {
            rt,
            call_conv,
            user: HashMap::new(),
            lambdas: HashMap::new(),
            wrappers: HashMap::new(),
            records: HashMap::new(),
            spans: Vec::new(),
            errors: Vec::new(),
            clif_for: None,
            clif: None,
            bytes: HashMap::new(),
            text_slots: HashMap::new(),
            record_slots: HashMap::new(),
            data_count: 0,
        }
    }

    pub fn span_id(&mut self, span: Span) -> i64 {
        self.spans.push(span);
        (self.spans.len() - 1) as i64
    }

    /// Read-only static bytes (deduplicated).
    pub fn static_bytes<M: Module>(
        &mut self,
        module: &mut M,
        b: &[u8],
    ) -> Result<DataId, CodegenError> {
        if let Some(id) = self.bytes.get(b) {
            return Ok(*id);
        }
        let id = module
            .declare_data(&names::bytes(self.next()), Linkage::Local, false, false)
            .map_err(CodegenError::backend)?;
        let mut desc = DataDescription::new();
        // A trailing zero keeps even the empty text a non-empty object.
        let mut contents = b.to_vec();
        contents.push(0);
        desc.define(contents.into_boxed_slice());
        module
            .define_data(id, &desc)
            .map_err(CodegenError::backend)?;
        self.bytes.insert(b.to_vec(), id);
        Ok(id)
    }

    /// The cache slot of text literal `s` (see `ilo_text_lit`).
    pub fn text_slot<M: Module>(
        &mut self,
        module: &mut M,
        s: &str,
    ) -> Result<DataId, CodegenError> {
        if let Some(id) = self.text_slots.get(s) {
            return Ok(*id);
        }
        let id = self.new_slot(module)?;
        self.text_slots.insert(s.to_string(), id);
        Ok(id)
    }

    /// The cache slot of record type `name` (see `ilo_record_new`).
    pub fn record_slot<M: Module>(
        &mut self,
        module: &mut M,
        name: &str,
    ) -> Result<DataId, CodegenError> {
        if let Some(id) = self.record_slots.get(name) {
            return Ok(*id);
        }
        let id = self.new_slot(module)?;
        self.record_slots.insert(name.to_string(), id);
        Ok(id)
    }

    fn new_slot<M: Module>(&mut self, module: &mut M) -> Result<DataId, CodegenError> {
        let id = module
            .declare_data(&names::slot(self.next()), Linkage::Local, true, false)
            .map_err(CodegenError::backend)?;
        let mut desc = DataDescription::new();
        desc.define_zeroinit(8);
        desc.set_align(8);
        module
            .define_data(id, &desc)
            .map_err(CodegenError::backend)?;
        Ok(id)
    }

    fn next(&mut self) -> usize {
        self.data_count += 1;
        self.data_count
    }
}
