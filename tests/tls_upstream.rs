//! `get` and `get-stream` against a local HTTPS upstream whose certificate authority
//! the test creates: trusted through `SSL_CERT_FILE`, lines stream through `ilo httpd`
//! one by one; an authority nobody trusts, a certificate for another name, and an
//! unreadable `SSL_CERT_FILE` each fail with a message that says so.

#[path = "support/httpd.rs"]
mod support;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::thread;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use support::{
    chunk, handler_dir, ilo, local_listener, next_chunk, read_head, send, Server, CHUNKED_HEAD,
    IO_TIMEOUT,
};

/// A certificate authority made for one test and a server certificate for
/// `localhost` signed by it.
struct Pki {
    dir: tempfile::TempDir,
    server: Arc<ServerConfig>,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "ilo test authority");
        let ca_cert = ca.self_signed(&ca_key).expect("self-signed CA");
        let issuer = Issuer::new(ca, ca_key);
        let leaf_key = KeyPair::generate().expect("server key");
        let leaf = CertificateParams::new(vec!["localhost".to_string()])
            .expect("server params")
            .signed_by(&leaf_key, &issuer)
            .expect("server certificate");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).expect("write CA");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone()];
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server config");
        Pki {
            dir,
            server: Arc::new(server),
        }
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

/// An HTTPS upstream on 127.0.0.1 answering every connection with `lines` lines, each
/// in its own chunk, sending the next only after `seen` says the previous one arrived
/// (a client that held lines back would stall it). Reports on the returned channel
/// the line it stalled at, if any, for the first connection that completed a
/// handshake.
fn https_upstream(
    pki: &Pki,
    lines: usize,
    seen: Option<mpsc::Receiver<()>>,
) -> (u16, mpsc::Receiver<Option<usize>>) {
    let (listener, port) = local_listener();
    let config = Arc::clone(&pki.server);
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut seen = seen;
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            // A client that rejects the certificate ends the handshake here.
            let Some(mut tls) = accept_request(tcp, &config) else {
                continue;
            };
            let _ = tls.write_all(CHUNKED_HEAD);
            let mut stalled = None;
            for i in 0..lines {
                let line = format!("secure {i}\n");
                let _ = tls.write_all(&chunk(&line));
                let _ = tls.flush();
                if let Some(rx) = &seen {
                    if rx.recv_timeout(IO_TIMEOUT).is_err() {
                        stalled = Some(i);
                        break;
                    }
                }
            }
            let _ = tls.write_all(b"0\r\n\r\n");
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
            let _ = done_tx.send(stalled);
            seen = None;
        }
    });
    (port, done_rx)
}

/// Read a request head; `None` when the handshake or the read failed.
/// Completes the handshake on an accepted connection and reads its request head; `None`
/// when either fails (a client that rejects the certificate ends it in the handshake).
fn accept_request(
    tcp: TcpStream,
    config: &Arc<ServerConfig>,
) -> Option<StreamOwned<ServerConnection, TcpStream>> {
    let _ = tcp.set_read_timeout(Some(IO_TIMEOUT));
    let conn = ServerConnection::new(Arc::clone(config)).ok()?;
    let mut tls = StreamOwned::new(conn, tcp);
    read_request(&mut tls)?;
    Some(tls)
}

fn read_request(tls: &mut StreamOwned<ServerConnection, TcpStream>) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tls.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// `ilo 'f>R t t;get "URL"'` with the given trust settings: (exit code, stdout, stderr).
fn get(url: &str, ca_file: Option<&Path>) -> (Option<i32>, String, String) {
    let program = format!("f>R t t;get \"{url}\"");
    let mut cmd = ilo();
    cmd.arg(&program).env_remove("SSL_CERT_DIR");
    match ca_file {
        Some(f) => cmd.env("SSL_CERT_FILE", f),
        None => cmd.env_remove("SSL_CERT_FILE"),
    };
    let out = cmd.output().expect("run ilo");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_trusted_private_authority_streams_line_by_line_through_the_server() {
    let pki = Pki::new();
    let lines = 4;
    let (seen_tx, seen_rx) = mpsc::channel();
    let (port, done) = https_upstream(&pki, lines, Some(seen_rx));
    let source =
        format!("handler req:_>_;rsp status:200 body:(get-stream \"https://localhost:{port}/\")\n");
    let dir = handler_dir(&[("proxy.ilo", &source)]);
    let handler = dir.path().join("proxy.ilo");
    let server = Server::start_with(
        ilo()
            .args(["httpd", "--port", "0"])
            .arg(&handler)
            .env("SSL_CERT_FILE", pki.ca_file())
            .env_remove("SSL_CERT_DIR"),
    );
    let mut s = server.connect();
    send(
        &mut s,
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let mut r = BufReader::new(s);
    let (status, _) = read_head(&mut r);
    assert_eq!(status, 200, "log: {:?}", server.log());
    let mut chunks = Vec::new();
    while let Some(chunk) = next_chunk(&mut r) {
        chunks.push(String::from_utf8_lossy(&chunk).into_owned());
        let _ = seen_tx.send(());
    }
    let stalled = done.recv_timeout(IO_TIMEOUT).expect("upstream finished");
    assert_eq!(stalled, None, "a line was held back on its way through TLS");
    let expected: Vec<String> = (0..lines).map(|i| format!("secure {i}\n")).collect();
    assert_eq!(chunks, expected);
}

#[test]
fn eager_get_succeeds_when_the_authority_is_trusted() {
    let pki = Pki::new();
    let (port, _done) = https_upstream(&pki, 2, None);
    let (code, stdout, stderr) = get(&format!("https://localhost:{port}/"), Some(&pki.ca_file()));
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert_eq!(stdout.trim_end(), "secure 0\nsecure 1");
}

#[test]
fn an_authority_nobody_trusts_is_refused_with_a_clear_error() {
    let pki = Pki::new();
    let (port, _done) = https_upstream(&pki, 1, None);
    let (code, stdout, stderr) = get(&format!("https://localhost:{port}/"), None);
    assert_eq!(code, Some(1), "stdout: {stdout}");
    assert!(
        stderr.contains("is not signed by a trusted authority"),
        "stderr: {stderr}"
    );
}

#[test]
fn a_certificate_for_another_name_is_refused_with_a_clear_error() {
    let pki = Pki::new();
    let (port, _done) = https_upstream(&pki, 1, None);
    // The certificate names localhost; the address is not that name.
    let (code, _, stderr) = get(&format!("https://127.0.0.1:{port}/"), Some(&pki.ca_file()));
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("is not valid for that name"),
        "stderr: {stderr}"
    );
}

#[test]
fn an_unreadable_ssl_cert_file_is_reported_not_ignored() {
    let pki = Pki::new();
    let (port, _done) = https_upstream(&pki, 1, None);
    let missing = pki.dir.path().join("no-such.pem");
    let (code, _, stderr) = get(&format!("https://localhost:{port}/"), Some(&missing));
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("cannot load trusted certificates"),
        "stderr: {stderr}"
    );
}

#[test]
fn an_https_upstream_dropped_mid_body_cuts_that_response_and_serving_goes_on() {
    let pki = Pki::new();
    let (listener, port) = local_listener();
    let config = Arc::clone(&pki.server);
    thread::spawn(move || {
        for (i, tcp) in listener.incoming().enumerate() {
            let Ok(tcp) = tcp else { return };
            let Some(mut tls) = accept_request(tcp, &config) else {
                continue;
            };
            let _ = tls.write_all(CHUNKED_HEAD);
            let _ = tls.write_all(b"3\r\nl0\n\r\n3\r\nl1\n\r\n");
            if i == 0 {
                // Half a chunk, then the TCP connection drops without a TLS close.
                let _ = tls.write_all(b"9\r\nbro");
                let _ = tls.flush();
                let _ = tls.sock.shutdown(std::net::Shutdown::Both);
            } else {
                let _ = tls.write_all(b"0\r\n\r\n");
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        }
    });
    let source =
        format!("handler req:_>_;rsp status:200 body:(get-stream \"https://localhost:{port}/\")\n");
    let dir = handler_dir(&[("proxy.ilo", &source)]);
    let server = Server::start_with(
        ilo()
            .args(["httpd", "--port", "0"])
            .arg(dir.path().join("proxy.ilo"))
            .env("SSL_CERT_FILE", pki.ca_file())
            .env_remove("SSL_CERT_DIR"),
    );
    let cut = server.get("/first");
    assert_eq!(cut.status, 200, "log: {:?}", server.log());
    assert_eq!(cut.chunk_texts(), vec!["l0\n", "l1\n"]);
    assert!(!cut.complete, "a cut body must not end with the last chunk");
    assert!(server
        .wait_log("body source failed mid-stream", IO_TIMEOUT)
        .is_some());
    let whole = server.get("/second");
    assert_eq!(whole.chunk_texts(), vec!["l0\n", "l1\n"]);
    assert!(whole.complete, "log: {:?}", server.log());
}
