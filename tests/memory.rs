//! Memory is reclaimed as programs run: a loop that builds and drops millions of
//! strings and lists must keep the process's peak resident set small.
//!
//! The child's peak RSS is read with `getrusage(RUSAGE_CHILDREN)` after it has been
//! waited for; the kernel keeps the maximum over every waited-for child, so this file
//! holds exactly one test and spawns exactly one child.

use std::process::Command;

/// Two million strings, two million small lists, and two thousand lists grown to a
/// thousand elements, all dropped as the loops go; then ten thousand maps, lists,
/// texts and records each updated in place a hundred and twenty times (1.2 million
/// updates that hand their value over), and a list of two texts and a record with a
/// text field whose texts are replaced 240 and 120 times each round (3.6 million
/// texts released by the inline update paths, the list ones in loops whose list is
/// tested once before the loop); then a million calls of a function that owns
/// its arguments, given a text it shares with the caller and one handed over; then a
/// million new texts put into a record by a loop tested once for it (codegen's
/// `record_loop.rs`), each releasing the one before; then twice a million texts
/// that each pass through a record field, moved out of it by the one read of the
/// update that replaces it (codegen's `field_move.rs`; once with a call among the
/// values, once tested before them); then four thousand maps of two
/// lists grown to 500 elements, each list taken out of its map for the `mset` that
/// puts it back (`map_take.rs`). Without
/// reference counting, or if a value handed over were never released, this would
/// need hundreds of megabytes.
const CHURN: &str = "\
type acc{n:n}
type lbl{t:t}
type two{t:t;u:t}
both a:t b:t>n;+(len a) (len b)
main>n
  tot=0
  i=0
  wh <i 2000000{s=+\"item-\" (str i);xs=[i s i];tot=+tot (len xs);tot=+tot (len s);i=+i 1}
  @j 0..2000{ys=[];@k 0..1000{ys=+=ys k};tot=+tot (len ys)}
  @j 0..10000{m=mmap;@k 0..40{m=mset m (str k) k};@k 0..20{m=mdel m (str k)};zs=range 0 40;@k 0..40{zs=lst zs k (str k)};t=fmt \"{}\" \"\";@k 0..20{t=fmt \"{}{}\" t k};a=acc n:0;@k 0..20{a=a with n:+a.n 1};ws=[\"a\" \"b\"];@k 0..120{ws=lst ws 0 (str k);ws=lst ws 1 (str k)};b=lbl t:\"\";@k 0..120{b=b with t:str k};tot=+tot (+(len m) (+(len zs) (+(len t) (+a.n (+(len ws) (len b.t))))))}
  @j 0..1000000{s=str j;tot=+tot (both s (+s \"!\"));tot=+tot (len s)}
  c=lbl t:\"\"
  s=\"abc\"
  @j 0..1000000{c=c with t:+s \"!\"}
  e=two t:\"\" u:\"\"
  @j 0..1000000{e=e with t:str j u:+e.t \"!\"}
  tot=+tot (+(len e.t) (len e.u))
  @j 0..1000000{s=str j;e=e with t:s u:+e.t \"!\"}
  tot=+tot (+(len e.t) (len e.u))
  @j 0..4000{g=mmap;@k 0..1000{q=mod k 2;ys=mget g q ?? [];g=mset g q +=ys k};tot=+tot (len (mget g 1 ?? []))}
  +tot (len c.t)
";

/// Peak RSS bound for the whole process.
const LIMIT_BYTES: i64 = 64 * 1024 * 1024;

#[test]
fn churning_strings_and_lists_keeps_peak_memory_flat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("churn.ilo");
    std::fs::write(&path, CHURN).expect("write program");

    let out = Command::new(env!("CARGO_BIN_EXE_ilo"))
        .arg(&path)
        .output()
        .expect("spawn ilo");
    assert!(
        out.status.success(),
        "churn program failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Expected total: per iteration 3 list elements plus the length of "item-<i>";
    // then 2000 lists of 1000 elements; then per map round 20 keys left, 40 list
    // elements, the 30 digits of 0..19, a count of 20, 2 list elements and the 3
    // digits of 119; then per call the digits of
    // j three times and the "!"; then twice "999999" and "999998!"; then the 4 bytes
    // of "abc!"; and 500 elements per grouping round.
    let digits: i64 = (0..2_000_000i64).map(|i| i.to_string().len() as i64).sum();
    let call_digits: i64 = (0..1_000_000i64).map(|j| j.to_string().len() as i64).sum();
    let expected = 2_000_000 * (3 + 5)
        + digits
        + 2000 * 1000
        + 10_000 * (20 + 40 + 30 + 20 + 2 + 3)
        + 3 * call_digits
        + 1_000_000
        + 2 * 13
        + 4
        + 4000 * 500;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        expected.to_string()
    );

    // SAFETY: getrusage fills the zeroed struct; RUSAGE_CHILDREN covers the child we
    // have already waited for.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage), 0);
        usage
    };
    // Linux reports ru_maxrss in kilobytes.
    let peak = usage.ru_maxrss * 1024;
    assert!(
        peak < LIMIT_BYTES,
        "peak RSS {} MiB exceeds {} MiB",
        peak / (1024 * 1024),
        LIMIT_BYTES / (1024 * 1024)
    );
}
