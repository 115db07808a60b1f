//! Counters a running server keeps, for tests and diagnostics.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Shards of the write count. Every `send` of every loop counts, and one counter
/// would be a cache line the loops' cores pull from each other at every send of a
/// broadcast fan-out; each thread adds to a shard of its own instead.
const WRITE_SHARDS: usize = 8;

/// A counter alone on its cache lines (two, for the adjacent-line prefetcher).
#[derive(Default, Debug)]
#[repr(align(128))]
struct Shard(AtomicU64);

thread_local! {
    /// The write shard this thread adds to, drawn in turn at its first write.
    static WRITE_SHARD: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed) % WRITE_SHARDS
    };
}

#[derive(Default, Debug)]
pub struct ServerStats {
    connections: AtomicU64,
    requests: AtomicU64,
    responses: AtomicU64,
    writes: [Shard; WRITE_SHARDS],
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
        self.writes
            .iter()
            .map(|s| s.0.load(Ordering::Relaxed))
            .sum()
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
        let shard = WRITE_SHARD.with(|s| *s);
        self.writes[shard].0.fetch_add(1, Ordering::Relaxed);
    }
}
