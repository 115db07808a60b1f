//! The server holds 10,000 concurrent open streaming responses.
//!
//! Client and server each need 10,000 descriptors, so the clients run in a child
//! process: this test binary re-executes itself with `ILO_HTTPD_SCALE_CLIENT` set.
//! It is ignored by default because it needs a descriptor hard limit above 10,000
//! and creates 10,000 threads; run it with `cargo test --test httpd_scale -- --ignored`.

mod httpd_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use httpd_support::*;
use ilo_runtime::httpd::ServerConfig;
use ilo_runtime::value::Value;

const STREAMS: usize = 10_000;
const CLIENT_ENV: &str = "ILO_HTTPD_SCALE_CLIENT";

/// A source that yields one line, then blocks until the process ends.
struct OneThenWait {
    sent: bool,
}

impl ilo_runtime::line_source::LineSource for OneThenWait {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        if !self.sent {
            self.sent = true;
            return Ok(Some(b"open"));
        }
        std::thread::sleep(Duration::from_secs(3600));
        Ok(None)
    }
    fn ready(&self) -> bool {
        !self.sent
    }
    fn close(&mut self) {}
}

/// Child side: open every stream, then check each received its first line while all
/// of them are still open.
fn run_clients(addr: &str) {
    ilo_runtime::httpd::process::raise_nofile_limit();
    let t = Instant::now();
    let mut conns = Vec::with_capacity(STREAMS);
    for i in 0..STREAMS {
        let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect #{i}: {e}"));
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .expect("send");
        conns.push(s);
    }
    eprintln!("connected in {:?}", t.elapsed());
    for (i, s) in conns.iter().enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut r = BufReader::new(s);
        let mut line = String::new();
        loop {
            line.clear();
            r.read_line(&mut line)
                .unwrap_or_else(|e| panic!("stream #{i}: {e}"));
            if line == "\r\n" {
                break;
            }
        }
        let mut first = [0u8; 10];
        r.read_exact(&mut first)
            .unwrap_or_else(|e| panic!("stream #{i}: {e}"));
        assert_eq!(&first, b"5\r\nopen\n\r\n", "stream #{i}");
    }
    println!("all {STREAMS} streams open");
    eprintln!("all read in {:?}", t.elapsed());
}

#[test]
#[ignore = "needs a descriptor hard limit above 10,000 and 10,000 threads"]
fn holds_ten_thousand_concurrent_streams() {
    if let Ok(addr) = std::env::var(CLIENT_ENV) {
        run_clients(&addr);
        return;
    }
    let config = ServerConfig {
        workers: 2,
        ..test_config()
    };
    let server = start_with(config, |_| {
        Ok(Value::source(Box::new(OneThenWait { sent: false })))
    });
    let started = Instant::now();
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "holds_ten_thousand_concurrent_streams",
            "--ignored",
            "--nocapture",
        ])
        .env(CLIENT_ENV, server.addr.to_string())
        .output()
        .expect("run client process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("all 10000 streams open"),
        "clients failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.stats.connections(), STREAMS as u64);
    println!(
        "10000 streams in {:?}; client: {}",
        started.elapsed(),
        String::from_utf8_lossy(&out.stderr)
    );
}
