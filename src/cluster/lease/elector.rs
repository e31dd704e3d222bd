//! The election loop: client-go's `tryAcquireOrRenew` every retry period (jittered while
//! following), stepping down when a renewal has not succeeded within the renew deadline, and
//! releasing the lock (empty holder, 1 s lease) on shutdown when configured.

use k8s_openapi::jiff::Timestamp;
use rand::Rng;
use tokio::sync::watch;
use tokio::time::{Duration, Instant};

use super::record::{LeaderElectionRecord, Lock, LockError};
use super::{Claim, LeaseConfig};

/// client-go's `JitterFactor` for the acquire loop.
const JITTER: f64 = 1.2;

pub struct Elector {
    lock: Lock,
    config: LeaseConfig,
    claims: watch::Sender<Claim>,
    /// The record as last read and when we saw it change (followers time leases on their own clock).
    observed: Option<(LeaderElectionRecord, Instant)>,
    /// When we last renewed successfully while leading.
    renewed: Option<Instant>,
}

impl Elector {
    pub fn new(client: kube::Client, config: LeaseConfig, claims: watch::Sender<Claim>) -> Self {
        let lock = Lock::new(client, config.lock, &config.namespace, &config.name);
        Elector { lock, config, claims, observed: None, renewed: None }
    }

    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        tracing::info!(identity = %self.config.identity, lock = %self.lock.describe(), "starting leader election");
        if let Err(e) = self.lock.ensure_exists().await {
            tracing::warn!(error = %e, "cannot create the leader election lock object; will try to acquire anyway");
        }
        while !*stop.borrow() {
            self.round().await;
            let pause = self.pause();
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
        self.shutdown().await;
    }

    /// One attempt, bounded by the renew deadline, then the claim is published.
    async fn round(&mut self) {
        let attempt = tokio::time::timeout(self.config.renew_deadline, self.try_acquire_or_renew()).await;
        let outcome = attempt.unwrap_or_else(|_| Err(Attempt::TimedOut));
        match outcome {
            Ok(true) => {
                if self.renewed.is_none() {
                    tracing::info!(identity = %self.config.identity, lock = %self.lock.describe(), "became leader");
                }
                self.renewed = Some(Instant::now());
            }
            Ok(false) => self.step_down("another replica holds the lock"),
            Err(e) => {
                tracing::warn!(lock = %self.lock.describe(), error = %e, "leader election attempt failed");
                let lapsed = self.renewed.is_some_and(|at| at.elapsed() >= self.config.renew_deadline);
                if lapsed {
                    self.step_down("could not renew within the renew deadline");
                }
            }
        }
        self.publish();
    }

    fn step_down(&mut self, why: &str) {
        if self.renewed.take().is_some() {
            tracing::warn!(identity = %self.config.identity, reason = why, "stopped leading");
        }
    }

    fn pause(&self) -> Duration {
        let retry = self.config.retry_period;
        if self.renewed.is_some() {
            return retry;
        }
        retry.mul_f64(rand::rng().random_range(1.0..JITTER))
    }

    async fn try_acquire_or_renew(&mut self) -> Result<bool, Attempt> {
        let now = Timestamp::now();
        let mine = self.config.identity.clone();
        let Some((old, current)) = self.lock.get().await? else {
            let record = self.new_record(now, now, 0);
            self.lock.create(&record).await?;
            self.observe(record);
            return Ok(true);
        };
        self.observe(old.clone());
        let holder_valid = self.observed.as_ref().is_some_and(|(_, seen)| seen.elapsed() < self.config.lease_duration);
        if !old.holder_identity.is_empty() && old.holder_identity != mine && holder_valid {
            return Ok(false);
        }
        let record = if old.holder_identity == mine && self.renewed.is_some() {
            self.new_record(old.acquire_time.unwrap_or(now), now, old.leader_transitions)
        } else {
            self.new_record(now, now, old.leader_transitions + 1)
        };
        self.lock.update(current, &record).await?;
        self.observe(record);
        Ok(true)
    }

    fn new_record(&self, acquired: Timestamp, renewed: Timestamp, transitions: i64) -> LeaderElectionRecord {
        LeaderElectionRecord {
            holder_identity: self.config.identity.clone(),
            lease_duration_seconds: lease_seconds(self.config.lease_duration),
            acquire_time: Some(acquired),
            renew_time: Some(renewed),
            leader_transitions: transitions,
        }
    }

    /// Records `record`, restarting the lease clock only when it differs from what we saw last.
    fn observe(&mut self, record: LeaderElectionRecord) {
        if self.observed.as_ref().is_some_and(|(seen, _)| *seen == record) {
            return;
        }
        self.observed = Some((record, Instant::now()));
    }

    fn publish(&self) {
        let claim = match (&self.renewed, &self.observed) {
            (Some(renewed), _) => Claim {
                holder: Some(self.config.identity.clone()),
                expiry: Some(*renewed + self.config.renew_deadline),
                is_leader: true,
            },
            (None, Some((record, seen))) if !record.holder_identity.is_empty() => Claim {
                holder: Some(record.holder_identity.clone()),
                expiry: Some(*seen + self.config.lease_duration),
                is_leader: false,
            },
            _ => Claim::default(),
        };
        self.claims.send_if_modified(|old| {
            let changed = *old != claim;
            *old = claim;
            changed
        });
    }

    async fn shutdown(mut self) {
        let was_leader = self.renewed.take().is_some();
        self.claims.send_replace(Claim::default());
        if !(was_leader && self.config.release_on_shutdown) {
            return;
        }
        match tokio::time::timeout(self.config.renew_deadline, self.release()).await {
            Ok(Ok(())) => tracing::info!(lock = %self.lock.describe(), "released the leader lock"),
            Ok(Err(e)) => tracing::warn!(lock = %self.lock.describe(), error = %e, "cannot release the leader lock"),
            Err(_) => tracing::warn!(lock = %self.lock.describe(), "releasing the leader lock timed out"),
        }
    }

    /// client-go's `release`: keep the transitions count, clear the holder, 1 s lease.
    async fn release(&mut self) -> Result<(), Attempt> {
        let Some((old, current)) = self.lock.get().await? else { return Ok(()) };
        if old.holder_identity != self.config.identity {
            return Ok(());
        }
        let now = Timestamp::now();
        let record = LeaderElectionRecord {
            holder_identity: String::new(),
            lease_duration_seconds: 1,
            acquire_time: Some(now),
            renew_time: Some(now),
            leader_transitions: old.leader_transitions,
        };
        Ok(self.lock.update(current, &record).await?)
    }
}

fn lease_seconds(lease: Duration) -> i64 {
    i64::try_from(lease.as_secs()).unwrap_or(i64::MAX).max(1)
}

impl From<LockError> for Attempt {
    fn from(error: LockError) -> Self {
        Attempt::Lock(Box::new(error))
    }
}

#[derive(Debug, thiserror::Error)]
enum Attempt {
    #[error(transparent)]
    Lock(#[from] Box<LockError>),
    #[error("no answer within the renew deadline")]
    TimedOut,
}
