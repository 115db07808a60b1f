//! The front end never panics: random bytes, random token soup, and mutations of the
//! observed probe programs all come back as declarations or diagnostics. Also checks
//! that pathologically deep nesting is reported instead of overflowing the stack.

use ilo_compiler::lexer::lex;
use ilo_compiler::loader::load_inline;
use ilo_compiler::parser::parse;
use ilo_compiler::span::FileId;
use proptest::prelude::*;

/// A sample of valid programs covering most constructs (from the reference
/// observations plus multi-line forms).
const SEEDS: &[&str] = &[
    "f>n;+*2 3 4",
    "f>n;1 + 2 * 3",
    "f>L n;srt (x:n>n;- 0 x) [1 3 2]",
    "type pt{x:n;y:n}\nf>n;p=pt x:1 y:2;q=p with y:5;+q.x q.y",
    "f>n;r=num \"12\";?r{~v:v;^e:0}",
    "fac n:n>n;<=n 1 1;r=fac -n 1;*n r\nmain>n;fac 5",
    "f>n;i=0;s=0;wh <i 5{i=+i 1;>=i 3{cnt};s=+s i};s",
    "f x:_>t;?x{n v:\"num\";t v:\"text\";l v:\"list\";_:\"other\"}",
    "f>M t (L n);grp (x:n>t;?=mod x 2 0 \"e\" \"o\") [1 2 3]",
    "f>L t;mvals (mset (mset mmap \"b\" 1) \"a\" 2)>>map str",
    "type u{name:t;age:n}\nf>t;p=u name:\"a\" age:3;{name;age}=p;fmt \"{}:{}\" name age",
    "f>R _ t;x=jpar! \"{\\\"a\\\":{\\\"b\\\":5}}\";~x.a.b",
    "f>t;s=\"\";@c (chars \"abc\"){s=+c s};s",
    "f x:n>t\n  >x 10{ret \"big\"}\n  \"small\"",
    "inc x:n>n;+x 1\nmain>n;5>>inc>>inc",
    "f h:b>n;?h{1}{0}",
    "f x:n>n;v=?>x 100 1 0;v",
    "f u:t>R t t;$!u",
    "g>L n\n  [10, 20,\n   30]\n    >>rev",
    "f r:_>_;r.?userId.?x-y??nil",
    "f xs:L n>n;s=0;@j 0..len xs{s=+s j};s",
];

/// Lex and parse; the only requirement is to return.
fn front_end(src: &str) {
    let mut next_id = 0;
    let (tokens, _) = lex(src, FileId(0));
    assert!(!tokens.is_empty());
    let (_decls, _diags) = parse(src, FileId(0), &mut next_id);
    let loaded = load_inline(src);
    assert_eq!(loaded.program.is_some(), loaded.diagnostics.is_empty());
}

const SOUP: &[&str] = &[
    "f", "x", "xs", "n", "t", "L", "R", "O", "M", "S", "F", "_", ":", ">", ";", "\n", "\n  ", "1",
    "-1", "2.5", "\"s\"", "+", "-", "*", "/", "=", "==", "!=", "<", ">=", "&", "|", "+=", "!",
    "!!", "~", "^", "$", "?", "??", ">>", ".", ".?", "..", ",", "@", "(", ")", "[", "]", "{", "}",
    "type", "use", "wh", "ret", "brk", "cnt", "with", "true", "nil", "len", "map", "mmap", "fmt",
    " ", "--c\n", "AND", "runD",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SOUP), 0..60).prop_map(|parts| parts.concat())
}

#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, char),
    Delete(usize),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (
            any::<usize>(),
            prop::sample::select(":;>{}()[]\"-.?!~^@ \n\\x9".chars().collect::<Vec<_>>())
        )
            .prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), 1usize..8).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

fn apply(src: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    for e in edits {
        let len = chars.len().max(1);
        match *e {
            Edit::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
            Edit::Delete(i) if !chars.is_empty() => {
                chars.remove(i % len);
            }
            Edit::Duplicate(i, n) if !chars.is_empty() => {
                let start = i % len;
                let end = (start + n).min(chars.len());
                let copy: Vec<char> = chars[start..end].to_vec();
                chars.splice(start..start, copy);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        front_end(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn token_soup(src in soup()) {
        front_end(&src);
    }

    #[test]
    fn mutated_programs(seed in prop::sample::select(SEEDS), edits in prop::collection::vec(edit(), 1..6)) {
        front_end(&apply(seed, &edits));
    }
}

#[test]
fn seeds_are_valid() {
    for seed in SEEDS {
        let loaded = load_inline(seed);
        assert!(
            loaded.diagnostics.is_empty(),
            "{seed}: {:?}",
            loaded.diagnostics
        );
    }
}

#[test]
fn deep_nesting_is_reported() {
    for open in [
        "(", "[", "{", "-", "!", "~", "+", "?", "f (", "[(", "(x:n>n;",
    ] {
        let src = format!("f>n;{}1", open.repeat(100_000));
        let mut next_id = 0;
        let (_, diags) = parse(&src, FileId(0), &mut next_id);
        assert!(!diags.is_empty(), "{open}");
    }
    // Chains built by loops nest the tree just as deeply.
    for chain in ["??x", " + 1", ".a", ">>g", " with a:1"] {
        let src = format!("f x:_>_;x{}", chain.repeat(100_000));
        let loaded = load_inline(&src);
        assert!(
            loaded.diagnostics.iter().any(|d| d.code == "ILO-P022"),
            "{chain}"
        );
    }
    let src = format!("f x:{}n>n;1", "L ".repeat(100_000));
    let mut next_id = 0;
    let (_, diags) = parse(&src, FileId(0), &mut next_id);
    assert!(diags.iter().any(|d| d.code == "ILO-P022"));
}

#[test]
fn long_flat_inputs_are_fine() {
    let list = format!("f>L n;[{}]", "1 ".repeat(100_000));
    assert!(load_inline(&list).diagnostics.is_empty());
    let chain = format!("f x:O n>n;x{}0", "??x".repeat(100));
    assert!(load_inline(&chain).diagnostics.is_empty());
    let stmts = format!("f>n;{}1", "x=1;".repeat(20_000));
    assert!(load_inline(&stmts).diagnostics.is_empty());
}
