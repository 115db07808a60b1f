//! Property tests of the HTTP client's response decoding: the head parser and the
//! `Content-Length` and chunked body decoders, through the real client talking to a
//! loopback upstream that sends exactly the bytes each case made.
//!
//! The seed is fixed, so every run replays the same cases. `ILO_FUZZ_CASES` sets the
//! number of cases per property (default 500; e.g. 100000 for a long local run).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use ilo_runtime::http_client::{self, Request, Timeouts};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config() -> Config {
    let cases = std::env::var("ILO_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x1105_f022),
        failure_persistence: None,
        ..Config::default()
    }
}

/// An upstream that answers one request with `response` and closes; its URL.
fn upstream(response: Vec<u8>) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let port = listener.local_addr().expect("addr").port();
    let served = thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match s.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        let _ = s.write_all(&response);
        let _ = s.shutdown(Shutdown::Write);
    });
    (format!("http://127.0.0.1:{port}/"), served)
}

/// Send a GET to an upstream answering `response`; the body read `step` bytes at a
/// time, or the first error (head or body).
fn fetch(response: Vec<u8>, step: usize) -> Result<Vec<u8>, String> {
    let (url, served) = upstream(response);
    let result = http_client::send(&Request::get(url), Timeouts::EAGER).and_then(|mut r| {
        let mut body = Vec::new();
        let mut buf = vec![0u8; step];
        loop {
            match r.body.read(&mut buf) {
                Ok(0) => return Ok(body),
                Ok(n) => body.extend_from_slice(&buf[..n]),
                Err(e) => return Err(e.to_string()),
            }
        }
    });
    let _ = served.join();
    result
}

/// `body` as chunks cut at `cuts`, sizes in either hex case, with optional chunk
/// extensions and trailers.
fn chunked(body: &[u8], cuts: &[usize], upper: bool, ext: bool, trailer: bool) -> Vec<u8> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (body.len() + 1)).collect();
    points.extend([0, body.len()]);
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    for pair in points.windows(2) {
        let piece = &body[pair[0]..pair[1]];
        let size = if upper {
            format!("{:X}", piece.len())
        } else {
            format!("{:x}", piece.len())
        };
        out.extend_from_slice(size.as_bytes());
        if ext {
            out.extend_from_slice(b";name=value");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    if trailer {
        out.extend_from_slice(b"X-Trailer: yes\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn with_head(head: &str, body: &[u8]) -> Vec<u8> {
    let mut out = head.as_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

const CHUNKED_HEAD: &str = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn chunked_bodies_arrive_intact(
        body in prop::collection::vec(any::<u8>(), 0..3000),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
        upper in any::<bool>(),
        ext in any::<bool>(),
        trailer in any::<bool>(),
        step in 1usize..100,
    ) {
        let wire = with_head(CHUNKED_HEAD, &chunked(&body, &cuts, upper, ext, trailer));
        prop_assert_eq!(fetch(wire, step), Ok(body));
    }

    #[test]
    fn length_bodies_arrive_intact(
        body in prop::collection::vec(any::<u8>(), 0..3000),
        step in 1usize..100,
    ) {
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        prop_assert_eq!(fetch(with_head(&head, &body), step), Ok(body));
    }

    /// A chunked body cut anywhere before its last chunk is complete is an error,
    /// never a shorter body passed off as whole.
    #[test]
    fn cut_chunked_bodies_are_errors(
        body in prop::collection::vec(any::<u8>(), 1..500),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        keep in any::<prop::sample::Index>(),
    ) {
        let full = chunked(&body, &cuts, false, false, false);
        // Everything before the terminating `0\r\n` may be cut.
        let last_chunk = full.len() - b"0\r\n\r\n".len();
        let wire = with_head(CHUNKED_HEAD, &full[..keep.index(last_chunk)]);
        prop_assert!(fetch(wire, 64).is_err());
    }

    /// Whatever an upstream sends, the client answers a body or an error: no panic,
    /// no hang, and never more body bytes than were sent.
    #[test]
    fn any_response_is_a_body_or_an_error(
        garbage in prop::collection::vec(any::<u8>(), 0..400),
        framing in 0usize..4,
    ) {
        let head = [
            "",
            CHUNKED_HEAD,
            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
            "HTTP/1.1 200 OK\r\n\r\n",
        ][framing];
        let sent = garbage.len();
        if let Ok(body) = fetch(with_head(head, &garbage), 32) {
            prop_assert!(body.len() <= sent);
        }
    }
}

#[test]
fn chunk_encoding_helper_round_trips_the_empty_body() {
    assert_eq!(chunked(b"", &[], false, false, false), b"0\r\n\r\n");
}
