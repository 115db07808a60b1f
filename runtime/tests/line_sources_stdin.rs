//! `for-line "stdin"` with a slow producer, and stdin shared by several handles. (A test
//! binary of its own: it replaces the process's file descriptor 0 with a pipe.)

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::mpsc;
use std::thread;

mod builtin_support;

use builtin_support::{call, text, wait_asleep, DEADLOCK, PATIENCE};
use ilo_runtime::line_source::next_text;
use ilo_runtime::Value;

fn for_line_stdin() -> Value {
    call("for-line", &[text("stdin")]).expect("stdin source")
}

/// Make fd 0 the read end of a new pipe; return its write end.
fn pipe_into_stdin() -> File {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: both descriptors were just created; fd 0 is replaced atomically by dup2.
    unsafe {
        assert_eq!(libc::dup2(fds[0], 0), 0, "dup2");
        libc::close(fds[0]);
        File::from_raw_fd(fds[1])
    }
}

/// Read `src` to its end on a thread of its own: that thread's id, and its lines.
fn reader(src: Value) -> (libc::pid_t, mpsc::Receiver<String>) {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        // SAFETY: gettid(2) takes no arguments and cannot fail.
        let _ = tid_tx.send(unsafe { libc::gettid() });
        while let Ok(Some(line)) = next_text(&src) {
            let _ = tx.send(line.as_text().unwrap_or_default().to_string());
        }
    });
    let tid = tid_rx
        .recv_timeout(PATIENCE)
        .expect("reader thread started");
    (tid, rx)
}

#[test]
fn stdin_lines_arrive_as_written_and_each_goes_to_one_handle() {
    let mut producer = pipe_into_stdin();
    assert!(producer.as_raw_fd() > 0);

    // A slow producer, in lockstep with the consumer: each line is written only once
    // the consumer has the one before and is blocked waiting for the next. A source
    // that held lines back (for a fuller buffer, or for the end of input) would never
    // hand this one over, since no more input comes until it does.
    let (tid, rx) = reader(for_line_stdin());
    for i in 0..4 {
        wait_asleep(tid, DEADLOCK);
        producer
            .write_all(format!("slow {i}\n").as_bytes())
            .expect("write");
        let line = rx
            .recv_timeout(DEADLOCK)
            .unwrap_or_else(|e| panic!("line {i} not delivered while the producer waits: {e}"));
        assert_eq!(line, format!("slow {i}"));
    }

    // Two more handles share the same stdin: every line is seen exactly once overall.
    let (_, rx2) = reader(for_line_stdin());
    let (_, rx3) = reader(for_line_stdin());
    let total = 3000;
    for i in 0..total {
        producer
            .write_all(format!("shared {i}\n").as_bytes())
            .expect("write");
    }
    drop(producer); // end of input: every handle ends
    let mut seen: Vec<String> = Vec::new();
    for rx in [&rx, &rx2, &rx3] {
        while let Ok(line) = rx.recv_timeout(DEADLOCK) {
            seen.push(line);
        }
    }
    seen.sort_by_key(|l| {
        l.trim_start_matches("shared ")
            .parse::<u32>()
            .unwrap_or(u32::MAX)
    });
    let want: Vec<String> = (0..total).map(|i| format!("shared {i}")).collect();
    assert_eq!(seen, want);
}
