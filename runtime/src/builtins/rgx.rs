//! Builtins: regular expressions (`rgx`, `rgxall`, `rgxall1`, `rgxsub`).
//!
//! Patterns use the `regex` crate's syntax. Programs typically call these inside loops
//! with the same literal pattern, so compiled patterns are cached per thread.
//! A capture group that did not take part in a match yields the empty text.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::{Captures, Regex};

use super::convert::text_arg;
use super::BuiltinDef;
use crate::error::{codes, RtError, RtResult};
use crate::value::Value;

pub const TABLE: &[BuiltinDef] = &[
    BuiltinDef {
        name: "rgx",
        min_args: 2,
        max_args: 2,
        f: rgx,
    },
    BuiltinDef {
        name: "rgxall",
        min_args: 2,
        max_args: 2,
        f: rgxall,
    },
    BuiltinDef {
        name: "rgxall1",
        min_args: 2,
        max_args: 2,
        f: rgxall1,
    },
    BuiltinDef {
        name: "rgxsub",
        min_args: 3,
        max_args: 3,
        f: rgxsub,
    },
];

/// `rgx pat s` → `L t`: without groups every whole match; with groups the captures of
/// the first match (empty list when nothing matches).
fn rgx(args: &[Value]) -> RtResult {
    let re = pattern_arg(args, 0, "rgx")?;
    let s = text_arg("rgx", &args[1])?;
    if re.captures_len() == 1 {
        return Ok(whole_matches(&re, s));
    }
    Ok(Value::list(
        re.captures(s).map(|c| group_texts(&c)).unwrap_or_default(),
    ))
}

/// `rgxall pat s` → `L (L t)`: one entry per match: its groups, or `[whole]` if none.
fn rgxall(args: &[Value]) -> RtResult {
    let re = pattern_arg(args, 0, "rgxall")?;
    let s = text_arg("rgxall", &args[1])?;
    let rows = if re.captures_len() == 1 {
        re.find_iter(s)
            .map(|m| Value::list(vec![Value::text(m.as_str())]))
            .collect()
    } else {
        re.captures_iter(s)
            .map(|c| Value::list(group_texts(&c)))
            .collect()
    };
    Ok(Value::list(rows))
}

/// `rgxall1 pat s` → `L t`: whole matches (no group) or every capture 1 (one group).
fn rgxall1(args: &[Value]) -> RtResult {
    let re = pattern_arg(args, 0, "rgxall1")?;
    let s = text_arg("rgxall1", &args[1])?;
    match re.captures_len() - 1 {
        0 => Ok(whole_matches(&re, s)),
        1 => Ok(Value::list(
            re.captures_iter(s)
                .map(|c| Value::text(c.get(1).map_or("", |m| m.as_str())))
                .collect(),
        )),
        n => Err(RtError::new(
            codes::DOMAIN,
            format!("rgxall1: pattern has {n} capture groups, at most 1 allowed (use rgxall)"),
        )),
    }
}

/// `rgxsub pat repl s` → `t`: replace every match; `$1`, `${name}` refer to groups and
/// `$$` is a literal dollar. A reference runs as far as name characters go (`$1a` names
/// a group called `1a`), so `${1}a` is how to follow a group with a letter.
fn rgxsub(args: &[Value]) -> RtResult {
    let re = pattern_arg(args, 0, "rgxsub")?;
    let repl = text_arg("rgxsub", &args[1])?;
    let s = text_arg("rgxsub", &args[2])?;
    Ok(Value::text(re.replace_all(s, repl).into_owned()))
}

fn whole_matches(re: &Regex, s: &str) -> Value {
    Value::list(re.find_iter(s).map(|m| Value::text(m.as_str())).collect())
}

/// Groups 1..n of a match; a group that did not participate is "".
fn group_texts(c: &Captures<'_>) -> Vec<Value> {
    c.iter()
        .skip(1)
        .map(|g| Value::text(g.map_or("", |m| m.as_str())))
        .collect()
}

/// Most programs use a handful of patterns; the cap only bounds programs that build
/// patterns dynamically.
const CACHE_CAPACITY: usize = 64;

thread_local! {
    static CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// Compile `pat`, reusing this thread's earlier compilation. `Regex` clones share the
/// compiled program, so returning a clone is cheap.
fn compile(pat: &str, who: &str) -> RtResult<Regex> {
    CACHE.with(|cache| {
        if let Some(re) = cache.borrow().get(pat) {
            return Ok(re.clone());
        }
        let re = Regex::new(pat).map_err(|e| {
            RtError::new(codes::DOMAIN, format!("{who}: invalid regex '{pat}': {e}"))
        })?;
        let mut cache = cache.borrow_mut();
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(pat.to_string(), re.clone());
        Ok(re)
    })
}

fn pattern_arg(args: &[Value], i: usize, who: &str) -> RtResult<Regex> {
    compile(text_arg(who, &args[i])?, who)
}

#[cfg(test)]
mod tests {
    use super::super::test_values::t;
    use super::*;

    fn show(r: RtResult) -> String {
        r.expect("builtin failed").to_string()
    }

    #[test]
    fn rgx_without_groups_returns_all_matches() {
        assert_eq!(show(rgx(&[t("[0-9]+"), t("a1b22")])), "[1, 22]");
        assert_eq!(show(rgx(&[t("z"), t("abc")])), "[]");
    }

    #[test]
    fn rgx_with_groups_returns_first_match_captures() {
        assert_eq!(show(rgx(&[t(r"(\w)=(\d)"), t("a=1 b=2")])), "[a, 1]");
        assert_eq!(show(rgx(&[t(r"(x)(y)?"), t("x")])).as_str(), "[x, ]");
        assert_eq!(show(rgx(&[t(r"(q)"), t("abc")])), "[]");
        assert_eq!(show(rgx(&[t(r"(\p{L}+)-(\d)"), t("été-7")])), "[été, 7]");
    }

    #[test]
    fn rgxall_lists_every_match() {
        assert_eq!(show(rgxall(&[t("(a)(b)"), t("abab")])), "[[a, b], [a, b]]");
        assert_eq!(show(rgxall(&[t(r"\d"), t("1x2")])), "[[1], [2]]");
    }

    #[test]
    fn rgxall1_flattens_zero_or_one_group() {
        assert_eq!(show(rgxall1(&[t(r"x(\d)"), t("x1 x2")])), "[1, 2]");
        assert_eq!(show(rgxall1(&[t(r"x\d"), t("x1 x2")])), "[x1, x2]");
        let e = rgxall1(&[t("(a)(b)"), t("ab")]).unwrap_err();
        assert_eq!(e.code, codes::DOMAIN);
        assert!(e.message.contains("2 capture groups"), "{}", e.message);
    }

    #[test]
    fn rgxsub_replaces_with_group_references() {
        assert_eq!(
            show(rgxsub(&[t(r"(\d+)"), t("<$1>"), t("a12b3")])),
            "a<12>b<3>"
        );
        assert_eq!(show(rgxsub(&[t("b"), t("$$"), t("abc")])), "a$c");
        assert_eq!(show(rgxsub(&[t(r"(\d)"), t("${1}a"), t("x1")])), "x1a");
        assert_eq!(show(rgxsub(&[t(r"(\d)"), t("$1a"), t("x1")])), "x");
        assert_eq!(
            show(rgxsub(&[t(r"(?P<w>\w+)@"), t("[$w]"), t("me@x")])),
            "[me]x"
        );
    }

    #[test]
    fn invalid_pattern_and_wrong_types_are_errors() {
        let e = rgx(&[t("("), t("x")]).unwrap_err();
        assert_eq!(e.code, codes::DOMAIN);
        assert!(
            e.message.starts_with("rgx: invalid regex '('"),
            "{}",
            e.message
        );
        let e = rgxsub(&[t("a"), Value::num(1.0), t("a")]).unwrap_err();
        assert_eq!(e.message, "rgxsub: expected t, got n");
    }

    #[test]
    fn cache_reuses_compiled_pattern_and_stays_bounded() {
        compile("reuse-me", "rgx").unwrap();
        assert!(CACHE.with(|c| c.borrow().contains_key("reuse-me")));
        for i in 0..(CACHE_CAPACITY * 2) {
            compile(&format!("p{i}"), "rgx").unwrap();
        }
        assert!(CACHE.with(|c| c.borrow().len()) <= CACHE_CAPACITY);
    }
}
