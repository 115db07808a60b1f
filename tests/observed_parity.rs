//! The regression guard for parity with upstream ilo 0.11.6: every row of the two
//! upstream fact sheets, kept as data in `tests/observed/upstream-0.11.6.jsonl`, run
//! through the real binary the way the sheet describes it.
//!
//! Sheet 1 rows run as inline code (`ilo 'PROGRAM' ARGS…`), sheet 2 rows as a saved file
//! (`ilo probe.ilo ARGS…`); both with stdin from /dev/null and stderr a pipe (so
//! diagnostics are JSON). Compared: stdout (one trailing newline removed), the exit
//! code, and stderr: `^e` exactly, otherwise the code of the first diagnostic (and its
//! severity for warnings and hints), or nothing at all when the sheet shows nothing.
//!
//! A row may carry `"differs"`: a deliberate difference with the values this project
//! gives instead, and a `spec` phrase that must appear in SPEC.md's list of
//! differences, so every exception stays documented. A row marked `"open"` is a known
//! gap still to close: it must still differ (so fixing it forces the mark off), and
//! the open rows are counted in the output.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

const ROWS: &str = include_str!("observed/upstream-0.11.6.jsonl");

/// What a row expects after its deliberate differences are applied.
struct Expected {
    stdout: String,
    stderr: String,
    exit: i64,
}

fn text(row: &Value, key: &str) -> String {
    row[key].as_str().unwrap_or_default().to_owned()
}

fn expected(row: &Value, spec_differences: &str) -> Result<Expected, String> {
    let mut want = Expected {
        stdout: text(row, "stdout"),
        stderr: text(row, "stderr"),
        exit: row["exit"].as_i64().ok_or("row without exit")?,
    };
    if let Some(d) = row.get("differs") {
        let phrase = d["spec"]
            .as_str()
            .ok_or("a difference without a spec phrase")?;
        if !spec_differences.contains(phrase) {
            return Err(format!(
                "deliberate difference not listed in SPEC.md: {phrase:?}"
            ));
        }
        if let Some(s) = d["stdout"].as_str() {
            want.stdout = s.to_owned();
        }
        if let Some(s) = d["stderr"].as_str() {
            want.stderr = s.to_owned();
        }
        if let Some(n) = d["exit"].as_i64() {
            want.exit = n;
        }
    }
    Ok(want)
}

/// The first `ILO-…` code in a fact-sheet stderr cell.
fn first_code(cell: &str) -> Option<&str> {
    let start = cell.find("ILO-")?;
    let rest = &cell[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Every diagnostic this project wrote (JSON, one per line) as (severity, code).
fn diagnostics(stderr: &str) -> Vec<(String, String)> {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match serde_json::from_str::<Value>(l) {
            Ok(d) => (text(&d, "severity"), text(&d, "code")),
            Err(_) => ("not-json".to_owned(), l.to_owned()),
        })
        .collect()
}

/// Whether our stderr says what the sheet's stderr cell says.
fn stderr_matches(want: &str, got: &str) -> bool {
    if want.is_empty() {
        return got.is_empty();
    }
    if want.starts_with('^') {
        return got == format!("{want}\n");
    }
    let diags = diagnostics(got);
    if want.starts_with("hint:") {
        return diags.iter().any(|(sev, _)| sev == "hint");
    }
    let Some(code) = first_code(want) else {
        return false;
    };
    if want.contains("(warning)") {
        return diags.iter().any(|(sev, c)| sev == "warning" && c == code);
    }
    diags
        .iter()
        .find(|(sev, _)| sev == "error")
        .is_some_and(|(_, c)| c == code)
}

fn run_row(row: &Value, dir: &Path) -> Command {
    let program = text(row, "program");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ilo"));
    if row["sheet"].as_i64() == Some(1) {
        cmd.arg(&program);
    } else {
        fs::write(dir.join("probe.ilo"), &program).expect("write probe.ilo");
        cmd.arg("probe.ilo");
    }
    let args = row["args"].as_array().cloned().unwrap_or_default();
    cmd.args(args.iter().map(|a| a.as_str().unwrap_or_default()))
        .current_dir(dir)
        .stdin(Stdio::null())
        .env_remove("NOPE_X_UNSET")
        .env_remove("NO_COLOR");
    cmd
}

#[test]
fn every_observed_row_matches() {
    let spec = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("SPEC.md"))
        .expect("read SPEC.md");
    let spec_differences = spec
        .split("## Differences from upstream")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("SPEC.md has a differences section");
    // Rows write and read files with relative names: give them a scratch directory.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut count = 0;
    let mut open_rows = 0;
    for (n, line) in ROWS
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        count += 1;
        let row: Value = serde_json::from_str(line).expect("row is JSON");
        let want = match expected(&row, spec_differences) {
            Ok(w) => w,
            Err(e) => {
                failures.push(format!("row {}: {e}", n + 1));
                continue;
            }
        };
        let open = row.get("open").is_some();
        if open {
            open_rows += 1;
        }
        let o = run_row(&row, dir.path()).output().expect("spawn ilo");
        let out = String::from_utf8_lossy(&o.stdout);
        let out = out.strip_suffix('\n').unwrap_or(&out);
        let err = String::from_utf8_lossy(&o.stderr);
        let code = o.status.code().map(i64::from);
        let matches =
            out == want.stdout && code == Some(want.exit) && stderr_matches(&want.stderr, &err);
        if open && matches {
            failures.push(format!(
                "row {} now matches: remove its \"open\" mark",
                n + 1
            ));
        } else if !open && !matches {
            failures.push(format!(
                "row {} [{}] {:?} {:?}\n  want: exit {}, stdout {:?}, stderr {:?}\n  got:  exit {:?}, stdout {:?}, stderr {:?}",
                n + 1,
                text(&row, "section"),
                text(&row, "program"),
                row["args"],
                want.exit,
                want.stdout,
                want.stderr,
                code,
                out,
                err.trim_end()
            ));
        }
    }
    println!("{count} observed rows, {open_rows} still open");
    assert!(
        failures.is_empty(),
        "{} of {count} observed rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
