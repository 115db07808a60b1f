//! Lazy line sources as response bodies over real sockets: chunk-by-chunk delivery,
//! gathering of ready lines, client hang-ups, source failures, shared sources,
//! many concurrent streams, and shutdown with streams in flight.

mod httpd_support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use httpd_support::*;
use ilo_runtime::httpd::ServerConfig;
use ilo_runtime::value::Value;

/// Where a handler leaves each new source's feeding end and release flag for the test.
#[derive(Clone, Default)]
struct Feeds(Arc<Mutex<Vec<FeedEnd>>>);

/// A source's sender (until forgotten) and its release flag.
type FeedEnd = (Option<Sender<Feed>>, Arc<AtomicBool>);

impl Feeds {
    /// A new source, already holding `first` lines (so they are ready).
    fn new_source(&self, first: &[&str]) -> Value {
        let (tx, src, released) = ChannelSource::new();
        for l in first {
            let _ = tx.send(line(l));
        }
        if let Ok(mut v) = self.0.lock() {
            v.push((Some(tx), released));
        }
        Value::source(Box::new(src))
    }

    /// The feeding end of the `i`th source, once its request has arrived.
    fn take(&self, i: usize) -> (Sender<Feed>, Arc<AtomicBool>) {
        assert!(
            eventually(Duration::from_secs(5), || self
                .0
                .lock()
                .map(|v| v.len() > i)
                .unwrap_or(false)),
            "request {i} never reached the handler"
        );
        let v = self.0.lock().expect("feeds");
        (
            v[i].0.clone().expect("sender not yet forgotten"),
            Arc::clone(&v[i].1),
        )
    }

    /// Drop every sender the test does not hold, so sources end when the test says so.
    fn forget_senders(&self) {
        if let Ok(mut v) = self.0.lock() {
            v.iter_mut().for_each(|(tx, _)| *tx = None);
        }
    }
}

fn line(s: &str) -> Feed {
    Ok(s.to_string())
}

#[test]
fn lines_arrive_one_by_one_as_they_are_produced() {
    let feeds = Feeds::default();
    let f = feeds.clone();
    let server = start(move |_| Ok(f.new_source(&[])));
    let mut c = server.connect();
    c.send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    let (tx, _) = feeds.take(0);
    feeds.forget_senders();
    // The head goes out before any line exists.
    let (status, headers) = c.head().expect("head before the first line");
    assert_eq!(status, 200);
    assert!(headers.contains(&("transfer-encoding".to_string(), "chunked".to_string())));
    for word in ["first", "second", "third"] {
        tx.send(line(word)).expect("source alive");
        // Each line arrives while the source is still open (it has not finished).
        assert_eq!(
            c.chunk().expect("chunk"),
            Some(format!("{word}\n").into_bytes())
        );
    }
    drop(tx);
    assert_eq!(c.chunk().expect("last chunk"), None);
    // The connection is kept alive after a complete stream.
    c.send(b"GET /again HTTP/1.1\r\nHost: t\r\n\r\n");
    let (tx, _) = feeds.take(1);
    feeds.forget_senders();
    tx.send(line("x")).expect("source alive");
    drop(tx);
    assert_eq!(c.response(false).body, b"x\n");
}

#[test]
fn ready_lines_are_gathered_into_a_single_write() {
    let server = start(|_| {
        let (tx, src, _) = ChannelSource::new();
        for i in 0..10 {
            tx.send(Ok(format!("line {i}")))
                .map_err(|e| e.to_string())?;
        }
        Ok(Value::source(Box::new(src)))
    });
    let mut c = server.connect();
    let before = server.stats.writes();
    let r = c.get("/");
    assert_eq!(r.chunks.len(), 10, "one chunk per line");
    assert_eq!(r.chunks[3], b"line 3\n");
    // Head and ten chunks in one writev; the end of the source was not "ready", so
    // the terminating chunk followed in a second one.
    assert_eq!(server.stats.writes() - before, 2);
}

#[test]
fn gathering_is_capped_by_the_configured_batch() {
    let config = ServerConfig {
        gather_max_lines: 4,
        ..test_config()
    };
    let server = start_with(config, |_| {
        let (tx, src, _) = ChannelSource::new();
        for i in 0..10 {
            tx.send(Ok(format!("{i}"))).map_err(|e| e.to_string())?;
        }
        Ok(Value::source(Box::new(src)))
    });
    let before = server.stats.writes();
    let r = server.connect().get("/");
    assert_eq!(r.chunks.len(), 10);
    // 4 + 4 + 2 lines, then the terminator.
    assert_eq!(server.stats.writes() - before, 4);
}

#[test]
fn a_client_hanging_up_mid_stream_releases_the_source_and_serving_goes_on() {
    let feeds = Feeds::default();
    let f = feeds.clone();
    let server = start(move |req| {
        if field(&req, "path").as_text() == Some("/plain") {
            return Ok(Value::text("still here"));
        }
        Ok(f.new_source(&[]))
    });
    let mut c = server.connect();
    c.send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    let (tx, released) = feeds.take(0);
    feeds.forget_senders();
    // A producer that keeps emitting until the source is gone.
    let producer = std::thread::spawn(move || {
        let mut n = 0;
        while tx.send(Ok(format!("tick {n}"))).is_ok() && n < 1000 {
            n += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    c.head().expect("head");
    assert_eq!(c.chunk().expect("first chunk"), Some(b"tick 0\n".to_vec()));
    drop(c);
    let hung_up = Instant::now();
    // The bound: a client hang-up releases the source within 1 s. The event
    // loop sees it at once (or at the next 50 ms tick's failed write).
    assert!(
        eventually(Duration::from_secs(1), || released.load(Ordering::SeqCst)),
        "source not released within a second of the hang-up"
    );
    assert!(hung_up.elapsed() < Duration::from_secs(1));
    producer.join().expect("producer");
    assert_eq!(server.connect().get("/plain").text(), "still here");
}

#[test]
fn a_source_error_cuts_the_body_without_the_terminating_chunk() {
    let server = start(|_| {
        let (tx, src, _) = ChannelSource::new();
        tx.send(Ok("good line".into())).map_err(|e| e.to_string())?;
        tx.send(Err("upstream reset".into()))
            .map_err(|e| e.to_string())?;
        Ok(Value::source(Box::new(src)))
    });
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    c.head().expect("head");
    assert_eq!(
        c.chunk().expect("first chunk"),
        Some(b"good line\n".to_vec())
    );
    // No `0\r\n\r\n`: the client sees the connection end mid-body.
    assert!(c.chunk().is_err(), "body must be truncated, not terminated");
}

#[test]
fn head_requests_do_not_read_the_source_and_release_it() {
    let feeds = Feeds::default();
    let f = feeds.clone();
    let server = start(move |_| Ok(f.new_source(&[])));
    let mut c = server.connect();
    c.send(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.response(true);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    let (_, released) = feeds.take(0);
    assert!(eventually(Duration::from_secs(1), || released.load(Ordering::SeqCst)));
}

#[test]
fn http_1_0_streams_are_close_delimited() {
    let server = start(|_| {
        let (tx, src, _) = ChannelSource::new();
        for w in ["a", "b", "c"] {
            tx.send(Ok(w.into())).map_err(|e| e.to_string())?;
        }
        Ok(Value::source(Box::new(src)))
    });
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.text(), "a\nb\nc\n");
}

#[test]
fn a_shared_source_hands_each_line_to_exactly_one_response() {
    let (tx, src, released) = ChannelSource::new();
    let shared = Value::source(Box::new(src));
    let server = start(move |_| Ok(shared.clone()));
    let mut clients: Vec<Client> = (0..3).map(|_| server.connect()).collect();
    for c in &mut clients {
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        c.head().expect("head");
    }
    // One client hanging up must not close a source other responses still use.
    drop(clients.pop());
    let sent: BTreeSet<String> = (0..40).map(|i| format!("l{i}")).collect();
    for l in &sent {
        tx.send(Ok(l.clone())).expect("source alive");
        std::thread::sleep(Duration::from_millis(2));
    }
    drop(tx);
    let mut got = Vec::new();
    for c in &mut clients {
        while let Some(chunk) = c.chunk().expect("chunk") {
            got.push(String::from_utf8_lossy(&chunk).trim_end().to_string());
        }
    }
    // The hung-up client may have consumed a line before its write failed.
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(unique.len(), got.len(), "no line delivered twice");
    assert!(
        got.len() >= sent.len() - 1 && unique.is_subset(&sent),
        "{got:?}"
    );
    assert!(!released.load(Ordering::SeqCst) || got.len() == sent.len());
}

#[test]
fn holds_many_concurrent_streaming_responses() {
    const N: usize = 1500;
    let feeds = Feeds::default();
    let f = feeds.clone();
    let server = start(move |_| Ok(f.new_source(&["hello"])));
    let started = Instant::now();
    let mut clients: Vec<Client> = (0..N).map(|_| server.connect()).collect();
    for c in &mut clients {
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    for c in &mut clients {
        c.head().expect("head");
        assert_eq!(c.chunk().expect("first line"), Some(b"hello\n".to_vec()));
    }
    // Every response is open at once; now end them all.
    feeds.forget_senders();
    for c in &mut clients {
        assert_eq!(c.chunk().expect("end"), None);
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(server.stats.connections(), N as u64);
}

#[test]
fn shutdown_lets_an_in_flight_stream_finish_and_refuses_new_work() {
    let feeds = Feeds::default();
    let f = feeds.clone();
    let server = start(move |_| Ok(f.new_source(&[])));
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    let (tx, _) = feeds.take(0);
    feeds.forget_senders();
    c.head().expect("head");
    server.handle.shutdown();
    // The stream keeps going after shutdown was requested.
    tx.send(line("after shutdown")).expect("source alive");
    assert_eq!(
        c.chunk().expect("chunk"),
        Some(b"after shutdown\n".to_vec())
    );
    drop(tx);
    assert_eq!(c.chunk().expect("end"), None);
    // Kept-alive connections are not reused once shutdown started.
    assert!(c.closed_by_server());
    server.join_within(Duration::from_secs(2));
}

#[test]
fn shutdown_gives_up_on_endless_streams_at_the_deadline() {
    let feeds = Feeds::default();
    let f = feeds.clone();
    let config = ServerConfig {
        shutdown_deadline: Duration::from_millis(300),
        ..test_config()
    };
    let server = start_with(config, move |_| Ok(f.new_source(&[])));
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    let (_tx, _) = feeds.take(0);
    c.head().expect("head");
    let took = server.stop_within(Duration::from_secs(3));
    assert!(
        took >= Duration::from_millis(250),
        "waited for the stream: {took:?}"
    );
}
