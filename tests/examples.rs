//! Runs every annotated case in `examples/*.ilo` through the real binary.
//!
//! A case is a comment line `-- run: [func] [args…]` followed by the lines it expects:
//! `-- out: text` for each stdout line (exit 0), or `-- err: text` for text that must
//! appear on stderr (exit 1). Arguments are split on spaces; double quotes group
//! words (`-- run: slug "Hello World"`). Every example program must carry at least one
//! case, so a new example cannot silently go untested. Cases run in a scratch working
//! directory, so examples may write files with relative names. Server examples (`httpd-*`)
//! are exercised by the server's own tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug)]
struct Case {
    file: PathBuf,
    line: usize,
    args: Vec<String>,
    out: Vec<String>,
    err: Vec<String>,
}

/// The text after `-- key:`, without the single space that follows the colon.
fn directive<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix("--")?.trim_start();
    let rest = rest.strip_prefix(key)?.strip_prefix(':')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Split on spaces, keeping double-quoted groups together (quotes removed).
fn split_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' | '\t' if !quoted => {
                if any {
                    args.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            _ => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        args.push(cur);
    }
    args
}

fn parse_cases(file: &Path, text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(args) = directive(line, "run") {
            cases.push(Case {
                file: file.to_path_buf(),
                line: i + 1,
                args: split_args(args),
                out: Vec::new(),
                err: Vec::new(),
            });
        } else if let Some(out) = directive(line, "out") {
            let case = cases.last_mut().unwrap_or_else(|| {
                panic!(
                    "{}:{}: `-- out:` before any `-- run:`",
                    file.display(),
                    i + 1
                )
            });
            case.out.push(out.to_string());
        } else if let Some(err) = directive(line, "err") {
            let case = cases.last_mut().unwrap_or_else(|| {
                panic!(
                    "{}:{}: `-- err:` before any `-- run:`",
                    file.display(),
                    i + 1
                )
            });
            case.err.push(err.to_string());
        }
    }
    cases
}

fn example_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("examples directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ilo"))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("httpd-"))
        })
        .collect();
    files.sort();
    files
}

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
    let want_code = if case.err.is_empty() { 0 } else { 1 };
    let want_out: String = case.out.iter().map(|l| format!("{l}\n")).collect();
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
        Some(format!(
            "{}:{} (args {:?}): {}",
            case.file.display(),
            case.line,
            case.args,
            problems.join("; ")
        ))
    }
}

#[test]
fn every_example_runs_as_annotated() {
    let files = example_files();
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
