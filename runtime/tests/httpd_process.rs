//! `httpd::serve` as a process: the readiness line, the access log, and a graceful
//! exit 0 on SIGTERM and SIGINT. The server runs in a child process (this test binary
//! re-executed with `ILO_HTTPD_SERVE_CHILD` set) so signals reach only it.

mod httpd_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use httpd_support::*;
use ilo_runtime::httpd::{self, ServerConfig};
use ilo_runtime::value::Value;

const CHILD_ENV: &str = "ILO_HTTPD_SERVE_CHILD";

/// Child side: serve until a signal, then report and return (exit status 0).
fn serve_in_child() {
    let config = ServerConfig {
        port: 0,
        workers: 1,
        quiet: false,
        ..ServerConfig::default()
    };
    let handler: httpd::Handler = Arc::new(|_req: Value| Ok(Value::text("from child")));
    httpd::serve(config, handler).expect("serve");
    eprintln!("child: serve returned");
}

fn spawn_child(test_name: &str) -> (Child, BufReader<ChildStderr>) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", test_name, "--nocapture"])
        .env(CHILD_ENV, "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn server process");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    (child, stderr)
}

/// Read stderr lines until one satisfies `want`; returns it.
fn line_matching(stderr: &mut BufReader<ChildStderr>, want: impl Fn(&str) -> bool) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = stderr.read_line(&mut line).expect("read child stderr");
        assert!(n > 0, "child stderr ended before the expected line");
        if want(line.trim_end()) {
            return line.trim_end().to_string();
        }
    }
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(t.elapsed() < limit, "server did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn readiness_log_and_signal(test_name: &str, signal: libc::c_int) {
    let (mut child, mut stderr) = spawn_child(test_name);
    // Readiness comes from the stderr line, never from probing the port.
    let ready = line_matching(&mut stderr, |l| l.starts_with("ilo httpd listening on "));
    let port: u16 = ready
        .strip_prefix("ilo httpd listening on http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected readiness line {ready:?}"));
    assert_ne!(port, 0, "the ephemeral port is printed, not 0");

    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut client = Client {
        reader: BufReader::new(stream.try_clone().expect("clone")),
        stream,
    };
    assert_eq!(client.get("/logged?secret=1").text(), "from child");
    let log = line_matching(&mut stderr, |l| l.starts_with("GET "));
    let parts: Vec<&str> = log.split(' ').collect();
    assert_eq!(
        &parts[..4],
        ["GET", "/logged", "200", "10B"],
        "access log line {log:?}"
    );
    assert!(parts[4].ends_with("ms"), "duration in {log:?}");
    drop(client);

    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: sending a signal to the child process we spawned.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
    line_matching(&mut stderr, |l| l == "child: serve returned");
}

#[test]
fn sigterm_stops_the_server_with_exit_0() {
    if std::env::var(CHILD_ENV).is_ok() {
        return serve_in_child();
    }
    readiness_log_and_signal("sigterm_stops_the_server_with_exit_0", libc::SIGTERM);
}

#[test]
fn sigint_stops_the_server_with_exit_0() {
    if std::env::var(CHILD_ENV).is_ok() {
        return serve_in_child();
    }
    readiness_log_and_signal("sigint_stops_the_server_with_exit_0", libc::SIGINT);
}
