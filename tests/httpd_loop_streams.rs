//! Streamed bodies driven by the event loops, through the real binary: a client that
//! stops reading holds the server to a bounded amount and leaves the source unread,
//! stdin is dealt in turn to the responses waiting on it, an upstream failing
//! mid-body cuts only its own response, and thousands of idle streams cost no
//! thread each and wake nothing up.

#[path = "support/httpd.rs"]
mod support;

use std::collections::HashSet;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use support::{
    eventually, example, handler_dir, ilo, local_listener, next_chunk, read_head, CHUNKED_HEAD,
};
use support::{fd_position, fds_on, proc_status, read_request_head, read_response, send, Server};

/// A handler streaming the file named by FEED with `for-line`.
const FILE_HANDLER: &str =
    "feed>t;e=env \"FEED\";?e{~f:f;^m:\"feed.txt\"}\nhandler req:_>_;for-line feed()\n";

#[test]
fn a_client_that_stops_reading_holds_the_server_to_a_bounded_amount_and_the_source_unread() {
    let dir = handler_dir(&[("h.ilo", FILE_HANDLER)]);
    let feed = dir.path().join("feed.txt");
    let line = format!("{}\n", "x".repeat(99));
    let lines = 400_000;
    std::fs::write(&feed, line.repeat(lines)).expect("write feed");
    let total = (line.len() * lines) as u64;
    let server = Server::start_with(
        ilo()
            .env("FEED", &feed)
            .args(["httpd", "--quiet", "--port", "0"])
            .arg(dir.path().join("h.ilo")),
    );
    let pid = server.pid();
    let rss_before = proc_status(pid, "VmRSS");

    let mut s = server.connect();
    send(
        &mut s,
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let mut first = [0u8; 16];
    s.read_exact(&mut first).expect("the response starts");
    // The client reads nothing more: wait until the server stops advancing in the file.
    let fd = {
        let mut found = Vec::new();
        assert!(
            eventually(Duration::from_secs(10), || {
                found = fds_on(pid, &feed);
                !found.is_empty()
            }),
            "the server never opened the feed"
        );
        found[0]
    };
    let mut last = 0;
    let mut steady = 0;
    assert!(
        eventually(Duration::from_secs(20), || {
            let pos = fd_position(pid, fd).unwrap_or(0);
            steady = if pos == last { steady + 1 } else { 0 };
            last = pos;
            steady >= 20
        }),
        "the server kept reading the source"
    );
    // Kernel socket buffers hold a few MiB; the server itself holds one batch.
    assert!(
        last < total / 4,
        "read {last} of {total} bytes for a client that reads nothing"
    );
    let grew = proc_status(pid, "VmRSS").saturating_sub(rss_before);
    assert!(
        grew < 16 * 1024,
        "RSS grew by {grew} KiB for one stalled stream"
    );

    // Once the client reads again, the whole body arrives intact.
    let mut r = BufReader::new(first.chain(s));
    let response = read_response(&mut r, false);
    assert_eq!(response.status, 200);
    assert!(response.complete);
    assert_eq!(response.body.len() as u64, total);
    assert_eq!(response.chunks.len(), lines);
}

#[test]
fn stdin_lines_are_dealt_in_turn_to_the_waiting_responses() {
    let mut server = Server::start(&[example("httpd-stdin.ilo").to_str().expect("utf-8 path")]);
    let mut stdin = server.stdin.take().expect("piped stdin");
    let clients = 4;
    let per_client = 25;
    let mut readers = Vec::new();
    for _ in 0..clients {
        let mut s = server.connect();
        send(&mut s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        let mut r = BufReader::new(s);
        // The head comes before any line: this response now waits on stdin.
        assert_eq!(read_head(&mut r).0, 200);
        readers.push(r);
    }
    let sent: Vec<String> = (0..clients * per_client)
        .map(|i| format!("job {i}\n"))
        .collect();
    stdin
        .write_all(sent.concat().as_bytes())
        .expect("write to server stdin");
    drop(stdin);
    let mut all = Vec::new();
    for mut r in readers {
        let mut got = Vec::new();
        while let Some(c) = next_chunk(&mut r) {
            got.push(String::from_utf8_lossy(&c).into_owned());
        }
        assert!(
            got.len().abs_diff(per_client) <= 1,
            "one response got {} of {} lines: {got:?}",
            got.len(),
            sent.len()
        );
        all.extend(got);
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), sent.len(), "every line exactly once");
}

#[test]
fn an_upstream_failing_mid_body_cuts_that_response_and_serving_goes_on() {
    let (listener, port) = local_listener();
    thread::spawn(move || {
        for (i, conn) in listener.incoming().enumerate() {
            let Ok(mut s) = conn else { return };
            read_request_head(&mut s);
            let _ = s.write_all(CHUNKED_HEAD);
            let _ = s.write_all(b"3\r\nl0\n\r\n3\r\nl1\n\r\n");
            if i == 0 {
                // Half a chunk, then the connection drops.
                let _ = s.write_all(b"9\r\nbro");
            } else {
                let _ = s.write_all(b"0\r\n\r\n");
            }
        }
    });
    let server = Server::start_with(
        ilo()
            .env("UPSTREAM", format!("http://127.0.0.1:{port}"))
            .args(["httpd", "--port", "0"])
            .arg(example("httpd-stream.ilo")),
    );
    let cut = server.get("/first");
    assert_eq!(cut.status, 200);
    assert_eq!(cut.chunk_texts(), vec!["l0\n", "l1\n"]);
    assert!(!cut.complete, "a cut body must not end with the last chunk");
    assert!(server
        .wait_log("body source failed mid-stream", Duration::from_secs(5))
        .is_some());
    let whole = server.get("/second");
    assert_eq!(whole.chunk_texts(), vec!["l0\n", "l1\n"]);
    assert!(whole.complete);
}

/// Context switches of every thread of process `pid` so far.
fn context_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

#[test]
fn thousands_of_idle_streams_cost_no_thread_each_and_wake_nothing_up() {
    let dir = handler_dir(&[(
        "h.ilo",
        "feed>t;e=env \"FEED\";?e{~f:f;^m:\"feed.txt\"}\nhandler req:_>_;tail-file feed()\n",
    )]);
    let feed = dir.path().join("feed.txt");
    std::fs::write(&feed, "").expect("create feed");
    let workers = 2;
    let server = Server::start_with(
        ilo()
            .env("FEED", &feed)
            .args(["httpd", "--quiet", "--port", "0", "--workers", "2"])
            .arg(dir.path().join("h.ilo")),
    );
    let pid = server.pid();
    let streams = 2000;
    let mut clients: Vec<BufReader<TcpStream>> = Vec::with_capacity(streams);
    for _ in 0..streams {
        let mut s = server.connect();
        send(&mut s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        clients.push(BufReader::new(s));
    }
    for r in &mut clients {
        assert_eq!(read_head(r).0, 200);
    }
    let threads = proc_status(pid, "Threads");
    // The main thread, one per worker, the monitor, and the file watcher.
    assert!(
        threads <= workers + 4,
        "{threads} threads for {streams} open streams"
    );
    // Nothing happens for a second, and nothing in the server wakes up for it.
    let before = context_switches(pid);
    thread::sleep(Duration::from_secs(1));
    let woke = context_switches(pid) - before;
    assert!(
        woke < 20,
        "{woke} context switches in a quiet second with {streams} idle streams"
    );
    // Every stream is live: an appended line reaches them all.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&feed)
        .and_then(|mut f| f.write_all(b"hello\n"))
        .expect("append");
    for r in &mut clients {
        assert_eq!(next_chunk(r).as_deref(), Some(&b"hello\n"[..]));
    }
}
