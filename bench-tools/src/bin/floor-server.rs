//! The per-line-syscall floor: a minimal thread-per-connection HTTP server that streams
//! a file's lines as a chunked body, either one `writev` per line (`--mode line`, what
//! a server that flushes every line must at least pay) or many lines per `writev`
//! (`--mode gathered`). No parsing beyond skipping the request head.
//!
//! usage: floor-server --port N --file PATH [--mode line|gathered]

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;

use ilo_bench_tools::{read_request_head, Flags};

const GATHER_LINES: usize = 64;

fn main() {
    let flags = Flags::from_env();
    let flag = |name: &str| flags.get(name);
    let port = flag("--port").unwrap_or_else(|| "0".into());
    let Some(file) = flag("--file") else {
        eprintln!("floor-server: --file PATH is required");
        std::process::exit(2);
    };
    let gathered = flag("--mode").as_deref() == Some("gathered");
    let listener = ilo_bench_tools::bind_loopback("floor-server", &port);
    if let Ok(addr) = listener.local_addr() {
        eprintln!("floor-server listening on http://{addr}");
    }
    for stream in listener.incoming().flatten() {
        let file = file.clone();
        std::thread::spawn(move || {
            if let Err(e) = serve(stream, &file, gathered) {
                if e.kind() != io::ErrorKind::BrokenPipe {
                    eprintln!("floor-server: {e}");
                }
            }
        });
    }
}

fn serve(stream: TcpStream, path: &str, gathered: bool) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    while read_request_head(&mut reader)? {
        let mut out = &stream;
        out.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n",
        )?;
        let mut lines = BufReader::new(File::open(path)?);
        let mut batch: Vec<Vec<u8>> = Vec::with_capacity(GATHER_LINES);
        loop {
            let mut line = Vec::new();
            let n = lines.read_until(b'\n', &mut line)?;
            if n > 0 {
                batch.push(line);
            }
            let flush = n == 0 || !gathered || batch.len() == GATHER_LINES;
            if flush && !batch.is_empty() {
                write_chunks(&stream, &batch)?;
                batch.clear();
            }
            if n == 0 {
                break;
            }
        }
        out.write_all(b"0\r\n\r\n")?;
    }
    Ok(())
}

/// One `writev` for all lines of `batch`: size line, bytes, CRLF per chunk.
fn write_chunks(stream: &TcpStream, batch: &[Vec<u8>]) -> io::Result<()> {
    let sizes: Vec<String> = batch.iter().map(|l| format!("{:x}\r\n", l.len())).collect();
    let mut iov = Vec::with_capacity(batch.len() * 3);
    for (line, size) in batch.iter().zip(&sizes) {
        for part in [size.as_bytes(), line.as_slice(), b"\r\n"] {
            iov.push(libc::iovec {
                iov_base: part.as_ptr() as *mut libc::c_void,
                iov_len: part.len(),
            });
        }
    }
    let total: usize = iov.iter().map(|v| v.iov_len).sum();
    let mut written = 0usize;
    let mut first = 0usize;
    while written < total {
        // SAFETY: every iovec points into `batch`/`sizes`, alive for this call.
        let n = unsafe {
            libc::writev(
                stream.as_raw_fd(),
                iov[first..].as_ptr(),
                (iov.len() - first).min(1024) as libc::c_int,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut n = n as usize;
        written += n;
        while first < iov.len() && n >= iov[first].iov_len {
            n -= iov[first].iov_len;
            first += 1;
        }
        if n > 0 {
            // SAFETY: advancing within the same buffer by fewer bytes than its length.
            iov[first].iov_base =
                unsafe { (iov[first].iov_base as *mut u8).add(n) } as *mut libc::c_void;
            iov[first].iov_len -= n;
        }
    }
    Ok(())
}
