//! Wiring of the autoscaling stack: from start, the DPA watch (into the [`DpaStore`]) and the
//! cluster-profile watch, either of which opens the gate on its first object (built-in profiles
//! excepted), and the profile controller; after the gate, the pod index (its watches on
//! [`StackConfig::watch_clients`]); and, when the config
//! carries the scaling steps, the DPA controller over the [`InternalStore`] and the pods'
//! `RecommendationApplied` events (fed by the pod index, so nothing before the gate); the
//! controller tells the [`DpaStore`] the vertical target it is about to write, for the webhook.
//! One task per loop, all stopped by `shutdown`. Nothing here gates readiness.

use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::context::{Context, WorkloadSettings};
use super::controller::Controller;
use super::crd::{DatadogPodAutoscaler, GROUP};
use super::dpa_store::{DpaEntry, DpaStore};
use super::gate::AutoscalingGate;
use super::model::{InternalStore, ScalingStep};
use super::pod_index::{self, PodIndex};
use super::profile::{HpaGuard, ProfileController, is_builtin};
use super::vertical::run_applied_events;
use super::webhook::WebhookState;
use crate::cluster::LeaderHandle;
use crate::cluster::http2::WatchClients;

#[derive(Clone, Default)]
pub struct StackConfig {
    /// `autoscaling.workload.*` settings and who this process is.
    pub settings: WorkloadSettings,
    /// The lease; `None` when leader election is off (this process leads).
    pub leader: Option<LeaderHandle>,
    /// The horizontal and vertical steps: the DPA controller runs only when both are given.
    pub steps: Option<ScalingSteps>,
    /// The internal store to share (with the Remote-Config feed, the recommenders); a new one
    /// when `None`.
    pub store: Option<Arc<InternalStore>>,
    /// Create and keep the built-in cluster profiles (`serve` and `dev` do, as the DCA does).
    pub builtin_profiles: bool,
    /// The clients the pod-index watches run on (`serve` and `dev`: HTTP/2 from the same
    /// kube config); `None`: all on the stack's client.
    pub watch_clients: Option<WatchClients>,
}

/// The scaling steps the controller calls after validation and source selection.
#[derive(Clone)]
pub struct ScalingSteps {
    pub horizontal: Arc<dyn ScalingStep>,
    pub vertical: Arc<dyn ScalingStep>,
}

impl std::fmt::Debug for StackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackConfig")
            .field("settings", &self.settings)
            .field("leader", &self.leader)
            .field("controller", &self.steps.is_some())
            .field("builtin_profiles", &self.builtin_profiles)
            .field("watch_clients", &self.watch_clients)
            .finish()
    }
}

/// The running stack; `shutdown` stops every task.
pub struct AutoscalingStack {
    pub gate: Arc<AutoscalingGate>,
    pub dpas: Arc<DpaStore>,
    pub pods: Arc<PodIndex>,
    /// The leader's DPAs (spec §10.2).
    pub store: Arc<InternalStore>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl AutoscalingStack {
    pub fn start(client: kube::Client, config: StackConfig) -> Self {
        let (stop, stopped) = watch::channel(false);
        let gate = Arc::new(AutoscalingGate::default());
        let dpas = Arc::new(DpaStore::default());
        let pods = Arc::new(PodIndex::default());
        let store = config.store.unwrap_or_default();
        let mut tasks = JoinSet::new();
        if let Some(steps) = config.steps {
            let ctx =
                Arc::new(Context::new(client.clone(), pods.clone(), config.leader.clone(), config.settings.clone()));
            tasks.spawn(run_applied_events(ctx.clone(), stopped.clone()));
            let controller =
                Controller::new(ctx, store.clone(), steps.horizontal, steps.vertical).with_dpas(dpas.clone());
            tasks.spawn(controller.run(stopped.clone()));
        }
        tasks.spawn(watch_dpas(client.clone(), dpas.clone(), gate.clone(), stopped.clone()));
        tasks.spawn(watch_profiles(client.clone(), gate.clone(), stopped.clone()));
        let watch_clients = config.watch_clients.unwrap_or_else(|| WatchClients::shared(client.clone()));
        tasks.spawn(pod_index::run(watch_clients, dpas.clone(), gate.clone(), pods.clone(), stopped.clone()));
        let ctx = Arc::new(Context::new(client, pods.clone(), config.leader, config.settings));
        let mut profiles = ProfileController::new(ctx).with_gate(gate.clone()).with_dpas(dpas.clone());
        if !config.builtin_profiles {
            profiles = profiles.without_builtins();
        }
        tasks.spawn(profiles.run(stopped));
        AutoscalingStack { gate, dpas, pods, store, stop, tasks }
    }

    /// The `/hpa-autoscaling` guard webhook (stateless).
    pub fn hpa_guard(&self) -> Arc<HpaGuard> {
        Arc::new(HpaGuard)
    }

    /// What the `/autoscaling` webhook reads.
    pub fn webhook(&self) -> Arc<WebhookState> {
        Arc::new(WebhookState { gate: self.gate.clone(), dpas: self.dpas.clone() })
    }

    /// Runs `task` with the stack's other loops (stopped and awaited by `shutdown`).
    pub fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Turns true when the stack is shutting down: what tasks given to `spawn` stop on.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, "v1alpha2", kind), plural)
}

/// DPAs in every namespace → the store; any DPA opens the gate, valid or not.
async fn watch_dpas(
    client: kube::Client,
    dpas: Arc<DpaStore>,
    gate: Arc<AutoscalingGate>,
    mut stop: watch::Receiver<bool>,
) {
    let api: Api<DynamicObject> = Api::all_with(client, &resource("DatadogPodAutoscaler", "datadogpodautoscalers"));
    let mut events = std::pin::pin!(watcher::watcher(api, watcher::Config::default()).default_backoff());
    let mut listing = Vec::new();
    loop {
        let event = tokio::select! {
            e = events.next() => match e { Some(e) => e, None => return },
            _ = stop.changed() => return,
        };
        match event {
            Ok(Event::Init) => listing.clear(),
            Ok(Event::InitApply(obj)) => {
                gate.open(&format!("DatadogPodAutoscaler {}", key(&obj)));
                listing.extend(entry(&obj));
            }
            Ok(Event::InitDone) => dpas.replace_all(std::mem::take(&mut listing)),
            Ok(Event::Apply(obj)) => {
                gate.open(&format!("DatadogPodAutoscaler {}", key(&obj)));
                match entry(&obj) {
                    Some(e) => dpas.upsert(e),
                    None => remove(&dpas, &obj),
                }
            }
            Ok(Event::Delete(obj)) => remove(&dpas, &obj),
            Err(e) => tracing::warn!(error = %e, "DatadogPodAutoscaler watch failed; retrying"),
        }
    }
}

/// Cluster profiles only open the gate here (the profile controller does the rest). The built-in
/// profiles, which the leader creates at startup in every cluster, do not: they alone are no use
/// of autoscaling, so the gate (and the pod index) stays closed until a DPA, a user's profile or
/// a workload labelled with any profile appears.
async fn watch_profiles(client: kube::Client, gate: Arc<AutoscalingGate>, mut stop: watch::Receiver<bool>) {
    let rt = resource("DatadogPodAutoscalerClusterProfile", "datadogpodautoscalerclusterprofiles");
    let api: Api<DynamicObject> = Api::all_with(client, &rt);
    let mut events = std::pin::pin!(watcher::watcher(api, watcher::Config::default()).default_backoff());
    while !gate.is_open() {
        let event = tokio::select! {
            e = events.next() => match e { Some(e) => e, None => return },
            _ = stop.changed() => return,
        };
        match event {
            Ok(Event::InitApply(obj) | Event::Apply(obj))
                if !is_builtin(obj.metadata.name.as_deref().unwrap_or_default(), obj.metadata.labels.as_ref()) =>
            {
                gate.open(&format!("DatadogPodAutoscalerClusterProfile {}", key(&obj)))
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "DatadogPodAutoscalerClusterProfile watch failed; retrying"),
        }
    }
}

fn key(obj: &DynamicObject) -> String {
    let name = obj.metadata.name.as_deref().unwrap_or_default();
    match obj.metadata.namespace.as_deref() {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// The store entry of a DPA; a DPA the types cannot read is logged (naming it) and left out.
fn entry(obj: &DynamicObject) -> Option<DpaEntry> {
    let value = serde_json::to_value(obj).ok()?;
    let parsed = serde_json::from_value::<DatadogPodAutoscaler>(value).map_err(|e| e.to_string());
    match parsed.and_then(|dpa| DpaEntry::from_object(&dpa)) {
        Ok(e) => Some(e),
        Err(e) => {
            tracing::warn!(dpa = %key(obj), error = %e, "unreadable DatadogPodAutoscaler ignored");
            None
        }
    }
}

fn remove(dpas: &DpaStore, obj: &DynamicObject) {
    if let (Some(ns), Some(name)) = (obj.metadata.namespace.as_deref(), obj.metadata.name.as_deref()) {
        dpas.remove(ns, name);
    }
}
