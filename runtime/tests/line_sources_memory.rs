//! Five million lines through a file source keep peak memory flat. (A test binary of
//! its own, so no other test moves the process's peak RSS.)

use std::fs::File;
use std::io::{BufWriter, Write};

use ilo_runtime::builtins;
use ilo_runtime::line_source::next_text;
use ilo_runtime::Value;

const LINES: usize = 5_000_000;
/// Growth of peak RSS allowed while streaming: far below the file's size.
const ALLOWED_GROWTH_KIB: u64 = 8 * 1024;

/// Peak resident set size so far, from /proc/self/status.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM line")
}

#[test]
fn five_million_lines_keep_peak_rss_flat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.txt");
    let mut out = BufWriter::new(File::create(&path).expect("create"));
    for i in 0..LINES {
        writeln!(out, "line {i:07}").expect("write");
    }
    out.flush().expect("flush");
    drop(out);
    let file_kib = std::fs::metadata(&path).expect("metadata").len() / 1024;
    assert!(
        file_kib > 4 * ALLOWED_GROWTH_KIB,
        "the file must dwarf the allowance"
    );

    let before = peak_rss_kib();
    let id = builtins::lookup("for-line").expect("for-line");
    let src = builtins::call(id, &[Value::text(path.to_str().expect("utf-8"))]).expect("open");
    let mut count = 0;
    let mut last = Value::NIL;
    while let Some(line) = next_text(&src).expect("read") {
        count += 1;
        last = line;
    }
    let after = peak_rss_kib();

    assert_eq!(count, LINES);
    assert_eq!(
        last.as_text(),
        Some(format!("line {:07}", LINES - 1).as_str())
    );
    let growth = after.saturating_sub(before);
    assert!(
        growth < ALLOWED_GROWTH_KIB,
        "peak RSS grew by {growth} KiB streaming a {file_kib} KiB file"
    );
}
