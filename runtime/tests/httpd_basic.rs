//! The server over real sockets: body shapes, keep-alive, pipelining, HEAD, HTTP/1.0,
//! request bodies, 100-continue, limits, timeouts and handler failures.

mod httpd_support;

use std::time::{Duration, Instant};

use httpd_support::*;
use ilo_runtime::httpd::ServerConfig;
use ilo_runtime::value::{Func, Obj, Value};

/// Answers with the request's method, path and query, so tests can tell requests apart.
fn echo(req: Value) -> Result<Value, String> {
    Ok(Value::text(format!(
        "{} {} {}",
        field(&req, "method"),
        field(&req, "path"),
        field(&req, "query")
    )))
}

#[test]
fn text_body_has_content_length_and_goes_out_in_one_write() {
    let server = start(echo);
    let mut c = server.connect();
    let writes_before = server.stats.writes();
    let r = c.get("/hello?a=1&b=2");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "GET /hello a=1&b=2");
    assert_eq!(r.header("content-length"), Some("18"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(
        server.stats.writes() - writes_before,
        1,
        "head and body in one write"
    );
}

#[test]
fn eager_list_is_chunked_with_every_non_empty_element() {
    let server = start(|_| Ok(texts(&["alpha\n", "", "beta\n", "gamma"])));
    let r = server.connect().get("/");
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.header("content-length"), None);
    assert_eq!(
        r.chunks,
        vec![b"alpha\n".to_vec(), b"beta\n".to_vec(), b"gamma".to_vec()]
    );
}

#[test]
fn response_records_set_status_and_headers_and_other_values_are_json() {
    let server = start(|req| {
        Ok(match field(&req, "path").as_text() {
            Some("/created") => response(
                201,
                Value::text("made"),
                &[("Content-Type", "text/html"), ("x-id", "7")],
            ),
            Some("/json") => Value::list(vec![Value::num(1.0), Value::text("two")]),
            Some("/ok") => Value::ok(Value::text("wrapped")),
            _ => Value::err(Value::text("went wrong")),
        })
    });
    let mut c = server.connect();
    let r = c.get("/created");
    assert_eq!((r.status, r.text().as_str()), (201, "made"));
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_eq!(r.header("x-id"), Some("7"));
    let r = c.get("/json");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.text(), r#"[1,"two"]"#);
    let r = c.get("/ok");
    assert_eq!((r.status, r.text().as_str()), (200, "wrapped"));
    let r = c.get("/err");
    assert_eq!((r.status, r.text().as_str()), (500, "went wrong"));
}

extern "C" fn deferred_body(_ctx: *mut u8, _env: u64) -> u64 {
    Value::text("computed later").into_raw()
}

#[test]
fn a_zero_argument_function_body_is_called_first() {
    let server = start(|_| {
        let code = deferred_body as extern "C" fn(*mut u8, u64) -> u64 as usize;
        // SAFETY: `deferred_body` has the zero-argument function signature and is static.
        let f = Value::alloc(Obj::Func(Box::new(unsafe {
            Func::new("later".into(), code, 0, vec![])
        })));
        Ok(response(200, f, &[]))
    });
    assert_eq!(server.connect().get("/").text(), "computed later");
}

#[test]
fn request_record_has_lowercased_headers_and_the_body() {
    let server = start(|req| {
        let headers = field(&req, "headers");
        let map = headers.as_map().ok_or("headers not a map")?;
        let custom = map
            .iter()
            .find(|(k, _)| k.to_string() == "x-custom")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        Ok(Value::text(format!("{}|{}", custom, field(&req, "body"))))
    });
    let mut c = server.connect();
    c.send(b"POST /p HTTP/1.1\r\nHost: t\r\nX-Custom: Yes\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(c.response(false).text(), "Yes|hello");
    c.send(b"POST /p HTTP/1.1\r\nHost: t\r\nX-Custom: chunky\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
    assert_eq!(c.response(false).text(), "chunky|abcdefg");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = start(echo);
    let mut c = server.connect();
    for i in 0..5 {
        assert_eq!(c.get(&format!("/n{i}")).text(), format!("GET /n{i} "));
    }
    assert_eq!(server.stats.connections(), 1);
    assert_eq!(server.stats.requests(), 5);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = start(echo);
    let mut c = server.connect();
    c.send(b"GET /1 HTTP/1.1\r\nHost: t\r\n\r\nPOST /2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyzGET /3?q HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.response(false).text(), "GET /1 ");
    assert_eq!(c.response(false).text(), "POST /2 ");
    assert_eq!(c.response(false).text(), "GET /3 q");
}

#[test]
fn connection_close_is_honoured() {
    let server = start(echo);
    let mut c = server.connect();
    c.send(b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.closed_by_server());
}

#[test]
fn head_sends_the_same_framing_headers_without_a_body() {
    let server = start(|req| {
        Ok(match field(&req, "path").as_text() {
            Some("/list") => texts(&["a", "b"]),
            _ => Value::text("twelve bytes"),
        })
    });
    let mut c = server.connect();
    c.send(b"HEAD /text HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.response(true);
    assert_eq!((r.status, r.header("content-length")), (200, Some("12")));
    c.send(b"HEAD /list HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.response(true);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    // Had any body bytes been sent, this response would be misread.
    assert_eq!(c.get("/text").text(), "twelve bytes");
}

#[test]
fn http_1_0_gets_close_delimited_streams_and_closes() {
    let server = start(|_| Ok(texts(&["one\n", "two\n"])));
    let mut c = server.connect();
    c.send(b"GET / HTTP/1.0\r\n\r\n");
    let r = c.response(false);
    assert!(r
        .headers
        .iter()
        .all(|(n, _)| n != "transfer-encoding" && n != "content-length"));
    assert_eq!(r.text(), "one\ntwo\n");
}

#[test]
fn http_1_0_keep_alive_is_allowed_for_sized_bodies() {
    let server = start(echo);
    let mut c = server.connect();
    c.send(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.response(false);
    assert_eq!(r.header("connection"), Some("keep-alive"));
    c.send(b"GET /b HTTP/1.0\r\n\r\n");
    assert_eq!(c.response(false).text(), "GET /b ");
    assert!(c.closed_by_server());
}

#[test]
fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let server = start(|req| Ok(field(&req, "body")));
    let mut c = server.connect();
    c.send(b"PUT /u HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    let (status, _) = c.head().expect("interim response");
    assert_eq!(status, 100);
    c.send(b"data");
    let r = c.response(false);
    assert_eq!((r.status, r.text().as_str()), (200, "data"));
}

#[test]
fn malformed_requests_get_400() {
    let server = start(echo);
    let mut c = server.connect();
    c.send(b"this is not http\r\n\r\n");
    assert_eq!(c.response(false).status, 400);
    let mut c = server.connect();
    c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: nope\r\n\r\n");
    assert_eq!(c.response(false).status, 400);
}

#[test]
fn oversized_bodies_get_413() {
    let config = ServerConfig {
        max_body: 100,
        ..test_config()
    };
    let server = start_with(config, |req| Ok(field(&req, "body")));
    let mut c = server.connect();
    c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n");
    assert_eq!(c.response(false).status, 413);
    let mut c = server.connect();
    let chunk = "a".repeat(60);
    c.send(format!("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3c\r\n{chunk}\r\n3c\r\n{chunk}\r\n0\r\n\r\n").as_bytes());
    assert_eq!(c.response(false).status, 413);
    // Exactly at the limit is fine.
    let mut c = server.connect();
    c.send(
        format!(
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{}",
            "b".repeat(100)
        )
        .as_bytes(),
    );
    assert_eq!(c.response(false).text().len(), 100);
}

#[test]
fn oversized_heads_get_431() {
    let server = start(echo);
    let mut c = server.connect();
    let big = "v".repeat(17 * 1024);
    c.send(format!("GET / HTTP/1.1\r\nHost: t\r\nX-Big: {big}\r\n\r\n").as_bytes());
    assert_eq!(c.response(false).status, 431);
}

#[test]
fn handler_errors_and_panics_answer_500_and_serving_goes_on() {
    let server = start(|req| match field(&req, "path").as_text() {
        Some("/fail") => Err("ILO-R004: index 9 out of range".to_string()),
        Some("/panic") => panic!("handler bug"),
        _ => Ok(Value::text("fine")),
    });
    let mut c = server.connect();
    let r = c.get("/fail");
    assert_eq!(r.status, 500);
    assert!(
        !r.text().contains("ILO-R004"),
        "diagnostics are logged, not sent"
    );
    assert_eq!(c.get("/next").text(), "fine");
    let r = c.get("/panic");
    assert_eq!(r.status, 500);
    assert_eq!(c.get("/next").text(), "fine");
    assert_eq!(server.connect().get("/new-connection").text(), "fine");
}

#[test]
fn slow_heads_time_out_with_408() {
    let config = ServerConfig {
        header_timeout: Duration::from_millis(300),
        ..test_config()
    };
    let server = start_with(config, echo);
    let mut c = server.connect();
    let t = Instant::now();
    c.send(b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ");
    let r = c.response(false);
    assert_eq!(r.status, 408);
    // At the configured 300 ms, not at test_config's 5 s: room for a loaded machine
    // below that.
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert!(c.closed_by_server());
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let config = ServerConfig {
        idle_timeout: Duration::from_millis(300),
        ..test_config()
    };
    let server = start_with(config, echo);
    let mut c = server.connect();
    // Timed from before the request: the idle time starts once the answer is
    // written, so the close cannot come sooner than 300 ms after this however long
    // the test took to read the answer. The upper bound tells the configured
    // 300 ms from test_config's 5 s, with room for a loaded machine.
    let t = Instant::now();
    assert_eq!(c.get("/").status, 200);
    assert!(c.closed_by_server());
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[test]
fn shutdown_closes_idle_connections_and_returns() {
    let server = start(echo);
    let mut c = server.connect();
    assert_eq!(c.get("/").status, 200);
    let took = server.stop_within(Duration::from_secs(3));
    assert!(
        took < Duration::from_secs(1),
        "idle connections do not hold shutdown: {took:?}"
    );
    assert!(c.closed_by_server());
}
