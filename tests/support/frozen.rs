//! Holding one thread of a server under test still, and only that one, so a test can
//! put bytes into a socket that the server surely has not read yet.
//!
//! A handler that blocks its loop's thread is no such hold: the server replaces a
//! thread stuck in a handler within milliseconds, and the replacement reads the
//! socket. A thread stopped with ptrace (`PTRACE_SEIZE` + `PTRACE_INTERRUPT`) is
//! stopped alone: the process's other threads, its signal handling and its monitor go
//! on, and the monitor does not replace a loop that is not inside a handler. The test
//! is the server's parent, which ptrace allows without extra privilege.

#![allow(dead_code)] // each test file uses a different part of this module

use std::time::{Duration, Instant};

/// A thread stopped by this test thread; dropping it lets the thread go on.
pub struct Frozen {
    tid: libc::pid_t,
}

impl Frozen {
    /// Stop the thread of process `pid` named `name` while it waits for events in
    /// `epoll_pwait`, where it holds no lock another thread may need. A thread caught
    /// anywhere else is let go and caught again (bounded); so is one that is being
    /// replaced (on a loaded machine a loop thread slow in a handler may be).
    pub fn waiting(pid: u32, name: &str) -> Frozen {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let [tid] = threads_named(pid, name)[..] {
                if let Some(frozen) = Frozen::stop(tid) {
                    if in_syscall(pid, tid) == Some(libc::SYS_epoll_pwait) {
                        return frozen;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "thread {name} never seen alone and waiting in epoll_pwait"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Stop thread `tid`; `None` if it is gone.
    fn stop(tid: libc::pid_t) -> Option<Frozen> {
        let none = std::ptr::null_mut::<libc::c_void>();
        let gone = || std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        // SAFETY: ptrace(2) requests on a thread of our own child; no memory is passed.
        if unsafe { libc::ptrace(libc::PTRACE_SEIZE, tid, none, none) } != 0 {
            assert!(
                gone(),
                "PTRACE_SEIZE {tid}: {}",
                std::io::Error::last_os_error()
            );
            return None;
        }
        let frozen = Frozen { tid };
        // SAFETY: as above.
        if unsafe { libc::ptrace(libc::PTRACE_INTERRUPT, tid, none, none) } != 0 {
            assert!(
                gone(),
                "PTRACE_INTERRUPT {tid}: {}",
                std::io::Error::last_os_error()
            );
            return None;
        }
        let mut status = 0;
        // SAFETY: waitpid(2) for the thread this test thread traces, into a local.
        let waited = unsafe { libc::waitpid(tid, &mut status, libc::__WALL) };
        (waited == tid && libc::WIFSTOPPED(status)).then_some(frozen)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let none = std::ptr::null_mut::<libc::c_void>();
        // SAFETY: detaching a thread this test thread traces; no memory is passed.
        unsafe {
            libc::ptrace(libc::PTRACE_DETACH, self.tid, none, none);
        }
    }
}

/// The ids of the threads of `pid` named `name`.
fn threads_named(pid: u32, name: &str) -> Vec<libc::pid_t> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| {
            let t = t.ok()?;
            let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
            (comm.trim_end() == name).then(|| t.file_name().to_str()?.parse().ok())?
        })
        .collect()
}

/// The system call a stopped thread is in (`/proc/PID/task/TID/syscall`), if any.
fn in_syscall(pid: u32, tid: libc::pid_t) -> Option<libc::c_long> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}
