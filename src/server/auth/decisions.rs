//! The authorizer's first-level decision table: every decision a SubjectAccessReview gave, by
//! attributes, answered synchronously on the request path. A lookup hashes the request's user,
//! verb and path (equal attributes always have equal ones) and compares candidates with a caller's
//! `is_same`, so a request is checked without building its [`Attributes`]; an entry answers only
//! until its `expires_at` (review time + TTL). Sharded read/write locks keep concurrent hits from
//! contending; each shard holds a fixed part of the capacity and, when full, drops expired entries
//! and then the one that expires first.
//!
//! Misses are not handled here: the authorizer asks its moka cache, which coalesces concurrent
//! misses into one review, and stores the answer here.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::RwLock;

use super::{Attributes, Decision, UserInfo};

/// Most shards; fewer when the capacity is smaller (each shard holds at least one entry).
const MAX_SHARDS: usize = 16;

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

pub struct DecisionTable {
    shards: Box<[RwLock<HashTable<Arc<Remembered>>>]>,
    /// Most entries of each shard; they add up to the table's capacity.
    limits: Box<[usize]>,
    hasher: DefaultHashBuilder,
}

impl DecisionTable {
    /// A table holding at most `capacity` entries.
    pub fn new(capacity: u64) -> Self {
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        let count = capacity.clamp(1, MAX_SHARDS);
        let limits: Box<[usize]> = (0..count).map(|i| capacity / count + usize::from(i < capacity % count)).collect();
        let shards = limits.iter().map(|_| RwLock::new(HashTable::new())).collect();
        DecisionTable { shards, limits, hasher: DefaultHashBuilder::default() }
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
        let found = shard.find(hash, |e| e.hash == hash && is_same(&e.attrs))?;
        (now < found.expires_at).then(|| found.clone())
    }

    /// Stores `entry`, replacing an entry for the same attributes that expires earlier; in a full
    /// shard, expired entries go first, then the one expiring soonest.
    pub fn insert(&self, entry: Arc<Remembered>, now: Instant) {
        let index = self.shard_of(entry.hash);
        let limit = self.limits[index];
        if limit == 0 {
            return;
        }
        let mut shard = self.shards[index].write();
        let rehash = |e: &Arc<Remembered>| e.hash;
        if let Entry::Occupied(mut existing) =
            shard.entry(entry.hash, |e| e.hash == entry.hash && e.attrs == entry.attrs, rehash)
        {
            if existing.get().expires_at < entry.expires_at {
                *existing.get_mut() = entry;
            }
            return;
        }
        if shard.len() >= limit {
            shard.retain(|e| now < e.expires_at);
        }
        while shard.len() >= limit {
            let Some(first) = shard.iter().min_by_key(|e| e.expires_at).cloned() else { break };
            if let Ok(found) = shard.find_entry(first.hash, |e| Arc::ptr_eq(e, &first)) {
                found.remove();
            }
        }
        shard.insert_unique(entry.hash, entry, rehash);
    }

    /// Entries held, expired ones included until they are dropped.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.limits.iter().sum()
    }

    /// Shards by the hash's upper half (the table inside a shard indexes by the lower bits).
    fn shard_of(&self, hash: u64) -> usize {
        ((hash >> 32) as usize) % self.shards.len()
    }
}

#[cfg(test)]
mod tests;
