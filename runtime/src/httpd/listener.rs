//! Binding, the readiness line, starting the event loops, and the shutdown sequence.
//!
//! The event loops ([`super::event_loop`]) accept on the one (non-blocking) listener
//! and serve the connections. `run` sleeps until shutdown is requested, then stops
//! accepting, closes idle connections, and waits for in-flight responses up to the
//! deadline.
//!
//! The listener comes from one of three places, so a new process can take over a port
//! before the old one lets go of it:
//! - inherited from a supervisor (systemd socket activation, `LISTEN_FDS`): the one
//!   socket outlives every process, so on shutdown it is only let go of, never shut
//!   down, and connections waiting in it go to whichever process accepts next;
//! - bound with `SO_REUSEPORT` (`--reuse-port`): every process has a socket of its own
//!   in the port's group and the kernel spreads new connections across them;
//! - bound plainly, the only owner of the port.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use super::access_log::AccessLog;
use super::config::ServerConfig;
use super::connection::Shared;
use super::event_loop::Loops;
use super::metrics::Metrics;
use super::process::{ignore_sigpipe, raise_nofile_limit, wait_readable};
use super::running::Running;
use super::shutdown::{Shutdown, ShutdownHandle};
use super::stats::ServerStats;
use super::Handler;

/// A bound, not yet running server.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    config: ServerConfig,
    shutdown: Arc<Shutdown>,
    stats: Arc<ServerStats>,
    /// The socket belongs to a supervisor and other processes may be accepting on it.
    inherited: bool,
    /// `--metrics`: bound with the server, so a taken port fails before readiness.
    metrics: Option<TcpListener>,
}

/// Bind the listener and print the readiness line on stderr: exactly
/// `ilo httpd listening on http://HOST:PORT`, with the real port when 0 was asked.
/// A socket passed by systemd (`LISTEN_FDS`) is used instead of binding `--host`/`--port`.
pub fn bind(config: ServerConfig) -> io::Result<Server> {
    let (listener, inherited) = match inherited_listener()? {
        Some(l) => (l, true),
        None => (bind_new(&config)?, false),
    };
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let metrics = config.metrics.as_deref().map(bind_metrics).transpose()?;
    let shown_host = if inherited {
        addr.ip().to_string()
    } else {
        config.host.clone()
    };
    let shown_host = if shown_host.contains(':') {
        format!("[{shown_host}]")
    } else {
        shown_host
    };
    eprintln!("ilo httpd listening on http://{shown_host}:{}", addr.port());
    Ok(Server {
        listener,
        addr,
        config,
        shutdown: Shutdown::new()?,
        stats: Arc::new(ServerStats::default()),
        inherited,
        metrics,
    })
}

/// The metrics listener, announced on stderr before the readiness line as
/// `ilo httpd metrics on http://HOST:PORT/metrics` (the real port when 0 was asked).
fn bind_metrics(addr: &str) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("--metrics {addr}: {e}")))?;
    let bound = listener.local_addr()?;
    eprintln!("ilo httpd metrics on http://{bound}/metrics");
    Ok(listener)
}

/// The first socket of systemd's socket-activation protocol, if this process was
/// given one (`LISTEN_FDS`, and `LISTEN_PID` naming this process when set). The
/// variables are removed so programs the handler starts do not take it too.
fn inherited_listener() -> io::Result<Option<TcpListener>> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Ok(None);
    }
    fds.take_tcp_listener(0).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("the socket passed in LISTEN_FDS is not a TCP listener: {e}"),
        )
    })
}

/// A fresh listening socket on the configured address, in the port's `SO_REUSEPORT`
/// group when asked.
fn bind_new(config: &ServerConfig) -> io::Result<TcpListener> {
    let addr = (config.host.as_str(), config.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| {
            io::Error::new(
                ErrorKind::InvalidInput,
                format!("cannot resolve host {}", config.host),
            )
        })?;
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As the standard library does, so a restarted server is not refused the port
    // while connections of the previous one linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    if config.reuse_port {
        socket.set_reuse_port(true)?;
        warn_unless_queue_migrates();
    }
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// When a socket of a `SO_REUSEPORT` group closes, connections waiting in its accept
/// queue are reset unless the kernel moves them to another member, which it does only
/// with `net.ipv4.tcp_migrate_req` set (Linux 5.14 and later). Say so at startup
/// rather than let a restart drop a request now and then.
fn warn_unless_queue_migrates() {
    const SETTING: &str = "/proc/sys/net/ipv4/tcp_migrate_req";
    let migrates = std::fs::read_to_string(SETTING).is_ok_and(|v| v.trim() == "1");
    if !migrates {
        eprintln!(
            "ilo httpd: warning: --reuse-port without net.ipv4.tcp_migrate_req=1: \
             connections still queued when this process stops will be reset \
             (set it with sysctl, or hand the socket over with socket activation)"
        );
    }
}

/// The standard library's backlog of 128 overflows when thousands of clients connect
/// at once (each overflow costs a client a SYN retransmit, a second or more); the
/// kernel caps this at `net.core.somaxconn`. An inherited socket keeps the backlog its
/// supervisor chose.
const LISTEN_BACKLOG: i32 = 4096;

/// Connections still open, so shutdown can wait for them.
#[derive(Default)]
pub struct InFlight {
    count: Mutex<usize>,
    idle: Condvar,
}

impl InFlight {
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        if let Ok(mut n) = self.count.lock() {
            *n += 1;
        }
        InFlightGuard(Arc::clone(self))
    }

    /// Wait until no connection is in flight or `deadline` passes; whether none is.
    pub fn wait_idle(&self, deadline: Instant) -> bool {
        let Ok(mut n) = self.count.lock() else {
            return false;
        };
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.idle.wait_timeout(n, left) {
                Ok((guard, _)) => n = guard,
                Err(_) => return false,
            }
        }
        true
    }
}

pub struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Ok(mut n) = self.0.count.lock() {
            *n -= 1;
            if *n == 0 {
                self.0.idle.notify_all();
            }
        }
    }
}

impl Server {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(Arc::clone(&self.shutdown))
    }

    pub fn stats(&self) -> Arc<ServerStats> {
        Arc::clone(&self.stats)
    }

    /// Route SIGINT/SIGTERM to this server's shutdown (the command does this; tests
    /// use [`Server::shutdown_handle`] instead).
    pub fn handle_signals(&self) -> io::Result<()> {
        super::shutdown::install_signal_handlers(&self.shutdown)
    }

    /// Serve until shutdown, then wait for in-flight connections up to the deadline.
    pub fn run(self, handler: Handler) -> io::Result<()> {
        ignore_sigpipe()?;
        raise_nofile_limit();
        super::reclaim::configure();
        let Server {
            listener,
            config,
            shutdown,
            stats,
            inherited,
            metrics,
            ..
        } = self;
        let metrics = match metrics {
            Some(listener) => {
                let m = Arc::new(Metrics::default());
                super::metrics::serve(listener, Arc::clone(&m))?;
                Some(m)
            }
            None => None,
        };
        let workers = config.workers.max(1);
        let deadline_after = config.shutdown_deadline;
        let shared = Arc::new(Shared {
            log: AccessLog {
                quiet: config.quiet,
                json: config.json_log,
            },
            metrics,
            config,
            handler,
            shutdown: Arc::clone(&shutdown),
            stats,
            running: Running::default(),
        });
        let in_flight = Arc::new(InFlight::default());
        let loops = Loops::new(listener, shared, Arc::clone(&in_flight), workers)?;
        loops.start()?;
        wait_for_shutdown(&shutdown);
        let deadline = Instant::now() + deadline_after;
        loops.stop_accepting(inherited);
        loops.close_parked();
        drop(loops);
        in_flight.wait_idle(deadline);
        Ok(())
    }
}

fn wait_for_shutdown(shutdown: &Shutdown) {
    let wake_fd = shutdown.wake_fd();
    while !shutdown.is_requested() {
        if wait_readable(wake_fd, wake_fd, -1).is_err() {
            thread::sleep(Duration::from_millis(50));
        }
    }
}
