//! Every probe program of the reference observations parses exactly as the reference
//! parser did: the ones that ran (or failed only at verification or run time) parse
//! without diagnostics, and the ones the reference lexer or parser rejected produce the
//! same diagnostic code and message. `⏎` in a program stands for a newline.

use ilo_compiler::parser::parse;
use ilo_compiler::span::FileId;

/// Programs the reference front end accepted.
const ACCEPTED: &[&str] = &[
    r#"f>n;+1 2"#,
    r#"f>n;/7 2"#,
    r#"f>n;/1 0"#,
    r#"f>n;*0.1 3"#,
    r#"f>n;1e21"#,
    r#"f>n;-0.5"#,
    r#"f>t;str 3.0"#,
    r#"f>t;str 0.1"#,
    r#"f>n;9007199254740993"#,
    r#"f>n;1 + 2 * 3"#,
    r#"f>n;+*2 3 4"#,
    r#"f>n;*2 +3 4"#,
    r#"f>n;- 0 5"#,
    r#"f>t;fmt2 3.14159 2"#,
    r#"f>n;flr -2.5"#,
    r#"f>n;rou 2.5"#,
    r#"f>n;pow 2 10"#,
    r#"f>t;+"a" "b""#,
    r#"f>t;"he said \"hi\"""#,
    r#"f>n;len "héllo""#,
    r#"f>t;hd "héllo""#,
    r#"f>L t;spl "a,b,,c" ",""#,
    r#"f>t;cat ["a" "b"] ",""#,
    r#"f>b;has "hello" "ell""#,
    r#"f>t;trm "  a  ""#,
    r#"f>t;upr "abc""#,
    r#"f>t;fmt "a={} b={}" 1 "x""#,
    r#"f>L t;rgx "[0-9]+" "a1b22""#,
    r#"f>t;padl "7" 3 "0""#,
    r#"f>L t;chars "abc""#,
    r#"f>L n;[1 2 3]"#,
    r#"f>L t;["a" "b"]"#,
    r#"f>L _;[1 "a" true nil]"#,
    r#"f>L (L n);[[1 2] [3]]"#,
    r#"f>L n;+=[1] 2"#,
    r#"f>L n;+[1] [2]"#,
    r#"f>L n;rev [1 2 3]"#,
    r#"f>L n;slc [1 2 3 4] 1 3"#,
    r#"f>n;at [1 2 3] -1"#,
    r#"f>L n;unq [1 1 2]"#,
    r#"f>L n;flat [[1] [2 3]]"#,
    r#"f>n;avg [1 2]"#,
    r#"f>n;xs=[3 1 2];srt xs>>hd"#,
    r#"f>n;xs=[1 2];xs.5"#,
    r#"f>n;hd []"#,
    r#"f>L n;take 2 [1 2 3]"#,
    r#"f>L (L n);zip [1 2] [3 4]"#,
    r#"f>M t n;m=mset mmap "a" 1;mset m "b" 2"#,
    r#"f>t;m=mset mmap "k" "v";mget m "k""#,
    r#"f>O t;mget mmap "k""#,
    r#"f>L t;mkeys (mset (mset mmap "b" 1) "a" 2)"#,
    r#"type pt{x:n;y:n}⏎f>pt;pt x:1 y:2"#,
    r#"type pt{x:n;y:n}⏎f>n;p=pt x:1 y:2;q=p with y:5;+q.x q.y"#,
    r#"f>R n t;~5"#,
    r#"f>R n t;^"bad""#,
    r#"f>O n;nil"#,
    r#"f>t;x=nil;x??"d""#,
    r#"f>n;r=num "12";?r{~v:v;^e:0}"#,
    r#"f>R n t;v=num! "zz";~v"#,
    r#"f>n;num!! "zz""#,
    r#"f>R t t;env "NOPE_X_UNSET""#,
    r#"f>n;mod 7 0"#,
    r#"fac n:n>n;<=n 1 1;r=fac -n 1;*n r⏎main>n;fac 5"#,
    r#"fib n:n>n;<=n 1 n;a=fib -n 1;b=fib -n 2;+a b⏎main>n;fib 20"#,
    r#"f>n;x=0;@i 0..5{x=+x i};x"#,
    r#"f>t;x=5;>x 3{"big"}{"small"}"#,
    r#"f x:n>t;?x{1:"one";2:"two";_:"many"}"#,
    r#"f>n;i=0;wh true{i=+i 1;>=i 3{brk}};i"#,
    r#"f>n;i=0;s=0;wh <i 5{i=+i 1;>=i 3{cnt};s=+s i};s"#,
    r#"f x:n>n;>x 0{ret x};-x"#,
    r#"cls sp:n>t;>=sp 1000 "gold";>=sp 500 "silver";"bronze""#,
    r#"f h:b>n;?h 1 0"#,
    r#"f x:n>n;?=x 0 10 20"#,
    r#"f>L n;map (x:n>n;*x 2) [1 2 3]"#,
    r#"f>L n;flt (x:n>b;>x 1) [1 2 3]"#,
    r#"f>n;fld (a:n x:n>n;+a x) [1 2 3] 0"#,
    r#"f>M t (L n);grp (x:n>t;?=mod x 2 0 "e" "o") [1 2 3]"#,
    r#"dbl x:n>n;*x 2⏎f>L n;map dbl [1 2]"#,
    r#"f t:n xs:L n>L n;flt (x:n>b;>x t) xs"#,
    r#"f>t;jdmp [1 "a" true nil]"#,
    r#"f>R _ t;jpar "{\"a\":[1,2]}""#,
    r#"f>R t t;jpth "{\"a\":{\"b\":3}}" "a.b""#,
    r#"f>n;min 3 1"#,
    r#"f>n;max [3 9 1]"#,
    r#"f>n;abs -4"#,
    r#"f>n;cel 1.2"#,
    r#"f>L t;tl ["a" "b" "c"]"#,
    r#"f>t;tl "abc""#,
    r#"f>t;rev "abc""#,
    r#"f>L t;srt ["b" "a"]"#,
    r#"f>L n;srt (x:n>n;- 0 x) [1 3 2]"#,
    r#"f>L n;rsrt [1 3 2]"#,
    r#"f>L n;lst [1 2 3] 1 9"#,
    r#"f>L n;drop 1 [1 2 3]"#,
    r#"f>L n;take -1 [1 2 3]"#,
    r#"f>L (L _);enumerate ["a" "b"]"#,
    r#"f>L n;range 2 5"#,
    r#"f>n;ct (x:n>b;>x 1) [1 2 3]"#,
    r#"f>L n;flatmap (x:n>L n;[x x]) [1 2]"#,
    r#"f>R (L n) t;mapr (x:n>R n t;~*x 2) [1 2]"#,
    r#"f>L (L n);partition (x:n>b;>x 1) [1 2 3]"#,
    r#"f>L (L n);chunks 2 [1 2 3]"#,
    r#"f>L (L n);window 2 [1 2 3]"#,
    r#"f>n;clamp 15 0 10"#,
    r#"f>L n;cumsum [1 2 3]"#,
    r#"f>M t n;frq ["a" "b" "a"]"#,
    r#"f>n;median [3 1 2]"#,
    r#"f>n;quantile [1 2 3 4] 0.5"#,
    r#"f>n;stdev [1 2 3 4]"#,
    r#"f>n;variance [1 2 3 4]"#,
    r#"f>L n;setunion [3 1] [1 2]"#,
    r#"f>L n;setinter [3 1 2] [2 3 4]"#,
    r#"f>L n;setdiff [3 1 2] [2]"#,
    r#"f>n;ord "A""#,
    r#"f>t;chr 66"#,
    r#"f>t;lwr "ABC""#,
    r#"f>t;cap "abc""#,
    r#"f>t;padr "ab" 4"#,
    r#"f>L (L t);rgxall "(a)(b)" "abab""#,
    r#"f>L t;rgxall1 "x(\\d)" "x1 x2""#,
    r#"f>t;rgxsub "(\\d+)" "<$1>" "a12b3""#,
    r#"f>R t t;dtfmt 0 "%Y-%m-%d""#,
    r#"f>R n t;dtparse "2024-01-02" "%Y-%m-%d""#,
    r#"f>n;sqrt 16"#,
    r#"f>n;flr (log10 1000)"#,
    r#"f>n;exp 0"#,
    r#"f>n;atan2 1 1"#,
    r#"f>n;dot [1 2] [3 4]"#,
    r#"f>L (L n);transpose [[1 2] [3 4]]"#,
    r#"f>L (L n);matmul [[1 2] [3 4]] [[1 0] [0 1]]"#,
    r#"f>n;det [[1 2] [3 4]]"#,
    r#"f>L n;solve [[2 0] [0 4]] [2 8]"#,
    r#"f>L n;uniqby (x:n>n;mod x 2) [1 2 3 4]"#,
    r#"f>L t;mvals (mset (mset mmap "b" 1) "a" 2)>>map str"#,
    r#"f>b;mhas (mset mmap "a" 1) "a""#,
    r#"f>M t n;mdel (mset (mset mmap "b" 1) "a" 2) "a""#,
    r#"f>n;len (mset mmap 7 "seven")"#,
    r#"f>t;mget (mset mmap 7 "seven") 7"#,
    r#"f>t;fmt "{}" [1 2]"#,
    r#"f>t;str [1 2]"#,
    r#"f>n;sum []"#,
    r#"f>n;avg []"#,
    r#"f>R n t;v=num! "3.5";~v"#,
    r#"f>R n t;num "1e3""#,
    r#"f>R _ t;x=jpar! "[1,\"a\",null,true,{\"k\":2}]";~x"#,
    r#"f>t;jdmp (mset mmap "k" [1 2])"#,
    r#"type u{name:t;age:n}⏎f>t;jdmp (u name:"a" age:3)"#,
    r#"type u{name:t;age:n}⏎f>t;p=u name:"a" age:3;{name;age}=p;fmt "{}:{}" name age"#,
    r#"f>R _ t;x=jpar! "{\"a\":1}";~x.?b"#,
    r#"f>R _ t;x=jpar! "{\"a\":{\"b\":5}}";~x.a.b"#,
    r#"f>L n;xs=[];@i 0..3{xs=+=xs i};xs"#,
    r#"f>n;xs=[10 20 30];i=1;xs.i"#,
    r#"f>n;xs=[1 2 3];s=0;@x xs{=x 2{cnt};s=+s x};s"#,
    r#"f>t;s="";@c (chars "abc"){s=+c s};s"#,
    r#"f x:n>t⏎  >x 10{ret "big"}⏎  "small""#,
    r#"f x:n>n⏎  y=*x 2⏎  +y 1"#,
    r#"inc x:n>n;+x 1⏎main>n;5>>inc>>inc"#,
    r#"f>n;r=~3;?r{~v:+v 1;^e:0}"#,
    r#"f x:_>t;?x{n v:"num";t v:"text";l v:"list";_:"other"}"#,
    r#"f c:S red green>t;?c{"red":"r";"green":"g"}"#,
    r#"f>b;|false true"#,
    r#"f>b;!=1 2"#,
    r#"f>n;x=5;!<x 3 99;0"#,
    r#"f>t;=1 1{"y"}{"n"}"#,
    r#"f>n;a=[1 2];b=+=a 3;len a"#,
    r#"f>t;"tab\there""#,
    r#"f>L n;map (x:n>n;*x x) (range 0 4)"#,
    r#"f>n;sleep 1;1"#,
    r#"main>n;prnt "side";7"#,
    r#"f>R t t;wr "probe-wr.txt" "hi""#,
    r#"f>R t t;rd "probe-wr.txt""#,
    r#"f>R (L t) t;rdl "no-such-dir/x""#,
    r#"f>R t t;get "http://127.0.0.1:1/""#,
    r#"f x:n>n;x"#,
    r#"f x:t>t;x"#,
    r#"f xs:L n>n;sum xs"#,
    r#"f>n;undefined-fn 1"#,
    r#"f>n;"a""#,
];

/// Programs the reference lexer or parser rejected: `(program, code, message)`.
const REJECTED: &[(&str, &str, &str)] = &[
    (r#"f>n;0x1F"#, "ILO-L003", r#"unexpected token 'x1F'"#),
    (
        r#"f>n;1_000"#,
        "ILO-P001",
        r#"expected declaration, got Underscore"#,
    ),
    (
        r#"f>n;-3 + 1"#,
        "ILO-P010",
        r#"expected expression, got EOF"#,
    ),
    (
        r#"len x:n>n;x"#,
        "ILO-P011",
        r#"`len` is a builtin and cannot be used as a function name"#,
    ),
    (
        r#"f>n;x=1;x+"#,
        "ILO-P010",
        r#"expected expression, got EOF"#,
    ),
];

fn source(program: &str) -> String {
    program.replace('⏎', "\n")
}

#[test]
fn accepted_programs_parse_cleanly() {
    let mut failures = Vec::new();
    for program in ACCEPTED {
        let mut next_id = 0;
        let (decls, diags) = parse(&source(program), FileId(0), &mut next_id);
        if !diags.is_empty() || decls.is_empty() {
            failures.push(format!("{program}: {diags:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rejected_programs_report_the_reference_diagnostic() {
    for (program, code, message) in REJECTED {
        let mut next_id = 0;
        let (_, diags) = parse(&source(program), FileId(0), &mut next_id);
        let first = diags
            .first()
            .unwrap_or_else(|| panic!("{program}: no diagnostic"));
        assert_eq!(
            (first.code, first.message.as_str()),
            (*code, *message),
            "{program}"
        );
    }
}

#[test]
fn expression_ids_are_unique_across_files() {
    let mut next_id = 0;
    let mut seen = std::collections::HashSet::new();
    for program in ACCEPTED {
        let before = next_id;
        let (decls, _) = parse(&source(program), FileId(0), &mut next_id);
        assert!(next_id > before, "{program} produced no expressions");
        // Every id in the tree is fresh and within the range this parse was given.
        let dump = format!("{decls:?}");
        for part in dump.split("ExprId(").skip(1) {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            let id: u32 = digits.parse().expect("ExprId holds a number");
            assert!(
                (before..next_id).contains(&id),
                "{program}: id {id} outside {before}..{next_id}"
            );
            assert!(seen.insert(id), "{program}: id {id} used twice");
        }
    }
}
