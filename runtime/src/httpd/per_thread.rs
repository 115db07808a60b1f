//! State every request writes, split so that two loop threads never write one cache
//! line.
//!
//! A counter or a table shared by all loops is written by each of them on every
//! request; with two loops on two cores its cache line moves from core to core each
//! time, a stall of the order of a hundred nanoseconds, several times per request.
//! A [`PerThread`] holds one padded copy per shard, and each thread writes the one
//! its index picks: loop threads, started one after the other, take different
//! shards. Readers (tests, metrics, the monitor) visit all of them; they are rare.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

/// Shards per value. More threads than this share shards, which stays correct (a
/// shard is as thread-safe as the value it holds) and only costs the sharing.
const SHARDS: usize = 16;

static NEXT_INDEX: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static INDEX: usize = NEXT_INDEX.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

/// The calling thread's shard, fixed for its lifetime.
pub fn shard_index() -> usize {
    INDEX.with(|i| *i)
}

/// One `T` per shard, each on cache lines of its own.
pub struct PerThread<T> {
    shards: Box<[CachePadded<T>]>,
}

impl<T: Default> Default for PerThread<T> {
    fn default() -> Self {
        PerThread {
            shards: (0..SHARDS).map(|_| CachePadded::new(T::default())).collect(),
        }
    }
}

impl<T> PerThread<T> {
    /// The calling thread's shard.
    pub fn mine(&self) -> &T {
        self.shard(shard_index())
    }

    /// Shard `index` (as [`shard_index`] gave it).
    pub fn shard(&self, index: usize) -> &T {
        &self.shards[index % SHARDS]
    }

    /// Every shard, for readers that add them up or look through them.
    pub fn all(&self) -> impl Iterator<Item = &T> {
        self.shards.iter().map(|s| &**s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;

    #[test]
    fn threads_write_their_own_shards_and_readers_see_them_all() {
        let counts: Arc<PerThread<AtomicU64>> = Arc::default();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let counts = Arc::clone(&counts);
                std::thread::spawn(move || {
                    let index = shard_index();
                    for _ in 0..1000 {
                        counts.mine().fetch_add(1, Ordering::Relaxed);
                    }
                    assert_eq!(shard_index(), index, "a thread keeps its shard");
                    index
                })
            })
            .collect();
        let mut per_shard = [0u64; SHARDS];
        for t in threads {
            per_shard[t.join().expect("counting thread")] += 1000;
        }
        let counted: Vec<u64> = counts.all().map(|c| c.load(Ordering::Relaxed)).collect();
        assert_eq!(counted, per_shard, "each thread counted in its own shard");
    }
}
