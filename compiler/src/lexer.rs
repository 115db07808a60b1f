//! The lexer: source text → tokens, plus the layout pass that makes newlines mean
//! something.
//!
//! ilo is mostly whitespace-insensitive, with three exceptions the parser relies on:
//! - whether an operator is glued to the next token (`+a b` is a prefix operand,
//!   `a + b` is infix), recorded as [`Token::space_before`] on every token;
//! - `-` glued to a digit is part of the number (`-1` is a literal, `- 0 v` is not);
//! - line structure: [`layout`] turns newlines into statement separators (an indented
//!   line continues the current declaration) or declaration boundaries
//!   ([`Tok::Newline`]: an unindented line or a blank line), and ignores them inside
//!   `(` `[` and on `>>` continuation lines.
//!
//! Words are all lexed as [`Tok::Ident`]; keywords are recognised by the parser, so
//! that `r.type` and record fields named like keywords need no special casing. After
//! `.` / `.?` a field name may use capitals and underscores (`r.userId`, `r.user_name`).

use crate::diag::Diagnostic;
use crate::span::{FileId, Span};

/// Stable diagnostic codes of the lexer.
pub mod codes {
    /// A word from another language where an ilo operator belongs (`AND`, `or`).
    pub const FOREIGN_OPERATOR: &str = "ILO-L001";
    /// A text literal with no closing quote.
    pub const UNTERMINATED_TEXT: &str = "ILO-L002";
    /// A character or word that starts no token.
    pub const UNEXPECTED_CHARACTER: &str = "ILO-L003";
}

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A lowercase word (`name`, `get-user`, `r2`) or, after `.`, any field name.
    Ident(String),
    Num(f64),
    Str(String),
    /// A single capital letter in type position: `L R O M S F`.
    TypeCon(char),
    /// A compact type written as one word: `Ln` is `L n`, `LLn` is `L (L n)`, `On` is
    /// `O n`. The parser unfolds it.
    CompactType(String),
    Underscore,
    Plus,
    PlusEq,
    Minus,
    Star,
    Slash,
    Eq,
    EqEq,
    NotEq,
    Lt,
    Gt,
    Le,
    Ge,
    Amp,
    Bar,
    Bang,
    Tilde,
    Caret,
    Dollar,
    Question,
    /// `??`
    Coalesce,
    /// `>>`
    Pipe,
    Dot,
    /// `.?`
    DotQ,
    /// `..`
    DotDot,
    Colon,
    Semi,
    Comma,
    At,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    /// A declaration boundary inserted by [`layout`].
    Newline,
    Eof,
}

impl Tok {
    /// How the token is named in "expected …, got …" messages.
    pub fn describe(&self) -> String {
        let name = match self {
            Tok::Ident(s) => return format!("identifier '{s}'"),
            Tok::Num(n) => return format!("number {n}"),
            Tok::Str(s) => return format!("text {s:?}"),
            Tok::TypeCon(c) => return format!("type '{c}'"),
            Tok::CompactType(w) => return format!("type '{w}'"),
            Tok::Underscore => "Underscore",
            Tok::Plus => "Plus",
            Tok::PlusEq => "PlusEq",
            Tok::Minus => "Minus",
            Tok::Star => "Star",
            Tok::Slash => "Slash",
            Tok::Eq => "Eq",
            Tok::EqEq => "EqEq",
            Tok::NotEq => "NotEq",
            Tok::Lt => "Less",
            Tok::Gt => "Greater",
            Tok::Le => "LessEq",
            Tok::Ge => "GreaterEq",
            Tok::Amp => "Amp",
            Tok::Bar => "Bar",
            Tok::Bang => "Bang",
            Tok::Tilde => "Tilde",
            Tok::Caret => "Caret",
            Tok::Dollar => "Dollar",
            Tok::Question => "Question",
            Tok::Coalesce => "NilCoalesce",
            Tok::Pipe => "Pipe",
            Tok::Dot => "Dot",
            Tok::DotQ => "DotQuestion",
            Tok::DotDot => "DotDot",
            Tok::Colon => "Colon",
            Tok::Semi => "Semi",
            Tok::Comma => "Comma",
            Tok::At => "At",
            Tok::LParen => "LParen",
            Tok::RParen => "RParen",
            Tok::LBracket => "LBracket",
            Tok::RBracket => "RBracket",
            Tok::LBrace => "LBrace",
            Tok::RBrace => "RBrace",
            Tok::Newline => "Newline",
            Tok::Eof => "EOF",
        };
        name.to_string()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: Tok,
    pub span: Span,
    /// Whitespace, a comment or the start of the file precedes the token.
    pub space_before: bool,
}

/// Lex a whole file. The token list always ends with [`Tok::Eof`]; lexical errors are
/// reported and lexing carries on, so one run reports them all.
pub fn lex(text: &str, file: FileId) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lexer = Lexer {
        src: text.as_bytes(),
        text,
        pos: 0,
        file,
        out: Vec::new(),
        diags: Vec::new(),
    };
    lexer.run();
    let eof = Span::new(file, text.len(), text.len());
    lexer.out.push(Raw {
        tok: Token {
            kind: Tok::Eof,
            span: eof,
            space_before: true,
        },
        line: None,
    });
    (layout(lexer.out), lexer.diags)
}

/// Where a token sits when it is the first one on its line.
#[derive(Clone, Copy, Debug)]
struct LineStart {
    indented: bool,
    after_blank_line: bool,
}

struct Raw {
    tok: Token,
    /// Set when the token is the first on a line other than the first line.
    line: Option<LineStart>,
}

struct Lexer<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
    file: FileId,
    out: Vec<Raw>,
    diags: Vec<Diagnostic>,
}

impl Lexer<'_> {
    fn run(&mut self) {
        let mut space = true;
        // Since the previous token: did a newline pass, and was one of the lines blank?
        let mut newline = false;
        let mut blank = false;
        let mut line_begin = 0;
        while self.pos < self.src.len() {
            let c = self.src[self.pos];
            match c {
                b'\n' => {
                    self.pos += 1;
                    space = true;
                    newline = true;
                    line_begin = self.pos;
                    blank |= self.line_is_blank();
                }
                b' ' | b'\t' | b'\r' => {
                    self.pos += 1;
                    space = true;
                }
                b'-' if self.peek(1) == Some(b'-') => {
                    while self.pos < self.src.len() && self.src[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                    space = true;
                }
                _ => {
                    let start = self.pos;
                    if let Some(kind) = self.token(c) {
                        let line = (newline && !self.out.is_empty()).then_some(LineStart {
                            indented: start > line_begin,
                            after_blank_line: blank,
                        });
                        let tok = Token {
                            kind,
                            span: Span::new(self.file, start, self.pos),
                            space_before: space,
                        };
                        self.out.push(Raw { tok, line });
                        newline = false;
                        blank = false;
                    }
                    space = false;
                }
            }
        }
    }

    /// At the start of a line: does it hold nothing but whitespace?
    fn line_is_blank(&self) -> bool {
        self.src[self.pos..]
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\r'))
            .is_none_or(|b| *b == b'\n')
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.pos + ahead).copied()
    }

    fn prev_kind(&self) -> Option<&Tok> {
        self.out.last().map(|r| &r.tok.kind)
    }

    /// Lex one token starting with byte `c`; `None` after reporting an error.
    fn token(&mut self, c: u8) -> Option<Tok> {
        let after_dot = matches!(self.prev_kind(), Some(Tok::Dot) | Some(Tok::DotQ))
            && self
                .out
                .last()
                .is_some_and(|r| r.tok.span.end as usize == self.pos);
        if after_dot {
            if c.is_ascii_digit() {
                return Some(self.integer());
            }
            if c.is_ascii_alphabetic() || c == b'_' {
                return Some(self.field_name());
            }
        }
        if c.is_ascii_digit() || (c == b'-' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) {
            return Some(self.number());
        }
        if c.is_ascii_alphabetic() {
            return self.word();
        }
        self.pos += 1;
        // The token some characters start depends on the character after them.
        let followed = |l: &mut Lexer, pairs: &[(u8, Tok)], alone: Tok| match pairs
            .iter()
            .find(|(next, _)| l.peek(0) == Some(*next))
        {
            Some((_, tok)) => {
                l.pos += 1;
                tok.clone()
            }
            None => alone,
        };
        Some(match c {
            b'"' => return self.string(),
            b'+' => followed(self, &[(b'=', Tok::PlusEq)], Tok::Plus),
            b'-' => Tok::Minus,
            b'*' => Tok::Star,
            b'/' => Tok::Slash,
            b'=' => followed(self, &[(b'=', Tok::EqEq)], Tok::Eq),
            b'!' => followed(self, &[(b'=', Tok::NotEq)], Tok::Bang),
            b'<' => followed(self, &[(b'=', Tok::Le)], Tok::Lt),
            b'>' => followed(self, &[(b'=', Tok::Ge), (b'>', Tok::Pipe)], Tok::Gt),
            b'&' => Tok::Amp,
            b'|' => Tok::Bar,
            b'~' => Tok::Tilde,
            b'^' => Tok::Caret,
            b'$' => Tok::Dollar,
            b'?' => followed(self, &[(b'?', Tok::Coalesce)], Tok::Question),
            b'.' => followed(self, &[(b'?', Tok::DotQ), (b'.', Tok::DotDot)], Tok::Dot),
            b':' => Tok::Colon,
            b';' => Tok::Semi,
            b',' => Tok::Comma,
            b'@' => Tok::At,
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'[' => Tok::LBracket,
            b']' => Tok::RBracket,
            b'{' => Tok::LBrace,
            b'}' => Tok::RBrace,
            b'_' => Tok::Underscore,
            _ => {
                // Step over the whole character so the error names it and spans stay
                // on character boundaries.
                let start = self.pos - 1;
                let ch = self.text[start..].chars().next().unwrap_or('?');
                self.pos = start + ch.len_utf8();
                self.error(
                    codes::UNEXPECTED_CHARACTER,
                    format!("unexpected token '{ch}'"),
                    start,
                    None,
                );
                return None;
            }
        })
    }

    fn digits(&mut self) {
        while self.peek(0).is_some_and(|d| d.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// `-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Tok {
        let start = self.pos;
        if self.src[self.pos] == b'-' {
            self.pos += 1;
        }
        self.digits();
        if self.peek(0) == Some(b'.') && self.peek(1).is_some_and(|d| d.is_ascii_digit()) {
            self.pos += 1;
            self.digits();
        }
        if matches!(self.peek(0), Some(b'e') | Some(b'E')) {
            let sign = usize::from(matches!(self.peek(1), Some(b'+') | Some(b'-')));
            if self.peek(1 + sign).is_some_and(|d| d.is_ascii_digit()) {
                self.pos += 1 + sign;
                self.digits();
            }
        }
        // The text is digits, a point, an exponent: it always parses.
        Tok::Num(self.text[start..self.pos].parse().unwrap_or(f64::NAN))
    }

    /// A list index after `.`: digits only, so `xs.0.1` is two indexes.
    fn integer(&mut self) -> Tok {
        let start = self.pos;
        self.digits();
        Tok::Num(self.text[start..self.pos].parse().unwrap_or(f64::NAN))
    }

    /// After `.`/`.?`: any identifier-shaped key, capitals, underscores and hyphenated
    /// segments included.
    fn field_name(&mut self) -> Tok {
        let start = self.pos;
        let part = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        loop {
            while self.peek(0).is_some_and(part) {
                self.pos += 1;
            }
            if self.peek(0) == Some(b'-') && self.peek(1).is_some_and(part) {
                self.pos += 1;
            } else {
                break;
            }
        }
        Tok::Ident(self.text[start..self.pos].to_string())
    }

    /// `[a-z][a-z0-9]*(-[a-z0-9]+)*`; a lone capital is a type constructor. Capitals
    /// anywhere else are rejected here, with a suggestion.
    fn word(&mut self) -> Option<Tok> {
        let start = self.pos;
        loop {
            while self.peek(0).is_some_and(|b| b.is_ascii_alphanumeric()) {
                self.pos += 1;
            }
            let hyphen_segment = self.peek(0) == Some(b'-')
                && self.peek(1).is_some_and(|b| b.is_ascii_alphanumeric());
            if hyphen_segment {
                self.pos += 1;
            } else {
                break;
            }
        }
        let word = &self.text[start..self.pos];
        if !word.bytes().any(|b| b.is_ascii_uppercase()) {
            return Some(Tok::Ident(word.to_string()));
        }
        if word.len() == 1 && "LROMSF".contains(word) {
            return Some(Tok::TypeCon(word.as_bytes()[0] as char));
        }
        let (replacement, canonical) = match word {
            "AND" => (Tok::Amp, "&a b"),
            "OR" => (Tok::Bar, "|a b"),
            "NOT" => (Tok::Bang, "!a"),
            _ if is_compact_type(word) => return Some(Tok::CompactType(word.to_string())),
            _ => {
                let hint = format!(
                    "identifiers are lowercase with hyphens: try `{}` or `{}`",
                    hyphenate(word),
                    word.to_ascii_lowercase()
                );
                self.error(
                    codes::UNEXPECTED_CHARACTER,
                    format!("unexpected token '{word}'"),
                    start,
                    Some(hint),
                );
                return Some(Tok::Ident(word.to_ascii_lowercase()));
            }
        };
        let hint = format!("ilo has no `{word}` keyword; write `{canonical}`");
        self.error(
            codes::FOREIGN_OPERATOR,
            format!("`{word}` is not an ilo operator"),
            start,
            Some(hint),
        );
        Some(replacement)
    }

    /// A `"…"` literal with escapes; the opening quote is already consumed.
    fn string(&mut self) -> Option<Tok> {
        let start = self.pos - 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match self.peek(0) {
                None => {
                    self.error(
                        codes::UNTERMINATED_TEXT,
                        "unterminated text literal",
                        start,
                        None,
                    );
                    return None;
                }
                Some(b'"') => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    return Some(Tok::Str(out));
                }
                Some(b'\\') => {
                    out.push_str(&self.text[run..self.pos]);
                    let escaped = match self.peek(1) {
                        Some(b'n') => Some('\n'),
                        Some(b't') => Some('\t'),
                        Some(b'r') => Some('\r'),
                        Some(b'f') => Some('\x0c'),
                        Some(b'b') => Some('\x08'),
                        Some(b'v') => Some('\x0b'),
                        Some(b'a') => Some('\x07'),
                        Some(b'0') => Some('\0'),
                        Some(b'"') => Some('"'),
                        Some(b'\\') => Some('\\'),
                        Some(b'/') => Some('/'),
                        _ => None,
                    };
                    match escaped {
                        Some(ch) => {
                            out.push(ch);
                            self.pos += 2;
                        }
                        // Unknown escape: keep the backslash; the next character is
                        // copied as ordinary text.
                        None => {
                            out.push('\\');
                            self.pos += 1;
                        }
                    }
                    run = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn error(
        &mut self,
        code: &'static str,
        msg: impl Into<String>,
        start: usize,
        hint: Option<String>,
    ) {
        let span = Span::new(
            self.file,
            start,
            self.pos.max(start + 1).min(self.src.len()),
        );
        let mut d = Diagnostic::error(code, msg, span);
        if let Some(h) = hint {
            d = d.with_suggestion(h);
        }
        self.diags.push(d);
    }
}

/// `Ln`, `LLn`, `On`, `Mtn`: type constructors glued to each other and to a final
/// lower-case type name.
fn is_compact_type(word: &str) -> bool {
    let rest = word.trim_start_matches(['L', 'O', 'M', 'R']);
    rest.len() < word.len()
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `runD` → `run-d`.
fn hyphenate(word: &str) -> String {
    let mut out = String::new();
    for (i, ch) in word.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('-') {
                out.push('-');
            }
            out.push(ch.to_ascii_lowercase());
        } else if ch == '_' {
            out.push('-');
        } else {
            out.push(ch);
        }
    }
    out
}

/// Give newlines their meaning (see the module docs). Brackets are tracked with a
/// stack; an unindented line that does not close a bracket starts a new declaration
/// even inside unclosed brackets, so one missing `}` cannot swallow the rest of a file.
fn layout(raw: Vec<Raw>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(raw.len() + 8);
    let mut open: Vec<Tok> = Vec::new();
    for Raw { tok, line } in raw {
        if let Some(line) = line {
            let closes = matches!(tok.kind, Tok::RParen | Tok::RBracket | Tok::RBrace);
            let continues_pipe =
                tok.kind == Tok::Pipe || out.last().is_some_and(|t: &Token| t.kind == Tok::Pipe);
            let marker = if !line.indented && !closes && tok.kind != Tok::Eof {
                open.clear();
                Some(Tok::Newline)
            } else {
                match open.last() {
                    None if line.after_blank_line => Some(Tok::Newline),
                    None | Some(Tok::LBrace) if !continues_pipe => Some(Tok::Semi),
                    _ => None,
                }
            };
            if let Some(kind) = marker {
                let at = Span::new(
                    tok.span.file,
                    tok.span.start as usize,
                    tok.span.start as usize,
                );
                if !(kind == Tok::Newline && out.last().is_some_and(|t| t.kind == Tok::Newline)) {
                    out.push(Token {
                        kind,
                        span: at,
                        space_before: true,
                    });
                }
            }
        }
        match tok.kind {
            Tok::LParen | Tok::LBracket | Tok::LBrace => open.push(tok.kind.clone()),
            Tok::RParen | Tok::RBracket | Tok::RBrace => {
                let opener = match tok.kind {
                    Tok::RParen => Tok::LParen,
                    Tok::RBracket => Tok::LBracket,
                    _ => Tok::LBrace,
                };
                if open.last() == Some(&opener) {
                    open.pop();
                }
            }
            _ => {}
        }
        out.push(tok);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        let (toks, diags) = lex(src, FileId(0));
        assert!(diags.is_empty(), "{diags:?}");
        toks.into_iter().map(|t| t.kind).collect()
    }

    fn id(s: &str) -> Tok {
        Tok::Ident(s.to_string())
    }

    #[test]
    fn signature_and_prefix_ops() {
        use Tok::*;
        assert_eq!(
            kinds("f x:n>n;+x 1"),
            vec![
                id("f"),
                id("x"),
                Colon,
                id("n"),
                Gt,
                id("n"),
                Semi,
                Plus,
                id("x"),
                Num(1.0),
                Eof
            ]
        );
    }

    #[test]
    fn numbers() {
        use Tok::*;
        assert_eq!(
            kinds("1e21 3.5 -1 - 0"),
            vec![Num(1e21), Num(3.5), Num(-1.0), Minus, Num(0.0), Eof]
        );
        assert_eq!(
            kinds("9007199254740993"),
            vec![Num(9007199254740992.0), Eof]
        );
        assert_eq!(kinds("0..5"), vec![Num(0.0), DotDot, Num(5.0), Eof]);
        assert_eq!(
            kinds("xs.0.1"),
            vec![id("xs"), Dot, Num(0.0), Dot, Num(1.0), Eof]
        );
    }

    #[test]
    fn words_and_fields() {
        use Tok::*;
        assert_eq!(
            kinds("get-user run-d r2"),
            vec![id("get-user"), id("run-d"), id("r2"), Eof]
        );
        assert_eq!(
            kinds("r.userId r.?user_name"),
            vec![
                id("r"),
                Dot,
                id("userId"),
                id("r"),
                DotQ,
                id("user_name"),
                Eof
            ]
        );
        assert_eq!(
            kinds("L (L n)"),
            vec![TypeCon('L'), LParen, TypeCon('L'), id("n"), RParen, Eof]
        );
    }

    #[test]
    fn operators() {
        use Tok::*;
        assert_eq!(
            kinds("+= == != <= >= >> ?? .? ! ~ ^ $ & |"),
            vec![
                PlusEq, EqEq, NotEq, Le, Ge, Pipe, Coalesce, DotQ, Bang, Tilde, Caret, Dollar, Amp,
                Bar, Eof
            ]
        );
    }

    #[test]
    fn comments_are_dropped() {
        assert_eq!(kinds("x -- hi\n"), vec![id("x"), Tok::Eof]);
        assert_eq!(kinds("--x 1"), vec![Tok::Eof]);
    }

    #[test]
    fn string_escapes() {
        let s = r#""a\n\t\"\\\/\z\0""#;
        assert_eq!(
            kinds(s),
            vec![Tok::Str("a\n\t\"\\/\\z\0".to_string()), Tok::Eof]
        );
    }

    #[test]
    fn lexical_errors() {
        let (toks, diags) = lex("f>n;0x1F", FileId(0));
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, codes::UNEXPECTED_CHARACTER);
        assert_eq!(diags[0].message, "unexpected token 'x1F'");
        assert!(toks.last().is_some_and(|t| t.kind == Tok::Eof));

        let (_, diags) = lex("runD x", FileId(0));
        assert_eq!(diags[0].code, codes::UNEXPECTED_CHARACTER);
        assert!(diags[0]
            .suggestion
            .as_deref()
            .is_some_and(|s| s.contains("run-d")));

        let (toks, diags) = lex("AND a b", FileId(0));
        assert_eq!(diags[0].code, codes::FOREIGN_OPERATOR);
        assert_eq!(toks[0].kind, Tok::Amp);

        let (_, diags) = lex("\"open", FileId(0));
        assert_eq!(diags[0].code, codes::UNTERMINATED_TEXT);

        let (_, diags) = lex("x é", FileId(0));
        assert_eq!(diags[0].message, "unexpected token 'é'");
    }

    #[test]
    fn spacing_is_recorded() {
        let (toks, _) = lex("a + b +c", FileId(0));
        let spaced: Vec<bool> = toks.iter().map(|t| t.space_before).collect();
        assert_eq!(spaced, vec![true, true, true, true, false, true]);
    }

    #[test]
    fn layout_separates_statements_and_declarations() {
        use Tok::*;
        assert_eq!(
            kinds("f x:n>n\n  y=x\n  y\ng>n;1"),
            vec![
                id("f"),
                id("x"),
                Colon,
                id("n"),
                Gt,
                id("n"),
                Semi,
                id("y"),
                Eq,
                id("x"),
                Semi,
                id("y"),
                Newline,
                id("g"),
                Gt,
                id("n"),
                Semi,
                Num(1.0),
                Eof
            ]
        );
        // Inside brackets newlines vanish; a `>>` line continues the previous one.
        assert_eq!(
            kinds("g>L n\n  [1,\n   2]\n    >>rev"),
            vec![
                id("g"),
                Gt,
                TypeCon('L'),
                id("n"),
                Semi,
                LBracket,
                Num(1.0),
                Comma,
                Num(2.0),
                RBracket,
                Pipe,
                id("rev"),
                Eof
            ]
        );
        // A blank line ends the declaration.
        assert_eq!(
            kinds("f>n\n  1\n\n  2"),
            vec![id("f"), Gt, id("n"), Semi, Num(1.0), Newline, Num(2.0), Eof]
        );
    }
}
