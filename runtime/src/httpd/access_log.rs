//! One access-log line per request on stderr: method, path, status, body bytes and
//! duration, as text or (`--log-format json`) as one JSON object per line with the
//! same fields, for log shippers. Diagnostics (handler errors, aborted streams) go to
//! the same place, always as text.
//!
//! A write to stderr per request would cost as much as answering a small request, so
//! each thread gathers its lines and writes them at once when its event loop runs out
//! of work ([`AccessLog::flush`]), when enough have gathered, before a diagnostic (so
//! the order of one thread's lines is kept) and when the thread ends. Lines are only
//! delayed while the server is busy with more requests.

use std::cell::RefCell;
use std::io::Write;
use std::time::Duration;

use super::head::push_decimal;

/// Gathered lines are written once they reach this size.
const FLUSH_AT: usize = 16 * 1024;

pub struct AccessLog {
    pub quiet: bool,
    pub json: bool,
}

/// This thread's gathered lines; written when the thread ends too.
struct Pending(Vec<u8>);

impl Drop for Pending {
    fn drop(&mut self) {
        write_out(&mut self.0);
    }
}

thread_local! {
    static PENDING: RefCell<Pending> = const { RefCell::new(Pending(Vec::new())) };
}

/// One write_all for everything gathered, so lines from several threads never
/// interleave within a line.
fn write_out(buf: &mut Vec<u8>) {
    if !buf.is_empty() {
        let _ = std::io::stderr().write_all(buf);
        buf.clear();
    }
}

impl AccessLog {
    pub fn request(&self, method: &str, path: &str, status: u16, bytes: u64, took: Duration) {
        if self.quiet {
            return;
        }
        // Tenths of a millisecond, rounded, without the float formatting machinery.
        let tenths = (took.as_micros() + 50) / 100;
        PENDING.with(|pending| {
            let Ok(mut pending) = pending.try_borrow_mut() else {
                return;
            };
            let line = &mut pending.0;
            if self.json {
                let entry = serde_json::json!({
                    "method": method,
                    "path": path,
                    "status": status,
                    "bytes": bytes,
                    "ms": tenths as f64 / 10.0,
                });
                let _ = serde_json::to_writer(&mut *line, &entry);
                line.push(b'\n');
                if line.len() >= FLUSH_AT {
                    write_out(line);
                }
                return;
            }
            line.extend_from_slice(method.as_bytes());
            line.push(b' ');
            line.extend_from_slice(path.as_bytes());
            line.push(b' ');
            push_decimal(line, u64::from(status));
            line.push(b' ');
            push_decimal(line, bytes);
            line.extend_from_slice(b"B ");
            push_decimal(line, u64::try_from(tenths / 10).unwrap_or(u64::MAX));
            line.push(b'.');
            push_decimal(line, (tenths % 10) as u64);
            line.extend_from_slice(b"ms\n");
            if line.len() >= FLUSH_AT {
                write_out(line);
            }
        });
    }

    /// Has this thread gathered lines not written yet?
    pub fn has_pending(&self) -> bool {
        !self.quiet && PENDING.with(|p| p.try_borrow().is_ok_and(|p| !p.0.is_empty()))
    }

    /// Write this thread's gathered lines now (its loop has nothing else to do).
    pub fn flush(&self) {
        PENDING.with(|pending| {
            if let Ok(mut pending) = pending.try_borrow_mut() {
                write_out(&mut pending.0);
            }
        });
    }

    /// Problems worth an operator's attention are logged even when quiet, at once.
    pub fn problem(&self, context: &str, detail: &str) {
        self.flush();
        let line = format!("ilo httpd: {context}: {detail}\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_gather_until_flushed_and_read_as_before() {
        let log = AccessLog {
            quiet: false,
            json: false,
        };
        log.request("GET", "/a", 200, 12, Duration::from_micros(1_260));
        log.request("POST", "/b", 404, 0, Duration::from_micros(40));
        let gathered = PENDING.with(|p| String::from_utf8_lossy(&p.borrow().0).into_owned());
        assert_eq!(gathered, "GET /a 200 12B 1.3ms\nPOST /b 404 0B 0.0ms\n");
        log.flush();
        assert!(PENDING.with(|p| p.borrow().0.is_empty()));
        let quiet = AccessLog {
            quiet: true,
            json: false,
        };
        quiet.request("GET", "/", 200, 1, Duration::ZERO);
        assert!(PENDING.with(|p| p.borrow().0.is_empty()));
        let json = AccessLog {
            quiet: false,
            json: true,
        };
        json.request("GET", "/\"q", 200, 12, Duration::from_micros(1_260));
        let gathered = PENDING.with(|p| String::from_utf8_lossy(&p.borrow().0).into_owned());
        assert_eq!(
            gathered,
            "{\"bytes\":12,\"method\":\"GET\",\"ms\":1.3,\"path\":\"/\\\"q\",\"status\":200}\n"
        );
        json.flush();
    }
}
