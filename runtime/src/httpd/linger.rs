//! The graceful close after a connection's last response, as a state of the
//! connection on its event loop rather than a wait on the loop's thread.
//!
//! Closing a socket whose receive queue still holds bytes makes the kernel send a
//! reset, and a reset can destroy the response before the client has read it (a
//! refused request typically leaves unread bytes: the rest of an oversized head or
//! body). So the server shuts its sending side, which ends the response with a FIN,
//! and reads and discards what the client still sends until the client closes too,
//! for at most [`LINGER_FOR`] and [`LINGER_MAX_BYTES`]. The connection is parked
//! meanwhile like one waiting for a request: its reads are driven by epoll reports
//! and its deadline by the loop's timer, so a client that never closes costs a table
//! entry, not half a second of every other connection's service.
//!
//! Shutdown closes connections idle between requests the same way, with a shorter
//! wait ([`Linger::start_idle`]): what it guards against there is a request the client
//! sent before our FIN reached it, which arrives within about a round trip.

use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::input::recv_now;

/// How long a closing connection waits for its client to close.
pub const LINGER_FOR: Duration = Duration::from_millis(500);
/// An idle connection closed by shutdown waits this many of its round trips...
const IDLE_ROUND_TRIPS: u32 = 4;
/// ...and at least this long (a loopback round trip is microseconds; a client may be
/// slower to act than its network), at most [`LINGER_FOR`].
const IDLE_LINGER_AT_LEAST: Duration = Duration::from_millis(20);
/// How much a closing connection reads and throws away before giving up on its
/// client.
pub const LINGER_MAX_BYTES: usize = 256 * 1024;

/// A connection whose last response is written and whose sending side is shut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linger {
    until: Instant,
    left: usize,
}

/// Where draining left a lingering connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Drained {
    /// The client has not closed yet: wait for its next bytes or the deadline.
    Open,
    /// The client closed, the socket failed or the byte budget ran out: close now.
    Finished,
}

impl Linger {
    /// Shut the sending side (the response ends with a FIN) and start the wait.
    pub fn start(stream: &TcpStream) -> Linger {
        let _ = stream.shutdown(Shutdown::Write);
        Linger {
            until: Instant::now() + LINGER_FOR,
            left: LINGER_MAX_BYTES,
        }
    }

    /// [`Linger::start`] for a connection idle between requests that shutdown lets
    /// go of: it waits a few of the connection's round trips rather than
    /// [`LINGER_FOR`], so a client that keeps its connection open does not hold the
    /// server's exit for long.
    pub fn start_idle(stream: &TcpStream) -> Linger {
        let rtt = crate::sys::socket::round_trip(stream.as_raw_fd()).unwrap_or(LINGER_FOR);
        let wait = (rtt * IDLE_ROUND_TRIPS).clamp(IDLE_LINGER_AT_LEAST, LINGER_FOR);
        let mut linger = Linger::start(stream);
        linger.until = Instant::now() + wait;
        linger
    }

    /// When the connection is closed even if its client has not closed.
    pub fn deadline(&self) -> Instant {
        self.until
    }

    /// Read and discard whatever the client has sent, without waiting.
    pub fn drain(&mut self, stream: &TcpStream) -> Drained {
        let mut sink = [0u8; 4096];
        loop {
            match recv_now(stream, &mut sink) {
                Ok(0) => return Drained::Finished,
                Ok(n) => {
                    self.left = self.left.saturating_sub(n);
                    if self.left == 0 {
                        return Drained::Finished;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Drained::Open,
                Err(_) => return Drained::Finished,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        (server, client)
    }

    #[test]
    fn draining_waits_for_the_client_and_finishes_when_it_closes() {
        let (server, mut client) = pair();
        let mut linger = Linger::start(&server);
        let mut got = Vec::new();
        client
            .read_to_end(&mut got)
            .expect("the FIN ends the client's read");
        assert_eq!(linger.drain(&server), Drained::Open, "nothing sent yet");
        client.write_all(b"leftover body bytes").expect("write");
        // The bytes may take a moment to arrive: each drain waits for nothing.
        while linger.left == LINGER_MAX_BYTES {
            assert_eq!(linger.drain(&server), Drained::Open);
        }
        drop(client);
        while linger.drain(&server) == Drained::Open {}
        assert!(linger.deadline() > Instant::now() - LINGER_FOR);
    }

    #[test]
    fn an_idle_connection_lingers_a_few_round_trips_within_the_bounds() {
        let (server, mut client) = pair();
        let before = Instant::now();
        let linger = Linger::start_idle(&server);
        let wait = linger.deadline() - before;
        // Loopback round trips are far below the floor.
        assert!(wait >= IDLE_LINGER_AT_LEAST, "{wait:?}");
        assert!(wait < LINGER_FOR, "{wait:?}");
        let mut got = Vec::new();
        client.read_to_end(&mut got).expect("a FIN, not a reset");
        assert!(got.is_empty());
    }

    #[test]
    fn a_client_that_keeps_sending_is_cut_off_after_the_byte_budget() {
        let (server, mut client) = pair();
        let mut linger = Linger::start(&server);
        let chunk = vec![b'x'; 64 * 1024];
        let mut finished = false;
        for _ in 0..(LINGER_MAX_BYTES / chunk.len() + 4) {
            if client.write_all(&chunk).is_err() {
                break;
            }
            if linger.drain(&server) == Drained::Finished {
                finished = true;
                break;
            }
        }
        assert!(finished, "drained past the budget without finishing");
    }
}
