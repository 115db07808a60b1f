//! The stream state machine against a socket pair and scripted sources.

use std::collections::VecDeque;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use super::*;

/// What a scripted source does at each `advance`.
enum Step {
    Line(&'static str),
    Pending,
    Fail(&'static str),
}

struct Script {
    steps: VecDeque<Step>,
    current: &'static str,
    /// After the script: an endless run of ready lines of this length.
    endless: Option<usize>,
    taken: std::sync::Arc<std::sync::atomic::AtomicU64>,
    filler: Vec<u8>,
}

impl Script {
    fn new(steps: Vec<Step>) -> Script {
        Script {
            steps: steps.into(),
            current: "",
            endless: None,
            taken: Default::default(),
            filler: Vec::new(),
        }
    }
}

impl LineSource for Script {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        crate::line_source::block_on(self)
    }
    fn ready(&self) -> bool {
        matches!(self.steps.front(), Some(Step::Line(_)))
    }
    fn close(&mut self) {
        self.steps.clear();
        self.endless = None;
    }
    fn readiness(&self) -> Readiness {
        Readiness::Always
    }
    fn advance(&mut self) -> Progress {
        self.taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match self.steps.pop_front() {
            Some(Step::Line(l)) => {
                self.current = l;
                self.filler.clear();
                Progress::Line
            }
            Some(Step::Pending) => Progress::Pending,
            Some(Step::Fail(m)) => Progress::Failed(m.to_string()),
            None => match self.endless {
                Some(n) => {
                    self.filler = vec![b'x'; n];
                    Progress::Line
                }
                None => Progress::End,
            },
        }
    }
    fn line(&self) -> &[u8] {
        if self.filler.is_empty() {
            self.current.as_bytes()
        } else {
            &self.filler
        }
    }
}

const GATHER: Gather = Gather {
    max_lines: 64,
    max_bytes: 64 * 1024,
};

fn stream_of(script: Script, gather: Gather) -> BodyStream {
    BodyStream::new(
        b"HEAD\r\n".to_vec(),
        Value::source(Box::new(script)),
        Framing::Chunked,
        gather,
    )
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socket pair");
    b.set_nonblocking(true).expect("nonblocking");
    (a, b)
}

/// Everything the peer can read right now.
fn received(peer: &mut UnixStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = peer.read(&mut buf) {
        if n == 0 {
            break;
        }
        all.extend_from_slice(&buf[..n]);
    }
    all
}

#[test]
fn ready_lines_and_the_end_go_out_with_the_head_in_one_send() {
    let (server, mut client) = pair();
    let stats = ServerStats::default();
    let mut s = stream_of(
        Script::new(vec![Step::Line("a"), Step::Line("bb"), Step::Line("c")]),
        GATHER,
    );
    let want = s.drive(server.as_raw_fd(), &stats);
    assert!(matches!(want, Want::Done(StreamEnd::Complete)), "{want:?}");
    assert_eq!(stats.writes(), 1);
    assert_eq!(s.body_bytes, 7);
    assert_eq!(
        received(&mut client),
        b"HEAD\r\n2\r\na\n\r\n3\r\nbb\n\r\n2\r\nc\n\r\n0\r\n\r\n".to_vec()
    );
}

#[test]
fn a_pending_source_sends_what_it_has_at_once_and_waits_for_the_source() {
    let (server, mut client) = pair();
    let stats = ServerStats::default();
    let mut s = stream_of(
        Script::new(vec![
            Step::Pending,
            Step::Line("a"),
            Step::Line("b"),
            Step::Pending,
            Step::Line("c"),
        ]),
        GATHER,
    );
    let fd = server.as_raw_fd();
    assert!(matches!(
        s.drive(fd, &stats),
        Want::Source(Readiness::Always)
    ));
    assert_eq!(received(&mut client), b"HEAD\r\n".to_vec());
    assert!(matches!(s.drive(fd, &stats), Want::Source(_)));
    assert_eq!(received(&mut client), b"2\r\na\n\r\n2\r\nb\n\r\n".to_vec());
    assert!(matches!(
        s.drive(fd, &stats),
        Want::Done(StreamEnd::Complete)
    ));
    assert_eq!(received(&mut client), b"2\r\nc\n\r\n0\r\n\r\n".to_vec());
    assert_eq!(stats.writes(), 3);
}

#[test]
fn gathering_is_capped_per_send() {
    let (server, mut client) = pair();
    let stats = ServerStats::default();
    let steps = (0..5).map(|_| Step::Line("x")).collect();
    let gather = Gather {
        max_lines: 2,
        max_bytes: 1 << 20,
    };
    let mut s = stream_of(Script::new(steps), gather);
    // One batch per turn: the stream yields to other connections between batches.
    let mut turns = 1;
    let mut want = s.drive(server.as_raw_fd(), &stats);
    while matches!(want, Want::Yield) {
        turns += 1;
        want = s.drive(server.as_raw_fd(), &stats);
    }
    assert!(matches!(want, Want::Done(StreamEnd::Complete)), "{want:?}");
    assert_eq!(turns, 3);
    // 2 + 2 + 1 lines, the last batch with the terminator.
    assert_eq!(stats.writes(), 3);
    assert_eq!(received(&mut client).len(), 6 + 5 * 7 + 5);
}

#[test]
fn a_source_failure_ends_the_body_without_its_last_chunk() {
    let (server, mut client) = pair();
    let stats = ServerStats::default();
    let mut s = stream_of(
        Script::new(vec![Step::Line("a"), Step::Fail("upstream reset")]),
        GATHER,
    );
    let want = s.drive(server.as_raw_fd(), &stats);
    assert!(
        matches!(want, Want::Done(StreamEnd::SourceFailed(ref m)) if m == "upstream reset"),
        "{want:?}"
    );
    assert_eq!(received(&mut client), b"HEAD\r\n2\r\na\n\r\n".to_vec());
}

#[test]
fn a_closed_peer_is_a_client_gone() {
    let (server, client) = pair();
    drop(client);
    let stats = ServerStats::default();
    let mut s = stream_of(Script::new(vec![Step::Line("a")]), GATHER);
    let want = s.drive(server.as_raw_fd(), &stats);
    assert!(
        matches!(want, Want::Done(StreamEnd::ClientGone(_))),
        "{want:?}"
    );
}

#[test]
fn a_reader_that_stops_holds_the_stream_to_one_batch_and_the_source_is_not_drained() {
    let (server, mut client) = pair();
    let stats = ServerStats::default();
    let mut script = Script::new(Vec::new());
    script.endless = Some(99);
    let taken = std::sync::Arc::clone(&script.taken);
    let mut s = stream_of(script, GATHER);
    let fd = server.as_raw_fd();
    let mut want = s.drive(fd, &stats);
    for _ in 0..10_000 {
        if matches!(want, Want::Writable) {
            break;
        }
        assert!(matches!(want, Want::Yield), "{want:?}");
        want = s.drive(fd, &stats);
    }
    assert!(matches!(want, Want::Writable), "the socket never filled");
    let pulled = taken.load(std::sync::atomic::Ordering::SeqCst);
    // Driving again while the socket is full takes nothing more from the source.
    for _ in 0..5 {
        assert!(matches!(s.drive(fd, &stats), Want::Writable));
    }
    assert_eq!(taken.load(std::sync::atomic::Ordering::SeqCst), pulled);
    assert!(s.unsent() <= GATHER.max_bytes + 200, "{}", s.unsent());
    // Once the reader catches up, the stream goes on.
    let got = received(&mut client);
    assert!(got.len() > 1000);
    assert!(!matches!(s.drive(fd, &stats), Want::Writable) || !received(&mut client).is_empty());
}
