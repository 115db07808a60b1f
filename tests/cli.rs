//! The `ilo` command end to end: exit codes, help output, diagnostics in both formats
//! (and colour only on a terminal), ai.txt freshness, and every program of the upstream
//! observed-behaviour table.

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

/// The upstream observed-behaviour table: program, arguments (space-separated),
/// expected stdout, text that must appear on stderr, exit code. Programs that do not
/// compile exit 2 here (SPEC.md, "Differences from upstream").
const OBSERVED: &[(&str, &str, &str, &str, i32)] = &[
    (r##"f>n;+1 2"##, r##""##, r##"3"##, r##""##, 0),
    (r##"f>n;/7 2"##, r##""##, r##"3.5"##, r##""##, 0),
    (r##"f>n;/1 0"##, r##""##, r##"inf"##, r##""##, 0),
    (
        r##"f>n;*0.1 3"##,
        r##""##,
        r##"0.30000000000000004"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;1e21"##,
        r##""##,
        r##"1000000000000000000000"##,
        r##""##,
        0,
    ),
    (r##"f>n;-0.5"##, r##""##, r##"-0.5"##, r##""##, 0),
    (r##"f>t;str 3.0"##, r##""##, r##"3"##, r##""##, 0),
    (r##"f>t;str 0.1"##, r##""##, r##"0.1"##, r##""##, 0),
    (
        r##"f>n;9007199254740993"##,
        r##""##,
        r##"9007199254740992"##,
        r##""##,
        0,
    ),
    (r##"f>n;1 + 2 * 3"##, r##""##, r##"7"##, r##""##, 0),
    (r##"f>n;+*2 3 4"##, r##""##, r##"10"##, r##""##, 0),
    (r##"f>n;*2 +3 4"##, r##""##, r##"14"##, r##""##, 0),
    (r##"f>n;- 0 5"##, r##""##, r##"-5"##, r##""##, 0),
    (r##"f>t;fmt2 3.14159 2"##, r##""##, r##"3.14"##, r##""##, 0),
    (r##"f>n;flr -2.5"##, r##""##, r##"-3"##, r##""##, 0),
    (r##"f>n;rou 2.5"##, r##""##, r##"3"##, r##""##, 0),
    (r##"f>n;pow 2 10"##, r##""##, r##"1024"##, r##""##, 0),
    (r##"f>t;+"a" "b""##, r##""##, r##"ab"##, r##""##, 0),
    (
        r##"f>t;"he said \"hi\"""##,
        r##""##,
        r##"he said "hi""##,
        r##""##,
        0,
    ),
    (r##"f>n;len "héllo""##, r##""##, r##"6"##, r##""##, 0),
    (r##"f>t;hd "héllo""##, r##""##, r##"h"##, r##""##, 0),
    (
        r##"f>L t;spl "a,b,,c" ",""##,
        r##""##,
        r##"[a, b, , c]"##,
        r##""##,
        0,
    ),
    (
        r##"f>t;cat ["a" "b"] ",""##,
        r##""##,
        r##"a,b"##,
        r##""##,
        0,
    ),
    (
        r##"f>b;has "hello" "ell""##,
        r##""##,
        r##"true"##,
        r##""##,
        0,
    ),
    (r##"f>t;trm "  a  ""##, r##""##, r##"a"##, r##""##, 0),
    (r##"f>t;upr "abc""##, r##""##, r##"ABC"##, r##""##, 0),
    (
        r##"f>t;fmt "a={} b={}" 1 "x""##,
        r##""##,
        r##"a=1 b=x"##,
        r##""##,
        0,
    ),
    (
        r##"f>L t;rgx "[0-9]+" "a1b22""##,
        r##""##,
        r##"[1, 22]"##,
        r##""##,
        0,
    ),
    (r##"f>t;padl "7" 3 "0""##, r##""##, r##"007"##, r##""##, 0),
    (
        r##"f>L t;chars "abc""##,
        r##""##,
        r##"[a, b, c]"##,
        r##""##,
        0,
    ),
    (r##"f>L n;[1 2 3]"##, r##""##, r##"[1, 2, 3]"##, r##""##, 0),
    (r##"f>L t;["a" "b"]"##, r##""##, r##"[a, b]"##, r##""##, 0),
    (
        r##"f>L _;[1 "a" true nil]"##,
        r##""##,
        r##"[1, a, true, nil]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L (L n);[[1 2] [3]]"##,
        r##""##,
        r##"[[1, 2], [3]]"##,
        r##""##,
        0,
    ),
    (r##"f>L n;+=[1] 2"##, r##""##, r##"[1, 2]"##, r##""##, 0),
    (r##"f>L n;+[1] [2]"##, r##""##, r##"[1, 2]"##, r##""##, 0),
    (
        r##"f>L n;rev [1 2 3]"##,
        r##""##,
        r##"[3, 2, 1]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;slc [1 2 3 4] 1 3"##,
        r##""##,
        r##"[2, 3]"##,
        r##""##,
        0,
    ),
    (r##"f>n;at [1 2 3] -1"##, r##""##, r##"3"##, r##""##, 0),
    (r##"f>L n;unq [1 1 2]"##, r##""##, r##"[1, 2]"##, r##""##, 0),
    (
        r##"f>L n;flat [[1] [2 3]]"##,
        r##""##,
        r##"[1, 2, 3]"##,
        r##""##,
        0,
    ),
    (r##"f>n;avg [1 2]"##, r##""##, r##"1.5"##, r##""##, 0),
    (
        r##"f>n;xs=[3 1 2];srt xs>>hd"##,
        r##""##,
        r##"1"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;xs=[1 2];xs.5"##,
        r##""##,
        r##""##,
        r##"ILO-R004"##,
        1,
    ),
    (r##"f>n;hd []"##, r##""##, r##""##, r##"ILO-R004"##, 1),
    (
        r##"f>L n;take 2 [1 2 3]"##,
        r##""##,
        r##"[1, 2]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L (L n);zip [1 2] [3 4]"##,
        r##""##,
        r##"[[1, 3], [2, 4]]"##,
        r##""##,
        0,
    ),
    (
        r##"f>M t n;m=mset mmap "a" 1;mset m "b" 2"##,
        r##""##,
        r##"{a: 1; b: 2}"##,
        r##""##,
        0,
    ),
    (
        r##"f>t;m=mset mmap "k" "v";mget m "k""##,
        r##""##,
        r##"v"##,
        r##""##,
        0,
    ),
    (r##"f>O t;mget mmap "k""##, r##""##, r##"nil"##, r##""##, 0),
    (
        r##"f>L t;mkeys (mset (mset mmap "b" 1) "a" 2)"##,
        r##""##,
        r##"[a, b]"##,
        r##""##,
        0,
    ),
    (
        r##"type pt{x:n;y:n}
f>pt;pt x:1 y:2"##,
        r##""##,
        r##"pt {x: 1, y: 2}"##,
        r##""##,
        0,
    ),
    (
        r##"type pt{x:n;y:n}
f>n;p=pt x:1 y:2;q=p with y:5;+q.x q.y"##,
        r##""##,
        r##"6"##,
        r##""##,
        0,
    ),
    (r##"f>R n t;~5"##, r##""##, r##"5"##, r##""##, 0),
    (r##"f>R n t;^"bad""##, r##""##, r##""##, r##"^bad"##, 1),
    (r##"f>O n;nil"##, r##""##, r##"nil"##, r##""##, 0),
    (r##"f>t;x=nil;x??"d""##, r##""##, r##"d"##, r##""##, 0),
    (
        r##"f>n;r=num "12";?r{~v:v;^e:0}"##,
        r##""##,
        r##"12"##,
        r##""##,
        0,
    ),
    (
        r##"f>R n t;v=num! "zz";~v"##,
        r##""##,
        r##""##,
        r##"^zz"##,
        1,
    ),
    (r##"f>n;num!! "zz""##, r##""##, r##""##, r##"ILO-R009"##, 1),
    (
        r##"f>R t t;env "NOPE_X_UNSET""##,
        r##""##,
        r##""##,
        r##"^env var 'NOPE_X_UNSET' not set"##,
        1,
    ),
    (r##"f>n;mod 7 0"##, r##""##, r##""##, r##"ILO-R004"##, 1),
    (
        r##"fac n:n>n;<=n 1 1;r=fac -n 1;*n r
main>n;fac 5"##,
        r##""##,
        r##"120"##,
        r##""##,
        0,
    ),
    (
        r##"fib n:n>n;<=n 1 n;a=fib -n 1;b=fib -n 2;+a b
main>n;fib 20"##,
        r##""##,
        r##"6765"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;x=0;@i 0..5{x=+x i};x"##,
        r##""##,
        r##"10"##,
        r##""##,
        0,
    ),
    (
        r##"f>t;x=5;>x 3{"big"}{"small"}"##,
        r##""##,
        r##"big"##,
        r##""##,
        0,
    ),
    (
        r##"f x:n>t;?x{1:"one";2:"two";_:"many"}"##,
        r##"2"##,
        r##"two"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;i=0;wh true{i=+i 1;>=i 3{brk}};i"##,
        r##""##,
        r##"3"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;i=0;s=0;wh <i 5{i=+i 1;>=i 3{cnt};s=+s i};s"##,
        r##""##,
        r##"3"##,
        r##""##,
        0,
    ),
    (
        r##"f x:n>n;>x 0{ret x};-x"##,
        r##"-3"##,
        r##"3"##,
        r##""##,
        0,
    ),
    (
        r##"cls sp:n>t;>=sp 1000 "gold";>=sp 500 "silver";"bronze""##,
        r##"700"##,
        r##"silver"##,
        r##""##,
        0,
    ),
    (r##"f h:b>n;?h 1 0"##, r##"true"##, r##"1"##, r##""##, 0),
    (r##"f x:n>n;?=x 0 10 20"##, r##"0"##, r##"10"##, r##""##, 0),
    (
        r##"f>L n;map (x:n>n;*x 2) [1 2 3]"##,
        r##""##,
        r##"[2, 4, 6]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;flt (x:n>b;>x 1) [1 2 3]"##,
        r##""##,
        r##"[2, 3]"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;fld (a:n x:n>n;+a x) [1 2 3] 0"##,
        r##""##,
        r##"6"##,
        r##""##,
        0,
    ),
    (
        r##"f>M t (L n);grp (x:n>t;?=mod x 2 0 "e" "o") [1 2 3]"##,
        r##""##,
        r##"{e: [2]; o: [1, 3]}"##,
        r##""##,
        0,
    ),
    (
        r##"dbl x:n>n;*x 2
f>L n;map dbl [1 2]"##,
        r##""##,
        r##""##,
        r##"no `main`"##,
        2,
    ),
    (
        r##"f t:n xs:L n>L n;flt (x:n>b;>x t) xs"##,
        r##"1 1,2,3"##,
        r##"[2, 3]"##,
        r##""##,
        0,
    ),
    (
        r##"f>t;jdmp [1 "a" true nil]"##,
        r##""##,
        r##"[1,"a",true,null]"##,
        r##""##,
        0,
    ),
    (
        r##"f>R _ t;jpar "{\"a\":[1,2]}""##,
        r##""##,
        r##"json {a: [1, 2]}"##,
        r##""##,
        0,
    ),
    (
        r##"f>R t t;jpth "{\"a\":{\"b\":3}}" "a.b""##,
        r##""##,
        r##"3"##,
        r##""##,
        0,
    ),
    (r##"f>n;min 3 1"##, r##""##, r##"1"##, r##""##, 0),
    (r##"f>n;max [3 9 1]"##, r##""##, r##"9"##, r##""##, 0),
    (r##"f>n;abs -4"##, r##""##, r##"4"##, r##""##, 0),
    (r##"f>n;cel 1.2"##, r##""##, r##"2"##, r##""##, 0),
    (
        r##"f>L t;tl ["a" "b" "c"]"##,
        r##""##,
        r##"[b, c]"##,
        r##""##,
        0,
    ),
    (r##"f>t;tl "abc""##, r##""##, r##"bc"##, r##""##, 0),
    (r##"f>t;rev "abc""##, r##""##, r##"cba"##, r##""##, 0),
    (
        r##"f>L t;srt ["b" "a"]"##,
        r##""##,
        r##"[a, b]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;srt (x:n>n;- 0 x) [1 3 2]"##,
        r##""##,
        r##"[3, 2, 1]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;rsrt [1 3 2]"##,
        r##""##,
        r##"[3, 2, 1]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;lst [1 2 3] 1 9"##,
        r##""##,
        r##"[1, 9, 3]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;drop 1 [1 2 3]"##,
        r##""##,
        r##"[2, 3]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;take -1 [1 2 3]"##,
        r##""##,
        r##"[1, 2]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L (L _);enumerate ["a" "b"]"##,
        r##""##,
        r##"[[0, a], [1, b]]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;range 2 5"##,
        r##""##,
        r##"[2, 3, 4]"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;ct (x:n>b;>x 1) [1 2 3]"##,
        r##""##,
        r##"2"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;flatmap (x:n>L n;[x x]) [1 2]"##,
        r##""##,
        r##"[1, 1, 2, 2]"##,
        r##""##,
        0,
    ),
    (
        r##"f>R (L n) t;mapr (x:n>R n t;~*x 2) [1 2]"##,
        r##""##,
        r##"[2, 4]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L (L n);partition (x:n>b;>x 1) [1 2 3]"##,
        r##""##,
        r##"[[2, 3], [1]]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L (L n);chunks 2 [1 2 3]"##,
        r##""##,
        r##"[[1, 2], [3]]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L (L n);window 2 [1 2 3]"##,
        r##""##,
        r##"[[1, 2], [2, 3]]"##,
        r##""##,
        0,
    ),
    (r##"f>n;clamp 15 0 10"##, r##""##, r##"10"##, r##""##, 0),
    (
        r##"f>L n;cumsum [1 2 3]"##,
        r##""##,
        r##"[1, 3, 6]"##,
        r##""##,
        0,
    ),
    (
        r##"f>M t n;frq ["a" "b" "a"]"##,
        r##""##,
        r##"{a: 2; b: 1}"##,
        r##""##,
        0,
    ),
    (r##"f>n;median [3 1 2]"##, r##""##, r##"2"##, r##""##, 0),
    (
        r##"f>n;quantile [1 2 3 4] 0.5"##,
        r##""##,
        r##"2.5"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;stdev [1 2 3 4]"##,
        r##""##,
        r##"1.2909944487358056"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;variance [1 2 3 4]"##,
        r##""##,
        r##"1.6666666666666667"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;setunion [3 1] [1 2]"##,
        r##""##,
        r##"[1, 2, 3]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;setinter [3 1 2] [2 3 4]"##,
        r##""##,
        r##"[2, 3]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;setdiff [3 1 2] [2]"##,
        r##""##,
        r##"[1, 3]"##,
        r##""##,
        0,
    ),
    (r##"f>n;ord "A""##, r##""##, r##"65"##, r##""##, 0),
    (r##"f>t;chr 66"##, r##""##, r##"B"##, r##""##, 0),
    (r##"f>t;lwr "ABC""##, r##""##, r##"abc"##, r##""##, 0),
    (r##"f>t;cap "abc""##, r##""##, r##"Abc"##, r##""##, 0),
    (r##"f>t;padr "ab" 4"##, r##""##, r##"ab  "##, r##""##, 0),
    (
        r##"f>L (L t);rgxall "(a)(b)" "abab""##,
        r##""##,
        r##"[[a, b], [a, b]]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L t;rgxall1 "x(\\d)" "x1 x2""##,
        r##""##,
        r##"[1, 2]"##,
        r##""##,
        0,
    ),
    (
        r##"f>t;rgxsub "(\\d+)" "<$1>" "a12b3""##,
        r##""##,
        r##"a<12>b<3>"##,
        r##""##,
        0,
    ),
    (
        r##"f>R t t;dtfmt 0 "%Y-%m-%d""##,
        r##""##,
        r##"1970-01-01"##,
        r##""##,
        0,
    ),
    (
        r##"f>R n t;dtparse "2024-01-02" "%Y-%m-%d""##,
        r##""##,
        r##"1704153600"##,
        r##""##,
        0,
    ),
    (r##"f>n;sqrt 16"##, r##""##, r##"4"##, r##""##, 0),
    (r##"f>n;flr (log10 1000)"##, r##""##, r##"3"##, r##""##, 0),
    (r##"f>n;exp 0"##, r##""##, r##"1"##, r##""##, 0),
    (
        r##"f>n;atan2 1 1"##,
        r##""##,
        r##"0.7853981633974483"##,
        r##""##,
        0,
    ),
    (r##"f>n;dot [1 2] [3 4]"##, r##""##, r##"11"##, r##""##, 0),
    (
        r##"f>L (L n);transpose [[1 2] [3 4]]"##,
        r##""##,
        r##"[[1, 3], [2, 4]]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L (L n);matmul [[1 2] [3 4]] [[1 0] [0 1]]"##,
        r##""##,
        r##"[[1, 2], [3, 4]]"##,
        r##""##,
        0,
    ),
    (r##"f>n;det [[1 2] [3 4]]"##, r##""##, r##"-2"##, r##""##, 0),
    (
        r##"f>L n;solve [[2 0] [0 4]] [2 8]"##,
        r##""##,
        r##"[1, 2]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;uniqby (x:n>n;mod x 2) [1 2 3 4]"##,
        r##""##,
        r##"[1, 2]"##,
        r##""##,
        0,
    ),
    (
        r##"f>L t;mvals (mset (mset mmap "b" 1) "a" 2)>>map str"##,
        r##""##,
        r##"[2, 1]"##,
        r##""##,
        0,
    ),
    (
        r##"f>b;mhas (mset mmap "a" 1) "a""##,
        r##""##,
        r##"true"##,
        r##""##,
        0,
    ),
    (
        r##"f>M t n;mdel (mset (mset mmap "b" 1) "a" 2) "a""##,
        r##""##,
        r##"{b: 1}"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;len (mset mmap 7 "seven")"##,
        r##""##,
        r##"1"##,
        r##""##,
        0,
    ),
    (
        r##"f>t;mget (mset mmap 7 "seven") 7"##,
        r##""##,
        r##"seven"##,
        r##""##,
        0,
    ),
    (
        r##"f>t;fmt "{}" [1 2]"##,
        r##""##,
        r##"[1, 2]"##,
        r##""##,
        0,
    ),
    (r##"f>t;str [1 2]"##, r##""##, r##""##, r##"ILO-T013"##, 2),
    (r##"f>n;sum []"##, r##""##, r##"0"##, r##""##, 0),
    (r##"f>n;avg []"##, r##""##, r##""##, r##"ILO-R004"##, 1),
    (
        r##"f>R n t;v=num! "3.5";~v"##,
        r##""##,
        r##"3.5"##,
        r##""##,
        0,
    ),
    (r##"f>R n t;num "1e3""##, r##""##, r##"1000"##, r##""##, 0),
    (
        r##"f>R _ t;x=jpar! "[1,\"a\",null,true,{\"k\":2}]";~x"##,
        r##""##,
        r##"[1, a, nil, true, json {k: 2}]"##,
        r##""##,
        0,
    ),
    (
        r##"f>t;jdmp (mset mmap "k" [1 2])"##,
        r##""##,
        r##"{"k":[1,2]}"##,
        r##""##,
        0,
    ),
    (
        r##"type u{name:t;age:n}
f>t;jdmp (u name:"a" age:3)"##,
        r##""##,
        r##"{"age":3,"name":"a"}"##,
        r##""##,
        0,
    ),
    (
        r##"type u{name:t;age:n}
f>t;p=u name:"a" age:3;{name;age}=p;fmt "{}:{}" name age"##,
        r##""##,
        r##"a:3"##,
        r##""##,
        0,
    ),
    (
        r##"f>R _ t;x=jpar! "{\"a\":1}";~x.?b"##,
        r##""##,
        r##"nil"##,
        r##""##,
        0,
    ),
    (
        r##"f>R _ t;x=jpar! "{\"a\":{\"b\":5}}";~x.a.b"##,
        r##""##,
        r##"5"##,
        r##""##,
        0,
    ),
    (
        r##"f>L n;xs=[];@i 0..3{xs=+=xs i};xs"##,
        r##""##,
        r##"[0, 1, 2]"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;xs=[10 20 30];i=1;xs.i"##,
        r##""##,
        r##"20"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;xs=[1 2 3];s=0;@x xs{=x 2{cnt};s=+s x};s"##,
        r##""##,
        r##"4"##,
        r##""##,
        0,
    ),
    (
        r##"f>t;s="";@c (chars "abc"){s=+c s};s"##,
        r##""##,
        r##"cba"##,
        r##""##,
        0,
    ),
    (
        r##"f x:n>t
  >x 10{ret "big"}
  "small""##,
        r##"5"##,
        r##"small"##,
        r##""##,
        0,
    ),
    (
        r##"f x:n>n
  y=*x 2
  +y 1"##,
        r##"4"##,
        r##"9"##,
        r##""##,
        0,
    ),
    (
        r##"inc x:n>n;+x 1
main>n;5>>inc>>inc"##,
        r##""##,
        r##"7"##,
        r##""##,
        0,
    ),
    (
        r##"f>n;r=~3;?r{~v:+v 1;^e:0}"##,
        r##""##,
        r##"4"##,
        r##""##,
        0,
    ),
    (
        r##"f x:_>t;?x{n v:"num";t v:"text";l v:"list";_:"other"}"##,
        r##"abc"##,
        r##"text"##,
        r##""##,
        0,
    ),
    (
        r##"f c:S red green>t;?c{"red":"r";"green":"g"}"##,
        r##"green"##,
        r##"g"##,
        r##""##,
        0,
    ),
    (r##"f>b;|false true"##, r##""##, r##"true"##, r##""##, 0),
    (r##"f>b;!=1 2"##, r##""##, r##"true"##, r##""##, 0),
    (r##"f>n;x=5;!<x 3 99;0"##, r##""##, r##"99"##, r##""##, 0),
    (r##"f>t;=1 1{"y"}{"n"}"##, r##""##, r##"y"##, r##""##, 0),
    (
        r##"f>n;a=[1 2];b=+=a 3;len a"##,
        r##""##,
        r##"2"##,
        r##""##,
        0,
    ),
    (r##"f>t;"tab\there""##, r##""##, r##"tab	here"##, r##""##, 0),
    (r##"f>n;0x1F"##, r##""##, r##""##, r##"ILO-L003"##, 2),
    (r##"f>n;1_000"##, r##""##, r##""##, r##"ILO-P001"##, 2),
    (r##"f>n;-3 + 1"##, r##""##, r##""##, r##"ILO-P010"##, 2),
    (
        r##"f>L n;map (x:n>n;*x x) (range 0 4)"##,
        r##""##,
        r##"[0, 1, 4, 9]"##,
        r##""##,
        0,
    ),
    (r##"f>n;sleep 1;1"##, r##""##, r##"1"##, r##""##, 0),
    (
        r##"main>n;prnt "side";7"##,
        r##""##,
        r##"side
7"##,
        r##""##,
        0,
    ),
    (
        r##"f>R t t;wr "probe-wr.txt" "hi""##,
        r##""##,
        r##"probe-wr.txt"##,
        r##""##,
        0,
    ),
    (
        r##"f>R t t;rd "probe-wr.txt""##,
        r##""##,
        r##"hi"##,
        r##""##,
        0,
    ),
    (
        r##"f>R (L t) t;rdl "no-such-dir/x""##,
        r##""##,
        r##""##,
        r##"^No such file or directory (os error 2)"##,
        1,
    ),
    (
        r##"f>R t t;get "http://127.0.0.1:1/""##,
        r##""##,
        r##""##,
        r##"^Connection refused (os error 111)"##,
        1,
    ),
    (r##"f x:n>n;x"##, r##"5"##, r##"5"##, r##""##, 0),
    (r##"f x:t>t;x"##, r##"42"##, r##"42"##, r##""##, 0),
    (r##"f xs:L n>n;sum xs"##, r##"1,2,3"##, r##"6"##, r##""##, 0),
    (
        r##"f>n;undefined-fn 1"##,
        r##""##,
        r##""##,
        r##"ILO-T005"##,
        2,
    ),
    (r##"f>n;"a""##, r##""##, r##""##, r##"ILO-T008"##, 2),
    (r##"len x:n>n;x"##, r##""##, r##""##, r##"ILO-P011"##, 2),
    (r##"f>n;x=1;x+"##, r##""##, r##""##, r##"ILO-P010"##, 2),
];

#[test]
fn observed_behaviour() {
    // Some programs write and read files: give them a scratch working directory.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (program, args, want_out, want_err, want_code) in OBSERVED {
        let o = Command::new(env!("CARGO_BIN_EXE_ilo"))
            .arg(program)
            .args(args.split_whitespace())
            .current_dir(dir.path())
            .env_remove("NOPE_X_UNSET")
            .output()
            .expect("spawn ilo");
        let out = stdout(&o);
        let err = stderr(&o);
        let want_stdout = if want_out.is_empty() {
            String::new()
        } else {
            format!("{want_out}\n")
        };
        let stderr_ok = if want_err.is_empty() {
            err.is_empty()
        } else if want_err.starts_with('^') {
            err == format!("{want_err}\n")
        } else {
            err.contains(want_err)
        };
        if o.status.code() != Some(*want_code) || out != want_stdout || !stderr_ok {
            failures.push(format!(
                "{program:?} {args}\n  want: exit {want_code}, stdout {want_out:?}, stderr {want_err:?}\n  got:  exit {:?}, stdout {out:?}, stderr {err:?}",
                o.status.code()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} observed programs differ:\n{}",
        failures.len(),
        OBSERVED.len(),
        failures.join("\n")
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
