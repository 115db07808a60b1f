//! What a loop holds of each connection: its table of slots (parked, suspended in a
//! handler, or held by a thread) and the queue of reports not handled yet, under one
//! lock, so taking a report and the connection it concerns is one step.

use std::collections::VecDeque;
use std::net::TcpStream;
use std::os::fd::RawFd;
use std::time::Instant;

use crate::httpd::connection::{PendingBody, Served, Shared, Streaming};
use crate::httpd::input::Input;
use crate::httpd::linger::Linger;
use crate::httpd::listener::InFlightGuard;
use crate::httpd::metrics::Open;
use crate::httpd::CounterMap;
use crate::suspend::{Park, Task};
use crate::sys::epoll::Interest;

/// What a parked connection waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Waiting {
    /// Its next request (no stream).
    Request,
    /// Its stream's source descriptor (and watches the client for a hang-up).
    Source,
    /// Its stream's source after a delay, until the instant given.
    Timer(Instant),
    /// Room in its socket, since the instant given (the write timeout runs from it).
    Writable(Instant),
    /// Another turn: its stream has more ready but let other connections go first.
    Turn,
    /// Its client to close, after the last response ([`crate::httpd::linger`]).
    Closing(Linger),
}

/// A connection between requests, or streaming a body. What a woken stream's step
/// reads (its body, socket, wait and arms) comes first, in one aligned cache line:
/// a loop steps thousands of subscribers per broadcast line, each one cold.
#[repr(C, align(64))]
pub(super) struct Conn {
    /// The body being streamed, if any.
    pub(super) body: Option<Box<Streaming>>,
    pub(super) waiting: Waiting,
    /// The stream's source descriptor, once registered in the loop's epoll set.
    pub(super) source_fd: Option<RawFd>,
    pub(super) stream: TcpStream,
    /// A stream's socket is armed one-shot for this and has not reported since.
    pub(super) socket_armed: Option<Interest>,
    /// Registered edge-triggered for requests (not one-shot for a stream).
    pub(super) edge_armed: bool,
    /// The client has shut its sending side (a report said so): no request can
    /// start or complete after the bytes already there.
    pub(super) peer_closed: bool,
    pub(super) input: Input,
    /// When the head being waited for started: at connect, then at its first byte.
    /// `None` while idle between requests.
    pub(super) head_started: Option<Instant>,
    pub(super) idle_since: Instant,
    /// A request whose body is still arriving: it waits here like a head does.
    pub(super) request_body: Option<PendingBody>,
    pub(super) _in_flight: InFlightGuard,
    pub(super) _open: Open,
}

// The fields a woken stream's step reads fit the first cache line.
const _: () = assert!(std::mem::offset_of!(Conn, input) <= 64);

impl Conn {
    /// Waits for its stream's waker with the socket's hang-up watch armed and
    /// unreported: parking it again needs no system call (see `park_stream`).
    pub(super) fn waits_woken_as_armed(&self) -> bool {
        self.waiting == Waiting::Source
            && self.socket_armed == Some(Interest::HangUp)
            && self.source_fd.is_none()
            && self.body.as_ref().is_some_and(|s| s.body.woken())
    }

    /// Accepted and not answered yet: fresh, or a request (head or body) partly
    /// received. Shutdown serves such a connection's request instead of closing it.
    pub(super) fn owed_answer(&self) -> bool {
        self.head_started.is_some() || self.request_body.is_some()
    }

    /// Between requests: nothing of a next one received, no stream, not closing.
    /// Shutdown lets go of such a connection (see `leaving`).
    pub(super) fn idle(&self) -> bool {
        self.body.is_none() && !self.owed_answer() && !self.closing()
    }

    /// Answered for the last time and waiting for its client to close: shutdown
    /// keeps it for that short while too, so the answer is not destroyed by a reset.
    pub(super) fn closing(&self) -> bool {
        matches!(self.waiting, Waiting::Closing(_))
    }

    /// When the loop must look at this connection even if nothing happens.
    pub(super) fn deadline(&self, shared: &Shared) -> Option<Instant> {
        match self.waiting {
            Waiting::Request => Some(match (&self.request_body, self.head_started) {
                (Some(pending), _) => pending.deadline,
                (None, Some(t)) => t + shared.config.header_timeout,
                (None, None) => self.idle_since + shared.config.idle_timeout,
            }),
            Waiting::Timer(at) => Some(at),
            Waiting::Writable(since) => Some(since + shared.config.write_timeout),
            Waiting::Closing(linger) => Some(linger.deadline()),
            Waiting::Source | Waiting::Turn => None,
        }
    }
}

/// A connection's place in its loop's table.
pub(super) enum Slot {
    Parked(Box<Conn>),
    /// A handler call waiting on an upstream or a delay, its connection inside it.
    Suspended(Box<Suspended>),
    /// Taken by the loop thread of generation `by`, which parks it again or lets it
    /// close. `missed`: a report about it came meanwhile.
    Held {
        by: u64,
        missed: bool,
    },
}

impl Slot {
    /// A parked connection streaming a body.
    pub(super) fn is_stream(&self) -> bool {
        matches!(self, Slot::Parked(conn) if conn.body.is_some())
    }
}

/// What serving a connection's buffered requests gives back: the connection and
/// where it was left.
pub(super) type Serving = (Box<Conn>, Served);

/// A handler call suspended while it waits ([`crate::suspend`]). It holds its
/// connection; the loop holds this until the awaited descriptor reports, the deadline
/// passes or the client hangs up, and then resumes it on the thread that started it.
/// The awaited descriptor may be the client's own socket (its answer waits for room,
/// see [`crate::httpd::client_out`]): that one is already in the epoll set under the
/// connection's token, and is armed there instead.
pub(super) struct Suspended {
    pub(super) task: Task<Serving>,
    pub(super) park: Park,
    /// The client's socket, armed for a hang-up while the handler waits.
    pub(super) client_fd: RawFd,
    /// The awaited descriptor registered in the epoll set (under the SOURCE token).
    pub(super) watched: Option<RawFd>,
    /// Generation of the loop thread that started the task (the one to resume it).
    pub(super) thread: u64,
}

impl Suspended {
    /// Is it waiting for room in its own client's socket?
    pub(super) fn waits_on_client(&self) -> bool {
        matches!(self.park.fd, Some((fd, _)) if fd == self.client_fd)
    }
}

/// Whoever took a slot's occupant out of the table.
pub(super) enum Taken {
    Conn(Box<Conn>),
    Task(Box<Suspended>),
}

/// A loop's connections and the reports taken from epoll but not handled yet, under
/// one lock: taking the next report and its connection is one step.
#[derive(Default)]
pub(super) struct Table {
    pub(super) slots: CounterMap<Slot>,
    pub(super) ready: VecDeque<(u64, u32)>,
    /// Set, under shutdown, by the loop as it leaves with nothing owed: a connection
    /// another loop accepted is then parked elsewhere instead of in a table nobody
    /// serves any more.
    pub(super) closed: bool,
}

impl Table {
    pub(super) fn parked(&self) -> impl Iterator<Item = (&u64, &Conn)> {
        self.slots.iter().filter_map(|(t, s)| match s {
            Slot::Parked(c) => Some((t, &**c)),
            Slot::Suspended(_) | Slot::Held { .. } => None,
        })
    }

    pub(super) fn suspended(&self) -> impl Iterator<Item = (&u64, &Suspended)> {
        self.slots.iter().filter_map(|(t, s)| match s {
            Slot::Suspended(task) => Some((t, &**task)),
            Slot::Parked(_) | Slot::Held { .. } => None,
        })
    }

    /// Take the parked connections `pick` chooses out of the table.
    pub(super) fn remove_parked(&mut self, pick: impl Fn(&Conn) -> bool) -> Vec<(u64, Box<Conn>)> {
        let tokens: Vec<u64> = self
            .parked()
            .filter(|(_, c)| pick(c))
            .map(|(t, _)| *t)
            .collect();
        tokens
            .into_iter()
            .filter_map(|t| match self.slots.remove(&t) {
                Some(Slot::Parked(c)) => Some((t, c)),
                _ => None,
            })
            .collect()
    }
}
