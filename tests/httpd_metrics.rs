//! `--metrics HOST:PORT` (Prometheus text format on a listener of its own) and
//! `--log-format json`, through the real binary.

#[path = "support/httpd.rs"]
mod support;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::{handler_dir, next_chunk, read_head, send, Server, IO_TIMEOUT};

const HANDLER: &str = "handler req:_>_;\n  p=req.path\n  =p \"/boom\" str (at [1 2 3] 7)\n  =p \"/lines\" for-line \"FILE\"\n  \"fine\\n\"\n";

fn metrics_port(server: &Server) -> u16 {
    let line = server
        .wait_log("metrics on http://", Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no metrics line in {:?}", server.log()));
    line.trim_end_matches("/metrics")
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("bad metrics line {line}"))
}

/// GET `path` from the metrics listener: (status line, body).
fn scrape(port: u16, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to metrics");
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: m\r\n\r\n").expect("send scrape");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read scrape");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

/// The value of the sample named exactly `series` (name and labels).
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_count_requests_errors_streams_and_durations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("three.txt");
    std::fs::write(&data, "one\ntwo\nthree\n").expect("write data");
    let handlers = handler_dir(&[("h.ilo", &HANDLER.replace("FILE", &data.to_string_lossy()))]);
    let file = handlers.path().join("h.ilo");
    let server = Server::start(&["--metrics", "127.0.0.1:0", file.to_str().expect("utf-8")]);
    let port = metrics_port(&server);

    for _ in 0..3 {
        assert_eq!(server.get("/").status, 200);
    }
    assert_eq!(server.get("/boom").status, 500);
    let streamed = server.get("/lines");
    assert_eq!(streamed.text(), "one\ntwo\nthree\n");

    // Every response is counted before the bytes that complete it are written, so
    // one scrape after reading them all must show every one of them: no waiting.
    let (status, body) = scrape(port, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        sample(&body, "ilo_http_requests_total{status=\"200\"}"),
        Some(4.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "ilo_http_requests_total{status=\"500\"}"),
        Some(1.0)
    );
    assert_eq!(sample(&body, "ilo_handler_errors_total"), Some(1.0));
    assert_eq!(sample(&body, "ilo_stream_lines_total"), Some(3.0));
    assert_eq!(sample(&body, "ilo_stream_bytes_total"), Some(14.0));
    assert_eq!(
        sample(&body, "ilo_http_request_duration_seconds_count"),
        Some(5.0)
    );
    assert_eq!(
        sample(
            &body,
            "ilo_http_request_duration_seconds_bucket{le=\"+Inf\"}"
        ),
        Some(5.0)
    );
    assert!(body.contains("# TYPE ilo_http_request_duration_seconds histogram"));
    assert!(body.contains("# TYPE ilo_open_connections gauge"));

    let (status, _) = scrape(port, "/other");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

#[test]
fn open_connections_and_streams_are_gauges() {
    // A stream that stays open until the test closes stdin.
    let handlers = handler_dir(&[("h.ilo", "handler req:_>_;for-line \"stdin\"\n")]);
    let file = handlers.path().join("h.ilo");
    let mut server = Server::start(&["--metrics", "127.0.0.1:0", file.to_str().expect("utf-8")]);
    let port = metrics_port(&server);
    let mut s = server.connect();
    send(&mut s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut stdin = server.stdin.take().expect("piped stdin");
    stdin.write_all(b"first\n").expect("feed stdin");
    let mut r = BufReader::new(s);
    assert_eq!(read_head(&mut r).0, 200);
    assert_eq!(next_chunk(&mut r).as_deref(), Some(&b"first\n"[..]));
    let (_, body) = scrape(port, "/metrics");
    assert_eq!(sample(&body, "ilo_open_connections"), Some(1.0), "{body}");
    assert_eq!(sample(&body, "ilo_open_streams"), Some(1.0), "{body}");
    drop(stdin);
    while next_chunk(&mut r).is_some() {}
    drop(r);
    // The gauges fall back once the stream ends and the client leaves.
    let deadline = std::time::Instant::now() + IO_TIMEOUT;
    loop {
        let (_, body) = scrape(port, "/metrics");
        let streams = sample(&body, "ilo_open_streams");
        let conns = sample(&body, "ilo_open_connections");
        if streams == Some(0.0) && conns == Some(0.0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "gauges stuck: {body}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_taken_metrics_port_fails_before_listening() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let handlers = handler_dir(&[("h.ilo", "handler req:_>_;\"x\"\n")]);
    let file = handlers.path().join("h.ilo");
    let failed = support::start_failure(&["--metrics", &addr, file.to_str().expect("utf-8")]);
    assert_eq!(failed.code, Some(1));
    assert!(failed.stderr.contains("--metrics"), "{}", failed.stderr);
}

#[test]
fn json_access_log_has_the_fields_of_the_text_form() {
    let handlers = handler_dir(&[("h.ilo", "handler req:_>_;\"hello\\n\"\n")]);
    let file = handlers.path().join("h.ilo");
    let server = Server::start(&["--log-format", "json", file.to_str().expect("utf-8")]);
    assert_eq!(server.get("/a?b=1").status, 200);
    let line = server
        .wait_log("\"path\"", Duration::from_secs(5))
        .unwrap_or_else(|| panic!("no JSON access-log line in {:?}", server.log()));
    let entry: serde_json::Value = serde_json::from_str(&line).expect("one JSON object per line");
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["path"], "/a");
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["bytes"], 6);
    assert!(entry["ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
}
