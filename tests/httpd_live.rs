//! `ilo httpd` serving live streams, over real sockets through the real binary: lazy
//! transforms (`map`, `flt`, `take`, `drop`) of line sources, server-sent events
//! (framing, heartbeats, resuming from `Last-Event-ID`), and broadcast hubs.

#[path = "support/httpd.rs"]
mod support;

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use support::{
    chunk, handler_dir, ilo, local_listener, lockstep_upstream, read_head, read_request_head, send,
    CHUNKED_HEAD,
};
use support::{Server, IO_TIMEOUT};

/// A chunked body read to its end, calling `each` on every chunk as it arrives: the
/// chunks, and whether the terminating chunk came (`false`: the connection closed
/// without it, the sign of a failed source).
fn read_chunks_each<R: BufRead>(r: &mut R, mut each: impl FnMut(&str)) -> (Vec<String>, bool) {
    let mut chunks = Vec::new();
    loop {
        let mut size = String::new();
        match r.read_line(&mut size) {
            Ok(0) | Err(_) => return (chunks, false),
            Ok(_) => {}
        }
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            panic!("bad chunk size line {size:?}");
        };
        if n == 0 {
            return (chunks, true);
        }
        let mut data = vec![0; n + 2];
        if r.read_exact(&mut data).is_err() {
            return (chunks, false);
        }
        data.truncate(n);
        let text = String::from_utf8_lossy(&data).into_owned();
        each(&text);
        chunks.push(text);
    }
}

fn read_chunks<R: BufRead>(r: &mut R) -> (Vec<String>, bool) {
    read_chunks_each(r, |_| {})
}

/// Open `path` on `server` and return the reader positioned after a 200 head.
fn open_stream(server: &Server, path: &str) -> BufReader<TcpStream> {
    let mut s = server.connect();
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    send(
        &mut s,
        &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
    );
    let mut r = BufReader::new(s);
    let (status, _) = read_head(&mut r);
    assert_eq!(status, 200, "GET {path}");
    r
}

const TRANSFORMS: &str = r#"
up>t;e=env "UPSTREAM";?e{~u:u;^m:""}
feed>t;e=env "FEED";?e{~f:f;^m:"feed.log"}
keep l:t>b;!has l "skip"
boom l:t>t;?has l "3" (str (/ 1 (num!! "not a number"))) l

handler req:_>_;
  =req.path "/ok" "fine"
  =req.path "/window" take 3 (drop 1 (tail-file feed()))
  =req.path "/boom" map boom (for-line "lines.txt")
  s=get-stream up()
  ?s{^m:m;~src:map upr (flt keep src)}
"#;

fn transforms_server(upstream: u16, feed: &Path, dir: &Path) -> Server {
    Server::start_with(
        ilo()
            .current_dir(dir)
            .env("UPSTREAM", format!("http://127.0.0.1:{upstream}"))
            .env("FEED", feed)
            .args(["httpd", "--port", "0", "handler.ilo"]),
    )
}

/// The issue asks that a transformed slow source keep each line's latency: each kept
/// line is relayed as it arrives, not gathered. Shown in lockstep: after a kept line
/// the upstream sends nothing more until that line reached the client, so a
/// transform (or the server) that waited for more lines would stall it.
#[test]
fn a_transformed_slow_source_keeps_each_lines_pace() {
    let lines: Vec<String> = (0..6)
        .map(|i| format!("{} {i}", if i % 2 == 0 { "keep" } else { "skip" }))
        .collect();
    let (seen, upstream_seen) = mpsc::channel();
    let (upstream, finished) =
        lockstep_upstream(lines, upstream_seen, |line| line.starts_with("keep"));
    let dir = handler_dir(&[("handler.ilo", TRANSFORMS)]);
    let server = transforms_server(upstream, &dir.path().join("feed.log"), dir.path());
    let mut r = open_stream(&server, "/");
    let (chunks, complete) = read_chunks_each(&mut r, |_| {
        let _ = seen.send(());
    });
    let upstream = finished
        .recv_timeout(IO_TIMEOUT)
        .expect("upstream finished");
    assert_eq!(upstream.stalled_at, None, "a kept line was held back");
    assert_eq!(chunks, ["KEEP 0\n", "KEEP 2\n", "KEEP 4\n"]);
    assert!(complete, "the body ends with its terminating chunk");
}

#[test]
fn take_ends_an_endless_source_and_drop_skips_its_first_lines() {
    let dir = handler_dir(&[("handler.ilo", TRANSFORMS)]);
    let feed = dir.path().join("feed.log");
    std::fs::write(&feed, "old line, before anyone listened\n").expect("feed");
    let server = transforms_server(1, &feed, dir.path());
    let mut r = open_stream(&server, "/window");
    // Append lines until the body is over; tail-file alone would never end.
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let writer = {
        let feed = feed.clone();
        thread::spawn(move || {
            let mut f = OpenOptions::new().append(true).open(&feed).expect("open");
            for i in 0..50 {
                if done_rx.try_recv().is_ok() {
                    return;
                }
                f.write_all(format!("line {i}\n").as_bytes())
                    .expect("append");
                thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let (chunks, complete) = read_chunks(&mut r);
    let _ = done_tx.send(());
    writer.join().expect("writer");
    assert_eq!(chunks, ["line 1\n", "line 2\n", "line 3\n"]);
    assert!(complete, "take ends the body properly");
}

#[test]
fn a_function_failing_on_a_line_cuts_the_body_and_the_server_keeps_serving() {
    let dir = handler_dir(&[
        ("handler.ilo", TRANSFORMS),
        ("lines.txt", "line 1\nline 2\nline 3\nline 4\n"),
    ]);
    let server = transforms_server(1, &dir.path().join("feed.log"), dir.path());
    let mut r = open_stream(&server, "/boom");
    let (chunks, complete) = read_chunks(&mut r);
    assert_eq!(chunks, ["line 1\n", "line 2\n"]);
    assert!(!complete, "a failed transform has no terminating chunk");
    let logged = server.wait_log("not a number", IO_TIMEOUT);
    assert!(
        logged.is_some_and(|l| l.contains("map")),
        "the failure is logged: {:?}",
        server.log()
    );
    assert_eq!(server.get("/ok").text(), "fine");
}

/// Start examples/httpd-sse-tail.ilo following `feed`, with a heartbeat period.
fn sse_server(feed: &Path, heartbeat: &str) -> Server {
    Server::start_with(
        ilo()
            .env("EVENTS", feed)
            .env("HEARTBEAT", heartbeat)
            .args(["httpd", "--port", "0"])
            .arg(support::example("httpd-sse-tail.ilo")),
    )
}

/// Subscribe to `/events`, optionally resuming after `last_id`; check the SSE head.
fn subscribe(server: &Server, last_id: Option<&str>) -> BufReader<TcpStream> {
    let mut s = server.connect();
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    let resume = last_id
        .map(|id| format!("Last-Event-ID: {id}\r\n"))
        .unwrap_or_default();
    send(
        &mut s,
        &format!("GET /events HTTP/1.1\r\nHost: t\r\n{resume}\r\n"),
    );
    let mut r = BufReader::new(s);
    let (status, headers) = read_head(&mut r);
    assert_eq!(status, 200);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("content-type"), Some("text/event-stream"));
    assert_eq!(header("cache-control"), Some("no-cache"));
    r
}

/// The next chunk of an event stream, as text.
fn next_event<R: BufRead>(r: &mut R) -> String {
    support::next_chunk(r)
        .map(|c| String::from_utf8_lossy(&c).into_owned())
        .expect("another event")
}

/// The next event that is not a heartbeat: (id, data).
fn next_data<R: BufRead>(r: &mut R) -> (String, String) {
    loop {
        let event = next_event(r);
        if event == ":\n" {
            continue;
        }
        let field = |name: &str| {
            event
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {event:?}"))
                .to_string()
        };
        assert!(
            event.ends_with("\n\n"),
            "an event ends with a blank line: {event:?}"
        );
        return (field("id: "), field("data: "));
    }
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .expect("open feed");
    f.write_all(text.as_bytes()).expect("append");
}

#[test]
fn events_carry_ids_and_an_idle_stream_sends_heartbeats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("feed.log");
    std::fs::write(&feed, "written before anyone listened\n").expect("feed");
    let server = sse_server(&feed, "0.3");
    let mut r = subscribe(&server, None);
    append(&feed, "first\nsecond\n");
    let (id1, data1) = next_data(&mut r);
    let (id2, data2) = next_data(&mut r);
    assert_eq!((data1.as_str(), data2.as_str()), ("first", "second"));
    assert_ne!(id1, id2, "each event has its own id");
    // Nothing more is appended: the quiet stream sends comment lines, and only those.
    for _ in 0..2 {
        assert_eq!(next_event(&mut r), ":\n");
    }
    append(&feed, "third\n");
    assert_eq!(next_data(&mut r).1, "third");
}

#[test]
fn a_client_resumes_from_its_last_event_id_across_a_rotation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("feed.log");
    std::fs::write(&feed, "").expect("feed");
    let server = sse_server(&feed, "15");
    let mut r = subscribe(&server, None);
    append(&feed, "a\nb\n");
    assert_eq!(next_data(&mut r).1, "a");
    let (last_id, data) = next_data(&mut r);
    assert_eq!(data, "b");
    drop(r);

    // While the client is away: one more line in the old file, then a rotation and
    // lines in the new one.
    append(&feed, "c\n");
    std::fs::rename(&feed, dir.path().join("feed.log.1")).expect("rotate");
    append(&feed, "d\ne\n");

    let mut r = subscribe(&server, Some(&last_id));
    let got: Vec<String> = (0..3).map(|_| next_data(&mut r).1).collect();
    assert_eq!(got, ["c", "d", "e"], "nothing lost, nothing repeated");
    // And the resumed stream follows the new file.
    append(&feed, "f\n");
    assert_eq!(next_data(&mut r).1, "f");
}

/// A `Last-Event-ID` that `tail-file` never gave (not an id at all, or one pointing
/// into the middle of a line) is ignored: the client is served like a new one, from
/// the lines appended after it subscribed, rather than refused (an `EventSource`
/// refused once stays closed).
#[test]
fn an_id_tail_file_never_gave_starts_the_stream_afresh() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("feed.log");
    std::fs::write(&feed, "written before\n").expect("feed");
    let inode = std::fs::metadata(&feed).expect("feed").ino();
    let server = sse_server(&feed, "15");
    let mid_line = format!("{inode}-3");
    for (i, id) in ["nonsense", "12-x", mid_line.as_str()].iter().enumerate() {
        let mut r = subscribe(&server, Some(id));
        append(&feed, &format!("after {i}\n"));
        assert_eq!(next_data(&mut r).1, format!("after {i}"), "id {id:?}");
    }
    assert!(server.get("/").text().contains("EventSource"));
}

/// An upstream for broadcast tests: counts its connections, streams the lines sent on
/// its channel (`None` ends the body), and reports when its client closes.
struct Feed {
    port: u16,
    lines: mpsc::Sender<Option<String>>,
    connections: mpsc::Receiver<()>,
    closed: mpsc::Receiver<()>,
}

fn feed_upstream() -> Feed {
    let (listener, port) = local_listener();
    let (lines_tx, lines_rx) = mpsc::channel::<Option<String>>();
    let (conn_tx, conn_rx) = mpsc::channel();
    let (closed_tx, closed_rx) = mpsc::channel();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            let _ = conn_tx.send(());
            read_request_head(&mut s);
            let _ = s.write_all(CHUNKED_HEAD);
            let _ = s.set_nonblocking(true);
            loop {
                match lines_rx.recv_timeout(Duration::from_millis(20)) {
                    Ok(Some(line)) => {
                        let line = format!("{line}\n");
                        let chunk = format!("{:x}\r\n{line}\r\n", line.len());
                        let _ = s.set_nonblocking(false);
                        let _ = s.write_all(chunk.as_bytes());
                        let _ = s.set_nonblocking(true);
                    }
                    Ok(None) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.write_all(b"0\r\n\r\n");
                        break;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
                let mut byte = [0u8; 1];
                if let Ok(0) = std::io::Read::read(&mut s, &mut byte) {
                    let _ = closed_tx.send(());
                    break;
                }
            }
        }
    });
    Feed {
        port,
        lines: lines_tx,
        connections: conn_rx,
        closed: closed_rx,
    }
}

fn broadcast_server(feed: &Feed) -> Server {
    Server::start_with(
        ilo()
            .env("FEED", format!("http://127.0.0.1:{}/", feed.port))
            .args(["httpd", "--port", "0", "--quiet"])
            .arg(support::example("httpd-broadcast.ilo")),
    )
}

#[test]
fn every_subscriber_gets_every_line_from_one_upstream_closed_after_the_last() {
    let feed = feed_upstream();
    let server = broadcast_server(&feed);
    let mut subscribers: Vec<_> = (0..5).map(|_| open_stream(&server, "/")).collect();
    let mut shouting = open_stream(&server, "/shout");
    let sent: Vec<String> = (0..20).map(|i| format!("tick {i}")).collect();
    for line in &sent {
        feed.lines.send(Some(line.clone())).expect("upstream alive");
    }
    for r in &mut subscribers {
        let got: Vec<String> = (0..sent.len()).map(|_| next_event(r)).collect();
        let want: Vec<String> = sent.iter().map(|l| format!("{l}\n")).collect();
        assert_eq!(got, want, "every subscriber, every line, in order");
    }
    assert_eq!(
        next_event(&mut shouting),
        "TICK 0\n",
        "a subscriber can be mapped"
    );
    feed.connections
        .recv_timeout(IO_TIMEOUT)
        .expect("the upstream was opened");
    assert!(
        feed.connections.try_recv().is_err(),
        "the upstream is opened once for all subscribers"
    );

    drop(subscribers);
    drop(shouting);
    feed.closed
        .recv_timeout(IO_TIMEOUT)
        .expect("the upstream is closed when the last subscriber leaves");
    // The next subscriber opens it again.
    let mut again = open_stream(&server, "/");
    feed.connections
        .recv_timeout(IO_TIMEOUT)
        .expect("a new upstream for a new subscriber");
    feed.lines
        .send(Some("fresh".into()))
        .expect("upstream alive");
    assert_eq!(next_event(&mut again), "fresh\n");
}

#[test]
fn a_stalled_subscriber_is_cut_off_without_delaying_the_others() {
    let feed = feed_upstream();
    let server = broadcast_server(&feed);
    let stalled = open_stream(&server, "/");
    let mut reader = open_stream(&server, "/");
    // Far more than the socket buffers and the stalled subscriber's inbox can hold.
    let lines = 20_000;
    let payload = "x".repeat(1000);
    let sender = {
        let tx = feed.lines.clone();
        let payload = payload.clone();
        thread::spawn(move || {
            for i in 0..lines {
                if tx.send(Some(format!("{i} {payload}"))).is_err() {
                    return;
                }
                // Paced, so a reader descheduled for a while on a busy machine still
                // keeps up (socket buffers and its inbox absorb a few hundred ms).
                if i % 200 == 199 {
                    thread::sleep(Duration::from_millis(5));
                }
            }
            let _ = tx.send(None);
        })
    };
    let (chunks, complete) = read_chunks(&mut reader);
    sender.join().expect("sender");
    assert!(complete, "the reading subscriber's body ends properly");
    assert_eq!(chunks.len(), lines, "the reading subscriber got every line");
    assert!(chunks
        .iter()
        .enumerate()
        .all(|(i, c)| c == &format!("{i} {payload}\n")));

    // The stalled one was disconnected: what it was sent stops early, unterminated.
    let mut stalled = stalled;
    let (got, complete) = read_chunks(&mut stalled);
    assert!(!complete, "a disconnected subscriber's body is cut");
    assert!(
        got.len() < lines,
        "it did not get everything ({})",
        got.len()
    );
    let logged = server.wait_log("fell more than", IO_TIMEOUT);
    assert!(logged.is_some(), "the reason is logged: {:?}", server.log());
}

/// An upstream that takes its time to answer: it reports each connection, then, once
/// told to (`release`), sends its head and one line (`Some`), or hangs up without an
/// answer (`None`).
struct HeldUpstream {
    port: u16,
    connections: mpsc::Receiver<()>,
    release: mpsc::Sender<Option<String>>,
}

fn held_upstream() -> HeldUpstream {
    let (listener, port) = local_listener();
    let (conn_tx, conn_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<Option<String>>();
    thread::spawn(move || {
        let mut open = Vec::new();
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            read_request_head(&mut s);
            let _ = conn_tx.send(());
            // Answer once released; keep the connection (and any later one) open.
            match release_rx.recv() {
                Ok(Some(line)) => {
                    let _ = s.write_all(CHUNKED_HEAD);
                    let _ = s.write_all(&chunk(&format!("{line}\n")));
                    open.push(s);
                }
                Ok(None) => drop(s),
                Err(_) => return,
            }
        }
    });
    HeldUpstream {
        port,
        connections: conn_rx,
        release: release_tx,
    }
}

/// A server whose `/slow` subscribes to the hub "slow" (upstream `held`), whose
/// `/peek` answers the first line it reads from that hub inside the handler, and any
/// other path to the hub "fast" (upstream `fast`), with `extra` arguments.
fn slow_hub_server(held: &HeldUpstream, fast: u16, extra: &[&str]) -> (Server, tempfile::TempDir) {
    let dir = handler_dir(&[(
        "handler.ilo",
        r#"
slow-url>t;e=env "SLOW";?e{~u:u;^m:""}
fast-url>t;e=env "FAST";?e{~u:u;^m:""}
slow>R _ t;get-stream slow-url()
fast>R _ t;get-stream fast-url()
peek>t;s=bcast "slow" slow;@l s{ret l};""
handler req:_>_;
  =req.path "/slow" bcast "slow" slow
  =req.path "/peek" peek()
  bcast "fast" fast
"#,
    )]);
    let server = Server::start_with(
        ilo()
            .current_dir(dir.path())
            .env("SLOW", format!("http://127.0.0.1:{}/", held.port))
            .env("FAST", format!("http://127.0.0.1:{fast}/"))
            .args(["httpd", "--port", "0", "--quiet"])
            .args(extra)
            .arg("handler.ilo"),
    );
    (server, dir)
}

/// Send a GET for `path` and return the reader, nothing read yet.
fn request(server: &Server, path: &str) -> BufReader<TcpStream> {
    let mut s = server.connect();
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    send(&mut s, &format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
    BufReader::new(s)
}

/// `n` more subscribers of a hub that is still opening: each is answered at once
/// (its head comes before the upstream's), which also shows it has joined the hub
/// and so will get the upstream's first line.
fn join_while_opening(server: &Server, n: usize) -> Vec<BufReader<TcpStream>> {
    (0..n)
        .map(|_| {
            let mut r = request(server, "/slow");
            assert_eq!(read_head(&mut r).0, 200, "answered while the hub opens");
            r
        })
        .collect()
}

/// Let the held upstream answer `line`: the opener gets its head, then it and every
/// subscriber that joined during the open get the line, from the one upstream
/// connection.
fn release_to_all(
    held: &HeldUpstream,
    line: &str,
    opener: &mut BufReader<TcpStream>,
    joined: &mut [BufReader<TcpStream>],
) {
    held.release.send(Some(line.into())).expect("held upstream");
    assert_eq!(read_head(opener).0, 200);
    for r in std::iter::once(opener).chain(joined.iter_mut()) {
        assert_eq!(next_event(r), format!("{line}\n"));
    }
    assert!(
        held.connections.try_recv().is_err(),
        "the upstream was opened once"
    );
}

/// A hub whose upstream is slow to open holds up nobody but its own subscribers: a
/// subscriber of another hub is served meanwhile, and a second subscriber arriving
/// during the open joins the same hub (one upstream connection) and gets its lines.
#[test]
fn a_hub_slow_to_open_delays_no_other_hub_and_opens_once() {
    slow_hub_opens_once(&[]);
}

/// The same on one worker thread: the second subscriber's handler runs on the thread
/// whose other handler is suspended inside the hub's open.
#[test]
fn a_hub_slow_to_open_on_one_worker_opens_once_for_both() {
    slow_hub_opens_once(&["--workers", "1"]);
}

fn slow_hub_opens_once(extra: &[&str]) {
    let held = held_upstream();
    let feed = feed_upstream();
    let (server, _dir) = slow_hub_server(&held, feed.port, extra);
    let mut first = request(&server, "/slow");
    held.connections
        .recv_timeout(IO_TIMEOUT)
        .expect("the slow hub is opening");
    let mut joined = join_while_opening(&server, 1);

    // While the slow hub is still opening, another hub opens and streams.
    let mut other = open_stream(&server, "/fast");
    feed.connections
        .recv_timeout(IO_TIMEOUT)
        .expect("the other hub opened");
    feed.lines.send(Some("fast 1".into())).expect("feed");
    assert_eq!(next_event(&mut other), "fast 1\n");

    release_to_all(&held, "slow 1", &mut first, &mut joined);
}

/// Several subscribers on one worker wait for a hub whose upstream answers late,
/// while the opener's handler is suspended on that same thread: all get its line,
/// from one upstream connection.
#[test]
fn subscribers_on_one_worker_all_get_a_late_upstreams_first_line() {
    let held = held_upstream();
    let feed = feed_upstream();
    let (server, _dir) = slow_hub_server(&held, feed.port, &["--workers", "1"]);
    let mut opener = request(&server, "/slow");
    held.connections
        .recv_timeout(IO_TIMEOUT)
        .expect("the hub is opening");
    let mut joined = join_while_opening(&server, 4);

    release_to_all(&held, "late 1", &mut opener, &mut joined);
}

/// A handler that reads a hub still being opened by another handler suspended on
/// the same (only) worker thread waits without holding that thread: the opener is
/// resumed when the upstream answers, and the reader gets the first line.
#[test]
fn a_handler_reading_a_hub_opening_on_its_own_thread_gets_its_first_line() {
    let held = held_upstream();
    let feed = feed_upstream();
    let (server, _dir) = slow_hub_server(&held, feed.port, &["--workers", "1"]);
    let mut opener = request(&server, "/slow");
    held.connections
        .recv_timeout(IO_TIMEOUT)
        .expect("the hub is opening");
    let mut peek = request(&server, "/peek");
    // The thread still serves others while both handlers wait.
    let mut other = open_stream(&server, "/fast");
    feed.connections
        .recv_timeout(IO_TIMEOUT)
        .expect("the other hub opened");
    feed.lines.send(Some("fast 1".into())).expect("feed");
    assert_eq!(next_event(&mut other), "fast 1\n");

    held.release
        .send(Some("first".into()))
        .expect("held upstream");
    assert_eq!(read_head(&mut opener).0, 200);
    assert_eq!(next_event(&mut opener), "first\n");
    let (status, headers) = read_head(&mut peek);
    assert_eq!(status, 200);
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .expect("a content length");
    let mut body = vec![0; length];
    std::io::Read::read_exact(&mut peek, &mut body).expect("the peeked line");
    assert_eq!(String::from_utf8_lossy(&body), "first");
}

/// An open that fails reaches every subscriber waiting for it: the opener's handler
/// fails, and each stream that joined meanwhile ends cut, without its final chunk.
/// The name is free again: the next subscriber opens the upstream anew.
#[test]
fn a_failed_open_reaches_every_waiting_subscriber_and_frees_the_name() {
    let held = held_upstream();
    let feed = feed_upstream();
    let (server, _dir) = slow_hub_server(&held, feed.port, &["--workers", "1"]);
    let mut opener = request(&server, "/slow");
    held.connections
        .recv_timeout(IO_TIMEOUT)
        .expect("the hub is opening");
    let joined = join_while_opening(&server, 3);

    held.release.send(None).expect("held upstream");
    assert_eq!(read_head(&mut opener).0, 500, "the opener's handler failed");
    for mut r in joined {
        let (chunks, complete) = read_chunks(&mut r);
        assert!(chunks.is_empty(), "no lines: {chunks:?}");
        assert!(!complete, "the stream is cut, not ended");
    }

    let mut again = request(&server, "/slow");
    held.connections
        .recv_timeout(IO_TIMEOUT)
        .expect("the next subscriber opens the upstream again");
    held.release
        .send(Some("again".into()))
        .expect("held upstream");
    assert_eq!(read_head(&mut again).0, 200);
    assert_eq!(next_event(&mut again), "again\n");
}
