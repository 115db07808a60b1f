//! Runs every annotated case in `examples/*.ilo` through the real binary.
//!
//! The annotation format is described in tests/support/annotations.rs. Every example
//! program must carry at least one
//! case, so a new example cannot silently go untested. Cases run in a scratch working
//! directory, so examples may write files with relative names. Server examples (`httpd-*`)
//! are exercised by the server's own tests.

use std::fs;
use std::path::Path;
use std::process::Command;

#[path = "support/annotations.rs"]
mod annotations;

use annotations::{command_examples, parse_cases, split_args, Case};

/// Run one case in `workdir`; `None` when it behaves as annotated.
fn run_case(case: &Case, workdir: &Path) -> Option<String> {
    let o = Command::new(env!("CARGO_BIN_EXE_ilo"))
        .arg(&case.file)
        .args(&case.args)
        .current_dir(workdir)
        .output()
        .expect("spawn ilo");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let want_code = case.want_code();
    let want_out = case.want_stdout();
    let mut problems = Vec::new();
    if o.status.code() != Some(want_code) {
        problems.push(format!("exit {:?}, want {want_code}", o.status.code()));
    }
    if stdout != want_out {
        problems.push(format!("stdout {stdout:?}, want {want_out:?}"));
    }
    for e in &case.err {
        if !stderr.contains(e.as_str()) {
            problems.push(format!("stderr lacks {e:?}"));
        }
    }
    if case.err.is_empty() && !stderr.is_empty() {
        problems.push(format!("unexpected stderr {stderr:?}"));
    }
    if problems.is_empty() {
        None
    } else {
        Some(format!("{}: {}", case.at(), problems.join("; ")))
    }
}

#[test]
fn every_example_runs_as_annotated() {
    let files = command_examples();
    assert!(!files.is_empty(), "no examples found");
    // Examples that write files do so in the working directory: a scratch one, removed
    // when the test ends.
    let workdir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut total = 0;
    for file in &files {
        let text = fs::read_to_string(file).expect("read example");
        let cases = parse_cases(file, &text);
        if cases.is_empty() {
            failures.push(format!("{}: no `-- run:` cases", file.display()));
        }
        for case in &cases {
            if case.out.is_empty() && case.err.is_empty() {
                failures.push(format!(
                    "{}:{}: a `-- run:` without `-- out:` or `-- err:`",
                    file.display(),
                    case.line
                ));
                continue;
            }
            total += 1;
            failures.extend(run_case(case, workdir.path()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} example cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn annotations_parse() {
    let text = "-- run: slug \"Hello World\" 3\n-- out: a\n-- out:\n-- run:\n-- err: ^bad\nf>n;1\n";
    let cases = parse_cases(Path::new("x.ilo"), text);
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].args, ["slug", "Hello World", "3"]);
    assert_eq!(cases[0].out, ["a", ""]);
    assert!(cases[1].args.is_empty());
    assert_eq!(cases[1].err, ["^bad"]);
    assert_eq!(split_args("\"\" x"), ["", "x"]);
}
