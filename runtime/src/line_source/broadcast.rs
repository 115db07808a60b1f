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
    /// The oldest line not taken yet. A subscriber that keeps up never has more, so
    /// dealing and taking a line touch no queue storage.
    next: Option<Line>,
    /// The lines after `next`, oldest first.
    later: VecDeque<Line>,
    /// Fell behind: emptied, and told at its next read.
    overflowed: bool,
    /// How the upstream ended (`Err` with its failure), once it has.
    ended: Option<Result<(), String>>,
    /// Called instead of signalling `wake`, once the subscriber's stream gave one.
    waker: Option<Waker>,
}

impl InboxState {
    fn is_empty(&self) -> bool {
        self.next.is_none()
    }

    fn push(&mut self, line: Line) {
        match self.next {
            None => self.next = Some(line),
            Some(_) => self.later.push_back(line),
        }
    }

    fn pop(&mut self) -> Option<Line> {
        let line = self.next.take()?;
        if !self.later.is_empty() {
            self.next = self.later.pop_front();
        }
        Some(line)
    }

    fn len(&self) -> usize {
        usize::from(self.next.is_some()) + self.later.len()
    }

    fn clear(&mut self) {
        self.next = None;
        self.later = VecDeque::new();
    }

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

    /// Queue a line (its copy for the subscriber's loop, see [`LoopCopies`]), or mark
    /// the inbox overflowed when it is full; a subscriber woken through its loop is
    /// woken when `batch` is flushed.
    fn deliver(&self, line: &Line, copies: &mut LoopCopies, batch: &mut WakeBatch) {
        let mut s = self.lock();
        if s.overflowed {
            return;
        }
        if s.len() >= INBOX_LINES {
            s.clear();
            s.overflowed = true;
            s.notify_later(&self.wake, batch);
            return;
        }
        let was_empty = s.is_empty();
        let copy = copies.for_waker(line, s.waker.as_ref());
        s.push(copy);
        if was_empty {
            s.notify_later(&self.wake, batch);
        }
    }

    fn end(&self, how: Result<(), String>) {
        let mut s = self.lock();
        s.ended = Some(how);
        s.notify(&self.wake);
    }
}

/// One copy of the current line per event loop, shared by that loop's subscribers.
/// Every subscriber drops its reference to a line when it takes the next one; with
/// one copy for all, the two loops of a two-core server would pull the count's cache
/// line back and forth at every subscriber.
#[derive(Default)]
struct LoopCopies {
    /// The line the copies are of.
    of: Option<Line>,
    /// Loops' ready lists (by address, only compared) and their copy of the line.
    copies: Vec<(usize, Line)>,
}

impl LoopCopies {
    fn for_waker(&mut self, line: &Line, waker: Option<&Waker>) -> Line {
        let Some(list) = waker.map(Waker::list_id) else {
            return Arc::clone(line);
        };
        if !self.of.as_ref().is_some_and(|of| Arc::ptr_eq(of, line)) {
            self.clear();
            self.of = Some(Arc::clone(line));
        }
        match self.copies.iter().find(|(id, _)| *id == list) {
            Some((_, copy)) => Arc::clone(copy),
            None => {
                let copy: Line = Arc::from(&line[..]);
                self.copies.push((list, Arc::clone(&copy)));
                copy
            }
        }
    }

    /// Let go of the copies (the subscribers keep theirs).
    fn clear(&mut self) {
        self.of = None;
        self.copies.clear();
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
        let mut copies = LoopCopies::default();
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
                inbox.deliver(&shared, &mut copies, &mut woken);
            }
            drop(subscribers);
            copies.clear();
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
        drained: false,
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
    /// The last look left the inbox empty, and it calls a waker: the next line wakes
    /// this subscriber, so the next `advance` may answer `Pending` without a look.
    drained: bool,
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
        if let Some(line) = s.pop() {
            // Only a plain empty inbox: an end or an overflow already notified.
            self.drained = self.woken && s.is_empty() && s.ended.is_none();
            drop(s);
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
        !s.is_empty() || s.overflowed || s.ended.is_some()
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
        self.inbox.lock().clear();
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
        if std::mem::take(&mut self.drained) {
            // Emptied by the last take, under the inbox's lock: anything dealt since
            // has called (or will call) the waker, which drives this stream again.
            return Progress::Pending;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line_source::wake::ReadyList;

    /// A subscriber of a hub nobody registered, woken through `list`.
    fn subscriber(list: &Arc<ReadyList>) -> BroadcastSource {
        let inbox = Arc::new(Inbox {
            state: Mutex::default(),
            wake: Notify::new().expect("eventfd"),
        });
        let hub = Arc::new(Hub {
            name: "test".into(),
            subscribers: Mutex::new(vec![Arc::clone(&inbox)]),
            interrupter: OnceLock::new(),
        });
        let mut src = BroadcastSource {
            hub: Some(hub),
            inbox,
            line: Arc::from(&[][..]),
            woken: false,
            drained: false,
        };
        assert!(src.wake_by(&Waker::new(Arc::clone(list), 7)));
        src
    }

    fn deal(src: &BroadcastSource, text: &str, copies: &mut LoopCopies, batch: &mut WakeBatch) {
        src.inbox
            .deliver(&Arc::from(text.as_bytes()), copies, batch);
    }

    fn next(src: &mut BroadcastSource) -> Option<String> {
        match src.advance() {
            Progress::Line => Some(String::from_utf8_lossy(src.line()).into_owned()),
            Progress::Pending => None,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn lines_come_in_order_and_only_a_line_into_an_empty_inbox_wakes() {
        let list = Arc::new(ReadyList::new().expect("eventfd"));
        let mut src = subscriber(&list);
        let (mut copies, mut batch) = (LoopCopies::default(), WakeBatch::default());
        for text in ["a", "b", "c"] {
            deal(&src, text, &mut copies, &mut batch);
        }
        batch.flush();
        let mut marked = Vec::new();
        list.take(&mut marked);
        assert_eq!(marked, [7], "one mark for three lines");
        let got: Vec<_> = std::iter::from_fn(|| next(&mut src)).collect();
        assert_eq!(got, ["a", "b", "c"]);
        deal(&src, "d", &mut copies, &mut batch);
        batch.flush();
        marked.clear();
        list.take(&mut marked);
        assert_eq!(marked, [7], "a line into the emptied inbox wakes again");
        assert_eq!(next(&mut src).as_deref(), Some("d"));
    }

    #[test]
    fn an_end_after_the_last_line_is_seen_whether_it_came_before_or_after_the_take() {
        let list = Arc::new(ReadyList::new().expect("eventfd"));
        let (mut copies, mut batch) = (LoopCopies::default(), WakeBatch::default());
        // The end is there before the last line is taken: no `Pending` in between.
        let mut src = subscriber(&list);
        deal(&src, "last", &mut copies, &mut batch);
        src.inbox.end(Ok(()));
        assert_eq!(next(&mut src).as_deref(), Some("last"));
        assert!(matches!(src.advance(), Progress::End));
        // The end comes after the take: it wakes the stream, which then sees it.
        let mut src = subscriber(&list);
        deal(&src, "last", &mut copies, &mut batch);
        assert_eq!(next(&mut src).as_deref(), Some("last"));
        let mut marked = Vec::new();
        list.take(&mut marked);
        src.inbox.end(Ok(()));
        list.take(&mut marked);
        assert!(marked.contains(&7), "the end woke the subscriber");
        let after: Vec<_> = (0..2).map(|_| format!("{:?}", src.advance())).collect();
        assert!(after.contains(&"End".to_string()), "{after:?}");
    }

    #[test]
    fn each_loop_gets_its_own_copy_of_a_line() {
        let (one, two) = (
            Arc::new(ReadyList::new().expect("eventfd")),
            Arc::new(ReadyList::new().expect("eventfd")),
        );
        let (mut a, mut b, mut c) = (subscriber(&one), subscriber(&one), subscriber(&two));
        let (mut copies, mut batch) = (LoopCopies::default(), WakeBatch::default());
        let line: Line = Arc::from(&b"tick"[..]);
        for src in [&a, &b, &c] {
            src.inbox.deliver(&line, &mut copies, &mut batch);
        }
        copies.clear();
        for src in [&mut a, &mut b, &mut c] {
            assert_eq!(next(src).as_deref(), Some("tick"));
        }
        assert!(Arc::ptr_eq(&a.line, &b.line), "one copy per loop");
        assert!(!Arc::ptr_eq(&a.line, &c.line) && !Arc::ptr_eq(&a.line, &line));
    }
}
