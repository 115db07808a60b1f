//! A value of unknown type (`_`, a type variable, an optional) can never be used as a
//! kind the generated code relies on (a number in an f64 register, a bool or nil held
//! without a reference, a record of a declared type, or a container of those). Where
//! such a value enters a typed place, it is checked: a wrong kind stops the program
//! with ILO-R001 and exit 1 instead of being computed with.
//!
//! Each failing program here printed its input back (or a wrong answer) with exit 0
//! before those checks existed. Everything runs through the real `ilo` binary; stderr
//! is not a terminal, so diagnostics arrive as JSON.

#[path = "support/httpd.rs"]
mod support;

use std::process::{Command, Output};
use std::time::Duration;

use support::{handler_dir, Server};

fn ilo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ilo"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("spawn ilo")
}

/// A program in a temporary file, run with `args`.
fn ilo_file(program: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("prog.ilo");
    std::fs::write(&path, program).expect("write program");
    let mut all = vec![path.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    ilo(&all)
}

/// `out` failed at run time with ILO-R001 saying `message`, on source line `line`,
/// and printed nothing on stdout.
fn assert_type_error(out: &Output, message: &str, line: u32) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected a runtime error; stdout {stdout:?}, stderr {stderr:?}"
    );
    assert!(stdout.trim().is_empty(), "printed {stdout:?}");
    assert!(
        stderr.contains(r#""code":"ILO-R001""#),
        "not ILO-R001: {stderr}"
    );
    assert!(
        stderr.contains(&format!(r#""message":"{message}""#)),
        "message is not {message:?}: {stderr}"
    );
    assert!(
        stderr.contains(&format!(r#""line":{line},"#)),
        "not pointing at line {line}: {stderr}"
    );
}

fn assert_prints(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "failed: {stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);
}

// ── the programs of the report ──

#[test]
fn a_text_passed_through_a_dynamic_parameter_into_a_number_parameter() {
    let program = "f x:n>n;+x 1\ng y:_>n;f y";
    assert_type_error(
        &ilo(&[program, "g", "hello"]),
        "argument 1 of 'f': expected n, got t",
        2,
    );
    assert_prints(&ilo(&[program, "g", "41"]), "42");
}

#[test]
fn a_dynamic_value_stored_in_a_number_field_of_a_record() {
    for op in ["+a.n 1", "*a.n 2"] {
        let program = format!("type acc{{n:n;s:n}}\nf x:_>n;a=acc n:x s:0;{op}\n");
        assert_type_error(
            &ilo_file(&program, &["f", "hello"]),
            "field 'n' of 'acc': expected n, got t",
            2,
        );
    }
    let program = "type acc{n:n;s:n}\nf x:_>n;a=acc n:x s:0;*a.n 2\n";
    assert_prints(&ilo_file(program, &["f", "21"]), "42");
}

#[test]
fn an_operator_on_a_list_element_of_unknown_type_still_fails_at_the_operator() {
    let out = ilo(&["f x:_>n;xs=[x];s=0;@v xs{s=+s v};s", "hello"]);
    assert_type_error(&out, "'+' cannot be applied to n and t", 1);
}

// ── every other way in ──

#[test]
fn a_dynamic_value_given_to_a_number_field_by_with() {
    let program = "type acc{n:n;s:n}\nf x:_>n;a=acc n:0 s:0;b=a with n:x;+b.n 1\n";
    assert_type_error(
        &ilo_file(program, &["f", "hello"]),
        "field 'n' of 'acc': expected n, got t",
        2,
    );
    assert_prints(&ilo_file(program, &["f", "1"]), "2");
}

#[test]
fn with_on_a_value_of_unknown_type_cannot_put_a_text_in_a_number_field() {
    // `w` updates whatever record it is given; an `acc` must keep a number in `n`,
    // an `oth` may hold a text there.
    let program = "type acc{n:n;s:n}\ntype oth{n:t}\ng a:acc>n;+a.n 1\nw y:_ v:_>_;y with n:v\n\
                   f x:_>n;a=acc n:0 s:0;b=w a x;g b\nh x:_>t;o=oth n:\"a\";b=w o x;b.n\n";
    assert_type_error(
        &ilo_file(program, &["f", "hello"]),
        "field 'n' of 'acc': expected n, got t",
        4,
    );
    assert_prints(&ilo_file(program, &["f", "4"]), "5");
    assert_prints(&ilo_file(program, &["h", "hello"]), "hello");
}

#[test]
fn a_function_declared_to_return_a_number_returning_a_dynamic_value() {
    // Checked where a compiled caller receives it: the call on line 2.
    let body_value = "g y:_>n;y\nh y:_>n;+(g y) 1";
    assert_type_error(
        &ilo(&[body_value, "h", "hello"]),
        "result of 'g': expected n, got t",
        2,
    );
    let ret = "g y:_>n;ret y\nh y:_>n;+(g y) 1";
    assert_type_error(
        &ilo(&[ret, "h", "hello"]),
        "result of 'g': expected n, got t",
        2,
    );
    let guard = "g y:_>n;>1 0 y;0\nh y:_>n;+(g y) 1";
    assert_type_error(
        &ilo(&[guard, "h", "hello"]),
        "result of 'g': expected n, got t",
        2,
    );
    assert_prints(&ilo(&[guard, "h", "4"]), "5");
}

#[test]
fn an_entry_function_result_is_printed_whatever_its_declared_type() {
    // Upstream checks no result; nothing computes with it, the command prints it.
    assert_prints(&ilo(&["g y:_>n;y", "g", "hello"]), "hello");
}

#[test]
fn a_lambda_returning_a_dynamic_value_where_it_declared_a_number() {
    // `map` types its result from the lambda's declared `n`.
    let program = "g y:_>n;xs=map (x:_>n;x) [y];s=0;@v xs{s=+s v};s";
    assert_type_error(
        &ilo(&[program, "g", "hello"]),
        "lambda result: expected n, got t",
        1,
    );
    assert_prints(&ilo(&[program, "g", "3"]), "3");
}

#[test]
fn a_missing_optional_given_to_a_number_parameter() {
    let program = "f x:n>n;+x 1\ng>n;m=mmap;f (mget m \"k\")";
    assert_type_error(
        &ilo(&[program, "g"]),
        "argument 1 of 'f': expected n, got nil",
        2,
    );
    // `??` turns the optional into a number first: fine.
    assert_prints(
        &ilo(&["f x:n>n;+x 1\ng>n;m=mmap;f (??(mget m \"k\") 9)", "g"]),
        "10",
    );
}

#[test]
fn a_list_of_unknown_elements_given_to_a_list_of_numbers() {
    let program = "f xs:L n>n;s=0;@v xs{s=+s v};s\ng y:_>n;f [y 1]";
    assert_type_error(
        &ilo(&[program, "g", "hello"]),
        "argument 1 of 'f': expected L n, got L holding t",
        2,
    );
    assert_prints(&ilo(&[program, "g", "2"]), "3");
}

#[test]
fn a_map_of_unknown_values_given_to_a_map_of_numbers() {
    let program = "f m:M t n>n;s=0;@v mvals m{s=+s v};s\ng y:_>n;m=mset mmap \"a\" y;f m";
    assert_type_error(
        &ilo(&[program, "g", "hello"]),
        "argument 1 of 'f': expected M t n, got M holding t",
        2,
    );
    assert_prints(&ilo(&[program, "g", "2"]), "2");
}

#[test]
fn a_result_holding_an_unknown_value_given_to_a_result_of_a_number() {
    let program = "f r:R n t>n;?r{~v:+v 1;^e:0}\ng y:_>n;f (~y)";
    assert_type_error(
        &ilo(&[program, "g", "hello"]),
        "argument 1 of 'f': expected R n t, got R holding t",
        2,
    );
    assert_prints(&ilo(&[program, "g", "1"]), "2");
}

#[test]
fn a_dynamic_value_given_to_a_bool_parameter() {
    let program = "f b:b>t;?b{\"yes\"}{\"no\"}\ng y:_>t;f y";
    assert_type_error(
        &ilo(&[program, "g", "hello"]),
        "argument 1 of 'f': expected b, got t",
        2,
    );
    assert_prints(&ilo(&[program, "g", "true"]), "yes");
}

#[test]
fn a_record_of_another_type_given_to_a_record_parameter() {
    let program =
        "type acc{n:n}\ntype oth{n:t}\nf a:acc>n;+a.n 1\ng y:_>n;f y\nh>n;g (oth n:\"hi\")";
    assert_type_error(
        &ilo(&[program, "h"]),
        "argument 1 of 'f': expected acc, got oth",
        4,
    );
    let fine = "type acc{n:n}\nf a:acc>n;+a.n 1\ng y:_>n;f y\nh>n;g (acc n:1)";
    assert_prints(&ilo(&[fine, "h"]), "2");
}

#[test]
fn a_lambda_called_by_a_builtin_with_elements_of_unknown_type() {
    let program = "g y:_>L n;map (x:n>n;+x 1) [y 2]";
    assert_type_error(
        &ilo(&[program, "g", "hello"]),
        "lambda parameter 'x': expected n, got t",
        1,
    );
    assert_prints(&ilo(&[program, "g", "1"]), "[2, 3]");
}

#[test]
fn a_named_function_used_as_a_value_checks_its_parameters() {
    let program = "k x:n>n;+x 1\ng y:_>L n;map k [y]";
    assert_type_error(
        &ilo(&[program, "g", "hello"]),
        "parameter 'x' of 'k': expected n, got t",
        1,
    );
    assert_prints(&ilo(&[program, "g", "1"]), "[2]");
}

#[test]
fn a_function_value_whose_result_is_not_what_its_type_says() {
    // `h` returns a text; `ap` was promised `F n n`.
    let called = "ap f:F n n x:n>n;+(f x) 1\nh y:_>_;\"hi\"\nm>n;ap h 5";
    assert_type_error(&ilo(&[called, "m"]), "result of 'f': expected n, got t", 1);
    let mapped =
        "ap f:F n n xs:L n>n;ys=map f xs;s=0;@v ys{s=+s v};s\nh y:_>_;\"hi\"\nm>n;ap h [1 2]";
    assert_type_error(
        &ilo(&[mapped, "m"]),
        "result of 'map': expected L n, got L holding t",
        1,
    );
    let fine = "ap f:F n n xs:L n>n;ys=map f xs;s=0;@v ys{s=+s v};s\nh y:_>_;*y 2\nm>n;ap h [1 2]";
    assert_prints(&ilo(&[fine, "m"]), "6");
}

#[test]
fn a_handler_declaring_a_number_parameter_is_not_given_the_request_as_one() {
    // The server hands its handler the request record whatever the handler declared.
    let dir = handler_dir(&[("h.ilo", "handler r:n>t;str +r 1\n")]);
    let file = dir.path().join("h.ilo");
    let server = Server::start(&[file.to_str().expect("utf-8 path")]);
    let r = server.get("/x");
    assert_eq!(r.status, 500, "{}", r.text());
    let logged = server
        .wait_log("ILO-R001", Duration::from_secs(5))
        .expect("the type error is logged");
    assert!(
        logged.contains("parameter 'r' of 'handler': expected n, got "),
        "{logged}"
    );
}

// ── well-typed programs are unaffected ──

#[test]
fn well_typed_programs_keep_working() {
    assert_prints(
        &ilo(&["fib n:n>n;<n 2 n;+(fib -n 1) (fib -n 2)", "fib", "20"]),
        "6765",
    );
    assert_prints(&ilo(&["f x:O n>n;??x 0\ng>n;f nil", "g"]), "0");
    assert_prints(
        &ilo(&["f xs:L n>n;s=0;@v xs{s=+s v};s\ng>n;f [1 2 3]", "g"]),
        "6",
    );
    // Texts are not relied on: a text parameter given a number is the business of the
    // operation using it, as upstream.
    let out = ilo(&["f s:t>n;len s\ng y:_>n;f y", "g", "12"]);
    assert_type_error(&out, "len: expected t, L or M, got n", 1);
}
