//! The broadcast floor: the least any server can do for the broadcast workload, to
//! set ilo's and Node's figures against.
//!
//! `GET /bcast` subscribes. The first subscriber makes one connection to the ticking
//! upstream (`--upstream`), as ilo's `bcast` hub does; a thread reads its chunked body
//! line by line and, for each line, frames it once as the chunk ilo sends
//! (`<hex length>\r\n<line>\n\r\n`) and hands it to `--threads` workers (default: one
//! per core, ilo's default worker count). Each worker owns its share of the
//! subscribers (dealt in turn as they are accepted, as ilo's loops are) in a flat
//! array and makes one non-blocking `send` per subscriber per line, nothing else: no
//! epoll, no inbox, no per-subscriber state. A subscriber whose socket cannot take a
//! whole line at once (a stalled reader; counted) or has gone is closed, never
//! waited for. When the upstream ends, every subscriber gets the last chunk and is
//! closed.
//!
//! The response head is the one `ilo httpd` sends for the benchmark's `/bcast`
//! handler, so the client reads the same bytes from both.
//!
//! usage: bcast-floor --port N --upstream http://HOST:PORT/PATH [--threads N]

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use ilo_bench_tools::{ChunkedLines, Flags};

/// What `ilo httpd` sends before the first line of a `bcast` response body.
const HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n";
const NOT_FOUND: &[u8] =
    b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 10\r\n\r\nnot found\n";
/// The chunked body's end.
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// One worker's subscribers: the flat array it sends each line to.
type Subscribers = Arc<Mutex<Vec<TcpStream>>>;

/// What a worker is handed: a framed line, or the body's end.
enum Deal {
    Line(Arc<[u8]>),
    End,
}

struct Hub {
    upstream: String,
    workers: Vec<(Subscribers, Sender<Deal>)>,
    /// The upstream reader is running.
    open: AtomicBool,
    /// Subscribers closed because a line did not fit in their socket at once.
    dropped: AtomicU64,
}

fn main() {
    let flags = Flags::from_env();
    let port = flags.or("--port", "0");
    let Some(upstream) = flags.get("--upstream") else {
        eprintln!("bcast-floor: --upstream http://HOST:PORT/PATH is required");
        std::process::exit(2);
    };
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let threads: usize = flags
        .get("--threads")
        .and_then(|t| t.parse().ok())
        .unwrap_or(cores)
        .max(1);
    let listener = ilo_bench_tools::bind_loopback("bcast-floor", &port);
    let mut workers = Vec::with_capacity(threads);
    let mut inboxes = Vec::with_capacity(threads);
    for _ in 0..threads {
        let (tx, rx) = mpsc::channel();
        let subs: Subscribers = Arc::default();
        workers.push((subs.clone(), tx));
        inboxes.push((subs, rx));
    }
    let hub = Arc::new(Hub {
        upstream,
        workers,
        open: AtomicBool::new(false),
        dropped: AtomicU64::new(0),
    });
    for (subs, rx) in inboxes {
        let hub = hub.clone();
        thread::spawn(move || fan_out(&hub, &subs, &rx));
    }
    if let Ok(addr) = listener.local_addr() {
        eprintln!("bcast-floor listening on http://{addr}");
    }
    let mut next = 0;
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("bcast-floor: accept: {e}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        match subscribe(stream) {
            Ok(Some(stream)) => {
                if let Ok(mut subs) = hub.workers[next].0.lock() {
                    subs.push(stream);
                }
                next = (next + 1) % hub.workers.len();
                open_upstream(&hub);
            }
            Ok(None) => {}
            Err(e) => eprintln!("bcast-floor: subscriber: {e}"),
        }
    }
}

/// Read the request head and answer it: the subscriber's socket, ready for lines,
/// for `GET /bcast`; a 404 and None for anything else.
fn subscribe(stream: TcpStream) -> io::Result<Option<TcpStream>> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    while line != "\r\n" && line != "\n" {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
    }
    let mut stream = reader.into_inner();
    if target != "/bcast" {
        stream.write_all(NOT_FOUND)?;
        return Ok(None);
    }
    stream.set_nodelay(true)?;
    stream.write_all(HEAD)?;
    stream.set_nonblocking(true)?;
    Ok(Some(stream))
}

/// Start the upstream reader unless it runs already.
fn open_upstream(hub: &Arc<Hub>) {
    if hub.open.swap(true, Ordering::AcqRel) {
        return;
    }
    let hub = hub.clone();
    thread::spawn(move || {
        if let Err(e) = relay(&hub) {
            eprintln!("bcast-floor: upstream {}: {e}", hub.upstream);
        }
        for (_, tx) in &hub.workers {
            let _ = tx.send(Deal::End);
        }
        eprintln!(
            "bcast-floor: upstream ended; {} stalled subscribers dropped so far",
            hub.dropped.load(Ordering::Relaxed)
        );
        hub.open.store(false, Ordering::Release);
    });
}

/// Read the upstream's lines and deal each one, framed once, to every worker.
fn relay(hub: &Hub) -> io::Result<()> {
    let rest = hub
        .upstream
        .strip_prefix("http://")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an http:// URL"))?;
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut lines = ChunkedLines::get(addr, path)?;
    while let Some(line) = lines.next_line()? {
        let mut frame = format!("{:x}\r\n", line.len() + 1).into_bytes();
        frame.extend_from_slice(&line);
        frame.extend_from_slice(b"\n\r\n");
        let frame: Arc<[u8]> = frame.into();
        for (_, tx) in &hub.workers {
            let _ = tx.send(Deal::Line(frame.clone()));
        }
    }
    Ok(())
}

/// One worker: for each line dealt, one `send` to each of its subscribers.
fn fan_out(hub: &Hub, subs: &Mutex<Vec<TcpStream>>, deals: &Receiver<Deal>) {
    while let Ok(deal) = deals.recv() {
        let Ok(mut subs) = subs.lock() else { return };
        let bytes: &[u8] = match &deal {
            Deal::Line(frame) => frame,
            Deal::End => LAST_CHUNK,
        };
        let mut i = 0;
        while i < subs.len() {
            // SAFETY: a live socket of ours and a buffer valid for its length.
            let sent = unsafe {
                libc::send(
                    subs[i].as_raw_fd(),
                    bytes.as_ptr().cast(),
                    bytes.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            if sent == bytes.len() as isize {
                i += 1;
                continue;
            }
            // A stalled reader (a part of a chunk would break the framing) or a
            // subscriber gone: closed either way, only the first counted.
            let gone =
                sent < 0 && !matches!(io::Error::last_os_error().kind(), io::ErrorKind::WouldBlock);
            if !gone {
                hub.dropped.fetch_add(1, Ordering::Relaxed);
            }
            subs.swap_remove(i);
        }
        if let Deal::End = deal {
            subs.clear();
        }
    }
}
