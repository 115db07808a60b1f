//! Opening a connection: TCP, wrapped in TLS (rustls with the ring provider) for
//! `https`.
//!
//! Trusted authorities: the public roots compiled in (webpki-roots), plus the system's
//! certificate store, so an upstream behind a company's private CA works once that CA
//! is installed the usual way. `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR`
//! (directories of PEM files), the variables OpenSSL and curl honour, replace the
//! system store when set; a file they name that cannot be read makes every `https`
//! request fail with that reason rather than quietly trusting less.
//!
//! The socket is non-blocking from the start (connect included). Where the client
//! has to wait (connect in progress, a write that does not fit, a read with nothing
//! there) it waits through [`suspend::wait_fd`]: a server handler's task is suspended
//! and its event loop serves others meanwhile; elsewhere the thread blocks in `poll`.
//! TLS sits on top unchanged: rustls's `StreamOwned` drives its handshake and records
//! through the same waiting socket.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use socket2::{Domain, Protocol, Socket as RawSocket, Type};

use super::url::Url;
use crate::suspend::{self, Ready};

pub enum Conn {
    Plain(Socket),
    Tls(Box<StreamOwned<ClientConnection, Socket>>),
}

/// How an operation on the socket that cannot proceed now behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// Waits for the socket, at most this long per operation (`None`: no limit), then
    /// fails with `TimedOut`.
    Upto(Option<Duration>),
    /// Answers `WouldBlock` (for a caller that waits on the descriptor itself).
    Never,
}

/// A non-blocking TCP socket that waits as its [`Waiting`] says.
pub struct Socket {
    tcp: TcpStream,
    waiting: Cell<Waiting>,
}

impl Socket {
    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    pub fn set_waiting(&self, waiting: Waiting) {
        self.waiting.set(waiting);
    }

    /// Retry `op` each time the socket is ready, as the waiting mode allows.
    fn retry<T>(&self, ready: Ready, mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
        loop {
            match op() {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => match self.waiting.get() {
                    Waiting::Upto(limit) => suspend::wait_fd(self.tcp.as_raw_fd(), ready, limit)?,
                    Waiting::Never => return Err(e),
                },
                other => return other,
            }
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut tcp = &self.tcp;
        self.retry(Ready::Read, || tcp.read(buf))
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut tcp = &self.tcp;
        self.retry(Ready::Write, || tcp.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Connect without blocking the thread: start the connection, wait (through
/// [`suspend::wait_fd`]) until the socket is writable, then read its outcome.
fn connect(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
    let socket = RawSocket::new(
        Domain::for_address(*addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    match socket.connect(&(*addr).into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            suspend::wait_fd(socket.as_raw_fd(), Ready::Write, Some(timeout))?;
            if let Some(e) = socket.take_error()? {
                return Err(e);
            }
        }
        Err(e) => return Err(e),
    }
    Ok(socket.into())
}

impl Conn {
    /// Connect to the URL's host, trying each resolved address in turn. Errors read
    /// like the operating system's (`Connection refused (os error 111)`).
    pub fn open(url: &Url, connect_timeout: Duration) -> Result<Conn, String> {
        let addrs = (url.bare_host(), url.port)
            .to_socket_addrs()
            .map_err(|e| e.to_string())?;
        let mut last_error = format!("no address found for {}", url.host);
        for addr in addrs {
            match connect(&addr, connect_timeout) {
                Ok(tcp) => {
                    // Small request writes should leave at once.
                    let _ = tcp.set_nodelay(true);
                    let tcp = Socket {
                        tcp,
                        waiting: Cell::new(Waiting::Upto(Some(connect_timeout))),
                    };
                    return if url.tls {
                        tls(url, tcp)
                    } else {
                        Ok(Conn::Plain(tcp))
                    };
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(last_error)
    }

    pub fn socket(&self) -> &Socket {
        match self {
            Conn::Plain(socket) => socket,
            Conn::Tls(s) => s.get_ref(),
        }
    }

    pub fn tcp(&self) -> &TcpStream {
        self.socket().tcp()
    }
}

fn tls(url: &Url, tcp: Socket) -> Result<Conn, String> {
    let config = tls_config()?;
    let name = ServerName::try_from(url.bare_host().to_string())
        .map_err(|e| format!("invalid TLS server name {}: {e}", url.host))?;
    let conn = ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    // The handshake runs on the first write (the request).
    Ok(Conn::Tls(Box::new(StreamOwned::new(conn, tcp))))
}

/// One client configuration for the process: building it parses the root store.
fn tls_config() -> Result<Arc<ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = root_store()?;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

/// The compiled-in public roots plus the system's store (or the `SSL_CERT_*` files).
fn root_store() -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let native = rustls_native_certs::load_native_certs();
    let overridden = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|p| !p.is_empty()));
    if overridden {
        if let Some(e) = native.errors.first() {
            return Err(format!("cannot load trusted certificates: {e}"));
        }
    }
    // A malformed certificate in the system store is skipped, as other clients do.
    let _ = roots.add_parsable_certificates(native.certs);
    Ok(roots)
}

/// A clear message for a failed TLS handshake with `host`, or `None` when `e` is not
/// about TLS (the caller then reports it as it is).
pub fn tls_failure(host: &str, e: &io::Error) -> Option<String> {
    use rustls::CertificateError as C;
    let tls = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    Some(match tls {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => format!(
            "TLS: the certificate of {host} is not signed by a trusted authority \
             (trusted: the built-in public roots and the system store, or SSL_CERT_FILE / \
             SSL_CERT_DIR when set)"
        ),
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => {
            format!("TLS: the certificate presented by {host} is not valid for that name")
        }
        other => format!("TLS with {host}: {other}"),
    })
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => match s.read(buf) {
                // Servers that close without close_notify: treat as an ordinary end;
                // framing (Content-Length, chunked) still detects a truncated body.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}
