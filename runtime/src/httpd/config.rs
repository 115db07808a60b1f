//! Server settings, with the defaults the `ilo httpd` command starts from.
//!
//! Every limit the server enforces lives here, so tests can shrink timeouts and the
//! command line can override what it exposes as flags.

use std::time::Duration;

/// Largest request head (request line plus headers) accepted; more answers 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Interface to bind, e.g. `127.0.0.1`.
    pub host: String,
    /// Port to bind; 0 asks the kernel for an ephemeral port.
    pub port: u16,
    /// Join the port's `SO_REUSEPORT` group, so several processes can listen on it
    /// at once (a new one starts before the old one stops).
    pub reuse_port: bool,
    /// Event loops (each an epoll set with one thread at a time) that accept on the
    /// one listener and serve requests inline.
    pub workers: usize,
    /// Silence the per-request access log (the readiness line is always printed).
    pub quiet: bool,
    /// Write the access log as one JSON object per line instead of text.
    pub json_log: bool,
    /// Serve Prometheus metrics on this `HOST:PORT`, on a listener of their own.
    pub metrics: Option<String>,
    /// Largest request body accepted; more answers 413.
    pub max_body: usize,
    /// Time a client has to deliver a complete request head once it has started
    /// (or, on a fresh connection, once connected). Defeats slowloris clients.
    pub header_timeout: Duration,
    /// How long a keep-alive connection may sit between requests.
    pub idle_timeout: Duration,
    /// How long an answer may wait for room in the socket of a client that does not
    /// read (its task is suspended meanwhile; see `client_out`).
    pub write_timeout: Duration,
    /// How long one handler call may run before it is cancelled (answered 503);
    /// `None`: no limit. A call whose client hangs up is cancelled regardless.
    pub handler_timeout: Option<Duration>,
    /// On shutdown, how long in-flight responses get to finish.
    pub shutdown_deadline: Duration,
    /// Stack size of each event-loop thread (a thread replaced while in a slow handler
    /// keeps its stack until the handler returns, so there may be many). Small, but
    /// compiled handlers recurse, so it is configurable.
    pub stack_size: usize,
    /// Upper bound on lines gathered into one `send` while a source has lines ready
    /// (the byte bound below usually ends a batch of ordinary lines first).
    pub gather_max_lines: usize,
    /// Upper bound on payload bytes gathered into one `writev`.
    pub gather_max_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            host: "127.0.0.1".to_string(),
            port: 8080,
            reuse_port: false,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            quiet: false,
            json_log: false,
            metrics: None,
            max_body: 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(60),
            handler_timeout: Some(Duration::from_secs(60)),
            shutdown_deadline: Duration::from_secs(5),
            stack_size: 256 * 1024,
            gather_max_lines: 1024,
            gather_max_bytes: 64 * 1024,
        }
    }
}
