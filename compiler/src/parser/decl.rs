//! Declarations: functions, record types, imports, and `tool` (a function whose calls
//! answer `~nil`, since no tool provider is configured).

use super::{codes, PResult, Parser};
use crate::ast::{Block, Decl, ExprKind, FnDecl, Param, Stmt, StmtKind, TypeDecl, UseDecl};
use crate::diag::Diagnostic;
use crate::lexer::Tok;

impl Parser {
    /// Every declaration of the file; errors are collected in `self.diags`.
    pub(super) fn parse_file(&mut self) -> Vec<Decl> {
        let mut decls = Vec::new();
        loop {
            while self.eat(&Tok::Newline) {}
            if self.at(&Tok::Eof) {
                break;
            }
            match self.parse_decl() {
                Ok(decl) => {
                    decls.push(decl);
                    if !matches!(self.peek(), Tok::Newline | Tok::Eof) {
                        let d = self.unexpected("declaration");
                        self.diags.push(Diagnostic {
                            code: codes::EXPECTED_DECLARATION,
                            ..d
                        });
                        self.recover();
                    }
                }
                Err(d) => {
                    self.diags.push(d);
                    self.recover();
                }
            }
        }
        decls
    }

    fn parse_decl(&mut self) -> PResult<Decl> {
        self.locals.clear();
        match self.ident_text(0) {
            Some("type") => self.parse_type_decl().map(Decl::Type),
            Some("use") => self.parse_use().map(Decl::Use),
            Some("tool") => self.parse_tool().map(Decl::Func),
            Some(_) => self.parse_fn_decl().map(Decl::Func),
            None => {
                let d = self.unexpected("declaration");
                Err(Diagnostic {
                    code: codes::EXPECTED_DECLARATION,
                    ..d
                })
            }
        }
    }

    /// `name p:t q:n>rt;body` or the same signature with an indented body below it.
    fn parse_fn_decl(&mut self) -> PResult<FnDecl> {
        let start = self.span();
        let name = self.expect_name("declaration")?;
        self.check_new_name(&name, "function");
        if self.at(&Tok::Colon) && self.peek_at(1) == &Tok::Gt {
            return Err(Diagnostic::error(
                codes::MALFORMED,
                "no `:` goes between a function name and `>`",
                self.span(),
            )
            .with_suggestion(format!("write `{}>type;body`", name.name)));
        }
        let params = self.parse_params()?;
        if self.at(&Tok::Newline) {
            return Err(Diagnostic::error(
                codes::INCOMPLETE_HEADER,
                format!(
                    "incomplete function header for `{}`: header runs off the end of the line",
                    name.name
                ),
                self.span(),
            )
            .with_note("the parameters, `>` and the return type share the name's line"));
        }
        let ret = self.parse_return_type()?;
        if !self.eat(&Tok::Semi) {
            return Err(self.unexpected("`;` or an indented body after the return type"));
        }
        let body = self.parse_fn_body(None)?;
        let span = start.to(self.prev_span());
        Ok(FnDecl {
            name,
            params,
            ret,
            body,
            span,
            tool: false,
        })
    }

    /// `a:n b:L t` up to the `>`; the names become locals.
    pub(super) fn parse_params(&mut self) -> PResult<Vec<Param>> {
        let mut params = Vec::new();
        while matches!(self.peek(), Tok::Ident(_) | Tok::Underscore)
            && self.peek_at(1) == &Tok::Colon
        {
            let name = self.expect_name("parameter name")?;
            self.check_new_name(&name, "binding");
            self.bump();
            let ty = self.parse_type()?;
            self.bind(&name);
            params.push(Param { name, ty });
        }
        Ok(params)
    }

    pub(super) fn parse_return_type(&mut self) -> PResult<crate::ast::TypeExpr> {
        if !self.eat(&Tok::Gt) {
            return Err(self.unexpected("`>` and a return type"));
        }
        self.parse_type()
    }

    /// Statements up to the end of the declaration, or up to `closer` for a lambda.
    pub(super) fn parse_fn_body(&mut self, closer: Option<&Tok>) -> PResult<Block> {
        let mut body = Vec::new();
        loop {
            while self.eat(&Tok::Semi) {}
            let done = matches!(self.peek(), Tok::Newline | Tok::Eof)
                || closer.is_some_and(|c| self.at(c));
            if done {
                break;
            }
            if body.is_empty() && self.at(&Tok::LBrace) && !self.at_destructure() {
                // `f x:n>n;{…}`: a braced body, the same statements in a block.
                body.extend(self.parse_block()?);
                if body.is_empty() {
                    return Err(self.unexpected("expression"));
                }
                if !self.at(&Tok::Semi) {
                    break;
                }
                continue;
            }
            body.push(self.parse_stmt()?);
            if !self.at(&Tok::Semi) {
                break;
            }
        }
        if body.is_empty() {
            return Err(self.unexpected("expression"));
        }
        Ok(body)
    }

    /// `type point{x:n;y:n}`
    fn parse_type_decl(&mut self) -> PResult<TypeDecl> {
        let start = self.bump().span;
        let name = self.expect_name("a type name")?;
        self.expect(Tok::LBrace, "`{` and the record's fields")?;
        let mut fields = Vec::new();
        loop {
            while self.eat(&Tok::Semi) {}
            if self.eat(&Tok::RBrace) {
                break;
            }
            let field = self.parse_field_name()?;
            self.expect(Tok::Colon, "`:` and the field's type")?;
            let ty = self.parse_type()?;
            fields.push((field, ty));
            if !matches!(self.peek(), Tok::Semi | Tok::RBrace) {
                return Err(self.unexpected("`;` or `}`"));
            }
        }
        Ok(TypeDecl {
            name,
            fields,
            span: start.to(self.prev_span()),
        })
    }

    /// `use "file.ilo"` or `use "file.ilo" [a b]`
    fn parse_use(&mut self) -> PResult<UseDecl> {
        let start = self.bump().span;
        let Tok::Str(path) = self.peek().clone() else {
            return Err(self.unexpected("a quoted file path"));
        };
        self.bump();
        let names = if self.eat(&Tok::LBracket) {
            let mut names = Vec::new();
            while !self.eat(&Tok::RBracket) {
                if self.eat(&Tok::Comma) {
                    continue;
                }
                names.push(self.parse_field_name()?);
            }
            Some(names)
        } else {
            None
        };
        Ok(UseDecl {
            path,
            names,
            span: start.to(self.prev_span()),
        })
    }

    /// `tool name"desc" params>ret timeout:n,retry:n`: a function with the declared
    /// signature whose calls answer `~nil`. The description and the options after the
    /// return type are read and left aside.
    fn parse_tool(&mut self) -> PResult<FnDecl> {
        let start = self.bump().span;
        let name = self.expect_name("a tool name")?;
        self.check_new_name(&name, "function");
        if let Tok::Str(_) = self.peek() {
            self.bump();
        }
        let params = self.parse_params()?;
        let ret = self.parse_return_type()?;
        while !matches!(self.peek(), Tok::Newline | Tok::Eof) {
            self.bump();
        }
        let span = start.to(self.prev_span());
        let nil = self.mk(ExprKind::Nil, span);
        let ok = self.mk(ExprKind::Ok(Box::new(nil)), span);
        Ok(FnDecl {
            name,
            params,
            ret,
            body: vec![Stmt {
                kind: StmtKind::Expr(ok),
                span,
            }],
            span,
            tool: true,
        })
    }
}
