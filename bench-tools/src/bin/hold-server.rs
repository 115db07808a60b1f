//! A hold-open upstream: every connection gets a chunked body of `--lines` short lines
//! at once, and then the response stays open (no terminating chunk) until the process
//! ends. Used as the per-stream source of the "10,000 open streams" workload for
//! servers that proxy it line by line.
//!
//! One thread for all connections: the streams are only kept, never served further,
//! so 10,000 of them cost 10,000 descriptors here and no threads. The request is not
//! read; a response that arrives before the client has finished sending is fine for
//! HTTP clients, and the request bytes are never needed.
//!
//! With `--plain` the lines are bare (a close-delimited body that never closes), for
//! clients that read lines off a socket without decoding chunks.
//!
//! usage: hold-server --port N [--lines 5] [--plain]

use std::io::Write;

use ilo_bench_tools::Flags;

fn main() {
    let flags = Flags::from_env();
    let flag = |name: &str, default: &str| flags.or(name, default);
    let port = flag("--port", "0");
    let lines: usize = flag("--lines", "5").parse().unwrap_or(5);
    let plain = flags.has("--plain");
    let listener = ilo_bench_tools::bind_loopback("hold-server", &port);
    if let Ok(addr) = listener.local_addr() {
        eprintln!("hold-server listening on http://{addr}");
    }
    let mut response = if plain {
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n".to_vec()
    } else {
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec()
    };
    for i in 1..=lines {
        let line = format!("line {i}\n");
        if plain {
            response.extend_from_slice(line.as_bytes());
        } else {
            response.extend_from_slice(format!("{:x}\r\n{line}\r\n", line.len()).as_bytes());
        }
    }
    let mut held = Vec::new();
    for stream in listener.incoming() {
        match stream {
            Ok(mut s) => {
                // A short write into a fresh socket's empty buffer completes at once.
                if s.write_all(&response).is_ok() {
                    held.push(s);
                }
            }
            Err(e) => eprintln!("hold-server: accept: {e}"),
        }
    }
}
