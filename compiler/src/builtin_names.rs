//! Names and arities of every library builtin, as the front end needs them.
//!
//! The parser uses this list to expand known-arity calls inside prefix operands
//! (`>len xs 0`), to cap greedy argument lists, and to reject builtin names used as
//! function or binding names (ILO-P011). The verifier uses it for reserved names and
//! arity checks; type signatures live with the verifier (`builtin_sigs`, checked
//! against this list by a test), names, arities and implementations in the runtime's
//! builtin table, which this module reads rather than repeats.

use ilo_runtime::builtins::{table, BuiltinDef};

/// Max arity of a builtin that takes any number of trailing arguments.
pub use ilo_runtime::builtins::VARIADIC;

/// Every library builtin's canonical name. The runtime's table is the one list of
/// builtins and their arities, so the front end cannot disagree with the code it calls.
pub fn names() -> impl Iterator<Item = &'static str> {
    table().iter().map(|b| b.name)
}

fn def(short: &str) -> Option<&'static BuiltinDef> {
    table().iter().copied().find(|b| b.name == short)
}

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
    if let Some(b) = def(name) {
        return Some(b.name);
    }
    ALIASES
        .iter()
        .find(|(long, _)| *long == name)
        .map(|&(_, short)| short)
}

/// `(min, max)` arity of a builtin, looked up by short name or long-form alias.
pub fn arity(name: &str) -> Option<(u8, u8)> {
    let b = def(canonical(name)?)?;
    Some((b.min_args, b.max_args))
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
    def(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_point_at_real_builtins() {
        for (long, short) in ALIASES {
            assert!(is_builtin(short), "{long} → {short}");
        }
    }

    #[test]
    fn names_are_unique_and_arities_ordered() {
        let all: Vec<_> = names().collect();
        for (i, name) in all.iter().enumerate() {
            let (min, max) = arity(name).expect("listed");
            assert!(min <= max, "{name}");
            assert!(!all[i + 1..].contains(name), "{name} listed twice");
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
