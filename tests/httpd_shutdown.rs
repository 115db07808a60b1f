//! A graceful shutdown answers what it accepted, including a request whose handler
//! blocks its loop thread: the monitor gives the loop a new thread meanwhile, and
//! that thread must not leave under shutdown while the old one still holds the
//! connection, or the response it then starts would have no loop to finish it. The
//! monitor goes on doing so during the shutdown, so a request behind a handler
//! that blocks only then is answered too.
//!
//! The handler blocks in a way that cannot be suspended (opening a FIFO that nobody
//! writes yet), so the test decides when it returns: after the shutdown began and
//! the loop had every chance to leave.
//!
//! Connections idle between requests when the shutdown begins lose nothing either: one
//! whose next request already waits is answered, the others end with a FIN, never a
//! reset. Those cases hold the loop's thread still ([`frozen`]) so that the request's
//! bytes surely wait unread when the shutdown reaches them.

#[path = "support/frozen.rs"]
mod frozen;
#[path = "support/httpd.rs"]
mod support;

use std::ffi::CString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use frozen::Frozen;
use support::{eventually, handler_dir, read_response, send, threads_named, Server};

/// Make a FIFO at `path`.
fn make_fifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).expect("no NUL in path");
    // SAFETY: mkfifo(3) with a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
}

/// Lines enough that the answer cannot be written at once: the client reads
/// nothing until the handler has returned, so the answer fills the socket's buffers
/// and must wait for room on the loop.
const LINES: usize = 500_000;

fn body_text() -> String {
    (0..LINES).map(|i| format!("line {i:06}\n")).collect()
}

/// Let a handler blocked opening the FIFO `gate` go on.
fn open_gate(gate: &Path) {
    let mut gate = std::fs::OpenOptions::new()
        .write(true)
        .open(gate)
        .expect("open the gate");
    gate.write_all(b"go\n").expect("open the gate");
}

/// A server whose handler marks that it started, blocks until the test writes to
/// `gate`, and then answers with `answer` (an expression, where `BODY` stands for
/// the path of a file of [`LINES`] lines).
struct Gated {
    server: Server,
    dir: tempfile::TempDir,
}

impl Gated {
    fn start(answer: &str) -> Gated {
        let dir = tempfile::tempdir().expect("tempdir");
        let marker = dir.path().join("started");
        let gate = dir.path().join("gate");
        make_fifo(&gate);
        let body = dir.path().join("body.txt");
        std::fs::write(&body, body_text()).expect("write body file");
        let handler = format!(
            "handler req:_>_;wr {marker:?} \"x\";rd {gate:?};{}\n",
            answer.replace("BODY", &format!("{body:?}"))
        );
        let handlers = handler_dir(&[("h.ilo", &handler)]);
        let file = handlers.path().join("h.ilo");
        let server = Server::start(&["--workers", "1", file.to_str().expect("utf-8 path")]);
        // The handler file is compiled by now; the directory may go.
        drop(handlers);
        Gated { server, dir }
    }

    /// Send a request, let its handler block, replace the loop's thread, and begin a
    /// shutdown; then let the handler return. The raw response.
    fn answer_during_shutdown(&self) -> BufReader<std::net::TcpStream> {
        let mut s = self.server.connect();
        send(&mut s, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        let marker = self.dir.path().join("started");
        assert!(
            eventually(Duration::from_secs(20), || marker.exists()),
            "the handler never started"
        );
        let pid = self.server.pid();
        // The thread blocked in the handler is replaced: the loop has two threads.
        assert!(
            eventually(Duration::from_secs(20), || threads_named(pid, "ilo-loop-0")
                == 2),
            "the blocked loop thread was never replaced"
        );
        self.server.request_shutdown();
        // Give the replacement the chance to leave (a server that lets it leaves at
        // once; one that keeps it waits here the whole bound).
        let _ = eventually(Duration::from_millis(500), || {
            threads_named(pid, "ilo-loop-0") < 2
        });
        open_gate(&self.dir.path().join("gate"));
        BufReader::new(s)
    }
}

#[test]
fn a_streamed_answer_begun_during_shutdown_by_a_replaced_thread_is_sent_whole() {
    let mut gated = Gated::start("for-line BODY");
    let mut reader = gated.answer_during_shutdown();
    let r = read_response(&mut reader, false);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"), "shutting down");
    let chunks = r.chunk_texts();
    assert_eq!(chunks.len(), LINES, "one chunk per line, every line");
    assert_eq!(chunks.concat(), body_text());
    assert_eq!(gated.server.terminate(Duration::from_secs(30)), Some(0));
}

#[test]
fn a_large_text_answer_given_during_shutdown_by_a_replaced_thread_is_sent_whole() {
    let mut gated = Gated::start("rd!! BODY");
    let mut reader = gated.answer_during_shutdown();
    let r = read_response(&mut reader, false);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection"), Some("close"), "shutting down");
    assert!(
        r.text() == body_text(),
        "{} bytes of {}",
        r.text().len(),
        body_text().len()
    );
    assert_eq!(gated.server.terminate(Duration::from_secs(30)), Some(0));
}

#[test]
fn a_handler_that_waits_after_its_thread_was_replaced_answers_during_shutdown() {
    // After the gate the handler waits (suspended, not blocking) longer than a
    // replaced thread used to wait for its handlers' reports under shutdown.
    let mut gated = Gated::start("sleep 1500;\"done\\n\"");
    let mut reader = gated.answer_during_shutdown();
    let r = read_response(&mut reader, false);
    assert_eq!((r.status, r.text()), (200, "done\n".to_string()));
    assert_eq!(r.header("connection"), Some("close"), "shutting down");
    assert_eq!(gated.server.terminate(Duration::from_secs(30)), Some(0));
}

#[test]
fn a_request_behind_a_handler_that_blocks_after_shutdown_began_is_answered() {
    // `/a` waits (suspended: its thread stays free, so nothing is replaced) while the
    // shutdown begins, and only then blocks its loop's only thread. A connection
    // accepted before the shutdown sends its request after that: only a replacement
    // thread can answer it before `/a` returns.
    let dir = tempfile::tempdir().expect("tempdir");
    let started = dir.path().join("started");
    let blocking = dir.path().join("blocking");
    let gate = dir.path().join("gate");
    make_fifo(&gate);
    let handler = format!(
        "slow>t;wr {started:?} \"x\";sleep 1000;wr {blocking:?} \"x\";rd {gate:?};\"a\\n\"\n\
         handler req:_>_;p=req.path;=p \"/a\" slow();\"b\\n\"\n"
    );
    let handlers = handler_dir(&[("h.ilo", &handler)]);
    let file = handlers.path().join("h.ilo");
    let mut server = Server::start(&["--workers", "1", file.to_str().expect("utf-8 path")]);
    // Accepted before `/a`'s connection, so before the shutdown.
    let mut b = server.connect();
    let mut a = server.connect();
    send(&mut a, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(
        eventually(Duration::from_secs(20), || started.exists()),
        "the handler never started"
    );
    server.request_shutdown();
    assert!(
        eventually(Duration::from_secs(20), || blocking.exists()),
        "the handler never went on to block"
    );
    send(&mut b, "GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = read_response(&mut BufReader::new(b), false);
    assert_eq!((r.status, r.text()), (200, "b\n".to_string()));
    assert_eq!(r.header("connection"), Some("close"), "shutting down");
    open_gate(&gate);
    let r = read_response(&mut BufReader::new(a), false);
    assert_eq!((r.status, r.text()), (200, "a\n".to_string()));
    assert_eq!(server.terminate(Duration::from_secs(30)), Some(0));
}

/// The server's fixed shutdown deadline: responses still running after it are cut.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// A one-worker server answering each request with its path.
fn path_echo() -> Server {
    let handlers = handler_dir(&[("h.ilo", "handler req:_>_;p=req.path;p\n")]);
    let file = handlers.path().join("h.ilo");
    Server::start(&["--workers", "1", file.to_str().expect("utf-8 path")])
}

/// A connection that has had one keep-alive exchange, and so sits idle between
/// requests.
fn idle_connection(server: &Server) -> TcpStream {
    let mut s = server.connect();
    send(&mut s, "GET /first HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut reader = BufReader::new(s.try_clone().expect("clone socket"));
    let r = read_response(&mut reader, false);
    assert_eq!((r.status, r.text()), (200, "/first".to_string()));
    assert_eq!(r.header("connection"), None, "kept alive");
    assert!(reader.buffer().is_empty(), "nothing after the answer");
    s
}

/// Wait until the server's side has taken every byte `s` sent: acknowledged into its
/// socket (`Ok`), or refused with a reset because that socket was closed (`Err`,
/// the error the reset left on `s`).
fn delivered(s: &TcpStream) -> Result<(), std::io::Error> {
    let mut reset = None;
    let mut unsent: libc::c_int = -1;
    let settled = eventually(Duration::from_secs(20), || {
        if let Some(e) = s.take_error().expect("SO_ERROR") {
            reset = Some(e);
            return true;
        }
        // SAFETY: TIOCOUTQ writes one int, the bytes sent and not yet acknowledged.
        let rc = unsafe { libc::ioctl(s.as_raw_fd(), libc::TIOCOUTQ, &mut unsent) };
        rc == 0 && unsent == 0
    });
    assert!(settled, "{unsent} bytes never acknowledged nor refused");
    reset.map_or(Ok(()), Err)
}

/// Wait for the server's FIN on `s` without taking it: the read the client does
/// later still finds it.
fn sees_end(s: &TcpStream) {
    let mut byte = [0u8; 1];
    match s.peek(&mut byte) {
        Ok(0) => {}
        Ok(_) => panic!("the server sent bytes on an idle connection"),
        Err(e) => panic!("no clean end of the idle connection: {e}"),
    }
}

/// Everything `s` still reads: the clean end of the connection, or the reset.
fn rest_of(s: &mut impl Read) -> Result<Vec<u8>, std::io::Error> {
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).map(|_| rest)
}

#[test]
fn an_idle_connection_whose_next_request_waits_at_shutdown_is_answered_and_closed() {
    let mut server = path_echo();
    let waiting = idle_connection(&server);
    let idle = idle_connection(&server);
    // With the loop's thread held still, the second request reaches the server's
    // socket and stays unread there while the shutdown begins.
    let frozen = Frozen::waiting(server.pid(), "ilo-loop-0");
    let mut writer = waiting.try_clone().expect("clone socket");
    send(&mut writer, "GET /second HTTP/1.1\r\nHost: t\r\n\r\n");
    delivered(&waiting).expect("the second request is in the server's socket");
    server.request_shutdown();
    // The shutdown has looked at the loop's idle connections once the one with
    // nothing waiting has ended.
    sees_end(&idle);
    drop(frozen);

    let mut reader = BufReader::new(waiting);
    if let Err(e) = reader.fill_buf() {
        panic!("the waiting request got no answer: {e}");
    }
    let r = read_response(&mut reader, false);
    assert_eq!((r.status, r.text()), (200, "/second".to_string()));
    assert_eq!(r.header("connection"), Some("close"), "shutting down");
    // A request after that answer is not served: the connection just ends.
    send(&mut writer, "GET /third HTTP/1.1\r\nHost: t\r\n\r\n");
    let rest = rest_of(&mut reader).expect("a clean end after the answer");
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    assert!(rest_of(&mut &idle).expect("a clean end").is_empty());
    drop((writer, reader, idle));
    let (code, log) = server.terminate_and_log(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{log:?}");
    assert!(
        !log.iter().any(|l| l.contains("/third")),
        "served after the closing answer: {log:?}"
    );
}

#[test]
fn a_request_racing_onto_an_idle_connection_at_shutdown_meets_a_clean_end() {
    let mut server = path_echo();
    let mut s = idle_connection(&server);
    // Held still so nothing but the shutdown itself acts on the connection until the
    // raced request has arrived.
    let frozen = Frozen::waiting(server.pid(), "ilo-loop-0");
    server.request_shutdown();
    sees_end(&s);
    // The client has not looked yet and sends its next request: it must find the
    // connection ended (which an HTTP client retries elsewhere), not reset.
    send(&mut s, "GET /raced HTTP/1.1\r\nHost: t\r\n\r\n");
    if let Err(e) = delivered(&s) {
        panic!("the raced request was answered with a reset: {e}");
    }
    drop(frozen);
    let rest = rest_of(&mut s).expect("EOF, not a reset");
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    // The client never closes its side; the server still exits, within its deadline.
    let signalled = Instant::now();
    let (code, log) = server.terminate_and_log(SHUTDOWN_DEADLINE * 3);
    assert_eq!(code, Some(0), "{log:?}");
    let took = signalled.elapsed();
    assert!(took < SHUTDOWN_DEADLINE, "exit took {took:?}");
    assert!(s.take_error().expect("SO_ERROR").is_none(), "reset at exit");
    assert!(!log.iter().any(|l| l.contains("/raced")), "{log:?}");
}
