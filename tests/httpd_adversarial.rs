//! `ilo httpd` under attack: handlers and requests written to break the server, its
//! sandbox or its resources, each through the real binary over real sockets.
//!
//! One server runs every attack in turn ([`ATTACKS`]), started with every limit and
//! capability flag the attacks probe. After each attack the process must still be
//! alive and answering; after all of them its resident memory and open descriptors
//! must be back near where they were before the first one.
//!
//! To add an attack: write `fn name(t: &Target)`, add any route it needs to
//! [`HANDLER`] and put it in [`ATTACKS`].

#[path = "support/httpd.rs"]
mod support;

use std::fs;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::{
    eventually, fds_on, ilo, local_listener, read_head, read_request_head, CHUNKED_HEAD,
};
use support::{read_response, send, Server, IO_TIMEOUT};

/// The handler every attack talks to: one route per kind of attack. The query is
/// the raw argument (a path, a variable name, a number).
const HANDLER: &str = r#"
type res{status:n;headers:M t t;body:_}

nq q:t>n;r=num q;?r{~v:v;^e:0}
deep n:n>L _;x=[];@i 0..n{x=[i x]};x
deep-all n:n>t;a=deep n;b=deep n;e=(a == b);s=fmt "{}" a;j=jdmp b;fmt "{} {} {}" e (len s) (len j)
grow n:n>n;s="x";@i 0..n{s=+s s};len s
spin>n;wh true{};0
count-lines q:t>n;c=0;@l (for-line q){c=+c 1};c

handler req:_>_;
  p=req.path
  q=req.query
  =p "/deep" deep-all (nq q)
  =p "/spin" spin()
  =p "/padl" padl "x" (nq q)
  =p "/range" len (range 0 (nq q))
  =p "/grow" grow (nq q)
  =p "/count-lines" count-lines q
  =p "/rd" rd q
  =p "/rdl" rdl q
  =p "/for-line" for-line q
  =p "/tail" tail-file q
  =p "/proxy" get-stream!! q
  =p "/wr" wr q "written by a handler"
  =p "/env" env q
  =p "/echo" res status:200 headers:mmap body:req.body
  "ok"
"#;

/// What an attack gets: the running server and the directories around it.
pub struct Target {
    server: Server,
    /// The only directory the server may read and write.
    allowed: PathBuf,
    /// A directory beside it that holds a secret.
    outside: PathBuf,
}

const SECRET: &str = "TOP-SECRET-CONTENTS";

type Attack = fn(&Target);

const ATTACKS: &[(&str, Attack)] = &[
    (
        "symlinked files and directories cannot be read",
        read_escapes,
    ),
    ("writes stay inside --allow-write", write_escapes),
    ("env sees only --allow-env names", env_escapes),
    (
        "a stalled upstream is closed within a second of the client leaving",
        stalled_upstream_client_gone,
    ),
    (
        "a quiet tail-file is released within a second of the client leaving",
        quiet_tail_client_gone,
    ),
    (
        "3,000 unfinished request bodies hold no threads and stall nobody",
        stalled_bodies,
    ),
    ("HTTP/1.1 needs exactly one Host", host_rules),
    ("ambiguous body framing is refused", ambiguous_framing),
    (
        "a body that is not UTF-8 is refused, not altered",
        non_utf8_bodies,
    ),
    (
        "a body sent in pieces is answered once complete, not before",
        body_in_pieces,
    ),
    ("values nested a million deep", deep_values),
    (
        "sizes from the request cannot exhaust memory",
        huge_allocations,
    ),
    (
        "a runaway handler stops within a second of its client leaving",
        runaway_handler_client_gone,
    ),
    (
        "a line longer than --max-line fails its source",
        overlong_line,
    ),
];

/// `--handler-timeout` stops a handler whose client is still waiting: 503.
#[test]
fn a_handler_past_its_timeout_is_answered_503() {
    let dir = support::handler_dir(&[("spin.ilo", "handler req:_>_;wh true{};0\n")]);
    let server = Server::start(&[
        "--handler-timeout=1",
        dir.path().join("spin.ilo").to_str().expect("utf-8 path"),
    ]);
    let started = Instant::now();
    let r = server.get("/");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(started.elapsed() >= Duration::from_secs(1));
    let logged = server
        .wait_log("ILO-R008", IO_TIMEOUT)
        .expect("the cancellation is logged");
    assert!(logged.contains("--handler-timeout"), "{logged}");
    assert_eq!(server.get("/").status, 503, "the server keeps serving");
}

/// The same for range loops, which count in an integer and look for cancellation once
/// every few thousand iterations: a plain one and one updating a list tested once.
#[test]
fn a_range_loop_past_its_timeout_is_answered_503() {
    for body in [
        "s=0;@i 0..1e15{s=+s 1};s",
        "xs=range 0 10;@i 0..1e15{xs=lst xs 0 i};len xs",
    ] {
        let dir = support::handler_dir(&[("spin.ilo", &format!("handler req:_>_;{body}\n"))]);
        let server = Server::start(&[
            "--handler-timeout=1",
            dir.path().join("spin.ilo").to_str().expect("utf-8 path"),
        ]);
        let r = server.get("/");
        assert_eq!(r.status, 503, "{body}: {}", r.text());
        let logged = server
            .wait_log("ILO-R008", IO_TIMEOUT)
            .expect("the cancellation is logged");
        assert!(logged.contains("--handler-timeout"), "{body}: {logged}");
    }
}

/// A client that closes its side half way through a body is done with the request:
/// the server answers 400 (or just closes, when it saw the close on its own) at once
/// instead of holding the connection until the 30 s body deadline. The close often
/// arrives with the partial body in one read, the case that used to be missed.
#[test]
fn a_body_cut_short_by_the_client_is_not_held_until_its_deadline() {
    let dir = support::handler_dir(&[("echo.ilo", "handler req:_>_;req.body\n")]);
    let server = Server::start(&[dir.path().join("echo.ilo").to_str().expect("utf-8 path")]);
    // Each read waits at most IO_TIMEOUT (15 s), half the body deadline.
    let answers = send_and_close(&server, 40, |i| {
        if i % 2 == 0 {
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial"
        } else {
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhalf"
        }
    });
    for (i, answer) in answers.iter().enumerate() {
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 400 "),
            "connection {i}: {answer}"
        );
    }
    assert_eq!(server.get("/").status, 200, "the server keeps serving");
}

/// Heads that stall past the 10 s header timeout are each answered 408 (the close
/// that follows, with no lingering, does not destroy the answer), and the server
/// goes on serving. Waits for the timeout itself: about 10 s.
#[test]
fn stalled_heads_are_answered_408_at_their_deadline() {
    let dir = support::handler_dir(&[("ok.ilo", "handler req:_>_;\"ok\"\n")]);
    let server = Server::start(&[dir.path().join("ok.ilo").to_str().expect("utf-8 path")]);
    let mut clients = Vec::new();
    for _ in 0..40 {
        let mut s = server.connect();
        send(&mut s, "GET / HTTP/1.1\r\nHost: t\r\nX-Half: ");
        clients.push(s);
    }
    for (i, mut s) in clients.into_iter().enumerate() {
        let mut answer = Vec::new();
        if let Err(e) = s.read_to_end(&mut answer) {
            panic!("connection {i} not answered in time: {e}");
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 408 "),
            "connection {i}: {answer}"
        );
    }
    assert_eq!(server.get("/").status, 200, "the server keeps serving");
}

/// Clients whose requests are refused (400, 413, 431) and that then neither read
/// nor close cost their worker nothing while the server waits for them to close:
/// that wait is a state of the connection on the event loop, not a blocking read on
/// the loop's thread. (It used to be one: each such client blocked the thread for up
/// to half a second, until the monitor gave up on it and started a replacement, so
/// 40 of them meant dozens of threads and a stall of the loop for each.) The
/// refusals still arrive whole once the server has closed those connections: what
/// the clients had sent beyond what was parsed was drained, so the close did not
/// turn into a reset.
#[test]
fn refused_clients_that_stay_open_hold_no_thread() {
    let dir = support::handler_dir(&[("ok.ilo", "handler req:_>_;\"ok\"\n")]);
    let server = Server::start(&[
        "--workers=1",
        "--quiet",
        dir.path().join("ok.ilo").to_str().expect("utf-8 path"),
    ]);
    assert_eq!(server.get("/").status, 200);
    let sockets_before = open_sockets(server.pid());
    let threads_before = threads(&server);
    let oversized_head = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    );
    let refusals: [(&[u8], u16); 3] = [
        (b"NOT HTTP AT ALL\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\nbody bytes",
            413,
        ),
        (oversized_head.as_bytes(), 431),
    ];
    let sampling = std::sync::atomic::AtomicBool::new(true);
    let peak_threads = thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak = 0;
            while sampling.load(std::sync::atomic::Ordering::SeqCst) {
                peak = peak.max(threads(&server));
                thread::sleep(Duration::from_millis(2));
            }
            peak
        });
        let mut hostile = Vec::new();
        for i in 0..40 {
            let (raw, status) = refusals[i % refusals.len()];
            let mut s = server.connect();
            s.write_all(raw).expect("send a refused request");
            hostile.push((s, status));
        }
        // Every refusal's head arrives (the server is waiting for these clients
        // to close now), and a request behind them is answered.
        for (i, (s, status)) in hostile.iter().enumerate() {
            let (got, _) = read_head(&mut BufReader::new(s));
            assert_eq!(got, *status, "refused connection {i}");
        }
        let answered = server.get("/");
        assert_eq!((answered.status, answered.text()), (200, "ok".to_string()));
        sampling.store(false, std::sync::atomic::Ordering::SeqCst);
        let peak = sampler.join().expect("sampler");
        // The server closes each refused connection at its linger deadline, since
        // the clients neither close nor send more.
        assert!(
            eventually(Duration::from_secs(10), || open_sockets(server.pid())
                <= sockets_before),
            "refused connections still open: {} sockets, {sockets_before} before",
            open_sockets(server.pid())
        );
        for (i, (mut s, status)) in hostile.into_iter().enumerate() {
            let mut rest = Vec::new();
            if let Err(e) = s.read_to_end(&mut rest) {
                panic!("refused connection {i} ({status}) ended in {e}, not a close");
            }
        }
        peak
    });
    // A replacement thread now and then is the monitor's right on a loaded machine
    // (a runnable thread that waits too long for a core); one per client is not.
    assert!(
        peak_threads <= threads_before + 2,
        "{threads_before} threads before 40 refused clients, {peak_threads} while they stayed open"
    );
}

/// Clients that pipeline requests for large answers and read none of them hold no
/// thread: an answer that does not fit in the socket waits for room as a suspended
/// task, not in a blocking write. (A blocking write held its loop's thread for up to
/// the 60 s write timeout, and the monitor started a replacement for each such
/// client.) Every answer then arrives whole once the clients do read.
#[test]
fn clients_that_do_not_read_their_answers_hold_no_thread() {
    let dir = support::handler_dir(&[(
        "big.ilo",
        "big n:n>t;s=\"x\";@i 0..n{s=+s s};s\nhandler req:_>_;big 20\n",
    )]);
    let server = Server::start(&[
        "--workers=1",
        "--quiet",
        dir.path().join("big.ilo").to_str().expect("utf-8 path"),
    ]);
    assert_eq!(server.get("/").text().len(), 1 << 20);
    // 16 MiB each: more than the two sockets' buffers hold.
    let pipelined = "GET / HTTP/1.1\r\nHost: t\r\n\r\n".repeat(16);
    let mut readers = Vec::new();
    for _ in 0..10 {
        let mut s = server.connect();
        send(&mut s, &pipelined);
        readers.push(s);
    }
    // Behind them on the same worker: answered once the loop has dealt with them.
    assert_eq!(server.get("/").text().len(), 1 << 20);
    // No loop thread is left blocked on a client's socket. (Not a thread count: on
    // a loaded machine the monitor rightly replaces a loop thread that waited too
    // long for a core, and a replaced thread stays until the tasks it suspended
    // finish, here until the clients read. A blocking write keeps a thread in the
    // write, or in a poll for room, until the 60 s write timeout.)
    let pid = server.pid();
    assert!(
        eventually(IO_TIMEOUT, || loop_threads_on_sockets(pid).is_empty()),
        "loop threads held by clients that do not read: {:?}",
        loop_threads_on_sockets(pid)
    );
    for (i, s) in readers.into_iter().enumerate() {
        let mut r = BufReader::new(s);
        for n in 0..16 {
            let answer = read_response(&mut r, false);
            assert_eq!(
                (answer.status, answer.body.len()),
                (200, 1 << 20),
                "client {i}, answer {n}"
            );
        }
    }
}

/// The event-loop threads of process `pid` that are inside a system call writing to
/// a socket or waiting in `poll` (for room in one), with that call's number. Loop
/// threads wait in `epoll_wait`, or on a lock, never there for long.
fn loop_threads_on_sockets(pid: u32) -> Vec<(String, libc::c_long)> {
    let mut on_socket = vec![
        libc::SYS_write,
        libc::SYS_writev,
        libc::SYS_sendto,
        libc::SYS_sendmsg,
        libc::SYS_ppoll,
    ];
    #[cfg(target_arch = "x86_64")]
    on_socket.push(libc::SYS_poll);
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| {
            let dir = t.ok()?.path();
            let name = fs::read_to_string(dir.join("comm")).ok()?;
            let call = fs::read_to_string(dir.join("syscall")).ok()?;
            let call: libc::c_long = call.split_whitespace().next()?.parse().ok()?;
            (name.starts_with("ilo-loop") && on_socket.contains(&call))
                .then(|| (name.trim().to_string(), call))
        })
        .collect()
}

/// A client that sends part of a head and then closes its side can never complete
/// the request: its connection is closed at once, with nothing to answer, instead of
/// at the 10 s header timeout with a 408 no one reads.
#[test]
fn a_partial_head_followed_by_the_clients_close_is_closed_at_once() {
    let dir = support::handler_dir(&[("ok.ilo", "handler req:_>_;\"ok\"\n")]);
    let server = Server::start(&[
        "--quiet",
        dir.path().join("ok.ilo").to_str().expect("utf-8 path"),
    ]);
    let baseline = open_sockets(server.pid());
    // Each read waits at most IO_TIMEOUT (15 s); the header timeout is 10 s, and a
    // server that waits for it answers 408.
    let answers = send_and_close(&server, 20, |i| {
        // Half of them pipeline a complete request first: it is still answered.
        if i % 2 == 0 {
            "GET / HTTP/1.1\r\nHost: t\r\nX-Half: "
        } else {
            "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost"
        }
    });
    for (i, answer) in answers.iter().enumerate() {
        let answers = answer.matches("HTTP/1.1 ").count();
        assert_eq!(answers, i % 2, "connection {i}: {answer}");
        assert!(!answer.contains(" 408 "), "connection {i}: {answer}");
    }
    assert!(
        eventually(Duration::from_secs(5), || open_sockets(server.pid())
            <= baseline),
        "closed clients' connections still held: {} sockets, {baseline} before",
        open_sockets(server.pid())
    );
    assert_eq!(server.get("/").status, 200, "the server keeps serving");
}

/// Open `clients` connections, send each `raw(i)` and close its sending side; then
/// read each to the server's close: what each was answered.
fn send_and_close(
    server: &Server,
    clients: usize,
    raw: impl Fn(usize) -> &'static str,
) -> Vec<String> {
    let mut open = Vec::new();
    for i in 0..clients {
        let mut s = server.connect();
        send(&mut s, raw(i));
        s.shutdown(std::net::Shutdown::Write)
            .expect("close the sending side");
        open.push(s);
    }
    let mut answers = Vec::new();
    for (i, mut s) in open.into_iter().enumerate() {
        let mut answer = Vec::new();
        if let Err(e) = s.read_to_end(&mut answer) {
            panic!("connection {i} still open after its client closed: {e}");
        }
        answers.push(String::from_utf8_lossy(&answer).into_owned());
    }
    answers
}

/// The sockets (listening and connected) process `pid` holds open.
fn open_sockets(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| {
            entries
                .filter_map(|e| fs::read_link(e.ok()?.path()).ok())
                .filter(|link| link.to_string_lossy().starts_with("socket:"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn the_server_survives_every_attack_and_returns_to_baseline() {
    let target = start();
    // Warm up every route once, so the baseline includes what serving costs anyway.
    for _ in 0..3 {
        assert_eq!(target.server.get("/").status, 200);
        target.server.get(&format!("/rd?{}", target.file("ok.txt")));
    }
    let baseline = Usage::of(&target.server);
    for (name, attack) in ATTACKS {
        eprintln!("attack: {name}");
        attack(&target);
        let now = Usage::of(&target.server);
        eprintln!(
            "  then: {} KiB resident, {} descriptors",
            now.rss_kib, now.fds
        );
        let r = target.server.get("/");
        assert_eq!(
            (r.status, r.text()),
            (200, "ok".to_string()),
            "after: {name}"
        );
    }
    // Every connection the attacks opened has been closed by its client by now, and
    // the server closes a connection as soon as its loop sees that (for a stalled
    // body too: see the test above), without waiting for any deadline. So this is
    // the time to handle a few thousand reports, far below the 30 s body deadline
    // that would otherwise be the bound.
    let settled = Usage::settle(&target.server, &baseline, Duration::from_secs(10));
    eprintln!(
        "settled: {} KiB resident, {} descriptors",
        settled.rss_kib, settled.fds
    );
    assert!(
        settled.near(&baseline),
        "descriptors: {} before the attacks, {} after; resident memory: {} KiB before, {} KiB after",
        baseline.fds,
        settled.fds,
        baseline.rss_kib,
        settled.rss_kib
    );
}

fn start() -> Target {
    let dir = tempfile::tempdir().expect("tempdir");
    // The directory is kept for the whole test run: the server outlives this frame.
    let root = dir.keep();
    let allowed = root.join("allowed");
    let outside = root.join("outside");
    fs::create_dir_all(&allowed).expect("mkdir allowed");
    fs::create_dir_all(&outside).expect("mkdir outside");
    fs::write(allowed.join("ok.txt"), "inside").expect("write ok.txt");
    fs::write(outside.join("secret.txt"), SECRET).expect("write secret");
    let handler = root.join("handler.ilo");
    fs::write(&handler, HANDLER).expect("write handler");
    let server = Server::start_with(
        ilo()
            .env("ILO_VISIBLE", "seen")
            .env("ILO_HIDDEN", SECRET)
            .arg(format!("--allow-read={}", allowed.display()))
            .arg(format!("--allow-write={}", allowed.display()))
            .arg("--allow-env=ILO_VISIBLE")
            .arg("--max-line=65536")
            .args(["httpd", "--quiet", "--port", "0"])
            .arg(&handler),
    );
    Target {
        server,
        allowed,
        outside,
    }
}

impl Target {
    /// A path inside the allowed directory, as the handler's query.
    fn file(&self, name: &str) -> String {
        self.allowed.join(name).display().to_string()
    }

    /// `GET route?arg`: status and body.
    fn ask(&self, route: &str, arg: &str) -> (u16, String) {
        let r = self.server.get(&format!("{route}?{arg}"));
        (r.status, r.text())
    }

    /// The request must be refused, and nothing of the secret may come back.
    fn refused(&self, route: &str, arg: &str) {
        let (status, body) = self.ask(route, arg);
        assert_eq!(status, 500, "{route}?{arg} answered {status}: {body}");
        assert!(!body.contains(SECRET), "{route}?{arg} leaked: {body}");
    }
}

fn symlink(to: &Path, at: &Path) {
    std::os::unix::fs::symlink(to, at).expect("symlink");
}

fn read_escapes(t: &Target) {
    symlink(&t.outside.join("secret.txt"), &t.allowed.join("leak"));
    symlink(&t.outside, &t.allowed.join("dirlink"));
    let through_parent = format!("{}/../outside/secret.txt", t.allowed.display());
    let escapes = [t.file("leak"), t.file("dirlink/secret.txt"), through_parent];
    for path in &escapes {
        for route in ["/rd", "/rdl", "/for-line", "/tail"] {
            t.refused(route, path);
        }
        let (_, body) = t.ask("/rd", path);
        assert!(body.contains("--allow-read"), "{path}: {body}");
    }
    // What is really inside stays readable, also through a symlink that stays inside.
    symlink(&t.allowed.join("ok.txt"), &t.allowed.join("alias"));
    assert_eq!(t.ask("/rd", &t.file("ok.txt")), (200, "inside".to_string()));
    assert_eq!(t.ask("/rd", &t.file("alias")), (200, "inside".to_string()));
}

fn write_escapes(t: &Target) {
    symlink(&t.outside.join("secret.txt"), &t.allowed.join("overwrite"));
    symlink(&t.outside.join("planted.txt"), &t.allowed.join("dangling"));
    symlink(&t.outside, &t.allowed.join("outdir"));
    for path in [
        t.file("overwrite"),
        t.file("dangling"),
        t.file("outdir/planted.txt"),
        t.outside.join("planted.txt").display().to_string(),
    ] {
        t.refused("/wr", &path);
    }
    assert_eq!(
        fs::read_to_string(t.outside.join("secret.txt")).expect("secret still there"),
        SECRET
    );
    assert!(!t.outside.join("planted.txt").exists());
    let (status, body) = t.ask("/wr", &t.file("new.txt"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        fs::read_to_string(t.allowed.join("new.txt")).expect("written inside"),
        "written by a handler"
    );
}

fn env_escapes(t: &Target) {
    assert_eq!(t.ask("/env", "ILO_VISIBLE"), (200, "seen".to_string()));
    t.refused("/env", "ILO_HIDDEN");
    let (_, body) = t.ask("/env", "ILO_HIDDEN");
    assert!(body.contains("--allow-env"), "{body}");
}

/// How long a resource may outlive the client that made the server open it: the
/// issue's bound ("within 1 s"), which these attacks are about. What it measures
/// takes milliseconds (a hang-up is seen by epoll at once, a runaway handler within
/// the monitor's 50 ms watch), so a loaded machine has most of it as room.
const RELEASED_WITHIN: Duration = Duration::from_secs(1);

/// An upstream sends one line, then stalls with the connection open; the client
/// leaves mid-body. The server must close its upstream connection promptly.
fn stalled_upstream_client_gone(t: &Target) {
    let (listener, port) = local_listener();
    let (closed_tx, closed) = mpsc::channel::<Instant>();
    thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        read_request_head(&mut s);
        let _ = s.write_all(CHUNKED_HEAD);
        let _ = s.write_all(b"6\r\nfirst\n\r\n");
        // Stall: send nothing more; a read ends only when the server lets go.
        let mut buf = [0u8; 64];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        let _ = closed_tx.send(Instant::now());
    });
    let mut c = t.server.connect();
    send(
        &mut c,
        &format!("GET /proxy?http://127.0.0.1:{port}/ HTTP/1.1\r\nHost: t\r\n\r\n"),
    );
    let mut r = BufReader::new(c);
    assert_eq!(read_head(&mut r).0, 200);
    assert_eq!(
        support::next_chunk(&mut r).as_deref(),
        Some(&b"first\n"[..])
    );
    drop(r);
    let left = Instant::now();
    let at = closed
        .recv_timeout(Duration::from_secs(10))
        .expect("the upstream connection was never closed");
    let after = at.saturating_duration_since(left);
    assert!(
        after < RELEASED_WITHIN,
        "upstream closed {after:?} after the client left"
    );
}

/// A client follows a file nobody writes to, then leaves. The server must release
/// the file (and its watch) promptly, although the source never becomes readable.
fn quiet_tail_client_gone(t: &Target) {
    let quiet = t.allowed.join("quiet.log");
    fs::write(&quiet, "").expect("create quiet.log");
    let pid = t.server.pid();
    let mut c = t.server.connect();
    send(
        &mut c,
        &format!("GET /tail?{} HTTP/1.1\r\nHost: t\r\n\r\n", quiet.display()),
    );
    let mut r = BufReader::new(c);
    assert_eq!(read_head(&mut r).0, 200);
    assert!(
        !fds_on(pid, &quiet).is_empty(),
        "the stream holds the file open"
    );
    drop(r);
    let left = Instant::now();
    assert!(
        eventually(Duration::from_secs(10), || fds_on(pid, &quiet).is_empty()),
        "the file is never released"
    );
    let after = left.elapsed();
    assert!(
        after < RELEASED_WITHIN,
        "file released {after:?} after the client left"
    );
}

/// Threads of the server process right now.
fn threads(server: &Server) -> usize {
    let status = fs::read_to_string(format!("/proc/{}/status", server.pid()))
        .expect("read the server's /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Threads line")
}

/// Send `raw` on a fresh connection and read the response.
fn exchange(server: &Server, raw: &[u8]) -> support::Response {
    let mut s = server.connect();
    s.write_all(raw).expect("write request");
    read_response(&mut BufReader::new(s), false)
}

fn stalled_bodies(t: &Target) {
    let server = &t.server;
    let before = threads(server);
    let mut stalled: Vec<TcpStream> = Vec::with_capacity(3000);
    for i in 0..3000 {
        let mut s = server.connect();
        // Half by length, half chunked; both stop in the middle of the body.
        let raw = if i % 2 == 0 {
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial"
        } else {
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhalf"
        };
        send(&mut s, raw);
        stalled.push(s);
    }
    // A request behind all of them is answered at once, not after the body timeout.
    let asked = Instant::now();
    assert_eq!(server.get("/").status, 200);
    let took = asked.elapsed();
    // Generous for a loaded machine; a thread per stalled body took 15 s and more.
    assert!(
        took < Duration::from_secs(10),
        "answered only after {took:?} behind stalled bodies"
    );
    let during = threads(server);
    assert!(
        during < before + 16,
        "{during} threads with 3,000 unfinished bodies (from {before})"
    );
    // Finishing one of them still works: the body was kept, not dropped.
    let mut first = stalled.swap_remove(0);
    send(&mut first, &"x".repeat(93));
    let r = read_response(&mut BufReader::new(first), false);
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), format!("partial{}", "x".repeat(93)));
}

fn host_rules(t: &Target) {
    let r = exchange(&t.server, b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(r.status, 400);
    let r = exchange(&t.server, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    assert_eq!(r.status, 400);
    let r = exchange(&t.server, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200, "HTTP/1.0 needs no Host");
}

fn ambiguous_framing(t: &Target) {
    let cases: [(&str, u16); 9] = [
        ("Content-Length: +5\r\n", 400),
        ("Content-Length: -1\r\n", 400),
        ("Content-Length: 5x\r\n", 400),
        ("Content-Length: 5\r\nContent-Length: 6\r\n", 400),
        ("Content-Length: 5, 6\r\n", 400),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            400,
        ),
        ("Transfer-Encoding: chunked, gzip\r\n", 400),
        ("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400),
        ("Transfer-Encoding: gzip, chunked\r\n", 501),
    ];
    for (headers, status) in cases {
        let raw = format!("POST /echo HTTP/1.1\r\nHost: t\r\n{headers}\r\nhello");
        let r = exchange(&t.server, raw.as_bytes());
        assert_eq!(r.status, status, "{headers:?}");
    }
    // The same value twice is one length.
    let raw = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    let r = exchange(&t.server, raw.as_bytes());
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
}

fn non_utf8_bodies(t: &Target) {
    let mut raw = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\n".to_vec();
    raw.extend_from_slice(&[b'a', 0xff, 0xfe, b'b']);
    let r = exchange(&t.server, &raw);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("not valid UTF-8"), "{}", r.text());
    // Chunked the same.
    let mut raw =
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n".to_vec();
    raw.extend_from_slice(&[0xc3, 0x28]);
    raw.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_eq!(exchange(&t.server, &raw).status, 400);
    // Valid multi-byte text passes through intact.
    let text = "héllo → 世界";
    let raw = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{text}",
        text.len()
    );
    let r = exchange(&t.server, raw.as_bytes());
    assert_eq!((r.status, r.text().as_str()), (200, text));
}

fn body_in_pieces(t: &Target) {
    let mut s = t.server.connect();
    send(
        &mut s,
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc",
    );
    // Nothing comes back while the body may still arrive.
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut byte = [0u8; 1];
    assert!(
        s.read(&mut byte).is_err(),
        "answered before the body was complete"
    );
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    send(&mut s, "defghij");
    let r = read_response(&mut BufReader::new(s), false);
    assert_eq!((r.status, r.text().as_str()), (200, "abcdefghij"));
}

/// Built in a loop (`x=[i x]`), compared, displayed, written as JSON and dropped:
/// each walk of a million levels must run on a loop thread's small stack.
fn deep_values(t: &Target) {
    const DEPTH: usize = 1_000_000;
    // `[i, ` per level (digits of 0..DEPTH), then `[]` and the closing brackets;
    // JSON has no space after the comma.
    let digits: usize = (0..DEPTH).map(|i| i.to_string().len()).sum();
    let display_len = digits + 3 * DEPTH + 2 + DEPTH;
    let json_len = display_len - DEPTH;
    let mut s = t.server.connect();
    // Building two million lists in a debug build on a busy machine takes a while.
    s.set_read_timeout(Some(Duration::from_secs(180)))
        .expect("timeout");
    send(
        &mut s,
        "GET /deep?1000000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let r = read_response(&mut BufReader::new(s), false);
    assert_eq!(
        (r.status, r.text()),
        (200, format!("true {display_len} {json_len}"))
    );
}

/// `wh true{}` while the client waits, then the client leaves: the handler must be
/// cancelled, its thread gone and the process idle again within a second.
fn runaway_handler_client_gone(t: &Target) {
    let pid = t.server.pid();
    let threads_before = threads(&t.server);
    let mut c = t.server.connect();
    send(&mut c, "GET /spin HTTP/1.1\r\nHost: t\r\n\r\n");
    let spinning = cpu_ticks(pid);
    assert!(
        eventually(Duration::from_secs(10), || cpu_ticks(pid) > spinning + 10),
        "the handler never spun"
    );
    drop(c);
    let left = Instant::now();
    assert!(
        eventually(Duration::from_secs(10), || threads(&t.server)
            <= threads_before),
        "the handler's thread never came back"
    );
    let after = left.elapsed();
    assert!(
        after < RELEASED_WITHIN,
        "thread back {after:?} after the client left"
    );
    let idle_from = cpu_ticks(pid);
    thread::sleep(Duration::from_millis(500));
    let used = cpu_ticks(pid) - idle_from;
    assert!(
        used <= 5,
        "still busy: {used} ticks of CPU in half a second"
    );
}

/// CPU time the process has used, in clock ticks (user plus system).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 of `rest`.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// Sizes taken from the query: each must be a runtime error (500) for that request,
/// found before the memory is taken, never an abort or gigabytes of resident memory.
fn huge_allocations(t: &Target) {
    let before = Usage::of(&t.server);
    for (route, arg) in [
        ("/padl", "1e13"),
        ("/padl", "1e9"),
        ("/range", "1e9"),
        ("/range", "1e15"),
        ("/grow", "64"),
    ] {
        let (status, body) = t.ask(route, arg);
        assert_eq!(status, 500, "{route}?{arg}: {body}");
        let after = Usage::of(&t.server);
        assert!(
            after.rss_kib < before.rss_kib + 512 * 1024,
            "{route}?{arg} took the server from {} KiB to {} KiB",
            before.rss_kib,
            after.rss_kib
        );
    }
    let logged = t
        .server
        .wait_log("ILO-R007", Duration::from_secs(5))
        .expect("the refused allocation is logged");
    assert!(logged.contains("--max-alloc"), "{logged}");
    // Sizes within the ceiling still work.
    assert_eq!(t.ask("/padl", "3"), (200, "  x".to_string()));
    assert_eq!(t.ask("/range", "100000"), (200, "100000".to_string()));
}

/// A file whose first line is longer than the server's `--max-line` (64 KiB here):
/// reading it fails instead of buffering the whole line; lines that fit still read.
fn overlong_line(t: &Target) {
    let long = t.allowed.join("long.txt");
    let mut text = "x".repeat(1024 * 1024);
    text.push_str("\nshort\n");
    fs::write(&long, text).expect("write long.txt");
    let (status, body) = t.ask("/count-lines", &long.display().to_string());
    assert_eq!(status, 500, "{body}");
    t.server
        .wait_log("--max-line", Duration::from_secs(5))
        .expect("the failed source is logged");
    let fine = t.allowed.join("fine.txt");
    fs::write(&fine, "a\nb\nc\n").expect("write fine.txt");
    assert_eq!(
        t.ask("/count-lines", &fine.display().to_string()),
        (200, "3".to_string())
    );
}

/// Resident memory and open descriptors of the server process.
struct Usage {
    rss_kib: u64,
    fds: usize,
}

impl Usage {
    fn of(server: &Server) -> Usage {
        let pid = server.pid();
        let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS line");
        let fds = fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("proc fd")
            .count();
        Usage { rss_kib, fds }
    }

    /// Within a few descriptors and 32 MiB of `baseline`?
    fn near(&self, baseline: &Usage) -> bool {
        self.fds <= baseline.fds + 2 && self.rss_kib <= baseline.rss_kib + 32 * 1024
    }

    /// Wait (bounded) for the usage to come back near `baseline`; the usage then.
    fn settle(server: &Server, baseline: &Usage, within: Duration) -> Usage {
        let deadline = Instant::now() + within;
        loop {
            let now = Usage::of(server);
            if now.near(baseline) || Instant::now() > deadline {
                return now;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}
