//! Expressions.
//!
//! Three layers, loosest first:
//! - [`Parser::parse_expr`]: infix operators by precedence over terms, then `??`, then
//!   `>>` pipes (desugared here into a call with the left side as the last argument);
//! - [`Parser::parse_term`]: a call with its greedy argument list (`f a b`), a record
//!   construction (`pt x:1`), or a single operand; optionally followed by `with`;
//! - [`Parser::parse_operand`]: literals, names, lists, parentheses, lambdas and every
//!   prefix form (`+a b`, `-x`, `!c`, `~v`, `^e`, `$url`, `?c a b`, `??a b`). Prefix
//!   operators take operands, so nesting needs no parentheses: `+*a b c`.
//!
//! Whether an operator is infix or starts a prefix operand is decided by spacing:
//! `a + b` and `a+b` are infix, while `f +a b` passes `+a b` as an argument.

use super::{codes, is_keyword, Arity, PResult, Parser};
use crate::ast::{BinOp, Expr, ExprKind, FnDecl, Ident, Stmt, StmtKind, UnOp, Unwrap};
use crate::builtin_names::VARIADIC;
use crate::diag::Diagnostic;
use crate::lexer::Tok;
use crate::span::Span;

impl Parser {
    /// A full expression.
    pub(super) fn parse_expr(&mut self) -> PResult<Expr> {
        self.nested(|p| {
            let mut lhs = p.parse_coalesce()?;
            let mut links = 0;
            while p.eat(&Tok::Pipe) {
                links += 1;
                p.check_depth(links)?;
                lhs = p.parse_pipe_target(lhs)?;
            }
            Ok(lhs)
        })
    }

    /// `lhs>>f a` is `f a lhs`.
    fn parse_pipe_target(&mut self, lhs: Expr) -> PResult<Expr> {
        let callee = self.expect_name("a function name after `>>`")?;
        let unwrap = self.parse_unwrap();
        let max = self.arity(&callee.name).map(|a| a.max.saturating_sub(1));
        let mut args = self.parse_call_args(max)?;
        let span = lhs.span.to(self.prev_span());
        args.push(lhs);
        Ok(self.mk(
            ExprKind::Call {
                callee,
                args,
                unwrap,
            },
            span,
        ))
    }

    /// `a??b??c`: right-associative; each right side runs only when the left is nil.
    fn parse_coalesce(&mut self) -> PResult<Expr> {
        let first = if self.negative_literal_before_infix() {
            self.parse_split_negative()?
        } else if self.negative_literal_before_operand() {
            self.parse_literal_subtraction()?
        } else {
            self.parse_term()?
        };
        let mut chain = vec![self.parse_infix_rest(first, 1)?];
        while self.at(&Tok::Coalesce) {
            self.check_depth(chain.len())?;
            self.bump();
            let next = self.parse_binary(1)?;
            chain.push(next);
        }
        let mut rhs = chain.pop().expect("chain holds the first operand");
        while let Some(lhs) = chain.pop() {
            let span = lhs.span.to(rhs.span);
            rhs = self.mk(
                ExprKind::Coalesce {
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            );
        }
        Ok(rhs)
    }

    /// `-3 + 1`: a negative literal directly before an infix operator reads as prefix
    /// subtraction (`- 3 …`), as the reference implementation does.
    fn negative_literal_before_infix(&self) -> bool {
        matches!(self.peek(), Tok::Num(n) if n.is_sign_negative()) && self.infix_op(1).is_some()
    }

    /// `-0 x`, `-10 x` at the start of an expression: the `-` is prefix subtraction
    /// (`0 - x`, `10 - x`), as `-a b` is, rather than a negative literal followed by a
    /// stray operand. Inside argument lists and lists `-1` stays a literal.
    fn negative_literal_before_operand(&self) -> bool {
        matches!(self.peek(), Tok::Num(n) if n.is_sign_negative()) && self.starts_operand(1)
    }

    fn parse_literal_subtraction(&mut self) -> PResult<Expr> {
        let tok = self.bump();
        let Tok::Num(n) = tok.kind else {
            return Err(self.unexpected("expression"));
        };
        let lhs = self.mk(ExprKind::Num(-n), tok.span);
        let rhs = self.parse_operand(true)?;
        let span = tok.span.to(rhs.span);
        Ok(self.binary(BinOp::Sub, lhs, rhs, span))
    }

    fn parse_split_negative(&mut self) -> PResult<Expr> {
        let tok = self.bump();
        let Tok::Num(n) = tok.kind else {
            return Err(self.unexpected("expression"));
        };
        let lhs = self.mk(ExprKind::Num(-n), tok.span);
        let rhs = self.parse_operand(true).map_err(|d| {
            d.with_note("a negative literal followed by an infix operator reads as prefix `-`; write `(-3) + 1` or `- 0 3`")
        })?;
        let span = tok.span.to(rhs.span);
        Ok(self.binary(BinOp::Sub, lhs, rhs, span))
    }

    fn parse_binary(&mut self, min_prec: u8) -> PResult<Expr> {
        let lhs = self.parse_term()?;
        self.parse_infix_rest(lhs, min_prec)
    }

    /// Precedence climbing over infix operators (`*` `/` bind tightest, `|` loosest).
    fn parse_infix_rest(&mut self, mut lhs: Expr, min_prec: u8) -> PResult<Expr> {
        let mut links = 0;
        while let Some((op, prec)) = self.infix_op(0) {
            if prec < min_prec {
                break;
            }
            links += 1;
            self.check_depth(links)?;
            self.bump();
            let rhs = self.parse_binary(prec + 1)?;
            let span = lhs.span.to(rhs.span);
            lhs = self.binary(op, lhs, rhs, span);
        }
        Ok(lhs)
    }

    /// The infix operator `ahead` tokens away, with its precedence. An operator glued
    /// to the operand after it but not to the one before (`f +a b`) is a prefix operand.
    fn infix_op(&self, ahead: usize) -> Option<(BinOp, u8)> {
        let (op, prec) = match self.peek_at(ahead) {
            Tok::Star => (BinOp::Mul, 6),
            Tok::Slash => (BinOp::Div, 6),
            Tok::Plus => (BinOp::Add, 5),
            Tok::Minus => (BinOp::Sub, 5),
            Tok::PlusEq => (BinOp::Append, 5),
            Tok::Lt => (BinOp::Lt, 4),
            Tok::Gt => (BinOp::Gt, 4),
            Tok::Le => (BinOp::Le, 4),
            Tok::Ge => (BinOp::Ge, 4),
            Tok::Eq | Tok::EqEq => (BinOp::Eq, 3),
            Tok::NotEq => (BinOp::Ne, 3),
            Tok::Amp => (BinOp::And, 2),
            Tok::Bar => (BinOp::Or, 1),
            _ => return None,
        };
        let prefix_operand = self.glued(ahead + 1) && !self.glued(ahead);
        (!prefix_operand).then_some((op, prec))
    }

    /// Can the token `ahead` start an operand (a further argument, the second operand
    /// of `-`, a guard's value)?
    pub(super) fn starts_operand(&self, ahead: usize) -> bool {
        match self.peek_at(ahead) {
            Tok::Num(_)
            | Tok::Str(_)
            | Tok::LParen
            | Tok::LBracket
            | Tok::Underscore
            | Tok::Tilde
            | Tok::Caret
            | Tok::Dollar
            | Tok::Question
            | Tok::Bang => true,
            Tok::Ident(w) => !is_keyword(w) || matches!(w.as_str(), "true" | "false" | "nil"),
            Tok::Plus
            | Tok::PlusEq
            | Tok::Minus
            | Tok::Star
            | Tok::Slash
            | Tok::Eq
            | Tok::EqEq
            | Tok::NotEq
            | Tok::Lt
            | Tok::Gt
            | Tok::Le
            | Tok::Ge
            | Tok::Amp
            | Tok::Bar
            | Tok::Coalesce => self.glued(ahead + 1) && !self.glued(ahead),
            _ => false,
        }
    }

    /// A call, a record construction, or an operand; then any `with` update.
    pub(super) fn parse_term(&mut self) -> PResult<Expr> {
        let is_head = match self.peek() {
            Tok::Ident(w) => !is_keyword(w) && !matches!(self.peek_at(1), Tok::Dot | Tok::DotQ),
            _ => false,
        };
        let expr = if is_head {
            self.parse_application()?
        } else {
            self.parse_operand(true)?
        };
        self.parse_with(expr)
    }

    /// `f a b`, `f! a`, `f()`, `pt x:1 y:2`, or a plain name.
    fn parse_application(&mut self) -> PResult<Expr> {
        let callee = self.expect_name("a name")?;
        let unwrap = self.parse_unwrap();
        if let Some(call) = self.parse_empty_call(&callee, unwrap) {
            return Ok(call);
        }
        let is_local = self.is_local(&callee.name);
        if !is_local && unwrap == Unwrap::None && self.at_record_field() {
            let fields = self.parse_record_fields()?;
            let span = callee.span.to(self.prev_span());
            return Ok(self.mk(ExprKind::Record { ty: callee, fields }, span));
        }
        let arity = self.arity(&callee.name);
        if self.starts_operand(0)
            || unwrap != Unwrap::None
            || self.is_zero_arg_builtin(&callee.name)
        {
            let args = self.parse_call_args(arity.map(|a| a.max))?;
            let span = callee.span.to(self.prev_span());
            return Ok(self.mk(
                ExprKind::Call {
                    callee,
                    args,
                    unwrap,
                },
                span,
            ));
        }
        let span = callee.span;
        Ok(self.mk(ExprKind::Ref(callee), span))
    }

    /// `f()` / `f!()`: an explicit zero-argument call.
    fn parse_empty_call(&mut self, callee: &Ident, unwrap: Unwrap) -> Option<Expr> {
        if !(self.at(&Tok::LParen) && self.glued(0) && self.peek_at(1) == &Tok::RParen) {
            return None;
        }
        self.bump();
        self.bump();
        let span = callee.span.to(self.prev_span());
        Some(self.mk(
            ExprKind::Call {
                callee: callee.clone(),
                args: Vec::new(),
                unwrap,
            },
            span,
        ))
    }

    /// A builtin that takes no arguments (`mmap`, `now`) is called when named bare.
    fn is_zero_arg_builtin(&self, name: &str) -> bool {
        !self.user_fns.contains_key(name) && self.arity(name).is_some_and(|a| a.min == 0)
    }

    /// `!` or `!!` written directly after a function name.
    fn parse_unwrap(&mut self) -> Unwrap {
        if !(self.at(&Tok::Bang) && self.glued(0)) {
            return Unwrap::None;
        }
        self.bump();
        if self.at(&Tok::Bang) && self.glued(0) {
            self.bump();
            return Unwrap::Panic;
        }
        Unwrap::Propagate
    }

    /// Arguments up to `max` (greedy when unknown). In the last argument slot of a
    /// known-arity callee a known-arity call expands in turn: `prnt fmt "{}" x`.
    fn parse_call_args(&mut self, max: Option<usize>) -> PResult<Vec<Expr>> {
        let mut args = Vec::new();
        while self.starts_operand(0) && max.is_none_or(|m| args.len() < m) {
            let last_slot = max.is_some_and(|m| m != VARIADIC as usize && args.len() + 1 == m);
            if last_slot && self.at_call_head() {
                args.push(self.nested(|p| p.parse_application())?);
            } else {
                args.push(self.parse_operand(false)?);
            }
        }
        Ok(args)
    }

    /// A known function (not a local) followed by something it can take as an argument.
    fn at_call_head(&self) -> bool {
        let Some(name) = self.ident_text(0) else {
            return false;
        };
        !is_keyword(name)
            && self.arity(name).is_some_and(|a| a.min >= 1)
            && !matches!(self.peek_at(1), Tok::Dot | Tok::DotQ)
            && self.starts_operand(1)
    }

    fn at_record_field(&self) -> bool {
        matches!(self.peek(), Tok::Ident(_)) && self.peek_at(1) == &Tok::Colon
    }

    /// `x:1 y:+a b` (after a record type name or `with`).
    fn parse_record_fields(&mut self) -> PResult<Vec<(Ident, Expr)>> {
        let mut fields = Vec::new();
        while self.at_record_field() {
            let name = self.parse_field_name()?;
            self.bump();
            let value = self.parse_operand(true)?;
            fields.push((name, value));
        }
        Ok(fields)
    }

    /// `e with x:1 y:2`
    fn parse_with(&mut self, mut expr: Expr) -> PResult<Expr> {
        let mut links = 0;
        while self.at_word("with") {
            links += 1;
            self.check_depth(links)?;
            self.bump();
            let fields = self.parse_record_fields()?;
            if fields.is_empty() {
                return Err(self.unexpected("`field:value` after `with`"));
            }
            let span = expr.span.to(self.prev_span());
            expr = self.mk(
                ExprKind::With {
                    expr: Box::new(expr),
                    fields,
                },
                span,
            );
        }
        Ok(expr)
    }

    /// Any identifier-shaped token, keywords included (field names, record fields).
    pub(super) fn parse_field_name(&mut self) -> PResult<Ident> {
        match self.peek().clone() {
            Tok::Ident(name) => {
                let span = self.bump().span;
                Ok(Ident { name, span })
            }
            _ => Err(self.unexpected("a field name")),
        }
    }

    /// One operand. `expand` allows a known-arity function name to take its arguments
    /// here (`>len xs 0`); call arguments pass `false`, so `map dbl xs` passes `dbl`.
    pub(super) fn parse_operand(&mut self, expand: bool) -> PResult<Expr> {
        self.nested(|p| {
            let operand = p.parse_operand_inner(expand)?;
            p.parse_postfix(operand)
        })
    }

    fn parse_operand_inner(&mut self, expand: bool) -> PResult<Expr> {
        let start = self.span();
        let tok = self.peek().clone();
        let atom = |p: &mut Parser, kind| {
            p.bump();
            Ok(p.mk(kind, start))
        };
        match tok {
            Tok::Num(n) => atom(self, ExprKind::Num(n)),
            Tok::Str(s) => atom(self, ExprKind::Text(s)),
            Tok::Underscore => atom(
                self,
                ExprKind::Ref(Ident {
                    name: "_".to_string(),
                    span: start,
                }),
            ),
            Tok::Ident(w) => match w.as_str() {
                "true" => atom(self, ExprKind::Bool(true)),
                "false" => atom(self, ExprKind::Bool(false)),
                "nil" => atom(self, ExprKind::Nil),
                _ if is_keyword(&w) => Err(self.unexpected("expression")),
                _ => self.parse_name_operand(expand),
            },
            Tok::LParen => self.parse_paren(),
            Tok::LBracket => self.parse_list(),
            Tok::Minus => self.parse_minus(),
            Tok::Bang => {
                self.bump();
                let inner = self.parse_operand(true)?;
                let span = start.to(inner.span);
                Ok(self.mk(
                    ExprKind::Unary {
                        op: UnOp::Not,
                        expr: Box::new(inner),
                    },
                    span,
                ))
            }
            Tok::Tilde | Tok::Caret => {
                self.bump();
                // `~fmt "a{}" x` wraps the whole call, variadic ones included.
                let inner = if self.at_call_head() {
                    self.nested(|p| p.parse_application())?
                } else {
                    self.parse_operand(true)?
                };
                let inner = Box::new(inner);
                let span = start.to(inner.span);
                let kind = if tok == Tok::Tilde {
                    ExprKind::Ok(inner)
                } else {
                    ExprKind::Err(inner)
                };
                Ok(self.mk(kind, span))
            }
            Tok::Dollar => {
                self.bump();
                let unwrap = self.parse_unwrap();
                let url = self.parse_operand(true)?;
                let span = start.to(url.span);
                let callee = Ident {
                    name: "get".to_string(),
                    span: start,
                };
                Ok(self.mk(
                    ExprKind::Call {
                        callee,
                        args: vec![url],
                        unwrap,
                    },
                    span,
                ))
            }
            Tok::Question => self.parse_question(),
            Tok::Coalesce => {
                self.bump();
                let lhs = self.parse_operand(true)?;
                let rhs = self.parse_operand(true)?;
                let span = start.to(rhs.span);
                Ok(self.mk(
                    ExprKind::Coalesce {
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                    },
                    span,
                ))
            }
            _ => match prefix_binop(&tok) {
                Some(op) => self.parse_prefix_binop(op),
                None => Err(self.unexpected("expression")),
            },
        }
    }

    /// A name in operand position: a local, a zero-argument builtin, a known-arity call
    /// (when `expand`), or a reference.
    fn parse_name_operand(&mut self, expand: bool) -> PResult<Expr> {
        let name = self.expect_name("a name")?;
        if self.is_local(&name.name) {
            let span = name.span;
            return Ok(self.mk(ExprKind::Ref(name), span));
        }
        let unwrap = self.parse_unwrap();
        if let Some(call) = self.parse_empty_call(&name, unwrap) {
            return Ok(call);
        }
        let arity = self.arity(&name.name);
        let zero_arg = self.is_zero_arg_builtin(&name.name);
        let wants_args = expand && arity.is_some_and(|a| a.min >= 1) && self.starts_operand(0);
        if zero_arg || wants_args || unwrap != Unwrap::None {
            let count = arity.map_or(0, |a: Arity| a.min);
            let mut args = Vec::with_capacity(count);
            for _ in 0..count {
                if !self.starts_operand(0) {
                    break;
                }
                args.push(self.parse_operand(true)?);
            }
            let span = name.span.to(self.prev_span());
            return Ok(self.mk(
                ExprKind::Call {
                    callee: name,
                    args,
                    unwrap,
                },
                span,
            ));
        }
        let span = name.span;
        Ok(self.mk(ExprKind::Ref(name), span))
    }

    /// `-a b` subtracts; `-a` alone negates.
    fn parse_minus(&mut self) -> PResult<Expr> {
        let start = self.bump().span;
        let inner_is_prefix_minus = self.at(&Tok::Minus);
        let lhs = self.parse_operand(true)?;
        if self.starts_operand(0) {
            let rhs = self.parse_operand(true)?;
            let span = start.to(rhs.span);
            return Ok(self.binary(BinOp::Sub, lhs, rhs, span));
        }
        if inner_is_prefix_minus && is_double_minus_trap(&lhs) {
            return Err(Diagnostic::error(
                codes::DOUBLE_MINUS,
                "`- -op a b op c d` negates a subtraction, not the first product",
                start.to(lhs.span),
            )
            .with_note("it reads as -((a op b) - (c op d)) = -(a op b) + (c op d)")
            .with_suggestion("negate the sum instead: `- 0 +*a b *c d`, or bind the parts first"));
        }
        let span = start.to(lhs.span);
        Ok(self.mk(
            ExprKind::Unary {
                op: UnOp::Neg,
                expr: Box::new(lhs),
            },
            span,
        ))
    }

    /// `+a b`, `*a +b c`, `>=x 0`, `+=xs v`: the first operand is the left one.
    fn parse_prefix_binop(&mut self, op: BinOp) -> PResult<Expr> {
        let op_tok = self.bump();
        if op_tok.kind == Tok::Eq && matches!(self.peek(), Tok::Gt | Tok::Lt) && self.glued(0) {
            let fixed = if self.at(&Tok::Gt) { ">=" } else { "<=" };
            return Err(Diagnostic::error(
                codes::MALFORMED,
                format!(
                    "`={}` is not an operator",
                    if fixed == ">=" { ">" } else { "<" }
                ),
                op_tok.span.to(self.span()),
            )
            .with_suggestion(format!("write `{fixed}a b`")));
        }
        let lhs = self.parse_operand(true)?;
        let rhs = self.parse_operand(true)?;
        let span = op_tok.span.to(rhs.span);
        Ok(self.binary(op, lhs, rhs, span))
    }

    /// `.field`, `.?field`, `.0`, chained.
    fn parse_postfix(&mut self, mut expr: Expr) -> PResult<Expr> {
        let mut links = 0;
        loop {
            let safe = match self.peek() {
                Tok::Dot if self.glued(0) => false,
                Tok::DotQ if self.glued(0) => true,
                _ => return Ok(expr),
            };
            links += 1;
            self.check_depth(links)?;
            self.bump();
            let tok = self.bump();
            let span = expr.span.to(tok.span);
            let kind = match tok.kind {
                Tok::Num(n) if !safe && n >= 0.0 && n.fract() == 0.0 && n < u32::MAX as f64 => {
                    ExprKind::Index {
                        expr: Box::new(expr),
                        index: n as usize,
                    }
                }
                Tok::Ident(name) => ExprKind::Field {
                    expr: Box::new(expr),
                    name: Ident {
                        name,
                        span: tok.span,
                    },
                    safe,
                },
                other => {
                    return Err(Diagnostic::error(
                        codes::UNEXPECTED_TOKEN,
                        format!(
                            "expected a field name or index after `.`, got {}",
                            other.describe()
                        ),
                        tok.span,
                    ))
                }
            };
            expr = self.mk(kind, span);
        }
    }

    /// `(expr)` or an inline function `(x:n>n;*x 2)`.
    fn parse_paren(&mut self) -> PResult<Expr> {
        let is_lambda = matches!(self.peek_at(1), Tok::Ident(_) | Tok::Underscore)
            && self.peek_at(2) == &Tok::Colon
            || self.peek_at(1) == &Tok::Gt;
        if is_lambda {
            return self.parse_lambda();
        }
        self.bump();
        let inner = self.parse_expr()?;
        let inner = self.maybe_ternary(inner)?;
        self.expect(Tok::RParen, "`)`")?;
        Ok(inner)
    }

    fn parse_lambda(&mut self) -> PResult<Expr> {
        let start = self.bump().span;
        let outer = self.locals.clone();
        let result = self.parse_lambda_rest(start);
        self.locals = outer;
        let decl = result?;
        let span = decl.span;
        Ok(self.mk(ExprKind::Lambda(Box::new(decl)), span))
    }

    fn parse_lambda_rest(&mut self, start: Span) -> PResult<FnDecl> {
        let params = self.parse_params()?;
        let ret = self.parse_return_type()?;
        self.expect(Tok::Semi, "`;` before the inline function's body")?;
        let body = self.parse_fn_body(Some(&Tok::RParen))?;
        self.expect(Tok::RParen, "`)` closing the inline function")?;
        Ok(FnDecl {
            name: Ident {
                name: String::new(),
                span: start,
            },
            params,
            ret,
            body,
            span: start.to(self.prev_span()),
            tool: false,
        })
    }

    /// `[a b c]` or `[a, b, c]`. A known function followed by an argument is a call
    /// taking as many arguments as it can (`[str a str b]` is two texts); other
    /// names are values.
    fn parse_list(&mut self) -> PResult<Expr> {
        let start = self.bump().span;
        let mut items = Vec::new();
        loop {
            while self.eat(&Tok::Comma) {}
            if self.eat(&Tok::RBracket) {
                break;
            }
            if self.at(&Tok::Semi) {
                return Err(Diagnostic::error(
                    codes::FOREIGN_SYNTAX,
                    "`;` is not a list separator inside `[...]`",
                    self.span(),
                )
                .with_suggestion("separate list items with spaces or `,`"));
            }
            if self.at_call_head() {
                items.push(self.nested(|p| p.parse_application())?);
            } else {
                items.push(self.parse_operand(false)?);
            }
        }
        let span = start.to(self.prev_span());
        Ok(self.mk(ExprKind::List(items), span))
    }

    /// `?x{arms}`, `?{arms}`, `?c{a}{b}`, `?c a b`.
    fn parse_question(&mut self) -> PResult<Expr> {
        let start = self.bump().span;
        if self.at(&Tok::LBrace) {
            let arms = self.parse_match_arms()?;
            let span = start.to(self.prev_span());
            return Ok(self.mk(
                ExprKind::Match {
                    subject: None,
                    arms,
                },
                span,
            ));
        }
        let subject = self.parse_operand(true)?;
        if self.at(&Tok::LBrace) {
            if self.brace_is_match() {
                let arms = self.parse_match_arms()?;
                let span = start.to(self.prev_span());
                let subject = Some(Box::new(subject));
                return Ok(self.mk(ExprKind::Match { subject, arms }, span));
            }
            let then = self.parse_block()?;
            if !self.at(&Tok::LBrace) {
                return Err(self.unexpected("`{` with the else branch"));
            }
            let els = self.parse_block()?;
            let span = start.to(self.prev_span());
            let kind = ExprKind::Ternary {
                cond: Box::new(subject),
                then,
                els,
            };
            return Ok(self.mk(kind, span));
        }
        if !self.starts_operand(0) {
            return Err(self.unexpected("`{` or two values after the `?` condition"));
        }
        let a = self.parse_operand(true)?;
        let b = self.parse_operand(true)?;
        let span = start.to(b.span);
        let stmt = |e: Expr| Stmt {
            span: e.span,
            kind: StmtKind::Expr(e),
        };
        let kind = ExprKind::Ternary {
            cond: Box::new(subject),
            then: vec![stmt(a)],
            els: vec![stmt(b)],
        };
        Ok(self.mk(kind, span))
    }

    /// At `{` after `?subject`: match arms, or the first branch of a ternary? Arms start
    /// with `pattern:`; a ternary's first block is followed by a second one.
    fn brace_is_match(&self) -> bool {
        let mut k = 1;
        while self.peek_at(k) == &Tok::Semi {
            k += 1;
        }
        if self.peek_at(k) == &Tok::RBrace || self.looks_like_arm(k) {
            return true;
        }
        let mut depth = 0usize;
        let mut k = 0;
        loop {
            match self.peek_at(k) {
                Tok::LBrace => depth += 1,
                Tok::RBrace => {
                    depth -= 1;
                    if depth == 0 {
                        return self.peek_at(k + 1) != &Tok::LBrace;
                    }
                }
                Tok::Eof | Tok::Newline => return true,
                _ => {}
            }
            k += 1;
        }
    }

    fn binary(&mut self, op: BinOp, lhs: Expr, rhs: Expr, span: Span) -> Expr {
        self.mk(
            ExprKind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        )
    }
}

fn prefix_binop(tok: &Tok) -> Option<BinOp> {
    Some(match tok {
        Tok::Plus => BinOp::Add,
        Tok::PlusEq => BinOp::Append,
        Tok::Star => BinOp::Mul,
        Tok::Slash => BinOp::Div,
        Tok::Eq | Tok::EqEq => BinOp::Eq,
        Tok::NotEq => BinOp::Ne,
        Tok::Lt => BinOp::Lt,
        Tok::Gt => BinOp::Gt,
        Tok::Le => BinOp::Le,
        Tok::Ge => BinOp::Ge,
        Tok::Amp => BinOp::And,
        Tok::Bar => BinOp::Or,
        _ => return None,
    })
}

/// `- -*a b *c d`: the inner `-` subtracted two `+ * /` groups.
fn is_double_minus_trap(expr: &Expr) -> bool {
    let group = |e: &Expr| {
        matches!(
            e.kind,
            ExprKind::Binary {
                op: BinOp::Add | BinOp::Mul | BinOp::Div,
                ..
            }
        )
    };
    matches!(&expr.kind, ExprKind::Binary { op: BinOp::Sub, lhs, rhs } if group(lhs) && group(rhs))
}
