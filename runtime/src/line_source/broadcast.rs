//! Broadcast: one upstream source, many subscribers (`bcast NAME OPEN`).
//!
//! A hub is known by its name, process-wide. The first subscriber of a name opens the
//! upstream (the handler's `OPEN` function is called then, and only then), and a
//! thread of the hub's own reads it and copies each line, by reference, into every
//! subscriber's inbox. A subscriber is a line source told when its inbox stops being
//! empty: through the [`Waker`] its response's event loop gave it (the loop then
//! drives every subscriber woken by the same line in one pass), or else through a
//! wake-up descriptor of its own ([`Notify`]). Thousands of subscribers cost no
//! thread each and a quiet feed no wake-up at all.
//!
//! **Slow subscribers.** An inbox holds at most [`INBOX_LINES`] lines. A subscriber
//! that falls that far behind is disconnected, not waited for: its inbox is emptied
//! and its next read fails with a message saying so (a response body is then cut
//! without its final chunk, and the log says why). The others never wait for it; a
//! client is never silently given a stream with lines missing.
//!
//! **Lifetime.** When the last subscriber leaves, the hub closes the upstream (its
//! connection, file or watcher) and forgets the name; the next subscriber opens it
//! again. When the upstream ends, each subscriber ends after the lines it still has
//! (or fails, if the upstream failed), and the name is free again too.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread;

use super::notify::Notify;
use super::transform::with_source;
use super::wake::WakeBatch;
use super::{block_on, Interrupter, LineSource, Progress, Readiness, Waker};
use crate::value::Value;

/// Lines a subscriber may be behind before it is disconnected.
pub const INBOX_LINES: usize = 4096;

/// Stack of a hub's reading thread: the upstream may be a transform running compiled
/// code.
const HUB_STACK: usize = 2 * 1024 * 1024;

type Line = Arc<[u8]>;

#[derive(Default)]
struct InboxState {
    lines: VecDeque<Line>,
    /// Fell behind: emptied, and told at its next read.
    overflowed: bool,
    /// How the upstream ended (`Err` with its failure), once it has.
    ended: Option<Result<(), String>>,
    /// Called instead of signalling `wake`, once the subscriber's stream gave one.
    waker: Option<Waker>,
}

impl InboxState {
    /// Tell the subscriber it has something to read.
    fn notify(&self, wake: &Notify) {
        match &self.waker {
            Some(waker) => waker.wake(),
            None => wake.signal(),
        }
    }

    /// The same, with a waker's mark left in `batch` for after the hub's pass.
    fn notify_later(&self, wake: &Notify, batch: &mut WakeBatch) {
        match &self.waker {
            Some(waker) => batch.add(waker),
            None => wake.signal(),
        }
    }
}

/// One subscriber's queue, shared by the hub (which fills it) and the subscriber.
struct Inbox {
    state: Mutex<InboxState>,
    wake: Notify,
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, InboxState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue a line, or mark the inbox overflowed when it is full; a subscriber
    /// woken through its loop is woken when `batch` is flushed.
    fn deliver(&self, line: &Line, batch: &mut WakeBatch) {
        let mut s = self.lock();
        if s.overflowed {
            return;
        }
        if s.lines.len() >= INBOX_LINES {
            s.lines = VecDeque::new();
            s.overflowed = true;
            s.notify_later(&self.wake, batch);
            return;
        }
        s.lines.push_back(Arc::clone(line));
        if s.lines.len() == 1 {
            s.notify_later(&self.wake, batch);
        }
    }

    fn end(&self, how: Result<(), String>) {
        let mut s = self.lock();
        s.ended = Some(how);
        s.notify(&self.wake);
    }
}

struct Hub {
    name: String,
    subscribers: Mutex<Vec<Arc<Inbox>>>,
    /// Ends a read of the upstream blocked in the hub's thread (set once it is open).
    interrupter: OnceLock<Interrupter>,
}

impl Hub {
    fn subscribers(&self) -> MutexGuard<'_, Vec<Arc<Inbox>>> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The hub's thread: read the upstream, deal each line to every inbox, then wake
    /// the loops of every subscriber it reached (see [`WakeBatch`]).
    fn run(self: Arc<Hub>, upstream: Value) {
        let mut line = Vec::new();
        let mut woken = WakeBatch::default();
        let ended = loop {
            let got = with_source(&upstream, Ok(None), |src| {
                block_on(src).map(|l| {
                    l.map(|l| {
                        line.clear();
                        line.extend_from_slice(l);
                    })
                })
            });
            let shared: Line = match got {
                Ok(Some(())) => Arc::from(line.as_slice()),
                Ok(None) => break Ok(()),
                Err(message) => break Err(message),
            };
            let subscribers = self.subscribers();
            if subscribers.is_empty() {
                // The last one left while we read: nobody to tell.
                break Ok(());
            }
            for inbox in subscribers.iter() {
                inbox.deliver(&shared, &mut woken);
            }
            drop(subscribers);
            woken.flush();
        };
        with_source(&upstream, (), |src| src.close());
        forget(&self);
        for inbox in self.subscribers().iter() {
            inbox.end(ended.clone());
        }
    }
}

/// The hubs by name.
fn hubs() -> MutexGuard<'static, HashMap<String, Arc<Hub>>> {
    static HUBS: OnceLock<Mutex<HashMap<String, Arc<Hub>>>> = OnceLock::new();
    HUBS.get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Free the name of `hub` (if it is still this hub's).
fn forget(hub: &Arc<Hub>) {
    let mut hubs = hubs();
    if hubs.get(&hub.name).is_some_and(|h| Arc::ptr_eq(h, hub)) {
        hubs.remove(&hub.name);
    }
}

/// Subscribe to the hub `name`, opening its upstream with `open` if it has none. The
/// upstream must be a source value; `open` runs at most once per hub.
///
/// The registry is locked only to find or name the hub, never while `open` runs (a
/// slow upstream connect must not hold up every other hub's subscribers). The first
/// subscriber names a hub that has no upstream yet and opens it; subscribers that
/// arrive meanwhile join that hub and simply have no lines until it is open. If
/// opening fails, the first subscriber gets the error and the others' streams fail
/// with it.
pub fn subscribe(
    name: &str,
    open: impl FnOnce() -> Result<Value, String>,
) -> Result<BroadcastSource, String> {
    let inbox = Arc::new(Inbox {
        state: Mutex::default(),
        wake: Notify::new().map_err(|e| format!("broadcast '{name}': {e}"))?,
    });
    let (hub, opener) = {
        let mut registry = hubs();
        let (hub, opener) = match registry.get(name) {
            Some(hub) => (Arc::clone(hub), false),
            None => {
                let hub = Arc::new(Hub {
                    name: name.to_string(),
                    subscribers: Mutex::default(),
                    interrupter: OnceLock::new(),
                });
                registry.insert(name.to_string(), Arc::clone(&hub));
                (hub, true)
            }
        };
        // Under the registry lock, as in `close`: a hub found here is still named.
        hub.subscribers().push(Arc::clone(&inbox));
        (hub, opener)
    };
    if opener {
        if let Err(message) = start(&hub, open) {
            forget(&hub);
            hub.subscribers()
                .retain(|other| !Arc::ptr_eq(other, &inbox));
            for other in hub.subscribers().drain(..) {
                other.end(Err(message.clone()));
            }
            return Err(message);
        }
    }
    Ok(BroadcastSource {
        hub: Some(hub),
        inbox,
        line: Arc::from(&[][..]),
        woken: false,
    })
}

/// Open the upstream of a new hub and start the thread that reads it.
fn start(hub: &Arc<Hub>, open: impl FnOnce() -> Result<Value, String>) -> Result<(), String> {
    let name = &hub.name;
    let upstream = open()?;
    if upstream.as_source().is_none() {
        return Err(format!(
            "broadcast '{name}': the opening function must return a stream, got {}",
            upstream.kind_name()
        ));
    }
    if let Some(interrupter) = with_source(&upstream, None, |src| src.interrupter()) {
        let _ = hub.interrupter.set(interrupter);
    }
    let runner = Arc::clone(hub);
    let closer = upstream.clone();
    thread::Builder::new()
        .name(format!("ilo-bcast-{name}"))
        .stack_size(HUB_STACK)
        .spawn(move || runner.run(upstream))
        .map(|_| ())
        .map_err(|e| {
            with_source(&closer, (), |src| src.close());
            format!("broadcast '{name}': cannot start its reader: {e}")
        })
}

/// One subscriber of a hub.
pub struct BroadcastSource {
    /// `None` once closed.
    hub: Option<Arc<Hub>>,
    inbox: Arc<Inbox>,
    line: Line,
    /// The inbox calls a waker (set once, by `wake_by`): known without its lock.
    woken: bool,
}

impl BroadcastSource {
    fn take(&mut self) -> Option<Progress> {
        let mut s = self.inbox.lock();
        if s.overflowed {
            drop(s);
            let name = self
                .hub
                .as_ref()
                .map(|h| h.name.clone())
                .unwrap_or_default();
            self.close();
            return Some(Progress::Failed(format!(
                "broadcast '{name}': subscriber fell more than {INBOX_LINES} lines behind and was disconnected"
            )));
        }
        if let Some(line) = s.lines.pop_front() {
            self.line = line;
            return Some(Progress::Line);
        }
        match s.ended.clone() {
            Some(Ok(())) => Some(Progress::End),
            Some(Err(message)) => Some(Progress::Failed(message)),
            None => None,
        }
    }
}

impl LineSource for BroadcastSource {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        block_on(self)
    }

    fn ready(&self) -> bool {
        let s = self.inbox.lock();
        !s.lines.is_empty() || s.overflowed || s.ended.is_some()
    }

    fn close(&mut self) {
        let Some(hub) = self.hub.take() else {
            return;
        };
        let last = {
            // Registry first, then the hub's list, as everywhere: a subscriber joining
            // now either finds this hub still named (and keeps it alive) or not at all.
            let mut registry = hubs();
            let mut subscribers = hub.subscribers();
            subscribers.retain(|inbox| !Arc::ptr_eq(inbox, &self.inbox));
            let last = subscribers.is_empty();
            if last
                && registry
                    .get(&hub.name)
                    .is_some_and(|h| Arc::ptr_eq(h, &hub))
            {
                registry.remove(&hub.name);
            }
            last
        };
        if last {
            // Nobody listens: stop reading, which closes the upstream.
            if let Some(interrupter) = hub.interrupter.get() {
                interrupter.interrupt();
            }
        }
        self.inbox.lock().lines = VecDeque::new();
    }

    fn interrupter(&self) -> Option<Interrupter> {
        let inbox = Arc::clone(&self.inbox);
        Some(Interrupter::new(move || {
            inbox.end(Ok(()));
        }))
    }

    fn readiness(&self) -> Readiness {
        match self.hub {
            Some(_) if self.woken => Readiness::Woken,
            Some(_) => Readiness::Fd(self.inbox.wake.raw_fd()),
            None => Readiness::Always,
        }
    }

    fn wake_by(&mut self, waker: &Waker) -> bool {
        if self.hub.is_none() {
            return false;
        }
        let mut s = self.inbox.lock();
        // One stream drives a subscriber (a second one reading it would only poll).
        if s.waker.is_some() {
            return false;
        }
        s.waker = Some(waker.clone());
        self.woken = true;
        true
    }

    fn advance(&mut self) -> Progress {
        if self.hub.is_none() {
            return Progress::End;
        }
        if let Some(progress) = self.take() {
            return progress;
        }
        if self.woken {
            // Woken when the inbox goes from empty to not empty, under its lock: the
            // look above saw it empty, so the next line calls the waker.
            return Progress::Pending;
        }
        // Clear the wake-up before looking again, so a line dealt after the look
        // still wakes us.
        self.inbox.wake.reset();
        self.take().unwrap_or(Progress::Pending)
    }

    fn line(&self) -> &[u8] {
        &self.line
    }
}

impl Drop for BroadcastSource {
    fn drop(&mut self) {
        self.close();
    }
}
