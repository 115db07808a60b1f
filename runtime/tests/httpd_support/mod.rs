//! Shared helpers for the server tests: a server on an ephemeral port, a minimal
//! HTTP/1.1 response reader, and a channel-fed line source whose `ready` reports
//! lines already sent.

#![allow(dead_code)] // each test crate uses a different subset

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ilo_runtime::httpd::{self, Handler, ServerConfig, ServerStats, ShutdownHandle};
use ilo_runtime::line_source::LineSource;
use ilo_runtime::value::{MapKey, RecordType, Value};

pub struct TestServer {
    pub addr: SocketAddr,
    pub stats: Arc<ServerStats>,
    pub handle: ShutdownHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

pub fn test_config() -> ServerConfig {
    ServerConfig {
        port: 0,
        workers: 2,
        quiet: true,
        header_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        shutdown_deadline: Duration::from_secs(2),
        ..ServerConfig::default()
    }
}

pub fn start(
    handler: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
) -> TestServer {
    start_with(test_config(), handler)
}

pub fn start_with(
    config: ServerConfig,
    handler: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
) -> TestServer {
    let server = httpd::bind(config).expect("bind on 127.0.0.1:0");
    let addr = server.local_addr();
    let stats = server.stats();
    let handle = server.shutdown_handle();
    let handler: Handler = Arc::new(handler);
    let thread = std::thread::spawn(move || server.run(handler));
    TestServer {
        addr,
        stats,
        handle,
        thread: Some(thread),
    }
}

impl TestServer {
    pub fn connect(&self) -> Client {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        Client {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            stream,
        }
    }

    /// Shut down and wait for `run` to return; panics if it takes longer than `limit`.
    pub fn stop_within(self, limit: Duration) -> Duration {
        self.handle.shutdown();
        self.join_within(limit)
    }

    /// Wait for `run` to return (after a shutdown); panics if it takes longer than `limit`.
    pub fn join_within(mut self, limit: Duration) -> Duration {
        let t = Instant::now();
        let thread = self.thread.take().expect("running");
        while !thread.is_finished() {
            assert!(t.elapsed() < limit, "server did not stop within {limit:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
        thread.join().expect("run thread").expect("run result");
        t.elapsed()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

pub struct Client {
    pub stream: TcpStream,
    pub reader: BufReader<TcpStream>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The chunks as received, for chunked bodies.
    pub chunks: Vec<Vec<u8>>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Client {
    pub fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).expect("send request");
    }

    pub fn get(&mut self, path: &str) -> Resp {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        self.response(false)
    }

    /// Status line and headers.
    pub fn head(&mut self) -> io::Result<(u16, Vec<(String, String)>)> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (n, v) = l
                .split_once(':')
                .ok_or_else(|| io::Error::other(format!("bad header {l:?}")))?;
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        Ok((status, headers))
    }

    /// One chunk of a chunked body; `None` for the last (empty) chunk.
    pub fn chunk(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let size = usize::from_str_radix(line.trim_end(), 16)
            .map_err(|_| io::Error::other(format!("bad chunk size {line:?}")))?;
        let mut data = vec![0; size + 2];
        self.reader.read_exact(&mut data)?;
        if &data[size..] != b"\r\n" {
            return Err(io::Error::other("chunk not followed by CRLF"));
        }
        data.truncate(size);
        Ok((size > 0).then_some(data))
    }

    pub fn try_response(&mut self, head_request: bool) -> io::Result<Resp> {
        let (status, headers) = self.head()?;
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
            chunks: Vec::new(),
        };
        if head_request || status == 100 || status == 204 || status == 304 {
            return Ok(resp);
        }
        if let Some(n) = resp.header("content-length") {
            let n: usize = n
                .parse()
                .map_err(|_| io::Error::other("bad content-length"))?;
            resp.body = vec![0; n];
            self.reader.read_exact(&mut resp.body)?;
        } else if resp.header("transfer-encoding") == Some("chunked") {
            while let Some(c) = self.chunk()? {
                resp.body.extend_from_slice(&c);
                resp.chunks.push(c);
            }
        } else {
            self.reader.read_to_end(&mut resp.body)?;
        }
        Ok(resp)
    }

    pub fn response(&mut self, head_request: bool) -> Resp {
        self.try_response(head_request).expect("read response")
    }

    /// True when the server closed the connection (EOF) within the read timeout.
    pub fn closed_by_server(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.reader.read(&mut byte), Ok(0))
            || matches!(self.reader.read(&mut byte), Err(ref e) if e.kind() == io::ErrorKind::ConnectionReset)
    }
}

/// A response record with the given status, body and (optional) headers.
pub fn response(status: u16, body: Value, headers: &[(&str, &str)]) -> Value {
    let mut fields = vec!["status".to_string(), "body".to_string()];
    let mut values = vec![Value::num(status as f64), body];
    if !headers.is_empty() {
        let map: BTreeMap<MapKey, Value> = headers
            .iter()
            .map(|(n, v)| (MapKey::Text(n.to_string()), Value::text(*v)))
            .collect();
        fields.push("headers".to_string());
        values.push(Value::map(map));
    }
    Value::record(
        Arc::new(RecordType {
            name: "res".into(),
            fields,
        }),
        values,
    )
}

/// A field of the request record.
pub fn field(req: &Value, name: &str) -> Value {
    let r = req.as_record().expect("request is a record");
    let i = r.ty.field_index(name).expect("field exists");
    r.values[i].clone()
}

pub fn texts(items: &[&str]) -> Value {
    Value::list(items.iter().map(|s| Value::text(*s)).collect())
}

/// What a [`ChannelSource`] receives: a line, or an error to fail with.
pub type Feed = Result<String, String>;

/// Fed through a channel; `ready` is true when a line has already been sent. Records
/// whether it was closed or dropped so tests can check the server released it.
pub struct ChannelSource {
    rx: Option<Receiver<Feed>>,
    peeked: Mutex<VecDeque<Feed>>,
    current: String,
    pub released: Arc<AtomicBool>,
}

impl ChannelSource {
    pub fn new() -> (Sender<Feed>, ChannelSource, Arc<AtomicBool>) {
        let (tx, rx) = mpsc::channel();
        let released = Arc::new(AtomicBool::new(false));
        let src = ChannelSource {
            rx: Some(rx),
            peeked: Mutex::new(VecDeque::new()),
            current: String::new(),
            released: Arc::clone(&released),
        };
        (tx, src, released)
    }

    fn release(&mut self) {
        self.rx = None;
        self.released.store(true, Ordering::SeqCst);
    }
}

impl LineSource for ChannelSource {
    fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        let queued = self.peeked.lock().map_err(|_| "poisoned")?.pop_front();
        let item = match queued {
            Some(item) => item,
            None => match self.rx.as_ref().map(|rx| rx.recv()) {
                Some(Ok(item)) => item,
                _ => return Ok(None),
            },
        };
        self.current = item?;
        Ok(Some(self.current.as_bytes()))
    }

    fn ready(&self) -> bool {
        let Ok(mut peeked) = self.peeked.lock() else {
            return false;
        };
        if !peeked.is_empty() {
            return true;
        }
        match self.rx.as_ref().map(|rx| rx.try_recv()) {
            Some(Ok(item)) => {
                peeked.push_back(item);
                true
            }
            Some(Err(TryRecvError::Empty | TryRecvError::Disconnected)) | None => false,
        }
    }

    fn close(&mut self) {
        self.release();
    }
}

impl Drop for ChannelSource {
    fn drop(&mut self) {
        self.release();
    }
}

/// Wait until `cond` holds, up to `limit`.
pub fn eventually(limit: Duration, cond: impl Fn() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}
