//! Property tests for the server's request side, which works on bytes alone: the head
//! parser (with its framing rules) and the request body decoder. Random input must
//! never panic or claim bytes it was not given; generated valid requests must come
//! back exactly, however the bytes are split.
//!
//! Seeded, so every run checks the same cases (4,000 per property); set
//! `ILO_FUZZ_CASES=N` for a longer run and `ILO_FUZZ_SEED=S` for other cases.

use ilo_runtime::httpd::request::{parse_head, BodyLength, Reject};
use ilo_runtime::httpd::request_body::{BodyDecoder, BodyError};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config() -> Config {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    Config {
        cases: env("ILO_FUZZ_CASES").map_or(4000, |n: u64| n as u32),
        rng_seed: RngSeed::Fixed(env("ILO_FUZZ_SEED").unwrap_or(0x110c_2026)),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Feed `wire` to `decoder` in pieces of the given sizes (cycled), the way a socket
/// delivers it; returns the bytes the decoder left unused at the end.
fn feed_in_pieces(
    decoder: &mut BodyDecoder,
    wire: &[u8],
    pieces: &[usize],
) -> Result<Vec<u8>, BodyError> {
    let mut buffered = Vec::new();
    let mut sent = 0;
    let mut sizes = pieces.iter().cycle();
    while sent < wire.len() {
        let n = (*sizes.next().unwrap_or(&1)).clamp(1, wire.len() - sent);
        buffered.extend_from_slice(&wire[sent..sent + n]);
        sent += n;
        let used = decoder.feed(&buffered)?;
        assert!(used <= buffered.len(), "used {used} of {}", buffered.len());
        buffered.drain(..used);
    }
    Ok(buffered)
}

fn token() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,15}"
}

fn header_value() -> impl Strategy<Value = String> {
    // Visible ASCII with inner spaces; no leading or trailing whitespace.
    "[!-~]([ !-~]{0,30}[!-~])?"
}

/// A chunked encoding of `body`: chunk sizes from `cuts`, an extension on some size
/// lines, trailer fields at the end.
fn chunked_wire(
    body: &[u8],
    cuts: &[usize],
    ext: &Option<String>,
    trailers: &[(String, String)],
) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut at = 0;
    let mut sizes = cuts.iter().cycle();
    while at < body.len() {
        let n = (*sizes.next().unwrap_or(&1)).clamp(1, body.len() - at);
        wire.extend_from_slice(format!("{n:X}").as_bytes());
        if let Some(e) = ext {
            wire.extend_from_slice(format!(";{e}").as_bytes());
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(&body[at..at + n]);
        wire.extend_from_slice(b"\r\n");
        at += n;
    }
    wire.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        wire.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    wire
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_parse_or_are_refused_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(Some(head)) = parse_head(&bytes) {
            prop_assert!(head.len <= bytes.len());
            let _ = head.body_length();
        }
    }

    #[test]
    fn near_miss_heads_never_panic(
        method in "(GET|POST|PUT)",
        version in "HTTP/1\\.[01]",
        lines in prop::collection::vec(
            prop_oneof![
                Just("Host: h".to_string()),
                "(Content-Length|content-length): [ +\\-0-9a-f,]{0,12}",
                "Transfer-Encoding: [a-z, ]{0,20}",
                "[A-Za-z-]{1,12}: [ -~]{0,20}",
                "[ -~]{0,20}",
            ],
            0..8,
        ),
    ) {
        let raw = format!("{method} / {version}\r\n{}\r\n", lines.iter().map(|l| format!("{l}\r\n")).collect::<String>());
        match parse_head(raw.as_bytes()) {
            Ok(Some(head)) => {
                // An empty generated line ends the head early.
                prop_assert!(head.len <= raw.len());
                if let Ok(BodyLength::Fixed(n)) = head.body_length() {
                    // A length is only taken from digits.
                    let values: Vec<&str> = head.headers().iter()
                        .filter(|(k, _)| k == "content-length")
                        .flat_map(|(_, v)| v.split(','))
                        .map(str::trim)
                        .collect();
                    prop_assert!(!values.is_empty());
                    for v in values {
                        prop_assert!(v.bytes().all(|b| b.is_ascii_digit()), "{:?}", v);
                        prop_assert_eq!(v.parse::<usize>().ok(), Some(n));
                    }
                }
            }
            Ok(None) => prop_assert!(false, "a head ending in a blank line is complete: {:?}", raw),
            Err(Reject(status)) => prop_assert!(status == 400 || status == 431, "{}", status),
        }
    }

    #[test]
    fn generated_heads_come_back_exactly_and_their_prefixes_ask_for_more(
        method in "[A-Z]{1,8}",
        path in "/[a-zA-Z0-9/._~-]{0,30}",
        query in prop::option::of("[a-z0-9=&%]{0,20}"),
        headers in prop::collection::vec((token(), header_value()), 0..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let headers: Vec<(String, String)> = headers.into_iter().filter(|(n, _)| n != "host").collect();
        let target = match &query { Some(q) => format!("{path}?{q}"), None => path.clone() };
        let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: example\r\n");
        for (name, value) in &headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str("\r\n");
        let head = match parse_head(raw.as_bytes()) {
            Ok(Some(h)) => h,
            other => return Err(TestCaseError::fail(format!("{other:?} for {raw:?}"))),
        };
        prop_assert_eq!(head.method(), method.as_str());
        prop_assert_eq!(head.path(), path.as_str());
        prop_assert_eq!(head.query(), query.as_deref().unwrap_or_default());
        prop_assert_eq!(head.len, raw.len());
        prop_assert_eq!(head.headers().len(), headers.len() + 1);
        for ((name, value), (got_name, got_value)) in headers.iter().zip(&head.headers()[1..]) {
            prop_assert_eq!(name, got_name);
            prop_assert_eq!(value, got_value);
        }
        let prefix = &raw.as_bytes()[..cut.index(raw.len())];
        prop_assert!(matches!(parse_head(prefix), Ok(None)), "prefix {:?}", String::from_utf8_lossy(prefix));
    }

    #[test]
    fn chunked_bodies_decode_exactly_however_they_are_cut_and_split(
        body in prop::collection::vec(any::<u8>(), 0..3000),
        cuts in prop::collection::vec(1usize..700, 1..8),
        ext in prop::option::of("[a-z]{1,8}(=[a-z0-9]{1,8})?"),
        trailers in prop::collection::vec((token(), header_value()), 0..4),
        pieces in prop::collection::vec(1usize..200, 1..8),
        next in "(GET / HTTP/1\\.1\r\n)?",
    ) {
        let mut wire = chunked_wire(&body, &cuts, &ext, &trailers);
        let body_len = wire.len();
        wire.extend_from_slice(next.as_bytes());
        let mut decoder = BodyDecoder::new(&BodyLength::Chunked, 1 << 20).expect("decoder");
        let left = feed_in_pieces(&mut decoder, &wire, &pieces).expect("well formed");
        prop_assert!(decoder.is_done());
        // Bytes after the body (a pipelined request) are never taken.
        prop_assert_eq!(&left[..], &wire[body_len..]);
        prop_assert_eq!(decoder.into_body(), body);
    }

    #[test]
    fn fixed_bodies_decode_exactly_however_they_are_split(
        body in prop::collection::vec(any::<u8>(), 1..3000),
        extra in prop::collection::vec(any::<u8>(), 0..50),
        pieces in prop::collection::vec(1usize..500, 1..8),
    ) {
        let mut decoder = BodyDecoder::new(&BodyLength::Fixed(body.len()), 1 << 20).expect("decoder");
        let wire: Vec<u8> = body.iter().chain(&extra).copied().collect();
        let left = feed_in_pieces(&mut decoder, &wire, &pieces).expect("fixed never fails");
        prop_assert!(decoder.is_done());
        prop_assert_eq!(left, extra);
        prop_assert_eq!(decoder.into_body(), body);
    }

    #[test]
    fn any_bytes_as_a_chunked_body_decode_within_the_limit_or_fail_cleanly(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        pieces in prop::collection::vec(1usize..64, 1..6),
        max in 0usize..512,
    ) {
        let mut decoder = BodyDecoder::new(&BodyLength::Chunked, max).expect("decoder");
        match feed_in_pieces(&mut decoder, &bytes, &pieces) {
            Ok(_) if decoder.is_done() => prop_assert!(decoder.into_body().len() <= max),
            Ok(_) | Err(BodyError::Malformed | BodyError::TooLarge) => {}
        }
    }

    #[test]
    fn chunk_like_noise_decodes_within_the_limit_or_fails_cleanly(
        parts in prop::collection::vec(
            prop_oneof![
                "[0-9a-fA-F]{1,4}",
                Just("\r\n".to_string()),
                Just(";".to_string()),
                Just("0\r\n\r\n".to_string()),
                "[ -~]{0,6}",
            ],
            0..40,
        ),
        pieces in prop::collection::vec(1usize..16, 1..6),
    ) {
        let wire = parts.concat();
        let mut decoder = BodyDecoder::new(&BodyLength::Chunked, 64).expect("decoder");
        if feed_in_pieces(&mut decoder, wire.as_bytes(), &pieces).is_ok() && decoder.is_done() {
            prop_assert!(decoder.into_body().len() <= 64);
        }
    }
}
