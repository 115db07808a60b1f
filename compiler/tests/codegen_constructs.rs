//! Every statement and expression form, compiled and run.

mod codegen_support;

use codegen_support::check_outputs;

fn check(cases: &[(&str, &[&str], &str)]) {
    check_outputs(cases);
}

#[test]
fn bindings_and_rebinding() {
    check(&[
        ("f>n;x=1;x=+x 1;x=*x 10;x", &[], "20"),
        ("f>n;x=5", &[], "5"),
        ("f n:n>n;x=0;=n 6{x=3}{x=10};x", &["6"], "3"),
        ("f n:n>n;x=0;=n 6{x=3}{x=10};x", &["7"], "10"),
        ("f n:t>t;x=\"a\";=n \"q\"{x=\"b\"}{x=\"c\"};x", &["q"], "b"),
        ("f>t;x=\"a\";y=x;x=+x \"b\";+x y", &[], "aba"),
        ("f>L n;xs=[1];ys=xs;xs=+=xs 2;+xs ys", &[], "[1, 2, 1]"),
        ("f>t;s=\"\";@i 0..3{s=+s \"ab\"};s", &[], "ababab"),
        ("f>t;s=\"x\";s=+s s;s=+s s;s", &[], "xxxx"),
        ("f>L n;xs=[1];xs=+=xs 2;xs=+xs xs;xs", &[], "[1, 2, 1, 2]"),
        (
            "type p{a:n;b:t}⏎f>t;{a;b}=p a:4 b:\"z\";fmt \"{}{}\" b a",
            &[],
            "z4",
        ),
        (
            "type r{a:_;b:t}⏎f>t;a=r a:\"x\" b:\"y\";{a;b}=a;+a b",
            &[],
            "xy",
        ),
    ]);
}

#[test]
fn guards_conditionals_and_ternaries() {
    check(&[
        (
            "f x:n>t;=x 1 \"one\";!=x 2 \"not two\";\"two\"",
            &["1"],
            "one",
        ),
        (
            "f x:n>t;=x 1 \"one\";!=x 2 \"not two\";\"two\"",
            &["3"],
            "not two",
        ),
        (
            "f x:n>t;=x 1 \"one\";!=x 2 \"not two\";\"two\"",
            &["2"],
            "two",
        ),
        ("f x:n>n;=x 1{99};0", &["1"], "0"),
        ("f x:n>n;=x 1{ret 99};0", &["1"], "99"),
        ("f x:n>n;y=0;!>x 5{y=1};y", &["3"], "1"),
        ("f x:n>n;y=0;!>x 5{y=1};y", &["7"], "0"),
        ("f x:n>t;!=x 1{\"not one\"}{\"one\"}", &["1"], "one"),
        ("f h:b>n;?h{1}{0}", &["false"], "0"),
        ("f x:n>n;v=?>x 100 1 0;v", &["101"], "1"),
        ("f x:n>t;c=>x 0;?c{\"pos\"}{\"nonpos\"}", &["-1"], "nonpos"),
        ("f x:n>n;=x 0{10}{20};+x 1", &["0"], "1"),
    ]);
}

#[test]
fn logic_short_circuits() {
    check(&[
        ("f>b;&true false", &[], "false"),
        ("f>b;|true (=(mod 1 0) 0)", &[], "true"),
        ("f>b;&false (=(mod 1 0) 0)", &[], "false"),
        ("f>b;!false", &[], "true"),
        ("f x:t>b;!x", &[""], "true"),
        ("f>b;=\"a\" \"a\"", &[], "true"),
        ("f>b;<\"a\" \"b\"", &[], "true"),
        ("f>b;=[1 2] [1 2]", &[], "true"),
    ]);
}

#[test]
fn match_every_pattern() {
    let kind =
        "f x:_>t;?x{n v:\"num\";t v:\"text\";b v:\"bool\";l v:\"list\";nil:\"nil\";_:\"other\"}";
    check(&[
        (kind, &["abc"], "text"),
        ("f>t;?true{true:\"t\";false:\"f\"}", &[], "t"),
        (
            "f>t;x=[1];?x{n v:\"num\";l v:\"list\";_:\"other\"}",
            &[],
            "list",
        ),
        ("f>t;x=nil;?x{nil:\"none\";_:\"some\"}", &[], "none"),
        ("f>n;?7{n v:+v 1;_:0}", &[], "8"),
        (
            "f>t;r=^\"boom\";?r{~v:\"ok\";^e:+\"err \" e}",
            &[],
            "err boom",
        ),
        ("f x:t>n;?x{\"a\":1;\"b\":2;_:3}", &["b"], "2"),
        ("f x:t>n;?x{\"a\":1;\"b\":2;_:3}", &["zz"], "3"),
        ("f x:n>t;?x{1:\"one\"}", &["5"], "nil"),
        ("f>n;num \"41\";?{~v:+v 1;^e:0}", &[], "42"),
        ("f>n;r=num \"x\";?{~v:+v 1;^e:0}", &[], "0"),
        ("f>t;?3{_:\"any\"}", &[], "any"),
    ]);
}

#[test]
fn loops() {
    check(&[
        ("f n:n>n;s=0;@i 0..n{s=+s i};s", &["5"], "10"),
        ("f>n;s=0;@i +1 1..5{s=+s i};s", &[], "9"),
        ("f>n;s=0;@i 0..10{>=i 3{brk};s=+s i};s", &[], "3"),
        ("f>n;s=0;@i 0..5{=i 2{cnt};s=+s i};s", &[], "8"),
        ("f xs:L n>n;@x xs{>=x 10{ret x}};0", &["1,12,30"], "12"),
        ("f xs:L n>n;@x xs{>=x 10{ret x}};0", &["1,2"], "0"),
        (
            "f>t;s=\"\";@w [\"a\" \"b\" \"c\"]{=w \"c\"{brk};s=+s w};s",
            &[],
            "ab",
        ),
        ("f>n;i=0;s=0;wh <i 5{i=+i 1;s=+s i};s", &[], "15"),
        ("f>n;i=0;wh true{i=+i 1;>=i 3{ret i}};0", &[], "3"),
        ("f>n;t=0;@i 0..3{@j 0..3{=j 1{brk};t=+t 1}};t", &[], "3"),
        ("f>L n;xs=[];@x [3 1 2]{xs=+=xs *x 2};xs", &[], "[6, 2, 4]"),
    ]);
}

/// `@x xs` reads a list's elements in place (each retained for the body) and goes
/// through the runtime for texts, maps and values of unknown type.
#[test]
fn for_each_reads_lists_in_place_and_the_rest_through_the_runtime() {
    check(&[
        ("f>t;s=\"\";@w [\"a\" \"b\" \"c\"]{s=+s w};s", &[], "abc"),
        (
            "f>L _;xs=[[1] [2]];out=[];@x xs{out=+=out (+=x 9)};[xs out]",
            &[],
            "[[[1], [2]], [[1, 9], [2, 9]]]",
        ),
        ("f>n;s=0;@x []{s=+s 1};s", &[], "0"),
        ("f>t;s=\"\";@c \"héllo\"{s=+s c};s", &[], "héllo"),
        (
            "f>L _;m=mset mmap \"b\" 1;m=mset m \"a\" 2;ks=[];@k m{ks=+=ks k};ks",
            &[],
            "[a, b]",
        ),
        ("f>n;s=0;@x (g [1 2 3]){s=+s x};s\ng x:_>_;x", &[], "6"),
    ]);
}

/// A range from a constant integer counts in an integer register (see
/// `codegen/range_loop.rs`); these are the bounds where that could go wrong.
#[test]
fn range_loops_count_as_the_language_does() {
    check(&[
        (
            "f n:n>L n;xs=[];@i 0..n{xs=+=xs i};xs",
            &["2.5"],
            "[0, 1, 2]",
        ),
        ("f n:n>L n;xs=[];@i 0..n{xs=+=xs i};xs", &["-1"], "[]"),
        ("f n:n>L n;xs=[];@i 0..n{xs=+=xs i};xs", &["0"], "[]"),
        ("f>L n;xs=[];@i -3..0{xs=+=xs i};xs", &[], "[-3, -2, -1]"),
        ("f>n;s=0;@i -2..-0.5{s=+s 1};s", &[], "2"),
        ("f>n;z=0;s=0;@i 0../z z{s=+s 1};s", &[], "0"),
        ("f>n;s=0;@i 0..1e19{>=i 3{brk};s=+s 1};s", &[], "3"),
        ("f>n;s=0;@i 0..1e300{>=i 3{brk};s=+s 1};s", &[], "3"),
        (
            "f a:n>L n;xs=[];@i a..3{xs=+=xs i};xs",
            &["0.5"],
            "[0.5, 1.5, 2.5]",
        ),
        ("f>n;s=0;@i 0..3{i=+i 10;s=+s i};s", &[], "33"),
    ]);
}

#[test]
fn records_lists_results() {
    check(&[
        ("type pt{x:n;y:n}⏎f>n;p=pt y:2 x:1;-p.x p.y", &[], "-1"),
        (
            "type pt{x:n;y:n}⏎f>pt;p=pt x:1 y:2;p with x:9",
            &[],
            "pt {x: 9, y: 2}",
        ),
        (
            "type pt{x:n;y:n}⏎f>L pt;[(pt x:1 y:2) (pt x:3 y:4)]",
            &[],
            "[pt {x: 1, y: 2}, pt {x: 3, y: 4}]",
        ),
        ("type w{v:n}⏎type o{i:w}⏎f>n;a=o i:(w v:7);a.i.v", &[], "7"),
        ("f>n;xs=[[1 2] [3 4]];xs.1.0", &[], "3"),
        ("f>R n t;~+1 2", &[], "3"),
        ("f>L _;[~1 ^\"e\" nil]", &[], "[~1, ^e, nil]"),
        ("f>n;x=nil;y=x??5;+y 1", &[], "6"),
        ("f>n;x=3;y=x??5;+y 1", &[], "4"),
    ]);
}

#[test]
fn functions_lambdas_and_closures() {
    check(&[
        ("dbl x:n>n;*x 2⏎main>L n;map dbl [1 2]", &[], "[2, 4]"),
        ("main>L t;map str [1 2]", &[], "[1, 2]"),
        ("mk n:n>F n n;(x:n>n;+x n)⏎main>n;g=mk 5;g 10", &[], "15"),
        ("ap f:F n n x:n>n;f x⏎main>n;ap (x:n>n;*x 3) 4", &[], "12"),
        (
            "main>L t;p=\"<\";map (s:t>t;+p s) [\"a\" \"b\"]",
            &[],
            "[<a, <b]",
        ),
        (
            "main>L n;k=2;map (x:n>n;fld (a:n y:n>n;+a *y k) [x x] 0) [1 2]",
            &[],
            "[4, 8]",
        ),
        ("sq x:n>n;*x x⏎main>n;f=sq;f 9", &[], "81"),
        ("main>n;xs=[1 2 3];fld (a:n x:n>n;+a x) xs 0", &[], "6"),
    ]);
}

#[test]
fn one_program_serves_many_threads() {
    let (prog, _) = codegen_support::compile("f n:n>t;s=\"\";@i 0..n{s=+s \"x\"};s");
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|k| {
                let prog = &prog;
                scope.spawn(move || {
                    for _ in 0..200 {
                        let v = prog
                            .call("f", &[ilo_runtime::Value::num(k as f64)])
                            .expect("runs");
                        assert_eq!(v.to_string(), "x".repeat(k));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread ok");
        }
    });
}

/// Where the verifier knows values are numbers, loops and arithmetic stay in f64
/// registers: the only calls in the function are the stack-limit report (on entry and
/// on each loop's back edge, where a cancelled handler stops) and, after the back
/// edges' reports, the one that attaches the loop's source span.
#[test]
fn numeric_loops_make_no_runtime_calls() {
    let code = "f n:n>n;i=0;s=0;wh <i n{s=+s *i 2;i=+i 1};@j 0..n{s=-s j};s";
    let loaded = ilo_compiler::loader::load_inline(code);
    let checked = ilo_compiler::verify::verify(loaded.program.expect("parses")).expect("verifies");
    let clif = ilo_compiler::codegen::JitProgram::clif(&checked, "f").expect("compiles");
    let callees: Vec<&str> = clif
        .lines()
        .filter(|l| l.trim().starts_with("fn"))
        .collect();
    assert_eq!(callees.len(), 2, "unexpected callees:\n{clif}");
    let reports = clif.lines().filter(|l| l.contains("= call fn0()")).count();
    assert_eq!(reports, 3, "one entry guard, two back edges:\n{clif}");
    assert!(clif.contains("fadd") && clif.contains("fcmp"), "{clif}");
    assert_eq!(codegen_support::output(code, &["4"]), "6");
}
