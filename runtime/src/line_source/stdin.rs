//! `for-line "stdin"`: subscribers of the process's one stdin hub.
//!
//! Standard input is read by one thread (started by the first subscriber), which
//! splits it into lines and deals them out in turn to the subscribers that have room,
//! so with several responses streaming stdin each line goes to exactly one of them and
//! each gets its share, within one line. A subscriber holds at most [`INBOX_BYTES`]
//! of undelivered lines; when every one is full the hub stops reading, so a fast
//! producer cannot fill the server's memory. Each subscriber has its own wake-up
//! descriptor ([`Notify`]), signalled when its inbox stops being empty: that is its
//! [`Readiness`], so the server waits for stdin on its event loops like for any
//! socket. A subscriber that closes gives its undelivered lines back, to be dealt to
//! the others first. Bytes are read straight from file descriptor 0 (not through std's
//! buffered stdin, which would keep bytes nobody can see).

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;

use super::buffer::LineBuffer;
use super::notify::Notify;
use super::{block_on, Interrupter, LineSource, Progress, Readiness};

/// Undelivered bytes a subscriber may hold before the hub passes it over.
const INBOX_BYTES: usize = 64 * 1024;

struct Subscriber {
    id: u64,
    lines: VecDeque<Vec<u8>>,
    bytes: usize,
    wake: Arc<Notify>,
    /// An end-of-input error not yet reported to this subscriber.
    error: Option<String>,
}

impl Subscriber {
    fn has_room(&self) -> bool {
        self.bytes < INBOX_BYTES
    }
}

#[derive(Default)]
struct State {
    subscribers: Vec<Subscriber>,
    /// Index in `subscribers` of the next one to be dealt a line.
    turn: usize,
    /// Lines read but not dealt yet (nobody had room, or given back on close).
    undealt: VecDeque<Vec<u8>>,
    at_end: bool,
    reader_started: bool,
}

impl State {
    /// Deal undealt lines in turn to subscribers with room.
    fn deal(&mut self) {
        while !self.undealt.is_empty() && !self.subscribers.is_empty() {
            let n = self.subscribers.len();
            let Some(i) = (0..n)
                .map(|k| (self.turn + k) % n)
                .find(|&i| self.subscribers[i].has_room())
            else {
                return;
            };
            let Some(line) = self.undealt.pop_front() else {
                return;
            };
            let sub = &mut self.subscribers[i];
            sub.bytes += line.len() + 1;
            sub.lines.push_back(line);
            if sub.lines.len() == 1 {
                sub.wake.signal();
            }
            self.turn = (i + 1) % n;
        }
    }

    /// The reader should read: all is dealt and someone has room.
    fn wants_input(&self) -> bool {
        !self.at_end && self.undealt.is_empty() && self.subscribers.iter().any(|s| s.has_room())
    }

    fn subscriber(&mut self, id: u64) -> Option<&mut Subscriber> {
        self.subscribers.iter_mut().find(|s| s.id == id)
    }
}

struct Hub {
    state: Mutex<State>,
    /// Wakes the reader when input is wanted again.
    wanted: Condvar,
}

fn hub() -> Arc<Hub> {
    static HUB: OnceLock<Arc<Hub>> = OnceLock::new();
    HUB.get_or_init(|| {
        Arc::new(Hub {
            state: Mutex::new(State::default()),
            wanted: Condvar::new(),
        })
    })
    .clone()
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn subscribe(self: &Arc<Self>, id: u64, wake: Arc<Notify>) {
        let mut s = self.lock();
        s.subscribers.push(Subscriber {
            id,
            lines: VecDeque::new(),
            bytes: 0,
            wake: Arc::clone(&wake),
            error: None,
        });
        if s.at_end {
            wake.signal();
        }
        if !s.reader_started {
            let hub = Arc::clone(self);
            let started = thread::Builder::new()
                .name("ilo-stdin".to_string())
                .stack_size(64 * 1024)
                .spawn(move || hub.read_input());
            s.reader_started = true;
            if started.is_err() {
                s.at_end = true;
                wake.signal();
            }
        }
        s.deal();
        self.wanted.notify_one();
    }

    fn unsubscribe(&self, id: u64) {
        let mut s = self.lock();
        let Some(i) = s.subscribers.iter().position(|sub| sub.id == id) else {
            return;
        };
        let sub = s.subscribers.remove(i);
        if s.turn > i {
            s.turn -= 1;
        }
        if s.turn >= s.subscribers.len() {
            s.turn = 0;
        }
        // Its lines were never delivered: they go first, in their order.
        for line in sub.lines.into_iter().rev() {
            s.undealt.push_front(line);
        }
        s.deal();
    }

    /// The reader thread: read while someone wants input, deal, until end of input.
    fn read_input(self: Arc<Self>) {
        let mut buf = LineBuffer::new();
        loop {
            {
                let mut s = self.lock();
                while !s.wants_input() {
                    s = self.wanted.wait(s).unwrap_or_else(|p| p.into_inner());
                }
            }
            let read = buf.fill(&mut Fd0);
            let mut s = self.lock();
            match read {
                Ok(0) => {
                    if let Some(rest) = buf.take_rest() {
                        s.undealt.push_back(rest.to_vec());
                    }
                    s.at_end = true;
                }
                Ok(_) => {
                    while let Some(line) = buf.take_line() {
                        s.undealt.push_back(line.to_vec());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let message = format!("stdin read error: {e}");
                    s.subscribers
                        .iter_mut()
                        .for_each(|sub| sub.error = Some(message.clone()));
                    s.at_end = true;
                }
            }
            s.deal();
            if s.at_end {
                // Whoever has nothing left to read must look again and see the end.
                s.subscribers.iter().for_each(|sub| sub.wake.signal());
                return;
            }
        }
    }
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

pub struct StdinSource {
    /// `None` once closed (or when no wake-up descriptor could be made).
    hub: Option<Arc<Hub>>,
    id: u64,
    wake: Option<Arc<Notify>>,
    /// This subscriber's latest line.
    line: Vec<u8>,
    interrupter: Interrupter,
}

impl StdinSource {
    pub fn new() -> StdinSource {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let wake = Notify::new().ok().map(Arc::new);
        let hub = wake.as_ref().map(|w| {
            let hub = hub();
            hub.subscribe(id, Arc::clone(w));
            hub
        });
        let for_interrupter = wake.clone();
        StdinSource {
            hub,
            id,
            wake,
            line: Vec::new(),
            interrupter: Interrupter::new(move || {
                if let Some(w) = &for_interrupter {
                    w.signal();
                }
            }),
        }
    }

    /// Take this subscriber's next line, if it has one (or its pending error / end).
    fn take(&mut self, hub: &Hub) -> Option<Progress> {
        let mut s = hub.lock();
        let at_end = s.at_end;
        let sub = s.subscriber(self.id)?;
        if let Some(line) = sub.lines.pop_front() {
            let was_full = !sub.has_room();
            sub.bytes -= line.len() + 1;
            self.line = line;
            if was_full {
                s.deal();
                hub.wanted.notify_one();
            }
            return Some(Progress::Line);
        }
        if let Some(message) = sub.error.take() {
            return Some(Progress::Failed(message));
        }
        (at_end && s.undealt.is_empty()).then_some(Progress::End)
    }
}

impl Default for StdinSource {
    fn default() -> StdinSource {
        StdinSource::new()
    }
}

impl LineSource for StdinSource {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        block_on(self)
    }

    fn ready(&self) -> bool {
        let Some(hub) = &self.hub else {
            return false;
        };
        let Ok(mut s) = hub.state.try_lock() else {
            return false;
        };
        s.subscriber(self.id)
            .is_some_and(|sub| !sub.lines.is_empty())
    }

    fn close(&mut self) {
        // Stdin itself stays open for the process's other subscribers.
        if let Some(hub) = self.hub.take() {
            hub.unsubscribe(self.id);
        }
        self.line = Vec::new();
    }

    fn interrupter(&self) -> Option<Interrupter> {
        Some(self.interrupter.clone())
    }

    fn readiness(&self) -> Readiness {
        match (&self.hub, &self.wake) {
            (Some(_), Some(wake)) => Readiness::Fd(wake.raw_fd()),
            _ => Readiness::Always,
        }
    }

    fn advance(&mut self) -> Progress {
        if self.interrupter.fired() {
            self.close();
        }
        let Some(hub) = self.hub.clone() else {
            return Progress::End;
        };
        let progress = match self.take(&hub) {
            Some(progress) => progress,
            None => {
                // Clear the wake-up before looking again, so a line dealt after the
                // look still wakes us.
                if let Some(wake) = &self.wake {
                    wake.reset();
                }
                self.take(&hub).unwrap_or(Progress::Pending)
            }
        };
        if matches!(progress, Progress::Failed(_)) {
            self.close();
        }
        progress
    }

    fn line(&self) -> &[u8] {
        &self.line
    }
}

impl Drop for StdinSource {
    fn drop(&mut self) {
        self.close();
    }
}
