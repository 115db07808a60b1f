//! Shared pieces of the benchmark tools: a minimal HTTP/1.1 request reader, a chunked
//! body decoder that hands out lines as they arrive, and wall-clock timestamps.
//!
//! The tools are deliberately small and dependency-free so that what they measure is
//! the server under test, not the tool.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{SystemTime, UNIX_EPOCH};

/// The listening socket of a tool serving on 127.0.0.1 (`port` "0" picks a free one);
/// a tool that cannot bind has nothing to measure, so it says why and exits.
pub fn bind_loopback(tool: &str, port: &str) -> TcpListener {
    match TcpListener::bind(format!("127.0.0.1:{port}")) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("{tool}: bind: {e}");
            std::process::exit(1);
        }
    }
}

/// The command line of a tool, read as `--name value` pairs.
pub struct Flags(Vec<String>);

impl Flags {
    pub fn from_env() -> Flags {
        Flags(std::env::args().collect())
    }

    /// The value after `name`, if given.
    pub fn get(&self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|a| a == name)?;
        self.0.get(i + 1).cloned()
    }

    /// The value after `name`, or `default`.
    pub fn or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_string())
    }

    /// Whether the bare switch `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }
}

/// The same bytes `ilo httpd` sends for `/hello` in the compare handler: what the
/// small-response floors answer to every request.
pub const SMALL_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 12\r\n\r\nhello world\n";

/// Counts the request heads that end in `bytes` (each blank line, `\r\n\r\n`), with
/// `state` carrying a match cut between two reads (start it at 0).
pub fn count_heads(state: &mut u8, bytes: &[u8]) -> usize {
    let mut heads = 0;
    for &b in bytes {
        *state = match (*state, b) {
            (0 | 2, b'\r') => *state + 1,
            (3, b'\n') => {
                heads += 1;
                0
            }
            (1, b'\n') => 2,
            (_, b'\r') => 1,
            _ => 0,
        };
    }
    heads
}

/// Nanoseconds since the Unix epoch. Producers stamp lines with it; clients subtract.
pub fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Reads and discards one request head (up to the blank line). Returns false at EOF.
pub fn read_request_head(r: &mut impl BufRead) -> io::Result<bool> {
    let mut line = String::new();
    let mut first = true;
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(!first);
        }
        first = false;
        if line == "\r\n" || line == "\n" {
            return Ok(true);
        }
    }
}

/// A client-side reader of a chunked HTTP response that yields body lines.
pub struct ChunkedLines {
    reader: BufReader<TcpStream>,
    pending: Vec<u8>,
    done: bool,
}

impl ChunkedLines {
    /// Sends `GET path` to `addr` and reads the response head.
    pub fn get(addr: &str, path: &str) -> io::Result<ChunkedLines> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "no response head",
                ));
            }
            if line == "\r\n" {
                break;
            }
        }
        Ok(ChunkedLines {
            reader,
            pending: Vec::new(),
            done: false,
        })
    }

    /// The next body line (without `\n`), or None at the end of the body.
    pub fn next_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let rest = self.pending.split_off(i + 1);
                let mut line = std::mem::replace(&mut self.pending, rest);
                line.pop();
                return Ok(Some(line));
            }
            if self.done {
                return Ok(None);
            }
            let mut size_line = String::new();
            if self.reader.read_line(&mut size_line)? == 0 {
                self.done = true;
                continue;
            }
            let size = usize::from_str_radix(size_line.trim(), 16)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if size == 0 {
                self.done = true;
                continue;
            }
            let start = self.pending.len();
            self.pending.resize(start + size, 0);
            self.reader.read_exact(&mut self.pending[start..])?;
            let mut crlf = [0u8; 2];
            self.reader.read_exact(&mut crlf)?;
        }
    }
}

/// Percentile (0..=100) of an unsorted sample, nearest-rank.
pub fn percentile(sample: &mut [f64], p: f64) -> f64 {
    if sample.is_empty() {
        return f64::NAN;
    }
    sample.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * sample.len() as f64).ceil() as usize;
    sample[rank.clamp(1, sample.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::count_heads;

    #[test]
    fn heads_are_counted_across_reads_cut_anywhere() {
        let two = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        for cut in 0..=two.len() {
            let mut state = 0;
            let first = count_heads(&mut state, &two[..cut]);
            assert_eq!(
                first + count_heads(&mut state, &two[cut..]),
                2,
                "cut at {cut}"
            );
        }
        let mut state = 0;
        assert_eq!(count_heads(&mut state, b"GET / HTTP/1.1\r\n\r\r\n"), 0);
    }
}
