//! In-place updates (issue 11): a value nothing else refers to is updated where it is,
//! and one that something else still sees is copied, so both views keep their own
//! contents. Everything runs through the real `ilo` binary.
//!
//! The scaling tests time nothing: they read the runtime's copy counters, which the
//! binary prints on stderr when `ILO_COPY_STATS` is set, and check that building a
//! collection in a loop copies none of it (a copy per iteration is what makes such a
//! loop quadratic).

use std::process::Command;

/// Run an inline program with arguments; stdout (trimmed) and stderr.
fn run(program: &str, args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ilo"))
        .arg(program)
        .args(args)
        .env("ILO_COPY_STATS", "1")
        .output()
        .expect("spawn ilo");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{program} failed: {stdout} {stderr}");
    (stdout, stderr)
}

fn output(program: &str) -> String {
    run(program, &[]).0
}

/// The copy counters from the `ilo: copies: …` line: (copies, units) per kind.
fn copies(stderr: &str, kind: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("ilo: copies: "))
        .unwrap_or_else(|| panic!("no copy statistics in {stderr:?}"));
    for part in line.split(", ") {
        let mut words = part.split_whitespace();
        if words.next() == Some(kind) {
            let n = words.next().and_then(|w| w.parse().ok());
            let units = words
                .next()
                .and_then(|w| w.trim_start_matches('(').parse().ok());
            if let (Some(n), Some(units)) = (n, units) {
                return (n, units);
            }
        }
    }
    panic!("no {kind} count in {line:?}")
}

// ── aliasing: an update never shows through another name ──

#[test]
fn equal_csv_cells_read_as_one_text_stay_apart_when_one_grows() {
    // rd/rdb hand out one text value for equal short cells; growing one copies it.
    assert_eq!(
        output(
            r#"f>t;rows=rdb!! "k,k\nk,k\n" "csv";r=rows.0;x=r.0;x=+x "!";fmt "{} {} {}" x r.1 rows"#
        ),
        "k! k [[k, k], [k, k]]"
    );
}

#[test]
fn a_map_stored_in_a_list_keeps_its_contents() {
    assert_eq!(
        output("f>L _;m=mset mmap \"a\" 1;xs=[m];m=mset m \"b\" 2;[xs m]"),
        "[[{a: 1}], {a: 1; b: 2}]"
    );
}

#[test]
fn a_map_captured_by_a_closure_keeps_its_contents() {
    assert_eq!(
        output("f>L n;m=mset mmap \"a\" 1;g=(k:t>n;len m);m=mset m \"b\" 2;m=mdel m \"a\";m=mset m \"c\" 3;[(g \"x\") (len m)]"),
        "[1, 2]"
    );
}

#[test]
fn a_map_held_by_a_record_keeps_its_contents() {
    assert_eq!(
        output("type box{v:M t n}\nf>L _;m=mset mmap \"a\" 1;b=box v:m;m=mset m \"b\" 2;[b.v m]"),
        "[{a: 1}, {a: 1; b: 2}]"
    );
}

#[test]
fn every_snapshot_taken_in_a_loop_keeps_its_contents() {
    assert_eq!(
        output("f>L _;xs=[];m=mmap;@i 0..3{m=mset m (str i) i;xs=+=xs m};xs"),
        "[{0: 0}, {0: 0; 1: 1}, {0: 0; 1: 1; 2: 2}]"
    );
    assert_eq!(
        output("f>L _;prev=mmap;m=mmap;@i 0..3{prev=m;m=mset m (str i) i};[prev m]"),
        "[{0: 0; 1: 1}, {0: 0; 1: 1; 2: 2}]"
    );
}

#[test]
fn a_map_updated_in_place_is_still_traversed_in_key_order() {
    // Maps look keys up by hash; every traversal must still see keys sorted, also
    // after keys were added and removed in place since the last traversal.
    assert_eq!(
        output(
            "f>t;m=mmap;@i 0..12{m=mset m (str (- 11 i)) i};a=mkeys m;m=mdel m \"5\";\
             m=mset m \"05\" 99;m=mset m \"11\" 0;ks=[];@k m{ks=+=ks k};\
             fmt \"{} | {} | {} | {}\" a m ks (mvals m)"
        ),
        "[0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9] | \
         {0: 11; 05: 99; 1: 10; 10: 1; 11: 0; 2: 9; 3: 8; 4: 7; 6: 5; 7: 4; 8: 3; 9: 2} | \
         [0, 05, 1, 10, 11, 2, 3, 4, 6, 7, 8, 9] | [11, 99, 10, 1, 0, 9, 8, 7, 5, 4, 3, 2]"
    );
    assert_eq!(
        output("f>t;m=mmap;m=mset m 10 1;m=mset m -3 2;m=mset m 2 3;fmt \"{}\" m"),
        "{-3: 2; 2: 3; 10: 1}"
    );
}

#[test]
fn a_value_used_again_later_is_not_updated_in_place() {
    assert_eq!(
        output("f>L _;xs=[3 1 2];ys=lst xs 0 9;zs=srt xs;rs=rev xs;[xs ys zs rs]"),
        "[[3, 1, 2], [9, 1, 2], [1, 2, 3], [2, 1, 3]]"
    );
    assert_eq!(
        output("f>L _;m=mset mmap \"a\" 1;n=mdel m \"a\";[m n]"),
        "[{a: 1}, {}]"
    );
    assert_eq!(
        output("f>L t;s=fmt \"{}\" \"ab\";t=fmt \"{}!\" s;u=+s \"?\";[s t u]"),
        "[ab, ab!, ab?]"
    );
    assert_eq!(
        output("type pt{x:n;y:n}\nf>L _;p=pt x:1 y:2;q=p with x:5;[p q]"),
        "[pt {x: 1, y: 2}, pt {x: 5, y: 2}]"
    );
}

#[test]
fn lst_on_a_handed_over_list_never_changes_another_view_of_it() {
    // `xs=lst xs …` hands the list to a direct entry point; a list something else
    // still holds is copied, not updated.
    assert_eq!(
        output("f>L _;xs=[1 2 3];ys=[xs];xs=lst xs 0 9;[ys xs]"),
        "[[[1, 2, 3]], [9, 2, 3]]"
    );
    assert_eq!(
        output("f>L n;xs=[1 2];g=(k:n>n;at xs k);xs=lst xs 0 7;[(g 0) (at xs 0)]"),
        "[1, 7]"
    );
    assert_eq!(
        output("type box{v:L n}\nf>L _;xs=[1 2];b=box v:xs;xs=lst xs 1 5;[b.v xs]"),
        "[[1, 2], [1, 5]]"
    );
    assert_eq!(
        output("f>L _;xs=[1 2];ys=xs;xs=lst xs -1 xs;[ys xs]"),
        "[[1, 2], [1, [1, 2]]]"
    );
}

#[test]
fn the_inline_lst_store_never_changes_another_view_of_the_list() {
    // In a loop, `xs=lst xs i v` stores into a list held once without calling the
    // runtime; every other holder (a variable, a closure, a map) must keep its view.
    assert_eq!(
        output("f>L _;xs=[1 2 3];ys=xs;@i 0..3{xs=lst xs i *i 10};[ys xs]"),
        "[[1, 2, 3], [0, 10, 20]]"
    );
    assert_eq!(
        output("f>L n;xs=[1 2 3];g=(k:n>n;at xs k);@i 0..3{xs=lst xs i 0};[(g 0) (g 2) (at xs 2)]"),
        "[1, 3, 0]"
    );
    assert_eq!(
        output("f>L _;xs=[1 2];m=mset mmap \"k\" xs;@i 0..2{xs=lst xs i 7};[(mget m \"k\") xs]"),
        "[[1, 2], [7, 7]]"
    );
    // A snapshot taken inside the loop keeps the elements it had.
    assert_eq!(
        output("f>L _;xs=[0 0 0];snaps=[];@i 0..3{xs=lst xs i 1;snaps=+=snaps xs};snaps"),
        "[[1, 0, 0], [1, 1, 0], [1, 1, 1]]"
    );
}

#[test]
fn indices_the_inline_store_does_not_take_behave_as_the_builtin_says() {
    // Negative indices count from the end (through the runtime); a fractional one
    // is floored, also below zero (-0.5 is -1, the last element).
    assert_eq!(
        output("f>L _;xs=[1 2 3];@i 0..1{xs=lst xs -1 9;xs=lst xs 1.5 8};xs"),
        "[1, 8, 9]"
    );
    assert_eq!(
        output("f>L _;xs=[1 2 3];@i 0..1{xs=lst xs -0.5 7;xs=lst xs 0.99 6};xs"),
        "[6, 2, 7]"
    );
    // The index given as a word (not a number the compiler knows).
    assert_eq!(
        output("f>L _;ks=[2 0];xs=[1 2 3];@k ks{xs=lst xs k 5};xs"),
        "[5, 2, 5]"
    );
    for program in [
        "f>L n;xs=[1 2 3];@i 0..1{xs=lst xs 3 0};xs",
        "f>L n;xs=[1 2 3];@i 0..1{xs=lst xs -4 0};xs",
        "f>L n;xs=[];@i 0..1{xs=lst xs 0 0};xs",
    ] {
        let e = run_failing(program);
        assert!(
            e.contains("ILO-R004") && e.contains("list index out of bounds"),
            "{program}: {e}"
        );
    }
    let e = run_failing("f>L n;xs=[1 2 3];@i 0..1{xs=lst xs (/ 0 0) 0};xs");
    assert!(e.contains("lst: expected a finite number, got NaN"), "{e}");
    let e = run_failing("f>L n;xs=[1 2 3];@i 0..1{xs=lst xs (/ 1 0) 0};xs");
    assert!(e.contains("lst: expected a finite number, got inf"), "{e}");
}

#[test]
fn the_inline_with_never_changes_another_view_of_the_record() {
    assert_eq!(
        output("type pt{x:n;y:n}\nf>L _;p=pt x:1 y:2;xs=[p];@i 0..3{p=p with x:+p.x 1};[xs p]"),
        "[[pt {x: 1, y: 2}], pt {x: 4, y: 2}]"
    );
    assert_eq!(
        output("type pt{x:n;y:n}\nf>L _;p=pt x:1 y:2;q=p;@i 0..2{p=p with y:+p.y i};[q p]"),
        "[pt {x: 1, y: 2}, pt {x: 1, y: 3}]"
    );
    // Fields swapped in place (numbers move without counting, texts with it), and a
    // field read twice; a copy kept before keeps its values.
    assert_eq!(
        output("type p2{x:n;y:n}\nf>L _;a=p2 x:1 y:2;@i 0..3{a=a with x:a.y y:a.x};b=a;@i 0..2{a=a with x:+a.x a.x};[a b]"),
        "[p2 {x: 8, y: 1}, p2 {x: 2, y: 1}]"
    );
    assert_eq!(
        output("type p2{x:t;y:t}\nf>L _;a=p2 x:\"a\" y:\"b\";c=a;@i 0..3{a=a with x:a.y y:a.x};[a c a.x]"),
        "[p2 {x: b, y: a}, p2 {x: a, y: b}, b]"
    );
    // Text fields: the replaced text is released, the stored one read back.
    assert_eq!(
        output("type lbl{t:t;n:n}\nf>L _;b=lbl t:\"a\" n:0;c=b;@i 0..3{b=b with t:str i n:i};[c b b.t c.t]"),
        "[lbl {t: a, n: 0}, lbl {t: 2, n: 2}, 2, a]"
    );
}

/// A loop whose body only updates one record with `with` tests the record once,
/// before the loop, and runs a copy of the loop without tests when it is held once
/// (codegen's `record_loop.rs`). Whatever else holds the record when the loop starts
/// sends it down the ordinary path: one copy, counted, and the other holder keeps
/// its values.
#[test]
fn a_record_tested_once_before_its_loop_is_never_changed_under_another_holder() {
    let cases = [
        // Another variable.
        (
            "type pt{x:n;y:n}\nf>L _;p=pt x:1 y:2;q=p;@i 0..3{p=p with x:+p.x 1 y:+p.y i};[q p]",
            "[pt {x: 1, y: 2}, pt {x: 4, y: 5}]",
            1,
        ),
        // A closure's capture.
        (
            "type pt{x:n;y:n}\nf>L _;p=pt x:1 y:2;g=(k:n>n;+p.x k);@i 0..3{p=p with x:+p.x 1};[(g 10) p.x]",
            "[11, 4]",
            1,
        ),
        // A list.
        (
            "type pt{x:n;y:n}\nf>L _;p=pt x:1 y:2;xs=[p];@i 0..3{p=p with x:+p.x 1};[xs p]",
            "[[pt {x: 1, y: 2}], pt {x: 4, y: 2}]",
            1,
        ),
        // The caller, through a parameter.
        (
            "type acc{n:n;s:n}\nbump a:acc k:n>acc;@i 0..k{a=a with n:+a.n 1};a\nmain>L _;a=acc n:0 s:0;b=bump a 3;[a b]",
            "[acc {n: 0, s: 0}, acc {n: 3, s: 0}]",
            1,
        ),
        // Nothing: a `wh` loop whose condition reads the record too.
        (
            "type pt{x:n;y:n}\nf>n;p=pt x:1 y:2;wh <p.x 50{p=p with x:*p.x 2 y:+p.y p.x};p.y",
            "65",
            0,
        ),
        // Nothing: a field of any type, and text fields swapped.
        (
            "type bx{v:_;n:n}\nf>L _;b=bx v:\"s\" n:0;@i 0..3{b=b with v:b.n n:+b.n 1};[b b.v]",
            "[bx {v: 2, n: 3}, 2]",
            0,
        ),
        (
            "type p2{x:t;y:t}\nf>L _;a=p2 x:\"a\" y:\"b\";@i 0..3{a=a with x:a.y y:a.x};[a a.x]",
            "[p2 {x: b, y: a}, b]",
            0,
        ),
    ];
    for (program, expected, copied) in cases {
        let (out, err) = run(program, &[]);
        assert_eq!(out, expected, "{program}");
        assert_eq!(copies(&err, "record").0, copied, "{program}: {err}");
    }
    // Shared during the loop: a body that does more than update the record is not
    // versioned; each snapshot keeps its values.
    let (out, err) = run(
        "type pt{x:n;y:n}\nf>L _;p=pt x:1 y:2;xs=[];@i 0..3{p=p with x:+p.x 1;xs=+=xs p};[xs p]",
        &[],
    );
    assert_eq!(
        out,
        "[[pt {x: 2, y: 2}, pt {x: 3, y: 2}, pt {x: 4, y: 2}], pt {x: 4, y: 2}]"
    );
    assert_eq!(copies(&err, "record").0, 2, "{err}");
    // Texts put into a record held once replace the old ones; a copy taken between
    // two loops keeps the text it had.
    let (out, _) = run(
        "type lbl{t:t;n:n}\nf>L _;b=lbl t:\"a\" n:0;@i 0..3{b=b with t:+b.t \"!\" n:+b.n 1};d=b;@i 0..2{b=b with t:+b.t \"?\"};[d b]",
        &[],
    );
    assert_eq!(out, "[lbl {t: a!!!, n: 3}, lbl {t: a!!!??, n: 3}]");
    // A value that fails inside such a loop is the same error as anywhere else.
    let out = Command::new(env!("CARGO_BIN_EXE_ilo"))
        .args([
            "--text",
            "type acc{n:n;s:n}\nf x:_>n;a=acc n:0 s:0;@i 0..3{a=a with s:+a.s x};a.s",
            "hi",
        ])
        .output()
        .expect("spawn ilo");
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(e.contains("'+' cannot be applied to n and t"), "{e}");
}

#[test]
fn field_reads_see_records_of_any_origin() {
    // `r.f` loads from a record of the declared type; other values take the
    // runtime's lookup (a JSON object, a map), and a missing field is still an error.
    assert_eq!(
        output("type pt{x:n;y:n}\nf>L _;p=pt x:1 y:2;j=jpar!! \"{\\\"x\\\":5}\";[p.y p.x j.x]"),
        "[2, 1, 5]"
    );
    let e = run_failing("f>n;j=jpar!! \"{}\";j.x");
    assert!(e.contains("ILO-R005"), "{e}");
}

#[test]
fn shared_lists_and_records_updated_in_a_loop_are_counted_as_copies() {
    // The inline paths only ever store into a value held once: one kept alive by
    // another name makes every update a copy, and the counter sees each one.
    let (out, err) = run(
        "f n:n>n;xs=[0 0 0];old=xs;@i 0..n{old=xs;xs=lst xs 0 i};len old",
        &["100"],
    );
    assert_eq!(out, "3");
    assert_eq!(copies(&err, "list"), (100, 300), "{err}");
    let (out, err) = run(
        "type pt{x:n;y:n}\nf n:n>n;p=pt x:0 y:0;old=p;@i 0..n{old=p;p=p with x:i};+old.x p.x",
        &["100"],
    );
    assert_eq!(out, (98 + 99).to_string());
    assert_eq!(copies(&err, "record"), (100, 200), "{err}");
}

/// Run a program that must fail at run time; its stderr.
fn run_failing(program: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ilo"))
        .args(["--text", program])
        .output()
        .expect("spawn ilo");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{program}: {stderr}");
    stderr
}

#[test]
fn direct_entry_points_report_what_the_builtins_report() {
    // `lst`, `mset` and `mget` in these forms skip the builtin table; their errors
    // are the builtins' own, with the call's span.
    let e = run_failing("f>L n;xs=[1 2];xs=lst xs 2 0;xs");
    assert!(
        e.contains("ILO-R004") && e.contains("list index out of bounds"),
        "{e}"
    );
    let e = run_failing("f>M n n;m=mmap;m=mset m (/ 0 0) 1;m");
    assert!(e.contains("mset: map key must be finite, got NaN"), "{e}");
    let e = run_failing("f>n;m=mmap;mget m (/ 1 0)");
    assert!(
        e.contains("mget: map key must be finite, got inf") && e.contains("^"),
        "{e}"
    );
}

#[test]
fn a_value_passed_to_a_function_is_the_callers_still() {
    assert_eq!(
        output(
            "add m:M t n k:t>M t n;mset m k 1\nmain>L _;m=mmap;a=add m \"a\";b=add m \"b\";[m a b]"
        ),
        "[{}, {a: 1}, {b: 1}]"
    );
}

#[test]
fn a_value_passed_to_a_callback_stays_in_its_list() {
    assert_eq!(
        output(
            "f>L _;m=mset mmap \"a\" 1;xs=[m m];ys=map (x:M t n>M t n;mset x \"b\" 2) xs;[xs ys]"
        ),
        "[[{a: 1}, {a: 1}], [{a: 1; b: 2}, {a: 1; b: 2}]]"
    );
    assert_eq!(
        output("f>L _;m=mset mmap \"a\" 1;g=mset;h=(k:t>M t n;g m k 3);[(h \"b\") (h \"c\") m]"),
        "[{a: 1; b: 3}, {a: 1; c: 3}, {a: 1}]"
    );
}

#[test]
fn a_value_given_twice_to_one_call_is_not_its_own_update() {
    assert_eq!(
        output("f>M t _;m=mset mmap \"a\" 1;m=mset m \"self\" m;m"),
        "{a: 1; self: {a: 1}}"
    );
    assert_eq!(output("f>t;s=fmt \"{}\" \"ab\";s=+s s;s"), "abab");
    assert_eq!(output("f>L _;xs=[1];xs=+=xs xs;xs"), "[1, [1]]");
    assert_eq!(
        output("f>t;s=fmt \"{}\" \"ab\";s=fmt \"{}{}\" s s;s"),
        "abab"
    );
}

#[test]
fn a_match_subject_is_not_updated_under_the_match() {
    assert_eq!(
        output("f>L _;m=mset mmap \"a\" 1;r=?m{_:mset m \"z\" 2};[m r]"),
        "[{a: 1}, {a: 1; z: 2}]"
    );
}

#[test]
fn a_value_lent_to_an_operation_survives_a_later_operand_rebinding_its_local() {
    // The conditional rebinds `m` while the first operand's word is still waiting to
    // be used: that word must stay alive (it used to be released under it).
    for (program, want) in [
        (
            "f>L _;m=mmap;n=mset m \"a\" (?true{m=mset mmap \"q\" 1;1}{2});[m n]",
            "[{q: 1}, {a: 1}]",
        ),
        (
            "f>L _;m=mmap;n=[m (?true{m=mset mmap \"q\" 1;1}{2})];[m n]",
            "[{q: 1}, [{}, 1]]",
        ),
        (
            "f>L _;m=[1];n=+m (?true{m=[2];[3]}{[4]});[m n]",
            "[[2], [1, 3]]",
        ),
        (
            "f>L _;m=[1];n=(= m (?true{m=[2];[1]}{[4]}));[m n]",
            "[[2], true]",
        ),
    ] {
        assert_eq!(output(program), want, "{program}");
    }
}

#[test]
fn text_literals_are_never_updated_in_place() {
    // The literal "x" is shared by every iteration; growing a text that started as
    // it must not change what the literal reads as next time.
    assert_eq!(
        output("f>L t;out=[];@i 0..3{s=\"x\";s=+s \"y\";s=fmt \"{}z\" s;out=+=out s};out"),
        "[xyz, xyz, xyz]"
    );
}

/// `@x` over a text writes each character into the loop variable's text when only
/// the variable holds it; a character kept anywhere else must keep its value.
#[test]
fn characters_kept_from_a_text_loop_keep_their_values() {
    let cases = [
        // stored in a list, one- to four-byte characters
        (r#"f>L t;xs=[];@c "aé€😀b"{xs=+=xs c};xs"#, "[a, é, €, 😀, b]"),
        // the first one only, then more characters go through the variable
        (r#"f>L t;xs=[];@c "xyz"{?=(len xs) 0 {xs=+=xs c} {}};xs"#, "[x]"),
        // map keys and values
        (r#"f>M t t;m=mmap;@c "abca"{m=mset m c c};m"#, "{a: a; b: b; c: c}"),
        // captured by a closure made on the first character
        (
            r#"f>t;g=(k:t>t;k);n=0;@c "xyz"{?=n 0 {g=(k:t>t;+c k)} {};n=+n 1};g "!""#,
            "x!",
        ),
        // copied to another variable, which the next character must not change
        (r#"f>L t;out=[];p="";@x "abc"{out=+=out (+p x);p=x};out"#, "[a, ab, bc]"),
        // held in a record field
        (
            "type h{c:t}\nf>L t;r=h c:\"\";out=[];@x \"pq\"{?=r.c \"\" {r=h c:x} {};out=+=out r.c};out",
            "[p, p]",
        ),
        // grown inside the body: the variable's own text, then the next character
        (r#"f>L t;out=[];@x "ab"{x=+x "!";out=+=out x};out"#, "[a!, b!]"),
        // after the loop the variable holds the last character
        (r#"f>t;x="q";@x "abc"{y=x};x"#, "c"),
        // nested loops over one text
        (r#"f>L t;s="ab";out=[];@x s{@y s{out=+=out (+x y)}};out"#, "[aa, ab, ba, bb]"),
    ];
    for (program, want) in cases {
        assert_eq!(output(program), want, "{program}");
    }
}

// ── scaling: updates in a loop copy nothing ──

#[test]
fn building_a_map_of_ten_thousand_entries_copies_no_map() {
    let (out, err) = run(
        "f n:n>n;m=mmap;@i 0..n{k=str i;c=mget m k??0;m=mset m k +c 1};@i 0..n{m=mdel m (str i)};len m",
        &["10000"],
    );
    assert_eq!(out, "0");
    assert_eq!(copies(&err, "map"), (0, 0), "{err}");
}

#[test]
fn a_map_updated_through_a_helper_function_copies_no_map() {
    let (out, err) = run(
        "bump m:M t n k:t>M t n;c=mget m k??0;mset m k +c 1\nmain n:n>n;m=mmap;@i 0..n{m=bump m (str (mod i 100))};mget m \"7\"",
        &["10000"],
    );
    assert_eq!(out, "100");
    assert_eq!(copies(&err, "map"), (0, 0), "{err}");
}

#[test]
fn counting_words_into_a_map_copies_no_map() {
    let text: Vec<String> = (0..5000).map(|i| format!("w{}", i % 700)).collect();
    let (out, err) = run(
        "wc s:t>n;m=mmap;@w (spl s \" \"){c=mget m w??0;m=mset m w +c 1};len m",
        &[&text.join(" ")],
    );
    assert_eq!(out, "700");
    assert_eq!(copies(&err, "map"), (0, 0), "{err}");
}

/// `n` words, `w0` … `w{k-1}` over and over, joined by spaces.
fn words(n: usize, k: usize) -> String {
    let words: Vec<String> = (0..n).map(|i| format!("w{}", i % k)).collect();
    words.join(" ")
}

#[test]
fn counting_words_with_fld_copies_no_map() {
    // The accumulator reaches the callback as its only reference, and `mset` reads
    // it after the count that reads it too: both spellings update in place.
    let text = words(5000, 700);
    for f in [
        "wc s:t>n;m=fld (a:M t n w:t>M t n;mset a w +(mget a w ?? 0) 1) (spl s \" \") mmap;+(len m) (mget m \"w3\")",
        "wc s:t>n;m=fld (a:M t n w:t>M t n;c=mget a w ?? 0;mset a w +c 1) (spl s \" \") mmap;+(len m) (mget m \"w3\")",
        "bump a:M t n w:t>M t n;mset a w +(mget a w ?? 0) 1\nmain s:t>n;m=fld bump (spl s \" \") mmap;+(len m) (mget m \"w3\")",
    ] {
        let (out, err) = run(f, &[&text]);
        // 5000 = 7 * 700 + 100: w3 comes round 8 times.
        assert_eq!(out, "708", "{f}");
        assert_eq!(copies(&err, "map"), (0, 0), "{f}: {err}");
    }
}

#[test]
fn appending_in_fld_copies_no_list_or_text() {
    let (out, err) = run(
        "f n:n>n;xs=fld (a:L n x:n>L n;+=a *x 2) (range 0 n) [];+(len xs) (at xs -1)",
        &["10000"],
    );
    assert_eq!(out, (10000 + 2 * 9999).to_string());
    assert_eq!(copies(&err, "list"), (0, 0), "{err}");
    let (out, err) = run(
        "f n:n>n;s=fld (a:t x:n c:t>t;+a (+(str x) c)) \";\" (range 0 n) \"\";len s",
        &["10000"],
    );
    assert_eq!(out, (10 + 180 + 2700 + 36000 + 10000).to_string());
    // The initial "" is a literal, never updated in place: the first append starts a
    // text of its own, copying none of its bytes.
    assert_eq!(copies(&err, "text").1, 0, "{err}");
}

#[test]
fn fld_checks_its_typed_accumulator_once_not_per_element() {
    // `a:L n` / `a:M t n` are checked where a value enters the callback; the
    // callback's own result, handed back by `fld`, is not walked again.
    let (out, err) = run(
        "f n:n>n;xs=fld (a:L n x:n>L n;+=a x) (range 0 n) [];m=fld (a:M t n x:n>M t n;mset a (str (mod x 50)) x) xs mmap;+(len xs) (len m)",
        &["10000"],
    );
    assert_eq!(out, "10050");
    // One check of each empty initial value, and the list `xs` given to `fld`: nothing
    // per element (each would look at up to n elements).
    let (checks, elements) = copies(&err, "check");
    assert!(checks <= 4 && elements <= 10000, "{err}");
    // What the check is for still fails: a bad initial value, a result of another type.
    for program in [
        "f>L n;fld (a:L n x:n>L n;+=a x) [1 2] [5 \"x\"]",
        "f>L n;fld (a:L n x:_>L n;+=a x) [1 \"s\" 3] [5]",
        "f>L n;fld (a:L n x:n>L _;[x \"s\"]) [1 2] [5]",
    ] {
        let err = run_failing(program);
        assert!(err.contains("ILO-R001"), "{program}: {err}");
    }
}

#[test]
fn an_initial_value_held_elsewhere_keeps_its_contents_through_fld() {
    // The first update copies the shared initial value once; later ones are in place.
    let (out, err) = run(
        "f n:n>L _;m0=mset mmap \"x\" 1;m=fld (a:M t n i:n>M t n;mset a (str i) i) (range 0 n) m0;[m0 (len m)]",
        &["100"],
    );
    assert_eq!(out, "[{x: 1}, 101]");
    assert_eq!(copies(&err, "map"), (1, 1), "{err}");
    // The list folded over is the accumulator too: its elements are read as they were.
    assert_eq!(
        output("f>L _;xs=[1 2 3];ys=fld (a:L n x:n>L n;+=a x) xs xs;[xs ys]"),
        "[[1, 2, 3], [1, 2, 3, 1, 2, 3]]"
    );
    // With a context value, and the accumulator kept by the callback's closure.
    assert_eq!(
        output(
            "f>L _;m=mmap;g=(a:M t n x:n c:n>M t n;mset a (str x) (+x c));r=fld g 10 [1 2] m;[m r]"
        ),
        "[{}, {1: 11; 2: 12}]"
    );
}

#[test]
fn an_update_whose_value_reads_the_map_again_copies_nothing() {
    let (out, err) = run(
        "f n:n>n;m=mmap;@i 0..n{k=str (mod i 100);m=mset m k +(mget m k??0) 1};xs=range 0 100;@i 0..n{xs=lst xs (mod i 100) +(at xs (mod i 100)) 1};+(mget m \"7\") (at xs 7)",
        &["10000"],
    );
    assert_eq!(out, "207");
    assert_eq!(copies(&err, "map"), (0, 0), "{err}");
    assert_eq!(copies(&err, "list"), (0, 0), "{err}");
}

#[test]
fn grouping_with_the_read_inside_the_update_copies_no_list_or_text() {
    let (out, err) = run(
        "f n:n>n;m=mmap;t=mmap;@i 0..n{k=mod i 3;m=mset m k (+=(mget m k ?? []) i);t=mset t k (+(mget t k ?? \"\") \"x\")};+(len (mget m 1)) (len (mget t 2))",
        &["3000"],
    );
    assert_eq!(out, "2000");
    assert_eq!(copies(&err, "list"), (0, 0), "{err}");
    assert_eq!(copies(&err, "text").1, 0, "{err}");
    // Another holder of the map, a second read of it in the value, or a closure over
    // it: the value is read as always, and every view keeps its contents.
    for (program, want) in [
        (
            "f>t;m=mset mmap 1 [7];o=m;@i 0..3{m=mset m 1 (+=(mget m 1 ?? []) i)};fmt \"{} {}\" o m",
            "{1: [7]} {1: [7, 0, 1, 2]}",
        ),
        (
            "f>t;m=mset mmap 1 [0];m=mset m 1 (+=(mget m 1 ?? []) (len (mget m 1 ?? [])));fmt \"{}\" m",
            "{1: [0, 1]}",
        ),
        (
            "f>t;m=mset mmap 1 [0];g=(x:n>n;len (mget m 1 ?? []));m=mset m 1 (+=(mget m 1 ?? []) 5);fmt \"{} {}\" m (g 1)",
            "{1: [0, 5]} 1",
        ),
    ] {
        assert_eq!(output(program), want, "{program}");
    }
}

#[test]
fn an_update_reading_its_target_last_keeps_every_other_view() {
    assert_eq!(
        output("f>L _;m=mset mmap \"a\" 1;n=mset m \"b\" (mget m \"a\");[m n]"),
        "[{a: 1}, {a: 1; b: 1}]"
    );
    assert_eq!(
        output("f>L _;xs=[1 2];ys=lst xs 0 (+(at xs 1) 1);zs=lst ys 1 ys;[xs ys zs]"),
        "[[1, 2], [3, 2], [3, [3, 2]]]"
    );
    // An operand that rebinds the target keeps the order the program reads in.
    assert_eq!(
        output("f>t;s=\"a\";t=+s (?true{s=\"zz\";\"b\"}{\"c\"});t"),
        "ab"
    );
    // The same for `with`: the record is read before a field value that rebinds it,
    // once, and in a loop where the record is updated through `with` on itself.
    let rec = "type pt{x:n;y:n}\n";
    assert_eq!(
        output(&format!(
            "{rec}f>L n;r=pt x:1 y:2;a=r with x:(?true{{r=pt x:9 y:9;5}}{{6}});[a.x a.y r.x r.y]"
        )),
        "[5, 2, 9, 9]"
    );
    assert_eq!(
        output(&format!(
            "{rec}f>n;r=pt x:1 y:2;s=0;@i 0..10{{b=>i 2;r=r with x:(?b{{r=pt x:i y:i;1}}{{+r.x 1}});s=+s r.y}};s"
        )),
        "20"
    );
}

#[test]
fn reading_every_character_of_an_ascii_text_by_index_walks_none() {
    // `at s i`, `s.i` and `slc s i (+i 1)` find character i of an ASCII text as
    // byte i: no walk from the start per iteration (the walk counter stays at 0).
    let text = "ab".repeat(5000);
    for read in [
        "at s i",
        "s.i",
        "slc s i +i 1",
        "hd (drop i s)",
        "at (take (+i 1) s) i",
    ] {
        let f = format!("f s:t>n;c=0;@i 0..len s{{=({read}) \"a\"{{c=+c 1}}}};c");
        let (out, err) = run(&f, &[&text]);
        assert_eq!(out, "5000", "{f}");
        assert_eq!(copies(&err, "walk"), (0, 0), "{f}: {err}");
    }
}

#[test]
fn texts_with_other_characters_are_indexed_by_character() {
    // Not all ASCII: positions are characters, found by walking (and counted).
    let text = format!("é{}ü", "ab".repeat(50));
    let (out, err) = run(
        "f s:t>L _;n=0;@i 0..102{=(at s i) \"b\"{n=+n 1}};[n (at s 0) (at s 101) (at s -1) (at s 60) (slc s 99 102) (len (take 101 s))]",
        &[&text],
    );
    assert_eq!(out, "[50, é, ü, ü, b, abü, 102]");
    assert!(copies(&err, "walk").0 > 0, "{err}");
}

#[test]
fn a_text_indexed_then_changed_is_indexed_afresh() {
    // Indexing finds the text all ASCII; appending a non-ASCII character in place
    // must not leave that finding behind, nor reach another holder of the text.
    let (out, err) = run(
        "f n:n>L _;s=\"\";@i 0..n{s=+s \"a\"};a=at s 40;s=+s \"é\";b=at s 60;s=+s \"xyz\";[a b (at s 61) (at s -1) (len s)]",
        &["60"],
    );
    assert_eq!(out, "[a, é, x, z, 65]");
    // Every append was in place (the first starts from the literal, copying nothing).
    assert_eq!(copies(&err, "text").1, 0, "{err}");
    let (out, _) = run(
        "f s:t>L _;a=at s 40;t=s;s=+s \"é\";u=upr s;[a (at s 60) (at t -1) (at u 59) (at u 60) (len t)]",
        &[&"a".repeat(60)],
    );
    assert_eq!(out, "[a, é, a, A, é, 60]");
    // A one-character ASCII text read out of a text is shared: growing it leaves the
    // next read of the same character alone.
    assert_eq!(
        output("f>t;s=at \"abc\" 1;s=+s \"x\";t=at \"abc\" 1;u=\"abc\".1;fmt \"{}{}{}\" s t u"),
        "bxbb"
    );
}

#[test]
fn consuming_a_list_from_either_end_copies_no_list() {
    // `xs=tl xs`, `xs=drop 1 xs`, `xs=take -1 xs` and `xs=slc xs 1 …` on a list held
    // once drop elements where they are instead of copying the rest.
    // Taking from the front, the last element (n-1) is read every time; from the
    // back, the first (0).
    let (front, back) = (9999 * 10000 / 2 * 3, 9999 * 10000 / 2);
    for (step, want) in [
        ("tl xs", front),
        ("drop 1 xs", front),
        ("slc xs 1 (len xs)", front),
        ("take -1 xs", back),
        ("slc xs 0 -1", back),
    ] {
        let f = format!(
            "f n:n>n;xs=range 0 n;s=0;wh >(len xs) 0{{s=+s (hd xs);s=+s (at xs -1);xs={step}}};s"
        );
        let (out, err) = run(&f, &["10000"]);
        assert_eq!(out, want.to_string(), "{f}");
        assert_eq!(copies(&err, "list"), (0, 0), "{f}: {err}");
    }
    // A queue: taken from the front, appended at the back.
    let (out, err) = run(
        "f n:n>n;q=[0];s=0;@i 1..n{s=+s (hd q);q=tl q;q=+=q i};+s (len q)",
        &["10000"],
    );
    assert_eq!(out, (9998 * 9999 / 2 + 1).to_string());
    assert_eq!(copies(&err, "list"), (0, 0), "{err}");
}

#[test]
fn a_queue_grows_as_far_as_the_allocation_ceiling_allows() {
    // Growing a list taken from at the front asks for room for many pushes; under a
    // ceiling that room would pass, the push still goes through with what it needs.
    let out = Command::new(env!("CARGO_BIN_EXE_ilo"))
        .arg("--max-alloc=1000")
        .arg("f>n;q=range 0 80;q=tl q;q=+=q 0;q=+=q 0;len q")
        .output()
        .expect("spawn ilo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "81");
}

#[test]
fn a_list_consumed_in_place_leaves_other_views_alone() {
    assert_eq!(
        output("f>L _;xs=[1 2 3 4 5];ys=xs;xs=tl xs;zs=drop 2 xs;q=slc zs 0 1;[xs ys zs q (take 2 ys) (drop -2 ys) (slc ys -3 -1) (tl [9])]"),
        "[[2, 3, 4, 5], [1, 2, 3, 4, 5], [4, 5], [4], [1, 2], [4, 5], [3, 4], []]"
    );
    // Elements dropped from a list held once are released; the rest keep theirs.
    assert_eq!(
        output(
            "f>L _;m=mset mmap \"a\" 1;xs=[m m [m]];xs=tl xs;m=mset m \"b\" 2;xs=take 1 xs;[xs m]"
        ),
        "[[{a: 1}], {a: 1; b: 2}]"
    );
    let err = run_failing("f>L n;xs=[1];xs=tl xs;tl xs");
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn setting_every_element_of_a_list_copies_no_list() {
    let (out, err) = run(
        "f n:n>n;xs=range 0 n;@i 0..n{xs=lst xs i *i 2};ys=srt xs;zs=rev ys;at zs 0",
        &["10000"],
    );
    assert_eq!(out, "19998");
    assert_eq!(copies(&err, "list"), (0, 0), "{err}");
}

#[test]
fn growing_a_text_with_fmt_and_plus_copies_no_text() {
    let (out, err) = run(
        "f n:n>n;s=\"\";@i 0..n{s=fmt \"{}{},\" s i;s=+s \";\"};len s",
        &["10000"],
    );
    // 10 one-digit, 90 two-digit, 900 three-digit and 9000 four-digit numbers, each
    // followed by "," and ";".
    assert_eq!(out, (10 + 180 + 2700 + 36000 + 2 * 10000).to_string());
    assert_eq!(copies(&err, "text"), (0, 0), "{err}");
}

#[test]
fn updating_a_record_in_a_loop_copies_no_record() {
    let (out, err) = run(
        "type acc{n:n;s:n}\nf n:n>n;a=acc n:0 s:0;@i 0..n{a=a with n:+a.n 1 s:+a.s i};+a.n a.s",
        &["10000"],
    );
    assert_eq!(out, (10000 + 9999 * 10000 / 2).to_string());
    assert_eq!(copies(&err, "record"), (0, 0), "{err}");
}

#[test]
fn the_copy_counter_sees_copies_that_sharing_forces() {
    // Keeping the previous version alive forces one copy per update: the counter
    // the scaling tests rely on does see them.
    let (out, err) = run(
        "f n:n>n;old=mmap;m=mmap;@i 0..n{old=m;m=mset m (str i) i};len old",
        &["100"],
    );
    assert_eq!(out, "99");
    let (n, entries) = copies(&err, "map");
    assert_eq!(n, 100, "{err}");
    assert_eq!(entries, (0..100).sum::<u64>(), "{err}");
}

// ── case changes: `upr` and `lwr` of a handed-over text work on its own bytes ──

#[test]
fn case_changes_of_a_text_nothing_else_holds_copy_nothing() {
    // `+` copies the shared literal "ab" once; `upr` and `lwr` then change the new
    // text where it is (a mapped stream line relies on this).
    let (out, err) = run("f>t;s=+\"ab\" \"c\";s=upr s;lwr s", &[]);
    assert_eq!(out, "abc");
    assert_eq!(copies(&err, "text"), (1, 2));
}

#[test]
fn a_case_change_of_a_text_still_in_use_leaves_it_unchanged() {
    assert_eq!(
        output("f>L t;s=+\"ab\" \"c\";t=upr s;u=lwr t;[s t u]"),
        "[abc, ABC, abc]"
    );
}

/// A file of `lines` in the system's temporary directory, unique to this test.
fn lines_file(name: &str, lines: &[&str]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("ilo-inplace-{}-{name}", std::process::id()));
    std::fs::write(&path, lines.join("\n") + "\n").expect("write lines");
    path
}

#[test]
fn a_mapped_stream_reusing_its_line_objects_keeps_every_line_its_own() {
    // `map` over a stream carries each line in the previous line's result when
    // nothing else holds it; every line seen, kept, or returned as a literal must
    // still read as it did.
    let path = lines_file("reuse", &["ab", "b", "cd", "ééé", "e"]);
    let file = path.display().to_string();
    let cases = [
        ("l:t>t;l", "[ab, b, cd, ééé, e]"),
        ("l:t>t;upr l", "[AB, B, CD, ééé, E]"),
        ("l:t>t;\"k\"", "[k, k, k, k, k]"),
        ("l:t>t;?=l \"b\" \"K\" (upr l)", "[AB, K, CD, ééé, E]"),
        ("l:t>t;+l \"!\"", "[ab!, b!, cd!, ééé!, e!]"),
    ];
    for (f, want) in cases {
        let program = format!("f p:t>L t;out=[];@l (map ({f}) (for-line p)){{out=+=out l}};out");
        assert_eq!(run(&program, &[&file]).0, want, "{f}");
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_mapped_stream_takes_no_line_from_a_source_still_read_elsewhere() {
    // `map` takes lines ahead, in one lock, only from a source nothing else holds:
    // here the program still reads `s` after taking one mapped line from it.
    let path = lines_file("shared", &["a", "b", "c"]);
    let program =
        "f p:t>L t;s=for-line p;out=[];@l (take 1 (map upr s)){out=+=out l};@l s{out=+=out l};out";
    assert_eq!(run(program, &[&path.display().to_string()]).0, "[A, b, c]");
    let _ = std::fs::remove_file(path);
}

// ── loops tested once for the list they update (codegen/tested_list.rs) ──

#[test]
fn a_loop_that_only_updates_one_list_keeps_every_other_view_of_it() {
    // Shared before the loop (by a variable, a closure, a map): the list fails the
    // test made once before the loop, the ordinary version copies on the first
    // update, and every other view keeps its contents.
    assert_eq!(
        output("f>L _;xs=range 0 4;ys=xs;@i 0..4{xs=lst xs i *i 10};[ys xs]"),
        "[[0, 1, 2, 3], [0, 10, 20, 30]]"
    );
    assert_eq!(
        output("f>L n;xs=range 0 3;g=(k:n>n;at xs k);@i 0..3{xs=lst xs i 9};[(g 1) (at xs 1)]"),
        "[1, 9]"
    );
    assert_eq!(
        output(
            "f>L _;xs=range 0 2;m=mset mmap \"k\" xs;@i 0..2{xs=lst xs i 7};[(mget m \"k\") xs]"
        ),
        "[[0, 1], [7, 7]]"
    );
    // Shared during the loop: a body naming the list elsewhere is not tested once.
    assert_eq!(
        output(
            "f>L _;xs=[0 0];m=mmap;@i 0..2{xs=lst xs i 1;m=mset m (str i) xs};[xs (mget m \"0\")]"
        ),
        "[[1, 1], [1, 0]]"
    );
    assert_eq!(
        output("f>L _;xs=[0 0 0];ys=[5 5 5];@i 0..3{xs=lst xs i 1;ys=lst ys i xs};[xs ys]"),
        "[[1, 1, 1], [[1, 0, 0], [1, 1, 0], [1, 1, 1]]]"
    );
}

#[test]
fn a_loop_tested_once_takes_every_index_the_builtin_takes() {
    // Negative (through the runtime, in place, and the loop goes on), fractional
    // (floored), conditional and nested updates of the tested list.
    assert_eq!(
        output("f>L n;xs=[0 0 0 0];@i 0..4{xs=lst xs i i;xs=lst xs -1 +i 10};xs"),
        "[0, 1, 2, 13]"
    );
    assert_eq!(
        output("f>L n;xs=[1 2 3];@i 0..3{xs=lst xs (+i 0.5) 9;xs=lst xs (- 0 0.5) i};xs"),
        "[9, 9, 2]"
    );
    assert_eq!(
        output("f>L n;xs=[0 0 0 0 0 0];@i 0..6{>i 2{xs=lst xs i 1}};xs"),
        "[0, 0, 0, 1, 1, 1]"
    );
    assert_eq!(
        output("f>L n;xs=[0 0 0 0 0 0];@i 0..2{@j 0..3{xs=lst xs (+(*i 3) j) j}};xs"),
        "[0, 1, 2, 0, 1, 2]"
    );
    // A counter running past the length (the tested version is entered only when it
    // does not, and then skips the bounds test for it).
    assert_eq!(
        output("f>L n;xs=[0 0 0];@i 0..10{<i 3{xs=lst xs i 1}};xs"),
        "[1, 1, 1]"
    );
    // Out of range, NaN, and a counter below zero: the builtin's errors, with the
    // update's span. The third has the outer counter within the length and an
    // inner one past it.
    for program in [
        "f>L n;xs=[1 2 3];@i 0..4{xs=lst xs i 9};xs",
        "f>L n;xs=[1 2 3];@i -5..0{xs=lst xs i 9};xs",
        "f>L n;xs=[1 2 3];@i 0..2{xs=lst xs i 0;@j 0..4{xs=lst xs j i}};xs",
        "f>L n;xs=[1 2 3];@i 0..3{xs=lst xs (+i 1) 0};xs",
    ] {
        let e = run_failing(program);
        assert!(
            e.contains("ILO-R004") && e.contains("list index out of bounds") && e.contains("^"),
            "{program}: {e}"
        );
    }
    let e = run_failing("f>L n;xs=[1 2 3];@i 0..2{xs=lst xs (/ 0 0) 9};xs");
    assert!(e.contains("lst: expected a finite number, got NaN"), "{e}");
    // A value of unknown type that is no list fails the test and reaches the runtime.
    let e = run_failing("g x:_>_;x\nmain>_;xs=g \"abc\";@i 0..1{xs=lst xs i 1};xs");
    assert!(e.contains("lst: expected L, got t"), "{e}");
    assert_eq!(
        output("g x:_>_;x\nmain>_;xs=g [1 2];@i 0..2{xs=lst xs i \"t\"};xs"),
        "[t, t]"
    );
}

#[test]
fn a_loop_tested_once_copies_nothing_and_a_shared_list_once() {
    let (out, err) = run(
        "f n:n>n;xs=range 0 n;@i 0..n{xs=lst xs i (str i)};len xs",
        &["1000"],
    );
    assert_eq!(out, "1000");
    assert_eq!(copies(&err, "list"), (0, 0), "{err}");
    // ILO_COPY_STATS still counts the copy the ordinary version makes.
    let (out, err) = run(
        "f n:n>n;xs=range 0 n;ys=xs;@i 0..n{xs=lst xs i 1};+(len ys) (len xs)",
        &["1000"],
    );
    assert_eq!(out, "2000");
    assert_eq!(copies(&err, "list"), (1, 1000), "{err}");
}

#[test]
fn a_wh_loop_that_only_updates_one_list_is_tested_once_too() {
    assert_eq!(
        output("f>L n;xs=[0 0 0];i=0;wh <i 3{xs=lst xs i 1;i=+i 1};xs"),
        "[1, 1, 1]"
    );
    // Negative indices through the runtime, in place, inside the tested version.
    assert_eq!(
        output("f>L n;xs=[0 0 0];i=0;wh <i 3{xs=lst xs (- 0 (+i 1)) i;i=+i 1};xs"),
        "[2, 1, 0]"
    );
    // A condition naming the list: not versioned, same result.
    assert_eq!(
        output("f>L n;xs=[0 0 0];i=0;wh <i (len xs){xs=lst xs i 2;i=+i 1};xs"),
        "[2, 2, 2]"
    );
    // Shared before the loop: the ordinary version copies once, counted.
    let (out, err) = run(
        "f n:n>n;xs=range 0 n;ys=xs;i=0;wh <i n{xs=lst xs i 1;i=+i 1};+(len ys) (len xs)",
        &["100"],
    );
    assert_eq!(out, "200");
    assert_eq!(copies(&err, "list"), (1, 100), "{err}");
    let e = run_failing("f>L n;xs=[0 0 0];i=0;wh <i 4{xs=lst xs i 1;i=+i 1};xs");
    assert!(
        e.contains("ILO-R004") && e.contains("list index out of bounds"),
        "{e}"
    );
}

#[test]
fn a_for_each_loop_that_only_updates_one_list_is_tested_once_too() {
    assert_eq!(
        output("f>L t;xs=[\"a\" \"b\"];@k [0 1 0 1]{xs=lst xs k (+ \"z\" (str k))};xs"),
        "[z0, z1]"
    );
    // The list iterated is the one updated: the loop holds it, so every update
    // goes to a copy made once, and the loop sees the elements it started with.
    let (out, err) = run("f>L n;xs=[1 2 3];@x xs{xs=lst xs 0 (+x 10)};xs", &[]);
    assert_eq!(out, "[13, 2, 3]");
    assert_eq!(copies(&err, "list"), (1, 3), "{err}");
    assert_eq!(
        output("f>L _;xs=[0 0 0];ys=xs;@k [0 1 2]{xs=lst xs k 1};[xs ys]"),
        "[[1, 1, 1], [0, 0, 0]]"
    );
    let e = run_failing("f>L _;xs=[0 0 0];@k [0 5]{xs=lst xs k 1};xs");
    assert!(
        e.contains("ILO-R004") && e.contains("list index out of bounds"),
        "{e}"
    );
}

// ── a field read once by the update that replaces it moves out of the record ──

/// The three ways an update reaches its record: the loop tested once (its body
/// only updates the record), the update tested before its values (plain operators),
/// and any other update (a call among the values). `{V}` is the new value.
fn field_update_loops(value: &str) -> [String; 3] {
    [
        format!("@i 0..n{{a=a with t:{value}}}"),
        format!("k=0;@i 0..n{{a=a with t:{value};k=+k 1}}"),
        format!("@i 0..n{{a=a with t:{value} n:abs i}}"),
    ]
}

#[test]
fn appending_to_a_text_field_through_with_copies_no_text() {
    for body in field_update_loops("+a.t \"x\"") {
        let program = format!("type acc{{t:t;n:n}}\nf n:n>n;a=acc t:(str 7) n:0;{body};len a.t");
        let (out, err) = run(&program, &["10000"]);
        assert_eq!(out, "10001", "{program}");
        assert_eq!(copies(&err, "text"), (0, 0), "{program}: {err}");
    }
    // A call among the values, as in building a text from numbers.
    let (out, err) = run(
        "type acc{t:t;n:n}\nf n:n>n;a=acc t:(str 7) n:0;@i 0..n{a=a with t:+a.t (str (mod i 10))};len a.t",
        &["10000"],
    );
    assert_eq!(out, "10001");
    assert_eq!(copies(&err, "text"), (0, 0), "{err}");
}

#[test]
fn appending_to_a_list_field_through_with_copies_no_list() {
    let loops = [
        "@i 0..n{a=a with xs:+=a.xs i}",
        "k=0;@i 0..n{a=a with xs:+=a.xs i;k=+k 1}",
        "@i 0..n{a=a with xs:+=a.xs (abs i)}",
    ];
    for body in loops {
        let program = format!(
            "type bag{{xs:L n;n:n}}\nf n:n>n;a=bag xs:[] n:0;{body};+(len a.xs) (at a.xs -1)"
        );
        let (out, err) = run(&program, &["10000"]);
        assert_eq!(out, "19999", "{program}");
        assert_eq!(copies(&err, "list"), (0, 0), "{program}: {err}");
    }
}

#[test]
fn a_moved_field_never_changes_another_view_of_the_record_or_the_field() {
    let holders = [
        // The record held by another variable, a list, a closure.
        ("b=a", "b.t"),
        ("b=[a]", "(hd b).t"),
        ("g=(k:n>t;a.t)", "(g 0)"),
        // The text itself held by another variable, a list, a closure.
        ("b=a.t", "b"),
        ("b=[a.t]", "(hd b)"),
        ("s=a.t;g=(k:n>t;s)", "(g 0)"),
    ];
    for (hold, view) in holders {
        for body in field_update_loops("+a.t \"x\"") {
            let program = format!(
                "type acc{{t:t;n:n}}\nf n:n>t;a=acc t:(str 7) n:0;{hold};{body};fmt \"{{}} {{}}\" a.t {view}"
            );
            let (out, _) = run(&program, &["3"]);
            assert_eq!(out, "7xxx 7", "{program}");
        }
    }
    // Read twice in one update: nothing moves, both reads see the old text.
    for body in field_update_loops("+a.t a.t") {
        let program = format!("type acc{{t:t;n:n}}\nf n:n>t;a=acc t:(str 7) n:0;{body};a.t");
        assert_eq!(run(&program, &["3"]).0, "77777777", "{program}");
    }
    // A match on the previous statement's value (here the record itself) reads the
    // record without naming it: nothing moves.
    assert_eq!(
        run(
            "type acc{t:t;n:n}\nf n:n>t;a=acc t:(str 7) n:0;@i 0..n{a=a with n:i;a=a with t:+a.t ?{n v:\"n\";_:\"r\"}};a.t",
            &["3"]
        )
        .0,
        "7rrr"
    );
    // Read for another field, or by a nested call, while replaced.
    assert_eq!(
        output("type p{t:t;u:t}\nf>L _;a=p t:(str 1) u:(str 2);@i 0..2{a=a with t:(str i) u:+a.t \"!\"};[a.t a.u]"),
        "[1, 0!]"
    );
    assert_eq!(
        output("type p{t:t;u:t}\nf>L _;a=p t:(str 1) u:\"\";@i 0..2{a=a with t:+a.t (str (len a.u)) u:+a.u \"ab\"};[a.t a.u]"),
        "[102, abab]"
    );
}

#[test]
fn a_shared_record_or_field_is_copied_and_counted() {
    // The record kept by `old`: every update copies the record; its text then is
    // shared by both records and copied too.
    let (out, err) = run(
        "type acc{t:t;n:n}\nf n:n>t;a=acc t:(str 7) n:0;old=a;@i 0..n{old=a;a=a with t:+a.t \"x\"};fmt \"{} {}\" (len a.t) (len old.t)",
        &["100"],
    );
    assert_eq!(out, "101 100");
    assert_eq!(copies(&err, "record").0, 100, "{err}");
    assert_eq!(copies(&err, "text").0, 100, "{err}");
}

#[test]
fn an_error_after_a_field_moved_out_fails_cleanly() {
    // The update fails at its fourth iteration, after the text has grown in place:
    // the record and the text taken out of it are each released once.
    let programs = [
        "type acc{t:t;n:n}\nf>n;a=acc t:(str 7) n:0;xs=[\"a\" \"b\" \"c\"];@i 0..5{a=a with t:+a.t (at xs i)};len a.t",
        "type acc{t:t;n:n}\nf>n;a=acc t:(str 7) n:0;xs=[\"a\" \"b\" 3];@i 0..5{x=at xs i;a=a with t:+a.t x};len a.t",
        "type bag{xs:L n;n:n}\nf>n;a=bag xs:[] n:0;ys=[1 2 3];@i 0..5{a=a with xs:+=a.xs (at ys i)};len a.xs",
    ];
    for program in programs {
        let err = run_failing(program);
        assert!(
            err.contains("out of bounds") || err.contains("cannot be applied"),
            "{program}: {err}"
        );
    }
}

// ── iterating a text: a cursor per loop, never a scan from the start ──

#[test]
fn iterating_a_text_yields_each_character_as_a_text() {
    assert_eq!(output(r#"f>t;r="";@x "abc"{r=+r +x "|"};r"#), "a|b|c|");
    assert_eq!(
        output(r#"f>t;r="";@x "héllo €😀!"{r=+r +x "|"};r"#),
        "h|é|l|l|o| |€|😀|!|"
    );
    assert_eq!(
        output(r#"f>L t;ks=[];@x "aé😀"{ks=+=ks x};ks"#),
        "[a, é, 😀]"
    );
    assert_eq!(output(r#"f>n;c=0;@x ""{c=+c 1};c"#), "0");
}

#[test]
fn cnt_and_brk_inside_a_text_loop() {
    assert_eq!(
        output(r#"f>t;r="";@x "aébcdé€f"{=x "b"{cnt};=x "€"{brk};r=+r x};r"#),
        "aécdé"
    );
    // A loop left early and entered again starts from the first character.
    assert_eq!(output(r#"f>t;r="";@i 0..3{@x "éa"{r=+r x;brk}};r"#), "ééé");
}

#[test]
fn a_text_appended_to_inside_its_own_loop_is_iterated_as_it_was() {
    // The loop holds the text, so the first append copies it (once) and the loop
    // goes on reading the original characters only.
    let (out, err) = run(r#"f>t;s="aé";@x s{s=+s "y"};s"#, &[]);
    assert_eq!(out, "aéyy");
    assert_eq!(copies(&err, "text").0, 1, "{err}");
    assert_eq!(
        output(r#"f>t;s="ab";r="";@x s{s=+s x;r=+r x};fmt "{} {}" r s"#),
        "ab abab"
    );
}

// ── a map value taken out for the mset that puts it back (codegen/map_take.rs) ──

/// Grouping `n` numbers by `i mod 3` into a map of lists: the idiom the rule is for.
const GROUP_LISTS: &str = "f n:n>t;m=mmap;@i 0..n{k=str (mod i 3);xs=mget m k ?? [];m=mset m k +=xs i};fmt \"{} {}\" (len (mget m \"1\" ?? [])) (mkeys m)";

#[test]
fn grouping_into_a_map_of_lists_copies_no_list() {
    let (out, err) = run(GROUP_LISTS, &["3000"]);
    assert_eq!(out, "1000 [0, 1, 2]");
    assert_eq!(copies(&err, "list"), (0, 0), "{err}");
    assert_eq!(copies(&err, "map"), (0, 0), "{err}");
    // The lists hold every number in order, under the keys in the map's own order.
    assert_eq!(
        output("f>t;m=mmap;@i 0..7{k=mod i 3;xs=mget m k ?? [];m=mset m k +=xs i};fmt \"{}\" m"),
        "{0: [0, 3, 6]; 1: [1, 4]; 2: [2, 5]}"
    );
}

#[test]
fn grouping_into_a_map_of_texts_copies_no_text_it_built() {
    let (out, err) = run(
        "f n:n>t;m=mmap;@i 0..n{k=str (mod i 3);s=mget m k ?? \"\";m=mset m k +s \"x\"};fmt \"{} {}\" (len (mget m \"1\" ?? \"\")) (mkeys m)",
        &["3000"],
    );
    assert_eq!(out, "1000 [0, 1, 2]");
    // Only the empty default of each key's first append is copied: no byte at all.
    assert_eq!(copies(&err, "text").1, 0, "{err}");
}

#[test]
fn a_map_shared_before_or_during_the_loop_keeps_both_views() {
    let cases = [
        // Another variable, before the loop.
        (
            "f>t;m=mset mmap \"a\" [1];c=m;@i 0..2{xs=mget m \"a\" ?? [];m=mset m \"a\" +=xs i};fmt \"{} {}\" m c",
            "{a: [1, 0, 1]} {a: [1]}",
        ),
        // A list holding the map, made in the loop before the read.
        (
            "f>t;m=mset mmap \"a\" [1];l=[];@i 0..2{l=+=l m;xs=mget m \"a\" ?? [];m=mset m \"a\" +=xs i};fmt \"{} {}\" m l",
            "{a: [1, 0, 1]} [{a: [1]}, {a: [1, 0]}]",
        ),
        // A closure capturing the map.
        (
            "f>t;m=mset mmap \"a\" [1];g=(x:n>n;len (mget m \"a\" ?? []));@i 0..2{xs=mget m \"a\" ?? [];m=mset m \"a\" +=xs i};fmt \"{} {}\" m (g 0)",
            "{a: [1, 0, 1]} 1",
        ),
        // The caller's map, still used by the caller after the call.
        (
            "add m:M t L n>M t L n;xs=mget m \"a\" ?? [];m=mset m \"a\" +=xs 9;m\nmain>t;m=mset mmap \"a\" [1];n=add m;fmt \"{} {}\" n m",
            "{a: [1, 9]} {a: [1]}",
        ),
    ];
    for (program, want) in cases {
        assert_eq!(output(program), want, "{program}");
    }
}

#[test]
fn a_key_absent_from_the_map_reads_nil_as_always() {
    assert_eq!(
        output(
            "f>t;m=mset mmap \"b\" [5];xs=mget m \"a\" ?? [];m=mset m \"a\" +=xs 1;fmt \"{}\" m"
        ),
        "{a: [1]; b: [5]}"
    );
    assert_eq!(
        output("f>t;m=mmap;x=mget m 3;m=mset m 3 (?=x nil \"none\" \"some\");fmt \"{}\" m"),
        "{3: none}"
    );
}

#[test]
fn a_map_named_or_left_between_the_read_and_the_mset_is_read_as_always() {
    // Reading the map between, or a `cnt` skipping the mset: the read must not take.
    assert_eq!(
        output("f>t;m=mmap;@i 0..6{k=mod i 2;xs=mget m k ?? [];n=len m;m=mset m k +=xs n};fmt \"{}\" m"),
        "{0: [0, 2, 2]; 1: [1, 2, 2]}"
    );
    assert_eq!(
        output("f>t;m=mmap;@i 0..6{k=mod i 2;xs=mget m k ?? [];=i 3{cnt};m=mset m k +=xs i};fmt \"{}\" m"),
        "{0: [0, 2, 4]; 1: [1, 5]}"
    );
    assert_eq!(
        output("f>t;m=mmap;@i 0..6{k=mod i 2;xs=mget m k ?? [];=i 3{brk};m=mset m k +=xs i};fmt \"{}\" m"),
        "{0: [0, 2]; 1: [1]}"
    );
    // The key rebound between: the mset names another entry.
    assert_eq!(
        output("f>t;m=mset mmap 1 [7];k=1;xs=mget m k ?? [];k=2;m=mset m k +=xs 8;fmt \"{}\" m"),
        "{1: [7]; 2: [7, 8]}"
    );
}

#[test]
fn a_number_key_is_compared_as_the_map_compares_it() {
    // 1.5 floors to the entry 1 in both the read and the mset.
    let (out, err) = run(
        "f>t;m=mset mmap 1 [0];@i 0..3{k=1.5;xs=mget m k ?? [];m=mset m k +=xs i};fmt \"{}\" m",
        &[],
    );
    assert_eq!(out, "{1: [0, 0, 1, 2]}");
    assert_eq!(copies(&err, "list").0, 0, "{err}");
}

#[test]
fn an_error_between_the_take_and_the_mset_fails_cleanly() {
    let err = run_failing(
        "f>t;m=mmap;ys=[0 1];@i 0..9{k=mod i 2;xs=mget m k ?? [];z=at ys (?=i 6 5 0);m=mset m k +=xs z};fmt \"{}\" m",
    );
    assert!(err.contains("out of bounds"), "{err}");
}
