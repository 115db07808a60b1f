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

#[path = "support/annotations.rs"]
mod annotations;

use annotations::{command_examples, parse_cases, Case};

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
fn check_case(bin: &Path, case: &Case, workdir: &Path) -> Vec<String> {
    let aot = Command::new(bin)
        .args(&case.args)
        .current_dir(workdir)
        .output()
        .expect("run built binary");
    let jit = ilo()
        .arg(&case.file)
        .args(&case.args)
        .current_dir(workdir)
        .output()
        .expect("run ilo");
    let at = case.at();
    let mut problems = Vec::new();
    let want_code = case.want_code();
    let want_out = case.want_stdout();
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
        let cases = parse_cases(file, &fs::read_to_string(file).expect("read example"));
        for case in cases
            .iter()
            .filter(|c| !c.out.is_empty() || !c.err.is_empty())
        {
            total += 1;
            problems.extend(check_case(bin, case, workdir.path()));
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

// ── servers: a built handler answers exactly like `ilo httpd` ──

#[path = "support/httpd.rs"]
mod support;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;

use support::{example, local_listener, lockstep_upstream, next_chunk, Server, IO_TIMEOUT};

/// Build the named server examples (in parallel) into `dir`.
fn build_servers(names: &[&str], dir: &Path) -> Vec<PathBuf> {
    let files: Vec<PathBuf> = names.iter().map(|n| example(n)).collect();
    build_all(&files, dir)
        .into_iter()
        .map(|(file, bin)| bin.unwrap_or_else(|e| panic!("{}: {e}", file.display())))
        .collect()
}

fn serve_jit(file: &Path, env: &[(&str, String)]) -> Server {
    let mut cmd = support::ilo();
    cmd.args(["httpd", "--port", "0", "--workers", "2"])
        .arg(file);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    Server::start_with(&mut cmd)
}

fn serve_aot(bin: &Path, env: &[(&str, String)]) -> Server {
    let mut cmd = Command::new(bin);
    cmd.env_remove("PORT").env_remove("NO_COLOR");
    cmd.args(["--port", "0", "--workers", "2"]);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    Server::start_with(&mut cmd)
}

/// Everything the server sends for `raw` until it closes the connection, with any
/// `Date` header line removed.
fn transcript(server: &Server, raw: &[u8]) -> Vec<u8> {
    let mut s = server.connect();
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    s.write_all(raw).expect("send request");
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    without_date(&bytes)
}

fn without_date(bytes: &[u8]) -> Vec<u8> {
    let Some(head_end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return bytes.to_vec();
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]);
    let kept: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
        .collect();
    let mut out = kept.join("\r\n").into_bytes();
    out.extend_from_slice(&bytes[head_end..]);
    out
}

#[test]
fn a_built_hello_server_answers_byte_for_byte_like_ilo_httpd() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bins = build_servers(&["httpd-hello.ilo"], dir.path());
    let jit = serve_jit(&example("httpd-hello.ilo"), &[]);
    let aot = serve_aot(&bins[0], &[]);
    let requests: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        b"GET /hello/ada HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        b"GET /count HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        b"GET /count HTTP/1.0\r\n\r\n",
        b"HEAD /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhi\nyo",
        b"GET /request?a=1 HTTP/1.1\r\nHost: t\r\nX-Thing: Yes\r\nConnection: close\r\n\r\n",
        b"GET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /count HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        b"NOT A REQUEST\r\n\r\n",
    ];
    for raw in requests {
        let from_aot = transcript(&aot, raw);
        let from_jit = transcript(&jit, raw);
        assert!(
            !from_aot.is_empty(),
            "no answer to {:?}",
            String::from_utf8_lossy(raw)
        );
        assert_eq!(
            String::from_utf8_lossy(&from_aot),
            String::from_utf8_lossy(&from_jit),
            "request {:?}",
            String::from_utf8_lossy(raw)
        );
    }
    // The readiness line and the access log are the server's, not ilo's.
    assert!(
        aot.wait_log("GET /missing 404", IO_TIMEOUT).is_some(),
        "{:?}",
        aot.log()
    );
}

const LINES: usize = 5;

/// A proxied response: the head (without Date) and its chunks, relayed in lockstep
/// with the upstream (see [`lockstep_upstream`]).
struct Proxied {
    head: Vec<u8>,
    chunks: Vec<String>,
}

/// Proxy one request through `serve`'s server to a fresh upstream that sends its
/// next line only once the previous one reached this client.
fn proxied(serve: impl Fn(&[(&str, String)]) -> Server) -> Proxied {
    let lines = (0..LINES).map(|i| format!("line {i}")).collect();
    let (seen, upstream_seen) = std::sync::mpsc::channel();
    let (port, finished) = lockstep_upstream(lines, upstream_seen, |_| true);
    let server = serve(&[("UPSTREAM", format!("http://127.0.0.1:{port}"))]);
    let mut s: TcpStream = server.connect();
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    s.write_all(b"GET /feed HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .expect("send request");
    let mut r = BufReader::new(s);
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        match r.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => panic!("connection ended inside the head"),
        }
    }
    let mut chunks = Vec::new();
    while let Some(c) = next_chunk(&mut r) {
        chunks.push(String::from_utf8_lossy(&c).into_owned());
        let _ = seen.send(());
    }
    let upstream = finished
        .recv_timeout(IO_TIMEOUT)
        .expect("upstream finished");
    assert_eq!(
        upstream.stalled_at, None,
        "a line was held back by the server"
    );
    Proxied {
        head: without_date(&head),
        chunks,
    }
}

#[test]
fn a_built_streaming_proxy_relays_chunk_by_chunk_like_ilo_httpd() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bins = build_servers(&["httpd-stream.ilo"], dir.path());
    // Each line is relayed before the upstream sends the next (`proxied` fails
    // otherwise), by the built server as by ilo httpd.
    let aot = proxied(|env| serve_aot(&bins[0], env));
    let jit = proxied(|env| serve_jit(&example("httpd-stream.ilo"), env));

    assert_eq!(
        String::from_utf8_lossy(&aot.head),
        String::from_utf8_lossy(&jit.head)
    );
    let expected: Vec<String> = (0..LINES).map(|i| format!("line {i}\n")).collect();
    assert_eq!(aot.chunks, expected, "one chunk per upstream line");
    assert_eq!(aot.chunks, jit.chunks);
}

#[test]
fn a_built_server_takes_the_capability_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bins = build_servers(&["httpd-stream.ilo"], dir.path());
    let (listener, port) = local_listener();
    let mut cmd = Command::new(&bins[0]);
    cmd.env_remove("PORT").env_remove("NO_COLOR");
    cmd.args(["--port", "0", "--allow-net=allowed.invalid"]);
    cmd.env("UPSTREAM", format!("http://127.0.0.1:{port}"));
    let server = Server::start_with(&mut cmd);
    let answer = transcript(
        &server,
        b"GET /feed HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 502"), "{text}");
    assert!(text.contains("--allow-net"), "{text}");
    // The denied source never connected.
    listener.set_nonblocking(true).expect("nonblocking");
    assert!(listener.accept().is_err(), "the upstream was contacted");
}

#[test]
fn a_built_event_server_frames_beats_and_resumes_like_ilo_httpd() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bins = build_servers(&["httpd-sse-tail.ilo"], dir.path());
    let feed = dir.path().join("feed.log");
    std::fs::write(&feed, "").expect("feed");
    let env = [
        ("EVENTS", feed.display().to_string()),
        ("HEARTBEAT", "0.3".to_string()),
    ];
    let server = serve_aot(&bins[0], &env);
    let subscribe = |last_id: &str| {
        let mut s = server.connect();
        s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let head = format!("GET /events HTTP/1.1\r\nHost: t\r\nLast-Event-ID: {last_id}\r\n\r\n");
        s.write_all(head.as_bytes()).expect("send");
        let mut r = BufReader::new(s);
        let (status, headers) = support::read_head(&mut r);
        assert_eq!(status, 200);
        assert!(headers.contains(&("content-type".into(), "text/event-stream".into())));
        r
    };
    let append = |text: &str| {
        std::fs::OpenOptions::new()
            .append(true)
            .open(&feed)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .expect("append");
    };
    let event = |r: &mut BufReader<std::net::TcpStream>| {
        String::from_utf8_lossy(&next_chunk(r).expect("an event")).into_owned()
    };
    let mut r = subscribe("");
    append("one\n");
    let first = event(&mut r);
    assert!(first.ends_with("\ndata: one\n\n"), "{first:?}");
    assert_eq!(event(&mut r), ":\n", "a heartbeat while the file is quiet");
    let id = first
        .strip_prefix("id: ")
        .and_then(|rest| rest.split('\n').next())
        .expect("an id")
        .to_string();
    drop(r);
    append("two\n");
    let mut r = subscribe(&id);
    assert!(
        event(&mut r).ends_with("\ndata: two\n\n"),
        "resumed after 'one'"
    );
}

#[test]
fn a_built_broadcast_server_gives_each_subscriber_every_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bins = build_servers(&["httpd-broadcast.ilo"], dir.path());
    let feed = dir.path().join("feed.log");
    std::fs::write(&feed, "").expect("feed");
    let server = serve_aot(&bins[0], &[("FEED", feed.display().to_string())]);
    let mut subscribers: Vec<BufReader<std::net::TcpStream>> = ["/", "/shout"]
        .iter()
        .map(|path| {
            let mut s = server.connect();
            s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
                .expect("send");
            let mut r = BufReader::new(s);
            assert_eq!(support::read_head(&mut r).0, 200);
            r
        })
        .collect();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&feed)
        .and_then(|mut f| f.write_all(b"one\ntwo\n"))
        .expect("append");
    let mut got = Vec::new();
    for r in &mut subscribers {
        for _ in 0..2 {
            got.push(String::from_utf8_lossy(&next_chunk(r).expect("a line")).into_owned());
        }
    }
    assert_eq!(got, ["one\n", "two\n", "ONE\n", "TWO\n"]);
}
