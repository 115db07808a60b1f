//! `for-line "stdin"`: handles on the process's one shared stdin reader.
//!
//! Every handle reads from the same buffer, so when the server streams stdin to several
//! responses each line goes to exactly one of them. Bytes are read straight from file
//! descriptor 0 (not through std's buffered stdin, whose buffer `poll` cannot see).
//! A waiting handle does not hold the shared lock while it waits for input, and checks
//! its interrupter every [`WAIT_SLICE_MS`], so closing one handle never blocks on another.

use std::io::{self, Read};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use super::buffer::LineBuffer;
use super::{Interrupter, LineSource};

/// How long one wait for input lasts before the handle looks at its interrupter again.
const WAIT_SLICE_MS: i32 = 50;

struct Shared {
    buf: LineBuffer,
    at_end: bool,
}

fn shared() -> Arc<Mutex<Shared>> {
    static STDIN: OnceLock<Arc<Mutex<Shared>>> = OnceLock::new();
    STDIN
        .get_or_init(|| {
            Arc::new(Mutex::new(Shared {
                buf: LineBuffer::new(),
                at_end: false,
            }))
        })
        .clone()
}

fn lock(s: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// Raw reads from file descriptor 0.
struct Fd0;

impl Read for Fd0 {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: fd 0 is owned by the process for its lifetime; `buf` is valid for
        // writes of `buf.len()` bytes.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

/// Wait up to `timeout_ms` for fd 0 to be readable (or at end, or in error).
fn stdin_readable(timeout_ms: i32) -> bool {
    let mut fds = [libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: `fds` is a valid array of one pollfd for the duration of the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout_ms) };
    n > 0 && fds[0].revents != 0
}

pub struct StdinSource {
    shared: Option<Arc<Mutex<Shared>>>,
    /// This handle's copy of its latest line (the shared buffer moves on).
    line: Vec<u8>,
    interrupter: Interrupter,
}

impl StdinSource {
    pub fn new() -> StdinSource {
        StdinSource {
            shared: Some(shared()),
            line: Vec::new(),
            // Waits are sliced, so setting the flag is enough to end one.
            interrupter: Interrupter::new(|| {}),
        }
    }
}

impl Default for StdinSource {
    fn default() -> StdinSource {
        StdinSource::new()
    }
}

impl LineSource for StdinSource {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        let Some(shared) = self.shared.clone() else {
            return Ok(None);
        };
        loop {
            if self.interrupter.fired() {
                self.close();
                return Ok(None);
            }
            {
                let mut s = lock(&shared);
                let at_end = s.at_end;
                let line = if s.buf.has_line() {
                    s.buf.take_line()
                } else if s.at_end {
                    s.buf.take_rest()
                } else if stdin_readable(0) {
                    // Readable now, checked under the lock: this read will not block.
                    match s.buf.fill(&mut Fd0) {
                        Ok(0) => s.at_end = true,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            s.at_end = true;
                            return Err(format!("stdin read error: {e}"));
                        }
                    }
                    continue;
                } else {
                    None
                };
                match line {
                    Some(l) => {
                        self.line.clear();
                        self.line.extend_from_slice(l);
                        return Ok(Some(&self.line));
                    }
                    None if at_end => return Ok(None),
                    None => {}
                }
            }
            stdin_readable(WAIT_SLICE_MS);
        }
    }

    fn ready(&self) -> bool {
        match &self.shared {
            Some(shared) => match shared.try_lock() {
                Ok(s) => s.buf.has_line(),
                Err(_) => false,
            },
            None => false,
        }
    }

    fn close(&mut self) {
        // Stdin itself stays open for the process's other handles.
        self.shared = None;
        self.line = Vec::new();
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(self.interrupter.clone())
    }
}
