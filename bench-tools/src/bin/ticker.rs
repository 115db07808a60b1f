//! A ticking upstream: every connection gets a chunked body of `--lines` lines, one
//! every `--interval-ms`, each line starting with its production time in nanoseconds
//! since the epoch. Used to measure first-line latency through each server.
//!
//! With `--plain` the body is close-delimited instead: bare lines, then the connection
//! closes (for clients that read lines off a socket without decoding chunks).
//!
//! usage: ticker --port N [--interval-ms 50] [--lines 40] [--plain]

use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use ilo_bench_tools::{now_ns, read_request_head, Flags};

fn main() {
    let flags = Flags::from_env();
    let flag = |name: &str, default: &str| flags.or(name, default);
    let port = flag("--port", "0");
    let interval: u64 = flag("--interval-ms", "50").parse().unwrap_or(50);
    let lines: usize = flag("--lines", "40").parse().unwrap_or(40);
    let plain = flags.has("--plain");
    let listener = ilo_bench_tools::bind_loopback("ticker", &port);
    if let Ok(addr) = listener.local_addr() {
        eprintln!("ticker listening on http://{addr}");
    }
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let _ = serve(stream, Duration::from_millis(interval), lines, plain);
        });
    }
}

fn serve(mut stream: TcpStream, interval: Duration, lines: usize, plain: bool) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    read_request_head(&mut reader)?;
    let head: &[u8] = if plain {
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
    } else {
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    };
    stream.write_all(head)?;
    for _ in 0..lines {
        std::thread::sleep(interval);
        let line = format!("{} tick\n", now_ns());
        if plain {
            stream.write_all(line.as_bytes())?;
        } else {
            stream.write_all(format!("{:x}\r\n{line}\r\n", line.len()).as_bytes())?;
        }
    }
    if plain {
        return Ok(());
    }
    stream.write_all(b"0\r\n\r\n")
}
