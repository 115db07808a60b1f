//! Opens many concurrent streaming responses and checks that every one of them
//! delivers its lines: the "10,000 open streams" workload.
//!
//! usage: fanout-client --addr HOST:PORT [--path /] [--conns 10000] [--lines 5]
//! prints: {"conns":N,"complete":M,"failed":K}

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use ilo_bench_tools::{ChunkedLines, Flags};

fn main() {
    let flags = Flags::from_env();
    let flag = |name: &str, default: &str| flags.or(name, default);
    let addr = flag("--addr", "127.0.0.1:8080");
    let path = flag("--path", "/");
    let conns: usize = flag("--conns", "10000").parse().unwrap_or(10000);
    let lines: usize = flag("--lines", "5").parse().unwrap_or(5);
    raise_fd_limit();
    let complete = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    // The first failure's reason goes to stderr, so a failed count can be explained.
    let reported = Arc::new(AtomicBool::new(false));
    // Every client connects and reads its first line before any reads the rest, so
    // all streams are open on the server at the same time.
    let barrier = Arc::new(Barrier::new(conns));
    let mut threads = Vec::with_capacity(conns);
    for _ in 0..conns {
        let (addr, path) = (addr.clone(), path.clone());
        let (complete, failed, barrier) = (complete.clone(), failed.clone(), barrier.clone());
        let reported = reported.clone();
        let t = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                let ok = (|| -> std::io::Result<bool> {
                    let mut body = ChunkedLines::get(&addr, &path);
                    // No early return before the barrier: every thread must reach it,
                    // or the others wait forever.
                    let first = body
                        .as_mut()
                        .map_err(|e| io::Error::new(e.kind(), e.to_string()))
                        .and_then(|b| b.next_line());
                    barrier.wait();
                    let mut body = body?;
                    let mut got = usize::from(first?.is_some());
                    while got < lines {
                        if body.next_line()?.is_none() {
                            break;
                        }
                        got += 1;
                    }
                    Ok(got >= lines)
                })();
                match ok {
                    Ok(true) => {
                        complete.fetch_add(1, Ordering::Relaxed);
                    }
                    other => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        if !reported.swap(true, Ordering::Relaxed) {
                            match other {
                                Err(e) => eprintln!("fanout-client: first failure: {e}"),
                                _ => eprintln!("fanout-client: first failure: body ended early"),
                            }
                        }
                    }
                }
            });
        match t {
            Ok(t) => threads.push(t),
            Err(e) => {
                eprintln!("fanout-client: spawn: {e}");
                std::process::exit(1);
            }
        }
    }
    for t in threads {
        let _ = t.join();
    }
    println!(
        "{{\"conns\":{conns},\"complete\":{},\"failed\":{}}}",
        complete.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
}

fn raise_fd_limit() {
    // SAFETY: plain getrlimit/setrlimit on this process with a stack-allocated struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
