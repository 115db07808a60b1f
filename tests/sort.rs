//! `srt` and `rsrt` of plain lists through the real `ilo` binary: numbers (a comparison
//! sort below 1,024 elements, a radix sort on their bits from there) in
//! `f64::total_cmp` order, texts in byte order, on both sides of every size threshold,
//! and a sorted list never showing through another name.
//!
//! The expected order is computed here by the standard library's sort of the same data.

use std::process::Command;

/// Run an inline program with arguments; its stdout, trimmed.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ilo"))
        .arg(program)
        .args(args)
        .output()
        .expect("spawn ilo");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "{program} failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// The elements of a printed list (`[1, -2.5, inf]`), whose texts hold no `, `.
fn items(shown: &str) -> Vec<&str> {
    let inner = shown
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or_else(|| panic!("not a list: {shown}"));
    if inner.is_empty() {
        return Vec::new();
    }
    inner.split(", ").collect()
}

fn parse_numbers(shown: &str) -> Vec<f64> {
    items(shown)
        .into_iter()
        .map(|n| n.parse().unwrap_or_else(|_| panic!("not a number: {n}")))
        .collect()
}

fn parse_texts(shown: &str) -> Vec<String> {
    items(shown).into_iter().map(str::to_string).collect()
}

fn list_arg(xs: &[f64]) -> String {
    // Exponent form keeps 1e300 to a few characters on the command line.
    let shown: Vec<String> = xs.iter().map(|x| format!("{x:e}")).collect();
    format!("[{}]", shown.join(","))
}

/// Sort the list `arg` of `ty` elements with `srt` and `rsrt`, and compare what `parse`
/// reads from the output with `ascending` and its reverse.
fn check_sorts<T: PartialEq + std::fmt::Debug>(
    ty: &str,
    arg: &str,
    mut ascending: Vec<T>,
    parse: fn(&str) -> Vec<T>,
    what: &str,
) {
    let up = parse(&run(&format!("f xs:L {ty}>L {ty};srt xs"), &[arg]));
    assert_eq!(up, ascending, "srt of {what}, {} elements", ascending.len());
    ascending.reverse();
    let down = parse(&run(&format!("f xs:L {ty}>L {ty};rsrt xs"), &[arg]));
    assert_eq!(
        down,
        ascending,
        "rsrt of {what}, {} elements",
        ascending.len()
    );
}

fn check_numbers(xs: &[f64], what: &str) {
    let mut expected = xs.to_vec();
    expected.sort_by(|a, b| a.total_cmp(b));
    check_sorts("n", &list_arg(xs), expected, parse_numbers, what);
}

#[test]
fn numbers_sort_in_numeric_order_on_both_sides_of_the_radix_threshold() {
    let mut rng = Lcg(17);
    for len in [0, 1, 2, 100, 1023, 1024, 5000] {
        let wide: Vec<f64> = (0..len)
            .map(|_| (rng.next() % 2_000_001) as f64 - 1_000_000.0)
            .collect();
        check_numbers(&wide, "integers of both signs");
        let eighths: Vec<f64> = (0..len)
            .map(|_| (rng.next() % 100_000) as f64 / 8.0 - 5000.0)
            .collect();
        check_numbers(&eighths, "fractions");
        let few: Vec<f64> = (0..len).map(|_| (rng.next() % 3) as f64).collect();
        check_numbers(&few, "three distinct values");
        let huge: Vec<f64> = (0..len)
            .map(|i| match i % 4 {
                0 => 1e300,
                1 => -1e-300,
                2 => 2.5e-310,
                _ => (rng.next() % 1000) as f64,
            })
            .collect();
        check_numbers(&huge, "extremes and subnormals");
        check_numbers(&vec![7.0; len], "one value repeated");
    }
}

/// -0 sorts before 0 (seen through `/ 1 x`: -inf before inf), infinities at the ends,
/// and the NaN of `0/0` (sign bit set) first, the NaN of `sqrt -1` last, as the
/// comparison sort of small lists places them.
#[test]
fn signed_zeros_infinities_and_nans_keep_their_places() {
    for n in [10, 3000] {
        let program = format!(
            "f>L n;xs=range 0 {n};xs=+=xs -0;xs=+=xs 0;xs=+=xs (/ 0 0);xs=+=xs (sqrt -1);\
             xs=+=xs (/ 1 0);xs=+=xs (/ -1 0);xs=+=xs -0;ys=srt xs;\
             [(at ys 0) (at ys 1) (/ 1 (at ys 2)) (/ 1 (at ys 3)) (/ 1 (at ys 4)) (at ys -2) (at ys -1)]"
        );
        assert_eq!(
            run(&program, &[]),
            "[NaN, -inf, -inf, -inf, inf, inf, NaN]",
            "{n}"
        );
        let program = format!(
            "f>L n;xs=range 0 {n};xs=+=xs -0;xs=+=xs 0;xs=+=xs (/ 0 0);xs=+=xs (sqrt -1);\
             xs=+=xs (/ 1 0);xs=+=xs (/ -1 0);xs=+=xs -0;ys=rsrt xs;\
             [(at ys 0) (at ys 1) (at ys 2) (/ 1 (at ys -6)) (/ 1 (at ys -5)) \
             (/ 1 (at ys -4)) (/ 1 (at ys -3)) (at ys -2) (at ys -1)]"
        );
        assert_eq!(
            run(&program, &[]),
            format!("[NaN, inf, {}, inf, inf, -inf, -inf, -inf, NaN]", n - 1),
            "{n}"
        );
    }
}

#[test]
fn a_sorted_list_held_elsewhere_stays_unsorted() {
    for n in [10, 3000] {
        let program = format!(
            "f>L _;xs=map (x:n>n;- {n} x) (range 0 {n});ws=[\"a\" \"c\" \"b\"];\
             zs=[xs ws];ys=srt xs;vs=rsrt ws;[(at xs 0) (at ys 0) (at (at zs 0) 0) ws vs]"
        );
        assert_eq!(
            run(&program, &[]),
            format!("[{n}, 1, {n}, [a, c, b], [c, b, a]]")
        );
    }
}

fn check_texts(texts: &[String], what: &str) {
    let quoted: Vec<String> = texts.iter().map(|t| format!("{t:?}")).collect();
    let mut expected = texts.to_vec();
    expected.sort();
    let arg = format!("[{}]", quoted.join(","));
    check_sorts("t", &arg, expected, parse_texts, what);
}

#[test]
fn texts_sort_in_byte_order() {
    let mut rng = Lcg(23);
    // Shared prefixes longer than eight bytes, texts that are prefixes of others, upper
    // case before lower, multi-byte characters after ASCII, duplicates.
    let pieces = [
        "a",
        "ab",
        "abcdefgh",
        "abcdefghij",
        "Z",
        "z",
        "é",
        "ü",
        "日本",
        "😀",
        "0",
        "-",
    ];
    for len in [0, 1, 2, 63, 64, 3000] {
        let texts: Vec<String> = (0..len)
            .map(|_| {
                let parts = 1 + rng.next() % 3;
                (0..parts)
                    .map(|_| pieces[rng.next() as usize % pieces.len()])
                    .collect()
            })
            .collect();
        check_texts(&texts, "pieces");
        let words: Vec<String> = (0..len)
            .map(|_| {
                let n = 1 + rng.next() % 12;
                (0..n)
                    .map(|_| char::from(b'a' + (rng.next() % 3) as u8))
                    .collect()
            })
            .collect();
        check_texts(&words, "words of three letters");
    }
}

#[test]
fn an_empty_text_sorts_first() {
    assert_eq!(
        run(
            r#"f>t;xs=srt ["b" "" "a"];fmt "{}|{}|{}" xs.0 xs.1 xs.2"#,
            &[]
        ),
        "|a|b"
    );
}
