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

use std::collections::{HashMap, HashSet};

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
    /// Expressions whose value must be checked at run time against the declared type
    /// of the place it goes to (a parameter, a field, a result), because it is of a
    /// type (`_`, an optional) that does not prove what the code generator relies on.
    pub checks: HashMap<ExprId, RuntimeCheck>,
    /// Calls of builtins given a function value that may not return what its type
    /// says (`map f xs` with a parameter `f:F n n`): their result is checked.
    pub result_checks: HashMap<ExprId, RuntimeCheck>,
    /// `ret` and guard values not proven to fit the declared return type.
    pub return_checks: HashMap<ExprId, RuntimeCheck>,
    /// `with` on a value of unknown type, updating fields some declared record type
    /// gives a type the code relies on: checked after the update.
    pub with_checks: HashMap<ExprId, Vec<WithCheck>>,
    /// Bodies whose own value is not proven to fit the declared return type.
    pub checked_bodies: HashSet<BodyId>,
    /// Declared functions with a `ret`, guard or body value not proven to fit their
    /// return type. Upstream never checks a result, and the command line prints an
    /// entry function's result whatever it is; compiled callers check what such a
    /// function returned, and so does a function value or lambda (whose results a
    /// builtin like `map` passes on) before returning it.
    pub unproven_returns: HashSet<String>,
    /// Functions used as values: their parameters are checked on entry, since
    /// function values are called with whatever their caller had.
    pub value_funcs: HashSet<String>,
    /// Warnings (ILO-T032, ILO-T033) and at most one hint (a long builtin alias used).
    pub warnings: Vec<Diagnostic>,
}

/// After `r with f:v` on a value of unknown type: when the result is a record of
/// type `record`, its field number `index` (`field`) must fit `ty`.
#[derive(Clone, Debug, PartialEq)]
pub struct WithCheck {
    pub record: String,
    pub index: usize,
    pub field: String,
    pub ty: Type,
}

/// A run-time check of a value against the declared type of the place it enters.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeCheck {
    pub ty: Type,
    /// The place, for the message: `parameter 'x' of 'f'`, `field 'n' of 'acc'`.
    pub place: String,
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
    let unproven_returns = tables
        .checked_bodies
        .iter()
        .chain(tables.return_checks.values().map(|(body, _)| body))
        .filter_map(|body| match body {
            BodyId::Func(name) => Some(name.clone()),
            BodyId::Lambda(_) => None,
        })
        .collect();
    Ok(Checked {
        unproven_returns,
        program,
        types: tables.types,
        calls: tables.calls,
        captures: tables.captures,
        records,
        locals: tables.locals,
        checks: tables.checks,
        result_checks: tables.result_checks,
        return_checks: tables
            .return_checks
            .into_iter()
            .map(|(id, (_, check))| (id, check))
            .collect(),
        with_checks: tables.with_checks,
        checked_bodies: tables.checked_bodies,
        value_funcs: tables.value_funcs,
        warnings,
    })
}
