//! The chunk-framing path alone: how many lines per second the server's framing code
//! can frame and write into a socket whose other end is drained by a reader thread.
//!
//! Three ways of writing the same 66-byte lines (65 bytes plus the restored `\n`):
//! - per-line `writev`: each line framed with `framing::push_line` and written with
//!   its own vectored write (size line, payload, tail: three iovecs, one syscall);
//! - gathered `writev`: 64 lines framed into one iovec list, one syscall per batch
//!   (the server's default gather limit);
//! - the body stream: the server's `body_stream::BodyStream` state machine over an
//!   in-memory source that always has its next line, so gathering, the copy into the
//!   output buffer, non-blocking sends (waiting for room when the socket is full) and
//!   the end of the body are all included.
//!
//! Each is measured over a TCP loopback pair (what the server writes to, with
//! `TCP_NODELAY`) and a Unix socket pair (less kernel work per byte, so the
//! user-space share shows more). Run with `cargo bench --bench chunk_framing`;
//! `ILO_BENCH_LINES=N` changes the line count. Each figure is the median of several
//! runs, shown with the minimum and maximum.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ilo_runtime::httpd::body_stream::{BodyStream, StreamEnd, Want};
use ilo_runtime::httpd::body_writer::{write_all_vectored, Gather};
use ilo_runtime::httpd::framing::{line_size, push_end, push_line, Framing, SizeLine};
use ilo_runtime::httpd::ServerStats;
use ilo_runtime::line_source::{block_on, LineSource, Progress, Readiness};
use ilo_runtime::value::Value;

const RUNS: usize = 5;
const LINE_PAYLOAD: usize = 65;
const GATHER_LINES: usize = 64;
const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

/// The lines every run writes: distinct contents, as a file's would be.
fn make_lines(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let mut line = format!("{i:010} ").into_bytes();
            line.resize(LINE_PAYLOAD, b'x');
            line
        })
        .collect()
}

/// A connected pair: the writer end and a thread that reads the other end to EOF and
/// returns how many bytes it saw.
struct Pair<W> {
    writer: W,
    drain: JoinHandle<io::Result<u64>>,
}

fn drain<R: Read + Send + 'static>(mut r: R) -> JoinHandle<io::Result<u64>> {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        loop {
            match r.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => total += n as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    })
}

fn tcp_pair() -> io::Result<Pair<TcpStream>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let writer = TcpStream::connect(listener.local_addr()?)?;
    writer.set_nodelay(true)?;
    let (reader, _) = listener.accept()?;
    Ok(Pair {
        writer,
        drain: drain(reader),
    })
}

fn unix_pair() -> io::Result<Pair<UnixStream>> {
    let (writer, reader) = UnixStream::pair()?;
    Ok(Pair {
        writer,
        drain: drain(reader),
    })
}

/// One line per vectored write. The iovec list is built per write, as the server's
/// body writer does.
fn per_line<W: Write>(w: &mut W, lines: &[Vec<u8>]) -> io::Result<()> {
    w.write_all(HEAD)?;
    for line in lines {
        let size = line_size(line);
        let mut iov = Vec::with_capacity(3);
        push_line(&mut iov, Framing::Chunked, &size, line);
        write_all_vectored(w, &mut iov)?;
    }
    let mut end = Vec::new();
    push_end(&mut end, Framing::Chunked);
    write_all_vectored(w, &mut end)
}

/// `GATHER_LINES` lines per vectored write, framed straight from the caller's lines.
fn gathered<W: Write>(w: &mut W, lines: &[Vec<u8>]) -> io::Result<()> {
    w.write_all(HEAD)?;
    for batch in lines.chunks(GATHER_LINES) {
        let sizes: Vec<SizeLine> = batch.iter().map(|l| line_size(l)).collect();
        let mut iov = Vec::with_capacity(3 * batch.len() + 1);
        for (line, size) in batch.iter().zip(&sizes) {
            push_line(&mut iov, Framing::Chunked, size, line);
        }
        write_all_vectored(w, &mut iov)?;
    }
    let mut end = Vec::new();
    push_end(&mut end, Framing::Chunked);
    write_all_vectored(w, &mut end)
}

/// An in-memory source whose every line is already buffered.
struct Preloaded {
    lines: std::slice::Iter<'static, Vec<u8>>,
    current: &'static [u8],
}

impl LineSource for Preloaded {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        block_on(self)
    }
    fn ready(&self) -> bool {
        self.lines.len() > 0
    }
    fn close(&mut self) {
        self.lines = [].iter();
    }
    fn readiness(&self) -> Readiness {
        Readiness::Always
    }
    fn advance(&mut self) -> Progress {
        match self.lines.next() {
            Some(line) => {
                self.current = line;
                Progress::Line
            }
            None => Progress::End,
        }
    }
    fn line(&self) -> &[u8] {
        self.current
    }
}

/// The server's stream state machine over a source with every line ready, driven as
/// the event loop would: again at once after a yield, after `poll` when the socket
/// is full.
fn body_stream<W: Write + AsRawFd>(w: &mut W, lines: &'static [Vec<u8>]) -> io::Result<()> {
    let source = Value::source(Box::new(Preloaded {
        lines: lines.iter(),
        current: &[],
    }));
    let gather = Gather {
        max_lines: GATHER_LINES,
        max_bytes: 64 * 1024,
    };
    let mut stream = BodyStream::new(HEAD.to_vec(), source, Framing::Chunked, gather);
    let stats = ServerStats::default();
    let fd = w.as_raw_fd();
    loop {
        match stream.drive(fd, &stats) {
            Want::Done(StreamEnd::Complete) => return Ok(()),
            Want::Done(StreamEnd::ClientGone(e)) => return Err(e),
            Want::Done(StreamEnd::SourceFailed(m)) => return Err(io::Error::other(m)),
            Want::Writable => wait_writable(fd),
            Want::Yield | Want::Source(_) => {}
        }
    }
}

fn wait_writable(fd: std::os::fd::RawFd) {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd in a local for the duration of the call.
    unsafe { libc::poll(&mut pfd, 1, -1) };
}

/// The bytes a complete response occupies on the wire.
fn wire_bytes(lines: &[Vec<u8>]) -> u64 {
    let body: usize = lines
        .iter()
        .map(|l| line_size(l).as_bytes().len() + l.len() + 3)
        .sum();
    (HEAD.len() + body + 5) as u64
}

/// Time one write of all lines, including the reader having drained every byte.
fn run_once<W: Write + AsRawFd>(
    pair: io::Result<Pair<W>>,
    lines: &'static [Vec<u8>],
    write: fn(&mut W, &'static [Vec<u8>]) -> io::Result<()>,
) -> Duration {
    let Pair { mut writer, drain } = match pair {
        Ok(p) => p,
        Err(e) => panic!("socket pair: {e}"),
    };
    let start = Instant::now();
    if let Err(e) = write(&mut writer, lines) {
        panic!("write: {e}");
    }
    drop(writer);
    let received = match drain.join() {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => panic!("drain: {e}"),
        Err(_) => panic!("drain thread panicked"),
    };
    let elapsed = start.elapsed();
    assert_eq!(received, wire_bytes(lines), "every framed byte arrives");
    elapsed
}

struct Figure {
    median: f64,
    min: f64,
    max: f64,
}

/// Lines per second over `RUNS` runs.
fn measure(mut once: impl FnMut() -> Duration, count: usize) -> Figure {
    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| count as f64 / once().as_secs_f64())
        .collect();
    rates.sort_by(|a, b| a.total_cmp(b));
    Figure {
        median: rates[RUNS / 2],
        min: rates[0],
        max: rates[RUNS - 1],
    }
}

fn main() {
    let count: usize = std::env::var("ILO_BENCH_LINES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(500_000);
    // Leaked once so the in-memory source can lend lines for any lifetime.
    let lines: &'static [Vec<u8>] = Box::leak(make_lines(count).into_boxed_slice());

    println!(
        "chunk framing: {count} lines of {} bytes, lines/s (median of {RUNS}, min..max)",
        LINE_PAYLOAD + 1
    );
    let rows: [(&str, Figure); 6] = [
        (
            "tcp  per-line writev",
            measure(|| run_once(tcp_pair(), lines, per_line), count),
        ),
        (
            "tcp  gathered writev (64 lines)",
            measure(|| run_once(tcp_pair(), lines, gathered), count),
        ),
        (
            "tcp  body stream (BodyStream)",
            measure(|| run_once(tcp_pair(), lines, body_stream), count),
        ),
        (
            "unix per-line writev",
            measure(|| run_once(unix_pair(), lines, per_line), count),
        ),
        (
            "unix gathered writev (64 lines)",
            measure(|| run_once(unix_pair(), lines, gathered), count),
        ),
        (
            "unix body stream (BodyStream)",
            measure(|| run_once(unix_pair(), lines, body_stream), count),
        ),
    ];
    println!("{:<36} {:>14} {:>26}", "path", "lines/s", "min..max");
    for (name, f) in &rows {
        println!(
            "{name:<36} {:>14.0} {:>12.0}..{:<12.0}",
            f.median, f.min, f.max
        );
    }
    let ratio = |a: usize, b: usize| rows[a].1.median / rows[b].1.median;
    println!("tcp  gathered / per-line: {:.1}x", ratio(1, 0));
    println!("tcp  body stream / gathered: {:.2}x", ratio(2, 1));
    println!("unix gathered / per-line: {:.1}x", ratio(4, 3));
}
