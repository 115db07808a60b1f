//! Restarts under load drop nothing: a second `ilo httpd` takes over a port while
//! clients keep sending requests, the first one is stopped with SIGTERM, and every
//! request sent during the handover must be answered.
//!
//! Two ways of sharing the port are covered: the socket a supervisor holds and passes
//! to each process (systemd socket activation, `LISTEN_FDS`), and `--reuse-port`
//! (each process binds its own socket in the port's `SO_REUSEPORT` group).
//!
//! The load is a few client threads, each sending one request per connection
//! (`Connection: close`) back to back, so every request also opens a connection: the
//! case where a connection waiting in the old process's accept queue could be lost.

#[path = "support/httpd.rs"]
mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{handler_dir, ilo, Server, IO_TIMEOUT};

const CLIENTS: usize = 4;
/// Upper bound for each phase of a test (waiting for answers from a given server).
const PHASE: Duration = Duration::from_secs(60);

/// Answers counted by which server gave them, and every failure in words.
#[derive(Default)]
struct Tally {
    by_body: Mutex<Vec<(String, usize)>>,
    failures: Mutex<Vec<String>>,
    total: AtomicUsize,
}

impl Tally {
    fn answered_by(&self, body: &str) -> usize {
        self.by_body
            .lock()
            .map(|b| b.iter().find(|(k, _)| k == body).map_or(0, |(_, n)| *n))
            .unwrap_or(0)
    }

    fn record(&self, result: Result<String, String>) {
        self.total.fetch_add(1, Ordering::SeqCst);
        match result {
            Ok(body) => {
                let mut by = self.by_body.lock().expect("tally lock");
                match by.iter_mut().find(|(k, _)| *k == body) {
                    Some((_, n)) => *n += 1,
                    None => by.push((body, 1)),
                }
            }
            Err(e) => self.failures.lock().expect("tally lock").push(e),
        }
    }

    /// Wait (bounded) until `body` was answered `n` more times than when called.
    fn wait_for_more(&self, body: &str, n: usize) {
        let start = self.answered_by(body);
        let deadline = Instant::now() + PHASE;
        while self.answered_by(body) < start + n {
            assert!(
                Instant::now() < deadline,
                "{body:?} did not answer {n} requests within {PHASE:?}; failures: {:?}",
                self.failures.lock().map(|f| f.clone()).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

/// One request on a fresh connection: the body on a 200, else what went wrong.
fn one_request(port: u16) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("incomplete response: {text:?}"))?;
    if !head.starts_with("HTTP/1.1 200 ") {
        return Err(format!("not a 200: {head:?}"));
    }
    Ok(body.to_string())
}

/// Client threads sending requests until stopped.
struct Load {
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Load {
    fn start(port: u16) -> Load {
        let tally = Arc::new(Tally::default());
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..CLIENTS)
            .map(|_| {
                let (tally, stop) = (Arc::clone(&tally), Arc::clone(&stop));
                thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        tally.record(one_request(port));
                    }
                })
            })
            .collect();
        Load {
            tally,
            stop,
            threads,
        }
    }

    fn finish(self) -> Arc<Tally> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            t.join().expect("client thread");
        }
        self.tally
    }
}

/// How the successor comes in.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    /// Started and answering before the old one is stopped.
    Overlap,
    /// Started only once the old one has exited (what `systemctl restart` does).
    Gap,
}

/// The handover the tests share: under load on `port`, `old` answers, then `old` gets
/// SIGTERM and exits and `start_new` starts the successor, in the given order; the
/// successor ends up answering alone.
fn handover(port: u16, mut old: Server, order: Order, start_new: impl FnOnce() -> Server) {
    let load = Load::start(port);
    load.tally.wait_for_more("old\n", 200);
    let new = if order == Order::Overlap {
        let new = start_new();
        load.tally.wait_for_more("new\n", 50);
        assert_eq!(old.terminate(PHASE), Some(0), "old server exits cleanly");
        new
    } else {
        assert_eq!(old.terminate(PHASE), Some(0), "old server exits cleanly");
        start_new()
    };
    load.tally.wait_for_more("new\n", 200);
    let tally = load.finish();
    drop(new);
    let failures = tally.failures.lock().expect("tally lock").clone();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during the handover: {:?}",
        failures.len(),
        tally.total.load(Ordering::SeqCst),
        &failures[..failures.len().min(10)]
    );
}

fn handlers() -> tempfile::TempDir {
    handler_dir(&[
        ("old.ilo", "handler req:_>_;\"old\\n\"\n"),
        ("new.ilo", "handler req:_>_;\"new\\n\"\n"),
    ])
}

fn path(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_string_lossy().into_owned()
}

/// `ilo httpd` given `listener` as systemd would: descriptor 3, `LISTEN_FDS=1`.
fn socket_activated(listener: &TcpListener, handler: &str) -> Server {
    let fd = listener.as_raw_fd();
    let mut cmd = ilo();
    cmd.args(["httpd", "--quiet", "--workers", "2", handler])
        .env("LISTEN_FDS", "1")
        .env_remove("LISTEN_PID");
    // SAFETY: between fork and exec only async-signal-safe calls (dup2, fcntl) on a
    // descriptor this process owns.
    unsafe {
        cmd.pre_exec(move || {
            if fd == 3 {
                // Already in place: only clear close-on-exec.
                if libc::fcntl(3, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(fd, 3) != 3 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Server::start_with(&mut cmd)
}

#[test]
fn socket_activation_handover_under_load_drops_nothing() {
    let dir = handlers();
    // The supervisor's socket: it outlives both servers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let old = socket_activated(&listener, &path(&dir, "old.ilo"));
    assert_eq!(
        old.port, port,
        "the readiness line names the inherited socket"
    );
    handover(port, old, Order::Overlap, || {
        socket_activated(&listener, &path(&dir, "new.ilo"))
    });
}

/// The old process exits before the new one starts: connections wait in the socket
/// meanwhile, and none that the old process had accepted is lost.
#[test]
fn socket_activation_restart_with_a_gap_drops_nothing() {
    let dir = handlers();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let old = socket_activated(&listener, &path(&dir, "old.ilo"));
    handover(port, old, Order::Gap, || {
        socket_activated(&listener, &path(&dir, "new.ilo"))
    });
}

fn reuse_port(port: u16, handler: &str) -> Server {
    let port = port.to_string();
    Server::start_with(ilo().args([
        "httpd",
        "--quiet",
        "--reuse-port",
        "--workers",
        "2",
        "--port",
        &port,
        handler,
    ]))
}

/// Run `body` on a thread of its own inside a fresh network namespace (its loopback
/// up), so kernel settings can be changed for this test alone; the servers and
/// clients it starts inherit the namespace. Needs root, as CI runs.
fn in_private_network<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let worker = thread::spawn(move || {
        // SAFETY: unshare(2) only changes this thread's network namespace.
        let r = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            r,
            0,
            "cannot create a network namespace (this test needs root): {}",
            std::io::Error::last_os_error()
        );
        loopback_up();
        body()
    });
    match worker.join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// `ip link set lo up` for the current namespace.
fn loopback_up() {
    // SAFETY: socket(2) and ioctl(2) with a zeroed, then filled, ifreq that lives on
    // this stack for the duration of the calls; the descriptor is closed at the end.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        req.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as _;
        let r = libc::ioctl(fd, libc::SIOCSIFFLAGS, &mut req);
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        assert_eq!(r, 0, "bringing up the loopback interface: {err}");
    }
}

const MIGRATE_SETTING: &str = "/proc/sys/net/ipv4/tcp_migrate_req";

/// With `SO_REUSEPORT` each process has its own accept queue; the kernel moves what
/// waits in a closing one to another member only with `net.ipv4.tcp_migrate_req=1`
/// (without it, about one request in a thousand is reset during a handover here). The
/// server warns when it is off; docs/deploy.md tells operators to set it.
#[test]
fn reuse_port_handover_under_load_drops_nothing() {
    in_private_network(|| {
        let dir = handlers();
        let warned = Server::start_with(ilo().args([
            "httpd",
            "--reuse-port",
            "--port",
            "0",
            &path(&dir, "old.ilo"),
        ]));
        let warning = warned.wait_log("tcp_migrate_req", Duration::from_secs(5));
        assert!(
            warning.is_some_and(|w| w.contains("warning")),
            "{:?}",
            warned.log()
        );
        drop(warned);

        std::fs::write(MIGRATE_SETTING, "1").expect("enable request migration");
        let old = reuse_port(0, &path(&dir, "old.ilo"));
        assert!(
            !old.log().iter().any(|l| l.contains("tcp_migrate_req")),
            "{:?}",
            old.log()
        );
        let port = old.port;
        handover(port, old, Order::Overlap, move || {
            reuse_port(port, &path(&dir, "new.ilo"))
        });
    });
}

#[test]
fn without_reuse_port_a_second_server_is_refused_the_port() {
    let dir = handlers();
    let first =
        Server::start_with(ilo().args(["httpd", "--quiet", "--port", "0", &path(&dir, "old.ilo")]));
    let port = first.port.to_string();
    let second = Server::try_start(ilo().args(["httpd", "--port", &port, &path(&dir, "new.ilo")]));
    match second {
        Ok(_) => panic!("a second server bound port {port} without --reuse-port"),
        Err(f) => {
            assert_eq!(f.code, Some(1));
            assert!(f.stderr.contains("Address already in use"), "{}", f.stderr);
        }
    }
}
