//! Shared by the `ilo httpd` integration tests: start the real binary, wait for its
//! readiness line on stderr (never by probing the port), talk HTTP/1.1 over plain
//! sockets, and kill the server when the test ends, however it ends.
//!
//! Every wait is bounded, so a broken server fails a test instead of hanging it.

#![allow(dead_code)] // each test file uses a different part of this module

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a server may take to compile its handler and bind (a debug build on a
/// busy machine is slow).
pub const STARTUP: Duration = Duration::from_secs(60);
/// Upper bound for any single socket read in a test.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);

const READY_PREFIX: &str = "ilo httpd listening on http://";

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn example(name: &str) -> PathBuf {
    root().join("examples").join(name)
}

/// `ilo` with a predictable environment (JSON diagnostics: stderr is a pipe).
pub fn ilo() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ilo"));
    cmd.env_remove("PORT").env_remove("NO_COLOR");
    cmd
}

/// A running `ilo httpd`; dropping it kills the process.
pub struct Server {
    child: Child,
    pub port: u16,
    /// Every stderr line after the readiness line (access log, diagnostics).
    log: Arc<Mutex<Vec<String>>>,
    /// The thread filling `log`; it ends when the server's stderr closes.
    collector: Option<JoinHandle<()>>,
    pub stdin: Option<ChildStdin>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What happened to a server that was expected not to start.
pub struct Failed {
    pub code: Option<i32>,
    pub stderr: String,
}

impl Server {
    /// `ilo httpd --port 0 ARGS…` (ARGS end with the handler file).
    pub fn start(args: &[&str]) -> Server {
        Server::start_with(ilo().arg("httpd").args(["--port", "0"]).args(args))
    }

    /// Start a fully prepared command (it must include `httpd` and its flags); panic
    /// with everything it printed if it exits or stays silent instead of listening.
    pub fn start_with(cmd: &mut Command) -> Server {
        match Server::try_start(cmd) {
            Ok(s) => s,
            Err(f) => panic!(
                "server did not start (exit {:?}); stderr:\n{}",
                f.code, f.stderr
            ),
        }
    }

    /// Start and wait for the readiness line; `Err` when the process exits first.
    pub fn try_start(cmd: &mut Command) -> Result<Server, Failed> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ilo httpd");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel::<String>();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut before = Vec::new();
        let deadline = Instant::now() + STARTUP;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix(READY_PREFIX) {
                        let port = addr
                            .rsplit(':')
                            .next()
                            .and_then(|p| p.trim().parse().ok())
                            .unwrap_or_else(|| panic!("bad readiness line: {line}"));
                        let log = Arc::new(Mutex::new(before));
                        let collector = Some(collect_rest(rx, Arc::clone(&log)));
                        let stdin = child.stdin.take();
                        return Ok(Server {
                            child,
                            port,
                            log,
                            collector,
                            stdin,
                        });
                    }
                    before.push(line);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let code = child.wait().ok().and_then(|s| s.code());
                    return Err(Failed {
                        code,
                        stderr: before.join("\n"),
                    });
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "no readiness line within {STARTUP:?}; stderr so far:\n{}",
                        before.join("\n")
                    );
                }
            }
        }
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to server");
        s.set_read_timeout(Some(IO_TIMEOUT)).expect("read timeout");
        s.set_write_timeout(Some(IO_TIMEOUT))
            .expect("write timeout");
        s
    }

    /// One request on a fresh connection (`Connection: close`).
    pub fn get(&self, path: &str) -> Response {
        let mut s = self.connect();
        send(
            &mut s,
            &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
        );
        read_response(&mut BufReader::new(s), false)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Stderr lines printed since the server became ready.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Wait until some stderr line contains `needle`; the matching line.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(l) = self.log().into_iter().find(|l| l.contains(needle)) {
                return Some(l);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Send SIGTERM: a graceful shutdown begins, and the test goes on meanwhile.
    pub fn request_shutdown(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }

    /// Send SIGTERM and wait (bounded) for the exit code.
    pub fn terminate(&mut self, within: Duration) -> Option<i32> {
        self.request_shutdown();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGTERM, then every stderr line the server printed once it has exited and its
    /// stderr is drained: what a test asserts is absent cannot still be on its way.
    pub fn terminate_and_log(&mut self, within: Duration) -> (Option<i32>, Vec<String>) {
        let code = self.terminate(within);
        if code.is_some() {
            if let Some(collector) = self.collector.take() {
                let _ = collector.join();
            }
        }
        (code, self.log())
    }

    /// The server's process id (to read its `/proc` entries).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Is the process still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

fn collect_rest(rx: Receiver<String>, log: Arc<Mutex<Vec<String>>>) -> JoinHandle<()> {
    thread::spawn(move || {
        for line in rx {
            if let Ok(mut l) = log.lock() {
                l.push(line);
            }
        }
    })
}

/// Run `ilo httpd ARGS…` expecting it to fail before listening.
pub fn start_failure(args: &[&str]) -> Failed {
    match Server::try_start(ilo().arg("httpd").args(["--port", "0"]).args(args)) {
        Ok(s) => panic!("server started on port {} but should not have", s.port),
        Err(f) => f,
    }
}

pub fn send(s: &mut TcpStream, raw: &str) {
    s.write_all(raw.as_bytes()).expect("write request");
}

/// A response as it arrived; for chunked bodies, every chunk with its arrival time.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub chunks: Vec<(Instant, Vec<u8>)>,
    /// Chunked body ended with the terminating zero-size chunk.
    pub complete: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn chunk_texts(&self) -> Vec<String> {
        self.chunks
            .iter()
            .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
            .collect()
    }
}

/// Status line and headers.
pub fn read_head<R: BufRead>(r: &mut R) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    r.read_line(&mut line).expect("read status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {line:?}"));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("read header");
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h
            .split_once(':')
            .unwrap_or_else(|| panic!("bad header {h:?}"));
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    (status, headers)
}

/// Read one response; `head_only` for answers to HEAD (no body whatever the headers).
pub fn read_response<R: BufRead>(r: &mut R, head_only: bool) -> Response {
    let (status, headers) = read_head(r);
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
        chunks: Vec::new(),
        complete: false,
    };
    if head_only {
        return resp;
    }
    if resp.header("transfer-encoding") == Some("chunked") {
        read_chunks(r, &mut resp);
    } else if let Some(n) = resp.header("content-length") {
        let n: usize = n.parse().expect("content-length");
        let mut body = vec![0; n];
        r.read_exact(&mut body).expect("read body");
        resp.body = body;
    } else {
        r.read_to_end(&mut resp.body)
            .expect("read close-delimited body");
    }
    resp
}

/// Read chunks until the last one or the end of the connection (a cut stream).
fn read_chunks<R: BufRead>(r: &mut R, resp: &mut Response) {
    loop {
        let mut size = String::new();
        if r.read_line(&mut size).unwrap_or(0) == 0 {
            return;
        }
        let n = usize::from_str_radix(size.trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {size:?}"));
        if n == 0 {
            let mut end = String::new();
            r.read_line(&mut end).expect("read after last chunk");
            resp.complete = true;
            return;
        }
        let mut data = vec![0; n + 2];
        r.read_exact(&mut data).expect("read chunk");
        assert_eq!(&data[n..], b"\r\n", "chunk not followed by CRLF");
        data.truncate(n);
        resp.body.extend_from_slice(&data);
        resp.chunks.push((Instant::now(), data));
    }
}

/// Read the next chunk of a chunked body (after the head): `None` at the last chunk.
pub fn next_chunk<R: BufRead>(r: &mut R) -> Option<Vec<u8>> {
    let mut size = String::new();
    if r.read_line(&mut size).ok()? == 0 {
        return None;
    }
    let n = usize::from_str_radix(size.trim(), 16).ok()?;
    if n == 0 {
        return None;
    }
    let mut data = vec![0; n + 2];
    r.read_exact(&mut data).ok()?;
    data.truncate(n);
    Some(data)
}

/// A handler file (and any siblings) in a fresh temporary directory.
pub fn handler_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write handler file");
    }
    dir
}

/// A listener on an ephemeral loopback port, for test upstreams.
pub fn local_listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind test upstream");
    let port = l.local_addr().expect("local addr").port();
    (l, port)
}

/// The head a test upstream answers with before streaming chunks of its own.
pub const CHUNKED_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

/// `payload` framed as one chunk of a chunked body, as a test upstream writes it.
pub fn chunk(payload: &str) -> Vec<u8> {
    format!("{:x}\r\n{payload}\r\n", payload.len()).into_bytes()
}

/// What a [`lockstep_upstream`] saw and did.
#[derive(Debug)]
pub struct Lockstep {
    /// The request head it was sent.
    pub head: String,
    /// The line after which the test never said it had arrived, if any.
    pub stalled_at: Option<usize>,
}

/// A test upstream answering one request with a chunked body of `lines` (a newline
/// added to each), each in a chunk of its own, in lockstep with the test: after a
/// line for which `awaited` holds it sends nothing more until the test says on
/// `seen` that the line reached the client. A server that held a line back (to
/// gather more, or until the body ends) stalls it, and the test's read runs out of
/// time: that lines are relayed as they are produced is shown without a clock.
/// Reports on the returned channel once it is done.
pub fn lockstep_upstream(
    lines: Vec<String>,
    seen: Receiver<()>,
    awaited: impl Fn(&str) -> bool + Send + 'static,
) -> (u16, Receiver<Lockstep>) {
    let (listener, port) = local_listener();
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let head = read_request_head(&mut s);
        let _ = s.write_all(CHUNKED_HEAD);
        for (i, line) in lines.iter().enumerate() {
            let _ = s.write_all(&chunk(&format!("{line}\n")));
            if awaited(line) && seen.recv_timeout(IO_TIMEOUT).is_err() {
                let _ = done_tx.send(Lockstep {
                    head,
                    stalled_at: Some(i),
                });
                return;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n");
        let _ = done_tx.send(Lockstep {
            head,
            stalled_at: None,
        });
    });
    (port, done_rx)
}

/// Read a request head from a client of a test upstream.
pub fn read_request_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A numeric field of `/proc/PID/status` (`Threads`, `VmRSS` in KiB, …).
pub fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// How many threads of process `pid` have a name starting with `prefix`.
pub fn threads_named(pid: u32, prefix: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

/// The descriptors process `pid` holds open on `path`.
pub fn fds_on(pid: u32, path: &Path) -> Vec<u32> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let e = e.ok()?;
            let link = std::fs::read_link(e.path()).ok()?;
            (link == target).then(|| e.file_name().to_str()?.parse().ok())?
        })
        .collect()
}

/// How far process `pid` has read through its descriptor `fd` (from fdinfo).
pub fn fd_position(pid: u32, fd: u32) -> Option<u64> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("pos:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Wait until `cond` holds, checking every 10 ms, up to `limit`.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    cond()
}
