//! Graceful shutdown: a flag plus a self-pipe that wakes every waiting thread.
//!
//! Event loops watch the pipe's read end in their epoll sets, and request bodies are
//! read in `poll` on the socket *and* the pipe. Shutting down writes one byte that is
//! never read, so the pipe stays readable and every present and future wait returns
//! at once. SIGINT and SIGTERM reach the same pipe through an async-signal-safe
//! handler that only stores an atomic flag and calls `write`; the flag lets
//! [`Shutdown::is_requested`], asked once per request, answer with a load instead of
//! a system call.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

pub struct Shutdown {
    requested: AtomicBool,
    /// Set once SIGINT/SIGTERM are routed here, so [`SIGNALLED`] concerns this server.
    signals_routed: AtomicBool,
    wake_read: OwnedFd,
    wake_write: OwnedFd,
}

impl Shutdown {
    pub fn new() -> io::Result<Arc<Shutdown>> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 writes two descriptors into the array we pass.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created and are owned by nobody else.
        let (wake_read, wake_write) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Arc::new(Shutdown {
            requested: AtomicBool::new(false),
            signals_routed: AtomicBool::new(false),
            wake_read,
            wake_write,
        }))
    }

    /// Ask the server to stop: no new connections, no new requests on kept-alive ones.
    pub fn trigger(&self) {
        self.requested.store(true, Ordering::SeqCst);
        wake(self.wake_write.as_raw_fd());
    }

    /// True once shutdown was triggered, by [`Shutdown::trigger`] or a signal. Only
    /// loads atomics: it is asked once per request.
    pub fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
            || (self.signals_routed.load(Ordering::SeqCst) && SIGNALLED.load(Ordering::SeqCst))
    }

    /// The descriptor that becomes readable when shutdown is requested.
    pub fn wake_fd(&self) -> RawFd {
        self.wake_read.as_raw_fd()
    }
}

/// Lets tests (and embedders) stop a running server.
#[derive(Clone)]
pub struct ShutdownHandle(pub(crate) Arc<Shutdown>);

impl ShutdownHandle {
    /// Stop accepting, let in-flight responses finish up to the deadline; `run` returns.
    pub fn shutdown(&self) {
        self.0.trigger();
    }
}

/// The write end the signal handler wakes; -1 until handlers are installed.
static SIGNAL_WAKE_FD: AtomicI32 = AtomicI32::new(-1);

/// Set by the signal handler (an atomic store is async-signal-safe).
static SIGNALLED: AtomicBool = AtomicBool::new(false);

fn wake(fd: RawFd) {
    let byte = 1u8;
    // SAFETY: writing one byte from a valid local to a descriptor; failure (a full
    // pipe) is harmless because the pipe is then already readable.
    let _ = unsafe { libc::write(fd, &byte as *const u8 as *const libc::c_void, 1) };
}

extern "C" fn on_signal(_sig: libc::c_int) {
    // Only async-signal-safe work here: atomic operations and write(2).
    SIGNALLED.store(true, Ordering::SeqCst);
    let fd = SIGNAL_WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        wake(fd);
    }
}

/// Route SIGINT and SIGTERM to this server's shutdown. The server's state is kept
/// alive for the rest of the process so the descriptor stays valid for the handler.
pub fn install_signal_handlers(shutdown: &Arc<Shutdown>) -> io::Result<()> {
    SIGNAL_WAKE_FD.store(shutdown.wake_write.as_raw_fd(), Ordering::SeqCst);
    shutdown.signals_routed.store(true, Ordering::SeqCst);
    std::mem::forget(Arc::clone(shutdown));
    for sig in [libc::SIGINT, libc::SIGTERM] {
        set_handler(
            sig,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )?;
    }
    Ok(())
}

/// Set the disposition of `sig` (a handler address, `SIG_IGN` or `SIG_DFL`).
pub fn set_handler(sig: libc::c_int, handler: libc::sighandler_t) -> io::Result<()> {
    // SAFETY: a zeroed sigaction is a valid starting point; we set the handler and an
    // empty mask, and pass valid pointers to sigaction.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(sig, &action, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
