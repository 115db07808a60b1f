//! The `ilo` command end to end: exit codes, help output, diagnostics in both formats
//! (and colour only on a terminal), ai.txt freshness. The upstream fact sheets are run by
//! tests/observed_parity.rs.

#[path = "../src/ai_txt.rs"]
mod ai_txt;

use std::fs;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary under test, with a predictable environment.
fn ilo() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ilo"));
    cmd.env_remove("NO_COLOR").current_dir(root());
    cmd
}

fn run(args: &[&str]) -> Output {
    ilo().args(args).output().expect("spawn ilo")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A program file in a fresh temporary directory.
fn program_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    fs::write(&path, text).expect("write program");
    (dir, path)
}

/// Every JSON diagnostic on stderr (one object per line).
fn json_diags(o: &Output) -> Vec<serde_json::Value> {
    stderr(o)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn version_and_help() {
    let o = run(&["--version"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o).trim(),
        format!("ilo {}", env!("CARGO_PKG_VERSION"))
    );

    let o = run(&["--help"]);
    assert!(o.status.success());
    for word in ["check", "run", "help", "--json", "--allow-net"] {
        assert!(stdout(&o).contains(word), "--help lacks {word}");
    }
}

#[test]
fn help_lang_prints_the_spec_and_help_ai_the_compact_form() {
    let o = run(&["help", "lang"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        fs::read_to_string(root().join("SPEC.md")).unwrap()
    );

    let o = run(&["help", "ai"]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        fs::read_to_string(root().join("ai.txt")).unwrap()
    );

    let o = run(&["help", "nonsense"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn ai_txt_is_generated_from_spec() {
    let spec = fs::read_to_string(root().join("SPEC.md")).unwrap();
    let ai = fs::read_to_string(root().join("ai.txt")).unwrap();
    assert_eq!(ai, ai_txt::compact(&spec), "ai.txt in the tree is stale");
    assert!(ai.len() < spec.len(), "the compact form should be smaller");
}

/// The build regenerates ai.txt in the working tree, so the check that matters for
/// CI is on what is committed: the ai.txt at HEAD must be what SPEC.md at HEAD gives.
#[test]
fn committed_ai_txt_matches_committed_spec() {
    let show = |file: &str| {
        let o = Command::new("git")
            .args(["show", &format!("HEAD:{file}")])
            .current_dir(root())
            .output()
            .expect("git must be installed to check ai.txt");
        assert!(
            o.status.success(),
            "git show HEAD:{file} failed: {}",
            stderr(&o)
        );
        String::from_utf8(o.stdout).expect("utf-8")
    };
    let spec = show("SPEC.md");
    let ai = show("ai.txt");
    assert!(
        ai == ai_txt::compact(&spec),
        "the committed ai.txt is stale: build, then commit ai.txt with SPEC.md"
    );
}

#[test]
fn check_exit_codes() {
    let (_d, good) = program_file("good.ilo", "dbl x:n>n;*x 2\nmain>n;dbl 4\n");
    let o = run(&["check", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stderr.is_empty());

    let (_d, bad) = program_file("bad.ilo", "f>n;\"a\"\n");
    let o = run(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json_diags(&o)[0]["code"], "ILO-T008");

    let o = run(&["check", "no/such/file.ilo"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A `tool` declaration loads, is checked like a function, and (with no provider)
/// answers `~nil`; `ilo check` and `ilo FILE` give the same verdict and warning.
#[test]
fn tool_declarations_run_and_warn_that_calls_answer_nil() {
    let tool = "tool get-user\"Retrieve user by ID\" uid:t>R _ t timeout:5,retry:2\n";
    let main = "main>t;r=get-user \"42\";?r{~v:fmt \"ok {}\" v;^e:e}\n";
    let (_d, file) = program_file("tool.ilo", &format!("{tool}{main}"));
    for args in [
        vec!["check", file.to_str().unwrap()],
        vec![file.to_str().unwrap()],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        let diags = json_diags(&o);
        assert_eq!(diags.len(), 1, "{args:?}");
        assert_eq!(diags[0]["code"], "ILO-T017");
        assert_eq!(diags[0]["severity"], "warning");
    }
    assert_eq!(stdout(&run(&[file.to_str().unwrap()])), "ok nil\n");

    let (_d, bad) = program_file("bad.ilo", &format!("{tool}main>t;r=get-user 42;\"x\"\n"));
    for args in [
        vec!["check", bad.to_str().unwrap()],
        vec![bad.to_str().unwrap()],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(json_diags(&o)[0]["code"], "ILO-T013");
    }
}

#[test]
fn a_broken_file_reports_all_its_errors() {
    let src = "a>n;nope-a 1\nb>n;\"x\"\nc>t;nope-c 2\n";
    let (_d, path) = program_file("three.ilo", src);
    let o = run(&["check", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let diags = json_diags(&o);
    let lines: Vec<u64> = diags
        .iter()
        .map(|d| d["labels"][0]["line"].as_u64().unwrap_or(0))
        .collect();
    for line in [1, 2, 3] {
        assert!(
            lines.contains(&line),
            "no error on line {line}: {}",
            stderr(&o)
        );
    }

    let (_d, path) = program_file("syntax.ilo", "f>n;x=1;x+\ng>n;y=2;y+\n");
    let o = run(&["check", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let codes: Vec<String> = json_diags(&o)
        .iter()
        .map(|d| d["code"].to_string())
        .collect();
    assert!(
        codes.len() >= 2,
        "expected an error per function: {}",
        stderr(&o)
    );
}

const UNDEFINED: &str = "f x:n>n;foo x\n";

#[test]
fn json_diagnostics_have_all_fields() {
    let (_d, path) = program_file("undef.ilo", UNDEFINED);
    let o = run(&["check", path.to_str().unwrap()]);
    let diags = json_diags(&o);
    let d = diags
        .iter()
        .find(|d| d["code"] == "ILO-T005")
        .expect("ILO-T005");
    assert_eq!(d["severity"], "error");
    assert!(d["message"].as_str().unwrap().contains("foo"));
    let label = &d["labels"][0];
    assert!(label["file"].as_str().unwrap().ends_with("undef.ilo"));
    assert_eq!(label["line"], 1);
    assert_eq!(label["col"], 9);
    assert_eq!(label["start"], 8);
    assert!(d["notes"].is_array());
    assert!(d.get("suggestion").is_some());
}

#[test]
fn text_diagnostics_put_the_caret_under_the_error() {
    let (_d, path) = program_file("undef.ilo", UNDEFINED);
    let o = run(&["--text", "check", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("error[ILO-T005]"), "{err}");
    assert!(err.contains("undef.ilo:1:9"), "{err}");
    assert!(
        !err.contains('\x1b'),
        "no colour when stderr is not a terminal"
    );
    let lines: Vec<&str> = err.lines().collect();
    let src = lines
        .iter()
        .position(|l| l.ends_with("f x:n>n;foo x"))
        .expect("source line shown");
    let caret = lines[src + 1];
    assert_eq!(caret.find('^'), lines[src].find("foo"), "{err}");
}

/// Run `ilo` with stderr on a pseudo-terminal and return what it wrote there.
fn stderr_on_terminal(args: &[&str], no_color: Option<&str>) -> String {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new file descriptors into the two integers; the other
    // arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: both descriptors were just created by openpty and are owned by us alone.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = ilo();
    cmd.args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::from(slave));
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let mut child = cmd.spawn().expect("spawn ilo");
    // Our copy of the slave went into `cmd`; drop it so the master sees end of input.
    drop(cmd);
    child.wait().expect("wait");
    let mut out = Vec::new();
    let mut master = fs::File::from(master);
    // Reading a pty master after the slave closes ends with EIO rather than EOF.
    let _ = master.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn colour_on_a_terminal_unless_no_color() {
    let (_d, path) = program_file("undef.ilo", UNDEFINED);
    let p = path.to_str().unwrap();
    let coloured = stderr_on_terminal(&["check", p], None);
    assert!(coloured.contains("ILO-T005"), "{coloured}");
    assert!(coloured.contains("\x1b["), "colour expected on a terminal");
    assert!(
        !coloured.trim_start().starts_with('{'),
        "text, not JSON, on a terminal"
    );

    let plain = stderr_on_terminal(&["check", p], Some("1"));
    assert!(plain.contains("error[ILO-T005]"), "{plain}");
    assert!(!plain.contains("\x1b["), "NO_COLOR must disable colour");

    let json = stderr_on_terminal(&["--json", "check", p], None);
    assert!(json.trim_start().starts_with('{'), "{json}");
    assert!(json.contains("\"code\":\"ILO-T005\""), "{json}");
}

#[test]
fn runtime_errors_are_diagnostics_with_exit_1() {
    let o = run(&["--text", "f>n;xs=[1 2];xs.5"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[ILO-R004]"), "{err}");
    assert!(err.contains("out of bounds"), "{err}");

    let o = run(&["f>n;hd []"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_diags(&o)[0]["code"], "ILO-R004");
}

#[test]
fn usage_errors_exit_2() {
    // A missing file.
    assert_eq!(run(&["does-not-exist.ilo"]).status.code(), Some(2));
    // A number where the entry function wants one, and too few arguments.
    assert_eq!(run(&["f x:n>n;x", "abc"]).status.code(), Some(2));
    assert_eq!(run(&["f x:n y:n>n;+x y", "1"]).status.code(), Some(2));
    // Several functions, no main, none named.
    let o = run(&["a>n;1\nb>n;2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no `main`"), "{}", stderr(&o));
}

#[test]
fn files_pick_main_or_a_named_function() {
    let (_d, path) = program_file("two.ilo", "dbl x:n>n;*x 2\nmain>n;dbl 21\n");
    let p = path.to_str().unwrap();
    let o = run(&[p]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "42\n"));
    let o = run(&[p, "dbl", "5"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "10\n"));
    let o = run(&["run", p, "dbl", "-4"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "-8\n"));

    // Function names that are also subcommand names stay program arguments.
    let (_d, path) = program_file("cmds.ilo", "build x:n>n;+x 1\ncheck>t;\"ok\"\n");
    let p = path.to_str().unwrap();
    let o = run(&[p, "build", "4"]);
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "5\n"),
        "{}",
        stderr(&o)
    );
    let o = run(&["--text", p, "check"]);
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "ok\n"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn allow_read_restricts_file_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("in.txt"), "a\nb\nc\n").expect("write input");
    let program = r#"f>n;c=0;@l (for-line "in.txt"){c=+c 1};c"#;
    let in_dir = |flag: &str| {
        let mut cmd = ilo();
        cmd.current_dir(dir.path());
        if !flag.is_empty() {
            cmd.arg(flag);
        }
        cmd.arg(program).output().expect("spawn ilo")
    };

    let o = in_dir("");
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "3\n"),
        "{}",
        stderr(&o)
    );
    let o = in_dir("--allow-read=.");
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "3\n"),
        "{}",
        stderr(&o)
    );
    let o = in_dir("--allow-read=elsewhere");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--allow-read"), "{}", stderr(&o));
}

#[test]
fn allow_read_restricts_the_file_builtins_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("in.txt"), "hi").expect("write input");
    let run = |flag: &str| {
        ilo()
            .current_dir(dir.path())
            .arg(flag)
            .arg(r#"f>R t t;rd "in.txt""#)
            .output()
            .expect("spawn ilo")
    };
    let o = run("--allow-read=.");
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "hi\n"));
    let o = run("--allow-read=elsewhere");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with('^'), "{}", stderr(&o));
    assert!(stderr(&o).contains("--allow-read"), "{}", stderr(&o));
}

#[test]
fn allow_write_and_allow_env_restrict_wr_and_env() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |flag: &str, program: &str| {
        ilo()
            .current_dir(dir.path())
            .env("ILO_TEST_VAR", "value")
            .arg(flag)
            .arg(program)
            .output()
            .expect("spawn ilo")
    };
    let write = r#"f>R t t;wr "out.txt" "hi""#;
    let o = run("--allow-write=elsewhere", write);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--allow-write"), "{}", stderr(&o));
    assert!(!dir.path().join("out.txt").exists());
    let o = run("--allow-write=.", write);
    assert_eq!(
        (o.status.code(), stdout(&o).as_str()),
        (Some(0), "out.txt\n")
    );

    let env = r#"f>R t t;env "ILO_TEST_VAR""#;
    let o = run("--allow-env=ILO_TEST_VAR", env);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "value\n"));
    let o = run("--allow-env=", env);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--allow-env"), "{}", stderr(&o));
}

#[test]
fn impossible_sizes_are_runtime_errors_not_aborts() {
    let o = ilo()
        .arg(r#"f>t;padl "x" 1e13"#)
        .output()
        .expect("spawn ilo");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("ILO-R007"), "{}", stderr(&o));
    let o = ilo()
        .arg("--max-alloc=1000000")
        .arg(r#"f>n;s="x";@i 0..40{s=+s s};len s"#)
        .output()
        .expect("spawn ilo");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--max-alloc"), "{}", stderr(&o));
    // Growth in place doubles the buffer past the ceiling; the length still may not
    // pass it.
    let o = ilo()
        .arg("--max-alloc=1000")
        .arg(r#"f>n;s=str 7;@i 0..2000{s=+s "x"};len s"#)
        .output()
        .expect("spawn ilo");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("1001 bytes"), "{}", stderr(&o));
    // So for a list pushed in place: the free slot is used only under the ceiling.
    let o = ilo()
        .arg("--max-alloc=1000")
        .arg(r#"f>n;xs=[];@i 0..2000{xs=+=xs i};len xs"#)
        .output()
        .expect("spawn ilo");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("1008 bytes"), "{}", stderr(&o));
}

/// `ILO_DUMP_CODE` prints the named functions' optimised IR and machine code to
/// stderr (a switch for reading what a loop costs) and leaves the run alone.
#[test]
fn dump_code_prints_the_named_functions_only() {
    let (_dir, path) = program_file(
        "dump.ilo",
        "sq x:n>n;*x x\nmain n:n>n;s=0;@i 0..n{s=+s sq i};s\n",
    );
    let path = path.to_string_lossy().into_owned();
    let o = ilo()
        .env("ILO_DUMP_CODE", "main")
        .args([path.as_str(), "main", "4"])
        .output()
        .expect("spawn ilo");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "14");
    let err = stderr(&o);
    assert!(err.contains("; ── main: optimised IR ──"), "{err}");
    assert!(err.contains("; ── main: machine code ──"), "{err}");
    assert!(err.contains("function "), "{err}");
    assert!(
        !err.contains("sq:"),
        "only the named function is dumped: {err}"
    );

    let quiet = run(&[path.as_str(), "main", "4"]);
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));
}
