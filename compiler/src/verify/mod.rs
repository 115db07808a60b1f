//! The verifier: resolves names, checks arity and types, and records what it learned
//! for the code generator in [`Checked`].
//!
//! Map: `globals` collects declarations (and reports duplicates, unknown types);
//! `check` drives one function at a time and holds the statement rules, `expr` the
//! expression rules, `calls` name and call resolution; `scope` tracks locals and
//! lambda captures; `types` holds compatibility/join/display. Every error of the
//! program is collected; the result is an error if any diagnostic is an error.
//! Rewrites made here: `xs.i` → `at xs i`, long builtin aliases → short names, and a
//! bare zero-argument builtin (`mmap`) → a call.

mod calls;
mod check;
pub mod codes;
mod expr;
mod globals;
mod prelude;
mod scope;
pub mod types;

use std::collections::HashMap;

use crate::ast::{Decl, ExprId, SourceProgram, Type};
use crate::diag::{Diagnostic, Severity};

pub use check::ends_in_binding;
pub use scope::BodyId;

/// What a call expression resolves to.
#[derive(Clone, Debug, PartialEq)]
pub enum CallTarget {
    /// A user function (declared or imported), by name.
    User(String),
    /// A library builtin, by its canonical (short) name.
    Builtin(String),
    /// A local variable or parameter holding a function value.
    Local(String),
}

/// A verified program plus the side tables the code generator needs.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    /// The program after verifier rewrites (`xs.i` → `at xs i`, long builtin aliases →
    /// short names). Lambdas stay inline as `ExprKind::Lambda`.
    pub program: SourceProgram,
    /// Static type of every expression, indexed by `ExprId.0`; `Type::Any` when unknown.
    pub types: Vec<Type>,
    /// Resolution of every `ExprKind::Call`, and of every `ExprKind::Ref` that names a
    /// function rather than a local (`map dbl xs`), keyed by the expression's id.
    pub calls: HashMap<ExprId, CallTarget>,
    /// For every `ExprKind::Lambda`, the enclosing-scope locals it captures, in order.
    pub captures: HashMap<ExprId, Vec<String>>,
    /// Declared record types: name → field names in declaration order.
    pub records: Vec<(String, Vec<String>)>,
    /// Every local of every function and lambda (parameters first, then in order of
    /// first binding, including loop variables and match-arm bindings) with its one
    /// static type: the join of everything assigned to it. A name is one variable per
    /// body even when a loop variable reuses it.
    pub locals: HashMap<BodyId, Vec<(String, Type)>>,
    /// Warnings (ILO-T032, ILO-T033) and at most one hint (a long builtin alias used).
    pub warnings: Vec<Diagnostic>,
}

impl Checked {
    pub fn type_of(&self, id: ExprId) -> &Type {
        self.types.get(id.0 as usize).unwrap_or(&Type::Any)
    }
}

/// Verify a loaded program. All errors are reported at once; on failure the list
/// holds the errors first, then any warnings.
pub fn verify(mut program: SourceProgram) -> Result<Checked, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let globals = globals::Globals::collect(&program, &mut diags);
    let mut tables = check::Tables {
        types: vec![Type::Any; program.expr_count as usize],
        next_id: program.expr_count,
        ..Default::default()
    };
    // A function may take a long alias's name (`contains`): its own declaration wins
    // over the alias, and the hint names the canonical builtin.
    tables.first_alias = program.decls.iter().find_map(|d| match d {
        Decl::Func(f) => crate::builtin_names::alias_target(&f.name.name)
            .map(|short| (f.name.name.clone(), short, f.name.span)),
        _ => None,
    });
    for decl in &mut program.decls {
        if let Decl::Func(f) = decl {
            diags.extend(check::check_function(&globals, &mut tables, f));
            if f.tool {
                let mut d = Diagnostic::error(
                    codes::TOOL_WITHOUT_PROVIDER,
                    format!(
                        "tool '{}' has no provider configured here: every call returns ~nil",
                        f.name.name
                    ),
                    f.name.span,
                )
                .with_suggestion("call the service with `get`/`post` from an ordinary function");
                d.severity = Severity::Warning;
                diags.push(d);
            }
        }
    }
    program.expr_count = tables.next_id;
    tables.types.resize(program.expr_count as usize, Type::Any);

    if let Some((long, short, span)) = &tables.first_alias {
        let mut hint = Diagnostic::error(
            codes::ALIAS_HINT,
            format!("`{long}` → `{short}` (canonical short form)"),
            *span,
        );
        hint.severity = Severity::Hint;
        diags.push(hint);
    }
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) = diags
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(errors.into_iter().chain(warnings).collect());
    }
    let records = globals
        .record_order
        .iter()
        .map(|name| {
            let fields = globals.records[name]
                .iter()
                .map(|(f, _)| f.clone())
                .collect();
            (name.clone(), fields)
        })
        .collect();
    Ok(Checked {
        program,
        types: tables.types,
        calls: tables.calls,
        captures: tables.captures,
        records,
        locals: tables.locals,
        warnings,
    })
}
