//! `for-line "stdin"` with a slow producer, and stdin shared by several handles. (A test
//! binary of its own: it replaces the process's file descriptor 0 with a pipe.)

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

mod builtin_support;

use builtin_support::{call, text, PATIENCE, PROMPT};
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

fn reader(src: Value) -> mpsc::Receiver<(String, Instant)> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        while let Ok(Some(line)) = next_text(&src) {
            let _ = tx.send((
                line.as_text().unwrap_or_default().to_string(),
                Instant::now(),
            ));
        }
    });
    rx
}

#[test]
fn stdin_lines_arrive_promptly_and_each_goes_to_one_handle() {
    let mut producer = pipe_into_stdin();
    assert!(producer.as_raw_fd() > 0);

    // A slow producer: each line reaches the consumer within 100 ms.
    let rx = reader(for_line_stdin());
    for i in 0..4 {
        thread::sleep(Duration::from_millis(120));
        let sent = Instant::now();
        producer
            .write_all(format!("slow {i}\n").as_bytes())
            .expect("write");
        let (line, at) = rx.recv_timeout(PATIENCE).expect("line");
        assert_eq!(line, format!("slow {i}"));
        let delay = at.saturating_duration_since(sent);
        assert!(delay < PROMPT, "took {delay:?}");
    }

    // Two more handles share the same stdin: every line is seen exactly once overall.
    let rx2 = reader(for_line_stdin());
    let rx3 = reader(for_line_stdin());
    let total = 3000;
    for i in 0..total {
        producer
            .write_all(format!("shared {i}\n").as_bytes())
            .expect("write");
    }
    drop(producer); // end of input: every handle ends
    let mut seen: Vec<String> = Vec::new();
    for rx in [&rx, &rx2, &rx3] {
        while let Ok((line, _)) = rx.recv_timeout(PATIENCE) {
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
