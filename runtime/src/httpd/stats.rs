//! Counters a running server keeps, for tests and diagnostics.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default, Debug)]
pub struct ServerStats {
    connections: AtomicU64,
    requests: AtomicU64,
    responses: AtomicU64,
    writes: AtomicU64,
}

impl ServerStats {
    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Requests whose head was parsed (including those answered with an error).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Exchanges finished (the handler returned and its response was sent or failed).
    pub fn responses(&self) -> u64 {
        self.responses.load(Ordering::Relaxed)
    }

    /// Write system calls issued for responses (each `writev` counts once).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    pub(crate) fn count_connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_response(&self) {
        self.responses.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
}
