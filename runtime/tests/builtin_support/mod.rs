//! Shared by the runtime tests that drive builtins directly: calling a builtin by
//! name, and running a read on its own thread until it blocks, so that an interrupt
//! provably arrives while the read blocks rather than after a guessed pause.

#![allow(dead_code)] // each test crate uses a different part

use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use ilo_runtime::{builtins, RtResult, Value};

/// How long a test waits for something that should take milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(5);
/// How long a lockstep test (the next line is made available only once the previous
/// one arrived) waits for a line or for its reader to block. Only a source that holds
/// lines back runs out of it, since it deadlocks; nothing is measured against it, so
/// it is generous for a loaded machine.
pub const DEADLOCK: Duration = Duration::from_secs(30);

/// Call library builtin `name` as compiled code would, through its table id.
pub fn call(name: &str, args: &[Value]) -> RtResult {
    let id = builtins::lookup(name).unwrap_or_else(|| panic!("no builtin {name}"));
    builtins::call(id, args)
}

pub fn text(s: &str) -> Value {
    Value::text(s)
}

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
    let tid = tid_rx
        .recv_timeout(patience)
        .expect("reader thread started");
    wait_asleep(tid, patience);
    rx
}

/// Return once thread `tid` of this process sleeps (blocked in a read or a wait);
/// panics when it does not within `patience`.
pub fn wait_asleep(tid: libc::pid_t, patience: Duration) {
    let deadline = Instant::now() + patience;
    while !asleep(tid) {
        assert!(Instant::now() < deadline, "the thread never blocked");
        thread::sleep(Duration::from_millis(2));
    }
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
