//! Statements, braced blocks and match arms.
//!
//! A statement that starts with an expression is classified by what follows it:
//! `cond{body}` runs a block, `cond{a}{b}` is a ternary value, and a comparison,
//! logical or `!` condition followed by another operand is a braceless guard
//! (`>=sp 1000 "gold"`) that returns early.

use super::{codes, PResult, Parser};
use crate::ast::{Block, Expr, ExprKind, Ident, MatchArm, Pattern, Stmt, StmtKind, TypeTest, UnOp};
use crate::diag::Diagnostic;
use crate::lexer::Tok;

impl Parser {
    pub(super) fn parse_stmt(&mut self) -> PResult<Stmt> {
        let start = self.span();
        let kind = self.parse_stmt_kind()?;
        Ok(Stmt {
            kind,
            span: start.to(self.prev_span()),
        })
    }

    fn parse_stmt_kind(&mut self) -> PResult<StmtKind> {
        if let Some(word) = self.ident_text(0) {
            match word {
                "ret" => {
                    self.bump();
                    return Ok(StmtKind::Ret(self.parse_expr()?));
                }
                "brk" => {
                    self.bump();
                    let value = if self.starts_operand(0) {
                        Some(self.parse_expr()?)
                    } else {
                        None
                    };
                    return Ok(StmtKind::Brk(value));
                }
                "cnt" => {
                    self.bump();
                    return Ok(StmtKind::Cnt);
                }
                "wh" => {
                    self.bump();
                    let cond = self.parse_expr()?;
                    let body = self.parse_block()?;
                    return Ok(StmtKind::While { cond, body });
                }
                _ if self.peek_at(1) == &Tok::Eq => return self.parse_let(),
                _ => {}
            }
        }
        match self.peek() {
            Tok::At => self.parse_loop(),
            Tok::LBrace if self.at_destructure() => self.parse_destructure(),
            _ => self.parse_expr_stmt(),
        }
    }

    /// `x=expr`
    fn parse_let(&mut self) -> PResult<StmtKind> {
        let name = match self.peek().clone() {
            Tok::Ident(word) if super::is_keyword(&word) => {
                return Err(Diagnostic::error(
                    codes::RESERVED_WORD,
                    format!("`{word}` is a keyword and cannot be bound"),
                    self.span(),
                ));
            }
            _ => self.expect_name("a name")?,
        };
        self.check_new_name(&name, "binding");
        self.bump(); // `=`
        if matches!(self.ident_text(0), Some("fn" | "def")) {
            return Err(Diagnostic::error(
                codes::FOREIGN_SYNTAX,
                "ilo has no `fn` lambdas",
                self.span(),
            )
            .with_suggestion("write an inline function in parentheses: `(x:n>n;+x 1)`"));
        }
        let value = self.parse_expr()?;
        let value = self.maybe_ternary(value)?;
        self.bind(&name);
        Ok(StmtKind::Let { name, value })
    }

    /// `{a;b}` followed by `=`.
    pub(super) fn at_destructure(&self) -> bool {
        let mut k = 1;
        loop {
            match self.peek_at(k) {
                Tok::Ident(_) | Tok::Semi => k += 1,
                Tok::RBrace => return self.peek_at(k + 1) == &Tok::Eq,
                _ => return false,
            }
        }
    }

    /// `{x;y}=p`
    fn parse_destructure(&mut self) -> PResult<StmtKind> {
        self.bump();
        let mut fields = Vec::new();
        while !self.eat(&Tok::RBrace) {
            if self.eat(&Tok::Semi) {
                continue;
            }
            let name = self.expect_name("a field name")?;
            self.check_new_name(&name, "binding");
            fields.push(name);
        }
        self.expect(Tok::Eq, "`=`")?;
        let value = self.parse_expr()?;
        for f in &fields {
            self.bind(f);
        }
        Ok(StmtKind::Destructure { fields, value })
    }

    /// `@x xs{body}` or `@i a..b{body}`
    fn parse_loop(&mut self) -> PResult<StmtKind> {
        self.bump();
        let var = self.expect_name("a loop variable")?;
        let first = self.parse_term()?;
        if self.eat(&Tok::DotDot) {
            let end = self.parse_term()?;
            self.bind(&var);
            let body = self.parse_block()?;
            return Ok(StmtKind::ForRange {
                var,
                start: first,
                end,
                body,
            });
        }
        self.bind(&var);
        let body = self.parse_block()?;
        Ok(StmtKind::ForEach {
            var,
            iter: first,
            body,
        })
    }

    fn parse_expr_stmt(&mut self) -> PResult<StmtKind> {
        if let Some(hint) = self.ident_text(0).and_then(super::reserved_word_hint) {
            let name = Ident {
                name: self.ident_text(0).unwrap_or_default().to_string(),
                span: self.span(),
            };
            return Err(super::reserved_word_error(&name, hint));
        }
        let expr = self.parse_expr()?;
        if self.at(&Tok::LBrace) {
            let then = self.parse_block()?;
            if self.at(&Tok::LBrace) {
                let els = self.parse_block()?;
                let span = expr.span.to(self.prev_span());
                let ternary = ExprKind::Ternary {
                    cond: Box::new(expr),
                    then,
                    els,
                };
                return Ok(StmtKind::Expr(self.mk(ternary, span)));
            }
            let (cond, negated) = strip_not(expr);
            return Ok(StmtKind::When {
                cond,
                negated,
                body: then,
            });
        }
        if is_guard_condition(&expr) && self.starts_operand(0) {
            let value = self.parse_expr()?;
            let (cond, negated) = strip_not(expr);
            return Ok(StmtKind::Guard {
                cond,
                negated,
                value,
            });
        }
        Ok(StmtKind::Expr(expr))
    }

    /// `v=cond{a}{b}`: a condition followed by two blocks is a ternary value.
    pub(super) fn maybe_ternary(&mut self, cond: Expr) -> PResult<Expr> {
        if !self.at(&Tok::LBrace) {
            return Ok(cond);
        }
        let then = self.parse_block()?;
        if !self.at(&Tok::LBrace) {
            return Err(self.unexpected("`{` with the else branch"));
        }
        let els = self.parse_block()?;
        let span = cond.span.to(self.prev_span());
        let kind = ExprKind::Ternary {
            cond: Box::new(cond),
            then,
            els,
        };
        Ok(self.mk(kind, span))
    }

    /// `{stmt;stmt}`
    pub(super) fn parse_block(&mut self) -> PResult<Block> {
        self.nested(|p| {
            p.expect(Tok::LBrace, "`{`")?;
            let mut stmts = Vec::new();
            loop {
                while p.eat(&Tok::Semi) {}
                if p.eat(&Tok::RBrace) {
                    return Ok(stmts);
                }
                stmts.push(p.parse_stmt()?);
                if !matches!(p.peek(), Tok::Semi | Tok::RBrace) {
                    return Err(p.unexpected("`;` or `}`"));
                }
            }
        })
    }

    /// `{pattern:body;pattern:body}`; an arm's body runs over `;`-separated statements
    /// until the next `pattern:` or the closing brace.
    pub(super) fn parse_match_arms(&mut self) -> PResult<Vec<MatchArm>> {
        self.nested(|p| {
            p.expect(Tok::LBrace, "`{`")?;
            let mut arms = Vec::new();
            loop {
                while p.eat(&Tok::Semi) {}
                if p.eat(&Tok::RBrace) {
                    return Ok(arms);
                }
                let start = p.span();
                let pattern = p.parse_pattern()?;
                p.expect(Tok::Colon, "`:` after the match pattern")?;
                if p.at(&Tok::LBrace) && !p.at_destructure() {
                    // `1:{y=10;+y x}`: the arm's statements in braces.
                    let body = p.parse_block()?;
                    if !matches!(p.peek(), Tok::Semi | Tok::RBrace) {
                        return Err(p.unexpected("`;` or `}` after the arm's block"));
                    }
                    arms.push(MatchArm {
                        pattern,
                        body,
                        span: start.to(p.prev_span()),
                    });
                    continue;
                }
                let mut body = Vec::new();
                loop {
                    body.push(p.parse_stmt()?);
                    if p.at(&Tok::RBrace) {
                        break;
                    }
                    if !p.at(&Tok::Semi) {
                        return Err(p.unexpected("`;` or `}`"));
                    }
                    let mut k = 0;
                    while p.peek_at(k) == &Tok::Semi {
                        k += 1;
                    }
                    if p.peek_at(k) == &Tok::RBrace || p.looks_like_arm(k) {
                        break;
                    }
                    while p.eat(&Tok::Semi) {}
                }
                arms.push(MatchArm {
                    pattern,
                    body,
                    span: start.to(p.prev_span()),
                });
            }
        })
    }

    /// Does a `pattern:` start `ahead` tokens from the cursor?
    pub(super) fn looks_like_arm(&self, ahead: usize) -> bool {
        let colon_at = |k: usize| self.peek_at(ahead + k) == &Tok::Colon;
        let binder_at =
            |k: usize| matches!(self.peek_at(ahead + k), Tok::Ident(_) | Tok::Underscore);
        match self.peek_at(ahead) {
            Tok::Str(_) | Tok::Num(_) | Tok::Underscore => colon_at(1),
            Tok::Tilde | Tok::Caret => binder_at(1) && colon_at(2),
            Tok::Ident(w) if matches!(w.as_str(), "n" | "t" | "b" | "l") && binder_at(1) => {
                colon_at(2)
            }
            Tok::Ident(_) => colon_at(1),
            _ => false,
        }
    }

    fn parse_pattern(&mut self) -> PResult<Pattern> {
        let tok = self.peek().clone();
        let pattern = match tok {
            Tok::Str(s) => Pattern::Text(s),
            Tok::Num(n) => Pattern::Num(n),
            Tok::Underscore => Pattern::Wildcard,
            Tok::Tilde | Tok::Caret => {
                self.bump();
                let name = self.expect_name("a name to bind")?;
                self.bind(&name);
                return Ok(if tok == Tok::Tilde {
                    Pattern::Ok(name)
                } else {
                    Pattern::Err(name)
                });
            }
            Tok::Ident(word) => match word.as_str() {
                "true" => Pattern::Bool(true),
                "false" => Pattern::Bool(false),
                "nil" => Pattern::Nil,
                "n" | "t" | "b" | "l" if self.peek_at(1) != &Tok::Colon => {
                    let test = match word.as_str() {
                        "n" => TypeTest::Num,
                        "t" => TypeTest::Text,
                        "b" => TypeTest::Bool,
                        _ => TypeTest::List,
                    };
                    self.bump();
                    let name = self.expect_name("a name to bind")?;
                    self.bind(&name);
                    return Ok(Pattern::IsType(test, name));
                }
                // A bare word is a sum-type variant: `?c{red:…}` matches the text "red".
                _ => Pattern::Text(word),
            },
            _ => {
                return Err(Diagnostic::error(
                    codes::EXPECTED_PATTERN,
                    format!("expected a match pattern, got {}", tok.describe()),
                    self.span(),
                )
                .with_note("patterns: \"text\", 42, true, nil, ~v, ^e, n v, t v, b v, l v, _"))
            }
        };
        self.bump();
        Ok(pattern)
    }
}

/// `!c` as a guard condition means "when `c` does not hold".
fn strip_not(expr: Expr) -> (Expr, bool) {
    match expr.kind {
        ExprKind::Unary {
            op: UnOp::Not,
            expr: inner,
        } => (*inner, true),
        kind => (Expr { kind, ..expr }, false),
    }
}

/// Conditions that may start a braceless guard: comparisons, `&`, `|`, and `!`.
fn is_guard_condition(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Binary { op, .. } => op.is_condition(),
        ExprKind::Unary { op: UnOp::Not, .. } => true,
        _ => false,
    }
}
