//! Hit/miss counters of the decision caches, for /metrics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Lookups answered from the cache (including callers that waited on a concurrent miss) and
/// lookups that had to ask the API server or verify a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Counters {
    pub(super) fn record(&self, missed: bool) {
        let counter = if missed { &self.misses } else { &self.hits };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> CacheStats {
        CacheStats { hits: self.hits.load(Ordering::Relaxed), misses: self.misses.load(Ordering::Relaxed) }
    }
}
