//! File and tail sources through the builtins and the handle ABI: lines, laziness,
//! `tail -F` behaviour (appends, last N, truncation, rotation, partial lines), closing
//! and interrupting.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

mod builtin_support;

use builtin_support::{blocked_reader, call, text, wait_asleep, DEADLOCK, PATIENCE};
use ilo_runtime::error::codes;
use ilo_runtime::line_source::handle::{
    ilo_source_close, ilo_source_next_line, ilo_source_next_text, ilo_source_ready,
};
use ilo_runtime::line_source::{next_text, Progress, Readiness};
use ilo_runtime::Value;

fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 temp path").to_string()
}

fn drain(src: &Value) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(line) = next_text(src).expect("read") {
        out.push(line.as_text().expect("text").to_string());
    }
    out
}

/// Does this process hold a descriptor open on `path`?
fn holds_fd_on(path: &Path) -> bool {
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .any(|link| link == target)
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open for append");
    f.write_all(bytes).expect("append");
}

/// Read lines from `src` on a thread, sending each (with its arrival time) back; the
/// thread's id, to see it blocked.
fn reader_thread(src: Value) -> (libc::pid_t, mpsc::Receiver<(String, Instant)>) {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        // SAFETY: gettid(2) takes no arguments and cannot fail.
        let _ = tid_tx.send(unsafe { libc::gettid() });
        while let Ok(Some(line)) = next_text(&src) {
            let line = line.as_text().unwrap_or_default().to_string();
            if tx.send((line, Instant::now())).is_err() {
                break;
            }
        }
    });
    let tid = tid_rx
        .recv_timeout(PATIENCE)
        .expect("reader thread started");
    (tid, rx)
}

/// The next line from the reader must be `want`; when it arrived.
fn expect_line(rx: &mpsc::Receiver<(String, Instant)>, want: &str) -> Instant {
    let (line, at) = rx
        .recv_timeout(DEADLOCK)
        .unwrap_or_else(|e| panic!("line {want:?} never arrived: {e}"));
    assert_eq!(line, want);
    at
}

/// A tail whose change notification is lost still finds new lines at its periodic
/// look at the file, every 500 ms (`SAFETY_NET` in the tail source). The issue asks
/// for lines (and interrupts) within 100 ms; what a test can tell apart without
/// flaking on a busy machine is "woken by the change" from "found at the next look",
/// so it asserts half that period, for the median of several rounds each started
/// just as the reader blocks (where a lost wake-up takes the whole period).
const WOKEN_WITHIN: Duration = Duration::from_millis(250);

fn assert_woken(what: &str, mut delays: Vec<Duration>) {
    delays.sort();
    let median = delays[delays.len() / 2];
    assert!(
        median < WOKEN_WITHIN,
        "{what}: median {median:?} of {delays:?}, as if nothing woke the reader"
    );
}

/// The descriptor this process holds open on `path`, if any.
fn fd_on(path: &Path) -> Option<i32> {
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok())
        .find(|e| fs::read_link(e.path()).is_ok_and(|link| link == target))
        .and_then(|e| e.file_name().to_str()?.parse().ok())
}

/// How far the descriptor this process holds on `path` has read.
fn read_position(path: &Path) -> Option<u64> {
    let info = fs::read_to_string(format!("/proc/self/fdinfo/{}", fd_on(path)?)).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("pos:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Wait (up to [`DEADLOCK`]) until `cond` holds.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + DEADLOCK;
    while !cond() {
        assert!(Instant::now() < deadline, "never: {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn file_lines_strip_newlines_and_keep_an_unterminated_last_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f.txt");
    fs::write(&path, "one\r\ntwo\n\nthree").expect("write");
    let src = call("for-line", &[text(&path_str(&path))]).expect("for-line");
    assert_eq!(src.kind_name(), "stream");
    assert_eq!(drain(&src), vec!["one", "two", "", "three"]);
    // After the end, the end again.
    assert!(next_text(&src).expect("read").is_none());
}

#[test]
fn missing_file_is_a_runtime_error_naming_the_path() {
    let err = call("for-line", &[text("no-such-dir/nothing.txt")]).expect_err("missing file");
    assert_eq!(err.code, codes::PANIC);
    assert!(
        err.message.contains("no-such-dir/nothing.txt"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("No such file or directory"),
        "{}",
        err.message
    );
}

#[test]
fn handle_abi_yields_lines_ready_and_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("abi.txt");
    fs::write(&path, "alpha\nbeta\n").expect("write");
    let src = call("for-line", &[text(&path_str(&path))]).expect("for-line");
    let h = src.raw();
    let mut ptr: *const u8 = std::ptr::null();
    let mut len: u64 = 0;
    let out_ptr = &mut ptr as *mut *const u8 as *mut u8;
    let out_len = &mut len as *mut u64 as *mut u8;
    let mut got = Vec::new();
    loop {
        // SAFETY: `src` keeps `h` alive; the out pointers are this frame's slots.
        match unsafe { ilo_source_next_line(h, out_ptr, out_len) } {
            1 => {
                // SAFETY: the source promises ptr/len describe its line until the next call.
                let line = unsafe { std::slice::from_raw_parts(ptr, len as usize) };
                got.push(String::from_utf8(line.to_vec()).expect("utf-8"));
                if got.len() == 1 {
                    // The whole small file came in one read: the next line is buffered.
                    // SAFETY: `src` keeps `h` alive.
                    assert_eq!(unsafe { ilo_source_ready(h) }, 1);
                }
            }
            0 => break,
            other => panic!("unexpected result {other}"),
        }
    }
    assert_eq!(got, vec!["alpha", "beta"]);
    // SAFETY: `src` keeps `h` alive.
    assert_eq!(unsafe { ilo_source_ready(h) }, 0);
    // A non-source handle is an error, not a crash.
    let not_src = Value::num(1.0);
    // SAFETY: `not_src` is a live number word; the out pointers are this frame's slots.
    let got = unsafe { ilo_source_next_line(not_src.raw(), out_ptr, out_len) };
    assert_eq!(got, -1);
}

#[test]
fn next_text_entry_point_returns_nil_at_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nt.txt");
    fs::write(&path, "x\n").expect("write");
    let src = call("for-line", &[text(&path_str(&path))]).expect("for-line");
    // SAFETY: `src` is live; results of the entry point are owned words.
    let first = unsafe { Value::from_raw(ilo_source_next_text(src.raw())) };
    assert_eq!(first.as_text(), Some("x"));
    // SAFETY: as above.
    let end = unsafe { Value::from_raw(ilo_source_next_text(src.raw())) };
    assert!(end.is_nil());
}

#[test]
fn closing_or_dropping_a_file_source_releases_its_descriptor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fd.txt");
    fs::write(&path, "a\nb\nc\n").expect("write");
    let src = call("for-line", &[text(&path_str(&path))]).expect("for-line");
    assert!(holds_fd_on(&path));
    assert_eq!(
        next_text(&src)
            .expect("read")
            .and_then(|v| v.as_text().map(String::from)),
        Some("a".into())
    );
    // SAFETY: `src` keeps its word alive.
    unsafe { ilo_source_close(src.raw()) };
    assert!(!holds_fd_on(&path), "close left the file open");
    assert!(
        next_text(&src).expect("read").is_none(),
        "reads after close end"
    );

    let src = call("for-line", &[text(&path_str(&path))]).expect("for-line");
    assert!(holds_fd_on(&path));
    drop(src);
    assert!(!holds_fd_on(&path), "drop left the file open");
}

#[test]
fn tail_yields_appended_lines_when_woken_and_holds_partial_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log");
    fs::write(&path, "old 1\nold 2\n").expect("write");
    let src = call("tail-file", &[text(&path_str(&path))]).expect("tail-file");
    let (tid, rx) = reader_thread(src);
    // Each line is appended once the reader has the previous one and is blocked.
    let mut delays = Vec::new();
    for i in 0..5 {
        wait_asleep(tid, DEADLOCK);
        let line = format!("new {i}");
        let sent = Instant::now();
        append(&path, format!("{line}\n").as_bytes());
        delays.push(expect_line(&rx, &line).saturating_duration_since(sent));
    }
    assert_woken("appended lines", delays);
    // A partial line waits for its newline: once the reader has read it and blocked
    // again, nothing was delivered; the rest of the line completes it.
    let end = fs::metadata(&path).expect("stat").len() + 4;
    append(&path, b"half");
    wait_until("the tail read the partial line", || {
        read_position(&path) == Some(end)
    });
    wait_asleep(tid, DEADLOCK);
    assert!(rx.try_recv().is_err(), "a partial line was delivered");
    append(&path, b" done\n");
    expect_line(&rx, "half done");
}

#[test]
fn tail_with_n_starts_with_the_last_n_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log");
    let body: String = (1..=100).map(|i| format!("l{i}\n")).collect();
    fs::write(&path, body).expect("write");
    let src = call("tail-file", &[text(&path_str(&path)), Value::num(3.0)]).expect("tail-file");
    let (_, rx) = reader_thread(src);
    for want in ["l98", "l99", "l100"] {
        expect_line(&rx, want);
    }
    append(&path, b"l101\n");
    expect_line(&rx, "l101");
}

#[test]
fn tail_survives_truncation_and_rotation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app.log");
    fs::write(&path, "before\n").expect("write");
    let src = call("tail-file", &[text(&path_str(&path))]).expect("tail-file");
    let (_, rx) = reader_thread(src);

    append(&path, b"first line that is fairly long\n");
    expect_line(&rx, "first line that is fairly long");

    // Truncation (copytruncate rotation): start again from the beginning, as soon
    // as it is seen.
    File::create(&path).expect("truncate");
    wait_until("the tail went back to the start", || {
        read_position(&path) == Some(0)
    });
    append(&path, b"after truncate\n");
    expect_line(&rx, "after truncate");

    // Rotation: the file is renamed away and a new one appears at the path, which
    // the tail opens as soon as it sees it.
    fs::rename(&path, dir.path().join("app.log.1")).expect("rename");
    fs::write(&path, "").expect("new file");
    wait_until("the tail opened the new file", || holds_fd_on(&path));
    append(&path, b"in the new file\n");
    expect_line(&rx, "in the new file");
}

#[test]
fn interrupting_a_blocked_tail_ends_it_when_fired_and_close_releases_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut delays = Vec::new();
    for round in 0..3 {
        let path = dir.path().join(format!("quiet-{round}.log"));
        fs::write(&path, "").expect("write");
        let src = call("tail-file", &[text(&path_str(&path))]).expect("tail-file");
        let interrupter = src
            .as_source()
            .expect("source")
            .lock()
            .expect("lock")
            .interrupter()
            .expect("tail sources can be interrupted");
        let reader_src = src.clone();
        let rx = blocked_reader(DEADLOCK, move || {
            next_text(&reader_src).map(|v| v.is_none())
        });
        let fired = Instant::now();
        interrupter.interrupt();
        let ended = rx.recv_timeout(DEADLOCK).expect("blocked read ended");
        delays.push(fired.elapsed());
        assert_eq!(ended, Ok(true), "an interrupted tail reports end");
        assert!(!holds_fd_on(&path), "the file was released");
    }
    assert_woken("interrupts", delays);
}

#[test]
fn tail_of_a_missing_file_is_an_error_and_negative_counts_are_refused() {
    let err = call("tail-file", &[text("no-such-dir/x.log")]).expect_err("missing");
    assert_eq!(err.code, codes::PANIC);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.log");
    fs::write(&path, "").expect("write");
    let err = call("tail-file", &[text(&path_str(&path)), Value::num(-1.0)]).expect_err("negative");
    assert_eq!(err.code, codes::DOMAIN);
}

/// Is `fd` readable right now?
fn readable(fd: std::os::fd::RawFd) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    unsafe { libc::poll(&mut pfd, 1, 0) == 1 }
}

/// The source's progress without blocking, with the line when there is one.
fn advance(src: &Value) -> (Progress, Option<String>) {
    let mut s = src.as_source().expect("a source").lock().expect("lock");
    let p = s.advance();
    let line = (p == Progress::Line).then(|| String::from_utf8_lossy(s.line()).into_owned());
    (p, line)
}

#[test]
fn a_file_source_never_pends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f");
    fs::write(&path, "a\nb").expect("write");
    let src = call("for-line", &[text(&path_str(&path))]).expect("for-line");
    let readiness = src
        .as_source()
        .expect("source")
        .lock()
        .expect("lock")
        .readiness();
    assert_eq!(readiness, Readiness::Always);
    assert_eq!(advance(&src), (Progress::Line, Some("a".into())));
    assert_eq!(advance(&src), (Progress::Line, Some("b".into())));
    assert_eq!(advance(&src).0, Progress::End);
    assert_eq!(advance(&src).0, Progress::End);
}

#[test]
fn a_quiet_tail_is_pending_on_a_descriptor_that_an_append_makes_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("log");
    fs::write(&path, "old\n").expect("write");
    let src = call("tail-file", &[text(&path_str(&path))]).expect("tail-file");
    assert_eq!(advance(&src).0, Progress::Pending);
    let readiness = src
        .as_source()
        .expect("source")
        .lock()
        .expect("lock")
        .readiness();
    let Readiness::Fd(fd) = readiness else {
        panic!("a tail waits on a descriptor, got {readiness:?}");
    };
    assert!(!readable(fd), "nothing happened yet");
    append(&path, b"new\n");
    let deadline = Instant::now() + PATIENCE;
    while !readable(fd) {
        assert!(
            Instant::now() < deadline,
            "the append never made it readable"
        );
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(advance(&src), (Progress::Line, Some("new".into())));
    assert_eq!(advance(&src).0, Progress::Pending);
    assert!(!readable(fd), "read events are discarded once acted on");
    // SAFETY: `src` keeps its word alive.
    unsafe { ilo_source_close(src.raw()) };
    assert_eq!(advance(&src).0, Progress::End);
}
