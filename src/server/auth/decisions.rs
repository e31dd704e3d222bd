//! The authorizer's first-level decision table: every decision a SubjectAccessReview gave, by
//! attributes, answered synchronously on the request path. A lookup hashes the request's user,
//! verb and path (equal attributes always have equal ones) and compares candidates with a caller's
//! `is_same`, so a request is checked without building its [`Attributes`]; an entry answers only
//! until its `expires_at` (review time + TTL). Sharded read/write locks keep concurrent hits from
//! contending. The capacity bounds the whole table, not each shard (a shard's share of the
//! entries varies with the hashes): an insert into a full table first drops the inserting shard's
//! expired entries, else its entry that expires first, and is skipped when that shard is empty.
//!
//! Misses are not handled here: the authorizer asks its moka cache, which coalesces concurrent
//! misses into one review, and stores the answer here.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::RwLock;

use super::{Attributes, Decision, UserInfo};

const SHARDS: usize = 16;

/// One review's answer for `attrs`, valid until `expires_at`.
#[derive(Debug)]
pub struct Remembered {
    pub attrs: Attributes,
    pub decision: Decision,
    /// The TTL the decision was given (allowed or denied TTL).
    pub ttl: Duration,
    /// When the review answered plus `ttl`.
    pub expires_at: Instant,
    /// [`DecisionTable::hash`] of `attrs`.
    hash: u64,
}

/// A table slot: the hash and expiry beside the entry, so scans for eviction stay in the table.
struct Slot {
    hash: u64,
    expires_at: Instant,
    entry: Arc<Remembered>,
}

pub struct DecisionTable {
    shards: Box<[RwLock<HashTable<Slot>>]>,
    capacity: usize,
    /// Entries in all shards; never above `capacity`.
    len: AtomicUsize,
    hasher: DefaultHashBuilder,
}

impl DecisionTable {
    /// A table holding at most `capacity` entries.
    pub fn new(capacity: u64) -> Self {
        let shards = (0..SHARDS).map(|_| RwLock::new(HashTable::new())).collect();
        DecisionTable {
            shards,
            capacity: usize::try_from(capacity).unwrap_or(usize::MAX),
            len: AtomicUsize::new(0),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// The hash of attributes with this user, verb and path (the fields every lookup knows).
    pub fn hash(&self, user: &UserInfo, verb: &str, path: &str) -> u64 {
        let mut state = self.hasher.build_hasher();
        user.hash(&mut state);
        verb.hash(&mut state);
        path.hash(&mut state);
        state.finish()
    }

    pub fn hash_attributes(&self, attrs: &Attributes) -> u64 {
        self.hash(&attrs.user, &attrs.verb, &attrs.path)
    }

    /// A decision with `attrs` and `ttl`, reviewed at `reviewed`.
    pub fn remembered(&self, attrs: &Attributes, decision: Decision, ttl: Duration, reviewed: Instant) -> Remembered {
        Remembered {
            attrs: attrs.clone(),
            decision,
            ttl,
            expires_at: reviewed + ttl,
            hash: self.hash_attributes(attrs),
        }
    }

    /// The unexpired entry whose attributes hash to `hash` and satisfy `is_same`.
    pub fn get(&self, hash: u64, now: Instant, is_same: impl Fn(&Attributes) -> bool) -> Option<Arc<Remembered>> {
        let shard = self.shards[self.shard_of(hash)].read();
        let found = shard.find(hash, |s| s.hash == hash && is_same(&s.entry.attrs))?;
        (now < found.expires_at).then(|| found.entry.clone())
    }

    /// Stores `entry`, replacing an entry for the same attributes that expires earlier (see the
    /// module docs for a full table).
    pub fn insert(&self, entry: Arc<Remembered>, now: Instant) {
        let (hash, expires_at) = (entry.hash, entry.expires_at);
        let mut shard = self.shards[self.shard_of(hash)].write();
        let rehash = |s: &Slot| s.hash;
        if let Entry::Occupied(mut existing) =
            shard.entry(hash, |s| s.hash == hash && s.entry.attrs == entry.attrs, rehash)
        {
            if existing.get().expires_at < expires_at {
                *existing.get_mut() = Slot { hash, expires_at, entry };
            }
            return;
        }
        if !self.reserve() {
            let freed = evict(&mut shard, now);
            if freed == 0 {
                return;
            }
            // One freed place goes to the new entry.
            self.len.fetch_sub(freed - 1, Ordering::AcqRel);
        }
        shard.insert_unique(hash, Slot { hash, expires_at, entry }, rehash);
    }

    /// Takes a place for a new entry unless the table is full.
    fn reserve(&self) -> bool {
        let capacity = self.capacity;
        self.len.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < capacity).then_some(n + 1)).is_ok()
    }

    /// Entries held (expired ones included until they are dropped), as counted.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Entries held, as found in the shards.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.capacity
    }

    /// Shards by the hash's upper half (the table inside a shard indexes by the lower bits).
    fn shard_of(&self, hash: u64) -> usize {
        ((hash >> 32) as usize) % self.shards.len()
    }
}

/// Drops the shard's expired entries or, when none has expired, the one expiring first; how many
/// were dropped.
fn evict(shard: &mut HashTable<Slot>, now: Instant) -> usize {
    let before = shard.len();
    shard.retain(|s| now < s.expires_at);
    let expired = before - shard.len();
    if expired > 0 {
        return expired;
    }
    let Some((hash, first)) = shard.iter().min_by_key(|s| s.expires_at).map(|s| (s.hash, s.entry.clone())) else {
        return 0;
    };
    match shard.find_entry(hash, |s| Arc::ptr_eq(&s.entry, &first)) {
        Ok(found) => {
            found.remove();
            1
        }
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests;
