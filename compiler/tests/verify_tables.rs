//! The side tables the code generator consumes: static types (above all, which values
//! are certainly numbers), call targets, lambda captures, locals, records, and the
//! rewrites the verifier makes to the program.

mod verify_support;

use ilo_compiler::ast::{Expr, ExprKind, StmtKind, Type};
use ilo_compiler::verify::{BodyId, CallTarget, Checked};
use verify_support::{func, ok};

/// The expression of the last statement of function `name`.
fn tail<'a>(checked: &'a Checked, name: &str) -> &'a Expr {
    match &func(checked, name)
        .body
        .last()
        .expect("non-empty body")
        .kind
    {
        StmtKind::Expr(e) => e,
        other => panic!("last statement is not an expression: {other:?}"),
    }
}

fn tail_type(code: &str) -> Type {
    let checked = ok(code);
    checked.type_of(tail(&checked, "f").id).clone()
}

fn local_type(checked: &Checked, body: BodyId, name: &str) -> Type {
    checked.locals[&body]
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no local {name}"))
        .1
        .clone()
}

fn list(t: Type) -> Type {
    Type::List(Box::new(t))
}

#[test]
fn numbers_are_typed_n_where_certain() {
    assert_eq!(tail_type("f>n;+1 2"), Type::Num);
    assert_eq!(tail_type("f x:n>n;*x 2"), Type::Num);
    assert_eq!(tail_type("f>n;len [1 2]"), Type::Num);
    assert_eq!(tail_type("f xs:L n>n;hd xs"), Type::Num);
    assert_eq!(tail_type("f>n;xs=[3 1 2];srt xs>>hd"), Type::Num);
    assert_eq!(tail_type("f>n;fld (a:n x:n>n;+a x) [1 2 3] 0"), Type::Num);
    assert_eq!(tail_type("f>n;num!! \"4\""), Type::Num);
    // Dynamic operands make `+` uncertain (it also concatenates text and lists).
    assert_eq!(tail_type("f x:_>_;+x 1"), Type::Any);
    // Arithmetic other than `+` yields a number or fails at run time.
    assert_eq!(tail_type("f x:_>n;*x 2"), Type::Num);
}

#[test]
fn other_builtin_return_types() {
    assert_eq!(tail_type("f>t;str 3"), Type::Text);
    let r = tail_type("f>R n t;num \"3\"");
    assert_eq!(r, Type::Result(Box::new(Type::Num), Box::new(Type::Text)));
    assert_eq!(tail_type("f>L n;map (x:n>n;*x 2) [1 2]"), list(Type::Num));
    assert_eq!(tail_type("f>t;hd \"abc\""), Type::Text);
    assert_eq!(
        tail_type("f x:_>_;rev x"),
        Type::Any,
        "list or text: unknown"
    );
    assert_eq!(tail_type("f>L n;flat [[1] [2 3]]"), list(Type::Num));
    assert_eq!(tail_type("f>_;for-line \"x.txt\""), Type::Stream);
    assert_eq!(
        tail_type("f>_;get-stream \"http://127.0.0.1:1/\""),
        Type::Result(Box::new(Type::Stream), Box::new(Type::Text))
    );
}

#[test]
fn a_local_has_the_join_of_all_its_assignments() {
    let checked = ok("f>n;x=0;@i 0..5{x=+x i};x");
    let body = BodyId::Func("f".into());
    assert_eq!(local_type(&checked, body.clone(), "x"), Type::Num);
    assert_eq!(local_type(&checked, body, "i"), Type::Num);
    assert_eq!(checked.type_of(tail(&checked, "f").id), &Type::Num);

    let checked = ok("f>_;x=0;x=\"a\";x");
    assert_eq!(
        local_type(&checked, BodyId::Func("f".into()), "x"),
        Type::Any
    );

    // `y` is computed from `x` before `x` is later given text: still not a number.
    let checked = ok("f>_;x=0;@i 0..3{y=+x 1;x=\"a\"};y");
    assert_ne!(
        local_type(&checked, BodyId::Func("f".into()), "y"),
        Type::Num
    );
}

#[test]
fn a_local_first_bound_in_a_block_may_be_nil_after_it() {
    let checked = ok("f c:b>_;c{y=1};y");
    assert_eq!(
        local_type(&checked, BodyId::Func("f".into()), "y"),
        Type::Opt(Box::new(Type::Num))
    );
    let checked = ok("f c:b>n;y=0;c{y=1};y");
    assert_eq!(
        local_type(&checked, BodyId::Func("f".into()), "y"),
        Type::Num
    );
}

#[test]
fn loop_variables_over_lists_and_streams() {
    let checked = ok("f xs:L t>n;c=0;@x xs{c=+c (len x)};c");
    assert_eq!(
        local_type(&checked, BodyId::Func("f".into()), "x"),
        Type::Text
    );
    let checked = ok("f>n;c=0;@line (tail-file \"log.txt\"){c=+c (len line)};c");
    assert_eq!(
        local_type(&checked, BodyId::Func("f".into()), "line"),
        Type::Text
    );
}

#[test]
fn call_targets() {
    let checked = ok("dbl x:n>n;*x 2\nf>L n;map dbl [1 2]");
    let call = tail(&checked, "f");
    assert_eq!(checked.calls[&call.id], CallTarget::Builtin("map".into()));
    let ExprKind::Call { args, .. } = &call.kind else {
        panic!("not a call")
    };
    assert_eq!(checked.calls[&args[0].id], CallTarget::User("dbl".into()));
    assert_eq!(checked.type_of(call.id), &list(Type::Num));

    let checked = ok("f g:F n n>n;g 1");
    assert_eq!(
        checked.calls[&tail(&checked, "f").id],
        CallTarget::Local("g".into())
    );
    let checked = ok("inc x:n>n;+x 1\nf>n;inc 1");
    assert_eq!(
        checked.calls[&tail(&checked, "f").id],
        CallTarget::User("inc".into())
    );
}

/// The id of the first lambda found in an expression tree (pre-order).
fn first_lambda(e: &Expr) -> Option<&Expr> {
    match &e.kind {
        ExprKind::Lambda(_) => Some(e),
        ExprKind::Call { args, .. } => args.iter().find_map(first_lambda),
        _ => None,
    }
}

#[test]
fn lambda_captures_in_first_use_order() {
    let checked = ok("f xs:L n thr:n>L n;flt (x:n>b;>x thr) xs");
    let lambda = first_lambda(tail(&checked, "f")).expect("lambda");
    assert_eq!(checked.captures[&lambda.id], ["thr"]);
    let no_capture = ok("f xs:L n>L n;map (x:n>n;*x 2) xs");
    let lambda = first_lambda(tail(&no_capture, "f")).expect("lambda");
    assert!(no_capture.captures[&lambda.id].is_empty());
    assert_eq!(
        no_capture.locals[&BodyId::Lambda(lambda.id)],
        [("x".to_string(), Type::Num)]
    );
}

#[test]
fn nested_lambdas_capture_through_each_level() {
    let code = "f a:n b:n>L n;map (x:n>n;y=+x a;fld (acc:n z:n>n;+acc b) [y] 0) [1]";
    let checked = ok(code);
    let outer = first_lambda(tail(&checked, "f")).expect("outer lambda");
    assert_eq!(checked.captures[&outer.id], ["a", "b"]);
    let ExprKind::Lambda(decl) = &outer.kind else {
        unreachable!()
    };
    let StmtKind::Expr(inner_call) = &decl.body.last().unwrap().kind else {
        panic!("lambda tail is not an expression")
    };
    let inner = first_lambda(inner_call).expect("inner lambda");
    assert_eq!(checked.captures[&inner.id], ["b"]);
}

#[test]
fn index_sugar_becomes_at_with_a_fresh_ref() {
    let code = "f>n;xs=[10 20 30];i=1;xs.i";
    let before = verify_support::parse(code).expr_count;
    let checked = ok(code);
    let call = tail(&checked, "f");
    let ExprKind::Call { callee, args, .. } = &call.kind else {
        panic!("xs.i was not rewritten: {:?}", call.kind)
    };
    assert_eq!(callee.name, "at");
    assert!(matches!(&args[1].kind, ExprKind::Ref(i) if i.name == "i"));
    assert!(args[1].id.0 >= before, "the Ref gets a new id");
    assert_eq!(checked.program.expr_count, before + 1);
    assert_eq!(checked.types.len(), checked.program.expr_count as usize);
    assert_eq!(checked.calls[&call.id], CallTarget::Builtin("at".into()));
    assert_eq!(checked.type_of(call.id), &Type::Num);
}

#[test]
fn a_declared_field_name_stays_a_field_access() {
    let checked = ok("type pt{x:n;y:n}\nf p:pt x:n>n;p.x");
    let e = tail(&checked, "f");
    assert!(matches!(&e.kind, ExprKind::Field { .. }), "{:?}", e.kind);
    assert_eq!(checked.type_of(e.id), &Type::Num);
    // Declared records first, then the prelude's response record.
    let names: Vec<&str> = checked.records.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["pt", "rsp"]);
    assert_eq!(checked.records[0].1, ["x", "y"]);
}

#[test]
fn aliases_and_bare_zero_argument_builtins_are_rewritten() {
    let checked = ok("f>n;floor 2.5");
    let ExprKind::Call { callee, .. } = &tail(&checked, "f").kind else {
        panic!("not a call")
    };
    assert_eq!(callee.name, "flr");

    let checked = ok("f>M t n;m=mmap;m");
    let StmtKind::Let { value, .. } = &func(&checked, "f").body[0].kind else {
        panic!("not a let")
    };
    assert!(
        matches!(&value.kind, ExprKind::Call { callee, args, .. } if callee.name == "mmap" && args.is_empty()),
        "{:?}",
        value.kind
    );
    assert_eq!(checked.calls[&value.id], CallTarget::Builtin("mmap".into()));
}
