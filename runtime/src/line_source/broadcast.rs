//! Broadcast: one upstream source, many subscribers (`bcast NAME OPEN`).
//!
//! A hub is known by its name, process-wide. The first subscriber of a name opens the
//! upstream (the handler's `OPEN` function is called then, and only then), and a
//! thread of the hub's own reads it. Each line goes, by reference, into every
//! subscriber's inbox, and a subscriber is a line source told when its inbox stops
//! being empty.
//!
//! A subscriber whose response's event loop gave it a [`Waker`] is one of that loop's
//! [`Group`] of the hub: the hub's thread hands each loop the line once, as a job the
//! loop runs when it takes its ready list ([`Deferred`]), and the loop puts the line
//! in each of its subscribers' inboxes and drives every one it reached in one pass.
//! So a line costs the hub's thread one step per loop, not one per subscriber, and a
//! subscriber's inbox is only ever touched by its own loop's core. A subscriber read
//! some other way (`@line`, `sse` with heartbeats) gets its lines from the hub's
//! thread directly and is told through a wake-up descriptor of its own ([`Notify`]).
//! Thousands of subscribers cost no thread each and a quiet feed no wake-up at all.
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

use super::framed::FramedLine;
use super::notify::Notify;
use super::transform::with_source;
use super::wake::{Deferred, ReadyList};
use super::{block_on, Interrupter, LineSource, Progress, Readiness, Waker};
use crate::value::Value;

/// Lines a subscriber may be behind before it is disconnected.
pub const INBOX_LINES: usize = 4096;

/// Stack of a hub's reading thread: the upstream may be a transform running compiled
/// code.
const HUB_STACK: usize = 2 * 1024 * 1024;

/// A hub's line, framed once per copy (see [`FramedLine`]).
type Line = FramedLine;

/// What dealing and taking a line touch is kept within one cache line, lock
/// included (see [`Inbox`]): at ten thousand subscribers an inbox is cold at every
/// line, and each extra line it spans is one more miss. What only a subscriber that
/// fell behind or a stream that ended needs is boxed.
#[derive(Default)]
struct InboxState {
    /// The oldest line not taken yet. A subscriber that keeps up never has more, so
    /// dealing and taking a line touch no queue storage.
    next: Option<Line>,
    /// The lines after `next`, oldest first, once there were any. Boxed on purpose:
    /// a bare queue's 32 bytes would push the state past its one cache line.
    #[allow(clippy::box_collection)]
    later: Option<Box<VecDeque<Line>>>,
    /// Fell behind: emptied, and told at its next read.
    overflowed: bool,
    /// How the upstream ended (`Err` with its failure), once it has.
    ended: Option<Box<Result<(), String>>>,
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
            Some(_) => self.later.get_or_insert_with(Box::default).push_back(line),
        }
    }

    fn pop(&mut self) -> Option<Line> {
        let line = self.next.take()?;
        if let Some(later) = &mut self.later {
            self.next = later.pop_front();
        }
        Some(line)
    }

    fn len(&self) -> usize {
        usize::from(self.next.is_some()) + self.later.as_ref().map_or(0, |l| l.len())
    }

    fn clear(&mut self) {
        self.next = None;
        self.later = None;
    }

    /// Tell the subscriber it has something to read: through `marks` when its
    /// waker's list is `list` (a loop's dealing job), otherwise at once.
    fn notify(&self, wake: &Notify, marks: Option<(&Arc<ReadyList>, &mut Vec<u64>)>) {
        match (&self.waker, marks) {
            (Some(waker), Some((list, marks))) => waker.wake_into(list, marks),
            (Some(waker), None) => waker.wake(),
            (None, _) => wake.signal(),
        }
    }
}

/// One subscriber's queue, filled by the hub's thread (a subscriber with a
/// descriptor of its own) or by its loop's [`Group`], and read by the subscriber.
/// Aligned so that its lock and state share one cache line (the wake-up descriptor,
/// unused by a woken subscriber, is in the next).
#[repr(C, align(64))]
struct Inbox {
    state: Mutex<InboxState>,
    wake: Notify,
}

const _: () = assert!(std::mem::size_of::<Mutex<InboxState>>() <= 64);

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, InboxState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue a line, or mark the inbox overflowed when it is full; a subscriber that
    /// had nothing is told (see [`InboxState::notify`] for `marks`).
    fn deliver(&self, line: &Line, marks: Option<(&Arc<ReadyList>, &mut Vec<u64>)>) {
        let mut s = self.lock();
        if s.overflowed {
            return;
        }
        if s.len() >= INBOX_LINES {
            s.clear();
            s.overflowed = true;
            s.notify(&self.wake, marks);
            return;
        }
        let was_empty = s.is_empty();
        s.push(line.clone());
        if was_empty {
            s.notify(&self.wake, marks);
        }
    }

    fn end(&self, how: Result<(), String>, marks: Option<(&Arc<ReadyList>, &mut Vec<u64>)>) {
        let mut s = self.lock();
        s.ended = Some(Box::new(how));
        s.notify(&self.wake, marks);
    }
}

/// The subscribers of one hub whose streams one event loop drives, and what the hub
/// has for them that the loop has not dealt yet. Each group has its own copy of a
/// line: every subscriber drops its reference to a line when it takes the next one,
/// and with one copy for all, the loops' cores would pull the count's cache line
/// back and forth at every subscriber.
struct Group {
    list: Arc<ReadyList>,
    state: Mutex<GroupState>,
}

#[derive(Default)]
struct GroupState {
    /// Lines not dealt yet, oldest first.
    pending: VecDeque<Line>,
    /// How the upstream ended, to deal after the pending lines.
    ended: Option<Result<(), String>>,
    /// The members, each with how many of the pending lines it skips: it joined after
    /// the hub handed them over, and had them from the hub's thread.
    members: Vec<(Arc<Inbox>, usize)>,
    /// A dealing job is in the loop's list.
    scheduled: bool,
}

impl Group {
    fn lock(&self) -> MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hand the loop a line (or, with `line` `None`, the end) to deal.
    fn hand(self: &Arc<Self>, line: Option<Line>, ended: Option<Result<(), String>>) {
        let mut s = self.lock();
        if let Some(line) = line {
            if s.pending.len() >= INBOX_LINES {
                // The loop has not dealt for as long as a subscriber may fall behind
                // (a handler holds its thread): deal here, so memory stays bounded
                // and the inboxes' own limit applies.
                let pending = std::mem::take(&mut s.pending);
                deal(&mut s.members, &pending, None, None);
            }
            s.pending.push_back(line);
        }
        if ended.is_some() {
            s.ended = ended;
        }
        if !std::mem::replace(&mut s.scheduled, true) {
            drop(s);
            self.list.defer(Arc::clone(self) as Arc<dyn Deferred>);
        }
    }
}

impl Deferred for Group {
    /// Deal what the hub handed over to every member, marking those it reached.
    fn run(&self, list: &Arc<ReadyList>, marks: &mut Vec<u64>) {
        let mut s = self.lock();
        s.scheduled = false;
        let pending = std::mem::take(&mut s.pending);
        let ended = s.ended.take();
        deal(&mut s.members, &pending, ended, Some((list, marks)));
        // Keep the queue's allocation for the next lines.
        let mut pending = pending;
        pending.clear();
        s.pending = pending;
    }
}

/// Put `lines`, then the end if any, into every member's inbox (each skipping the
/// lines it joined after), telling those that had nothing through `marks` or their
/// waker.
fn deal(
    members: &mut [(Arc<Inbox>, usize)],
    lines: &VecDeque<Line>,
    ended: Option<Result<(), String>>,
    mut marks: Option<(&Arc<ReadyList>, &mut Vec<u64>)>,
) {
    for (inbox, skip) in members.iter_mut() {
        for line in lines.iter().skip(*skip) {
            inbox.deliver(line, marks.as_mut().map(|(l, m)| (*l, &mut **m)));
        }
        *skip = skip.saturating_sub(lines.len());
        if let Some(how) = &ended {
            inbox.end(how.clone(), marks.as_mut().map(|(l, m)| (*l, &mut **m)));
        }
    }
}

/// A hub's subscribers.
#[derive(Default)]
struct Members {
    /// Subscribers told through a descriptor of their own: the hub's thread deals
    /// their lines.
    direct: Vec<Arc<Inbox>>,
    /// Subscribers woken through a loop's ready list, one group per loop.
    groups: Vec<Arc<Group>>,
    /// Subscribers in all.
    count: usize,
}

impl Members {
    /// Take `inbox` out (of the direct ones, or of `group`); a group left empty goes.
    fn remove(&mut self, inbox: &Arc<Inbox>, group: Option<&Arc<Group>>) {
        let before = self.direct.len();
        self.direct.retain(|other| !Arc::ptr_eq(other, inbox));
        let mut found = self.direct.len() < before;
        if let Some(group) = group {
            let mut s = group.lock();
            let before = s.members.len();
            s.members.retain(|(other, _)| !Arc::ptr_eq(other, inbox));
            found |= s.members.len() < before;
            if s.members.is_empty() {
                drop(s);
                self.groups.retain(|other| !Arc::ptr_eq(other, group));
            }
        }
        if found {
            self.count -= 1;
        }
    }

    /// End every subscriber: the direct ones now, each group's after what it was
    /// handed.
    fn end_all(&mut self, how: &Result<(), String>) {
        for inbox in &self.direct {
            inbox.end(how.clone(), None);
        }
        for group in &self.groups {
            group.hand(None, Some(how.clone()));
        }
    }
}

struct Hub {
    name: String,
    members: Mutex<Members>,
    /// Ends a read of the upstream blocked in the hub's thread (set once it is open).
    interrupter: OnceLock<Interrupter>,
}

impl Hub {
    fn members(&self) -> MutexGuard<'_, Members> {
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The hub's thread: read the upstream, put each line in every direct
    /// subscriber's inbox and hand it to every group's loop.
    fn run(self: Arc<Hub>, upstream: Value) {
        let mut line = Vec::new();
        let ended = loop {
            let got = with_source(&upstream, Ok(None), |src| {
                block_on(src).map(|l| {
                    l.map(|l| {
                        line.clear();
                        line.extend_from_slice(l);
                    })
                })
            });
            match got {
                Ok(Some(())) => {}
                Ok(None) => break Ok(()),
                Err(message) => break Err(message),
            }
            let members = self.members();
            if members.count == 0 {
                // The last one left while we read: nobody to tell.
                break Ok(());
            }
            if !members.direct.is_empty() {
                let shared = FramedLine::new(&line);
                for inbox in &members.direct {
                    inbox.deliver(&shared, None);
                }
            }
            for group in &members.groups {
                group.hand(Some(FramedLine::new(&line)), None);
            }
        };
        with_source(&upstream, (), |src| src.close());
        forget(&self);
        self.members().end_all(&ended);
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
                    members: Mutex::default(),
                    interrupter: OnceLock::new(),
                });
                registry.insert(name.to_string(), Arc::clone(&hub));
                (hub, true)
            }
        };
        // Under the registry lock, as in `close`: a hub found here is still named.
        let mut members = hub.members();
        members.direct.push(Arc::clone(&inbox));
        members.count += 1;
        drop(members);
        (hub, opener)
    };
    if opener {
        if let Err(message) = start(&hub, open) {
            forget(&hub);
            let mut members = hub.members();
            members.remove(&inbox, None);
            members.end_all(&Err(message.clone()));
            return Err(message);
        }
    }
    Ok(BroadcastSource {
        hub: Some(hub),
        inbox,
        group: None,
        line: FramedLine::empty(),
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

/// One subscriber of a hub. Aligned to a cache line, which it fits in: a loop reads
/// it for every subscriber at every line.
#[repr(align(64))]
pub struct BroadcastSource {
    /// `None` once closed.
    hub: Option<Arc<Hub>>,
    inbox: Arc<Inbox>,
    /// The group of the loop that wakes it, once it has a waker.
    group: Option<Arc<Group>>,
    line: Line,
    /// The inbox calls a waker (set once, by `wake_by`): known without its lock.
    woken: bool,
    /// The last look left the inbox empty, and it calls a waker: the next line wakes
    /// this subscriber, so the next `advance` may answer `Pending` without a look.
    drained: bool,
}

const _: () = assert!(std::mem::size_of::<BroadcastSource>() <= 64);

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
        match s.ended.as_deref().cloned() {
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
            let mut members = hub.members();
            members.remove(&self.inbox, self.group.take().as_ref());
            let last = members.count == 0;
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
            inbox.end(Ok(()), None);
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
        let Some(hub) = self.hub.as_ref() else {
            return false;
        };
        // Under the hub's lock: no line is dealt to this subscriber meanwhile, so it
        // has every line up to now from the hub's thread and every later one from
        // its loop's group.
        let mut members = hub.members();
        {
            let mut s = self.inbox.lock();
            // One stream drives a subscriber (a second one reading it would only poll).
            if s.waker.is_some() {
                return false;
            }
            s.waker = Some(waker.clone());
        }
        let Some(at) = members
            .direct
            .iter()
            .position(|other| Arc::ptr_eq(other, &self.inbox))
        else {
            // Not dealt to any more (the upstream failed to open): keep the waker.
            self.woken = true;
            return true;
        };
        members.direct.swap_remove(at);
        let list = waker.list();
        let group = match members.groups.iter().find(|g| Arc::ptr_eq(&g.list, list)) {
            Some(group) => Arc::clone(group),
            None => {
                let group = Arc::new(Group {
                    list: Arc::clone(list),
                    state: Mutex::default(),
                });
                members.groups.push(Arc::clone(&group));
                group
            }
        };
        {
            let mut s = group.lock();
            let skip = s.pending.len();
            s.members.push((Arc::clone(&self.inbox), skip));
        }
        self.group = Some(group);
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
        self.line.line()
    }

    fn chunk(&self) -> Option<&[u8]> {
        Some(self.line.chunk())
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

    /// A subscriber of `hub` still read through its own descriptor, as a new one is.
    fn direct_subscriber(hub: &Arc<Hub>) -> BroadcastSource {
        let inbox = Arc::new(Inbox {
            state: Mutex::default(),
            wake: Notify::new().expect("eventfd"),
        });
        {
            let mut members = hub.members();
            members.direct.push(Arc::clone(&inbox));
            members.count += 1;
        }
        BroadcastSource {
            hub: Some(Arc::clone(hub)),
            inbox,
            group: None,
            line: FramedLine::empty(),
            woken: false,
            drained: false,
        }
    }

    /// A subscriber of a hub nobody registered, woken through `list` as stream 7.
    fn subscriber(hub: &Arc<Hub>, list: &Arc<ReadyList>) -> BroadcastSource {
        let mut src = direct_subscriber(hub);
        assert!(src.wake_by(&Waker::new(Arc::clone(list), 7)));
        src
    }

    fn hub() -> Arc<Hub> {
        Arc::new(Hub {
            name: "test".into(),
            members: Mutex::default(),
            interrupter: OnceLock::new(),
        })
    }

    /// Hand `text` to every group of `hub`, as its thread does.
    fn deal(hub: &Hub, text: &str) {
        for group in &hub.members().groups {
            group.hand(Some(FramedLine::new(text.as_bytes())), None);
        }
    }

    fn next(src: &mut BroadcastSource) -> Option<String> {
        match src.advance() {
            Progress::Line => Some(String::from_utf8_lossy(src.line()).into_owned()),
            Progress::Pending => None,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_line_comes_framed_as_its_chunk_and_bare_as_itself() {
        let (hub, list) = (hub(), Arc::new(ReadyList::new().expect("eventfd")));
        let mut src = subscriber(&hub, &list);
        let long = "x".repeat(300);
        let texts = ["tick 1", "", "a\rb", long.as_str()];
        for text in texts {
            deal(&hub, text);
        }
        list.take(&mut Vec::new());
        for text in texts {
            assert!(matches!(src.advance(), Progress::Line));
            assert_eq!(src.line(), text.as_bytes());
            let expected = FramedLine::new(text.as_bytes());
            assert_eq!(src.chunk(), Some(expected.chunk()), "{text:?}");
        }
    }

    #[test]
    fn lines_come_in_order_and_only_a_line_into_an_empty_inbox_wakes() {
        let (hub, list) = (hub(), Arc::new(ReadyList::new().expect("eventfd")));
        let mut src = subscriber(&hub, &list);
        for text in ["a", "b", "c"] {
            deal(&hub, text);
        }
        assert!(next(&mut src).is_none(), "nothing before the loop deals");
        let mut marked = Vec::new();
        list.take(&mut marked);
        assert_eq!(marked, [7], "one mark for three lines");
        let got: Vec<_> = std::iter::from_fn(|| next(&mut src)).collect();
        assert_eq!(got, ["a", "b", "c"]);
        deal(&hub, "d");
        marked.clear();
        list.take(&mut marked);
        assert_eq!(marked, [7], "a line into the emptied inbox wakes again");
        assert_eq!(next(&mut src).as_deref(), Some("d"));
    }

    #[test]
    fn an_end_after_the_last_line_is_seen_whether_it_came_before_or_after_the_take() {
        let list = Arc::new(ReadyList::new().expect("eventfd"));
        let mut marked = Vec::new();
        // The end is there before the last line is taken: no `Pending` in between.
        let hub_one = hub();
        let mut src = subscriber(&hub_one, &list);
        deal(&hub_one, "last");
        hub_one.members().end_all(&Ok(()));
        list.take(&mut marked);
        assert_eq!(next(&mut src).as_deref(), Some("last"));
        assert!(matches!(src.advance(), Progress::End));
        // The end comes after the take: it wakes the stream, which then sees it.
        let hub_two = hub();
        let mut src = subscriber(&hub_two, &list);
        deal(&hub_two, "last");
        list.take(&mut marked);
        assert_eq!(next(&mut src).as_deref(), Some("last"));
        marked.clear();
        hub_two.members().end_all(&Ok(()));
        list.take(&mut marked);
        assert!(marked.contains(&7), "the end woke the subscriber");
        let after: Vec<_> = (0..2).map(|_| format!("{:?}", src.advance())).collect();
        assert!(after.contains(&"End".to_string()), "{after:?}");
    }

    #[test]
    fn each_loop_gets_its_own_copy_of_a_line_and_deals_it_itself() {
        let (one, two) = (
            Arc::new(ReadyList::new().expect("eventfd")),
            Arc::new(ReadyList::new().expect("eventfd")),
        );
        let hub = hub();
        let (mut a, mut b, mut c) = (
            subscriber(&hub, &one),
            subscriber(&hub, &one),
            subscriber(&hub, &two),
        );
        assert_eq!(hub.members().groups.len(), 2, "one group per loop");
        deal(&hub, "tick");
        let mut marked = Vec::new();
        one.take(&mut marked);
        assert_eq!(marked, [7, 7], "loop one's job marked its two subscribers");
        for src in [&mut a, &mut b] {
            assert_eq!(next(src).as_deref(), Some("tick"));
        }
        assert!(next(&mut c).is_none(), "loop two has not dealt yet");
        marked.clear();
        two.take(&mut marked);
        assert_eq!(marked, [7]);
        assert_eq!(next(&mut c).as_deref(), Some("tick"));
        assert!(FramedLine::same(&a.line, &b.line), "one copy per loop");
        assert!(!FramedLine::same(&a.line, &c.line));
    }

    #[test]
    fn a_subscriber_joining_a_loop_gets_no_line_twice_and_misses_none() {
        let list = Arc::new(ReadyList::new().expect("eventfd"));
        let hub = hub();
        let mut first = subscriber(&hub, &list);
        deal(&hub, "one");
        // A second subscriber, still read through its own descriptor, gets "two"
        // from the hub's thread, then joins the loop's group with "two" still
        // pending there.
        let mut second = direct_subscriber(&hub);
        {
            let members = hub.members();
            let two = FramedLine::new(b"two");
            for inbox in &members.direct {
                inbox.deliver(&two, None);
            }
            for group in &members.groups {
                group.hand(Some(two.clone()), None);
            }
        }
        assert!(second.wake_by(&Waker::new(Arc::clone(&list), 9)));
        deal(&hub, "three");
        let mut marked = Vec::new();
        list.take(&mut marked);
        let got: Vec<_> = std::iter::from_fn(|| next(&mut first)).collect();
        assert_eq!(got, ["one", "two", "three"]);
        let got: Vec<_> = std::iter::from_fn(|| next(&mut second)).collect();
        assert_eq!(got, ["two", "three"]);
        second.close();
        first.close();
        assert_eq!(hub.members().count, 0);
        assert!(hub.members().groups.is_empty(), "an emptied group goes");
    }

    #[test]
    fn a_loop_that_does_not_deal_leaves_its_subscribers_bounded() {
        let list = Arc::new(ReadyList::new().expect("eventfd"));
        let hub = hub();
        let mut src = subscriber(&hub, &list);
        for i in 0..=2 * INBOX_LINES {
            deal(&hub, &i.to_string());
        }
        let pending = hub.members().groups[0].lock().pending.len();
        assert!(pending <= INBOX_LINES, "{pending} lines pending");
        let mut marked = Vec::new();
        list.take(&mut marked);
        match src.advance() {
            Progress::Failed(message) => assert!(message.contains("fell more than"), "{message}"),
            other => panic!("expected the overflow, got {other:?}"),
        }
    }
}
