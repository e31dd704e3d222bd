//! The controller's work queue, client-go's rate-limited work queue in small: keys are
//! deduplicated (a key queued twice is processed once; a key changed while being processed is
//! processed again after), `add_rate_limited` waits 5 ms doubling per failure up to 1000 s
//! (client-go's default item limiter), `forget` resets a key's failures and `add_after` delays a
//! key without counting a failure.
//!
//! Hand-written: kube-runtime's controller queue only reconciles objects present in its cache,
//! and this controller must also reconcile keys known only to the internal store (Remote DPAs to
//! create), so it needs a queue of plain keys.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// First retry delay of a key; doubles on every failure.
pub const BASE_DELAY: Duration = Duration::from_millis(5);
/// Longest retry delay.
pub const MAX_DELAY: Duration = Duration::from_secs(1000);

struct State<K> {
    queue: VecDeque<K>,
    /// Keys waiting in `queue` or to be queued again once processed.
    dirty: HashSet<K>,
    processing: HashSet<K>,
    failures: HashMap<K, u32>,
    /// Delayed keys by due time (the sequence number keeps equal instants apart).
    waiting: BTreeMap<(Instant, u64), K>,
    due: HashMap<K, (Instant, u64)>,
    sequence: u64,
    shut_down: bool,
}

pub struct WorkQueue<K> {
    state: Mutex<State<K>>,
    /// Wakes workers waiting in `get`.
    ready: Notify,
    /// Wakes the delay loop when an earlier due time arrives.
    delays_changed: Notify,
}

impl<K: Clone + Eq + Hash> Default for WorkQueue<K> {
    fn default() -> Self {
        WorkQueue {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                dirty: HashSet::new(),
                processing: HashSet::new(),
                failures: HashMap::new(),
                waiting: BTreeMap::new(),
                due: HashMap::new(),
                sequence: 0,
                shut_down: false,
            }),
            ready: Notify::new(),
            delays_changed: Notify::new(),
        }
    }
}

impl<K: Clone + Eq + Hash> WorkQueue<K> {
    /// Queues `key` unless it is queued already.
    pub fn add(&self, key: K) {
        let mut state = self.state.lock();
        if state.shut_down || !state.dirty.insert(key.clone()) {
            return;
        }
        if !state.processing.contains(&key) {
            state.queue.push_back(key);
            drop(state);
            self.ready.notify_one();
        }
    }

    /// Queues `key` after `delay`; an earlier pending due time for the key wins.
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let at = Instant::now() + delay;
        let mut state = self.state.lock();
        if state.shut_down || state.due.get(&key).is_some_and(|(due, _)| *due <= at) {
            return;
        }
        if let Some(old) = state.due.remove(&key) {
            state.waiting.remove(&old);
        }
        state.sequence += 1;
        let slot = (at, state.sequence);
        state.waiting.insert(slot, key.clone());
        state.due.insert(key, slot);
        drop(state);
        self.delays_changed.notify_one();
    }

    /// Queues `key` after its backoff: 5 ms × 2^failures, at most 1000 s.
    pub fn add_rate_limited(&self, key: K) {
        let delay = {
            let mut state = self.state.lock();
            let failures = state.failures.entry(key.clone()).or_insert(0);
            let delay = backoff(*failures);
            *failures = failures.saturating_add(1);
            delay
        };
        self.add_after(key, delay);
    }

    /// How many rate-limited requeues `key` had since it was last forgotten.
    pub fn num_requeues(&self, key: &K) -> u32 {
        self.state.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// Resets the backoff of `key`.
    pub fn forget(&self, key: &K) {
        self.state.lock().failures.remove(key);
    }

    /// The next key to process (marked as processing until [`WorkQueue::done`]); `None` once shut down.
    pub async fn get(&self) -> Option<K> {
        loop {
            let notified = self.ready.notified();
            {
                let mut state = self.state.lock();
                if state.shut_down {
                    return None;
                }
                if let Some(key) = state.queue.pop_front() {
                    state.dirty.remove(&key);
                    state.processing.insert(key.clone());
                    return Some(key);
                }
            }
            notified.await;
        }
    }

    /// Ends the processing of `key`; a key added meanwhile is queued again.
    pub fn done(&self, key: &K) {
        let mut state = self.state.lock();
        state.processing.remove(key);
        if state.dirty.contains(key) {
            state.queue.push_back(key.clone());
            drop(state);
            self.ready.notify_one();
        }
    }

    /// Wakes every worker with `None` and drops pending keys.
    pub fn shut_down(&self) {
        let mut state = self.state.lock();
        state.shut_down = true;
        state.queue.clear();
        state.waiting.clear();
        state.due.clear();
        drop(state);
        self.ready.notify_waiters();
        self.delays_changed.notify_waiters();
    }

    /// Keys queued and not being processed (tests, telemetry).
    pub fn len(&self) -> usize {
        self.state.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves delayed keys to the queue when due; returns when the queue shuts down.
    pub async fn run_delays(&self) {
        loop {
            let changed = self.delays_changed.notified();
            let next = {
                let state = self.state.lock();
                if state.shut_down {
                    return;
                }
                state.waiting.keys().next().map(|(at, _)| *at)
            };
            match next {
                Some(at) if at <= Instant::now() => self.promote_due(),
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => self.promote_due(),
                        _ = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    fn promote_due(&self) {
        let now = Instant::now();
        let due: Vec<K> = {
            let mut state = self.state.lock();
            let mut due = Vec::new();
            while let Some(entry) = state.waiting.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let key = entry.remove();
                state.due.remove(&key);
                due.push(key);
            }
            due
        };
        for key in due {
            self.add(key);
        }
    }
}

/// client-go's `ItemExponentialFailureRateLimiter(5ms, 1000s)`.
pub fn backoff(failures: u32) -> Duration {
    let factor = 2u64.checked_pow(failures).unwrap_or(u64::MAX);
    let millis = BASE_DELAY.as_millis() as u64;
    Duration::from_millis(millis.saturating_mul(factor)).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn backoff_doubles_from_5ms_to_1000s() {
        let ms = Duration::from_millis;
        assert_eq!([0, 1, 2, 3].map(backoff), [ms(5), ms(10), ms(20), ms(40)]);
        assert_eq!(backoff(17), ms(655_360));
        assert_eq!(backoff(18), MAX_DELAY);
        assert_eq!(backoff(200), MAX_DELAY);
    }

    #[tokio::test]
    async fn keys_are_deduplicated_and_requeued_when_changed_while_processing() {
        let q = WorkQueue::default();
        q.add("a");
        q.add("b");
        q.add("a");
        assert_eq!(q.len(), 2);
        assert_eq!(q.get().await, Some("a"));
        q.add("a"); // changed while processing: not handed to another worker
        assert_eq!(q.get().await, Some("b"));
        assert!(q.is_empty());
        q.done(&"a");
        assert_eq!(q.get().await, Some("a"));
        q.done(&"a");
        q.done(&"b");
        assert!(q.is_empty());
    }

    impl<K: Clone + Eq + Hash> WorkQueue<K> {
        /// How long until `key` leaves the delayed set, if it is there.
        fn pending_delay(&self, key: &K) -> Option<Duration> {
            let state = self.state.lock();
            state.due.get(key).map(|(at, _)| at.saturating_duration_since(Instant::now()))
        }
    }

    #[tokio::test]
    async fn rate_limited_keys_wait_their_backoff_and_forget_resets_it() {
        let q = Arc::new(WorkQueue::default());
        let delays = tokio::spawn({
            let q = q.clone();
            async move { q.run_delays().await }
        });
        for (attempt, expected) in [5u64, 10, 20].into_iter().enumerate() {
            assert_eq!(q.num_requeues(&"k"), attempt as u32);
            let before = Instant::now();
            q.add_rate_limited("k");
            let pending = q.pending_delay(&"k").expect("delayed");
            assert!(pending <= Duration::from_millis(expected), "{pending:?}");
            assert!(q.is_empty(), "not queued before its delay");
            assert_eq!(q.get().await, Some("k"));
            assert!(before.elapsed() >= Duration::from_millis(expected));
            q.done(&"k");
        }
        assert_eq!(q.num_requeues(&"k"), 3);
        q.forget(&"k");
        assert_eq!(q.num_requeues(&"k"), 0);
        q.shut_down();
        assert_eq!(q.get().await, None);
        delays.await.unwrap();
    }

    #[tokio::test]
    async fn the_earliest_delay_of_a_key_wins() {
        let q = WorkQueue::default();
        q.add_after("k", Duration::from_secs(30));
        q.add_after("k", Duration::from_secs(5));
        q.add_after("k", Duration::from_secs(60));
        let pending = q.pending_delay(&"k").expect("delayed");
        assert!(pending <= Duration::from_secs(5) && pending > Duration::from_secs(4), "{pending:?}");
        assert_eq!(q.state.lock().waiting.len(), 1, "superseded delays are dropped");
        q.add_after("k", Duration::ZERO);
        assert_eq!(q.len(), 1, "no delay queues at once");
        q.shut_down();
        assert_eq!(q.pending_delay(&"k"), None);
    }
}
