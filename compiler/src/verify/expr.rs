//! Expression rules: the static type of every expression, recorded in the `types`
//! table, plus the checks that belong to operators, records, fields, matches and
//! lambdas. Calls and name references are in `calls.rs`.

use crate::ast::Type;
use crate::ast::{BinOp, Expr, ExprId, ExprKind, Ident, MatchArm, Pattern, TypeTest, UnOp, Unwrap};
use crate::diag::{did_you_mean, Diagnostic};
use crate::span::Span;

use super::check::{join_branches, FnChecker};
use super::codes;
use super::types::{compatible, is_concrete, is_dynamic, join, needs_check, show};
use super::WithCheck;

impl FnChecker<'_> {
    /// Check an expression and record its type. `used`: whether its value is consumed
    /// (passed on to match arms and ternary branches for the discarded-value lints).
    pub fn expr(&mut self, e: &mut Expr, used: bool) -> Type {
        let ty = self.expr_kind(e, used);
        self.tables.set_type(e.id, ty.clone());
        ty
    }

    fn expr_kind(&mut self, e: &mut Expr, used: bool) -> Type {
        let id = e.id;
        let span = e.span;
        match &mut e.kind {
            ExprKind::Num(_) => Type::Num,
            ExprKind::Text(_) => Type::Text,
            ExprKind::Bool(_) => Type::Bool,
            ExprKind::Nil => Type::Nil,
            ExprKind::Ref(_) => self.reference(e),
            ExprKind::Call { .. } => self.call(e),
            ExprKind::List(items) => {
                let mut elem: Option<Type> = None;
                for item in items.iter_mut() {
                    let t = self.expr(item, true);
                    elem = Some(match elem {
                        Some(prev) => join(&prev, &t),
                        None => t,
                    });
                }
                Type::List(Box::new(elem.unwrap_or(Type::Any)))
            }
            ExprKind::Unary { op, expr } => {
                let t = self.expr(expr, true);
                match op {
                    UnOp::Neg => {
                        self.require_num("-", &t, expr.span);
                        Type::Num
                    }
                    UnOp::Not => Type::Bool,
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let op = *op;
                let l = self.expr(lhs, true);
                let r = self.expr(rhs, true);
                self.binary(op, &l, &r, lhs.span, rhs.span, span)
            }
            ExprKind::Field { .. } => self.field(e),
            ExprKind::Index { expr, .. } => {
                let t = self.expr(expr, true);
                self.index_type(&t, span)
            }
            ExprKind::Record { ty, fields } => self.record(ty, fields, span),
            ExprKind::With { expr, fields } => {
                let t = self.expr(expr, true);
                self.with_fields(e.id, &t, fields);
                t
            }
            ExprKind::Ok(inner) => {
                let t = self.expr(inner, true);
                Type::Result(Box::new(t), Box::new(Type::Any))
            }
            ExprKind::Err(inner) => {
                let t = self.expr(inner, true);
                Type::Result(Box::new(Type::Any), Box::new(t))
            }
            ExprKind::Coalesce { lhs, rhs } => {
                let l = self.expr(lhs, true);
                let r = self.expr(rhs, true);
                match l {
                    Type::Nil => r,
                    Type::Opt(inner) => join(&inner, &r),
                    other if is_dynamic(&other) => Type::Any,
                    other => other,
                }
            }
            ExprKind::Match { subject, arms } => {
                let subject_ty = match subject {
                    Some(s) => self.expr(s, true),
                    None => self.prev_value.clone(),
                };
                self.match_arms(&subject_ty, arms, used)
            }
            ExprKind::Ternary { cond, then, els } => {
                self.expr(cond, true);
                let a = self.block(then, used);
                let b = self.block(els, used);
                join_branches(a, b).unwrap_or(Type::Any)
            }
            ExprKind::Lambda(decl) => {
                let note = format!("in a lambda in function '{}'", self.fn_name());
                let mut found = Vec::new();
                for p in &decl.params {
                    self.globals.check_type_expr(&p.ty, &note, &mut found);
                }
                self.globals.check_type_expr(&decl.ret, &note, &mut found);
                self.diags.extend(found);
                self.body(Some(id), decl);
                Type::Fn(
                    decl.params.iter().map(|p| p.ty.kind.clone()).collect(),
                    Box::new(decl.ret.kind.clone()),
                )
            }
        }
    }

    fn require_num(&mut self, op: &str, t: &Type, span: Span) {
        if !compatible(&Type::Num, t) {
            self.error(
                codes::OPERAND_TYPE,
                format!("'{op}' expects n, got {}", show(t)),
                span,
            );
        }
    }

    fn binary(
        &mut self,
        op: BinOp,
        l: &Type,
        r: &Type,
        lspan: Span,
        rspan: Span,
        span: Span,
    ) -> Type {
        let sym = op_symbol(op);
        match op {
            BinOp::Add => add_type(l, r).unwrap_or_else(|| {
                self.error(
                    codes::OPERAND_TYPE,
                    format!("'+' cannot combine {} and {}", show(l), show(r)),
                    span,
                );
                Type::Any
            }),
            BinOp::Sub | BinOp::Mul | BinOp::Div => {
                self.require_num(sym, l, lspan);
                self.require_num(sym, r, rspan);
                Type::Num
            }
            BinOp::Lt | BinOp::Gt | BinOp::Le | BinOp::Ge => {
                let ordered = |t: &Type| matches!(t, Type::Num | Type::Text | Type::Sum(_));
                let unorderable = |t: &Type| is_concrete(t) && !ordered(t);
                let mixed = is_concrete(l)
                    && is_concrete(r)
                    && !matches!(
                        (l, r),
                        (Type::Num, Type::Num)
                            | (Type::Text | Type::Sum(_), Type::Text | Type::Sum(_))
                    );
                if unorderable(l) || unorderable(r) || mixed {
                    self.error(
                        codes::OPERAND_TYPE,
                        format!(
                            "'{sym}' compares two n or two t, got {} and {}",
                            show(l),
                            show(r)
                        ),
                        span,
                    );
                }
                Type::Bool
            }
            BinOp::Eq | BinOp::Ne => Type::Bool,
            BinOp::And | BinOp::Or => {
                if *l == Type::Bool && *r == Type::Bool {
                    Type::Bool
                } else {
                    Type::Any
                }
            }
            BinOp::Append => match l {
                Type::List(elem) => Type::List(Box::new(join(elem, r))),
                Type::Stream => {
                    self.stream_not_list("+=", lspan);
                    Type::Any
                }
                t if is_concrete(t) => {
                    self.error(
                        codes::OPERAND_TYPE,
                        format!("'+=' appends to a list, got {}", show(t)),
                        lspan,
                    );
                    Type::Any
                }
                _ => Type::List(Box::new(Type::Any)),
            },
        }
    }

    pub fn stream_not_list(&mut self, what: &str, span: Span) {
        self.report(
            Diagnostic::error(
                codes::STREAM_NOT_LIST,
                format!("'{what}' needs a list, got a stream (a lazy line source)"),
                span,
            )
            .with_suggestion("iterate a stream with `@line src{…}`, collecting what you need"),
        );
    }

    /// `e.name` / `e.?name`, including the `xs.i` index sugar.
    fn field(&mut self, e: &mut Expr) -> Type {
        let ExprKind::Field { expr, name, safe } = &mut e.kind else {
            unreachable!("field() is called on Field nodes")
        };
        if !*safe
            && self.scopes.is_visible(&name.name)
            && !self.globals.is_declared_field(&name.name)
        {
            self.rewrite_index_sugar(e);
            return self.call(e);
        }
        let (name, safe) = (name.clone(), *safe);
        let t = self.expr(expr, true);
        self.field_type(&t, &name.name, safe, name.span)
    }

    /// `xs.i` where `i` is a local: becomes `at xs i`, keeping the node's id.
    fn rewrite_index_sugar(&mut self, e: &mut Expr) {
        let ExprKind::Field { expr, name, .. } = std::mem::replace(&mut e.kind, ExprKind::Nil)
        else {
            unreachable!("checked by the caller")
        };
        let index = Expr {
            id: self.tables.fresh_id(),
            kind: ExprKind::Ref(name.clone()),
            span: name.span,
        };
        e.kind = ExprKind::Call {
            callee: Ident {
                name: "at".into(),
                span: name.span,
            },
            args: vec![*expr, index],
            unwrap: Unwrap::None,
        };
    }

    /// The type of field `name` of a value of type `t`, reporting unknown fields on
    /// known record types and strict access on values that are not records.
    pub fn field_type(&mut self, t: &Type, name: &str, safe: bool, span: Span) -> Type {
        let record = match t {
            Type::Named(r) => Some(r),
            Type::Opt(inner) => match &**inner {
                Type::Named(r) => Some(r),
                _ => None,
            },
            _ => None,
        };
        if let Some(fields) = record.and_then(|r| self.globals.records.get(r)) {
            let record = record.expect("fields come from a record");
            return match fields.iter().find(|(f, _)| f == name) {
                Some((_, ty)) if safe => join(ty, &Type::Nil),
                Some((_, ty)) => ty.clone(),
                None if safe => Type::Nil,
                None => {
                    let mut d = Diagnostic::error(
                        codes::UNKNOWN_FIELD,
                        format!("type '{record}' has no field '{name}'"),
                        span,
                    );
                    if let Some(s) = did_you_mean(name, fields.iter().map(|(f, _)| f.as_str())) {
                        d = d.with_suggestion(format!("did you mean '{s}'?"));
                    }
                    self.report(d);
                    Type::Any
                }
            };
        }
        let not_a_record = is_concrete(t) && !matches!(t, Type::Named(_));
        if not_a_record && !safe {
            self.error(
                codes::NOT_A_RECORD,
                format!("cannot read field '{name}' of a value of type {}", show(t)),
                span,
            );
        }
        Type::Any
    }

    /// `e.0`.
    fn index_type(&mut self, t: &Type, span: Span) -> Type {
        match t {
            Type::List(elem) => (**elem).clone(),
            Type::Text | Type::Sum(_) => Type::Text,
            Type::Stream => {
                self.stream_not_list("indexing", span);
                Type::Any
            }
            t if is_concrete(t) => {
                self.error(
                    codes::NOT_A_RECORD,
                    format!("cannot index a value of type {}", show(t)),
                    span,
                );
                Type::Any
            }
            _ => Type::Any,
        }
    }

    /// `pt x:1 y:2`.
    fn record(&mut self, ty: &Ident, fields: &mut [(Ident, Expr)], span: Span) -> Type {
        let declared = self.globals.records.get(&ty.name);
        if declared.is_none() {
            let mut d = Diagnostic::error(
                codes::UNKNOWN_TYPE,
                format!("unknown type '{}'", ty.name),
                ty.span,
            );
            if let Some(s) = did_you_mean(
                &ty.name,
                self.globals.record_order.iter().map(String::as_str),
            ) {
                d = d.with_suggestion(format!("did you mean '{s}'?"));
            }
            self.report(d);
        }
        for (_, value) in fields.iter_mut() {
            self.expr(value, true);
        }
        let Some(declared) = declared else {
            return Type::Any;
        };
        self.check_field_values(&ty.name, declared, fields);
        for (field, _) in declared {
            if !fields.iter().any(|(f, _)| &f.name == field)
                && !self.globals.may_omit(&ty.name, field)
            {
                self.error(
                    codes::MISSING_FIELD,
                    format!("missing field '{field}' in '{}'", ty.name),
                    span,
                );
            }
        }
        Type::Named(ty.name.clone())
    }

    /// `e with a:1 b:2`.
    fn with_fields(&mut self, id: ExprId, t: &Type, fields: &mut [(Ident, Expr)]) {
        for (_, value) in fields.iter_mut() {
            self.expr(value, true);
        }
        match t {
            Type::Named(r) => {
                if let Some(declared) = self.globals.records.get(r) {
                    self.check_field_values(r, declared, fields);
                }
            }
            t if is_concrete(t) => {
                let span = fields.first().map_or(Span::default(), |(f, _)| f.span);
                self.error(
                    codes::NOT_A_RECORD,
                    format!("'with' needs a record, got {}", show(t)),
                    span,
                );
            }
            _ => self.note_dynamic_with(id, fields),
        }
    }

    /// `r with f:v` on a value of unknown type may update a record of any declared
    /// type with a field `f`: for each whose `f` has a type `v` is not proven to fit,
    /// the result is checked (when it is a record of that type) after the update.
    fn note_dynamic_with(&mut self, id: ExprId, fields: &[(Ident, Expr)]) {
        let mut records: Vec<_> = self.globals.records.iter().collect();
        records.sort_by(|a, b| a.0.cmp(b.0));
        let mut checks = Vec::new();
        for (field, value) in fields {
            let actual = &self.tables.types[value.id.0 as usize];
            for (record, declared) in &records {
                let found = declared
                    .iter()
                    .enumerate()
                    .find(|(_, (f, _))| *f == field.name);
                if let Some((index, (_, ty))) = found {
                    if needs_check(ty, actual) {
                        checks.push(WithCheck {
                            record: record.to_string(),
                            index,
                            field: field.name.clone(),
                            ty: ty.clone(),
                        });
                    }
                }
            }
        }
        if checks.is_empty() {
            self.tables.with_checks.remove(&id);
        } else {
            self.tables.with_checks.insert(id, checks);
        }
    }

    /// Each given field must be declared and its value must fit.
    fn check_field_values(
        &mut self,
        record: &str,
        declared: &[(String, Type)],
        fields: &[(Ident, Expr)],
    ) {
        for (field, value) in fields {
            match declared.iter().find(|(f, _)| *f == field.name) {
                Some((_, expected)) => {
                    let actual = self.tables.types[value.id.0 as usize].clone();
                    let place = format!("field '{}' of '{record}'", field.name);
                    self.tables.note_check(value.id, expected, &actual, place);
                    if !compatible(expected, &actual) {
                        self.error(
                            codes::FIELD_TYPE,
                            format!(
                                "field '{}' of '{record}' expects {}, got {}",
                                field.name,
                                show(expected),
                                show(&actual)
                            ),
                            value.span,
                        );
                    }
                }
                None => {
                    let mut d = Diagnostic::error(
                        codes::UNKNOWN_FIELD,
                        format!("type '{record}' has no field '{}'", field.name),
                        field.span,
                    );
                    if let Some(s) =
                        did_you_mean(&field.name, declared.iter().map(|(f, _)| f.as_str()))
                    {
                        d = d.with_suggestion(format!("did you mean '{s}'?"));
                    }
                    self.report(d);
                }
            }
        }
    }

    /// `?x{arms}`: check each pattern against the subject, bind its variable, and join
    /// the arm values (with nil when no arm may match).
    fn match_arms(&mut self, subject: &Type, arms: &mut [MatchArm], used: bool) -> Type {
        let mut value: Option<Type> = None;
        for arm in arms.iter_mut() {
            self.scopes.push_scope();
            if let Some((name, ty)) = self.pattern(subject, &arm.pattern, arm.span) {
                self.scopes.bind_block(&name, &ty);
            }
            let arm_value = self.block(&mut arm.body, used);
            self.scopes.pop_scope();
            value = join_branches(value, arm_value);
        }
        let value = value.unwrap_or(Type::Any);
        if exhaustive(subject, arms) {
            value
        } else {
            join(&value, &Type::Nil)
        }
    }

    /// Check a pattern against the subject type; returns the binding it makes.
    fn pattern(&mut self, subject: &Type, pattern: &Pattern, span: Span) -> Option<(String, Type)> {
        let payload = match subject {
            Type::Opt(inner) => &**inner,
            other => other,
        };
        let never = |this: &mut Self, what: &str| {
            this.error(
                codes::PATTERN,
                format!(
                    "{what} pattern can never match a value of type {}",
                    show(subject)
                ),
                span,
            );
        };
        match pattern {
            Pattern::Text(text) => {
                if let Type::Sum(variants) = payload {
                    if !variants.contains(text) {
                        let mut d = Diagnostic::error(
                            codes::PATTERN,
                            format!("'{text}' is not a variant of {}", show(payload)),
                            span,
                        );
                        if let Some(s) = did_you_mean(text, variants.iter().map(String::as_str)) {
                            d = d.with_suggestion(format!("did you mean '{s}'?"));
                        }
                        self.report(d);
                    }
                } else if is_concrete(payload) && *payload != Type::Text {
                    never(self, "a text");
                }
                None
            }
            Pattern::Num(_) => {
                if is_concrete(payload) && *payload != Type::Num {
                    never(self, "a number");
                }
                None
            }
            Pattern::Bool(_) => {
                if is_concrete(payload) && *payload != Type::Bool {
                    never(self, "a bool");
                }
                None
            }
            Pattern::Nil => None,
            // `_:` binds `_` to the subject (`_:*_ 2`).
            Pattern::Wildcard => Some(("_".to_string(), subject.clone())),
            Pattern::Ok(v) => {
                let ty = match subject {
                    Type::Result(ok, _) => (**ok).clone(),
                    Type::Opt(inner) => (**inner).clone(),
                    t if is_concrete(t) => {
                        never(self, "a '~'");
                        Type::Any
                    }
                    _ => Type::Any,
                };
                Some((v.name.clone(), ty))
            }
            Pattern::Err(v) => {
                let ty = match subject {
                    Type::Result(_, err) => (**err).clone(),
                    t if is_concrete(t) => {
                        never(self, "a '^'");
                        Type::Any
                    }
                    _ => Type::Any,
                };
                Some((v.name.clone(), ty))
            }
            Pattern::IsType(test, v) => {
                let ty = match test {
                    TypeTest::Num => Type::Num,
                    TypeTest::Text => Type::Text,
                    TypeTest::Bool => Type::Bool,
                    TypeTest::List => match payload {
                        Type::List(_) => payload.clone(),
                        _ => Type::List(Box::new(Type::Any)),
                    },
                };
                Some((v.name.clone(), ty))
            }
        }
    }
}

/// The static type of `+ l r`, or `None` when the operands certainly cannot be added.
fn add_type(l: &Type, r: &Type) -> Option<Type> {
    let texty = |t: &Type| matches!(t, Type::Text | Type::Sum(_));
    let addable = |t: &Type| {
        !is_concrete(t) || matches!(t, Type::Num | Type::Text | Type::Sum(_) | Type::List(_))
    };
    match (l, r) {
        (Type::Num, Type::Num) => Some(Type::Num),
        (a, b) if texty(a) && texty(b) => Some(Type::Text),
        (Type::List(a), Type::List(b)) => Some(Type::List(Box::new(join(a, b)))),
        (a, b) if !addable(a) || !addable(b) => None,
        (a, b) if is_concrete(a) && is_concrete(b) => None,
        _ => Some(Type::Any),
    }
}

/// Whether some arm matches every value the subject can have.
fn exhaustive(subject: &Type, arms: &[MatchArm]) -> bool {
    let has = |p: &dyn Fn(&Pattern) -> bool| arms.iter().any(|a| p(&a.pattern));
    if has(&|p| matches!(p, Pattern::Wildcard)) {
        return true;
    }
    if has(&|p| matches!(p, Pattern::Ok(_)))
        && has(&|p| matches!(p, Pattern::Err(_) | Pattern::Nil))
    {
        return true;
    }
    if has(&|p| *p == Pattern::Bool(true)) && has(&|p| *p == Pattern::Bool(false)) {
        return true;
    }
    if let Type::Sum(variants) = subject {
        return variants
            .iter()
            .all(|v| has(&|p| matches!(p, Pattern::Text(t) if t == v)));
    }
    false
}

fn op_symbol(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Eq => "=",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Gt => ">",
        BinOp::Le => "<=",
        BinOp::Ge => ">=",
        BinOp::And => "&",
        BinOp::Or => "|",
        BinOp::Append => "+=",
    }
}
