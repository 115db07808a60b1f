//! `ilo httpd` streaming lazy bodies: a slow upstream proxied with `get-stream`
//! (examples/httpd-stream.ilo) arrives line by line, a client hanging up closes the
//! upstream, and `for-line "stdin"` (examples/httpd-stdin.ilo) hands each line to one
//! response.

#[path = "support/httpd.rs"]
mod support;

use std::collections::HashSet;
use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::{
    chunk, example, ilo, local_listener, lockstep_upstream, next_chunk, read_head,
    read_request_head, send, CHUNKED_HEAD,
};
use support::{Server, IO_TIMEOUT};

fn proxy(upstream_port: u16) -> Server {
    Server::start_with(
        ilo()
            .env("UPSTREAM", format!("http://127.0.0.1:{upstream_port}"))
            .args(["httpd", "--port", "0"])
            .arg(example("httpd-stream.ilo")),
    )
}

#[test]
fn a_lazy_body_arrives_chunk_by_chunk_as_the_upstream_produces_it() {
    let lines: Vec<String> = (0..6).map(|i| format!("l{i}")).collect();
    // Lockstep: the upstream sends a line only once the one before reached us, so a
    // server that gathered lines (or waited for the whole body) would stall it.
    let (seen, upstream_seen) = mpsc::channel();
    let (upstream, finished) = lockstep_upstream(lines.clone(), upstream_seen, |_| true);
    let server = proxy(upstream);
    let mut s = server.connect();
    send(
        &mut s,
        "GET /feed?since=3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let mut r = BufReader::new(s);
    let (status, headers) = read_head(&mut r);
    assert_eq!(status, 200);
    assert!(headers.contains(&("transfer-encoding".into(), "chunked".into())));
    let mut chunks = Vec::new();
    while let Some(chunk) = next_chunk(&mut r) {
        chunks.push(String::from_utf8_lossy(&chunk).into_owned());
        let _ = seen.send(());
    }
    let upstream = finished
        .recv_timeout(IO_TIMEOUT)
        .expect("upstream finished");
    assert_eq!(
        upstream.stalled_at, None,
        "a line was held back by the server"
    );
    assert!(
        upstream.head.starts_with("GET /feed?since=3 "),
        "path and query are forwarded: {}",
        upstream.head
    );
    let expected: Vec<String> = lines.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(chunks, expected, "one chunk per line, newline restored");
}

#[test]
fn a_client_hanging_up_mid_stream_closes_the_upstream_and_the_server_keeps_serving() {
    // An endless slow upstream that notes when its client (the server) goes away.
    let (listener, port) = local_listener();
    let (closed_tx, closed_rx) = mpsc::channel::<Instant>();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            let closed_tx = closed_tx.clone();
            thread::spawn(move || {
                read_request_head(&mut s);
                let _ = s.write_all(CHUNKED_HEAD);
                let _ = s.set_read_timeout(Some(Duration::from_millis(20)));
                let mut buf = [0u8; 64];
                for i in 0.. {
                    let line = format!("tick {i}\n");
                    let wrote = s.write_all(&chunk(&line));
                    // Watch for the peer's close between lines.
                    let until = Instant::now() + Duration::from_millis(100);
                    let mut gone = wrote.is_err();
                    while !gone && Instant::now() < until {
                        gone = match s.read(&mut buf) {
                            Ok(0) => true,
                            Ok(_) => false,
                            Err(e) => {
                                !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
                            }
                        };
                    }
                    if gone {
                        let _ = closed_tx.send(Instant::now());
                        return;
                    }
                }
            });
        }
    });
    let server = proxy(port);

    let mut s = server.connect();
    send(&mut s, "GET /ticks HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut r = BufReader::new(s);
    let (status, _) = read_head(&mut r);
    assert_eq!(status, 200);
    for _ in 0..3 {
        assert!(next_chunk(&mut r).is_some_and(|c| c.starts_with(b"tick ")));
    }
    let hung_up = Instant::now();
    drop(r);
    let closed = closed_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the upstream connection is closed");
    let after = closed.saturating_duration_since(hung_up);
    // The bound: a client hang-up closes the source within 1 s. The server
    // sees the hang-up at once; the upstream notices the close within its 100 ms
    // look, so most of the second is room for a loaded machine.
    assert!(
        after < Duration::from_secs(1),
        "upstream closed {after:?} after the client left"
    );

    // The server carries on: a new client streams from a new upstream connection.
    let mut s = server.connect();
    send(&mut s, "GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut r = BufReader::new(s);
    assert_eq!(read_head(&mut r).0, 200);
    assert_eq!(next_chunk(&mut r).as_deref(), Some(&b"tick 0\n"[..]));
}

#[test]
fn an_unreachable_upstream_is_a_502() {
    let (listener, port) = local_listener();
    drop(listener);
    let server = proxy(port);
    let r = server.get("/");
    assert_eq!(r.status, 502);
    assert!(r.text().starts_with("upstream: "), "{}", r.text());
}

#[test]
fn stdin_lines_stream_out_and_each_goes_to_exactly_one_response() {
    let mut server = Server::start(&[example("httpd-stdin.ilo").to_str().expect("utf-8 path")]);
    let mut stdin = server.stdin.take().expect("piped stdin");
    let clients: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = server.connect();
            send(&mut s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
            s
        })
        .collect();
    // Readers collect lines until the stream ends (stdin closed).
    let readers: Vec<_> = clients
        .into_iter()
        .map(|s| {
            thread::spawn(move || {
                let mut r = BufReader::new(s);
                let (status, _) = read_head(&mut r);
                let mut got = Vec::new();
                while let Some(c) = next_chunk(&mut r) {
                    got.push(String::from_utf8_lossy(&c).into_owned());
                }
                (status, got)
            })
        })
        .collect();
    let sent: Vec<String> = (0..20).map(|i| format!("job {i}\n")).collect();
    for line in &sent {
        stdin
            .write_all(line.as_bytes())
            .expect("write to server stdin");
        stdin.flush().expect("flush");
        thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let mut all = Vec::new();
    for r in readers {
        let (status, got) = r.join().expect("reader thread");
        assert_eq!(status, 200);
        all.extend(got);
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "a line went to two responses: {all:?}"
    );
    let mut sorted = all.clone();
    sorted.sort();
    let mut expected = sent.clone();
    expected.sort();
    assert_eq!(sorted, expected, "every line reached some response");
    assert!(server.alive());
}

#[test]
fn allow_net_restricts_what_handlers_may_reach() {
    // One line, sent without waiting for anyone.
    let (_never_seen, upstream_seen) = mpsc::channel();
    let (upstream, _finished) = lockstep_upstream(vec!["l0".into()], upstream_seen, |_| false);
    let url = format!("http://127.0.0.1:{upstream}");
    // Flags before or after `httpd` both apply.
    for flags in [
        ["--allow-net=other.example", "httpd"],
        ["httpd", "--allow-net=other.example"],
    ] {
        let server = Server::start_with(
            ilo()
                .env("UPSTREAM", &url)
                .args(flags)
                .args(["--port", "0"])
                .arg(example("httpd-stream.ilo")),
        );
        let r = server.get("/");
        assert_eq!(r.status, 502, "{}", r.text());
        assert!(r.text().contains("--allow-net"), "{}", r.text());
    }
    // Allowed explicitly, the same upstream is reached.
    let server = Server::start_with(
        ilo()
            .env("UPSTREAM", &url)
            .args([
                format!("--allow-net=127.0.0.1:{upstream}").as_str(),
                "httpd",
                "--port",
                "0",
            ])
            .arg(example("httpd-stream.ilo")),
    );
    let r = server.get("/");
    assert_eq!((r.status, r.text()), (200, "l0\n".to_string()));
}

#[test]
fn allow_read_restricts_file_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("feed.log");
    std::fs::write(&feed, "").expect("create feed");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with(
        ilo()
            .env("EVENTS", &feed)
            .arg(format!("--allow-read={}", elsewhere.path().display()))
            .args(["httpd", "--port", "0"])
            .arg(example("httpd-sse-tail.ilo")),
    );
    assert_eq!(server.get("/events").status, 500);
    let logged = server
        .wait_log("ILO-R009", Duration::from_secs(5))
        .expect("the refused read is logged");
    assert!(logged.contains("--allow-read"), "{logged}");

    let server = Server::start_with(
        ilo()
            .env("EVENTS", &feed)
            .arg(format!("--allow-read={}", dir.path().display()))
            .args(["httpd", "--port", "0"])
            .arg(example("httpd-sse-tail.ilo")),
    );
    let mut s = server.connect();
    send(&mut s, "GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut r = BufReader::new(s);
    let (status, headers) = read_head(&mut r);
    assert_eq!(status, 200);
    assert!(headers.contains(&("content-type".into(), "text/event-stream".into())));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&feed)
        .and_then(|mut f| f.write_all(b"allowed\n"))
        .expect("append an event");
    // The example frames each line as an event: its id, its data, the blank line.
    let event = next_chunk(&mut r).expect("an event");
    let event = String::from_utf8_lossy(&event);
    assert!(
        event.starts_with("id: ") && event.ends_with("\ndata: allowed\n\n"),
        "{event:?}"
    );
}
