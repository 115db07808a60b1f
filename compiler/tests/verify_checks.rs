//! One focused test per verifier check: the code it reports, and that the correct
//! form of the same program verifies.

mod verify_support;

use ilo_compiler::diag::Severity;
use verify_support::{error_codes, errors, first_error, messages, ok};

#[test]
fn undefined_function_suggests_a_close_name() {
    let d = first_error("dbl x:n>n;*x 2\nf>n;dbll 3");
    assert_eq!(d.code, "ILO-T005");
    assert_eq!(d.message, "undefined function 'dbll' (called with 1 args)");
    assert_eq!(d.suggestion.as_deref(), Some("did you mean 'dbl'?"));
    assert!(
        d.notes.iter().any(|n| n == "in function 'f'"),
        "{:?}",
        d.notes
    );
    let d = first_error("f>n;lenn [1]");
    assert_eq!(d.suggestion.as_deref(), Some("did you mean 'len'?"));
}

#[test]
fn undefined_variable_suggests_a_close_local() {
    let d = first_error("f>n;count=1;+cont 1");
    assert_eq!(d.code, "ILO-T004");
    assert_eq!(d.message, "undefined variable 'cont'");
    assert_eq!(d.suggestion.as_deref(), Some("did you mean 'count'?"));
}

#[test]
fn arity_mismatch() {
    assert_eq!(error_codes("g a:n b:n>n;+a b\nf>n;g 1"), ["ILO-T006"]);
    let d = first_error("f>n;pow 2");
    assert_eq!(d.code, "ILO-T006");
    assert_eq!(d.message, "'pow' expects 2 args, got 1");
    let d = first_error("f>t;padl \"a\"");
    assert_eq!(d.message, "'padl' expects 2 or 3 args, got 1");
    ok("g a:n b:n>n;+a b\nf>n;g 1 2");
}

#[test]
fn argument_type_mismatch_names_both_types() {
    let d = first_error("g a:n>n;a\nf>n;g \"x\"");
    assert_eq!(d.code, "ILO-T013");
    assert_eq!(d.message, "'g' expects n, got t");
    assert_eq!(
        error_codes("f>n;srt 5"),
        ["ILO-T013"],
        "no follow-on return error"
    );
    let d = first_error("f>t;upr 5");
    assert_eq!(d.message, "'upr' expects t, got n");
    assert_eq!(d.suggestion.as_deref(), Some("convert with `str`"));
}

#[test]
fn return_type_mismatch_covers_every_exit() {
    assert_eq!(error_codes("f x:n>n;>x 0 \"pos\";x"), ["ILO-T008"]);
    assert_eq!(error_codes("f x:n>n;>x 0{ret \"pos\"};x"), ["ILO-T008"]);
    assert_eq!(error_codes("f>L n;[\"a\"]"), ["ILO-T008"]);
    ok("f x:n>O n;>x 0 nil;x");
    ok("f>R n t;^\"bad\"");
}

#[test]
fn all_errors_are_reported_each_in_its_function() {
    let errs = errors("f>n;nope 1\ng>t;5\nh>n;zz");
    assert_eq!(messages(&errs).len(), 3, "{:?}", messages(&errs));
    let notes: Vec<&str> = errs.iter().map(|d| d.notes[0].as_str()).collect();
    assert_eq!(
        notes,
        ["in function 'f'", "in function 'g'", "in function 'h'"]
    );
}

#[test]
fn duplicate_names() {
    assert_eq!(error_codes("f>n;1\nf>n;2"), ["ILO-T001"]);
    assert_eq!(error_codes("type pt{x:n}\npt>n;1"), ["ILO-T001"]);
    let d = first_error("f>n;1\nf>n;2");
    assert_eq!(d.labels.len(), 2, "points at both definitions");
}

#[test]
fn unknown_types_in_signatures_and_constructors() {
    let d = first_error("type point{x:n;y:n}\nf p:pont>n;1");
    assert_eq!(d.code, "ILO-T002");
    assert_eq!(d.suggestion.as_deref(), Some("did you mean 'point'?"));
    assert_eq!(error_codes("f>n;p=pnt x:1;1"), ["ILO-T002"]);
}

#[test]
fn the_built_in_response_record() {
    ok("h r:_>rsp;rsp status:200 body:\"hi\"");
    ok("h r:_>_;rsp status:200 body:(get-stream \"http://x/\") headers:mmap");
    assert_eq!(error_codes("h r:_>_;rsp body:\"hi\""), ["ILO-T014"]);
    assert_eq!(error_codes("h r:_>_;rsp status:\"x\" body:1"), ["ILO-T015"]);
    assert_eq!(
        error_codes("h r:_>_;rsp status:1 body:1 headers:5"),
        ["ILO-T015"]
    );
    // A declaration of the name wins: its fields, all required.
    ok("type rsp{code:n}\nh r:_>_;rsp code:1");
    assert_eq!(
        error_codes("type rsp{status:n;body:t;headers:M t t}\nh r:_>_;rsp status:1 body:\"\""),
        ["ILO-T014"]
    );
    // So does a function of that name.
    ok("rsp x:n>n;x\nh r:_>n;rsp 1");
}

#[test]
fn record_fields() {
    let pt = "type pt{x:n;y:n}\n";
    let d = first_error(&format!("{pt}f p:pt>n;p.z"));
    assert_eq!(d.code, "ILO-T019");
    assert_eq!(d.message, "type 'pt' has no field 'z'");
    ok(&format!("{pt}f p:pt>O n;p.?z"));
    assert_eq!(
        error_codes(&format!("{pt}f>pt;pt x:1 y:2 z:3")),
        ["ILO-T019"]
    );
    assert_eq!(error_codes(&format!("{pt}f>pt;pt x:1")), ["ILO-T014"]);
    assert_eq!(
        error_codes(&format!("{pt}f>pt;pt x:1 y:\"a\"")),
        ["ILO-T015"]
    );
    assert_eq!(
        error_codes(&format!("{pt}f p:pt>pt;p with w:1")),
        ["ILO-T019"]
    );
    assert_eq!(
        error_codes(&format!("{pt}f p:pt>n;{{x;w}}=p;x")),
        ["ILO-T019"]
    );
    ok(&format!("{pt}f p:pt>pt;p with y:3"));
    assert_eq!(error_codes("f x:n>n;x.size"), ["ILO-T016"]);
}

#[test]
fn dynamic_values_allow_any_field() {
    ok("f>R _ t;x=jpar! \"{}\";~x.a.b");
    ok("f x:_>_;x.anything");
    ok("f x:t>_;x.?anything");
}

#[test]
fn unwrap_needs_a_result_or_option() {
    let d = first_error("g>n;1\nf>R n t;v=g!();~v");
    assert_eq!(d.code, "ILO-T025");
    let d = first_error("f>n;num! \"1\"");
    assert_eq!(d.code, "ILO-T026");
    ok("f>n;num!! \"1\"");
    ok("f>O n;m=mset mmap \"a\" 1;v=mget! m \"a\";v");
}

#[test]
fn brk_and_cnt_need_a_loop() {
    assert_eq!(error_codes("f x:n>n;>x 0{brk};x"), ["ILO-T010"]);
    assert_eq!(error_codes("f>n;cnt;1"), ["ILO-T010"]);
    ok("f>n;@i 0..3{>i 1{brk}};1");
}

#[test]
fn discarded_fmt_and_updates_are_warnings() {
    let checked = ok("f x:n>n;fmt \"x={}\" x;x");
    let codes: Vec<&str> = checked.warnings.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["ILO-T032"]);
    assert_eq!(checked.warnings[0].severity, Severity::Warning);
    let checked = ok("f>L n;xs=[];@i 0..3{+=xs i};xs");
    assert_eq!(checked.warnings[0].code, "ILO-T033");
    let checked = ok("f>M t n;m=mmap;mset m \"a\" 1;m");
    assert_eq!(checked.warnings[0].code, "ILO-T033");
    // Tail position and bindings are fine.
    assert!(ok("f x:n>t;fmt \"x={}\" x").warnings.is_empty());
    assert!(ok("f>L n;xs=[];@i 0..3{xs=+=xs i};xs").warnings.is_empty());
    assert!(ok("f>M t n;m=mmap;mset m \"a\" 1").warnings.is_empty());
}

#[test]
fn match_arms_must_fit_the_subject() {
    let d = first_error("f c:S red green>t;?c{\"red\":\"r\";\"gren\":\"g\"}");
    assert_eq!(d.code, "ILO-T011");
    assert_eq!(d.suggestion.as_deref(), Some("did you mean 'green'?"));
    assert_eq!(error_codes("f x:n>n;?x{\"a\":1;_:2}"), ["ILO-T011"]);
    assert_eq!(error_codes("f x:n>n;?x{~v:v;_:2}"), ["ILO-T011"]);
    ok("f x:_>n;?x{\"a\":1;2:2;true:3;_:4}");
}

#[test]
fn operators_reject_certain_mismatches() {
    assert_eq!(error_codes("f>n;+1 \"a\""), ["ILO-T009"]);
    assert_eq!(error_codes("f>n;*\"a\" 2"), ["ILO-T009"]);
    assert_eq!(error_codes("f>L n;+=5 1"), ["ILO-T009"]);
    ok("f x:_>_;+x 1");
}

#[test]
fn calling_a_local_that_is_not_a_function() {
    assert_eq!(error_codes("f x:n>n;x 1"), ["ILO-T007"]);
    ok("f g:F n n>n;g 1");
    assert_eq!(error_codes("f g:F n n>n;g 1 2"), ["ILO-T006"]);
}

#[test]
fn transforms_of_a_stream_are_streams_of_text() {
    ok("f>n;c=0;@l (map upr (flt (l:t>b;>len l 2) (for-line \"x\"))){c=+c 1};c");
    ok("f>n;c=0;@l (for-line \"x\">>drop 1>>take 2){c=+c 1};c");
    // A stream stays a stream: it is not a list.
    assert_eq!(error_codes("f>L t;map upr (for-line \"x\")"), ["ILO-T008"]);
    // The function is checked against a line (text in, text out for `map`).
    let d = first_error("f>n;c=0;@l (map (l:t>n;len l) (for-line \"x\")){c=+c 1};c");
    assert_eq!(d.code, "ILO-T013");
    assert!(d.message.contains("F t t"), "{}", d.message);
    assert_eq!(
        error_codes("f>n;c=0;@l (take \"2\" (for-line \"x\")){c=+c 1};c"),
        ["ILO-T013"]
    );
}

#[test]
fn streams_are_not_lists() {
    let d = first_error("f>n;s=for-line \"x.txt\";len s");
    assert_eq!(d.code, "ILO-T020");
    assert_eq!(error_codes("f>t;s=for-line \"x.txt\";hd s"), ["ILO-T020"]);
    assert_eq!(error_codes("f>t;s=tail-file \"x.txt\";s.0"), ["ILO-T020"]);
    ok("f>n;c=0;@line (for-line \"x.txt\"){c=+c 1};c");
    ok("f>R n t;c=0;@line (get-stream! \"http://127.0.0.1:1/\"){c=+c (len line)};~c");
    assert_eq!(
        error_codes("f>n;c=0;@line (get-stream \"http://127.0.0.1:1/\"){c=+c 1};c"),
        ["ILO-T021"]
    );
}

/// A `tool` is verified like a function (arity, argument types) and accepted with a
/// warning that its calls answer `~nil`.
#[test]
fn tool_declarations_are_verified_like_functions() {
    let tool = "tool get-user\"Get a user\" uid:t>R _ t timeout:5,retry:2\n";
    let program = verify_support::parse(&format!("{tool}f>R _ t;get-user \"42\""));
    let checked = ilo_compiler::verify::verify(program).expect("tool accepted");
    assert_eq!(
        messages(&checked.warnings),
        ["ILO-T017: tool 'get-user' has no provider configured here: every call returns ~nil"]
    );
    assert_eq!(
        error_codes(&format!("{tool}f>R _ t;get-user 42")),
        ["ILO-T013"]
    );
    assert_eq!(
        error_codes(&format!("{tool}f>R _ t;get-user()")),
        ["ILO-T006"]
    );
}

#[test]
fn loop_variables_and_arm_bindings_are_block_scoped() {
    assert_eq!(error_codes("f>n;@i 0..3{x=i};i"), ["ILO-T004"]);
    assert_eq!(error_codes("f>n;r=num \"1\";?r{~v:v;^e:0};v"), ["ILO-T004"]);
    // A binding made in a loop body is a function-level local.
    ok("f>n;@i 0..3{x=i};x");
}

#[test]
fn long_aliases_become_short_names_with_a_hint() {
    let checked = ok("f>n;floor 2.5");
    let hint = checked
        .warnings
        .iter()
        .find(|d| d.severity == Severity::Hint)
        .expect("hint");
    assert_eq!(hint.message, "`floor` → `flr` (canonical short form)");
}

#[test]
fn a_subjectless_match_consumes_the_statement_before_it() {
    let checked = ok("f>t;fmt \"{}\" 1;?{t s:s;_:\"\"}");
    assert!(
        checked.warnings.is_empty(),
        "{:?}",
        messages(&checked.warnings)
    );
}

/// Names brought in by `use` share the namespace with the importing file's own.
#[test]
fn an_imported_name_that_collides_is_a_duplicate() {
    let dir = std::env::temp_dir().join(format!("ilo-verify-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("lib.ilo"), "dbl x:n>n;*x 2\n").expect("write lib");
    std::fs::write(
        dir.join("main.ilo"),
        "use \"lib.ilo\"\ndbl x:n>n;+x x\nmain>n;dbl 2\n",
    )
    .expect("write main");
    let loaded = ilo_compiler::loader::load_file(&dir.join("main.ilo"));
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        loaded.diagnostics.is_empty(),
        "{:?}",
        messages(&loaded.diagnostics)
    );
    let diags =
        ilo_compiler::verify::verify(loaded.program.expect("program")).expect_err("collision");
    assert_eq!(
        messages(&diags),
        ["ILO-T001: duplicate definition of 'dbl'"]
    );
    let first = diags[0].labels[1].span.file;
    let second = diags[0].labels[0].span.file;
    assert_ne!(first, second, "the two definitions are in different files");
}

#[test]
fn map_keys_are_text_or_numbers() {
    let d = first_error("f>M t n;mset mmap true 1");
    assert_eq!(d.code, "ILO-T013");
    assert_eq!(d.message, "'mset' expects a map key of type t or n, got b");
    assert_eq!(error_codes("f>b;mhas mmap [1]"), ["ILO-T013"]);
    ok("f>t;m=mset mmap 7 \"seven\";mget m 7");
    ok("f k:_>b;mhas mmap k");
}
