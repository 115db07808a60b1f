//! Observed upstream programs run through the JIT: the printed value (or runtime
//! error) must match the upstream binary's output.

mod codegen_support;

use codegen_support::check_outputs;

/// (program with ⏎ for newlines, arguments, expected output)
const CASES: &[(&str, &[&str], &str)] = &[
    ("f>n;+1 2", &[], "3"),
    ("f>n;/7 2", &[], "3.5"),
    ("f>n;/1 0", &[], "inf"),
    ("f>n;*0.1 3", &[], "0.30000000000000004"),
    ("f>n;-0.5", &[], "-0.5"),
    ("f>n;1 + 2 * 3", &[], "7"),
    ("f>n;+*2 3 4", &[], "10"),
    ("f>n;*2 +3 4", &[], "14"),
    ("f>n;- 0 5", &[], "-5"),
    ("f>t;+\"a\" \"b\"", &[], "ab"),
    ("f>L n;[1 2 3]", &[], "[1, 2, 3]"),
    ("f>L _;[1 \"a\" true nil]", &[], "[1, a, true, nil]"),
    ("f>L (L n);[[1 2] [3]]", &[], "[[1, 2], [3]]"),
    ("f>L n;+=[1] 2", &[], "[1, 2]"),
    ("f>L n;+[1] [2]", &[], "[1, 2]"),
    ("f>n;xs=[3 1 2];srt xs>>hd", &[], "1"),
    (
        "f>n;xs=[1 2];xs.5",
        &[],
        "ILO-R004: list index out of bounds",
    ),
    ("f>n;hd []", &[], "ILO-R004: hd: empty list"),
    ("type pt{x:n;y:n}⏎f>pt;pt x:1 y:2", &[], "pt {x: 1, y: 2}"),
    (
        "type pt{x:n;y:n}⏎f>n;p=pt x:1 y:2;q=p with y:5;+q.x q.y",
        &[],
        "6",
    ),
    ("f>R n t;~5", &[], "5"),
    ("f>R n t;^\"bad\"", &[], "^bad"),
    ("f>O n;nil", &[], "nil"),
    ("f>t;x=nil;x??\"d\"", &[], "d"),
    ("f>n;r=num \"12\";?r{~v:v;^e:0}", &[], "12"),
    ("f>R n t;v=num! \"zz\";~v", &[], "^zz"),
    ("f>n;num!! \"zz\"", &[], "ILO-R009: panic-unwrap: zz"),
    ("f>n;mod 7 0", &[], "ILO-R004: modulo by zero"),
    ("fac n:n>n;<=n 1 1;r=fac -n 1;*n r⏎main>n;fac 5", &[], "120"),
    (
        "fib n:n>n;<=n 1 n;a=fib -n 1;b=fib -n 2;+a b⏎main>n;fib 20",
        &[],
        "6765",
    ),
    ("f>n;x=0;@i 0..5{x=+x i};x", &[], "10"),
    ("f>t;x=5;>x 3{\"big\"}{\"small\"}", &[], "big"),
    ("f x:n>t;?x{1:\"one\";2:\"two\";_:\"many\"}", &["2"], "two"),
    ("f>n;i=0;wh true{i=+i 1;>=i 3{brk}};i", &[], "3"),
    ("f>n;i=0;s=0;wh <i 5{i=+i 1;>=i 3{cnt};s=+s i};s", &[], "3"),
    ("f x:n>n;>x 0{ret x};-x", &["-3"], "3"),
    (
        "cls sp:n>t;>=sp 1000 \"gold\";>=sp 500 \"silver\";\"bronze\"",
        &["700"],
        "silver",
    ),
    ("f h:b>n;?h 1 0", &["true"], "1"),
    ("f x:n>n;?=x 0 10 20", &["0"], "10"),
    ("f>L n;map (x:n>n;*x 2) [1 2 3]", &[], "[2, 4, 6]"),
    ("f>L n;flt (x:n>b;>x 1) [1 2 3]", &[], "[2, 3]"),
    ("f>n;fld (a:n x:n>n;+a x) [1 2 3] 0", &[], "6"),
    (
        "f>M t (L n);grp (x:n>t;?=mod x 2 0 \"e\" \"o\") [1 2 3]",
        &[],
        "{e: [2]; o: [1, 3]}",
    ),
    (
        "f t:n xs:L n>L n;flt (x:n>b;>x t) xs",
        &["1", "1,2,3"],
        "[2, 3]",
    ),
    ("f>L n;srt (x:n>n;- 0 x) [1 3 2]", &[], "[3, 2, 1]"),
    ("f>R (L n) t;mapr (x:n>R n t;~*x 2) [1 2]", &[], "[2, 4]"),
    (
        "f>L t;mvals (mset (mset mmap \"b\" 1) \"a\" 2)>>map str",
        &[],
        "[2, 1]",
    ),
    ("f>R _ t;x=jpar! \"{\\\"a\\\":1}\";~x.?b", &[], "nil"),
    (
        "f>R _ t;x=jpar! \"{\\\"a\\\":{\\\"b\\\":5}}\";~x.a.b",
        &[],
        "5",
    ),
    (
        "type u{name:t;age:n}⏎f>t;p=u name:\"a\" age:3;{name;age}=p;fmt \"{}:{}\" name age",
        &[],
        "a:3",
    ),
    ("f>L n;xs=[];@i 0..3{xs=+=xs i};xs", &[], "[0, 1, 2]"),
    ("f>n;xs=[10 20 30];i=1;xs.i", &[], "20"),
    ("f>n;xs=[1 2 3];s=0;@x xs{=x 2{cnt};s=+s x};s", &[], "4"),
    ("f>t;s=\"\";@c (chars \"abc\"){s=+c s};s", &[], "cba"),
    ("f x:n>t⏎  >x 10{ret \"big\"}⏎  \"small\"", &["5"], "small"),
    ("f x:n>n⏎  y=*x 2⏎  +y 1", &["4"], "9"),
    ("inc x:n>n;+x 1⏎main>n;5>>inc>>inc", &[], "7"),
    ("f>n;r=~3;?r{~v:+v 1;^e:0}", &[], "4"),
    (
        "f x:_>t;?x{n v:\"num\";t v:\"text\";l v:\"list\";_:\"other\"}",
        &["abc"],
        "text",
    ),
    (
        "f c:S red green>t;?c{\"red\":\"r\";\"green\":\"g\"}",
        &["green"],
        "g",
    ),
    ("f>b;|false true", &[], "true"),
    ("f>b;!=1 2", &[], "true"),
    ("f>n;x=5;!<x 3 99;0", &[], "99"),
    ("f>t;=1 1{\"y\"}{\"n\"}", &[], "y"),
    ("f>n;a=[1 2];b=+=a 3;len a", &[], "2"),
    ("f>L n;map (x:n>n;*x x) (range 0 4)", &[], "[0, 1, 4, 9]"),
    ("f x:n>n;x", &["5"], "5"),
    ("f x:t>t;x", &["42"], "42"),
    ("f xs:L n>n;sum xs", &["1,2,3"], "6"),
];

#[test]
fn observed_programs_match_upstream_output() {
    check_outputs(CASES);
}
