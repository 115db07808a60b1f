//! Program-wide names: user functions, record types and builtins, collected before
//! any body is checked. Also reports what is wrong with the declarations themselves:
//! duplicate names (including ones brought in by imports), unknown type names in
//! signatures (`tool` declarations included) and record fields.

use std::collections::{HashMap, HashSet};

use crate::ast::{Decl, SourceProgram, Type, TypeExpr};
use crate::builtin_names;
use crate::builtin_sigs::{self, Sig};
use crate::diag::{did_you_mean, Diagnostic, Label};
use crate::span::Span;

use super::{codes, prelude};

/// A user function's signature.
pub struct FnInfo {
    pub params: Vec<Type>,
    pub ret: Type,
}

pub struct Globals {
    pub funcs: HashMap<String, FnInfo>,
    /// Record type name → declared fields in order.
    pub records: HashMap<String, Vec<(String, Type)>>,
    /// Record names in declaration order (for [`super::Checked::records`]).
    pub record_order: Vec<String>,
    /// Every field name of every record type: `xs.i` stays a field access for these.
    field_names: HashSet<String>,
    /// Whether `rsp` is the prelude's response record (no declaration claimed the name).
    prelude_response: bool,
}

impl Globals {
    /// Collect declarations, reporting duplicates and unknown types.
    pub fn collect(program: &SourceProgram, diags: &mut Vec<Diagnostic>) -> Globals {
        let mut globals = Globals {
            funcs: HashMap::new(),
            records: HashMap::new(),
            record_order: Vec::new(),
            field_names: HashSet::new(),
            prelude_response: false,
        };
        let mut first_span: HashMap<String, Span> = HashMap::new();
        let mut claim = |name: &str, span: Span, diags: &mut Vec<Diagnostic>| -> bool {
            if let Some(first) = first_span.get(name) {
                let mut d = Diagnostic::error(
                    codes::DUPLICATE,
                    format!("duplicate definition of '{name}'"),
                    span,
                );
                d.labels.push(Label {
                    span: *first,
                    message: "first defined here".into(),
                });
                diags.push(
                    d.with_note("every function and type shares one namespace, imports included"),
                );
                return false;
            }
            first_span.insert(name.to_string(), span);
            true
        };
        for decl in &program.decls {
            match decl {
                Decl::Func(f) => {
                    if claim(&f.name.name, f.name.span, diags) {
                        globals.funcs.insert(
                            f.name.name.clone(),
                            FnInfo {
                                params: f.params.iter().map(|p| p.ty.kind.clone()).collect(),
                                ret: f.ret.kind.clone(),
                            },
                        );
                    }
                }
                Decl::Type(t) => {
                    if claim(&t.name.name, t.name.span, diags) {
                        let fields: Vec<(String, Type)> = t
                            .fields
                            .iter()
                            .map(|(name, ty)| (name.name.clone(), ty.kind.clone()))
                            .collect();
                        globals
                            .field_names
                            .extend(fields.iter().map(|(name, _)| name.clone()));
                        globals.records.insert(t.name.name.clone(), fields);
                        globals.record_order.push(t.name.name.clone());
                    }
                }
                Decl::Use(_) => {}
            }
        }
        if !first_span.contains_key(prelude::RESPONSE) {
            globals.add_prelude_response();
        }
        for decl in &program.decls {
            match decl {
                Decl::Func(f) => {
                    let note = format!("in function '{}'", f.name.name);
                    for p in &f.params {
                        globals.check_type_expr(&p.ty, &note, diags);
                    }
                    globals.check_type_expr(&f.ret, &note, diags);
                }
                Decl::Type(t) => {
                    let note = format!("in type '{}'", t.name.name);
                    for (_, ty) in &t.fields {
                        globals.check_type_expr(ty, &note, diags);
                    }
                }
                Decl::Use(_) => {}
            }
        }
        globals
    }

    fn add_prelude_response(&mut self) {
        // Its field names stay out of `field_names`: a program that indexes a list
        // with a local called `body` or `status` (`xs.body`) keeps doing so.
        let fields = prelude::response_fields();
        self.records.insert(prelude::RESPONSE.to_string(), fields);
        self.record_order.push(prelude::RESPONSE.to_string());
        self.prelude_response = true;
    }

    /// May a construction of `record` leave `field` out? Only the prelude's optional
    /// response fields; every field of a declared record must be given.
    pub fn may_omit(&self, record: &str, field: &str) -> bool {
        self.prelude_response
            && record == prelude::RESPONSE
            && prelude::RESPONSE_OPTIONAL.contains(&field)
    }

    /// Report record names in a written type that are not declared.
    pub fn check_type_expr(&self, ty: &TypeExpr, note: &str, diags: &mut Vec<Diagnostic>) {
        let mut unknown = Vec::new();
        self.unknown_names(&ty.kind, &mut unknown);
        for name in unknown {
            let mut d = Diagnostic::error(
                codes::UNKNOWN_TYPE,
                format!("unknown type '{name}'"),
                ty.span,
            )
            .with_note(note);
            if let Some(s) = did_you_mean(&name, self.record_order.iter().map(String::as_str)) {
                d = d.with_suggestion(format!("did you mean '{s}'?"));
            }
            diags.push(d);
        }
    }

    fn unknown_names(&self, t: &Type, out: &mut Vec<String>) {
        match t {
            Type::Named(name)
                if name != "json" && !self.records.contains_key(name) && !out.contains(name) =>
            {
                out.push(name.clone());
            }
            Type::List(x) | Type::Opt(x) => self.unknown_names(x, out),
            Type::Result(x, y) | Type::Map(x, y) => {
                self.unknown_names(x, out);
                self.unknown_names(y, out);
            }
            Type::Fn(ps, r) => {
                for p in ps {
                    self.unknown_names(p, out);
                }
                self.unknown_names(r, out);
            }
            _ => {}
        }
    }

    /// Whether some record type declares a field called `name`.
    pub fn is_declared_field(&self, name: &str) -> bool {
        self.field_names.contains(name)
    }

    /// Names a "did you mean" for an unknown function may suggest.
    pub fn callable_names(&self) -> impl Iterator<Item = &str> {
        self.funcs
            .keys()
            .map(String::as_str)
            .chain(builtin_names::names().map(|name| -> &str { name }))
    }
}

/// A builtin resolved from a name that may be a long alias: canonical name + overloads.
pub fn builtin(name: &str) -> Option<(&'static str, &'static [Sig])> {
    let short = builtin_names::canonical(name)?;
    Some((short, builtin_sigs::overloads(short)?))
}
