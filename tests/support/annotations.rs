//! The annotation format of the example programs, shared by tests/examples.rs (which
//! runs each case with `ilo FILE`) and tests/aot.rs (which runs it against a built
//! binary).
//!
//! A case is a comment line `-- run: [func] [args…]` followed by the lines it expects:
//! `-- out: text` for each stdout line (exit 0), or `-- err: text` for text that must
//! appear on stderr (exit 1). Arguments are split on spaces; double quotes group
//! words (`-- run: slug "Hello World"`).

#![allow(dead_code)] // each test file uses a different part of this module

use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct Case {
    pub file: PathBuf,
    pub line: usize,
    pub args: Vec<String>,
    pub out: Vec<String>,
    pub err: Vec<String>,
}

impl Case {
    /// Where the case is written, for failure messages.
    pub fn at(&self) -> String {
        format!(
            "{}:{} (args {:?})",
            self.file.display(),
            self.line,
            self.args
        )
    }

    /// The exit code the case expects: 1 when it expects stderr text, else 0.
    pub fn want_code(&self) -> i32 {
        if self.err.is_empty() {
            0
        } else {
            1
        }
    }

    /// The whole stdout the case expects.
    pub fn want_stdout(&self) -> String {
        self.out.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// The text after `-- key:`, without the single space that follows the colon.
fn directive<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix("--")?.trim_start();
    let rest = rest.strip_prefix(key)?.strip_prefix(':')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Split on spaces, keeping double-quoted groups together (quotes removed).
pub fn split_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
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

/// Every case annotated in `text` (the contents of `file`). An expectation before
/// any `-- run:` is a mistake in the example and panics.
pub fn parse_cases(file: &Path, text: &str) -> Vec<Case> {
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
            continue;
        }
        let (key, value) = match (directive(line, "out"), directive(line, "err")) {
            (Some(v), _) => ("out", v),
            (_, Some(v)) => ("err", v),
            _ => continue,
        };
        let case = cases.last_mut().unwrap_or_else(|| {
            panic!(
                "{}:{}: `-- {key}:` before any `-- run:`",
                file.display(),
                i + 1
            )
        });
        let list = if key == "out" {
            &mut case.out
        } else {
            &mut case.err
        };
        list.push(value.to_string());
    }
    cases
}

/// The example programs that are commands (server examples, `httpd-*`, are exercised
/// by the server tests), sorted.
pub fn command_examples() -> Vec<PathBuf> {
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
