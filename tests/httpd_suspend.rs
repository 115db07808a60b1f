//! Handlers that wait hold no thread: a handler waiting for an upstream's connect or
//! response head, or in `sleep`, is suspended on its own stack and its event loop
//! serves others meanwhile. Through the real binary (and a built one): a thousand
//! handlers waiting on a silent upstream use the loop threads alone and flat memory;
//! an upstream that never answers stalls nobody else; a client that hangs up while
//! its handler waits ends that handler and its upstream connection; recursion in a
//! handler is bounded by its own stack's guard.

#[path = "support/httpd.rs"]
mod support;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use support::{
    eventually, handler_dir, ilo, local_listener, proc_status, read_request_head, read_response,
    send, Server, IO_TIMEOUT,
};

/// A proxy to the upstream on `port` at `/`, a plain answer at `/fast`, a nap at
/// `/sleep` (ten minutes at `/long-sleep`), two `get`s in turn at `/two`, a long computation at `/sum`, deep and unbounded recursion at `/deep`
/// and `/forever`.
fn handler(port: u16) -> String {
    format!(
        "depth n:n>n;<=n 0 0;r=depth -n 1;+r 1\n\
         forever n:n>n;r=forever +n 1;+r 1\n\
         nap>t;sleep 300;\"slept\\n\"\n\
         long-nap>t;sleep 600000;\"slept\\n\"\n\
         sum-to n:n>n;s=0;@i 0..n{{s=+s i}};s\n\
         two>t;a=get!! \"http://127.0.0.1:{port}/\";b=get!! \"http://127.0.0.1:{port}/\";+a b\n\
         handler req:_>_;\n\
         \x20 p=req.path\n\
         \x20 =p \"/fast\" \"fast\\n\"\n\
         \x20 =p \"/sleep\" nap()\n\
         \x20 =p \"/long-sleep\" long-nap()\n\
         \x20 =p \"/two\" two()\n\
         \x20 =p \"/sum\" fmt \"{{}}\\n\" (sum-to 300000000)\n\
         \x20 =p \"/deep\" fmt \"{{}}\\n\" (depth 50000)\n\
         \x20 =p \"/forever\" fmt \"{{}}\\n\" (forever 0)\n\
         \x20 r=get-stream \"http://127.0.0.1:{port}/\"\n\
         \x20 ?r{{~s:rsp status:200 body:s;^e:rsp status:502 body:e}}\n"
    )
}

/// An upstream that accepts connections and reads their requests, reporting each
/// accepted connection, and answers none until told to (each then gets one line).
struct Upstream {
    port: u16,
    accepted: mpsc::Receiver<TcpStream>,
}

impl Upstream {
    fn start() -> Upstream {
        let (listener, port) = local_listener();
        let (tx, accepted) = mpsc::channel();
        thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(mut s) = s else { return };
                read_request_head(&mut s);
                if tx.send(s).is_err() {
                    return;
                }
            }
        });
        Upstream { port, accepted }
    }

    /// The next `n` connections whose request arrived.
    fn take(&self, n: usize) -> Vec<TcpStream> {
        (0..n)
            .map(|i| {
                self.accepted
                    .recv_timeout(Duration::from_secs(60))
                    .unwrap_or_else(|_| panic!("only {i} of {n} requests reached the upstream"))
            })
            .collect()
    }
}

fn answer(mut s: TcpStream) {
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
}

fn serve(dir: &Path, workers: &str) -> Server {
    Server::start_with(
        ilo()
            .args(["httpd", "--quiet", "--port", "0", "--workers", workers])
            .arg(dir.join("h.ilo")),
    )
}

fn request(server: &Server, path: &str) -> TcpStream {
    let mut s = server.connect();
    send(&mut s, &format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
    s
}

fn answered(s: TcpStream) -> (u16, String) {
    let r = read_response(&mut BufReader::new(s), false);
    (r.status, r.text())
}

/// A loop thread blocked for a moment (on a loaded machine, say) may be replaced, and
/// it stays until the handlers it suspended finish: a few such threads, never one
/// per waiting handler.
const REPLACED_AT_MOST: u64 = 4;

/// Main thread, one per worker, the monitor (and perhaps a few replaced ones).
fn loop_threads_only(server: &Server, workers: u64) {
    let threads = proc_status(server.pid(), "Threads");
    assert!(
        threads <= workers + 2 + REPLACED_AT_MOST,
        "{threads} threads with {workers} workers: a waiting handler held a thread"
    );
}

/// Send `n` proxied requests, wait until each reached the upstream, check the
/// threads, and return the RSS (KiB) while all wait, with the upstream side.
fn wait_on_upstream(
    server: &Server,
    upstream: &Upstream,
    n: usize,
) -> (Vec<TcpStream>, Vec<TcpStream>, u64) {
    let clients: Vec<TcpStream> = (0..n).map(|_| request(server, "/")).collect();
    let held = upstream.take(n);
    loop_threads_only(server, 2);
    // Every loop still answers at once while they all wait.
    for _ in 0..4 {
        assert_eq!(answered(request(server, "/fast")), (200, "fast\n".into()));
    }
    (clients, held, proc_status(server.pid(), "VmRSS"))
}

#[test]
fn a_thousand_handlers_waiting_for_an_upstream_head_use_the_loop_threads_and_flat_memory() {
    let upstream = Upstream::start();
    let dir = handler_dir(&[("h.ilo", &handler(upstream.port))]);
    let server = serve(dir.path(), "2");
    let n = 1000;
    let mut peaks = Vec::new();
    for round in 0..3 {
        let (clients, held, rss) = wait_on_upstream(&server, &upstream, n);
        peaks.push(rss);
        held.into_iter().for_each(answer);
        for (i, c) in clients.into_iter().enumerate() {
            assert_eq!(
                answered(c),
                (200, "hello\n".to_string()),
                "round {round}, request {i}"
            );
        }
        loop_threads_only(&server, 2);
    }
    // Stacks are reused: later rounds cost what the first did.
    let (first, last) = (peaks[0], *peaks.last().expect("rounds"));
    eprintln!("RSS with {n} handlers waiting, by round: {peaks:?} KiB");
    assert!(
        last <= first + first / 4,
        "RSS with {n} waiting handlers grew from {first} KiB to {last} KiB over the rounds"
    );
}

#[test]
fn an_upstream_that_never_answers_stalls_nobody_and_a_client_leaving_ends_its_handler() {
    let upstream = Upstream::start();
    let dir = handler_dir(&[("h.ilo", &handler(upstream.port))]);
    let server = serve(dir.path(), "1");
    let waiting = request(&server, "/");
    let mut held = upstream.take(1).pop().expect("one");
    // One loop, its handler waiting: other requests (and sleeps) are still served.
    let sleeping: Vec<TcpStream> = (0..20).map(|_| request(&server, "/sleep")).collect();
    assert_eq!(answered(request(&server, "/fast")), (200, "fast\n".into()));
    for s in sleeping {
        assert_eq!(answered(s), (200, "slept\n".into()));
    }
    loop_threads_only(&server, 1);

    // Two waits in turn on two upstream connections (the second socket usually gets
    // the first one's descriptor number back).
    let two = request(&server, "/two");
    answer(upstream.take(1).pop().expect("first"));
    answer(upstream.take(1).pop().expect("second"));
    assert_eq!(answered(two), (200, "hello\nhello\n".into()));

    // The client leaves: its handler is resumed with the failure, finishes, and its
    // upstream connection is closed.
    drop(waiting);
    held.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    let mut rest = Vec::new();
    assert!(
        matches!(held.read_to_end(&mut rest), Ok(0)),
        "the upstream connection of a handler whose client left stayed open"
    );
    assert_eq!(answered(request(&server, "/fast")), (200, "fast\n".into()));
    loop_threads_only(&server, 1);
}

#[test]
fn handlers_suspended_by_a_replaced_loop_thread_are_resumed_by_it() {
    let upstream = Upstream::start();
    let dir = handler_dir(&[("h.ilo", &handler(upstream.port))]);
    let server = serve(dir.path(), "1");
    let clients: Vec<TcpStream> = (0..20).map(|_| request(&server, "/")).collect();
    let held = upstream.take(20);
    // The loop's thread computes for a while: the monitor gives the loop another
    // thread, and the first one keeps the twenty handlers it suspended.
    let busy = request(&server, "/sum");
    assert!(
        eventually(Duration::from_secs(20), || proc_status(
            server.pid(),
            "Threads"
        ) > 3),
        "the computing loop thread was never replaced"
    );
    assert_eq!(answered(request(&server, "/fast")), (200, "fast\n".into()));
    held.into_iter().for_each(answer);
    for c in clients {
        assert_eq!(answered(c), (200, "hello\n".into()));
    }
    assert_eq!(answered(busy).0, 200);
    // Its handlers done, the replaced thread leaves.
    assert!(
        eventually(Duration::from_secs(10), || proc_status(
            server.pid(),
            "Threads"
        ) <= 3),
        "the replaced loop thread stayed after its handlers finished"
    );
}

#[test]
fn a_handler_timeout_ends_a_handler_waiting_for_its_upstream_or_asleep() {
    let upstream = Upstream::start();
    let dir = handler_dir(&[("h.ilo", &handler(upstream.port))]);
    let server = Server::start_with(
        ilo()
            .args([
                "httpd",
                "--port",
                "0",
                "--workers",
                "1",
                "--handler-timeout=1",
            ])
            .arg(dir.path().join("h.ilo")),
    );
    // Without the limit on its waits, the first would wait for the upstream's 30 s
    // head timeout and the second for ten minutes.
    let waiting = request(&server, "/");
    let _held = upstream.take(1);
    let asleep = request(&server, "/long-sleep");
    for s in [waiting, asleep] {
        s.set_read_timeout(Some(Duration::from_secs(25)))
            .expect("timeout");
        assert_eq!(answered(s).0, 503);
    }
    assert!(
        server
            .wait_log("--handler-timeout", Duration::from_secs(5))
            .is_some(),
        "the timeout is not logged: {:?}",
        server.log()
    );
    assert_eq!(answered(request(&server, "/fast")), (200, "fast\n".into()));
    loop_threads_only(&server, 1);
}

#[test]
fn recursion_in_a_handler_is_bounded_by_its_own_stack() {
    let upstream = Upstream::start();
    let dir = handler_dir(&[("h.ilo", &handler(upstream.port))]);
    let server = serve(dir.path(), "1");
    assert_eq!(answered(request(&server, "/deep")), (200, "50000\n".into()));
    let r = read_response(&mut BufReader::new(request(&server, "/forever")), false);
    assert_eq!(r.status, 500);
    assert!(
        server
            .wait_log("ILO-R006", Duration::from_secs(10))
            .is_some(),
        "no stack-overflow diagnostic in the log: {:?}",
        server.log()
    );
    // The same stacks serve on.
    assert_eq!(answered(request(&server, "/deep")), (200, "50000\n".into()));
    assert_eq!(answered(request(&server, "/fast")), (200, "fast\n".into()));
}

#[test]
fn a_built_server_waits_for_its_upstream_without_holding_a_thread() {
    let upstream = Upstream::start();
    let dir = handler_dir(&[("h.ilo", &handler(upstream.port))]);
    let bin = dir.path().join("proxy");
    let built = ilo()
        .arg("build")
        .arg(dir.path().join("h.ilo"))
        .arg("-o")
        .arg(&bin)
        .output()
        .expect("spawn ilo build");
    assert!(built.status.success(), "{built:?}");
    let server = Server::start_with(Command::new(&bin).env_remove("PORT").args([
        "--quiet",
        "--port",
        "0",
        "--workers",
        "1",
    ]));
    let clients: Vec<TcpStream> = (0..50).map(|_| request(&server, "/")).collect();
    let held = upstream.take(50);
    assert_eq!(answered(request(&server, "/fast")), (200, "fast\n".into()));
    loop_threads_only(&server, 1);
    held.into_iter().for_each(answer);
    for c in clients {
        assert_eq!(answered(c), (200, "hello\n".into()));
    }
    assert_eq!(answered(request(&server, "/deep")), (200, "50000\n".into()));
    assert!(eventually(Duration::from_secs(5), || proc_status(
        server.pid(),
        "Threads"
    ) <= 3
        + REPLACED_AT_MOST));
}
