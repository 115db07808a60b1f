//! Type expressions: `n t b _`, `L n`, `R n t`, `O n`, `M t n`, `S red green`,
//! `F a b c`, record names, type variables, and parenthesised types.

use super::{codes, PResult, Parser};
use crate::ast::{Type, TypeExpr};
use crate::diag::Diagnostic;
use crate::lexer::Tok;

impl Parser {
    pub(super) fn parse_type(&mut self) -> PResult<TypeExpr> {
        let start = self.span();
        let kind = self.nested(|p| p.parse_type_kind())?;
        Ok(TypeExpr {
            kind,
            span: start.to(self.prev_span()),
        })
    }

    fn parse_type_kind(&mut self) -> PResult<Type> {
        let tok = self.peek().clone();
        match tok {
            Tok::Underscore => {
                self.bump();
                Ok(Type::Any)
            }
            Tok::LParen => {
                self.bump();
                let inner = self.parse_type_kind_nested()?;
                self.expect(Tok::RParen, "`)` closing the type")?;
                Ok(inner)
            }
            Tok::Ident(name) => {
                self.bump();
                Ok(match name.as_str() {
                    "n" => Type::Num,
                    "t" => Type::Text,
                    "b" => Type::Bool,
                    _ if name.len() == 1 => Type::Var(name.as_bytes()[0] as char),
                    _ => Type::Named(name),
                })
            }
            Tok::CompactType(word) => {
                self.bump();
                self.unfold_compact(&word)
            }
            Tok::TypeCon(c) => {
                self.bump();
                let arg = |p: &mut Parser| p.parse_type_kind_nested().map(Box::new);
                Ok(match c {
                    'L' => Type::List(arg(self)?),
                    'O' => Type::Opt(arg(self)?),
                    'R' => Type::Result(arg(self)?, arg(self)?),
                    'M' => Type::Map(arg(self)?, arg(self)?),
                    'S' => Type::Sum(self.parse_sum_variants()?),
                    _ => self.parse_fn_type()?,
                })
            }
            _ => Err(Diagnostic::error(
                codes::EXPECTED_TYPE,
                format!("expected a type, got {}", tok.describe()),
                self.span(),
            )),
        }
    }

    /// `LLn` → `L (L n)`: each leading constructor applies to the rest of the word;
    /// a constructor taking two types (`M`, `R`) reads its second one after the word,
    /// so `Mtn` is `M tn …` and wants another type.
    fn unfold_compact(&mut self, word: &str) -> PResult<Type> {
        let Some(con) = word.chars().next().filter(|c| c.is_ascii_uppercase()) else {
            return Ok(match word {
                "n" => Type::Num,
                "t" => Type::Text,
                "b" => Type::Bool,
                _ if word.len() == 1 => Type::Var(word.as_bytes()[0] as char),
                _ => Type::Named(word.to_string()),
            });
        };
        let inner = Box::new(self.unfold_compact(&word[1..])?);
        Ok(match con {
            'L' => Type::List(inner),
            'O' => Type::Opt(inner),
            'M' => Type::Map(inner, Box::new(self.parse_type_kind_nested()?)),
            _ => Type::Result(inner, Box::new(self.parse_type_kind_nested()?)),
        })
    }

    fn parse_type_kind_nested(&mut self) -> PResult<Type> {
        self.nested(|p| p.parse_type_kind())
    }

    /// The parameter list stops at a `name:` pair (the next parameter), at `>` and at
    /// anything that cannot start a type.
    fn type_continues(&self) -> bool {
        let starts = matches!(
            self.peek(),
            Tok::Ident(_) | Tok::TypeCon(_) | Tok::CompactType(_) | Tok::Underscore | Tok::LParen
        );
        starts && self.peek_at(1) != &Tok::Colon
    }

    /// `S red green blue`
    fn parse_sum_variants(&mut self) -> PResult<Vec<String>> {
        let mut variants = Vec::new();
        while let (Tok::Ident(v), false) = (self.peek().clone(), self.peek_at(1) == &Tok::Colon) {
            self.bump();
            variants.push(v);
        }
        if variants.is_empty() {
            return Err(self.unexpected("the variants of the sum type"));
        }
        Ok(variants)
    }

    /// `F a b c`: the last type is the return type.
    fn parse_fn_type(&mut self) -> PResult<Type> {
        let mut types = Vec::new();
        while self.type_continues() {
            types.push(self.parse_type_kind_nested()?);
        }
        let Some(ret) = types.pop() else {
            return Err(self.unexpected("the function type's parameter and return types"));
        };
        Ok(Type::Fn(types, Box::new(ret)))
    }
}
