//! One access-log line per request on stderr: method, path, status, body bytes and
//! duration. Diagnostics (handler errors, aborted streams) go to the same place.

use std::io::Write;
use std::time::Duration;

pub struct AccessLog {
    pub quiet: bool,
}

impl AccessLog {
    pub fn request(&self, method: &str, path: &str, status: u16, bytes: u64, took: Duration) {
        if self.quiet {
            return;
        }
        let ms = took.as_secs_f64() * 1000.0;
        // One write_all per line so lines from concurrent connections do not interleave.
        let line = format!("{method} {path} {status} {bytes}B {ms:.1}ms\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    /// Problems worth an operator's attention are logged even when quiet.
    pub fn problem(&self, context: &str, detail: &str) {
        let line = format!("ilo httpd: {context}: {detail}\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}
