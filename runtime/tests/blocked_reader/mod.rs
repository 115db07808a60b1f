//! Shared by the tests that interrupt a blocked read: run the read on its own thread
//! and wait until that thread is asleep in the kernel, so the interrupt provably
//! arrives while the read blocks rather than after a guessed pause.

use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

/// Start `read` on a new thread; return once the thread sleeps, with a receiver for
/// what `read` returns. Panics when the thread does not block within `patience`.
pub fn blocked_reader<T: Send + 'static>(
    patience: Duration,
    read: impl FnOnce() -> T + Send + 'static,
) -> Receiver<T> {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        // SAFETY: gettid(2) takes no arguments and cannot fail.
        let tid = unsafe { libc::gettid() };
        let _ = tid_tx.send(tid);
        let _ = tx.send(read());
    });
    let tid = tid_rx.recv_timeout(patience).expect("reader thread started");
    let deadline = Instant::now() + patience;
    while !asleep(tid) {
        assert!(Instant::now() < deadline, "the read never blocked");
        thread::sleep(Duration::from_millis(2));
    }
    rx
}

/// Is thread `tid` of this process in an interruptible sleep (state `S`)?
fn asleep(tid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
        return false;
    };
    // The state follows the parenthesised command name, which may itself hold spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        == Some("S")
}
