//! Reads a streamed body whose lines start with their production time (ns since the
//! epoch, as the ticker writes them) and reports production-to-arrival latency.
//!
//! usage: latency-client --addr HOST:PORT [--path /] [--skip 2]
//! prints: {"lines":N,"p50_ms":..,"p99_ms":..,"max_ms":..}

use ilo_bench_tools::{now_ns, percentile, ChunkedLines, Flags};

fn main() {
    let flags = Flags::from_env();
    let flag = |name: &str, default: &str| flags.or(name, default);
    let addr = flag("--addr", "127.0.0.1:8080");
    let path = flag("--path", "/");
    // The first lines include connection set-up on every hop; skip them.
    let skip: usize = flag("--skip", "2").parse().unwrap_or(2);
    let mut body = match ChunkedLines::get(&addr, &path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("latency-client: {e}");
            std::process::exit(1);
        }
    };
    let mut sample = Vec::new();
    let mut seen = 0usize;
    loop {
        match body.next_line() {
            Ok(Some(line)) => {
                let arrived = now_ns();
                seen += 1;
                let stamp = String::from_utf8_lossy(&line);
                let produced: u128 = stamp
                    .split_whitespace()
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(arrived);
                if seen > skip {
                    sample.push(arrived.saturating_sub(produced) as f64 / 1e6);
                }
            }
            Ok(None) => break,
            Err(e) => {
                eprintln!("latency-client: {e}");
                std::process::exit(1);
            }
        }
    }
    let max = sample.iter().cloned().fold(0.0, f64::max);
    let p50 = percentile(&mut sample, 50.0);
    let p99 = percentile(&mut sample, 99.0);
    println!(
        "{{\"lines\":{},\"p50_ms\":{p50:.3},\"p99_ms\":{p99:.3},\"max_ms\":{max:.3}}}",
        sample.len()
    );
}
