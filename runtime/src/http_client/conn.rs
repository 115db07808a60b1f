//! Opening a connection: TCP, wrapped in TLS (rustls with the ring provider) for
//! `https`.
//!
//! Trusted authorities: the public roots compiled in (webpki-roots), plus the system's
//! certificate store, so an upstream behind a company's private CA works once that CA
//! is installed the usual way. `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR`
//! (directories of PEM files), the variables OpenSSL and curl honour, replace the
//! system store when set; a file they name that cannot be read makes every `https`
//! request fail with that reason rather than quietly trusting less.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use super::url::Url;

pub enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
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
            match TcpStream::connect_timeout(&addr, connect_timeout) {
                Ok(tcp) => {
                    // Small request writes should leave at once.
                    let _ = tcp.set_nodelay(true);
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

    pub fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(s) => s.get_ref(),
        }
    }
}

fn tls(url: &Url, tcp: TcpStream) -> Result<Conn, String> {
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
