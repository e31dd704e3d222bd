//! Leader election (spec §2), as client-go's `leaderelection` does it: a lock object (a
//! `coordination.k8s.io/v1` Lease, or the ConfigMap annotation the DCA uses by default) holds a
//! [`LeaderElectionRecord`](record::LeaderElectionRecord); candidates try to acquire or renew it
//! every retry period, a leader that cannot renew within the renew deadline steps down, and
//! followers take over once the record has not changed for a lease duration.
//!
//! The current [`Claim`] is published on a `tokio::sync::watch` channel. Writers check it at write
//! time with [`LeaderHandle::is_leader_now`] / [`LeaderHandle::guard`], never once at start.

mod elector;
mod record;

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::Settings;

pub use record::{LEADER_ANNOTATION, LeaderElectionRecord};

/// Which object holds the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// The `control-plane.alpha.kubernetes.io/leader` annotation of a ConfigMap (DCA default).
    ConfigMap,
    Lease,
}

impl LockKind {
    /// `leader_election_default_resource`: `lease(s)` → Lease, `configmap(s)` → ConfigMap; empty
    /// means "Lease when the server has it", which every supported Kubernetes version does.
    pub fn from_setting(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "configmap" | "configmaps" => LockKind::ConfigMap,
            _ => LockKind::Lease,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This replica's identity: the pod name.
    pub identity: String,
    pub lock: LockKind,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
    pub release_on_shutdown: bool,
}

impl LeaseConfig {
    /// From the DCA keys: lock in the resources namespace, identity `DD_POD_NAME` (else the host
    /// name), renew deadline and retry period half and a quarter of `leader_lease_duration`.
    pub fn from_settings(settings: &Settings) -> Self {
        let own = super::own_namespace();
        let namespace = settings.resources_namespace_or(own.as_deref()).to_owned();
        let identity = settings.pod_name().map(str::to_owned).or_else(super::hostname);
        let lease_duration = settings.leader_lease_duration();
        LeaseConfig {
            namespace,
            name: settings.leader_lease_name().to_owned(),
            identity: identity.unwrap_or_else(|| format!("autoscaling-apiserver-{}", uuid::Uuid::new_v4().simple())),
            lock: LockKind::from_setting(settings.leader_election_default_resource()),
            lease_duration,
            renew_deadline: lease_duration / 2,
            retry_period: lease_duration / 4,
            release_on_shutdown: settings.leader_election_release_on_shutdown(),
        }
    }

    /// Same lock with shorter timings (tests): renew = lease/2, retry = lease/4.
    pub fn with_lease_duration(mut self, lease_duration: Duration) -> Self {
        self.lease_duration = lease_duration;
        self.renew_deadline = lease_duration / 2;
        self.retry_period = lease_duration / 4;
        self
    }
}

/// The last observed state of the lock.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Claim {
    /// Who holds the lock (`None`: nobody, or not observed yet).
    pub holder: Option<String>,
    /// When the holder's claim lapses unless renewed: for ourselves the renew deadline after the
    /// last successful renewal, for others a lease duration after we saw the record change.
    pub expiry: Option<Instant>,
    /// We hold the lock.
    pub is_leader: bool,
}

/// Reads the claim; cheap to clone, shared by every leader-only loop.
#[derive(Debug, Clone)]
pub struct LeaderHandle {
    identity: String,
    claims: watch::Receiver<Claim>,
}

/// Proof of leadership at the time it was taken: hold it only for the duration of one write.
#[derive(Debug)]
pub struct LeaderGuard {
    pub holder: String,
    pub expiry: Instant,
}

impl LeaderHandle {
    pub fn identity(&self) -> &str {
        &self.identity
    }

    pub fn claim(&self) -> Claim {
        self.claims.borrow().clone()
    }

    /// The current holder's identity, as followers know it.
    pub fn holder(&self) -> Option<String> {
        self.claims.borrow().holder.clone()
    }

    /// We hold the lock and our claim has not lapsed: the check every leader-only write makes.
    pub fn is_leader_now(&self) -> bool {
        self.guard().is_some()
    }

    pub fn guard(&self) -> Option<LeaderGuard> {
        let claim = self.claims.borrow();
        let expiry = claim.expiry.filter(|expiry| claim.is_leader && *expiry > Instant::now())?;
        Some(LeaderGuard { holder: self.identity.clone(), expiry })
    }

    /// A receiver that sees every published claim (e.g. to act on acquiring the lock).
    pub fn subscribe(&self) -> watch::Receiver<Claim> {
        self.claims.clone()
    }
}

/// A running election: the handle and the task, which stops (releasing the lock if configured)
/// when the shutdown signal turns true.
pub struct LeaderElection {
    pub handle: LeaderHandle,
    pub task: JoinHandle<()>,
}

impl LeaderElection {
    pub fn spawn(client: kube::Client, config: LeaseConfig, shutdown: watch::Receiver<bool>) -> Self {
        let (claims_tx, claims) = watch::channel(Claim::default());
        let handle = LeaderHandle { identity: config.identity.clone(), claims };
        let elector = elector::Elector::new(client, config, claims_tx);
        let task = tokio::spawn(elector.run(shutdown));
        LeaderElection { handle, task }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_kind_follows_the_dca_setting() {
        assert_eq!(LockKind::from_setting("configmap"), LockKind::ConfigMap);
        assert_eq!(LockKind::from_setting("ConfigMaps"), LockKind::ConfigMap);
        assert_eq!(LockKind::from_setting("leases"), LockKind::Lease);
        assert_eq!(LockKind::from_setting(""), LockKind::Lease);
    }

    #[test]
    fn timings_derive_from_the_lease_duration() {
        let env = [("DD_POD_NAME".to_owned(), "dca-0".to_owned()), ("DD_LEADER_LEASE_DURATION".into(), "20".into())];
        let (settings, diags) = crate::config::load(None, env, &[]).expect("settings");
        assert!(diags.is_empty(), "{diags:?}");
        let config = LeaseConfig::from_settings(&settings);
        assert_eq!(config.identity, "dca-0");
        assert_eq!(config.name, "datadog-leader-election");
        assert_eq!(config.lock, LockKind::ConfigMap);
        let timings = (config.lease_duration, config.renew_deadline, config.retry_period);
        assert_eq!(timings, (Duration::from_secs(20), Duration::from_secs(10), Duration::from_secs(5)));
        assert!(config.release_on_shutdown);
    }

    #[test]
    fn a_lapsed_or_foreign_claim_is_no_leadership() {
        let (tx, claims) = watch::channel(Claim::default());
        let handle = LeaderHandle { identity: "me".into(), claims };
        assert!(!handle.is_leader_now());
        let later = Instant::now() + Duration::from_secs(30);
        tx.send_replace(Claim { holder: Some("me".into()), expiry: Some(later), is_leader: true });
        assert!(handle.is_leader_now());
        let past = Instant::now() - Duration::from_millis(1);
        tx.send_replace(Claim { holder: Some("me".into()), expiry: Some(past), is_leader: true });
        assert!(!handle.is_leader_now());
        tx.send_replace(Claim { holder: Some("other".into()), expiry: Some(later), is_leader: false });
        assert!(!handle.is_leader_now());
        assert_eq!(handle.holder().as_deref(), Some("other"));
    }
}
