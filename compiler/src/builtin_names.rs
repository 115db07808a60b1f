//! Names and arities of every library builtin, as the front end needs them.
//!
//! The parser uses this list to expand known-arity calls inside prefix operands
//! (`>len xs 0`), to cap greedy argument lists, and to reject builtin names used as
//! function or binding names (ILO-P011). The verifier uses it for reserved names and
//! arity checks; type signatures live with the verifier, implementations in the runtime.

/// `(name, min arity, max arity)`. A variadic builtin (`fmt`) has max [`VARIADIC`].
pub const BUILTINS: &[(&str, u8, u8)] = &[
    // conversion and numbers
    ("len", 1, 1),
    ("str", 1, 1),
    ("num", 1, 1),
    ("abs", 1, 1),
    ("min", 1, 2),
    ("max", 1, 2),
    ("mod", 2, 2),
    ("flr", 1, 1),
    ("cel", 1, 1),
    ("rou", 1, 1),
    ("rnd", 0, 2),
    ("rndn", 2, 2),
    ("now", 0, 0),
    ("pow", 2, 2),
    ("sqrt", 1, 1),
    ("exp", 1, 1),
    ("log", 1, 1),
    ("log10", 1, 1),
    ("log2", 1, 1),
    ("sin", 1, 1),
    ("cos", 1, 1),
    ("tan", 1, 1),
    ("asin", 1, 1),
    ("acos", 1, 1),
    ("atan", 1, 1),
    ("atan2", 2, 2),
    ("clamp", 3, 3),
    ("fmt2", 2, 2),
    // text
    ("trm", 1, 1),
    ("spl", 2, 2),
    ("fmt", 1, VARIADIC),
    ("cat", 2, 2),
    ("chars", 1, 1),
    ("ord", 1, 1),
    ("chr", 1, 1),
    ("upr", 1, 1),
    ("lwr", 1, 1),
    ("cap", 1, 1),
    ("padl", 2, 3),
    ("padr", 2, 3),
    ("rgx", 2, 2),
    ("rgxall", 2, 2),
    ("rgxall1", 2, 2),
    ("rgxsub", 3, 3),
    // lists (many also accept text)
    ("has", 2, 2),
    ("hd", 1, 1),
    ("tl", 1, 1),
    ("rev", 1, 1),
    ("srt", 1, 3),
    ("rsrt", 1, 3),
    ("unq", 1, 1),
    ("slc", 3, 3),
    ("at", 2, 2),
    ("lst", 3, 3),
    ("take", 2, 2),
    ("drop", 2, 2),
    ("flat", 1, 1),
    ("zip", 2, 2),
    ("enumerate", 1, 1),
    ("range", 2, 2),
    ("chunks", 2, 2),
    ("window", 2, 2),
    ("setunion", 2, 2),
    ("setinter", 2, 2),
    ("setdiff", 2, 2),
    // higher-order
    ("map", 2, 3),
    ("flt", 2, 3),
    ("ct", 2, 3),
    ("fld", 3, 4),
    ("flatmap", 2, 2),
    ("mapr", 2, 2),
    ("partition", 2, 2),
    ("grp", 2, 2),
    ("uniqby", 2, 2),
    // statistics and linear algebra
    ("sum", 1, 1),
    ("avg", 1, 1),
    ("cumsum", 1, 1),
    ("frq", 1, 1),
    ("median", 1, 1),
    ("quantile", 2, 2),
    ("stdev", 1, 1),
    ("variance", 1, 1),
    ("transpose", 1, 1),
    ("matmul", 2, 2),
    ("dot", 2, 2),
    ("solve", 2, 2),
    ("inv", 1, 1),
    ("det", 1, 1),
    ("fft", 1, 1),
    ("ifft", 1, 1),
    // maps
    ("mmap", 0, 0),
    ("mget", 2, 2),
    ("mset", 3, 3),
    ("mhas", 2, 2),
    ("mkeys", 1, 1),
    ("mvals", 1, 1),
    ("mdel", 2, 2),
    // JSON
    ("jpth", 2, 2),
    ("jdmp", 1, 1),
    ("jpar", 1, 1),
    // files, environment, time
    ("rd", 1, 2),
    ("rdl", 1, 1),
    ("rdb", 2, 2),
    ("rdjl", 1, 1),
    ("wr", 2, 3),
    ("wrl", 2, 2),
    ("env", 1, 1),
    ("prnt", 1, 1),
    ("sleep", 1, 1),
    ("dtfmt", 2, 2),
    ("dtparse", 2, 2),
    // network
    ("get", 1, 2),
    ("post", 2, 3),
    ("get-many", 1, 1),
    // lazy line sources (this project's additions)
    ("get-stream", 1, 1),
    ("get-stream-h", 2, 2),
    ("pst-stream", 2, 2),
    ("pst-stream-h", 3, 3),
    ("for-line", 1, 1),
    ("tail-file", 1, 2),
    ("sse", 1, 3),
    ("sse-ev", 1, 1),
    ("bcast", 2, 2),
];

/// Max arity of a builtin that takes any number of trailing arguments.
pub const VARIADIC: u8 = u8::MAX;

/// Long-form aliases accepted in place of the canonical short name: `(long, short)`.
pub const ALIASES: &[(&str, &str)] = &[
    ("floor", "flr"),
    ("ceil", "cel"),
    ("round", "rou"),
    ("random", "rnd"),
    ("lset", "lst"),
    ("regex_all", "rgxall"),
    ("regex_sub", "rgxsub"),
    ("string", "str"),
    ("number", "num"),
    ("length", "len"),
    ("head", "hd"),
    ("tail", "tl"),
    ("reverse", "rev"),
    ("sort", "srt"),
    ("slice", "slc"),
    ("unique", "unq"),
    ("filter", "flt"),
    ("fold", "fld"),
    ("flatten", "flat"),
    ("concat", "cat"),
    ("contains", "has"),
    ("group", "grp"),
    ("average", "avg"),
    ("print", "prnt"),
    ("trim", "trm"),
    ("split", "spl"),
    ("format", "fmt"),
    ("regex", "rgx"),
    ("read", "rd"),
    ("readlines", "rdl"),
    ("readbuf", "rdb"),
    ("write", "wr"),
    ("writelines", "wrl"),
];

/// The canonical short name for `name` if it is a builtin or a long-form alias.
pub fn canonical(name: &str) -> Option<&'static str> {
    if let Some(&(short, _, _)) = BUILTINS.iter().find(|(n, _, _)| *n == name) {
        return Some(short);
    }
    ALIASES
        .iter()
        .find(|(long, _)| *long == name)
        .map(|&(_, short)| short)
}

/// `(min, max)` arity of a builtin, looked up by short name or long-form alias.
pub fn arity(name: &str) -> Option<(u8, u8)> {
    let short = canonical(name)?;
    BUILTINS
        .iter()
        .find(|(n, _, _)| *n == short)
        .map(|&(_, min, max)| (min, max))
}

/// The builtin a long-form alias stands for (`contains` → `has`); `None` for
/// canonical names and for names that are no alias.
pub fn alias_target(name: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(long, _)| *long == name)
        .map(|&(_, short)| short)
}

/// True when `name` is reserved because a builtin owns it. Long aliases are not
/// reserved: a program may declare its own `contains`, which then wins over the alias.
pub fn is_builtin(name: &str) -> bool {
    BUILTINS.iter().any(|(n, _, _)| *n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_point_at_real_builtins() {
        for (long, short) in ALIASES {
            assert!(
                BUILTINS.iter().any(|(n, _, _)| n == short),
                "{long} → {short}"
            );
        }
    }

    #[test]
    fn names_are_unique_and_arities_ordered() {
        for (i, (name, min, max)) in BUILTINS.iter().enumerate() {
            assert!(min <= max, "{name}");
            assert!(
                BUILTINS[i + 1..].iter().all(|(n, _, _)| n != name),
                "{name} listed twice"
            );
        }
    }

    #[test]
    fn lookup_by_alias() {
        assert_eq!(arity("length"), Some((1, 1)));
        assert_eq!(arity("fmt"), Some((1, VARIADIC)));
        assert_eq!(canonical("floor"), Some("flr"));
        assert!(!is_builtin("dbl"));
    }
}
