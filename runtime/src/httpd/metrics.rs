//! `--metrics HOST:PORT`: what the server does, in Prometheus' text exposition format,
//! on a listener of its own.
//!
//! Recording happens on the request path, so it is a handful of atomic additions per
//! request and nothing when metrics are off (the server then holds no [`Metrics`] at
//! all). Scrapes are answered by one plain thread that reads the atomics; a scrape
//! never waits for the event loops or they for it.
//!
//! Two promises keep what a client sees consistent. A response is counted before the
//! write that completes it ([`Tally`]), so a client that has read a whole response
//! and then scrapes finds it in every counter. And a response's duration is recorded
//! last, with release ordering, while a scrape reads the durations first, with
//! acquire ordering: a scrape that counts a response's duration also counts its
//! status and its streamed lines.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{
    AtomicI64, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// Upper bounds (seconds) of the request-duration histogram's buckets; `+Inf` follows.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Statuses are counted one by one from 100 to 599; anything else lands in 599's slot
/// (the server never sends such a status).
const FIRST_STATUS: u16 = 100;
const STATUSES: usize = 500;

#[derive(Debug)]
pub struct Metrics {
    responses: Box<[AtomicU64]>,
    handler_errors: AtomicU64,
    open_connections: AtomicI64,
    open_streams: AtomicI64,
    lines_streamed: AtomicU64,
    bytes_streamed: AtomicU64,
    /// Per bucket, not cumulative (cumulated when rendered); the last is `+Inf`.
    duration_buckets: [AtomicU64; BUCKETS.len() + 1],
    duration_micros: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            responses: (0..STATUSES).map(|_| AtomicU64::new(0)).collect(),
            handler_errors: AtomicU64::new(0),
            open_connections: AtomicI64::new(0),
            open_streams: AtomicI64::new(0),
            lines_streamed: AtomicU64::new(0),
            bytes_streamed: AtomicU64::new(0),
            duration_buckets: Default::default(),
            duration_micros: AtomicU64::new(0),
        }
    }
}

/// Counts an open connection or stream for as long as it lives.
pub struct Open {
    gauge: Option<(Arc<Metrics>, Gauge)>,
}

#[derive(Clone, Copy)]
enum Gauge {
    Connections,
    Streams,
}

impl Open {
    fn new(metrics: Option<&Arc<Metrics>>, gauge: Gauge) -> Open {
        let gauge = metrics.map(|m| {
            m.gauge(gauge).fetch_add(1, Relaxed);
            (Arc::clone(m), gauge)
        });
        Open { gauge }
    }

    pub fn connection(metrics: Option<&Arc<Metrics>>) -> Open {
        Open::new(metrics, Gauge::Connections)
    }

    pub fn stream(metrics: Option<&Arc<Metrics>>) -> Open {
        Open::new(metrics, Gauge::Streams)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some((m, gauge)) = &self.gauge {
            m.gauge(*gauge).fetch_sub(1, Relaxed);
        }
    }
}

impl Metrics {
    fn gauge(&self, which: Gauge) -> &AtomicI64 {
        match which {
            Gauge::Connections => &self.open_connections,
            Gauge::Streams => &self.open_streams,
        }
    }

    /// One response about to be completed (or cut short): its status and how long
    /// it took. The duration goes last, released: see the module comment.
    pub fn response(&self, status: u16, took: Duration) {
        let slot = usize::from(status.saturating_sub(FIRST_STATUS)).min(STATUSES - 1);
        self.responses[slot].fetch_add(1, Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.duration_micros.fetch_add(micros, Relaxed);
        let secs = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&le| secs <= le)
            .unwrap_or(BUCKETS.len());
        self.duration_buckets[bucket].fetch_add(1, Release);
    }

    pub fn handler_error(&self) {
        self.handler_errors.fetch_add(1, Relaxed);
    }

    fn streamed(&self, lines: u64, bytes: u64) {
        self.lines_streamed.fetch_add(lines, Relaxed);
        self.bytes_streamed.fetch_add(bytes, Relaxed);
    }

    /// The exposition: every family with its HELP and TYPE lines.
    pub fn render(&self) -> String {
        // Durations first, acquired: everything recorded before them is seen below.
        let buckets = self.duration_buckets.each_ref().map(|n| n.load(Acquire));
        let micros = self.duration_micros.load(Relaxed);
        let mut out = String::new();
        family(
            &mut out,
            "ilo_http_requests_total",
            "counter",
            "Responses sent, by status code.",
        );
        for (i, n) in self.responses.iter().enumerate() {
            let n = n.load(Relaxed);
            if n > 0 {
                let status = usize::from(FIRST_STATUS) + i;
                let _ = writeln!(out, "ilo_http_requests_total{{status=\"{status}\"}} {n}");
            }
        }
        let counters = [
            (
                "ilo_handler_errors_total",
                "Handler calls that failed (answered 500).",
                &self.handler_errors,
            ),
            (
                "ilo_stream_lines_total",
                "Lines sent in streamed bodies.",
                &self.lines_streamed,
            ),
            (
                "ilo_stream_bytes_total",
                "Payload bytes sent in streamed bodies.",
                &self.bytes_streamed,
            ),
        ];
        for (name, help, value) in counters {
            family(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {}", value.load(Relaxed));
        }
        let gauges = [
            (
                "ilo_open_connections",
                "Client connections open now.",
                &self.open_connections,
            ),
            (
                "ilo_open_streams",
                "Streamed bodies being sent now.",
                &self.open_streams,
            ),
        ];
        for (name, help, value) in gauges {
            family(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {}", value.load(Relaxed));
        }
        let name = "ilo_http_request_duration_seconds";
        family(
            &mut out,
            name,
            "histogram",
            "Time from a complete request head to the end of its response.",
        );
        let mut cumulative = 0u64;
        for (i, n) in buckets.iter().enumerate() {
            cumulative += n;
            match BUCKETS.get(i) {
                Some(le) => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let sum = micros as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
        out
    }
}

/// A response not counted yet: settled just before the write that completes it, so
/// the client never reads a response the metrics do not show yet.
#[derive(Debug)]
pub struct Tally {
    metrics: Arc<Metrics>,
    status: u16,
    started: Instant,
}

impl Tally {
    /// `None` when metrics are off: nothing to count.
    pub fn new(metrics: Option<&Arc<Metrics>>, status: u16, started: Instant) -> Option<Tally> {
        metrics.map(|m| Tally {
            metrics: Arc::clone(m),
            status,
            started,
        })
    }

    /// Count the response, with the lines and bytes of its streamed body (zero for
    /// a body sent whole).
    pub fn settle(self, lines: u64, bytes: u64) {
        if lines > 0 || bytes > 0 {
            self.metrics.streamed(lines, bytes);
        }
        self.metrics.response(self.status, self.started.elapsed());
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Answer scrapes on `listener` for the rest of the process, on a thread of its own.
pub fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> io::Result<()> {
    thread::Builder::new()
        .name("ilo-metrics".to_string())
        .stack_size(64 * 1024)
        .spawn(move || {
            for stream in listener.incoming() {
                match stream {
                    // One scrape at a time is plenty; a failed one affects only itself.
                    Ok(stream) => {
                        let _ = answer(stream, &metrics);
                    }
                    // Out of descriptors: wait for some to free up rather than spin.
                    Err(_) => thread::sleep(Duration::from_millis(50)),
                }
            }
        })?;
    Ok(())
}

/// `GET /metrics` gets the exposition; anything else 404. One request per connection.
fn answer(mut stream: TcpStream, metrics: &Metrics) -> io::Result<()> {
    let limit = Some(Duration::from_secs(5));
    stream.set_read_timeout(limit)?;
    stream.set_write_timeout(limit)?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf)? {
            0 => break,
            n => head.extend_from_slice(&buf[..n]),
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    let wanted = request.parse(&head).is_ok()
        && request.method == Some("GET")
        && request
            .path
            .is_some_and(|p| p == "/metrics" || p.starts_with("/metrics?"));
    let (status, body) = if wanted {
        ("200 OK", metrics.render())
    } else {
        ("404 Not Found", "metrics are at GET /metrics\n".to_string())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_and_cumulates() {
        let m = Arc::new(Metrics::default());
        m.response(200, Duration::from_micros(300));
        m.response(200, Duration::from_millis(3));
        m.response(404, Duration::from_secs(60));
        m.handler_error();
        m.streamed(3, 30);
        let conn = Open::connection(Some(&m));
        let text = m.render();
        assert!(
            text.contains("ilo_http_requests_total{status=\"200\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("ilo_http_requests_total{status=\"404\"} 1\n"));
        assert!(!text.contains("status=\"500\""));
        assert!(text.contains("ilo_handler_errors_total 1\n"));
        assert!(text.contains("ilo_stream_lines_total 3\n"));
        assert!(text.contains("ilo_stream_bytes_total 30\n"));
        assert!(text.contains("ilo_open_connections 1\n"));
        assert!(text.contains("ilo_http_request_duration_seconds_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("ilo_http_request_duration_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("ilo_http_request_duration_seconds_bucket{le=\"10\"} 2\n"));
        assert!(text.contains("ilo_http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("ilo_http_request_duration_seconds_count 3\n"));
        drop(conn);
        assert!(m.render().contains("ilo_open_connections 0\n"));
    }
}
