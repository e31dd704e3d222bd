//! The authorizer's first-level decision table: every decision a SubjectAccessReview gave, by
//! attributes, answered synchronously on the request path. An entry's key is the attributes'
//! contiguous encoding ([`KeyParts`]) in two parts, which a caller writes without building the
//! [`Attributes`]: the request's (the fields after the user: ~80 bytes for the HPA's read of a
//! metric) and the user's ([`encode_user`]: name, uid, groups, extra; ~140 bytes for
//! benches/read_path.rs's front-proxy user).
//!
//! The layout serves the HPA controller's reads: one user rotating over up to 10,000 metric
//! names, so nearly every lookup is a different entry, cold in the cache. A slot holds its hash,
//! the decision and expiry, the request part inline (up to [`INLINE`] bytes, 192-byte slots) and
//! the user part as an `Arc<[u8]>` the table interns: all of one user's entries share one
//! allocation. A lookup hashes the request part with the user part's hash (computed once per
//! interned user, kept beside it, so a connection that holds its interned user does not rehash
//! ~140 bytes per request), then compares the user by pointer (by bytes when the pointers differ:
//! interning only makes the comparison cheaper, no answer depends on it) and the request part in
//! the slot's own lines. Before, the whole ~222-byte key sat in a boxed slice per slot: a
//! dependent miss to the heap key and ~4 lines compared per lookup, ≈ 0.4 µs of a ~12 µs request
//! under perf (benches/read_path.rs). Under callgrind's cache simulation (benches/read_path.rs,
//! 1,500 metrics, 3,000 requests) this layout took `get` from 7.0 to 4.2 L1 data read misses
//! per request at the same ~160 instructions, and the whole request from 50 to 34 L1 data misses
//! (the connection memo no longer copies the user part per request either) and from 26,994 to
//! 26,865 instructions.
//!
//! An entry answers only until its `expires_at` (review time + TTL). Sharded read/write locks
//! keep concurrent hits from contending. The capacity bounds the whole table, not each shard (a
//! shard's share of the entries varies with the hashes): an insert into a full table first drops
//! the inserting shard's expired entries, else its entry that expires first, and is skipped when
//! that shard is empty.
//!
//! The interner (one mutex) is used only on inserts (a review's answer: rare) and when a
//! connection first sees a user ([`DecisionTable::intern`]), never by a hit. It forgets users
//! nothing else holds any more (no slot, connection or moka entry) when it has grown to twice the
//! users it kept at its last sweep, and to at least [`SWEEP_AT_LEAST`]: amortised, an intern pays
//! for about two users' share of a sweep, and it holds at most about twice the users in use.
//!
//! Misses are not handled here: the authorizer asks its moka cache, which coalesces concurrent
//! misses into one review, and stores the answer here.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hashbrown::hash_table::Entry;
use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::{Mutex, RwLock};
use smallvec::SmallVec;

pub use key::{KeyParts, encode_user};

use super::{Attributes, Decision, UserInfo};

mod key;

const SHARDS: usize = 16;

/// Request-part bytes a slot holds inline: the HPA's read of a metric needs 50 + the metric
/// name's length (81 in benches/read_path.rs), so names up to ~60 bytes stay inline; longer
/// ones spill to the heap. With it a slot is 192 bytes, three cache lines.
pub const INLINE: usize = 112;

/// The interner sweeps no smaller a set than this.
const SWEEP_AT_LEAST: usize = 64;

/// A user's part of a key ([`encode_user`]) and its hash ([`DecisionTable::hash_user`]): as the
/// table interned it ([`DecisionTable::intern`]), or any other allocation of the same bytes.
#[derive(Clone, Debug)]
pub struct UserKey {
    pub bytes: Arc<[u8]>,
    pub hash: u64,
}

/// Whether two user parts are equal: first by address, which a user's interned parts share, else
/// by bytes (equal parts in other allocations are the same user).
pub fn same_user(a: &[u8], b: &[u8]) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// One review's answer for the attributes encoded as `request` + `user`, valid until
/// `expires_at`.
#[derive(Debug)]
pub struct Remembered {
    /// The attributes' request part ([`KeyParts::encode_request_into`]).
    pub request: Box<[u8]>,
    /// Their user part, interned.
    pub user: UserKey,
    pub decision: Decision,
    /// The TTL the decision was given (allowed or denied TTL).
    pub ttl: Duration,
    /// When the review answered plus `ttl`.
    pub expires_at: Instant,
    /// [`DecisionTable::hash_key`] of the key.
    hash: u64,
}

/// A table hit: the decision and until when it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub decision: Decision,
    pub expires_at: Instant,
}

/// A table slot: the request part inline beside the hash, decision and expiry; the user part
/// shared with the user's other slots (see the module docs).
struct Slot {
    hash: u64,
    user: Arc<[u8]>,
    found: Found,
    request: SmallVec<[u8; INLINE]>,
}

impl Slot {
    fn is(&self, hash: u64, request: &[u8], user: &[u8]) -> bool {
        self.hash == hash && same_user(&self.user, user) && *self.request == *request
    }
}

/// The interned user parts, by their hash.
#[derive(Default)]
struct Interner {
    users: HashTable<UserKey>,
    /// How many users the last sweep kept.
    kept: usize,
}

pub struct DecisionTable {
    shards: Box<[RwLock<HashTable<Slot>>]>,
    capacity: usize,
    /// Entries in all shards; never above `capacity`.
    len: AtomicUsize,
    hasher: DefaultHashBuilder,
    users: Mutex<Interner>,
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
            users: Mutex::new(Interner::default()),
        }
    }

    /// The hash of a user part ([`encode_user`]).
    pub fn hash_user(&self, user: &[u8]) -> u64 {
        self.hasher.hash_one(user)
    }

    /// The hash of a key: its request part and its user part's [`DecisionTable::hash_user`].
    pub fn hash_key(&self, request: &[u8], user_hash: u64) -> u64 {
        self.hasher.hash_one((request, user_hash))
    }

    /// The table's allocation of the user part `user` (made now if it has none), which its
    /// entries for that user share: a caller keeping it looks up by pointer comparison.
    pub fn intern(&self, user: &[u8]) -> UserKey {
        let hash = self.hash_user(user);
        let mut interner = self.users.lock();
        if let Some(known) = interner.users.find(hash, |k| *k.bytes == *user) {
            return known.clone();
        }
        if interner.users.len() >= (2 * interner.kept).max(SWEEP_AT_LEAST) {
            // Held only here: no slot, connection or moka entry has it, and none can take it
            // but from here, under this lock.
            interner.users.retain(|k| Arc::strong_count(&k.bytes) > 1);
            interner.kept = interner.users.len();
        }
        let key = UserKey { bytes: Arc::from(user), hash };
        interner.users.insert_unique(hash, key.clone(), |k| k.hash);
        key
    }

    #[cfg(test)]
    fn interned(&self) -> usize {
        self.users.lock().users.len()
    }

    #[cfg(test)]
    fn hash_attributes(&self, attrs: &Attributes) -> u64 {
        let (request, user) = key::split(attrs);
        self.hash_key(&request, self.hash_user(&user))
    }

    /// A decision for `attrs` with `ttl`, reviewed at `reviewed`; its user part interned.
    pub fn remembered(&self, attrs: &Attributes, decision: Decision, ttl: Duration, reviewed: Instant) -> Remembered {
        let parts = KeyParts::of(attrs);
        let mut bytes = Vec::with_capacity(256);
        encode_user(&mut bytes, &attrs.user);
        let user = self.intern(&bytes);
        parts.encode_request_into(&mut bytes);
        let request = bytes.into_boxed_slice();
        Remembered {
            hash: self.hash_key(&request, user.hash),
            request,
            user,
            decision,
            ttl,
            expires_at: reviewed + ttl,
        }
    }

    /// The unexpired decision stored for the key `request` + `user` (whose hash is `hash`). Pass
    /// the interned user part ([`DecisionTable::intern`]) to compare it by address.
    pub fn get(&self, hash: u64, request: &[u8], user: &[u8], now: Instant) -> Option<Found> {
        let shard = self.shards[self.shard_of(hash)].read();
        let slot = shard.find(hash, |s| s.is(hash, request, user))?;
        (now < slot.found.expires_at).then(|| slot.found.clone())
    }

    /// Stores `entry`, replacing an entry for the same attributes that expires earlier (see the
    /// module docs for a full table).
    pub fn insert(&self, entry: &Remembered, now: Instant) {
        let (hash, expires_at) = (entry.hash, entry.expires_at);
        let found = Found { decision: entry.decision.clone(), expires_at };
        let mut shard = self.shards[self.shard_of(hash)].write();
        let rehash = |s: &Slot| s.hash;
        let same = |s: &Slot| s.is(hash, &entry.request, &entry.user.bytes);
        if let Entry::Occupied(mut existing) = shard.entry(hash, same, rehash) {
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
        let slot = Slot { hash, user: entry.user.bytes.clone(), found, request: SmallVec::from_slice(&entry.request) };
        shard.insert_unique(hash, slot, rehash);
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
    let first = shard.iter().min_by_key(|s| s.found.expires_at).map(|s| (s.hash, s.found.expires_at));
    let Some((hash, expires_at)) = first else {
        return 0;
    };
    // Any slot with this hash and expiry expires first as well.
    match shard.find_entry(hash, |s| s.hash == hash && s.found.expires_at == expires_at) {
        Ok(found) => {
            found.remove();
            1
        }
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests;
