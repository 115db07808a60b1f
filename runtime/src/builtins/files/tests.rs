//! Tests for the file builtins, against real files in a temporary directory.

use super::*;
use std::sync::Arc;

use crate::value::RecordType;

fn t(s: &str) -> Value {
    Value::text(s)
}

fn path_in(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_string_lossy().into_owned()
}

fn show(r: RtResult) -> String {
    r.expect("builtin raised").to_string()
}

fn read_back(path: &str) -> String {
    std::fs::read_to_string(path).expect("file written")
}

#[test]
fn wr_then_rd_plain_text_returns_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "probe-wr.txt");
    assert_eq!(show(wr(&[t(&p), t("hi")])), format!("~{p}"));
    assert_eq!(show(rd(&[t(&p)])), "~hi");
    // Overwrites rather than appends.
    wr(&[t(&p), t("second")]).unwrap();
    assert_eq!(read_back(&p), "second");
}

#[test]
fn missing_files_are_err_values_with_the_os_message() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "no-such-dir/x");
    let want = "^No such file or directory (os error 2)";
    assert_eq!(show(rdl(&[t(&p)])), want);
    assert_eq!(show(rd(&[t(&p)])), want);
    assert_eq!(show(wr(&[t(&p), t("x")])), want);
    assert_eq!(show(wrl(&[t(&p), Value::list(vec![])])), want);
    let e = rdjl(&[t(&p)]).unwrap_err();
    assert_eq!(e.code, codes::PANIC);
    assert_eq!(e.message, "rdjl: No such file or directory (os error 2)");
}

#[test]
fn rdl_splits_lines_and_drops_line_endings() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "lines.txt");
    std::fs::write(&p, "a\r\nb\n\nc\n").unwrap();
    assert_eq!(show(rdl(&[t(&p)])), "~[a, b, , c]");
    std::fs::write(&p, "").unwrap();
    assert_eq!(show(rdl(&[t(&p)])), "~[]");
}

#[test]
fn wrl_joins_with_newlines_and_round_trips_through_rdl() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "out.txt");
    let xs = Value::list(vec![t("one"), t("two"), Value::num(3.0)]);
    assert_eq!(show(wrl(&[t(&p), xs])), format!("~{p}"));
    assert_eq!(read_back(&p), "one\ntwo\n3");
    assert_eq!(show(rdl(&[t(&p)])), "~[one, two, 3]");
    assert_eq!(
        wrl(&[t(&p), t("x")]).unwrap_err().message,
        "wrl: expected L, got t"
    );
}

#[test]
fn rd_picks_format_from_extension() {
    let dir = tempfile::tempdir().unwrap();
    let csv = path_in(&dir, "d.CSV");
    std::fs::write(&csv, "name,note\nann,\"a, b\"\n").unwrap();
    assert_eq!(show(rd(&[t(&csv)])), "~[[name, note], [ann, a, b]]");
    let rows = rd(&[t(&csv)]).unwrap();
    let rows = rows.as_result().unwrap().unwrap().as_list().unwrap();
    assert_eq!(rows[1].as_list().unwrap()[1].as_text(), Some("a, b"));

    let tsv = path_in(&dir, "d.tsv");
    std::fs::write(&tsv, "a\tb,c\n").unwrap();
    assert_eq!(show(rd(&[t(&tsv)])), "~[[a, b,c]]");

    let json = path_in(&dir, "d.json");
    std::fs::write(&json, r#"{"k":[1,{"z":null}]}"#).unwrap();
    assert_eq!(show(rd(&[t(&json)])), "~json {k: [1, json {z: nil}]}");

    let txt = path_in(&dir, "d.csv.txt");
    std::fs::write(&txt, "a,b").unwrap();
    assert_eq!(show(rd(&[t(&txt)])), "~a,b");
}

#[test]
fn rd_explicit_format_overrides_extension() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "d.json");
    std::fs::write(&p, "[1, 2]").unwrap();
    assert_eq!(show(rd(&[t(&p), t("raw")])), "~[1, 2]");
    let raw = rd(&[t(&p), t("raw")]).unwrap();
    assert!(raw.as_result().unwrap().unwrap().as_text().is_some());
    assert_eq!(show(rd(&[t(&p), t("csv")])), "~[[[1,  2]]]");
    assert_eq!(
        show(rd(&[t(&p), t("xml")])),
        "^unknown format 'xml' (expected csv, tsv, json or raw)"
    );
    assert_eq!(rd(&[t(&p), Value::num(1.0)]).unwrap_err().code, codes::TYPE);
}

#[test]
fn rd_bad_json_and_bad_utf8_are_err_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "bad.json");
    std::fs::write(&p, "{\"a\":").unwrap();
    assert_eq!(
        show(rd(&[t(&p)])),
        "^EOF while parsing a value at line 1 column 5"
    );
    let bin = path_in(&dir, "bin.txt");
    std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
    assert_eq!(show(rd(&[t(&bin)])), "^stream did not contain valid UTF-8");
}

#[test]
fn rdb_decodes_text_in_memory() {
    assert_eq!(show(rdb(&[t("a,b\n1,2"), t("csv")])), "~[[a, b], [1, 2]]");
    assert_eq!(show(rdb(&[t("a\tb"), t("tsv")])), "~[[a, b]]");
    assert_eq!(show(rdb(&[t("[true]"), t("json")])), "~[true]");
    assert_eq!(show(rdb(&[t("x,y"), t("raw")])), "~x,y");
    assert_eq!(
        show(rdb(&[t("nux"), t("json")])),
        "^expected ident at line 1 column 3"
    );
    assert!(show(rdb(&[t("x"), t("yaml")])).starts_with("^unknown format 'yaml'"));
}

#[test]
fn rdjl_parses_each_non_blank_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "events.jsonl");
    std::fs::write(&p, "{\"n\":1}\n\n   \n[2]\nnot json\n").unwrap();
    let out = show(rdjl(&[t(&p)]));
    assert_eq!(
        out,
        "[~json {n: 1}, ~[2], ^expected ident at line 1 column 2]"
    );
}

#[test]
fn wr_csv_quotes_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "out.csv");
    let row = |cells: Vec<Value>| Value::list(cells);
    let data = Value::list(vec![
        row(vec![t("id"), t("note")]),
        row(vec![Value::num(1.0), t("a,b")]),
        row(vec![Value::num(2.5), t("say \"hi\"\nbye")]),
        row(vec![Value::bool(true), Value::NIL]),
    ]);
    assert_eq!(show(wr(&[t(&p), data, t("csv")])), format!("~{p}"));
    assert_eq!(
        read_back(&p),
        "id,note\n1,\"a,b\"\n2.5,\"say \"\"hi\"\"\nbye\"\ntrue,nil\n"
    );
    assert_eq!(
        show(rd(&[t(&p)])),
        "~[[id, note], [1, a,b], [2.5, say \"hi\"\nbye], [true, nil]]"
    );
}

#[test]
fn wr_tsv_and_shape_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "out.tsv");
    let data = Value::list(vec![Value::list(vec![t("a b"), t("c\td")])]);
    wr(&[t(&p), data, t("tsv")]).unwrap();
    assert_eq!(read_back(&p), "a b\t\"c\td\"\n");
    assert_eq!(
        show(wr(&[t(&p), t("flat"), t("csv")])),
        "^csv data must be a list of rows, got t"
    );
    assert_eq!(
        show(wr(&[t(&p), Value::list(vec![Value::num(1.0)]), t("tsv")])),
        "^tsv rows must be lists, got n"
    );
    // A failed encode leaves the file as it was.
    assert_eq!(read_back(&p), "a b\t\"c\td\"\n");
}

#[test]
fn wr_json_is_pretty_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_in(&dir, "out.json");
    let ty = Arc::new(RecordType {
        name: "u".into(),
        fields: vec!["name".into(), "tags".into()],
    });
    let rec = Value::record(ty, vec![t("ü"), Value::list(vec![Value::num(1.0)])]);
    wr(&[t(&p), rec, t("json")]).unwrap();
    assert_eq!(
        read_back(&p),
        "{\n  \"name\": \"ü\",\n  \"tags\": [\n    1\n  ]\n}"
    );
    assert_eq!(show(rd(&[t(&p)])), "~json {name: ü, tags: [1]}");
}

#[test]
fn format_by_extension_ignores_directories_and_case() {
    assert_eq!(Format::from_extension("a/b.Json"), Format::Json);
    assert_eq!(Format::from_extension("dir.csv/file"), Format::Raw);
    assert_eq!(Format::from_extension(".csv"), Format::Raw);
    assert_eq!(Format::from_extension("x.tsv"), Format::Tsv);
}

#[test]
fn directories_and_non_text_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_string_lossy().into_owned();
    assert_eq!(show(rd(&[t(&d)])), "^Is a directory (os error 21)");
    assert_eq!(show(wr(&[t(&d), t("x")])), "^Is a directory (os error 21)");
    // Anything but text is written in its display form.
    let p = path_in(&dir, "n.txt");
    wr(&[t(&p), Value::list(vec![Value::num(1.5), Value::NIL])]).unwrap();
    assert_eq!(read_back(&p), "[1.5, nil]");
    assert_eq!(wr(&[Value::NIL, t("x")]).unwrap_err().code, codes::TYPE);
}
