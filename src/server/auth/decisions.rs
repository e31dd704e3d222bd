//! The authorizer's first-level decision table: every decision a SubjectAccessReview gave, by
//! attributes, answered synchronously on the request path. Entries are keyed by the attributes'
//! contiguous encoding ([`KeyParts`]), which a caller writes without building the
//! [`Attributes`]; a lookup hashes that buffer and compares it with the slot's key, one allocation
//! (with 10,000 names rotating, comparing attributes field by field followed a cold pointer per
//! field). An entry answers only until its `expires_at` (review time + TTL). Sharded read/write
//! locks keep concurrent hits from contending. The capacity bounds the whole table, not each shard
//! (a shard's share of the entries varies with the hashes): an insert into a full table first
//! drops the inserting shard's expired entries, else its entry that expires first, and is skipped
//! when that shard is empty.
//!
//! Misses are not handled here: the authorizer asks its moka cache, which coalesces concurrent
//! misses into one review, and stores the answer here.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::RwLock;

pub use key::{KeyParts, encode_user};

use super::{Attributes, Decision, UserInfo};

mod key;

const SHARDS: usize = 16;

/// One review's answer for the attributes encoded in `key`, valid until `expires_at`.
#[derive(Debug)]
pub struct Remembered {
    /// The attributes' [`KeyParts`] encoding.
    pub key: Box<[u8]>,
    pub decision: Decision,
    /// The TTL the decision was given (allowed or denied TTL).
    pub ttl: Duration,
    /// When the review answered plus `ttl`.
    pub expires_at: Instant,
    /// [`DecisionTable::hash_key`] of `key`.
    hash: u64,
}

/// A table hit: the decision and until when it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub decision: Decision,
    pub expires_at: Instant,
}

/// A table slot: the key inline (one allocation to compare), the decision and expiry beside it.
struct Slot {
    hash: u64,
    found: Found,
    key: Box<[u8]>,
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

    /// The hash of an encoded key (see [`KeyParts`]).
    pub fn hash_key(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    #[cfg(test)]
    fn hash_attributes(&self, attrs: &Attributes) -> u64 {
        self.hash_key(&KeyParts::of(attrs).encode())
    }

    /// A decision for `attrs` with `ttl`, reviewed at `reviewed`.
    pub fn remembered(&self, attrs: &Attributes, decision: Decision, ttl: Duration, reviewed: Instant) -> Remembered {
        let key = KeyParts::of(attrs).encode().into_boxed_slice();
        Remembered { hash: self.hash_key(&key), key, decision, ttl, expires_at: reviewed + ttl }
    }

    /// The unexpired decision stored under `key` (whose hash is `hash`).
    pub fn get(&self, hash: u64, key: &[u8], now: Instant) -> Option<Found> {
        let shard = self.shards[self.shard_of(hash)].read();
        let slot = shard.find(hash, |s| s.hash == hash && *s.key == *key)?;
        (now < slot.found.expires_at).then(|| slot.found.clone())
    }

    /// Stores `entry`, replacing an entry for the same attributes that expires earlier (see the
    /// module docs for a full table).
    pub fn insert(&self, entry: &Remembered, now: Instant) {
        let (hash, expires_at) = (entry.hash, entry.expires_at);
        let found = Found { decision: entry.decision.clone(), expires_at };
        let mut shard = self.shards[self.shard_of(hash)].write();
        let rehash = |s: &Slot| s.hash;
        if let Entry::Occupied(mut existing) = shard.entry(hash, |s| s.hash == hash && s.key == entry.key, rehash) {
            if existing.get().found.expires_at < expires_at {
                existing.get_mut().found = found;
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
        shard.insert_unique(hash, Slot { hash, found, key: entry.key.clone() }, rehash);
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
    shard.retain(|s| now < s.found.expires_at);
    let expired = before - shard.len();
    if expired > 0 {
        return expired;
    }
    let first = shard.iter().min_by_key(|s| s.found.expires_at).map(|s| (s.hash, s.key.clone()));
    let Some((hash, key)) = first else {
        return 0;
    };
    match shard.find_entry(hash, |s| s.key == key) {
        Ok(found) => {
            found.remove();
            1
        }
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests;
