//! Reading a blocking-only source without blocking the caller.
//!
//! A source that reports [`Readiness::Blocking`] (one written against the blocking
//! half of [`LineSource`] only), or one whose descriptor cannot be watched, is wrapped
//! in a [`Pumped`]. Lines the source reports `ready` are taken in place, as a blocking
//! reader would; only when the next line is not ready does a helper thread (started on
//! first need, one per pumped source) make the blocking `next_line` call and signal the
//! result through a [`Notify`] descriptor, which is the pumped source's readiness. The
//! built-in sources never need this; it keeps any other source working with the
//! server's event loops, at the cost of one thread while it streams.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;

use super::notify::Notify;
use super::{block_on, LineSource, Progress, Readiness};
use crate::value::Value;

/// What the helper thread was asked and what it answered.
#[derive(Default)]
struct Exchange {
    /// A blocking read was asked for and has not been answered.
    asked: bool,
    answer: Option<Result<Option<Vec<u8>>, String>>,
    /// The pumped source is gone: the helper stops after its current read.
    stop: bool,
}

struct Shared {
    exchange: Mutex<Exchange>,
    asked: Condvar,
    answered: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Exchange> {
        self.exchange.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct Pumped {
    /// The source value (shared with the helper thread).
    source: Value,
    shared: Arc<Shared>,
    helper_started: bool,
    line: Vec<u8>,
    ended: bool,
}

impl Pumped {
    /// Wrap a source value. `None` when no wake-up descriptor can be made.
    pub fn new(source: Value) -> Option<Pumped> {
        Some(Pumped {
            source,
            shared: Arc::new(Shared {
                exchange: Mutex::new(Exchange::default()),
                asked: Condvar::new(),
                answered: Notify::new().ok()?,
            }),
            helper_started: false,
            line: Vec::new(),
            ended: false,
        })
    }

    fn answer(&mut self, answer: Result<Option<&[u8]>, String>) -> Progress {
        match answer {
            Ok(Some(line)) => {
                self.line.clear();
                self.line.extend_from_slice(line);
                Progress::Line
            }
            Ok(None) => {
                self.ended = true;
                Progress::End
            }
            Err(message) => {
                self.ended = true;
                Progress::Failed(message)
            }
        }
    }

    /// Ask the helper for the next line, starting it if needed.
    fn ask(&mut self) -> Progress {
        if !self.helper_started {
            let shared = Arc::clone(&self.shared);
            let source = self.source.clone();
            let started = thread::Builder::new()
                .name("ilo-pump".to_string())
                .stack_size(256 * 1024)
                .spawn(move || helper(shared, source));
            if let Err(e) = started {
                self.ended = true;
                return Progress::Failed(format!("cannot start a reader thread: {e}"));
            }
            self.helper_started = true;
        }
        self.shared.lock().asked = true;
        self.shared.asked.notify_one();
        Progress::Pending
    }
}

fn helper(shared: Arc<Shared>, source: Value) {
    loop {
        {
            let mut ex = shared.lock();
            while !ex.asked && !ex.stop {
                ex = shared.asked.wait(ex).unwrap_or_else(|p| p.into_inner());
            }
            if ex.stop {
                break;
            }
        }
        let answer = match source.as_source().map(|m| m.lock()) {
            Some(Ok(mut src)) => src.next_line().map(|l| l.map(<[u8]>::to_vec)),
            _ => Err("line source poisoned by an earlier panic".to_string()),
        };
        let mut ex = shared.lock();
        ex.asked = false;
        ex.answer = Some(answer);
        shared.answered.signal();
        if ex.stop {
            break;
        }
    }
    // The stream let go while we were reading: release the source if nobody else has it.
    if source.is_unique() {
        if let Some(Ok(mut src)) = source.as_source().map(|m| m.lock()) {
            src.close();
        }
    }
}

impl LineSource for Pumped {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        block_on(self)
    }

    fn ready(&self) -> bool {
        self.shared.lock().answer.is_some()
    }

    fn close(&mut self) {
        self.ended = true;
        self.shared.lock().stop = true;
        self.shared.asked.notify_one();
    }

    fn readiness(&self) -> Readiness {
        if self.ended {
            Readiness::Always
        } else {
            Readiness::Fd(self.shared.answered.raw_fd())
        }
    }

    fn advance(&mut self) -> Progress {
        if self.ended {
            return Progress::End;
        }
        self.shared.answered.reset();
        let (asked, answer) = {
            let mut ex = self.shared.lock();
            (ex.asked, ex.answer.take())
        };
        if let Some(answer) = answer {
            return self.answer(answer.as_ref().map(|l| l.as_deref()).map_err(String::clone));
        }
        if asked {
            return Progress::Pending;
        }
        // Nothing asked: a line already buffered is taken here, without the helper.
        let source = self.source.clone();
        let Some(cell) = source.as_source() else {
            return self.answer(Ok(None));
        };
        let in_place = match cell.try_lock() {
            Ok(mut src) if src.ready() => Some(src.next_line().map(|l| l.map(<[u8]>::to_vec))),
            _ => None,
        };
        match in_place {
            Some(answer) => {
                self.answer(answer.as_ref().map(|l| l.as_deref()).map_err(String::clone))
            }
            None => self.ask(),
        }
    }

    fn line(&self) -> &[u8] {
        &self.line
    }
}

impl Drop for Pumped {
    fn drop(&mut self) {
        self.close();
    }
}
