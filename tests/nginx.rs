//! Real nginx in front of three `ilo httpd` processes, configured as docs/deploy.md
//! says: requests spread across all three, a slow upstream proxied through both layers
//! still arrives line by line, killing one instance does not fail requests, and
//! SIGTERM on an instance with a stream in flight ends the client's body completely
//! or cleanly cut, never hanging it.
//!
//! nginx comes from the system (`.ci/run` installs it). Under CI a missing nginx fails
//! the test; elsewhere it is reported as skipped on stderr.

#[path = "support/httpd.rs"]
mod support;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::{
    chunk, handler_dir, local_listener, next_chunk, read_head, read_request_head, send, Server,
    CHUNKED_HEAD, IO_TIMEOUT,
};

/// How late a line may reach the client through both proxies. The issue asks for
/// 100 ms. The lockstep upstream already shows that nothing waits for more input
/// (it writes a line only once the one before arrived); the clock only guards
/// against output held back by a timer, with ten times the bound as room
/// for a loaded machine, where three processes must each get a core in turn.
const LINE_LATENCY: Duration = Duration::from_secs(1);

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// nginx, or `None` after saying why the test cannot run (a failure under CI).
fn require_nginx() -> Option<PathBuf> {
    let found = nginx_binary();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "nginx is not installed; .ci/run installs it (apt-get install nginx-light)"
        );
        eprintln!("skipped: nginx is not installed");
    }
    found
}

/// A running nginx; dropping it stops it.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    fn start(binary: &Path, upstreams: &[u16]) -> Nginx {
        let dir = tempfile::tempdir().expect("tempdir");
        let (probe, port) = local_listener();
        drop(probe);
        let servers: String = upstreams
            .iter()
            .map(|p| format!("        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;\n"))
            .collect();
        let d = dir.path().display();
        // The proxy settings are those of docs/deploy.md.
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\nevents {{ worker_connections 512; }}\n\
             http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n    fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n\
             upstream ilo_app {{\n{servers}        keepalive 16;\n    }}\n\
             server {{\n        listen 127.0.0.1:{port};\n        location / {{\n\
             proxy_pass http://ilo_app;\n            proxy_http_version 1.1;\n\
             proxy_set_header Connection \"\";\n            proxy_set_header Host $host;\n\
             proxy_buffering off;\n            proxy_request_buffering off;\n\
             proxy_read_timeout 1h;\n            proxy_send_timeout 1h;\n\
             proxy_next_upstream error timeout http_502;\n\
             proxy_next_upstream_tries 3;\n        }}\n    }}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("write nginx.conf");
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let nginx = Nginx {
            child,
            port,
            _dir: dir,
        };
        nginx.wait_until_listening();
        nginx
    }

    /// nginx prints nothing when ready: wait (bounded) until its port accepts.
    fn wait_until_listening(&self) {
        let deadline = Instant::now() + IO_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let log = std::fs::read_to_string(self._dir.path().join("error.log"));
            assert!(
                Instant::now() < deadline,
                "nginx did not listen on {}: {log:?}",
                self.port
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to nginx");
        s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        s
    }

    /// GET on a fresh connection: (status, body).
    fn get(&self, path: &str) -> (u16, String) {
        let mut s = self.connect();
        send(
            &mut s,
            &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
        );
        let mut r = BufReader::new(s);
        let (status, headers) = read_head(&mut r);
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v == "chunked");
        let mut body = Vec::new();
        if chunked {
            while let Some(c) = next_chunk(&mut r) {
                body.extend(c);
            }
        } else {
            r.read_to_end(&mut body).expect("read body");
        }
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

/// The handler each instance runs: `/` names the instance, `/slow` proxies the
/// test's upstream, `/held` streams the instance's stdin.
fn handler(name: &str, upstream: u16) -> String {
    format!(
        "handler req:_>_;\n  p=req.path\n  =p \"/slow\" rsp status:200 body:(get-stream \"http://127.0.0.1:{upstream}/\")\n  =p \"/held\" for-line \"stdin\"\n  \"{name}\\n\"\n"
    )
}

/// An upstream that writes `lines` lines, each in its own chunk, the next only after
/// `seen` reports the previous one reached the client; it sends the time each line
/// was written on `written`.
fn lockstep_upstream(
    lines: usize,
    seen: mpsc::Receiver<()>,
    written: mpsc::Sender<Instant>,
) -> u16 {
    let (listener, port) = local_listener();
    thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        read_request_head(&mut s);
        let _ = s.write_all(CHUNKED_HEAD);
        for i in 0..lines {
            thread::sleep(Duration::from_millis(150));
            let line = format!("slow {i}\n");
            let _ = s.write_all(&chunk(&line));
            let _ = written.send(Instant::now());
            if seen.recv_timeout(IO_TIMEOUT).is_err() {
                return;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n");
    });
    port
}

struct Instances {
    servers: Vec<Server>,
    _dir: tempfile::TempDir,
}

fn three_instances(upstream: u16) -> Instances {
    let names = ["a", "b", "c"];
    let files: Vec<(String, String)> = names
        .iter()
        .map(|n| (format!("{n}.ilo"), handler(n, upstream)))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(f, t)| (f.as_str(), t.as_str()))
        .collect();
    let dir = handler_dir(&refs);
    let servers = names
        .iter()
        .map(|n| {
            let file = dir.path().join(format!("{n}.ilo"));
            Server::start(&["--quiet", "--workers", "2", file.to_str().expect("utf-8")])
        })
        .collect();
    Instances { servers, _dir: dir }
}

#[test]
fn nginx_in_front_of_three_instances() {
    let Some(binary) = require_nginx() else {
        return;
    };
    let lines = 4;
    let (seen_tx, seen_rx) = mpsc::channel();
    let (written_tx, written_rx) = mpsc::channel();
    let upstream = lockstep_upstream(lines, seen_rx, written_tx);
    let mut instances = three_instances(upstream);
    let ports: Vec<u16> = instances.servers.iter().map(|s| s.port).collect();
    let nginx = Nginx::start(&binary, &ports);

    // Requests spread across all three.
    let mut answered_by = std::collections::BTreeSet::new();
    for _ in 0..30 {
        let (status, body) = nginx.get("/");
        assert_eq!(status, 200, "{body}");
        answered_by.insert(body);
    }
    assert_eq!(
        answered_by.into_iter().collect::<Vec<_>>(),
        ["a\n", "b\n", "c\n"],
        "every instance answered"
    );

    // A slow upstream through ilo and nginx: each line arrives on its own, promptly.
    let mut s = nginx.connect();
    send(
        &mut s,
        "GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let mut r = BufReader::new(s);
    assert_eq!(read_head(&mut r).0, 200);
    let mut got = String::new();
    for i in 0..lines {
        let chunk = next_chunk(&mut r).unwrap_or_else(|| panic!("stream ended at line {i}"));
        let arrived = Instant::now();
        let sent = written_rx
            .recv_timeout(IO_TIMEOUT)
            .expect("upstream wrote the line");
        let late = arrived.saturating_duration_since(sent);
        assert!(
            late < LINE_LATENCY,
            "line {i} reached the client {late:?} after the upstream wrote it"
        );
        got.push_str(&String::from_utf8_lossy(&chunk));
        let _ = seen_tx.send(());
    }
    assert_eq!(got, "slow 0\nslow 1\nslow 2\nslow 3\n");
    assert!(
        next_chunk(&mut r).is_none(),
        "the stream ends after the last line"
    );

    // SIGTERM on the instance serving a stream: the client sees the body end
    // (complete or cut), within the server's shutdown deadline, never a hang.
    for server in &mut instances.servers {
        if let Some(stdin) = server.stdin.as_mut() {
            let first = format!("held by {}\n", server.port);
            stdin.write_all(first.as_bytes()).expect("feed stdin");
        }
    }
    let mut s = nginx.connect();
    send(
        &mut s,
        "GET /held HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let mut r = BufReader::new(s);
    assert_eq!(read_head(&mut r).0, 200);
    let first = next_chunk(&mut r).expect("the first line of the held stream");
    let first = String::from_utf8_lossy(&first).into_owned();
    let holder = instances
        .servers
        .iter()
        .position(|s| first == format!("held by {}\n", s.port))
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    let stopped_at = Instant::now();
    assert_eq!(
        instances.servers[holder].terminate(Duration::from_secs(30)),
        Some(0),
        "the instance exits after its shutdown deadline"
    );
    // Whatever remains is read to its end: a cut ends without the last chunk, and
    // either way the read returns instead of hanging (IO_TIMEOUT bounds each read).
    let mut rest = Vec::new();
    let ended = r.read_to_end(&mut rest);
    assert!(
        ended.is_ok(),
        "the body ended cleanly, not by a timeout: {ended:?}"
    );
    assert!(stopped_at.elapsed() < Duration::from_secs(30));

    // One instance gone for good: every request still succeeds through the others.
    let gone = (holder + 1) % instances.servers.len();
    let killed = instances.servers.remove(gone);
    drop(killed);
    let mut answered_by = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let (status, body) = nginx.get("/");
        assert_eq!(
            status, 200,
            "a request failed after an instance died: {body}"
        );
        answered_by.insert(body);
    }
    let survivor = format!(
        "{}\n",
        ["a", "b", "c"]
            .iter()
            .enumerate()
            .find(|(i, _)| *i != holder && *i != gone)
            .map(|(_, n)| *n)
            .expect("a survivor")
    );
    assert!(answered_by.contains(&survivor), "{answered_by:?}");
}
