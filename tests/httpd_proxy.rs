//! The one-line proxy handler: `rsp status:200 body:(get-stream URL)` with no type
//! declaration streams the upstream's lines to curl as they are produced, answers 502
//! when the upstream is down, and a file's own `type rsp{…}` still wins.

#[path = "support/httpd.rs"]
mod support;

use std::io::BufReader;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::{handler_dir, local_listener, lockstep_upstream, next_chunk, Server, IO_TIMEOUT};

fn one_line_proxy(port: u16) -> (tempfile::TempDir, Server) {
    let source =
        format!("handler req:_>_;rsp status:200 body:(get-stream \"http://127.0.0.1:{port}/\")\n");
    let dir = handler_dir(&[("proxy.ilo", &source)]);
    let server = Server::start(&[dir.path().join("proxy.ilo").to_str().expect("utf-8 path")]);
    (dir, server)
}

#[test]
fn each_upstream_line_reaches_curl_as_its_own_chunk_as_it_is_produced() {
    let lines = 5;
    let (seen_tx, seen_rx) = mpsc::channel();
    let upstream_lines = (0..lines).map(|i| format!("l{i}")).collect();
    let (upstream, done) = lockstep_upstream(upstream_lines, seen_rx, |_| true);
    let (_dir, server) = one_line_proxy(upstream);
    // --raw keeps the chunk framing, -N turns off curl's own output buffering.
    let mut curl = Command::new("curl")
        .args(["-sS", "--raw", "-N", "--max-time", "30"])
        .arg(server.url("/"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl is installed (.ci/run installs it)");
    let mut out = BufReader::new(curl.stdout.take().expect("piped stdout"));
    let mut chunks = Vec::new();
    while let Some(chunk) = next_chunk(&mut out) {
        chunks.push(String::from_utf8_lossy(&chunk).into_owned());
        let _ = seen_tx.send(());
    }
    let _ = curl.wait();
    let upstream = done.recv_timeout(IO_TIMEOUT).expect("upstream finished");
    assert_eq!(
        upstream.stalled_at, None,
        "a line was held back by the server"
    );
    let expected: Vec<String> = (0..lines).map(|i| format!("l{i}\n")).collect();
    assert_eq!(chunks, expected, "one chunk per upstream line");
    assert!(server
        .wait_log("GET / 200", Duration::from_secs(5))
        .is_some());
}

#[test]
fn upstream_down_is_a_502_with_the_reason_and_the_server_stays_up() {
    // A port that was free a moment ago: nothing listens there now.
    let (listener, port) = local_listener();
    drop(listener);
    let (_dir, mut server) = one_line_proxy(port);
    for _ in 0..2 {
        let r = server.get("/");
        assert_eq!(r.status, 502, "{}", r.text());
        assert!(r.text().to_lowercase().contains("refused"), "{}", r.text());
    }
    assert!(server.alive());
}

#[test]
fn a_files_own_rsp_type_wins_over_the_built_in_one() {
    let dir = handler_dir(&[(
        "own.ilo",
        "type rsp{code:n;text:t}\nhandler req:_>_;rsp code:7 text:\"mine\"\n",
    )]);
    let server = Server::start(&[dir.path().join("own.ilo").to_str().expect("utf-8 path")]);
    // Not a response record (no status, no body): the value is answered as JSON.
    let r = server.get("/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), r#"{"code":7,"text":"mine"}"#);
}

#[test]
fn the_built_in_rsp_takes_optional_headers() {
    let dir = handler_dir(&[(
        "h.ilo",
        "handler req:_>_;h=mset mmap \"x-a\" \"1\";rsp status:201 body:\"made\" headers:h\n",
    )]);
    let server = Server::start(&[dir.path().join("h.ilo").to_str().expect("utf-8 path")]);
    let r = server.get("/");
    assert_eq!((r.status, r.text().as_str()), (201, "made"));
    assert_eq!(r.header("x-a"), Some("1"));
}
