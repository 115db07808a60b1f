//! Binding, the readiness line, starting the event loops, and the shutdown sequence.
//!
//! The event loops ([`super::event_loop`]) accept on the one (non-blocking) listener
//! and serve the connections. `run` sleeps until shutdown is requested, then stops
//! accepting, closes idle connections, and waits for in-flight responses up to the
//! deadline.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::access_log::AccessLog;
use super::config::ServerConfig;
use super::connection::Shared;
use super::event_loop::Loops;
use super::process::{ignore_sigpipe, raise_nofile_limit, wait_readable};
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
        let in_flight = Arc::new(InFlight::default());
        let loops = Loops::new(listener, shared, Arc::clone(&in_flight), workers)?;
        loops.start()?;
        wait_for_shutdown(&shutdown);
        let deadline = Instant::now() + deadline_after;
        loops.stop_accepting();
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
