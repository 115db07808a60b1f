//! Server-sent events in a real browser. examples/httpd-sse-tail.ilo follows a file
//! with `tail-file`, and headless Chromium, on a page whose `EventSource` subscribes to
//! it, shows the lines the test appends to the file. A second server ends each stream
//! after a few events, so the browser must reconnect and resume from its
//! `Last-Event-ID` (nothing lost, nothing repeated), and stays quiet for longer than
//! its heartbeat period without the connection being given up.
//!
//! How the page is read back: `chromium --headless --dump-dom` prints the DOM once the
//! page has loaded. The page (served by a tiny server in this test) ends with a script
//! the test server holds back, so loading lasts until the page has received enough
//! events and says so by fetching `/done`. The DOM then lists the events received.
//!
//! Chromium is installed by .ci/run; where it is missing this test prints
//! "skipped: chromium unavailable" and passes.

#[path = "support/httpd.rs"]
mod support;

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use support::{example, handler_dir, ilo, local_listener, read_request_head, Server};

/// Events the page waits for before it lets loading finish.
const WANTED: usize = 5;
/// Bound on the whole browser run.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// The page: subscribe to the ilo server, list each event, report after `WANTED`.
fn page(events_url: &str) -> String {
    format!(
        "<!doctype html><meta charset=utf-8><ul id=events></ul><script>\
         let n=0;new EventSource('{events_url}').onmessage=e=>{{\
         const li=document.createElement('li');li.textContent=e.data;\
         document.getElementById('events').append(li);\
         if(++n==={WANTED})fetch('/done')}}</script><script src=/wait></script>"
    )
}

fn respond(s: &mut TcpStream, status: &str, content_type: &str, body: &str) {
    let _ = s.write_all(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
}

/// Serve the page, hold `/wait` until `/done` (or a timeout), report `/opened` on
/// the returned channel, answer the rest 404.
fn page_server(page: String) -> (u16, mpsc::Receiver<()>) {
    let (listener, port) = local_listener();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let (opened_tx, opened_rx) = mpsc::channel::<()>();
    let done_rx = Arc::new(std::sync::Mutex::new(done_rx));
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            let (page, done_tx, done_rx) = (page.clone(), done_tx.clone(), Arc::clone(&done_rx));
            let opened_tx = opened_tx.clone();
            thread::spawn(move || {
                let head = read_request_head(&mut s);
                let target = head.split_whitespace().nth(1).unwrap_or("");
                match target.split('?').next().unwrap_or("") {
                    "/" => respond(&mut s, "200 OK", "text/html; charset=utf-8", &page),
                    "/wait" => {
                        if let Ok(rx) = done_rx.lock() {
                            let _ = rx.recv_timeout(BROWSER_TIMEOUT);
                        }
                        respond(&mut s, "200 OK", "text/javascript", "");
                    }
                    "/done" => {
                        let _ = done_tx.send(());
                        respond(&mut s, "204 No Content", "text/plain", "");
                    }
                    "/opened" => {
                        let _ = opened_tx.send(());
                        respond(&mut s, "204 No Content", "text/plain", "");
                    }
                    _ => respond(&mut s, "404 Not Found", "text/plain", ""),
                }
            });
        }
    });
    (port, opened_rx)
}

/// Load `url` in headless Chromium and return the DOM once the page has loaded;
/// `None` when Chromium is not installed.
fn dump_dom(url: &str) -> Option<String> {
    let profile = tempfile::tempdir().expect("profile dir");
    let spawned = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut browser = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == ErrorKind::NotFound => return None,
        Err(e) => panic!("cannot start chromium: {e}"),
    };
    let started = Instant::now();
    while browser.try_wait().expect("poll chromium").is_none() {
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = browser.kill();
            let _ = browser.wait();
            panic!("chromium did not finish within {BROWSER_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
    let out = browser.wait_with_output().expect("chromium output");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The numbers of the `line N` items the page listed, in order.
fn received_lines(dom: &str) -> Vec<u64> {
    dom.split("<li>")
        .skip(1)
        .filter_map(|item| item.split("</li>").next())
        .map(|text| {
            text.strip_prefix("line ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected event {text:?} in {dom}"))
        })
        .collect()
}

/// Consecutive numbers: every event arrived, once, in order.
fn assert_consecutive(received: &[u64]) {
    for pair in received.windows(2) {
        assert_eq!(
            pair[1],
            pair[0] + 1,
            "events out of order, missing or repeated: {received:?}"
        );
    }
}

#[test]
fn a_browser_event_source_receives_lines_appended_to_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let feed = dir.path().join("feed.log");
    std::fs::write(&feed, "written before anyone listened\n").expect("create feed");
    let server = Server::start_with(
        ilo()
            .env("EVENTS", &feed)
            .args(["httpd", "--port", "0"])
            .arg(example("httpd-sse-tail.ilo")),
    );
    // The example's own page subscribes to its own /events.
    assert!(server
        .get("/")
        .text()
        .contains("new EventSource('/events')"));

    // Append an event every 100 ms until the browser is done.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, feed) = (Arc::clone(&stop), feed.clone());
        thread::spawn(move || {
            let mut file = OpenOptions::new()
                .append(true)
                .open(&feed)
                .expect("open feed");
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                file.write_all(format!("line {i}\n").as_bytes())
                    .expect("append event");
                i += 1;
                thread::sleep(Duration::from_millis(100));
            }
        })
    };

    let (page_port, _) = page_server(page(&server.url("/events")));
    let dom = dump_dom(&format!("http://127.0.0.1:{page_port}/"));
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer thread");
    let Some(dom) = dom else {
        println!("skipped: chromium unavailable");
        return;
    };
    let received = received_lines(&dom);
    assert!(
        received.len() >= WANTED,
        "only {} events reached the page: {dom}",
        received.len()
    );
    // Consecutive lines, in order: every appended event arrived, once, as it was written.
    assert_consecutive(&received);
}

/// A server that ends each event stream after `PER_CONNECTION` lines, so the browser
/// has to reconnect, and resumes from `Last-Event-ID`; a short `retry` keeps the
/// reconnections quick, and the heartbeat period is one second.
const RESUMING: &str = r#"
type ev{data:t;retry:n}
feed>t;e=env "EVENTS";?e{~f:f;^m:"events.log"}
last-id req:_>t;h=mget req.headers "last-event-id";h??""
handler req:_>_;
  src=take 4 (tail-file feed() (last-id req))
  rsp status:200 headers:(mset mmap "access-control-allow-origin" "*") body:(sse (l:t>_;ev data:l retry:200) 1 src)
"#;
const PER_CONNECTION: usize = 4;
/// Events the resuming page waits for: three connections' worth, less one.
const RESUMED_WANTED: usize = 3 * PER_CONNECTION - 1;

/// The page: count connections (`open` events), list each event, tell the test when
/// the first connection is open and when enough events arrived.
fn resuming_page(events_url: &str) -> String {
    format!(
        "<!doctype html><meta charset=utf-8><p id=opens></p><ul id=events></ul><script>\
         let n=0,opens=0;const es=new EventSource('{events_url}');\
         es.onopen=()=>{{opens++;document.getElementById('opens').textContent=opens;\
         if(opens===1)fetch('/opened')}};\
         es.onmessage=e=>{{const li=document.createElement('li');li.textContent=e.data;\
         document.getElementById('events').append(li);\
         if(++n==={RESUMED_WANTED}){{es.close();fetch('/done')}}}}</script>\
         <script src=/wait></script>"
    )
}

#[test]
fn a_browser_stays_through_idle_periods_and_resumes_after_each_drop() {
    let dir = handler_dir(&[("handler.ilo", RESUMING)]);
    let feed = dir.path().join("feed.log");
    std::fs::write(&feed, "").expect("create feed");
    let server = Server::start_with(ilo().current_dir(dir.path()).env("EVENTS", &feed).args([
        "httpd",
        "--port",
        "0",
        "handler.ilo",
    ]));
    let (page_port, opened) = page_server(resuming_page(&server.url("/events")));

    // Once the page is subscribed: a line every 100 ms, with a quiet spell of three
    // heartbeat periods inside the first connection. Lines keep coming while the
    // browser reconnects; resuming must deliver them all.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, feed) = (Arc::clone(&stop), feed.clone());
        thread::spawn(move || {
            if opened.recv_timeout(BROWSER_TIMEOUT).is_err() {
                return;
            }
            let mut file = OpenOptions::new()
                .append(true)
                .open(&feed)
                .expect("open feed");
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) && i < 200 {
                file.write_all(format!("line {i}\n").as_bytes())
                    .expect("append event");
                let pause = if i == 1 { 3000 } else { 100 };
                thread::sleep(Duration::from_millis(pause));
                i += 1;
            }
        })
    };
    let dom = dump_dom(&format!("http://127.0.0.1:{page_port}/"));
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer thread");
    let Some(dom) = dom else {
        println!("skipped: chromium unavailable");
        return;
    };
    let received = received_lines(&dom);
    assert_eq!(
        received.len(),
        RESUMED_WANTED,
        "the page saw {} events: {dom}",
        received.len()
    );
    assert_eq!(received[0], 0, "the first line appended after subscribing");
    assert_consecutive(&received);
    // One connection per four events: the quiet spell (heartbeats only) did not
    // break the first one, and each server-side end was followed by one reconnect.
    let opens: usize = dom
        .split("<p id=\"opens\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no connection count in {dom}"));
    assert_eq!(opens, 3, "connections opened: {dom}");
}
