//! Tests for the JSON builtins and the value <-> JSON mapping.

use super::*;
use std::collections::BTreeMap;

use crate::value::{MapKey, Obj, RecordTypeRef};

fn t(s: &str) -> Value {
    Value::text(s)
}

fn call(f: fn(&[Value]) -> RtResult, args: &[Value]) -> String {
    f(args).expect("builtin failed").to_string()
}

#[test]
fn jpar_objects_become_sorted_json_records() {
    assert_eq!(call(jpar, &[t(r#"{"a":[1,2]}"#)]), "~json {a: [1, 2]}");
    assert_eq!(call(jpar, &[t(r#"{"b":1,"a":2}"#)]), "~json {a: 2, b: 1}");
    assert_eq!(
        call(jpar, &[t(r#"[1,"a",null,true,{"k":2}]"#)]),
        "~[1, a, nil, true, json {k: 2}]"
    );
}

#[test]
fn jpar_reports_parse_errors_as_err() {
    let r = jpar(&[t("{bad")]).unwrap();
    let e = r.as_result().unwrap().unwrap_err();
    assert!(e.as_text().unwrap().contains("line 1 column 2"), "{e}");
    assert!(jpar(&[Value::num(1.0)]).is_err());
}

#[test]
fn jpar_shares_record_shapes_between_equal_key_sets() {
    let v = jpar(&[t(r#"[{"x":1},{"x":2},{"y":3}]"#)]).unwrap();
    let list = v.as_result().unwrap().unwrap();
    let recs: Vec<_> = list
        .as_list()
        .unwrap()
        .iter()
        .map(|r| r.as_record().unwrap())
        .collect();
    assert!(RecordTypeRef::ptr_eq(&recs[0].ty, &recs[1].ty));
    assert!(!RecordTypeRef::ptr_eq(&recs[0].ty, &recs[2].ty));
}

#[test]
fn jdmp_scalars_and_lists() {
    assert_eq!(call(jdmp, &[Value::num(42.0)]), "42");
    assert_eq!(call(jdmp, &[Value::num(-0.5)]), "-0.5");
    assert_eq!(call(jdmp, &[t("hello")]), r#""hello""#);
    let l = Value::list(vec![Value::num(1.0), t("a"), Value::bool(true), Value::NIL]);
    assert_eq!(call(jdmp, &[l]), r#"[1,"a",true,null]"#);
    assert_eq!(call(jdmp, &[Value::num(f64::INFINITY)]), "null");
}

#[test]
fn jdmp_records_sort_keys_maps_stringify_numbers() {
    let ty = Arc::new(RecordType {
        name: "u".into(),
        fields: vec!["name".into(), "age".into()],
    });
    let r = Value::record(ty, vec![t("a"), Value::num(3.0)]);
    assert_eq!(call(jdmp, &[r]), r#"{"age":3,"name":"a"}"#);
    let mut m = BTreeMap::new();
    m.insert(MapKey::Int(7), t("seven"));
    m.insert(MapKey::Text("k".into()), Value::list(vec![Value::num(1.0)]));
    assert_eq!(call(jdmp, &[Value::map(m)]), r#"{"7":"seven","k":[1]}"#);
}

#[test]
fn jdmp_results() {
    assert_eq!(call(jdmp, &[Value::ok(Value::num(1.0))]), r#"{"ok":1}"#);
    assert_eq!(call(jdmp, &[Value::err(t("no"))]), r#"{"err":"no"}"#);
}

#[test]
fn jpth_walks_keys_and_indices() {
    let doc = t(r#"{"a":{"b":3},"items":[{"name":"x"},{"name":"y"}],"f":2.5}"#);
    assert_eq!(call(jpth, &[doc.clone(), t("a.b")]), "~3");
    assert_eq!(call(jpth, &[doc.clone(), t("items.1.name")]), "~y");
    assert_eq!(call(jpth, &[doc.clone(), t("a")]), r#"~{"b":3}"#);
    assert_eq!(call(jpth, &[doc.clone(), t("f")]), "~2.5");
    assert_eq!(
        call(jpth, &[doc, t("")]),
        r#"~{"a":{"b":3},"f":2.5,"items":[{"name":"x"},{"name":"y"}]}"#
    );
}

#[test]
fn jpth_errors() {
    let doc = t(r#"{"a":[1],"s":"x"}"#);
    assert_eq!(call(jpth, &[doc.clone(), t("b")]), "^key 'b' not found");
    assert_eq!(
        call(jpth, &[doc.clone(), t("a.3")]),
        "^index 3 out of bounds (length 1)"
    );
    assert_eq!(
        call(jpth, &[doc.clone(), t("a.x")]),
        "^expected an array index, got 'x'"
    );
    assert_eq!(
        call(jpth, &[doc.clone(), t("s.y")]),
        "^cannot look up 'y' in a string"
    );
    assert!(call(jpth, &[t("[1"), t("0")]).starts_with("^EOF while parsing"));
}

#[test]
fn round_trip_keeps_values() {
    let src = r#"{"a":[1,2.5,"x\"y",null,false],"b":{"c":"é🎉"}}"#;
    let v = from_json(serde_json::from_str(src).unwrap());
    assert_eq!(crate::deep::json::to_json_text(&v), src);
}

// ── edge cases ──

fn parsed(src: &str) -> String {
    call(jpar, &[t(src)])
}

fn dumped(v: Value) -> String {
    call(jdmp, &[v])
}

#[test]
fn strings_decode_escapes_and_unicode() {
    let v = jpar(&[t(r#""say \"hi\"\n\t\u00e9\ud83c\udf89\/""#)]).unwrap();
    let s = v.as_result().unwrap().unwrap();
    assert_eq!(s.as_text(), Some("say \"hi\"\n\té🎉/"));
}

#[test]
fn jdmp_escapes_what_json_requires_and_keeps_utf8() {
    assert_eq!(dumped(t("a\"b\\c\nd\u{1}")), r#""a\"b\\c\nd\u0001""#);
    assert_eq!(dumped(t("é🎉/")), "\"é🎉/\"");
}

#[test]
fn numbers_at_the_edges() {
    // Beyond 2^53 integers round to the nearest f64, as number literals do, and
    // display as that f64's exact integer.
    assert_eq!(parsed("9007199254740993"), "~9007199254740992");
    assert_eq!(parsed("12345678901234567890"), "~12345678901234567168");
    assert_eq!(parsed("-1.5e-7"), "~-0.00000015");
    assert_eq!(parsed("1E3"), "~1000");
    assert_eq!(parsed("1e400"), "^number out of range at line 1 column 5");
    assert_eq!(dumped(Value::num(9007199254740992.0)), "9007199254740992");
    assert_eq!(dumped(Value::num(-0.0)), "0");
    assert_eq!(dumped(Value::num(0.1 + 0.2)), "0.30000000000000004");
    assert_eq!(dumped(Value::num(-123.0)), "-123");
    // Integral values past the i64 range keep serde's float form, which still parses.
    assert_eq!(dumped(Value::num(1e21)), "1e+21");
    assert_eq!(parsed(&dumped(Value::num(1e21))), "~1000000000000000000000");
    assert_eq!(dumped(Value::num(f64::NAN)), "null");
}

#[test]
fn nested_and_unusual_objects() {
    assert_eq!(
        parsed(r#"{"a":{"b":{"c":[{"d":1},[]]}}}"#),
        "~json {a: json {b: json {c: [json {d: 1}, []]}}}"
    );
    assert_eq!(parsed("{}"), "~json {}");
    // The last of duplicate keys wins.
    assert_eq!(parsed(r#"{"a":1,"a":2}"#), "~json {a: 2}");
    // Fields sort by byte order, whatever the key looks like.
    assert_eq!(
        parsed(r#"{"é":1,"z":2,"A":3,"with space":4}"#),
        "~json {A: 3, with space: 4, z: 2, é: 1}"
    );
}

#[test]
fn malformed_documents() {
    assert_eq!(parsed(""), "^EOF while parsing a value at line 1 column 0");
    assert_eq!(parsed("[1] x"), "^trailing characters at line 1 column 5");
    assert_eq!(parsed("[1,]"), "^trailing comma at line 1 column 4");
    assert_eq!(parsed("{\"a\"\n:}"), "^expected value at line 2 column 2");
    assert_eq!(parsed("'a'"), "^expected value at line 1 column 1");
}

#[test]
fn jdmp_nested_containers() {
    let mut inner = BTreeMap::new();
    inner.insert(MapKey::Int(10), Value::ok(Value::list(vec![])));
    inner.insert(MapKey::Int(2), Value::err(Value::NIL));
    let mut outer = BTreeMap::new();
    outer.insert(MapKey::Text("m".into()), Value::map(inner));
    outer.insert(MapKey::Text("e".into()), Value::map(BTreeMap::new()));
    // Number keys become strings first, so they sort as strings ("10" < "2").
    assert_eq!(
        dumped(Value::map(outer)),
        r#"{"e":{},"m":{"10":{"ok":[]},"2":{"err":null}}}"#
    );
}

#[test]
fn map_keys_that_collide_as_strings_keep_the_text_key() {
    let mut m = BTreeMap::new();
    m.insert(MapKey::Int(7), t("int"));
    m.insert(MapKey::Text("7".into()), t("text"));
    assert_eq!(dumped(Value::map(m)), r#"{"7":"text"}"#);
}

#[test]
fn functions_have_no_json_form() {
    // SAFETY: the value is only converted to JSON, never called.
    let f = Value::alloc(Obj::Func(Box::new(unsafe {
        crate::value::Func::new("f".into(), 0, 0, vec![])
    })));
    assert_eq!(dumped(Value::list(vec![f])), "[null]");
}

#[test]
fn jpth_result_forms() {
    let doc = t(r#"[{"s":"é \"q\"","n":null,"b":false,"l":[1,[2]],"f":1.0}]"#);
    let at = |p: &str| call(jpth, &[doc.clone(), t(p)]);
    assert_eq!(at("0.s"), "~é \"q\"");
    assert_eq!(at("0.n"), "~null");
    assert_eq!(at("0.b"), "~false");
    assert_eq!(at("0.l"), "~[1,[2]]");
    assert_eq!(at("0.l.1.0"), "~2");
    // The number keeps the spelling class it had in the document.
    assert_eq!(at("0.f"), "~1.0");
    assert_eq!(at("-1"), "^expected an array index, got '-1'");
    assert_eq!(at("0."), "^key '' not found");
    assert_eq!(at("0.n.x"), "^cannot look up 'x' in null");
}

#[test]
fn arbitrary_values_survive_dump_then_parse() {
    let src = r#"{"big":123456789012,"deep":[[[{"x":"\u0000"}]]],"neg":-2.5,"t":true}"#;
    let once = dumped(from_json(serde_json::from_str(src).unwrap()));
    assert_eq!(once, src);
    let again = dumped(from_json(serde_json::from_str(&once).unwrap()));
    assert_eq!(again, once);
}
