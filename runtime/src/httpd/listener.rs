//! Binding, the readiness line, accept threads, and the shutdown sequence.
//!
//! `workers` threads wait in `poll` on the one (non-blocking) listener and the
//! shutdown pipe; whoever wins `accept` spawns a small-stack thread for the
//! connection. On shutdown the accept threads return, and `run` waits for in-flight
//! connections up to the deadline.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::access_log::AccessLog;
use super::config::ServerConfig;
use super::connection::{self, Shared};
use super::process::{ignore_sigpipe, raise_nofile_limit, wait_readable, Wait};
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
}

/// Bind the listener and print the readiness line on stderr: exactly
/// `ilo httpd listening on http://HOST:PORT`, with the real port when 0 was asked.
pub fn bind(config: ServerConfig) -> io::Result<Server> {
    let addr = (config.host.as_str(), config.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| {
            io::Error::new(
                ErrorKind::InvalidInput,
                format!("cannot resolve host {}", config.host),
            )
        })?;
    let listener = TcpListener::bind(addr)?;
    deepen_backlog(&listener);
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let shown_host = if config.host.contains(':') {
        format!("[{}]", config.host)
    } else {
        config.host.clone()
    };
    eprintln!("ilo httpd listening on http://{shown_host}:{}", addr.port());
    Ok(Server {
        listener,
        addr,
        config,
        shutdown: Shutdown::new()?,
        stats: Arc::new(ServerStats::default()),
    })
}

/// The standard library listens with a backlog of 128, which overflows when thousands
/// of clients connect at once (each overflow costs a client a SYN retransmit, a second
/// or more). Linux lets `listen` be called again to raise it; the kernel caps it at
/// `net.core.somaxconn`. Failure leaves the original backlog, which still works.
fn deepen_backlog(listener: &TcpListener) {
    // SAFETY: listen(2) on a descriptor we own that is already a listening socket.
    let _ = unsafe { libc::listen(listener.as_raw_fd(), LISTEN_BACKLOG) };
}

const LISTEN_BACKLOG: libc::c_int = 4096;

/// Connections still being served, so shutdown can wait for them.
#[derive(Default)]
struct InFlight {
    count: Mutex<usize>,
    idle: Condvar,
}

impl InFlight {
    fn enter(self: &Arc<Self>) -> InFlightGuard {
        if let Ok(mut n) = self.count.lock() {
            *n += 1;
        }
        InFlightGuard(Arc::clone(self))
    }

    /// Wait until no connection is in flight or `deadline` passes.
    fn wait_idle(&self, deadline: Instant) {
        let Ok(mut n) = self.count.lock() else { return };
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self.idle.wait_timeout(n, left) {
                Ok((guard, _)) => n = guard,
                Err(_) => return,
            }
        }
    }
}

struct InFlightGuard(Arc<InFlight>);

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
        let Server {
            listener,
            config,
            shutdown,
            stats,
            ..
        } = self;
        let workers = config.workers.max(1);
        let deadline_after = config.shutdown_deadline;
        let shared = Arc::new(Shared {
            log: AccessLog {
                quiet: config.quiet,
            },
            config,
            handler,
            shutdown: Arc::clone(&shutdown),
            stats,
        });
        let listener = Arc::new(listener);
        let in_flight = Arc::new(InFlight::default());
        let mut threads = Vec::with_capacity(workers);
        for i in 0..workers {
            let (listener, shared, in_flight) = (
                Arc::clone(&listener),
                Arc::clone(&shared),
                Arc::clone(&in_flight),
            );
            threads.push(
                thread::Builder::new()
                    .name(format!("ilo-accept-{i}"))
                    .spawn(move || accept_loop(&listener, &shared, &in_flight))?,
            );
        }
        for t in threads {
            let _ = t.join();
        }
        drop(listener);
        in_flight.wait_idle(Instant::now() + deadline_after);
        Ok(())
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, in_flight: &Arc<InFlight>) {
    let wake_fd = shared.shutdown.wake_fd();
    loop {
        match wait_readable(listener.as_raw_fd(), wake_fd, -1) {
            Ok(Wait::Ready) => {}
            Ok(Wait::TimedOut) => continue,
            Ok(Wait::ShuttingDown) => return,
            Err(e) => {
                shared.log.problem("poll on listener", &e.to_string());
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        }
        match listener.accept() {
            Ok((stream, _peer)) => spawn_connection(stream, shared, in_flight),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::Interrupted | ErrorKind::ConnectionAborted
                ) => {}
            Err(e) => {
                // Out of descriptors or memory: back off instead of spinning; the
                // pending connection is retried when something frees up.
                shared.log.problem("accept", &e.to_string());
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn spawn_connection(stream: TcpStream, shared: &Arc<Shared>, in_flight: &Arc<InFlight>) {
    shared.stats.count_connection();
    let configured = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_nodelay(true))
        .and_then(|()| stream.set_write_timeout(Some(shared.config.write_timeout)));
    if let Err(e) = configured {
        shared.log.problem("configuring connection", &e.to_string());
        return;
    }
    let guard = in_flight.enter();
    let thread_shared = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name("ilo-conn".to_string())
        .stack_size(shared.config.stack_size)
        .spawn(move || {
            let _guard = guard;
            // `serve` answers handler panics itself; this catches anything else so one
            // connection can never take the process down.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                connection::serve(stream, &thread_shared)
            }));
        });
    if let Err(e) = spawned {
        shared
            .log
            .problem("spawning connection thread", &e.to_string());
    }
}
