//! `ilo httpd` serving live streams: lazy transforms (`map`, `flt`, `take`, `drop`)
//! of line sources, over real sockets through the real binary.

#[path = "support/httpd.rs"]
mod support;

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::{handler_dir, ilo, local_listener, read_head, read_request_head, send};
use support::{Server, IO_TIMEOUT};

const LINE_GAP: Duration = Duration::from_millis(200);

/// A chunked body read to its end: each chunk with when it arrived, and whether the
/// terminating chunk came (`false`: the connection closed without it, the sign of a
/// failed source).
fn read_chunks_timed<R: BufRead>(r: &mut R) -> (Vec<(Instant, String)>, bool) {
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
        chunks.push((Instant::now(), String::from_utf8_lossy(&data).into_owned()));
    }
}

fn read_chunks<R: BufRead>(r: &mut R) -> (Vec<String>, bool) {
    let (chunks, complete) = read_chunks_timed(r);
    (chunks.into_iter().map(|(_, c)| c).collect(), complete)
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

/// An upstream answering one request with `lines` chunked lines `LINE_GAP` apart.
fn slow_upstream(lines: Vec<String>) -> u16 {
    let (listener, port) = local_listener();
    thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        read_request_head(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for line in lines {
            thread::sleep(LINE_GAP);
            let line = format!("{line}\n");
            let _ = s.write_all(format!("{:x}\r\n{line}\r\n", line.len()).as_bytes());
        }
        let _ = s.write_all(b"0\r\n\r\n");
    });
    port
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

#[test]
fn a_transformed_slow_source_keeps_each_lines_pace() {
    let lines: Vec<String> = (0..6)
        .map(|i| format!("{} {i}", if i % 2 == 0 { "keep" } else { "skip" }))
        .collect();
    let upstream = slow_upstream(lines);
    let dir = handler_dir(&[("handler.ilo", TRANSFORMS)]);
    let server = transforms_server(upstream, &dir.path().join("feed.log"), dir.path());
    let mut r = open_stream(&server, "/");
    let (timed, complete) = read_chunks_timed(&mut r);
    let (arrivals, chunks): (Vec<Instant>, Vec<String>) = timed.into_iter().unzip();
    assert!(complete, "the body ends with its terminating chunk");
    assert_eq!(chunks, ["KEEP 0\n", "KEEP 2\n", "KEEP 4\n"]);
    // Each kept line was sent as it arrived (two upstream gaps apart), not gathered.
    let spread = arrivals[2].duration_since(arrivals[0]);
    assert!(
        spread >= LINE_GAP * 3,
        "three kept lines arrived within {spread:?}"
    );
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
