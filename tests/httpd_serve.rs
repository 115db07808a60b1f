//! `ilo httpd` end to end on examples/httpd-hello.ilo and small handlers: response
//! shapes and their framing, keep-alive, HEAD, limits, handler errors, curl.

#[path = "support/httpd.rs"]
mod support;

use std::io::BufReader;
use std::process::Command;
use std::time::Duration;

use support::{eventually, example, handler_dir, proc_status, read_response, send, Server};

fn hello() -> Server {
    let file = example("httpd-hello.ilo");
    Server::start(&["--workers", "2", file.to_str().expect("utf-8 path")])
}

#[test]
fn text_body_has_content_length() {
    let server = hello();
    let r = server.get("/hello/ada");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello, ada\n");
    assert_eq!(r.header("content-length"), Some("11"));
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
}

#[test]
fn eager_list_body_is_chunked_with_every_element() {
    let server = hello();
    let r = server.get("/count");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.header("content-length"), None);
    assert!(r.complete, "the list body ends with the last chunk");
    let expected: Vec<String> = (1..6).map(|i| format!("line {i}\n")).collect();
    assert_eq!(r.chunk_texts(), expected);
}

#[test]
fn the_request_record_and_json_and_status_records() {
    let server = hello();
    let r = server.get("/request?a=1&b=two");
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON body");
    assert_eq!(j["method"], "GET");
    assert_eq!(j["path"], "/request");
    assert_eq!(j["query"], "a=1&b=two");
    assert_eq!(
        j["headers"]["connection"], "close",
        "header names lower-cased"
    );
    let r = server.get("/nowhere");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "no route for GET /nowhere\n");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection_and_head() {
    let server = hello();
    let stream = server.connect();
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    for name in ["a", "bb", "ccc"] {
        send(
            &mut writer,
            &format!("GET /hello/{name} HTTP/1.1\r\nHost: t\r\n\r\n"),
        );
        let r = read_response(&mut reader, false);
        assert_eq!((r.status, r.text()), (200, format!("hello, {name}\n")));
    }
    // HEAD: the GET's headers, no body; the connection carries on afterwards.
    send(&mut writer, "HEAD /hello/dora HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = read_response(&mut reader, true);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("12"));
    send(&mut writer, "GET /count HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = read_response(&mut reader, false);
    assert_eq!(r.chunks.len(), 5, "a body after HEAD means HEAD sent one");
    // Pipelined: two requests in one write, two answers in order.
    send(
        &mut writer,
        "GET /hello/x HTTP/1.1\r\nHost: t\r\n\r\nGET /hello/y HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(read_response(&mut reader, false).text(), "hello, x\n");
    assert_eq!(read_response(&mut reader, false).text(), "hello, y\n");
}

#[test]
fn malformed_oversized_and_overlong_requests_get_their_status() {
    let file = example("httpd-hello.ilo");
    let server = Server::start(&["--max-body", "16", file.to_str().expect("utf-8 path")]);

    let mut s = server.connect();
    send(&mut s, "this is not http\r\n\r\n");
    assert_eq!(read_response(&mut BufReader::new(s), false).status, 400);

    let mut s = server.connect();
    let body = "x".repeat(100);
    send(
        &mut s,
        &format!(
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(read_response(&mut BufReader::new(s), false).status, 413);

    let mut s = server.connect();
    let big = "y".repeat(20 * 1024);
    send(
        &mut s,
        &format!("GET / HTTP/1.1\r\nHost: t\r\nX-Big: {big}\r\n\r\n"),
    );
    assert_eq!(read_response(&mut BufReader::new(s), false).status, 431);

    // Within the limit, the body reaches the handler.
    let mut s = server.connect();
    send(
        &mut s,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    let r = read_response(&mut BufReader::new(s), false);
    assert_eq!((r.status, r.text()), (200, "hello".to_string()));
}

#[test]
fn a_handler_error_answers_500_and_the_next_request_succeeds() {
    let dir = handler_dir(&[(
        "h.ilo",
        "handler req:_>_;xs=[1 2 3];=req.path \"/boom\" str (at xs 7);\"fine\"\n",
    )]);
    let file = dir.path().join("h.ilo");
    let server = Server::start(&[file.to_str().expect("utf-8 path")]);
    let stream = server.connect();
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    send(&mut writer, "GET /boom HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = read_response(&mut reader, false);
    assert_eq!(r.status, 500);
    // The diagnostic is logged (JSON, stderr being a pipe) with its code and place.
    let logged = server
        .wait_log("ILO-R004", Duration::from_secs(5))
        .expect("the runtime error is logged");
    assert!(logged.contains("h.ilo"), "{logged}");
    // The connection may be kept or closed; a new request works either way.
    let r = server.get("/ok");
    assert_eq!((r.status, r.text()), (200, "fine".to_string()));
}

#[test]
fn an_error_after_a_map_value_was_taken_out_answers_500_and_leaks_nothing() {
    // Each request groups 80000 numbers into a map of four lists, taking each list out
    // of the map for the `mset` that puts it back; on /boom the step between the two
    // fails late, with every list grown. The map (nil where the list was taken) and
    // the list are released with the handler's locals: nothing grows across requests.
    let dir = handler_dir(&[(
        "h.ilo",
        "handler req:_>_;m=mmap;ys=[0 1 2 3];@i 0..80000{k=mod i 4;xs=mget m k ?? [];z=at ys (?=i 79000 (len req.path) 0);m=mset m k +=xs z};str (len (mget m 1 ?? []))\n",
    )]);
    let file = dir.path().join("h.ilo");
    let server = Server::start(&[file.to_str().expect("utf-8 path")]);
    let boom = |times: usize| {
        for _ in 0..times {
            assert_eq!(server.get("/boom").status, 500);
        }
    };
    boom(10);
    let rss_before = proc_status(server.pid(), "VmRSS");
    boom(100);
    let grew = proc_status(server.pid(), "VmRSS").saturating_sub(rss_before);
    // A leak of the lists alone would be over 60 MiB.
    assert!(
        grew < 32 * 1024,
        "RSS grew by {grew} KiB over 100 failed requests"
    );
    let r = server.get("/ok");
    assert_eq!((r.status, r.text()), (200, "20000".to_string()));
}

#[test]
fn curl_as_a_client() {
    let server = hello();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-i"])
        .arg(server.url("/hello/curl"))
        .output()
        .expect("curl is installed (.ci/run installs it)");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert!(text.starts_with("HTTP/1.1 200 OK\n"), "{text}");
    assert!(text.ends_with("\n\nhello, curl\n"), "{text}");

    // A chunked body, decoded by curl; and a POST body echoed back.
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .arg(server.url("/count"))
        .output()
        .expect("run curl");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "line 1\nline 2\nline 3\nline 4\nline 5\n"
    );
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--data-binary", "ping"])
        .arg(server.url("/echo"))
        .output()
        .expect("run curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ping");
    // Every request appears in the access log.
    assert!(server
        .wait_log("POST /echo 200", Duration::from_secs(5))
        .is_some());
}

#[test]
fn quiet_silences_the_access_log_and_port_comes_from_the_environment() {
    // A free port number, released before the server binds it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let file = example("httpd-hello.ilo");
    let mut server = Server::start_with(
        support::ilo()
            .env("PORT", port.to_string())
            .args(["httpd", "--quiet"])
            .arg(&file),
    );
    assert_eq!(server.port, port, "the port comes from $PORT");
    assert_eq!(server.get("/").status, 200);
    // Only once the server has exited and its stderr is drained is a missing
    // access-log line really missing.
    let (code, log) = server.terminate_and_log(Duration::from_secs(10));
    assert_eq!(code, Some(0), "exit code after SIGTERM");
    assert!(log.iter().all(|l| !l.contains("GET /")), "{log:?}");
}

#[test]
fn sigterm_lets_the_response_in_flight_finish_and_exits_0() {
    // The handler leaves a marker before its pause, so the signal provably arrives
    // while the response is in flight.
    let marks = tempfile::tempdir().expect("tempdir");
    let marker = marks.path().join("started");
    let handler = format!(
        "handler req:_>_;wr {:?} \"x\";sleep 700;\"slow but complete\"\n",
        marker.to_str().expect("utf-8 path")
    );
    let dir = handler_dir(&[("h.ilo", &handler)]);
    let file = dir.path().join("h.ilo");
    let mut server = Server::start(&[file.to_str().expect("utf-8 path")]);
    let mut s = server.connect();
    send(&mut s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(
        eventually(Duration::from_secs(10), || marker.exists()),
        "the handler never started"
    );
    let code = server.terminate(Duration::from_secs(10));
    let r = read_response(&mut BufReader::new(s), false);
    assert_eq!((r.status, r.text()), (200, "slow but complete".to_string()));
    assert_eq!(code, Some(0), "exit code after SIGTERM");
}

#[test]
fn a_request_sent_while_the_one_before_it_is_in_a_slow_handler_is_answered() {
    // The first request's handler leaves a marker, then sleeps long enough for the
    // loop thread to be replaced; the second request arrives while the connection is
    // held by the slow thread, and its readiness report goes to the replacement.
    let marks = tempfile::tempdir().expect("tempdir");
    let marker = marks.path().join("started");
    let handler = format!(
        "slow>t;wr {:?} \"x\";sleep 300;\"slow\\n\"\n\
         handler req:_>_;p=req.path;=p \"/slow\" slow();fmt \"fast {{}}\\n\" p\n",
        marker.to_str().expect("utf-8 path")
    );
    let dir = handler_dir(&[("h.ilo", &handler)]);
    let file = dir.path().join("h.ilo");
    let server = Server::start(&["--workers", "1", file.to_str().expect("utf-8 path")]);
    let stream = server.connect();
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    send(&mut writer, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(
        eventually(Duration::from_secs(10), || marker.exists()),
        "the handler never started"
    );
    send(&mut writer, "GET /next HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = read_response(&mut reader, false);
    assert_eq!((r.status, r.text()), (200, "slow\n".to_string()));
    let r = read_response(&mut reader, false);
    assert_eq!((r.status, r.text()), (200, "fast /next\n".to_string()));
}

#[test]
fn requests_larger_than_one_read_are_served_whole() {
    let server = hello();
    // A head several times the server's read size, in one write.
    let stream = server.connect();
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let filler = "v".repeat(200);
    let headers: String = (0..50)
        .map(|i| format!("x-pad-{i}: {filler}\r\n"))
        .collect();
    send(
        &mut writer,
        &format!("GET /hello/big HTTP/1.1\r\nHost: t\r\n{headers}\r\n"),
    );
    let r = read_response(&mut reader, false);
    assert_eq!((r.status, r.text()), (200, "hello, big\n".to_string()));
    // Then a pipelined burst many reads long, in one write: every answer, in order.
    let burst: String = (0..300)
        .map(|i| format!("GET /hello/n{i} HTTP/1.1\r\nHost: t\r\n\r\n"))
        .collect();
    send(&mut writer, &burst);
    for i in 0..300 {
        let r = read_response(&mut reader, false);
        assert_eq!((r.status, r.text()), (200, format!("hello, n{i}\n")));
    }
}

#[test]
fn a_handler_that_updates_its_request_leaves_the_next_identical_request_as_sent() {
    // The server shares a repeated path and header map between requests; a handler
    // adding a header and extending the path must get copies, so the second request
    // (same bytes, same connection) sees exactly what its client sent.
    let dir = handler_dir(&[(
        "h.ilo",
        "handler req:_>t;n=len req.headers;h=mset req.headers (str n) \"x\";p=+req.path \"!\";fmt \"{} {} {}\\n\" n (len h) p\n",
    )]);
    let file = dir.path().join("h.ilo");
    let server = Server::start(&["--workers", "1", file.to_str().expect("utf-8 path")]);
    let stream = server.connect();
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    for _ in 0..3 {
        send(
            &mut writer,
            "GET /same HTTP/1.1\r\nHost: t\r\nAccept: a\r\n\r\n",
        );
        let r = read_response(&mut reader, false);
        assert_eq!((r.status, r.text()), (200, "2 3 /same!\n".to_string()));
    }
}

#[test]
fn handlers_failing_after_a_field_moved_out_of_their_record_leave_the_server_whole() {
    // Each failing request grows a text in place inside a record (the field's value
    // taken out of the record by the update that replaces it) and then fails in the
    // middle of an update: the record and the text must each be released once, or
    // the allocator is corrupted long before two hundred requests.
    let dir = handler_dir(&[(
        "h.ilo",
        "type acc{t:t;n:n}\n\
         viacall n:n>t;a=acc t:(str 7) n:0;xs=[\"a\" \"b\" \"c\"];@i 0..n{a=a with t:+a.t (at xs i)};a.t\n\
         tested n:n>t;a=acc t:(str 7) n:0;xs=[\"a\" \"b\" 3];@i 0..n{x=at xs i;a=a with t:+a.t x};a.t\n\
         handler req:_>_;=req.path \"/call\" viacall 5;=req.path \"/tested\" tested 5;+(viacall 3) (tested 2)\n",
    )]);
    let file = dir.path().join("h.ilo");
    let server = Server::start(&["--quiet", file.to_str().expect("utf-8 path")]);
    for i in 0..200 {
        let path = if i % 2 == 0 { "/call" } else { "/tested" };
        assert_eq!(server.get(path).status, 500, "request {i} to {path}");
    }
    let r = server.get("/ok");
    assert_eq!((r.status, r.text()), (200, "7abc7ab".to_string()));
}
