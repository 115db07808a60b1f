//! Memory is reclaimed as programs run, and `+=` / `+` rebinding appends in place.
//! One test per process section: peak RSS is read from this process's own status.

mod codegen_support;

use std::time::{Duration, Instant};

use codegen_support::output;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn building_and_dropping_millions_of_values_keeps_rss_flat() {
    // Texts, lists, records, results and closures made and dropped every iteration.
    let code = "type p{a:t;b:L t}\n\
        main>n;n=0;k=1;@i 0..2000000{s=+\"item-\" (str i);xs=[s s];r=p a:s b:xs;q=~r;\
        g=(x:n>n;+x k);n=+n (g (len r.b))};n";
    let out = output(code, &[]);
    assert_eq!(out, "6000000");
    let peak = peak_rss_kib();
    assert!(peak > 0, "VmHWM not readable");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB exceeds 64 MiB");
}

#[test]
fn rebinding_appends_in_place_in_linear_time() {
    // Quadratic copying would need ~10^12 element copies here and never finish.
    let start = Instant::now();
    let out = output("main>n;xs=[];@i 0..1000000{xs=+=xs i};len xs", &[]);
    assert_eq!(out, "1000000");
    let out = output("main>n;s=\"\";@i 0..1000000{s=+s \"ab\"};len s", &[]);
    assert_eq!(out, "2000000");
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
}
