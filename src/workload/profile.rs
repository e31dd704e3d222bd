//! Cluster profiles (spec §10.13): `DatadogPodAutoscalerClusterProfile` templates applied to
//! Deployments and StatefulSets labelled `autoscaling.datadoghq.com/profile=<profile>` (or living in
//! a namespace carrying that label), each through one managed DPA named as the DCA names it, plus
//! the built-in profiles and the `/hpa-autoscaling` guard webhook.
//!
//! Every replica runs the watches (so a new leader starts from a synced state); only the leader
//! writes: built-ins, managed DPAs (created through Kubernetes, so the DPA watch and the lazy gate
//! see them) and profile statuses. A workload resolving to an existing profile also opens the gate.
//! Nothing here watches workloads broadly: label-selector metadata watches cluster-wide (started
//! with the first profile: without one no label means anything), and the whole namespace only for
//! namespaces carrying the label.

mod builtin;
mod hpa_guard;
mod naming;
mod state;
mod status;
mod sync;
mod validate;
mod watches;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinSet};

use super::context::Context;
use super::dpa_store::DpaStore;
use super::gate::AutoscalingGate;
pub use builtin::{Builtin, builtins, is_builtin};
pub use hpa_guard::{HpaGuard, warning as hpa_guard_warning};
pub use naming::{WorkloadKind, WorkloadRef, managed_dpa_name, template_hash};
pub use validate::{spec_from_template, validate_spec, validate_template};

/// Label naming a workload's (or namespace's) profile; also marks managed DPAs.
pub const PROFILE_LABEL: &str = "autoscaling.datadoghq.com/profile";
/// Profile label value opting a workload out of its namespace's profile.
pub const EXCLUDED: &str = "excluded";
/// Annotation carrying the template hash a managed DPA was made from.
pub const HASH_ANNOTATION: &str = "autoscaling.datadoghq.com/profile-hash";
/// Preview-features annotation, forwarded from a profile to its DPAs.
pub const PREVIEW_ANNOTATION: &str = "autoscaling.datadoghq.com/preview";
/// Label marking the built-in profiles (value [`BUILTIN_LABEL_VALUE`]).
pub const BUILTIN_LABEL: &str = "autoscaling.datadoghq.com/managed-by";
pub const BUILTIN_LABEL_VALUE: &str = "datadog";
/// Annotation on an HPA taken over by a DPA: `<namespace>/<name>` of the DPA.
pub const MANAGED_BY_DPA_ANNOTATION: &str = "autoscaling.datadoghq.com/managed-by-dpa";

/// How often everything is reconciled without a change (leadership gained, missed writes).
const RESYNC: Duration = Duration::from_secs(60);
/// Built-ins are checked at least this often (the DCA's period).
const BUILTIN_PERIOD: Duration = Duration::from_secs(300);
/// A built-in is not rewritten more often than this (a server that keeps changing it must not
/// make us loop).
const BUILTIN_RETRY: Duration = Duration::from_secs(10);

/// The profile controller: watches, built-ins, managed DPAs, profile statuses.
pub struct ProfileController {
    ctx: Arc<Context>,
    gate: Option<Arc<AutoscalingGate>>,
    dpas: Option<Arc<DpaStore>>,
    builtins: bool,
}

impl ProfileController {
    /// A controller keeping the built-in profiles (see [`ProfileController::without_builtins`]).
    pub fn new(ctx: Arc<Context>) -> Self {
        ProfileController { ctx, gate: None, dpas: None, builtins: true }
    }

    /// Leaves the built-in profiles alone (tests of a cluster without profiles).
    pub fn without_builtins(mut self) -> Self {
        self.builtins = false;
        self
    }

    /// Opens `gate` when a workload resolves to an existing profile.
    pub fn with_gate(mut self, gate: Arc<AutoscalingGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Reads `dpas` to step aside when a user's own DPA targets a labelled workload.
    pub fn with_dpas(mut self, dpas: Arc<DpaStore>) -> Self {
        self.dpas = Some(dpas);
        self
    }

    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let shared = Arc::new(watches::Shared::default());
        let client = self.ctx.client.clone();
        let mut tasks = JoinSet::new();
        tasks.spawn(watches::profiles(client.clone(), shared.clone(), stop.clone()));
        tasks.spawn(watches::managed_dpas(client.clone(), shared.clone(), stop.clone()));
        let mut followed: BTreeMap<String, Vec<AbortHandle>> = BTreeMap::new();
        let mut leadership = self.ctx.leader.as_ref().map(|l| l.subscribe());
        let mut resync = tokio::time::interval(RESYNC);
        let mut builtins = Builtins::default();
        let mut retry_at: Option<tokio::time::Instant> = None;
        loop {
            let retry = async {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shared.changed.notified() => {}
                _ = resync.tick() => {}
                _ = retry => {}
                _ = stop.changed() => break,
                Some(()) = leadership_changed(&mut leadership) => {}
            }
            if *stop.borrow() {
                break;
            }
            while tasks.try_join_next().is_some() {}
            self.start_label_watches(&shared, &mut tasks, &stop);
            self.follow_namespaces(&shared, &mut followed, &mut tasks, &stop);
            self.open_gate(&shared);
            retry_at = None;
            if self.ctx.is_leader() && self.builtins {
                retry_at = builtins.sync(&self.ctx, &shared).await.map(|d| tokio::time::Instant::now() + d);
            }
            let ready = shared.state.lock().ready();
            if self.ctx.is_leader() && ready {
                sync::managed_dpas(&self.ctx, &shared, self.dpas.as_deref()).await;
                sync::profile_statuses(&self.ctx, &shared).await;
            }
        }
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }

    /// With the first profile, the label-selector watches of workloads and namespaces (kept from
    /// then on): without a profile no label can mean anything.
    fn start_label_watches(
        &self,
        shared: &Arc<watches::Shared>,
        tasks: &mut JoinSet<()>,
        stop: &watch::Receiver<bool>,
    ) {
        {
            let mut s = shared.state.lock();
            if s.labels_watched || !s.wants_label_watches() {
                return;
            }
            s.labels_watched = true;
        }
        let client = &self.ctx.client;
        tasks.spawn(watches::namespaces(client.clone(), shared.clone(), stop.clone()));
        for kind in WorkloadKind::ALL {
            tasks.spawn(watches::labelled_workloads(kind, client.clone(), shared.clone(), stop.clone()));
        }
    }

    /// Starts the per-namespace workload watches of newly labelled namespaces, stops those of
    /// namespaces that lost the label (forgetting their workloads).
    fn follow_namespaces(
        &self,
        shared: &Arc<watches::Shared>,
        followed: &mut BTreeMap<String, Vec<AbortHandle>>,
        tasks: &mut JoinSet<()>,
        stop: &watch::Receiver<bool>,
    ) {
        let wanted: BTreeSet<String> = shared.state.lock().followed_namespaces();
        let gone: Vec<String> = followed.keys().filter(|ns| !wanted.contains(*ns)).cloned().collect();
        for ns in gone {
            followed.remove(&ns).into_iter().flatten().for_each(|h| h.abort());
            shared.update(|s| {
                s.ns_workloads.remove(&ns);
                s.ns_synced.retain(|(n, _)| n != &ns);
            });
            tracing::debug!(namespace = %ns, "namespace no longer labelled with a profile: its workloads unwatched");
        }
        let new: Vec<String> = wanted.into_iter().filter(|ns| !followed.contains_key(ns)).collect();
        for ns in new {
            let handles = WorkloadKind::ALL
                .iter()
                .map(|kind| {
                    let task = watches::namespace_workloads(
                        *kind,
                        ns.clone(),
                        self.ctx.client.clone(),
                        shared.clone(),
                        stop.clone(),
                    );
                    tasks.spawn(task)
                })
                .collect();
            tracing::debug!(namespace = %ns, "namespace labelled with a profile: watching its workloads");
            followed.insert(ns, handles);
        }
    }

    fn open_gate(&self, shared: &watches::Shared) {
        let Some(gate) = self.gate.as_ref().filter(|g| !g.is_open()) else { return };
        let first = shared.state.lock().assignments().into_iter().next();
        if let Some((workload, profile)) = first {
            gate.open(&format!("{workload} uses cluster profile {profile}"));
        }
    }
}

/// Resolves when the leadership claim changes; pending forever without election.
async fn leadership_changed(rx: &mut Option<watch::Receiver<crate::cluster::Claim>>) -> Option<()> {
    match rx {
        Some(rx) => rx.changed().await.ok(),
        None => std::future::pending().await,
    }
}

/// The built-in profiles' upkeep: checked on every pass against the watched state, written at
/// most every [`BUILTIN_RETRY`] per profile, and fetched afresh every [`BUILTIN_PERIOD`].
struct Builtins {
    all: Vec<Builtin>,
    last_write: BTreeMap<&'static str, Instant>,
    last_full: Option<Instant>,
}

impl Default for Builtins {
    fn default() -> Self {
        Builtins { all: builtins(), last_write: BTreeMap::new(), last_full: None }
    }
}

impl Builtins {
    /// Returns how long until a postponed rewrite is due, if one was postponed.
    async fn sync(&mut self, ctx: &Context, shared: &watches::Shared) -> Option<Duration> {
        let full = self.last_full.is_none_or(|t| t.elapsed() >= BUILTIN_PERIOD);
        let drifted: Vec<usize> = {
            let s = shared.state.lock();
            if !s.synced.contains(&state::Source::Profiles) {
                return None;
            }
            let drifted = |b: &Builtin| s.profiles.get(b.name).is_none_or(|p| !b.matches(p));
            self.all.iter().enumerate().filter(|(_, b)| full || drifted(b)).map(|(i, _)| i).collect()
        };
        if full {
            self.last_full = Some(Instant::now());
        }
        let api = watches::profiles_api(ctx.client.clone());
        let mut postponed: Option<Duration> = None;
        for i in drifted {
            let b = &self.all[i];
            if !ctx.is_leader() {
                return None;
            }
            if let Some(since) = self.last_write.get(b.name).map(|t| t.elapsed()).filter(|e| *e < BUILTIN_RETRY) {
                let due = BUILTIN_RETRY - since;
                postponed = Some(postponed.map_or(due, |p| p.min(due)));
                continue;
            }
            match builtin::ensure(&api, b).await {
                Ok("unchanged") => {}
                Ok(what) => {
                    self.last_write.insert(b.name, Instant::now());
                    tracing::info!(profile = b.name, "built-in profile {what}");
                }
                Err(e) => {
                    self.last_write.insert(b.name, Instant::now());
                    tracing::warn!(profile = b.name, error = %e, "built-in profile not kept");
                }
            }
        }
        postponed
    }
}
