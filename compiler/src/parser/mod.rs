//! The parser: tokens → declarations ([`crate::ast`]).
//!
//! Recursive descent over the token list the lexer produced (newlines already turned
//! into `;` or declaration boundaries). The grammar is prefix-heavy and decided by
//! shape, so the parser keeps two pieces of context besides the cursor:
//! - the arity of every function declared in the file (a first pass over the tokens)
//!   and of every builtin, so a known-arity call can be an operand: `>len xs 0`;
//! - the locals of the function being parsed, because a local that shadows a function
//!   name is a plain reference, never a call.
//!
//! Errors abandon the current declaration and resume at the next declaration
//! boundary, so one parse reports every broken declaration. Nesting is capped
//! ([`MAX_DEPTH`]) so hostile input cannot overflow the stack.
//!
//! Submodules: [`decl`] (declarations), [`stmt`] (statements, blocks, match arms),
//! [`expr`] (expressions and operands), [`types`] (type expressions).

pub mod codes;
mod decl;
mod expr;
mod stmt;
mod types;

use std::collections::HashMap;

use crate::ast::{Decl, Expr, ExprId, ExprKind, Ident};
use crate::builtin_names;
use crate::diag::Diagnostic;
use crate::lexer::{lex, Tok, Token};
use crate::span::{FileId, Span};

/// Deepest nesting of brackets, operands and blocks the parser accepts.
pub const MAX_DEPTH: usize = 256;

/// Parse one file. Expression ids are taken from `*next_id` upward and `*next_id` is
/// left one past the last id used, so ids stay unique across the files of a program.
pub fn parse(text: &str, file: FileId, next_id: &mut u32) -> (Vec<Decl>, Vec<Diagnostic>) {
    // The parser recurses once per nesting level; give it a stack that holds
    // `MAX_DEPTH` levels in unoptimised builds too, whatever thread calls it.
    let start = *next_id;
    let (decls, diags, next) = std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("ilo-parser".into())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, || parse_here(text, file, start));
        match worker {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => parse_here(text, file, start),
        }
    });
    *next_id = next;
    (decls, diags)
}

/// Stack for the parser thread: `MAX_DEPTH` levels of roughly 10 KiB each in a debug
/// build, with ample headroom. Only touched pages are ever committed.
const PARSER_STACK_BYTES: usize = 64 << 20;

fn parse_here(text: &str, file: FileId, next_id: u32) -> (Vec<Decl>, Vec<Diagnostic>, u32) {
    let (tokens, mut diags) = lex(text, file);
    let mut parser = Parser::new(tokens, next_id);
    let decls = parser.parse_file();
    diags.extend(parser.diags);
    (decls, diags, parser.next_id)
}

type PResult<T> = Result<T, Diagnostic>;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    next_id: u32,
    diags: Vec<Diagnostic>,
    depth: usize,
    /// Parameter count of every function declared in the file.
    user_fns: HashMap<String, usize>,
    /// Names bound so far in the function (or lambda) being parsed.
    locals: Vec<String>,
}

/// How many arguments a call to a name takes, when the parser can know it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Arity {
    min: usize,
    max: usize,
}

impl Parser {
    fn new(tokens: Vec<Token>, next_id: u32) -> Parser {
        let user_fns = collect_signatures(&tokens);
        Parser {
            tokens,
            pos: 0,
            next_id,
            diags: Vec::new(),
            depth: 0,
            user_fns,
            locals: Vec::new(),
        }
    }

    // ---- cursor ----

    fn tok(&self, ahead: usize) -> &Token {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + ahead).min(last)]
    }

    fn peek(&self) -> &Tok {
        &self.tok(0).kind
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.tok(ahead).kind
    }

    fn span(&self) -> Span {
        self.tok(0).span
    }

    /// Span of the token before the cursor (the end of what was just parsed).
    fn prev_span(&self) -> Span {
        self.tokens[self.pos.saturating_sub(1)].span
    }

    fn bump(&mut self) -> Token {
        let t = self.tok(0).clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn at(&self, kind: &Tok) -> bool {
        self.peek() == kind
    }

    fn eat(&mut self, kind: &Tok) -> bool {
        if self.at(kind) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// The token `ahead` is written directly after the one before it.
    fn glued(&self, ahead: usize) -> bool {
        !self.tok(ahead).space_before
    }

    /// The word under the cursor, when it is an identifier.
    fn ident_text(&self, ahead: usize) -> Option<&str> {
        match self.peek_at(ahead) {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }

    fn at_word(&self, word: &str) -> bool {
        self.ident_text(0) == Some(word)
    }

    fn expect(&mut self, kind: Tok, what: &str) -> PResult<Token> {
        if self.at(&kind) {
            Ok(self.bump())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn unexpected(&self, what: &str) -> Diagnostic {
        let code = if what == "expression" {
            codes::EXPECTED_EXPRESSION
        } else {
            codes::UNEXPECTED_TOKEN
        };
        Diagnostic::error(
            code,
            format!("expected {what}, got {}", self.peek().describe()),
            self.span(),
        )
    }

    /// An identifier that names something (not a keyword).
    fn expect_name(&mut self, what: &str) -> PResult<Ident> {
        match self.peek().clone() {
            Tok::Ident(name) if !is_keyword(&name) => {
                let span = self.bump().span;
                Ok(Ident { name, span })
            }
            Tok::Underscore => {
                let span = self.bump().span;
                Ok(Ident {
                    name: "_".to_string(),
                    span,
                })
            }
            _ => Err(self.unexpected(what)),
        }
    }

    // ---- building ----

    fn mk(&mut self, kind: ExprKind, span: Span) -> Expr {
        let id = ExprId(self.next_id);
        self.next_id += 1;
        Expr { id, kind, span }
    }

    /// Run `f` one nesting level deeper, failing cleanly past [`MAX_DEPTH`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Parser) -> PResult<T>) -> PResult<T> {
        self.check_depth(1)?;
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// Chains built in a loop (`a+b+c`, `x.a.b`, `a??b??c`, `x>>f>>g`) nest the tree
    /// without recursing here, but every later pass recurses over them: they count
    /// against the same limit, one level per link.
    fn check_depth(&self, extra: usize) -> PResult<()> {
        if self.depth + extra <= MAX_DEPTH {
            return Ok(());
        }
        Err(Diagnostic::error(
            codes::TOO_DEEP,
            format!("nesting deeper than {MAX_DEPTH} levels"),
            self.span(),
        )
        .with_note("split the expression with intermediate bindings"))
    }

    // ---- names ----

    fn is_local(&self, name: &str) -> bool {
        self.locals.iter().any(|l| l == name)
    }

    fn bind(&mut self, name: &Ident) {
        self.locals.push(name.name.clone());
    }

    /// The arity of a call to `name`, unless `name` is a local (locals are values).
    fn arity(&self, name: &str) -> Option<Arity> {
        if self.is_local(name) {
            return None;
        }
        if let Some(&n) = self.user_fns.get(name) {
            return Some(Arity { min: n, max: n });
        }
        builtin_names::arity(name).map(|(min, max)| Arity {
            min: min as usize,
            max: max as usize,
        })
    }

    /// Report (without aborting) a name that may not be declared or bound.
    fn check_new_name(&mut self, name: &Ident, role: &str) {
        if builtin_names::is_builtin(&name.name) {
            let n = &name.name;
            let alt = if role == "function" {
                format!("`my{n}` or `{n}of`")
            } else {
                format!("`my{n}` or `{n}v`")
            };
            self.diags.push(
                Diagnostic::error(
                    codes::BUILTIN_NAME,
                    format!("`{n}` is a builtin and cannot be used as a {role} name"),
                    name.span,
                )
                .with_suggestion(format!("rename to something like {alt}")),
            );
        } else if let Some(hint) = reserved_word_hint(&name.name) {
            self.diags.push(reserved_word_error(name, hint));
        }
    }

    // ---- recovery ----

    /// Skip to the next declaration boundary after an error.
    fn recover(&mut self) {
        self.depth = 0;
        while !matches!(self.peek(), Tok::Newline | Tok::Eof) {
            self.bump();
        }
    }
}

/// Words the parser gives meaning to; they cannot name functions or locals.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "type" | "tool" | "use" | "with" | "wh" | "ret" | "brk" | "cnt" | "true" | "false" | "nil"
    )
}

/// Words from other languages that ilo reserves, with what to write instead.
fn reserved_word_hint(word: &str) -> Option<&'static str> {
    Some(match word {
        "if" => "use a guard `cond{...}`, a ternary `cond{a}{b}` or a match `?x{...}`",
        "return" => "the last expression is the return value; `ret e` returns early",
        "let" | "var" | "const" => "bind with `name=expr`",
        "fn" | "def" => "declare functions as `name param:type>rettype;body`",
        _ => return None,
    })
}

fn reserved_word_error(name: &Ident, hint: &str) -> Diagnostic {
    Diagnostic::error(
        codes::RESERVED_WORD,
        format!("`{}` is a reserved word", name.name),
        name.span,
    )
    .with_suggestion(hint)
}

/// First pass: the parameter count of every function declared in the file, so calls
/// to functions declared further down still parse with their arity.
fn collect_signatures(tokens: &[Token]) -> HashMap<String, usize> {
    let mut fns = HashMap::new();
    let mut at_decl_start = true;
    for (i, tok) in tokens.iter().enumerate() {
        if tok.kind == Tok::Newline {
            at_decl_start = true;
            continue;
        }
        if !std::mem::take(&mut at_decl_start) {
            continue;
        }
        let Tok::Ident(name) = &tok.kind else {
            continue;
        };
        if is_keyword(name) {
            continue;
        }
        let mut params = 0;
        let mut j = i + 1;
        while let Some(t) = tokens.get(j) {
            match t.kind {
                Tok::Gt | Tok::Semi | Tok::Newline | Tok::Eof => break,
                Tok::Colon if matches!(tokens[j - 1].kind, Tok::Ident(_)) => params += 1,
                _ => {}
            }
            j += 1;
        }
        if tokens.get(j).is_some_and(|t| t.kind == Tok::Gt) {
            fns.insert(name.clone(), params);
        }
    }
    fns
}

#[cfg(test)]
mod tests;
