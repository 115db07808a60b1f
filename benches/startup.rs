//! Startup of binaries built with `ilo build` (goal: readiness within 5 ms of exec,
//! binary under 8 MiB), with the JIT beside them for scale.
//!
//! Measured from just before `spawn` to:
//! - a server's readiness line (`ilo httpd listening on …`) on stderr;
//! - a command's exit.
//!
//! Run with `cargo bench --bench startup`; `STARTUP_RUNS` sets the samples per row
//! (default 50). Prints min / median / p90 per row.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GOAL: Duration = Duration::from_millis(5);
const SIZE_GOAL: u64 = 8 * 1024 * 1024;

const COMMAND_SRC: &str = "main>n;fib 20\nfib n:n>n;<=n 1 n;a=fib -n 1;b=fib -n 2;+a b\n";
const SERVER_SRC: &str = "handler req:_>t;+\"hello \" req.path\n";

fn ilo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ilo"))
}

fn build(dir: &Path, name: &str, source: &str) -> (PathBuf, PathBuf) {
    let file = dir.join(format!("{name}.ilo"));
    std::fs::write(&file, source).expect("write program");
    let out = dir.join(name);
    let started = Instant::now();
    let o = ilo()
        .arg("build")
        .arg(&file)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("spawn ilo build");
    assert!(
        o.status.success(),
        "ilo build failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "built {name}: {:.2} MiB in {:.2} s{}",
        size as f64 / (1024.0 * 1024.0),
        started.elapsed().as_secs_f64(),
        if size > SIZE_GOAL {
            "  (over the 8 MiB goal)"
        } else {
            ""
        }
    );
    (file, out)
}

/// Exec to exit.
fn time_exit(cmd: &mut Command) -> Duration {
    let started = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("spawn");
    let took = started.elapsed();
    assert!(status.success(), "command failed: {status}");
    took
}

/// Exec to the readiness line; the server is then killed.
fn time_ready(cmd: &mut Command) -> Duration {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let took = loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("ilo httpd listening on ") => {
                break started.elapsed()
            }
            Some(Ok(_)) => continue,
            _ => panic!("server exited before its readiness line"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    took
}

fn report(label: &str, runs: usize, mut sample: impl FnMut() -> Duration) {
    let mut times: Vec<Duration> = (0..runs).map(|_| sample()).collect();
    times.sort();
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let (min, med, p90) = (times[0], pick(0.5), pick(0.9));
    println!(
        "{label:<40} min {:>7.2} ms  median {:>7.2} ms  p90 {:>7.2} ms{}",
        ms(min),
        ms(med),
        ms(p90),
        if med > GOAL {
            "  (median over the 5 ms goal)"
        } else {
            ""
        }
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo bench` passes harness flags such as `--bench`; nothing to parse here.
    let runs: usize = std::env::var("STARTUP_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(50);
    let dir = tempfile::tempdir().expect("tempdir");
    let (cmd_src, cmd_bin) = build(dir.path(), "fib20", COMMAND_SRC);
    let (_, srv_bin) = build(dir.path(), "hello-server", SERVER_SRC);

    println!("\nstartup over {runs} runs");
    report("AOT server: exec → readiness line", runs, || {
        time_ready(Command::new(&srv_bin).args(["--port", "0", "--workers", "1"]))
    });
    report("AOT command (fib 20): exec → exit", runs, || {
        time_exit(&mut Command::new(&cmd_bin))
    });
    report("JIT `ilo FILE` (fib 20): exec → exit", runs, || {
        time_exit(ilo().arg(&cmd_src))
    });
}
