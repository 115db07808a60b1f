//! Parser unit tests: the tree each construct produces, written as compact
//! S-expressions, and the diagnostics for broken input.

use super::{parse, MAX_DEPTH};
use crate::ast::*;
use crate::diag::Diagnostic;
use crate::span::FileId;

fn parse_ok(src: &str) -> Vec<Decl> {
    let mut next = 0;
    let (decls, diags) = parse(src, FileId(0), &mut next);
    assert!(diags.is_empty(), "{src}: {diags:?}");
    decls
}

fn errors(src: &str) -> Vec<Diagnostic> {
    let mut next = 0;
    let (_, diags) = parse(src, FileId(0), &mut next);
    assert!(!diags.is_empty(), "{src} parsed without errors");
    diags
}

fn first_code(src: &str) -> &'static str {
    errors(src)[0].code
}

/// The body of the last function in `src`, one S-expression per statement.
fn body(src: &str) -> Vec<String> {
    let decls = parse_ok(src);
    let Some(Decl::Func(f)) = decls.last() else {
        panic!("{src}: last declaration is not a function");
    };
    f.body.iter().map(stmt).collect()
}

/// The single statement of a one-statement body.
fn one(src: &str) -> String {
    let stmts = body(src);
    assert_eq!(stmts.len(), 1, "{src}: {stmts:?}");
    stmts[0].clone()
}

fn block(stmts: &[Stmt]) -> String {
    let inner: Vec<String> = stmts.iter().map(stmt).collect();
    format!("{{{}}}", inner.join("; "))
}

fn stmt(s: &Stmt) -> String {
    match &s.kind {
        StmtKind::Let { name, value } => format!("(= {} {})", name.name, expr(value)),
        StmtKind::Destructure { fields, value } => {
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            format!("(destructure [{}] {})", names.join(" "), expr(value))
        }
        StmtKind::Expr(e) => expr(e),
        StmtKind::Guard {
            cond,
            negated,
            value,
        } => format!(
            "(guard{} {} {})",
            if *negated { "!" } else { "" },
            expr(cond),
            expr(value)
        ),
        StmtKind::When {
            cond,
            negated,
            body,
        } => format!(
            "(when{} {} {})",
            if *negated { "!" } else { "" },
            expr(cond),
            block(body)
        ),
        StmtKind::ForEach { var, iter, body } => {
            format!("(each {} {} {})", var.name, expr(iter), block(body))
        }
        StmtKind::ForRange {
            var,
            start,
            end,
            body,
        } => format!(
            "(range {} {} {} {})",
            var.name,
            expr(start),
            expr(end),
            block(body)
        ),
        StmtKind::While { cond, body } => format!("(wh {} {})", expr(cond), block(body)),
        StmtKind::Ret(e) => format!("(ret {})", expr(e)),
        StmtKind::Brk(None) => "(brk)".to_string(),
        StmtKind::Brk(Some(e)) => format!("(brk {})", expr(e)),
        StmtKind::Cnt => "(cnt)".to_string(),
    }
}

fn op(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Eq => "==",
        BinOp::Ne => "!=",
        BinOp::Lt => "<",
        BinOp::Gt => ">",
        BinOp::Le => "<=",
        BinOp::Ge => ">=",
        BinOp::And => "&",
        BinOp::Or => "|",
        BinOp::Append => "+=",
    }
}

fn fields(fs: &[(Ident, Expr)]) -> String {
    let parts: Vec<String> = fs
        .iter()
        .map(|(n, e)| format!("{}:{}", n.name, expr(e)))
        .collect();
    parts.join(" ")
}

fn pattern(p: &Pattern) -> String {
    match p {
        Pattern::Text(s) => format!("{s:?}"),
        Pattern::Num(n) => format!("{n}"),
        Pattern::Bool(b) => format!("{b}"),
        Pattern::Nil => "nil".to_string(),
        Pattern::Ok(v) => format!("~{}", v.name),
        Pattern::Err(v) => format!("^{}", v.name),
        Pattern::IsType(t, v) => format!("{t:?} {}", v.name),
        Pattern::Wildcard => "_".to_string(),
    }
}

fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Num(n) => format!("{n}"),
        ExprKind::Text(s) => format!("{s:?}"),
        ExprKind::Bool(b) => format!("{b}"),
        ExprKind::Nil => "nil".to_string(),
        ExprKind::Ref(i) => i.name.clone(),
        ExprKind::List(items) => {
            let parts: Vec<String> = items.iter().map(expr).collect();
            format!("[{}]", parts.join(" "))
        }
        ExprKind::Unary {
            op: UnOp::Neg,
            expr: x,
        } => format!("(neg {})", expr(x)),
        ExprKind::Unary {
            op: UnOp::Not,
            expr: x,
        } => format!("(not {})", expr(x)),
        ExprKind::Binary { op: o, lhs, rhs } => format!("({} {} {})", op(*o), expr(lhs), expr(rhs)),
        ExprKind::Call {
            callee,
            args,
            unwrap,
        } => {
            let bang = match unwrap {
                Unwrap::None => "",
                Unwrap::Propagate => "!",
                Unwrap::Panic => "!!",
            };
            let mut parts = vec![format!("{}{bang}", callee.name)];
            parts.extend(args.iter().map(expr));
            format!("({})", parts.join(" "))
        }
        ExprKind::Field {
            expr: x,
            name,
            safe,
        } => {
            format!("{}.{}{}", expr(x), if *safe { "?" } else { "" }, name.name)
        }
        ExprKind::Index { expr: x, index } => format!("{}.{index}", expr(x)),
        ExprKind::Record { ty, fields: fs } => format!("(record {} {})", ty.name, fields(fs)),
        ExprKind::With {
            expr: x,
            fields: fs,
        } => format!("(with {} {})", expr(x), fields(fs)),
        ExprKind::Ok(x) => format!("(ok {})", expr(x)),
        ExprKind::Err(x) => format!("(err {})", expr(x)),
        ExprKind::Coalesce { lhs, rhs } => format!("(?? {} {})", expr(lhs), expr(rhs)),
        ExprKind::Match { subject, arms } => {
            let arms: Vec<String> = arms
                .iter()
                .map(|a| format!("{} => {}", pattern(&a.pattern), block(&a.body)))
                .collect();
            let subject = subject.as_ref().map_or("_".to_string(), |s| expr(s));
            format!("(match {subject} {})", arms.join(", "))
        }
        ExprKind::Ternary { cond, then, els } => {
            format!("(if {} {} {})", expr(cond), block(then), block(els))
        }
        ExprKind::Lambda(f) => {
            let params: Vec<&str> = f.params.iter().map(|p| p.name.name.as_str()).collect();
            format!("(fn [{}] {})", params.join(" "), block(&f.body))
        }
    }
}

#[test]
fn prefix_operators_nest_left_first() {
    assert_eq!(one("f a:n b:n c:n>n;+*a b c"), "(+ (* a b) c)");
    assert_eq!(one("f a:n b:n c:n>n;*a +b c"), "(* a (+ b c))");
    assert_eq!(one("f a:n b:n c:n>n;*/a b c"), "(* (/ a b) c)");
    assert_eq!(one("f a:n b:n c:n d:n>n;-*a b *c d"), "(- (* a b) (* c d))");
    assert_eq!(one("f x:n y:n>b;>=+x y 100"), "(>= (+ x y) 100)");
    assert_eq!(one("f xs:L n>L n;+=xs 1"), "(+= xs 1)");
    assert_eq!(one("f>b;!=1 2"), "(!= 1 2)");
    assert_eq!(one("f a:b>b;!a"), "(not a)");
}

#[test]
fn minus_literals_negation_and_subtraction() {
    assert_eq!(one("f>n;-1"), "-1");
    assert_eq!(one("f v:n>n;- 0 v"), "(- 0 v)");
    assert_eq!(one("f x:n>n;-x"), "(neg x)");
    assert_eq!(one("f n:n>n;-n 1"), "(- n 1)");
    assert_eq!(one("f a:n b:n>n;- -a b"), "(neg (- a b))");
    assert_eq!(one("f>n;at [1 2 3] -1"), "(at [1 2 3] -1)");
}

#[test]
fn infix_precedence_and_application() {
    assert_eq!(one("f>n;1 + 2 * 3"), "(+ 1 (* 2 3))");
    assert_eq!(one("f x:n y:n>n;(x + y) * 2"), "(* (+ x y) 2)");
    assert_eq!(one("f a:b b:b c:b>b;a | b & c"), "(| a (& b c))");
    assert_eq!(one("f x:n>b;x + 1 > 2 == true"), "(== (> (+ x 1) 2) true)");
    assert_eq!(one("g x:n>n;x\nf a:n b:n>n;g a + b"), "(+ (g a) b)");
    assert_eq!(one("f a:n b:n>n;a+b"), "(+ a b)");
}

#[test]
fn known_arity_calls_as_operands() {
    assert_eq!(one("g x:n>n;x\nf a:n b:n>n;+g a b"), "(+ (g a) b)");
    assert_eq!(
        body("f q:L n>n;wh >len q 0{q=tl q};0")[0],
        "(wh (> (len q) 0) {(= q (tl q))})"
    );
    assert_eq!(
        one("f x:n>t;?=mod x 2 0 \"e\" \"o\""),
        "(if (== (mod x 2) 0) {\"e\"} {\"o\"})"
    );
    // A local that shadows a function is a plain reference.
    assert_eq!(one("g x:n>n;x\nf g:n h:n>n;+g h"), "(+ g h)");
    // Functions declared later in the file are known too.
    let decls = parse_ok("f a:n b:n>n;+g a b\ng x:n>n;x");
    let Decl::Func(f) = &decls[0] else { panic!() };
    assert_eq!(stmt(&f.body[0]), "(+ (g a) b)");
}

#[test]
fn call_arguments() {
    assert_eq!(
        one("dbl x:n>n;*x 2\nf>L n;map dbl [1 2]"),
        "(map dbl [1 2])"
    );
    assert_eq!(one("f>M t n;mset mmap \"a\" 1"), "(mset (mmap) \"a\" 1)");
    assert_eq!(one("f x:n>n;prnt fmt \"{}\" x"), "(prnt (fmt \"{}\" x))");
    assert_eq!(one("fac n:n>n;fac -n 1"), "(fac (- n 1))");
    assert_eq!(one("f>n;g()"), "(g)");
    assert_eq!(one("f>R n t;g!()"), "(g!)");
    assert_eq!(one("f>R n t;num! \"3\""), "(num! \"3\")");
    assert_eq!(one("f>n;num!! \"3\""), "(num!! \"3\")");
    assert_eq!(one("f u:t>R t t;$u"), "(get u)");
    assert_eq!(one("f u:t>R t t;$!u"), "(get! u)");
    assert_eq!(one("f>n;now"), "(now)");
    assert_eq!(one("f xs:L n>n;len xs"), "(len xs)");
}

#[test]
fn pipes_pass_the_left_side_last() {
    assert_eq!(one("f xs:L n>n;srt xs>>hd"), "(hd (srt xs))");
    assert_eq!(one("f m:M t n>L t;mvals m>>map str"), "(map str (mvals m))");
    assert_eq!(one("f x:n>n;x>>g!>>h"), "(h (g! x))");
    assert_eq!(body("f xs:L n>L n\n  xs\n    >>rev")[0], "(rev xs)");
}

#[test]
fn fields_indexes_and_coalesce() {
    assert_eq!(one("f xs:L n>n;xs.0"), "xs.0");
    assert_eq!(one("f xs:L n i:n>n;xs.i"), "xs.i");
    assert_eq!(one("f r:_>_;r.a.?b.userId"), "r.a.?b.userId");
    assert_eq!(one("f r:_>_;r.type_id"), "r.type_id");
    assert_eq!(
        one("f r:_>_;r.?name??\"unknown\""),
        "(?? r.?name \"unknown\")"
    );
    assert_eq!(one("f a:O n b:O n>n;a??b??99"), "(?? a (?? b 99))");
    assert_eq!(one("f x:O n>n;??x 0"), "(?? x 0)");
    assert_eq!(one("f xs:L (L n)>n;xs.0.1"), "xs.0.1");
}

#[test]
fn guards_conditionals_and_ternaries() {
    assert_eq!(
        body("cls sp:n>t;>=sp 1000 \"gold\";\"bronze\""),
        ["(guard (>= sp 1000) \"gold\")", "\"bronze\""]
    );
    assert_eq!(body("f x:n>n;!<x 3 99;0")[0], "(guard! (< x 3) 99)");
    assert_eq!(
        body("f x:n>n;>x 0{ret x};-x")[0],
        "(when (> x 0) {(ret x)})"
    );
    assert_eq!(body("f x:b>n;!x{ret 1};0")[0], "(when! x {(ret 1)})");
    assert_eq!(
        one("f x:n>t;>x 3{\"big\"}{\"small\"}"),
        "(if (> x 3) {\"big\"} {\"small\"})"
    );
    assert_eq!(
        one("f x:n>t;!=x 1{\"a\"}{\"b\"}"),
        "(if (!= x 1) {\"a\"} {\"b\"})"
    );
    assert_eq!(one("f h:b>n;?h{1}{0}"), "(if h {1} {0})");
    assert_eq!(one("f h:b>n;?h 1 0"), "(if h {1} {0})");
    assert_eq!(one("f x:n>n;v=?>x 100 1 0"), "(= v (if (> x 100) {1} {0}))");
    assert_eq!(one("f x:n>n;v=>x 1{2}{3}"), "(= v (if (> x 1) {2} {3}))");
    assert_eq!(body("f x:n>n;=x 1{99};0")[0], "(when (== x 1) {99})");
}

#[test]
fn matches() {
    assert_eq!(
        one("f x:n>t;?x{1:\"one\";2:\"two\";_:\"many\"}"),
        "(match x 1 => {\"one\"}, 2 => {\"two\"}, _ => {\"many\"})"
    );
    assert_eq!(
        one("f r:R n t>n;?r{~v:a=+v 1;a;^e:0}"),
        "(match r ~v => {(= a (+ v 1)); a}, ^e => {0})"
    );
    assert_eq!(
        one("f x:_>t;?x{n v:\"num\";t v:\"text\";l v:\"list\";b v:\"b\";_:\"other\"}"),
        "(match x Num v => {\"num\"}, Text v => {\"text\"}, List v => {\"list\"}, Bool v => {\"b\"}, _ => {\"other\"})"
    );
    assert_eq!(
        one("f c:S red green>t;?c{red:\"r\";green:\"g\"}"),
        "(match c \"red\" => {\"r\"}, \"green\" => {\"g\"})"
    );
    assert_eq!(
        body("f>n;g 1;?{^e:^+\"failed: \"e;~v:v}")[1],
        "(match _ ^e => {(err (+ \"failed: \" e))}, ~v => {v})"
    );
    assert_eq!(
        one("f h:b>n;?h{true:1;false:0}"),
        "(match h true => {1}, false => {0})"
    );
    assert_eq!(
        one("f x:O n>n;?x{nil:0;~v:v}"),
        "(match x nil => {0}, ~v => {v})"
    );
}

#[test]
fn loops() {
    assert_eq!(
        body("f>n;x=0;@i 0..5{x=+x i};x")[1],
        "(range i 0 5 {(= x (+ x i))})"
    );
    assert_eq!(
        body("f xs:L n>n;s=0;@j 0..len xs{s=+s j};s")[1],
        "(range j 0 (len xs) {(= s (+ s j))})"
    );
    assert_eq!(
        body("f i:n n:n>n;@j +i 2..n{cnt};0")[0],
        "(range j (+ i 2) n {(cnt)})"
    );
    assert_eq!(
        body("f>t;s=\"\";@c (chars \"abc\"){s=+c s};s")[1],
        "(each c (chars \"abc\") {(= s (+ c s))})"
    );
    assert_eq!(
        body("f>n;i=0;wh true{i=+i 1;>=i 3{brk}};i")[1],
        "(wh true {(= i (+ i 1)); (when (>= i 3) {(brk)})})"
    );
    assert_eq!(body("f>n;wh true{brk 5};0")[0], "(wh true {(brk 5)})");
}

#[test]
fn records_lambdas_and_results() {
    let src = "type pt{x:n;y:n}\nf>n;p=pt x:1 y:2;q=p with y:5;{x;y}=q;+x y";
    assert_eq!(
        body(src),
        [
            "(= p (record pt x:1 y:2))",
            "(= q (with p y:5))",
            "(destructure [x y] q)",
            "(+ x y)"
        ]
    );
    assert_eq!(
        one("f>L n;map (x:n>n;*x 2) [1 2 3]"),
        "(map (fn [x] {(* x 2)}) [1 2 3])"
    );
    assert_eq!(
        one("f>n;fld (a:n x:n>n;+a x) [1 2 3] 0"),
        "(fld (fn [a x] {(+ a x)}) [1 2 3] 0)"
    );
    assert_eq!(
        one("f t:n xs:L n>L n;flt (x:n>b;>x t) xs"),
        "(flt (fn [x] {(> x t)}) xs)"
    );
    assert_eq!(one("f x:n>R n t;~*x 2"), "(ok (* x 2))");
    assert_eq!(one("f>R n t;^\"bad\""), "(err \"bad\")");
    assert_eq!(one("f>L _;[1, \"a\" true nil]"), "[1 \"a\" true nil]");
}

#[test]
fn types_in_signatures() {
    let decls = parse_ok("f a:L (L n) b:R n t c:O t d:M t n e:S red green g:F n t x:a>_;1");
    let Decl::Func(f) = &decls[0] else { panic!() };
    let types: Vec<Type> = f.params.iter().map(|p| p.ty.kind.clone()).collect();
    let b = Box::new;
    assert_eq!(
        types,
        vec![
            Type::List(b(Type::List(b(Type::Num)))),
            Type::Result(b(Type::Num), b(Type::Text)),
            Type::Opt(b(Type::Text)),
            Type::Map(b(Type::Text), b(Type::Num)),
            Type::Sum(vec!["red".into(), "green".into()]),
            Type::Fn(vec![Type::Num], b(Type::Text)),
            Type::Var('a'),
        ]
    );
    assert_eq!(f.ret.kind, Type::Any);
    let decls = parse_ok("type pt{x:n;label:t}\nf p:pt>pt;p");
    let Decl::Type(t) = &decls[0] else { panic!() };
    assert_eq!(t.fields.len(), 2);
}

#[test]
fn multi_line_bodies_and_declaration_boundaries() {
    assert_eq!(
        body("f x:n>n\n  y=*x 2\n  +y 1"),
        ["(= y (* x 2))", "(+ y 1)"]
    );
    assert_eq!(
        body("f x:n>t\n  >x 10{ret \"big\"}\n  \"small\""),
        ["(when (> x 10) {(ret \"big\")})", "\"small\""]
    );
    // A call at the end of a non-last function stops at the newline.
    let decls = parse_ok("g x:n>n;h x\nh x:n>n;x");
    assert_eq!(decls.len(), 2);
    assert_eq!(body("g>L n\n  [10, 20,\n   30]"), ["[10 20 30]"]);
    assert_eq!(body("f x:n>n\n  @i 0..x{\n    x=+x 1\n  }\n  x").len(), 2);
    assert_eq!(
        parse_ok("-- leading comment\nf>n;1 -- trailing\n\n-- more\ng>n;2").len(),
        2
    );
    let decls = parse_ok("use \"lib.ilo\" [a b]\nf>n;1");
    let Decl::Use(u) = &decls[0] else { panic!() };
    assert_eq!(
        (u.path.as_str(), u.names.as_ref().map(Vec::len)),
        ("lib.ilo", Some(2))
    );
}

#[test]
fn expression_ids_count_up_from_next_id() {
    let mut next = 10;
    let (decls, diags) = parse("f>n;+1 2", FileId(0), &mut next);
    assert!(diags.is_empty());
    assert_eq!(next, 13);
    let Decl::Func(f) = &decls[0] else { panic!() };
    let StmtKind::Expr(e) = &f.body[0].kind else {
        panic!()
    };
    assert_eq!(
        e.id,
        ExprId(12),
        "the operator is created after its operands"
    );
}

#[test]
fn spans_cover_their_source() {
    let src = "f x:n>n;+x 1";
    let decls = parse_ok(src);
    let Decl::Func(f) = &decls[0] else { panic!() };
    let StmtKind::Expr(e) = &f.body[0].kind else {
        panic!()
    };
    assert_eq!(&src[e.span.start as usize..e.span.end as usize], "+x 1");
    assert_eq!((f.span.start, f.span.end as usize), (0, src.len()));
}

#[test]
fn reference_diagnostics() {
    assert_eq!(
        errors("f>n;1_000")[0].message,
        "expected declaration, got Underscore"
    );
    assert_eq!(
        errors("f>n;-3 + 1")[0].message,
        "expected expression, got EOF"
    );
    assert_eq!(
        errors("f>n;x=1;x+")[0].message,
        "expected expression, got EOF"
    );
    let d = &errors("len x:n>n;x")[0];
    assert_eq!(
        (d.code, d.message.as_str()),
        (
            "ILO-P011",
            "`len` is a builtin and cannot be used as a function name"
        )
    );
    assert!(d.suggestion.as_deref().is_some_and(|s| s.contains("mylen")));
    let d = &errors("main>n;flat=1;flat")[0];
    assert_eq!(
        d.message,
        "`flat` is a builtin and cannot be used as a binding name"
    );
    // A long alias is no reserved name: the program's own `filter` wins over it.
    parse_ok("filter x:n>n;x");
}

#[test]
fn friendly_errors_for_other_languages_habits() {
    for word in ["if", "return", "let", "fn", "def", "var", "const"] {
        assert_eq!(first_code(&format!("{word} x:n>n;x")), "ILO-P012", "{word}");
    }
    assert_eq!(first_code("f x:n>n;if x"), "ILO-P012");
    assert_eq!(first_code("f>n;g=fn x:n>n;+x 1"), "ILO-P009");
    assert_eq!(first_code("f a:n b:n>b;=>a b"), "ILO-P003");
    assert_eq!(first_code("main:>n;1"), "ILO-P003");
    assert_eq!(first_code("f a:n b:n c:n d:n>n;- -*a b *c d"), "ILO-P021");
    assert_eq!(first_code("f>n;AND 1 2"), "ILO-L001");
    assert_eq!(first_code("f x:n\n>n;+x 1"), "ILO-P020");
    let decls = parse_ok("tool get-user\"Get\" uid:t>R _ t timeout:5,retry:2");
    assert!(matches!(&decls[0], Decl::Func(f) if f.tool && f.params.len() == 1));
}

#[test]
fn every_broken_declaration_is_reported() {
    let diags = errors("a>n;+\nb>n;1\nc>n;*\nd>n;(");
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["ILO-P010", "ILO-P010", "ILO-P010"]);
    let mut next = 0;
    let (decls, _) = parse("a>n;+\nb>n;1", FileId(0), &mut next);
    assert_eq!(decls.len(), 1, "the good declaration survives");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "f>n;{}1{}",
        "(".repeat(MAX_DEPTH * 4),
        ")".repeat(MAX_DEPTH * 4)
    );
    assert_eq!(first_code(&deep), "ILO-P022");
    let deep = format!("f>n;{}1", "-".repeat(2)); // `--` is a comment: empty body
    assert_eq!(first_code(&deep), "ILO-P010");
    let shallow = format!("f>n;{}1{}", "(".repeat(50), ")".repeat(50));
    assert_eq!(one(&shallow), "1");
}

/// The upstream forms: braced bodies, compact types, `-0 x`, calls in list literals,
/// `~`/`^` around a whole call, braced match-arm bodies.
#[test]
fn upstream_forms() {
    let body = |src: &str| match parse_ok(src).remove(0) {
        Decl::Func(f) => f,
        other => panic!("not a function: {other:?}"),
    };
    assert_eq!(body("f x:n>n;{t=*x 3;t}").body.len(), 2);
    let f = body("f xs:LLn>On;nil");
    let list_of_list = Type::List(Box::new(Type::List(Box::new(Type::Num))));
    assert_eq!(f.params[0].ty.kind, list_of_list);
    assert_eq!(f.ret.kind, Type::Opt(Box::new(Type::Num)));
    assert_eq!(first_code("f>Mtn;mmap"), "ILO-P007");
    let sub = |src: &str| match &body(src).body[0].kind {
        StmtKind::Expr(Expr {
            kind:
                ExprKind::Binary {
                    op: BinOp::Sub,
                    lhs,
                    ..
                },
            ..
        }) => matches!(lhs.kind, ExprKind::Num(n) if n == 10.0),
        _ => false,
    };
    assert!(sub("f x:n>n;-10 x"), "-10 x subtracts x from 10");
    let items = |src: &str| match &body(src).body[0].kind {
        StmtKind::Expr(Expr {
            kind: ExprKind::List(items),
            ..
        }) => items.len(),
        _ => 0,
    };
    assert_eq!(items("f a:n>L t;[str a str a]"), 2, "two calls");
    assert_eq!(items("f a:n>L n;[-1 a]"), 2, "a literal and a name");
    assert_eq!(first_code("f>n;sum [1;2]"), "ILO-P009");
    let wrapped = |src: &str| match &body(src).body[0].kind {
        StmtKind::Expr(Expr {
            kind: ExprKind::Ok(inner),
            ..
        }) => matches!(&inner.kind, ExprKind::Call { args, .. } if args.len() == 3),
        _ => false,
    };
    assert!(wrapped("f x:n>R t t;~fmt \"{}{}\" x x"));
    let arm_len = |src: &str| match &body(src).body[0].kind {
        StmtKind::Expr(Expr {
            kind: ExprKind::Match { arms, .. },
            ..
        }) => arms.iter().map(|a| a.body.len()).collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    assert_eq!(arm_len("f x:n>n;?x{1:{y=10;+y x};_:0}"), [2, 1]);
}
