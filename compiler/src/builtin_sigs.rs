//! Static type signatures of the library builtins, used by the verifier.
//!
//! Each builtin has one or more overloads. They are written in the table below in a
//! compact form of ilo's own type syntax, `"param param > ret"`, and parsed once on
//! first use. A parameter is a single type atom (`n`, `t`, `b`, `_`, a type variable,
//! `Stream`, a record name) or a parenthesised compound type (`(L n)`, `(F a b)`); the
//! return type may be written without parentheses. `...` as the last parameter means
//! "any number of further arguments of any type" (only `fmt` uses it).
//!
//! Type variables (`a`, `c`, `k`, `v`, …) are bound from the argument types at each
//! call site and substituted into the return type, so `hd` of an `L n` is an `n`.
//! The verifier relies on the return types for number precision, so they should be as
//! exact as the runtime guarantees and no more.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::ast::Type;

/// One overload of a builtin.
#[derive(Clone, Debug, PartialEq)]
pub struct Sig {
    pub params: Vec<Type>,
    /// Further arguments of any type and number may follow `params`.
    pub variadic: bool,
    pub ret: Type,
}

impl Sig {
    /// Whether this overload accepts `n` arguments.
    pub fn accepts_arity(&self, n: usize) -> bool {
        if self.variadic {
            n >= self.params.len()
        } else {
            n == self.params.len()
        }
    }
}

/// Every builtin with its overloads, in the compact notation described above.
const TABLE: &[(&str, &[&str])] = &[
    // Conversion and numbers.
    ("str", &["n > t"]),
    ("num", &["t > R n t"]),
    ("abs", &["n > n"]),
    ("min", &["n n > n", "(L n) > n"]),
    ("max", &["n n > n", "(L n) > n"]),
    ("mod", &["n n > n"]),
    ("flr", &["n > n"]),
    ("cel", &["n > n"]),
    ("rou", &["n > n"]),
    ("rnd", &[" > n", "n n > n"]),
    ("rndn", &["n n > n"]),
    ("now", &[" > n"]),
    ("pow", &["n n > n"]),
    ("sqrt", &["n > n"]),
    ("exp", &["n > n"]),
    ("log", &["n > n"]),
    ("log10", &["n > n"]),
    ("log2", &["n > n"]),
    ("sin", &["n > n"]),
    ("cos", &["n > n"]),
    ("tan", &["n > n"]),
    ("asin", &["n > n"]),
    ("acos", &["n > n"]),
    ("atan", &["n > n"]),
    ("atan2", &["n n > n"]),
    ("clamp", &["n n n > n"]),
    ("fmt2", &["n n > t"]),
    // Text.
    ("len", &["(L a) > n", "t > n", "(M k v) > n"]),
    ("trm", &["t > t"]),
    ("spl", &["t t > L t"]),
    ("fmt", &["t ... > t"]),
    ("cat", &["(L t) t > t"]),
    ("chars", &["t > L t"]),
    ("ord", &["t > n"]),
    ("chr", &["n > t"]),
    ("upr", &["t > t"]),
    ("lwr", &["t > t"]),
    ("cap", &["t > t"]),
    ("padl", &["t n > t", "t n t > t"]),
    ("padr", &["t n > t", "t n t > t"]),
    ("rgx", &["t t > L t"]),
    ("rgxall", &["t t > L (L t)"]),
    ("rgxall1", &["t t > L t"]),
    ("rgxsub", &["t t t > t"]),
    // Lists (most also work on text, as a sequence of characters).
    ("has", &["(L a) a > b", "t t > b"]),
    ("hd", &["(L a) > a", "t > t"]),
    ("tl", &["(L a) > L a", "t > t"]),
    ("rev", &["(L a) > L a", "t > t"]),
    (
        "srt",
        &[
            "(L a) > L a",
            "t > t",
            "(F a _) (L a) > L a",
            "(F a c _) c (L a) > L a",
        ],
    ),
    (
        "rsrt",
        &[
            "(L a) > L a",
            "t > t",
            "(F a _) (L a) > L a",
            "(F a c _) c (L a) > L a",
        ],
    ),
    ("unq", &["(L a) > L a", "t > t"]),
    ("slc", &["(L a) n n > L a", "t n n > t"]),
    ("at", &["(L a) n > a", "t n > t"]),
    ("lst", &["(L a) n a > L a"]),
    ("take", &["n (L a) > L a", "n t > t", "n Stream > Stream"]),
    ("drop", &["n (L a) > L a", "n t > t", "n Stream > Stream"]),
    ("flat", &["(L (L a)) > L a", "(L _) > L _"]),
    ("zip", &["(L a) (L c) > L (L _)"]),
    ("enumerate", &["(L a) > L (L _)"]),
    ("range", &["n n > L n"]),
    ("chunks", &["n (L a) > L (L a)"]),
    ("window", &["n (L a) > L (L a)"]),
    ("cumsum", &["(L n) > L n"]),
    ("setunion", &["(L a) (L a) > L a"]),
    ("setinter", &["(L a) (L a) > L a"]),
    ("setdiff", &["(L a) (L a) > L a"]),
    // Higher-order.
    // Over a line source `map` and `flt` are lazy transforms: a line is text, and so
    // is what `map` makes of it. The three- (four-, for fld) argument forms pass a
    // context value to the function after the element: `map f ctx xs` calls `f x ctx`.
    (
        "map",
        &[
            "(F a c) (L a) > L c",
            "(F t t) Stream > Stream",
            "(F a x c) x (L a) > L c",
        ],
    ),
    (
        "flt",
        &[
            "(F a _) (L a) > L a",
            "(F t _) Stream > Stream",
            "(F a x _) x (L a) > L a",
        ],
    ),
    ("ct", &["(F a _) (L a) > n", "(F a x _) x (L a) > n"]),
    (
        "fld",
        &["(F c a c) (L a) c > c", "(F c a x c) x (L a) c > c"],
    ),
    ("flatmap", &["(F a _) (L a) > L _"]),
    ("mapr", &["(F a (R c e)) (L a) > R (L c) e"]),
    ("partition", &["(F a _) (L a) > L (L a)"]),
    ("grp", &["(F a _) (L a) > M _ (L a)"]),
    ("uniqby", &["(F a _) (L a) > L a"]),
    // Statistics.
    ("sum", &["(L n) > n"]),
    ("avg", &["(L n) > n"]),
    ("median", &["(L n) > n"]),
    ("quantile", &["(L n) n > n"]),
    ("stdev", &["(L n) > n"]),
    ("variance", &["(L n) > n"]),
    ("frq", &["(L n) > M n n", "(L a) > M t n"]),
    // Linear algebra.
    ("transpose", &["(L (L n)) > L (L n)"]),
    ("matmul", &["(L (L n)) (L (L n)) > L (L n)"]),
    ("dot", &["(L n) (L n) > n"]),
    ("solve", &["(L (L n)) (L n) > L n"]),
    ("inv", &["(L (L n)) > L (L n)"]),
    ("det", &["(L (L n)) > n"]),
    ("fft", &["(L n) > L (L n)"]),
    ("ifft", &["(L (L n)) > L n"]),
    // Maps.
    ("mmap", &[" > M _ _"]),
    ("mget", &["(M k v) k > O v"]),
    ("mset", &["(M k v) k v > M k v"]),
    ("mhas", &["(M k v) k > b"]),
    ("mkeys", &["(M k v) > L k"]),
    ("mvals", &["(M k v) > L v"]),
    ("mdel", &["(M k v) k > M k v"]),
    // JSON.
    ("jpth", &["t t > R t t"]),
    ("jdmp", &["_ > t"]),
    ("jpar", &["t > R _ t"]),
    // Files, environment, system.
    ("rd", &["t > R _ t", "t t > R _ t"]),
    ("rdl", &["t > R (L t) t"]),
    ("rdb", &["t t > R _ t"]),
    ("rdjl", &["t > L (R _ t)"]),
    ("wr", &["t t > R t t", "t _ t > R t t"]),
    ("wrl", &["t (L t) > R t t"]),
    ("env", &["t > R t t"]),
    ("prnt", &["a > a"]),
    ("sleep", &["n > _"]),
    // Date and time.
    ("dtfmt", &["n t > R t t"]),
    ("dtparse", &["t t > R n t"]),
    // HTTP.
    ("get", &["t > R t t", "t (M t t) > R t t"]),
    ("post", &["t t > R t t", "t t (M t t) > R t t"]),
    ("get-many", &["(L t) > L (R t t)"]),
    // Lazy line sources.
    ("for-line", &["t > Stream"]),
    ("tail-file", &["t > Stream", "t n > Stream", "t t > Stream"]),
    ("get-stream", &["t > R Stream t"]),
    ("get-stream-h", &["t (M t t) > R Stream t"]),
    ("pst-stream", &["t t > R Stream t"]),
    ("pst-stream-h", &["t t (M t t) > R Stream t"]),
    // Server-sent events.
    (
        "sse",
        &[
            "Stream > Stream",
            "n Stream > Stream",
            "(F t _) Stream > Stream",
            "(F t _) n Stream > Stream",
        ],
    ),
    ("sse-ev", &["_ > t"]),
    // Broadcast: a subscriber of a named hub, opened by a function of no arguments.
    (
        "bcast",
        &["t (F Stream) > Stream", "t (F (R Stream t)) > Stream"],
    ),
];

fn parsed() -> &'static HashMap<&'static str, Vec<Sig>> {
    static SIGS: OnceLock<HashMap<&'static str, Vec<Sig>>> = OnceLock::new();
    SIGS.get_or_init(|| {
        TABLE
            .iter()
            .map(|(name, overloads)| {
                let sigs = overloads
                    .iter()
                    .map(|text| {
                        parse_sig(text)
                            .unwrap_or_else(|e| panic!("bad signature for builtin '{name}': {e}"))
                    })
                    .collect();
                (*name, sigs)
            })
            .collect()
    })
}

/// The overloads of the builtin `name` (canonical short name), if it is a builtin.
pub fn overloads(name: &str) -> Option<&'static [Sig]> {
    parsed().get(name).map(Vec::as_slice)
}

/// Names of every builtin that has a signature.
pub fn names() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(name, _)| *name)
}

/// Parse one overload in the compact notation.
fn parse_sig(text: &str) -> Result<Sig, String> {
    let (params_text, ret_text) = text
        .split_once('>')
        .ok_or_else(|| format!("missing '>' in {text:?}"))?;
    let mut params = Vec::new();
    let mut variadic = false;
    let mut tokens = Tokens::new(params_text);
    while tokens.peek().is_some() {
        if tokens.peek() == Some("...") {
            tokens.next();
            variadic = true;
            continue;
        }
        if variadic {
            return Err(format!("'...' must be last in {text:?}"));
        }
        params.push(parse_atom(&mut tokens)?);
    }
    let mut tokens = Tokens::new(ret_text);
    let ret = parse_type(&mut tokens)?;
    if let Some(extra) = tokens.peek() {
        return Err(format!("trailing {extra:?} in {text:?}"));
    }
    Ok(Sig {
        params,
        variadic,
        ret,
    })
}

/// Whitespace- and parenthesis-separated tokens.
struct Tokens<'a> {
    tokens: Vec<&'a str>,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        let mut tokens = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices() {
            if c.is_whitespace() || c == '(' || c == ')' {
                if let Some(s) = start.take() {
                    tokens.push(&text[s..i]);
                }
                if c == '(' || c == ')' {
                    tokens.push(&text[i..i + 1]);
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            tokens.push(&text[s..]);
        }
        Tokens { tokens, pos: 0 }
    }

    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<&'a str> {
        let t = self.peek();
        self.pos += 1;
        t
    }
}

/// A type that takes no operands, or a parenthesised compound type.
fn parse_atom(tokens: &mut Tokens) -> Result<Type, String> {
    match tokens.next() {
        Some("(") => {
            let ty = parse_type(tokens)?;
            match tokens.next() {
                Some(")") => Ok(ty),
                other => Err(format!("expected ')', got {other:?}")),
            }
        }
        Some(word) if ["L", "R", "O", "M", "F"].contains(&word) => {
            Err(format!("compound type '{word}' must be parenthesised here"))
        }
        Some(word) => Ok(simple_type(word)),
        None => Err("expected a type".to_string()),
    }
}

/// A full type: a compound constructor with its operands, or an atom. `F` takes every
/// remaining atom until the closing parenthesis (the last one is the return type).
fn parse_type(tokens: &mut Tokens) -> Result<Type, String> {
    match tokens.peek() {
        Some("L") => {
            tokens.next();
            Ok(Type::List(Box::new(parse_atom(tokens)?)))
        }
        Some("O") => {
            tokens.next();
            Ok(Type::Opt(Box::new(parse_atom(tokens)?)))
        }
        Some("R") => {
            tokens.next();
            let ok = parse_atom(tokens)?;
            let err = parse_atom(tokens)?;
            Ok(Type::Result(Box::new(ok), Box::new(err)))
        }
        Some("M") => {
            tokens.next();
            let key = parse_atom(tokens)?;
            let value = parse_atom(tokens)?;
            Ok(Type::Map(Box::new(key), Box::new(value)))
        }
        Some("F") => {
            tokens.next();
            let mut all = Vec::new();
            while !matches!(tokens.peek(), Some(")") | None) {
                all.push(parse_atom(tokens)?);
            }
            let ret = all.pop().ok_or("'F' needs at least a return type")?;
            Ok(Type::Fn(all, Box::new(ret)))
        }
        _ => parse_atom(tokens),
    }
}

fn simple_type(word: &str) -> Type {
    match word {
        "n" => Type::Num,
        "t" => Type::Text,
        "b" => Type::Bool,
        "_" => Type::Any,
        "Stream" => Type::Stream,
        _ => {
            let mut chars = word.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_lowercase() => Type::Var(c),
                _ => Type::Named(word.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signature_parses() {
        for name in names() {
            let sigs = overloads(name).expect("listed builtin has overloads");
            assert!(!sigs.is_empty(), "{name} has no overloads");
        }
    }

    #[test]
    fn compound_parameters_and_returns() {
        let map = &overloads("map").unwrap()[0];
        assert_eq!(
            map.params,
            vec![
                Type::Fn(vec![Type::Var('a')], Box::new(Type::Var('c'))),
                Type::List(Box::new(Type::Var('a'))),
            ]
        );
        assert_eq!(map.ret, Type::List(Box::new(Type::Var('c'))));
        let get_stream = &overloads("get-stream").unwrap()[0];
        assert_eq!(
            get_stream.ret,
            Type::Result(Box::new(Type::Stream), Box::new(Type::Text))
        );
    }

    #[test]
    fn arities_and_variadics() {
        let rnd = overloads("rnd").unwrap();
        assert!(rnd[0].accepts_arity(0) && !rnd[0].accepts_arity(1));
        assert!(rnd[1].accepts_arity(2));
        let fmt = &overloads("fmt").unwrap()[0];
        assert!(fmt.variadic && fmt.accepts_arity(1) && fmt.accepts_arity(4));
        assert!(!fmt.accepts_arity(0));
    }

    /// The signatures and the front end's builtin list must describe the same builtins
    /// with the same arities, or the parser and the verifier would disagree.
    #[test]
    fn agrees_with_the_builtin_name_list() {
        use crate::builtin_names::{arity, is_builtin, names as builtin_names, VARIADIC};
        for name in builtin_names() {
            let (min, max) = arity(name).expect("listed");
            let sigs = overloads(name).unwrap_or_else(|| panic!("no signature for {name}"));
            let lowest = sigs.iter().map(|s| s.params.len()).min().unwrap();
            let highest = if sigs.iter().any(|s| s.variadic) {
                VARIADIC as usize
            } else {
                sigs.iter().map(|s| s.params.len()).max().unwrap()
            };
            assert_eq!((lowest, highest), (min as usize, max as usize), "{name}");
        }
        for name in names() {
            assert!(is_builtin(name), "{name} is not a runtime builtin");
        }
    }

    #[test]
    fn unknown_names_have_no_signature() {
        assert!(overloads("floor").is_none());
        assert!(overloads("nope").is_none());
    }
}
