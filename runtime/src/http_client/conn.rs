//! Opening a connection: TCP, wrapped in TLS (rustls with the ring provider and the
//! webpki root certificates) for `https`.

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
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
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
