//! `ilo build`: ahead-of-time binaries behave like the JIT, through the real binary.
//!
//! - every annotated example (`-- run:` / `-- out:` / `-- err:`, the format
//!   tests/examples.rs documents) is built once and each case is run against the
//!   binary: it must match the annotation, and stdout, stderr and the exit code must be
//!   byte for byte those of `ilo FILE` on the same arguments;
//! - usage errors and runtime-error diagnostics are identical too;
//! - a program that does not compile fails the build with its diagnostic and leaves
//!   no output file, and so do a missing runtime library and a missing C compiler.
//!
//! Builds take about a second each (mostly the link), so they run on a few threads.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

fn ilo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ilo"))
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

// ── the annotation format (kept in step with tests/examples.rs) ──

#[derive(Debug)]
struct Case {
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

fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(args) = directive(line, "run") {
            cases.push(Case {
                line: i + 1,
                args: split_args(args),
                out: Vec::new(),
                err: Vec::new(),
            });
        } else if let Some(out) = directive(line, "out") {
            if let Some(c) = cases.last_mut() {
                c.out.push(out.to_string());
            }
        } else if let Some(err) = directive(line, "err") {
            if let Some(c) = cases.last_mut() {
                c.err.push(err.to_string());
            }
        }
    }
    cases
}

/// Annotated command examples (server examples are built by the server tests below).
fn command_examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(examples_dir())
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

// ── building ──

fn build(source: &Path, out: &Path, extra: &[&str]) -> Output {
    ilo()
        .arg("build")
        .arg(source)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .expect("spawn ilo build")
}

/// Build every file on a few threads; `(source, binary or build failure)`.
fn build_all(files: &[PathBuf], dir: &Path) -> Vec<(PathBuf, Result<PathBuf, String>)> {
    let queue = Mutex::new(files.iter().enumerate().collect::<Vec<_>>());
    let done = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| loop {
                let next = queue.lock().unwrap().pop();
                let Some((i, file)) = next else { break };
                let out = dir.join(format!("prog{i}"));
                let o = build(file, &out, &[]);
                let result = if o.status.success() && out.is_file() {
                    Ok(out)
                } else {
                    Err(format!(
                        "build failed ({}): {}",
                        o.status,
                        String::from_utf8_lossy(&o.stderr)
                    ))
                };
                done.lock().unwrap().push((file.clone(), result));
            });
        }
    });
    let mut built = done.into_inner().unwrap();
    built.sort();
    built
}

fn show(o: &Output) -> String {
    format!(
        "exit {:?}, stdout {:?}, stderr {:?}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Problems with one case: against its annotation, and against the JIT.
fn check_case(file: &Path, bin: &Path, case: &Case, workdir: &Path) -> Vec<String> {
    let aot = Command::new(bin)
        .args(&case.args)
        .current_dir(workdir)
        .output()
        .expect("run built binary");
    let jit = ilo()
        .arg(file)
        .args(&case.args)
        .current_dir(workdir)
        .output()
        .expect("run ilo");
    let at = format!("{}:{} (args {:?})", file.display(), case.line, case.args);
    let mut problems = Vec::new();
    let want_code = if case.err.is_empty() { 0 } else { 1 };
    let want_out: String = case.out.iter().map(|l| format!("{l}\n")).collect();
    let stderr = String::from_utf8_lossy(&aot.stderr);
    if aot.status.code() != Some(want_code) || String::from_utf8_lossy(&aot.stdout) != want_out {
        problems.push(format!(
            "{at}: binary gave {}, annotated {want_out:?} exit {want_code}",
            show(&aot)
        ));
    }
    for e in &case.err {
        if !stderr.contains(e.as_str()) {
            problems.push(format!("{at}: binary's stderr lacks {e:?}"));
        }
    }
    if (aot.status.code(), &aot.stdout, &aot.stderr)
        != (jit.status.code(), &jit.stdout, &jit.stderr)
    {
        problems.push(format!(
            "{at}: binary gave {}\n  but ilo gave {}",
            show(&aot),
            show(&jit)
        ));
    }
    problems
}

#[test]
fn every_annotated_example_builds_and_behaves_like_the_jit() {
    let files = command_examples();
    assert!(!files.is_empty(), "no examples found");
    let bins = tempfile::tempdir().expect("tempdir");
    let built = build_all(&files, bins.path());
    let workdir = tempfile::tempdir().expect("tempdir");
    let mut problems = Vec::new();
    let mut total = 0;
    for (file, bin) in &built {
        let bin = match bin {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        let cases = parse_cases(&fs::read_to_string(file).expect("read example"));
        for case in cases
            .iter()
            .filter(|c| !c.out.is_empty() || !c.err.is_empty())
        {
            total += 1;
            problems.extend(check_case(file, bin, case, workdir.path()));
        }
    }
    assert!(total > 0, "no annotated cases found");
    assert!(
        problems.is_empty(),
        "{} problems over {total} cases:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Write `source` as `name` in `dir` and build it; the program file and the output.
fn build_source(dir: &Path, name: &str, source: &str) -> (PathBuf, PathBuf, Output) {
    let file = dir.join(name);
    fs::write(&file, source).expect("write program");
    let out = dir.join(name.trim_end_matches(".ilo"));
    let o = build(&file, &out, &[]);
    (file, out, o)
}

#[test]
fn usage_errors_and_runtime_errors_match_the_jit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = "div a:n b:n>n;x=at [1 2 3] b;/a x\nboom>n;hd []\nmain>n;1\n";
    let (file, bin, o) = build_source(dir.path(), "errs.ilo", src);
    assert!(o.status.success(), "{}", show(&o));
    let cases: &[&[&str]] = &[
        &["div", "6", "1"],
        &["div", "6", "7"],
        &["boom"],
        &["div", "x", "1"],
        &["div", "1"],
        &["nosuch"],
        &[],
    ];
    for args in cases {
        let aot = Command::new(&bin).args(*args).output().expect("run binary");
        let jit = ilo().arg(&file).args(*args).output().expect("run ilo");
        assert_eq!(
            (aot.status.code(), &aot.stdout, &aot.stderr),
            (jit.status.code(), &jit.stdout, &jit.stderr),
            "args {args:?}: binary {} / ilo {}",
            show(&aot),
            show(&jit)
        );
    }
    // The runtime error really is a located diagnostic (JSON on a pipe).
    let aot = Command::new(&bin).arg("boom").output().expect("run binary");
    let stderr = String::from_utf8_lossy(&aot.stderr);
    assert_eq!(aot.status.code(), Some(1));
    assert!(stderr.contains("\"code\":\"ILO-R004\""), "{stderr}");
    assert!(stderr.contains("errs.ilo"), "{stderr}");
    assert!(stderr.contains("\"line\":2"), "{stderr}");
}

#[test]
fn a_program_that_does_not_compile_writes_no_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, out, o) = build_source(dir.path(), "bad.ilo", "f x:n>n;+x undefined-thing\n");
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("ILO-"), "diagnostic expected: {stderr}");
    assert!(stderr.contains("undefined-thing"), "{stderr}");
    assert!(!out.exists(), "no output file may be written");
}

#[test]
fn missing_toolchain_pieces_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("ok.ilo");
    fs::write(&file, "f>n;42\n").expect("write program");
    let out = dir.path().join("ok");

    let o = ilo()
        .args(["build"])
        .arg(&file)
        .arg("-o")
        .arg(&out)
        .env("CC", dir.path().join("no-such-cc"))
        .output()
        .expect("spawn ilo build");
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no C compiler"),
        "{}",
        show(&o)
    );
    assert!(!out.exists());

    let o = ilo()
        .args(["build"])
        .arg(&file)
        .arg("-o")
        .arg(&out)
        .env("ILO_RUNTIME_LIB", dir.path().join("missing.a"))
        .output()
        .expect("spawn ilo build");
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("ILO_RUNTIME_LIB"),
        "{}",
        show(&o)
    );
    assert!(!out.exists());

    // And with everything in place the same program builds, reports its size and runs.
    let o = build(&file, &out, &[]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("MiB)"),
        "{}",
        show(&o)
    );
    let run = Command::new(&out).output().expect("run binary");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "42\n");
}
