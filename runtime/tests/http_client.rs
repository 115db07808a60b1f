//! The HTTP client through the builtins, against upstreams run by the test on
//! 127.0.0.1: lines delivered as sent for each body framing, eager get/post, redirects, fan-out,
//! and the failures (refused, non-2xx, cut mid-chunk) as clean errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

mod builtin_support;

use builtin_support::{blocked_reader, call, text, DEADLOCK, PATIENCE};
use ilo_runtime::error::codes;
use ilo_runtime::line_source::next_text;
use ilo_runtime::value::{MapKey, Value};

/// The request as the upstream saw it.
#[derive(Debug)]
struct Seen {
    head: String,
    body: String,
}

fn read_request(stream: &mut TcpStream) -> Seen {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("request line") == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().expect("length"))
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).expect("request body");
    Seen {
        head,
        body: String::from_utf8(body).expect("utf-8 body"),
    }
}

/// Serve `n` connections, one after another, each with `handler`. Returns the base URL.
fn upstream(n: usize, handler: impl Fn(Seen, TcpStream) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let seen = read_request(&mut stream);
            handler(seen, stream);
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// Send `lines` through a streaming body with `framing`, in lockstep with the
/// client: each line is written only once the client reports (on the returned
/// sender) that it has the one before.
fn streaming_upstream(framing: &'static str, lines: Vec<String>) -> (String, mpsc::Sender<()>) {
    let (got_tx, got) = mpsc::channel::<()>();
    let url = upstream(1, move |_, mut s| {
        let head = match framing {
            "chunked" => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_string(),
            "close" => "HTTP/1.1 200 OK\r\n\r\n".to_string(),
            _ => {
                let total: usize = lines.iter().map(|l| l.len() + 1).sum();
                format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n")
            }
        };
        s.write_all(head.as_bytes()).expect("head");
        for (i, line) in lines.iter().enumerate() {
            if i > 0 && got.recv_timeout(DEADLOCK).is_err() {
                return; // the client never got the line before: the test fails there
            }
            let bytes = match framing {
                "chunked" => format!("{:x}\r\n{line}\n\r\n", line.len() + 1),
                _ => format!("{line}\n"),
            };
            s.write_all(bytes.as_bytes()).expect("line");
        }
        if framing == "chunked" {
            s.write_all(b"0\r\n\r\n").expect("last chunk");
        }
    });
    (url, got_tx)
}

/// Each line reaches the reader while the upstream waits for it before sending the
/// next. A client that held lines back (for a fuller buffer, the next chunk, or the
/// end of the body) never hands one over: the read stays blocked and the test fails
/// after [`DEADLOCK`]. (The issue asks for 100 ms; lockstep proves the same thing,
/// that nothing waits for more input, without a clock.)
fn assert_lines_arrive_as_sent(framing: &'static str) {
    let lines: Vec<String> = (0..4).map(|i| format!("l{i}")).collect();
    let (url, got) = streaming_upstream(framing, lines.clone());
    let r = call("get-stream", &[text(&format!("{url}/events"))]).expect("get-stream");
    let src = match r.as_result() {
        Some(Ok(src)) => src.clone(),
        other => panic!("expected ~stream, got {other:?}"),
    };
    let (lines_tx, lines_rx) = mpsc::channel();
    thread::spawn(move || {
        while let Ok(Some(line)) = next_text(&src) {
            let _ = lines_tx.send(line.as_text().map(String::from));
        }
        let _ = lines_tx.send(None);
    });
    for want in &lines {
        let line = lines_rx
            .recv_timeout(DEADLOCK)
            .unwrap_or_else(|e| panic!("{framing}: {want} not delivered: {e}"));
        assert_eq!(line.as_deref(), Some(want.as_str()), "{framing}");
        let _ = got.send(());
    }
    let end = lines_rx.recv_timeout(DEADLOCK).expect("the stream ends");
    assert_eq!(end, None, "{framing}: a clean end");
}

#[test]
fn chunked_lines_arrive_as_they_are_sent() {
    assert_lines_arrive_as_sent("chunked");
}

#[test]
fn close_delimited_lines_arrive_as_they_are_sent() {
    assert_lines_arrive_as_sent("close");
}

#[test]
fn content_length_lines_arrive_as_they_are_sent() {
    assert_lines_arrive_as_sent("length");
}

#[test]
fn chunk_boundaries_do_not_matter_to_lines() {
    let url = upstream(1, |_, mut s| {
        let body = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
                    3\r\nab\n\r\n4\r\ncd\ne\r\n5;ext=1\r\nf\r\ngh\r\n0\r\nX-Trailer: 1\r\n\r\n";
        s.write_all(body.as_bytes()).expect("write");
    });
    let r = call("get-stream", &[text(&url)]).expect("get-stream");
    let src = r.as_result().expect("result").expect("ok").clone();
    let mut got = Vec::new();
    while let Some(l) = next_text(&src).expect("read") {
        got.push(l.as_text().expect("text").to_string());
    }
    assert_eq!(got, vec!["ab", "cd", "ef", "gh"]);
}

#[test]
fn upstream_closing_mid_chunk_is_an_ilo_r009_error() {
    let url = upstream(1, |_, mut s| {
        s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nfirst\n")
            .expect("write");
        // Dropping the stream closes the connection 10 bytes short.
    });
    let r = call("get-stream", &[text(&url)]).expect("get-stream");
    let src = r.as_result().expect("result").expect("ok").clone();
    let first = next_text(&src).expect("first line").expect("a line");
    assert_eq!(first.as_text(), Some("first"));
    let err = next_text(&src).expect_err("the cut is an error");
    assert_eq!(err.code, codes::PANIC);
    assert!(
        err.message.starts_with("http-stream read error: "),
        "{}",
        err.message
    );
    assert!(err.message.contains("mid-chunk"), "{}", err.message);
    // Afterwards the stream is over, not stuck.
    assert!(next_text(&src).expect("end").is_none());
}

#[test]
fn content_length_cut_short_is_an_error() {
    let url = upstream(1, |_, mut s| {
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this\n")
            .expect("write");
    });
    let r = call("get-stream", &[text(&url)]).expect("get-stream");
    let src = r.as_result().expect("result").expect("ok").clone();
    assert_eq!(
        next_text(&src).expect("line").expect("some").as_text(),
        Some("only this")
    );
    let err = next_text(&src).expect_err("short body");
    assert!(
        err.message.contains("bytes of the body missing"),
        "{}",
        err.message
    );
}

#[test]
fn non_2xx_status_is_an_err_result() {
    let url = upstream(2, |_, mut s| {
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")
            .expect("write");
    });
    let r = call("get-stream", &[text(&format!("{url}/missing"))]).expect("builtin");
    assert_eq!(r.to_string(), "^HTTP 404 Not Found");
    let r = call("get", &[text(&format!("{url}/missing"))]).expect("builtin");
    assert_eq!(r.to_string(), "^HTTP 404 Not Found");
}

#[test]
fn refused_connection_is_an_err_with_the_os_message() {
    let r = call("get", &[text("http://127.0.0.1:1/")]).expect("builtin");
    assert_eq!(r.to_string(), "^Connection refused (os error 111)");
    let r = call("get-stream", &[text("http://127.0.0.1:1/")]).expect("builtin");
    assert_eq!(r.to_string(), "^Connection refused (os error 111)");
    let r = call("pst-stream", &[text("http://127.0.0.1:1/"), text("b")]).expect("builtin");
    assert_eq!(r.to_string(), "^Connection refused (os error 111)");
}

#[test]
fn bad_urls_are_err_results() {
    let r = call("get", &[text("ftp://127.0.0.1/x")]).expect("builtin");
    assert!(r.to_string().starts_with("^unsupported URL scheme"), "{r}");
    let r = call("get-stream", &[text("not a url")]).expect("builtin");
    assert!(r.to_string().starts_with("^invalid URL"), "{r}");
}

#[test]
fn get_with_headers_and_post_with_body_reach_the_upstream() {
    let url = upstream(2, |seen, mut s| {
        let key = seen
            .head
            .lines()
            .find_map(|l| l.strip_prefix("x-api-key: "))
            .unwrap_or("none")
            .to_string();
        let method = seen.head.split(' ').next().unwrap_or("").to_string();
        let reply = format!("{method} {key} {}", seen.body);
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{reply}",
            reply.len()
        );
        s.write_all(resp.as_bytes()).expect("write");
    });
    let mut headers = std::collections::BTreeMap::new();
    headers.insert(MapKey::Text("x-api-key".into()), text("secret"));
    let headers = Value::map(headers);
    let r = call("get", &[text(&url), headers.clone()]).expect("get");
    assert_eq!(r.to_string(), "~GET secret ");
    let r = call("post", &[text(&url), text("payload"), headers]).expect("post");
    assert_eq!(r.to_string(), "~POST secret payload");
}

#[test]
fn get_follows_redirects_and_post_stream_does_not() {
    let url = upstream(3, |seen, mut s| {
        let target = seen.head.split(' ').nth(1).unwrap_or("").to_string();
        let resp = if target == "/old" {
            "HTTP/1.1 302 Found\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n".to_string()
        } else {
            format!("HTTP/1.1 200 OK\r\n\r\nat {target}\n")
        };
        s.write_all(resp.as_bytes()).expect("write");
    });
    let r = call("get-stream", &[text(&format!("{url}/old"))]).expect("get-stream");
    let src = r.as_result().expect("result").expect("followed").clone();
    assert_eq!(
        next_text(&src).expect("read").expect("line").as_text(),
        Some("at /new")
    );
    let r = call("pst-stream", &[text(&format!("{url}/old")), text("x")]).expect("pst-stream");
    assert_eq!(r.to_string(), "^HTTP 302 Found");
}

#[test]
fn get_many_keeps_the_order_of_its_urls() {
    let url = upstream(12, |seen, mut s| {
        let target = seen.head.split(' ').nth(1).unwrap_or("").to_string();
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{target}",
            target.len()
        );
        s.write_all(resp.as_bytes()).expect("write");
    });
    let mut urls: Vec<Value> = (0..12).map(|i| text(&format!("{url}/{i}"))).collect();
    urls.push(text("http://127.0.0.1:1/"));
    let r = call("get-many", &[Value::list(urls)]).expect("get-many");
    let want: Vec<String> = (0..12)
        .map(|i| format!("~/{i}"))
        .chain(["^Connection refused (os error 111)".to_string()])
        .collect();
    let got: Vec<String> = r
        .as_list()
        .expect("list")
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn closing_a_stream_closes_its_connection() {
    let (closed_tx, closed_rx) = mpsc::channel();
    let url = upstream(1, move |_, mut s| {
        s.write_all(b"HTTP/1.1 200 OK\r\n\r\nhello\n")
            .expect("write");
        // The client closing shows up here as end of input.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        let _ = closed_tx.send(Instant::now());
    });
    let r = call("get-stream", &[text(&url)]).expect("get-stream");
    let src = r.as_result().expect("result").expect("ok").clone();
    assert_eq!(
        next_text(&src).expect("read").expect("line").as_text(),
        Some("hello")
    );
    // SAFETY: `src` keeps its word alive.
    unsafe { ilo_runtime::line_source::handle::ilo_source_close(src.raw()) };
    let at = closed_rx
        .recv_timeout(PATIENCE)
        .expect("upstream saw the close");
    assert!(at.elapsed() < PATIENCE);
}

#[test]
fn interrupting_a_blocked_stream_ends_it() {
    let url = upstream(1, |_, mut s| {
        s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            .expect("write");
        // Send nothing more; hold the connection until the client goes away.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let r = call("get-stream", &[text(&url)]).expect("get-stream");
    let src = r.as_result().expect("result").expect("ok").clone();
    let interrupter = src
        .as_source()
        .expect("source")
        .lock()
        .expect("lock")
        .interrupter()
        .expect("http sources can be interrupted");
    let reader = src.clone();
    let rx = blocked_reader(DEADLOCK, move || next_text(&reader).map(|v| v.is_none()));
    interrupter.interrupt();
    // The read waits on the socket alone, with no timer, and the upstream never sends
    // again: only the interrupt can end it, so no clock is needed to see that it did.
    let r = rx.recv_timeout(DEADLOCK).expect("blocked read ended");
    assert_eq!(r, Ok(true));
}

#[test]
fn https_to_a_server_that_does_not_speak_tls_is_an_err_not_a_hang() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut hello = [0u8; 512];
            let _ = s.read(&mut hello);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    let started = Instant::now();
    let r = call("get", &[text(&format!("https://127.0.0.1:{port}/"))]).expect("builtin");
    let shown = r.to_string();
    assert!(shown.starts_with('^'), "{shown}");
    assert!(started.elapsed() < PATIENCE);
}
