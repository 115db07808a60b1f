//! Many clients that read a fast stream slowly: the "slow readers" workload. Each
//! client requests the path and reads at a fixed rate, so the server must hold back
//! (or buffer) what its source produces faster than the client takes it.
//!
//! usage: slow-reader --addr HOST:PORT [--path /stream] [--conns 100]
//!                    [--rate 102400] [--seconds 10]
//! prints: {"conns":N,"served":M,"bytes":B,"seconds":S}
//!   served: clients that got a 200 head and read at least half their byte budget.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ilo_bench_tools::Flags;

/// How often a client takes its next share of the rate.
const TICK: Duration = Duration::from_millis(100);

fn main() {
    let flags = Flags::from_env();
    let flag = |name: &str, default: &str| flags.or(name, default);
    let addr = flag("--addr", "127.0.0.1:8080");
    let path = flag("--path", "/stream");
    let conns: usize = flag("--conns", "100").parse().unwrap_or(100);
    let rate: u64 = flag("--rate", "102400").parse().unwrap_or(102_400);
    let seconds: u64 = flag("--seconds", "10").parse().unwrap_or(10);
    let duration = Duration::from_secs(seconds);
    let served = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (addr, path) = (addr.clone(), path.clone());
            let (served, total) = (served.clone(), total.clone());
            std::thread::spawn(move || {
                let got = read_slowly(&addr, &path, rate, duration).unwrap_or(0);
                total.fetch_add(got, Ordering::Relaxed);
                if got * 2 >= rate * duration.as_secs() {
                    served.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    println!(
        "{{\"conns\":{conns},\"served\":{},\"bytes\":{},\"seconds\":{:.3}}}",
        served.load(Ordering::Relaxed),
        total.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}

/// Read the response at `rate` bytes per second for `duration`; the bytes read
/// (head excluded). `None` when the head is not a 200.
fn read_slowly(addr: &str, path: &str, rate: u64, duration: Duration) -> Option<u64> {
    let mut stream = TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut reader = BufReader::with_capacity(4096, stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if line.split_whitespace().nth(1) != Some("200") {
        return None;
    }
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
            break;
        }
    }
    let per_tick = (rate as u128 * TICK.as_millis() / 1000) as usize;
    let mut buf = vec![0u8; per_tick.max(1)];
    let start = Instant::now();
    let mut got = 0u64;
    let mut next = start;
    while start.elapsed() < duration {
        let mut want = per_tick;
        while want > 0 {
            match reader.read(&mut buf[..want]) {
                Ok(0) | Err(_) => return Some(got),
                Ok(n) => {
                    got += n as u64;
                    want -= n;
                }
            }
        }
        next += TICK;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    Some(got)
}
