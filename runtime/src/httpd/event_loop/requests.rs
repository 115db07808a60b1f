//! Serving the requests a connection sent: read what is there, run the handler
//! inline as a task, and then park the connection for its next request, start its
//! streamed body, or close it gracefully.

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::table::{Conn, Suspended, Waiting};
use super::{Loops, SOURCE};
use crate::httpd::body_stream::StreamEnd;
use crate::httpd::connection::{self, Served};
use crate::httpd::input::Input;
use crate::httpd::linger::{Drained, Linger};
use crate::line_source::wake::Waker;
use crate::suspend::{Step, Task};
use crate::sys::epoll::HUNG_UP;

impl Loops {
    pub(super) fn serve_taken(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        flags: u32,
        mut conn: Box<Conn>,
    ) {
        if conn.body.is_some() {
            let from_client = token & SOURCE == 0;
            if from_client {
                // The report used up the socket's one-shot arm.
                conn.socket_armed = None;
            }
            if from_client && flags & HUNG_UP != 0 {
                let gone = std::io::ErrorKind::ConnectionAborted.into();
                self.end_stream(
                    idx,
                    generation,
                    token & !SOURCE,
                    conn,
                    StreamEnd::ClientGone(gone),
                );
            } else {
                self.drive(idx, generation, token & !SOURCE, conn);
            }
            return;
        }
        if let Waiting::Closing(linger) = &mut conn.waiting {
            if linger.drain(&conn.stream) == Drained::Open {
                self.park(idx, token, conn, false);
            }
            return;
        }
        if flags & HUNG_UP != 0 {
            conn.peer_closed = true;
        }
        // One clock reading for what follows: the head's start, the loop's busy
        // stamp and the first request's start.
        let read_at = Instant::now();
        match conn.input.read_now(&conn.stream) {
            Ok(0) => {}
            Ok(_) => {
                conn.head_started.get_or_insert(read_at);
            }
            Err(_) => return,
        }
        self.serve_conn(idx, generation, token, conn, read_at);
    }

    /// Serve the requests `conn` has buffered, then park it, start its stream, or
    /// let it close. Under shutdown too: a request that arrived is answered (with
    /// `Connection: close`), not dropped.
    ///
    /// The serving runs as a task ([`crate::suspend`]): a handler that waits for an
    /// upstream or a delay is suspended with its connection ([`Loops::park_task`]) and
    /// this thread goes back to the loop.
    ///
    /// `read_at` is when the caller last read the clock, just before.
    pub(super) fn serve_conn(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        conn: Box<Conn>,
        read_at: Instant,
    ) {
        let client_fd = conn.stream.as_raw_fd();
        let shared = Arc::clone(&self.shared);
        let serve = move || {
            let mut conn = conn;
            let served = connection::serve_buffered(
                &conn.stream,
                &mut conn.input,
                &mut conn.request_body,
                &shared,
                read_at,
            );
            (conn, served)
        };
        let stamp = self.mark_busy_since(idx, self.nanos_at(read_at));
        let (task, step) = match Task::start(serve) {
            Ok(started) => started,
            Err((e, serve)) => {
                // No stack for a task: serve on this thread's own, as a thread would.
                self.shared
                    .log
                    .problem("mapping a handler stack", &e.to_string());
                let (conn, served) = serve();
                self.clear_busy(idx, stamp);
                return self.served(idx, generation, token, conn, served);
            }
        };
        self.clear_busy(idx, stamp);
        match step {
            Step::Done((conn, served)) => self.served(idx, generation, token, conn, served),
            Step::Parked(park) => {
                let suspended = Box::new(Suspended {
                    task,
                    park,
                    client_fd,
                    watched: None,
                    thread: generation,
                });
                self.park_task(idx, generation, token, suspended);
            }
        }
    }

    /// After [`connection::serve_buffered`]: park the connection for its next request,
    /// start its stream, or let it close.
    pub(super) fn served(
        self: &Arc<Self>,
        idx: usize,
        generation: u64,
        token: u64,
        mut conn: Box<Conn>,
        served: Served,
    ) {
        let lp = &self.loops[idx];
        let requests = match &served {
            Served::Closed => return,
            Served::Lingering => return self.close_gracefully(idx, token, conn),
            // Nothing more can arrive (and the last read left nothing unread behind
            // it): a partial head or an idle connection is closed now, not at its
            // header or idle timeout. There is no one to answer.
            Served::NeedMore { .. } if conn.peer_closed && !conn.input.may_have_more() => return,
            Served::NeedMore { requests } | Served::Streaming { requests, .. } => *requests,
        };
        if requests > 0 {
            let now = Instant::now();
            conn.head_started = (!conn.input.available().is_empty()).then_some(now);
            conn.idle_since = now;
        }
        match served {
            Served::Streaming { mut stream, .. } => {
                lp.streams.fetch_add(1, Ordering::SeqCst);
                stream
                    .body
                    .offer_waker(&Waker::new(Arc::clone(&lp.ready), token));
                conn.body = Some(stream);
                conn.waiting = Waiting::Source;
                self.drive(idx, generation, token, conn);
            }
            _ => {
                conn.waiting = Waiting::Request;
                self.park(idx, token, conn, false);
            }
        }
    }

    /// The connection's last response is written: shut its sending side, read what
    /// the client still sends, and park it until the client closes or its linger
    /// deadline passes ([`crate::httpd::linger`]).
    pub(super) fn close_gracefully(&self, idx: usize, token: u64, mut conn: Box<Conn>) {
        let mut linger = Linger::start(&conn.stream);
        if linger.drain(&conn.stream) == Drained::Open {
            // Its input is done with: a closing connection keeps no read buffer.
            conn.input = Input::default();
            conn.request_body = None;
            conn.head_started = None;
            conn.waiting = Waiting::Closing(linger);
            self.park(idx, token, conn, false);
        }
    }
}
