use std::collections::BTreeMap;
use std::sync::Arc;

use super::display::write_display;
use super::equal::equal;
use super::json::{to_json_pretty, to_json_text};
use crate::value::{MapKey, RecordType, Value};

/// `[n-1, [n-2, … [0, []]]]`, built the way `x=[i x]` in a loop builds it.
fn nested(n: usize) -> Value {
    let mut x = Value::list(Vec::new());
    for i in 0..n {
        x = Value::list(vec![Value::num(i as f64), x]);
    }
    x
}

/// Run `f` on a thread with a stack far too small for one frame per level.
fn on_small_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn_scoped(s, f)
            .expect("spawn")
            .join()
            .expect("no overflow");
    });
}

#[test]
fn a_million_levels_need_no_stack() {
    on_small_stack(|| {
        let a = nested(1_000_000);
        let b = nested(1_000_000);
        assert!(equal(&a, &b));
        assert!(!equal(&a, &nested(999_999)));
        let mut text = String::new();
        write_display(&a, &mut text).expect("display");
        assert!(text.starts_with("[999999, [999998, ["));
        assert!(text.ends_with(&format!("[0, []]{}", "]".repeat(999_999))));
        let json = to_json_text(&a);
        assert!(json.starts_with("[999999,[999998,["));
        // One space fewer per level: `[i,` instead of `[i, `.
        assert_eq!(json.len(), text.len() - 1_000_000);
        drop(a);
        drop(b);
        let deep_result = (0..1_000_000).fold(Value::NIL, |v, _| Value::ok(v));
        assert_eq!(to_json_text(&deep_result).len(), 7 * 1_000_000 + 4);
        drop(deep_result);
    });
}

#[test]
fn shared_elements_are_freed_once_and_kept_while_referenced() {
    let shared = Value::list(vec![Value::text("kept")]);
    let outer = Value::list(vec![shared.clone(), shared.clone()]);
    drop(outer);
    assert!(shared.is_unique());
    assert_eq!(shared.to_string(), "[kept]");
}

fn record() -> Value {
    let ty = Arc::new(RecordType {
        name: "pt".into(),
        fields: vec!["y".into(), "x".into()],
    });
    Value::record(ty, vec![Value::num(2.0), Value::list(vec![])])
}

#[test]
fn display_forms() {
    let mut m = BTreeMap::new();
    m.insert(MapKey::Int(1), Value::ok(Value::text("one")));
    m.insert(MapKey::Text("b".into()), Value::err(Value::NIL));
    let v = Value::list(vec![Value::map(m), record(), Value::map(BTreeMap::new())]);
    assert_eq!(v.to_string(), "[{1: ~one; b: ^nil}, pt {y: 2, x: []}, {}]");
}

#[test]
fn json_forms() {
    let mut m = BTreeMap::new();
    m.insert(MapKey::Int(10), Value::num(0.5));
    m.insert(MapKey::Int(2), Value::num(f64::NAN));
    m.insert(MapKey::Text("10".into()), Value::text("text key wins"));
    let v = Value::list(vec![Value::map(m), record(), Value::ok(Value::bool(true))]);
    assert_eq!(
        to_json_text(&v),
        r#"[{"10":"text key wins","2":null},{"x":[],"y":2},{"ok":true}]"#
    );
    let parsed: serde_json::Value = serde_json::from_str(&to_json_text(&v)).unwrap();
    assert_eq!(
        to_json_pretty(&v),
        serde_json::to_string_pretty(&parsed).unwrap()
    );
}

#[test]
fn equality_is_structural() {
    assert!(equal(&record(), &record()));
    assert!(!equal(&record(), &Value::list(vec![])));
    let a = Value::list(vec![Value::num(1.0), Value::text("x")]);
    let b = Value::list(vec![Value::num(1.0), Value::text("y")]);
    assert!(!equal(&a, &b));
    assert!(equal(&Value::num(0.0), &Value::num(-0.0)));
    assert!(!equal(&Value::num(f64::NAN), &Value::num(f64::NAN)));
}
