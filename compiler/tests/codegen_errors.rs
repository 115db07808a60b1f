//! Runtime errors from compiled code: codes, messages, and the span of the failing
//! operation; unbounded recursion ends in ILO-R006 instead of a crash.

mod codegen_support;

use codegen_support::{failing_text, output};

#[test]
fn errors_carry_the_span_of_the_failing_operation() {
    assert_eq!(failing_text("f>n;mod 7 0", &[]), "mod 7 0");
    assert_eq!(failing_text("f>n;xs=[1 2];xs.5", &[]), "xs.5");
    assert_eq!(failing_text("f>n;x=1;hd []", &[]), "hd []");
    assert_eq!(failing_text("f>n;num!! \"zz\"", &[]), "num!! \"zz\"");
}

#[test]
fn the_innermost_failing_call_wins() {
    let code = "g x:n>n;mod x 0\nmain>n;+1 (g 3)";
    assert_eq!(failing_text(code, &[]), "mod x 0");
    assert_eq!(output(code, &[]), "ILO-R004: modulo by zero");
}

#[test]
fn errors_inside_lambdas_called_by_builtins_keep_their_span() {
    let code = "f>L n;map (x:n>n;mod x 0) [1 2]";
    assert_eq!(failing_text(code, &[]), "mod x 0");
}

#[test]
fn unbounded_recursion_is_r006_not_a_crash() {
    let code = "f n:n>n;r=f +n 1;+r 1";
    let out = output(code, &["0"]);
    assert!(out.starts_with("ILO-R006"), "got {out}");
}

#[test]
fn deep_finite_recursion_works_on_the_big_stack() {
    let code = "f n:n>n;<=n 0 0;r=f -n 1;+r 1";
    assert_eq!(output(code, &["100000"]), "100000");
}

#[test]
fn strict_field_access_on_missing_field_is_r005_and_safe_access_is_nil() {
    let code = "f>R _ t;x=jpar! \"{\\\"a\\\":1}\";~x.b";
    assert!(
        output(code, &[]).starts_with("ILO-R005"),
        "{}",
        output(code, &[])
    );
    let code = "f>R _ t;x=jpar! \"{\\\"a\\\":1}\";y=x.?b??\"none\";~y";
    assert_eq!(output(code, &[]), "none");
}

#[test]
fn panic_unwrap_on_nil() {
    let code = "f>n;m=mset mmap \"k\" 7;mget!! m \"q\"";
    assert_eq!(
        output(code, &[]),
        "ILO-R009: panic-unwrap: expected value, got nil"
    );
    let code = "f>n;m=mset mmap \"k\" 7;mget!! m \"k\"";
    assert_eq!(output(code, &[]), "7");
}

#[test]
fn propagate_returns_err_and_nil_from_the_enclosing_function() {
    let code = "inner x:n>R n t;>x 0 ~x;^\"neg\"\nmain x:n>R n t;d=inner! x;~+d 1";
    assert_eq!(output(code, &["2"]), "3");
    assert_eq!(output(code, &["-2"]), "^neg");
    let code = "g k:t>O n;m=mset mmap \"a\" 1;mget m k\nmain k:t>O n;v=g! k;+v 10";
    assert_eq!(output(code, &["a"]), "11");
    assert_eq!(output(code, &["b"]), "nil");
}
