//! The controller's internal model of one DatadogPodAutoscaler (spec §10.2,
//! `PodAutoscalerInternal`) and the store holding it: the shared vocabulary of the controller,
//! the horizontal and vertical controllers and the recommendation sources.
//!
//! The leader keeps one [`PodAutoscalerInternal`] per DPA it knows of, from Kubernetes (Local and
//! Remote DPAs) or from the Remote-Config feed only (Remote DPAs not created yet). Recommendation
//! sources write `main` / `fallback` values and call [`InternalStore::notify`]; the controller
//! reconciles a key holding its lock, so writers never lose each other's updates.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::core::GroupVersionKind;
use parking_lot::RwLock;
use tokio::sync::broadcast;

use super::crd::{ContainerResources, DatadogPodAutoscalerSpec, HorizontalAction, HorizontalTarget, VerticalAction};

/// `<namespace>/<name>` of a DPA.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DpaKey {
    pub namespace: String,
    pub name: String,
}

impl DpaKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        DpaKey { namespace: namespace.into(), name: name.into() }
    }
}

impl fmt::Display for DpaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Where scaling values come from (`source` in status).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueSource {
    /// Datadog's recommendations (Remote Config `auto`).
    Autoscaling,
    /// Values set by hand in the Datadog app (Remote Config `manual`).
    Manual,
    /// The local fallback recommender.
    Local,
    /// The external (custom) recommender.
    External,
}

impl ValueSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueSource::Autoscaling => "Autoscaling",
            ValueSource::Manual => "Manual",
            ValueSource::Local => "Local",
            ValueSource::External => "External",
        }
    }

    /// The source a status string names; unknown strings are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Autoscaling" => ValueSource::Autoscaling,
            "Manual" => ValueSource::Manual,
            "Local" => ValueSource::Local,
            "External" => ValueSource::External,
            _ => return None,
        })
    }
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A horizontal recommendation.
#[derive(Clone, Debug, PartialEq)]
pub struct HorizontalValues {
    pub source: ValueSource,
    /// When the recommendation was generated.
    pub timestamp: Timestamp,
    pub replicas: i32,
}

/// A vertical recommendation: per-container resources and their hash (the recommendation ID
/// before constraints, see spec §10.3).
#[derive(Clone, Debug, PartialEq)]
pub struct VerticalValues {
    pub source: ValueSource,
    pub timestamp: Timestamp,
    pub resources: Vec<ContainerResources>,
    pub hash: String,
}

/// One set of scaling values (`main`, `fallback` or `active`) with the errors Datadog (or the
/// local/external recommender) reported for it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScalingValues {
    pub horizontal: Option<HorizontalValues>,
    pub horizontal_error: Option<String>,
    pub vertical: Option<VerticalValues>,
    pub vertical_error: Option<String>,
    /// A recommendation error for the whole DPA.
    pub error: Option<String>,
}

/// Condition reasons (`ConditionReasonType`, spec §10.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    InvalidTargetRef,
    InvalidTarget,
    InvalidSpec,
    ClusterAutoscalerLimitReached,
    RecommendationError,
    LocalRecommenderError,
    TargetNotFound,
    ScaleFailed,
    ScalingDisabled,
    PolicyRestricted,
    FallbackRestricted,
    UnsupportedTargetKind,
    RolloutFailed,
    LimitedByConstraint,
    LimitedByScalingBehavior,
    ForcedByAnnotation,
    FailedToEvict,
    AmbiguousHPA,
    UnsupportedHPAMetric,
    DatadogMetricNotFound,
    MissingCPURequest,
    LocallyPaused,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidTargetRef => "InvalidTargetRef",
            Reason::InvalidTarget => "InvalidTarget",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::ClusterAutoscalerLimitReached => "ClusterAutoscalerLimitReached",
            Reason::RecommendationError => "RecommendationError",
            Reason::LocalRecommenderError => "LocalRecommenderError",
            Reason::TargetNotFound => "TargetNotFound",
            Reason::ScaleFailed => "ScaleFailed",
            Reason::ScalingDisabled => "ScalingDisabled",
            Reason::PolicyRestricted => "PolicyRestricted",
            Reason::FallbackRestricted => "FallbackRestricted",
            Reason::UnsupportedTargetKind => "UnsupportedTargetKind",
            Reason::RolloutFailed => "RolloutFailed",
            Reason::LimitedByConstraint => "LimitedByConstraint",
            Reason::LimitedByScalingBehavior => "LimitedByScalingBehavior",
            Reason::ForcedByAnnotation => "ForcedByAnnotation",
            Reason::FailedToEvict => "FailedToEvict",
            Reason::AmbiguousHPA => "AmbiguousHPA",
            Reason::UnsupportedHPAMetric => "UnsupportedHPAMetric",
            Reason::DatadogMetricNotFound => "DatadogMetricNotFound",
            Reason::MissingCPURequest => "MissingCPURequest",
            Reason::LocallyPaused => "LocallyPaused",
        }
    }

    const ALL: [Reason; 22] = [
        Reason::InvalidTargetRef,
        Reason::InvalidTarget,
        Reason::InvalidSpec,
        Reason::ClusterAutoscalerLimitReached,
        Reason::RecommendationError,
        Reason::LocalRecommenderError,
        Reason::TargetNotFound,
        Reason::ScaleFailed,
        Reason::ScalingDisabled,
        Reason::PolicyRestricted,
        Reason::FallbackRestricted,
        Reason::UnsupportedTargetKind,
        Reason::RolloutFailed,
        Reason::LimitedByConstraint,
        Reason::LimitedByScalingBehavior,
        Reason::ForcedByAnnotation,
        Reason::FailedToEvict,
        Reason::AmbiguousHPA,
        Reason::UnsupportedHPAMetric,
        Reason::DatadogMetricNotFound,
        Reason::MissingCPURequest,
        Reason::LocallyPaused,
    ];

    /// The reason a condition's `reason` string names (restoring state from status).
    pub fn parse(s: &str) -> Option<Self> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error shown in a condition: its reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionError {
    pub reason: Reason,
    pub message: String,
}

impl ConditionError {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        ConditionError { reason, message: message.into() }
    }
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

impl std::error::Error for ConditionError {}

/// The custom-recommender annotation: `{"endpoint": url, "settings": {k: string}}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct CustomRecommenderConfig {
    pub endpoint: String,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
}

/// What a reconcile step asks of the work queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessResult {
    /// Done until something changes.
    NoRequeue,
    /// Retry with the rate limiter's backoff.
    Requeue,
    /// Look again after this long (no backoff).
    RequeueAfter(Duration),
}

impl ProcessResult {
    /// The more urgent of two results: `Requeue` over `RequeueAfter` (shorter first) over `NoRequeue`.
    pub fn merge(self, other: ProcessResult) -> ProcessResult {
        use ProcessResult::*;
        match (self, other) {
            (Requeue, _) | (_, Requeue) => Requeue,
            (RequeueAfter(a), RequeueAfter(b)) => RequeueAfter(a.min(b)),
            (RequeueAfter(a), NoRequeue) | (NoRequeue, RequeueAfter(a)) => RequeueAfter(a),
            (NoRequeue, NoRequeue) => NoRequeue,
        }
    }
}

/// One scaling step of a reconcile (the horizontal controller, the vertical controller): the
/// controller calls it with the DPA locked, after validation and source selection, and merges
/// the results. Implementations record their outcome in the DPA (actions, errors, limit reasons)
/// for the status builder; they act only when `ctx.is_leader()`.
pub trait ScalingStep: Send + Sync {
    fn sync<'a>(
        &'a self,
        ctx: &'a super::context::Context,
        dpa: &'a mut PodAutoscalerInternal,
        now: Timestamp,
    ) -> futures::future::BoxFuture<'a, ProcessResult>;
}

/// The leader's internal state of one DPA (spec §10.2).
#[derive(Clone, Debug, PartialEq)]
pub struct PodAutoscalerInternal {
    pub namespace: String,
    pub name: String,
    /// The spec in force: Kubernetes' for Local DPAs, the feed's for Remote ones.
    pub spec: DatadogPodAutoscalerSpec,
    /// Annotations of the Kubernetes object (pause, force-*, preview, custom-recommender, …);
    /// empty for a Remote DPA not created in Kubernetes yet.
    pub annotations: BTreeMap<String, String>,
    /// `metadata.creationTimestamp` (or when the feed first announced a Remote DPA).
    pub creation_timestamp: Timestamp,
    /// `metadata.generation` last adopted (0 while the object does not exist).
    pub generation: i64,
    /// When the settings were last received from the feed (Remote DPAs).
    pub settings_timestamp: Option<Timestamp>,
    /// Values from Datadog (feed) or the external recommender.
    pub main: ScalingValues,
    /// Values from the local fallback recommender.
    pub fallback: ScalingValues,
    /// The values acted upon, chosen from `main` and `fallback` (spec §10.6).
    pub active: ScalingValues,
    /// Recent horizontal actions, oldest first (≤ 10 shown in status).
    pub horizontal_last_actions: Vec<HorizontalAction>,
    /// Recent active horizontal recommendations, oldest first (≤ 60 shown in status).
    pub horizontal_last_recommendations: Vec<HorizontalTarget>,
    /// Why the last horizontal decision differed from the recommendation.
    pub horizontal_limit_reason: Option<String>,
    pub horizontal_action_error: Option<ConditionError>,
    pub vertical_last_action: Option<VerticalAction>,
    pub vertical_action_error: Option<ConditionError>,
    /// Why the applied vertical values differ from the recommendation (`LimitedByConstraint`,
    /// `ForcedByAnnotation`).
    pub vertical_limited: Option<ConditionError>,
    /// The vertical values after forced resources and constraints (what pods get), with the
    /// recommendation ID as `hash`.
    pub vertical_constrained: Option<VerticalValues>,
    /// Pods carrying the current recommendation ID.
    pub vertical_scaled: Option<i32>,
    /// Pods evicted by the in-place path for the current recommendation.
    pub vertical_evicted: Option<i32>,
    /// Pods observed for the target.
    pub current_replicas: Option<i32>,
    /// `spec.replicas` of the target as last read through the scale subresource.
    pub scaled_replicas: Option<i32>,
    /// A controller error for the whole DPA (validation, limit, target), shown in `Error`.
    pub error: Option<ConditionError>,
    /// The feed no longer lists this Remote DPA: delete it.
    pub deleted: bool,
    /// Parsed from `targetRef.apiVersion` + `kind`.
    pub target_gvk: Option<GroupVersionKind>,
    pub custom_recommender: Option<CustomRecommenderConfig>,
    // No copy of the conditions: the status builder keeps `lastTransitionTime` from the watched
    // object's status, and a copy here was never read but cost ~1.4 KiB per DPA on every
    // replica (tests/memory.rs).
}

impl PodAutoscalerInternal {
    /// A DPA known only by its spec (a Remote DPA announced by the feed, or a fresh Local one).
    pub fn new(namespace: &str, name: &str, spec: DatadogPodAutoscalerSpec, now: Timestamp) -> Self {
        PodAutoscalerInternal {
            namespace: namespace.to_string(),
            name: name.to_string(),
            spec,
            annotations: BTreeMap::new(),
            creation_timestamp: now,
            generation: 0,
            settings_timestamp: None,
            main: ScalingValues::default(),
            fallback: ScalingValues::default(),
            active: ScalingValues::default(),
            horizontal_last_actions: Vec::new(),
            horizontal_last_recommendations: Vec::new(),
            horizontal_limit_reason: None,
            horizontal_action_error: None,
            vertical_last_action: None,
            vertical_action_error: None,
            vertical_limited: None,
            vertical_constrained: None,
            vertical_scaled: None,
            vertical_evicted: None,
            current_replicas: None,
            scaled_replicas: None,
            error: None,
            deleted: false,
            target_gvk: None,
            custom_recommender: None,
        }
    }

    pub fn key(&self) -> DpaKey {
        DpaKey::new(&self.namespace, &self.name)
    }

    /// `<namespace>/<name>`, the `autoscaler-id` pods carry.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn annotation(&self, name: &str) -> Option<&str> {
        self.annotations.get(name).map(String::as_str)
    }
}

/// `autoscaling.datadoghq.com/pause: "true"`: recommendations are still computed, nothing is applied.
pub const PAUSE_ANNOTATION: &str = "autoscaling.datadoghq.com/pause";
/// `autoscaling.datadoghq.com/force-fallback: "true"`: use the local fallback as if Datadog's
/// recommendations were stale.
pub const FORCE_FALLBACK_ANNOTATION: &str = "autoscaling.datadoghq.com/force-fallback";
/// The external recommender configuration ([`CustomRecommenderConfig`] as JSON).
pub const CUSTOM_RECOMMENDER_ANNOTATION: &str = "autoscaling.datadoghq.com/custom-recommender";

/// A boolean annotation value as Go's `strconv.ParseBool` reads it; anything else is `None`
/// (ignored, so a typo cannot freeze autoscaling).
pub fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// What the policy lets the scaling steps do (spec §10.4, §10.7, §10.9). Steps compute and record
/// recommendations whatever these say, and act only when [`PodAutoscalerInternal::may_act`].
impl PodAutoscalerInternal {
    /// The pause annotation is set to a true value.
    pub fn is_paused(&self) -> bool {
        self.annotation(PAUSE_ANNOTATION).and_then(parse_bool).unwrap_or(false)
    }

    /// `applyPolicy.mode` (`Apply` when unset).
    pub fn apply_mode(&self) -> super::crd::ApplyPolicyMode {
        self.spec.apply_policy.as_ref().and_then(|p| p.mode).unwrap_or_default()
    }

    /// `applyPolicy.mode: Preview`: recommendations are shown in status only.
    pub fn is_preview(&self) -> bool {
        self.apply_mode() == super::crd::ApplyPolicyMode::Preview
    }

    /// True when a step may change the target (scale, roll out, resize, evict): not paused and
    /// not in Preview. Steps still record what they would have done.
    pub fn may_act(&self) -> bool {
        !self.is_paused() && !self.is_preview()
    }

    /// Horizontal scaling is on unless both `scaleUp` and `scaleDown` strategies are `Disabled`.
    pub fn horizontal_enabled(&self) -> bool {
        use super::crd::ScalingStrategy::Disabled;
        let policy = self.spec.apply_policy.as_ref();
        let disabled = |p: Option<&super::crd::ScalingPolicy>| p.and_then(|p| p.strategy) == Some(Disabled);
        !(disabled(policy.and_then(|p| p.scale_up.as_ref())) && disabled(policy.and_then(|p| p.scale_down.as_ref())))
    }

    /// Vertical scaling is on unless `applyPolicy.update.strategy` is `Disabled`.
    pub fn vertical_enabled(&self) -> bool {
        let update = self.spec.apply_policy.as_ref().and_then(|p| p.update.as_ref());
        update.and_then(|u| u.strategy) != Some(super::crd::UpdateStrategy::Disabled)
    }
}

/// A change to the store: which DPA and who made it (observers skip their own changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreChange {
    pub key: DpaKey,
    pub sender: &'static str,
}

/// One DPA's state; hold its lock while reading-modifying-writing it.
pub type SharedInternal = Arc<tokio::sync::Mutex<PodAutoscalerInternal>>;

/// The leader's DPAs by key. Writers lock one entry at a time and then [`InternalStore::notify`],
/// which wakes the controller (and anyone else subscribed).
pub struct InternalStore {
    entries: RwLock<HashMap<DpaKey, SharedInternal>>,
    changes: broadcast::Sender<StoreChange>,
}

impl Default for InternalStore {
    fn default() -> Self {
        InternalStore { entries: RwLock::default(), changes: broadcast::channel(4096).0 }
    }
}

impl InternalStore {
    pub fn get(&self, key: &DpaKey) -> Option<SharedInternal> {
        self.entries.read().get(key).cloned()
    }

    /// The entry for `key`, created by `create` if absent.
    pub fn get_or_insert_with(&self, key: &DpaKey, create: impl FnOnce() -> PodAutoscalerInternal) -> SharedInternal {
        if let Some(e) = self.get(key) {
            return e;
        }
        let mut entries = self.entries.write();
        entries.entry(key.clone()).or_insert_with(|| Arc::new(tokio::sync::Mutex::new(create()))).clone()
    }

    pub fn remove(&self, key: &DpaKey) -> Option<SharedInternal> {
        self.entries.write().remove(key)
    }

    pub fn keys(&self) -> Vec<DpaKey> {
        let mut keys: Vec<DpaKey> = self.entries.read().keys().cloned().collect();
        keys.sort();
        keys
    }

    pub fn len(&self) -> usize {
        self.entries.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tells observers `key` changed (`sender` names the writer).
    pub fn notify(&self, key: &DpaKey, sender: &'static str) {
        let _ = self.changes.send(StoreChange { key: key.clone(), sender });
    }

    /// Changes from now on; a lagging receiver should resync from [`InternalStore::keys`].
    pub fn subscribe(&self) -> broadcast::Receiver<StoreChange> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DatadogPodAutoscalerSpec {
        serde_json::from_value(serde_json::json!({
            "owner": "Remote", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn writers_share_one_entry_and_observers_hear_of_it() {
        let store = InternalStore::default();
        let mut changes = store.subscribe();
        let key = DpaKey::new("prod", "web");
        let now = Timestamp::now();
        let a = store.get_or_insert_with(&key, || PodAutoscalerInternal::new("prod", "web", spec(), now));
        let b = store.get_or_insert_with(&key, || panic!("exists already"));
        a.lock().await.main.error = Some("quota".into());
        store.notify(&key, "feed");
        assert_eq!(b.lock().await.main.error.as_deref(), Some("quota"));
        assert_eq!(changes.recv().await.unwrap(), StoreChange { key: key.clone(), sender: "feed" });
        assert_eq!(store.keys(), vec![key.clone()]);
        assert!(store.remove(&key).is_some());
        assert!(store.is_empty());
    }

    #[test]
    fn results_merge_to_the_most_urgent() {
        use ProcessResult::*;
        let s = Duration::from_secs;
        assert_eq!(NoRequeue.merge(RequeueAfter(s(5))), RequeueAfter(s(5)));
        assert_eq!(RequeueAfter(s(30)).merge(RequeueAfter(s(5))), RequeueAfter(s(5)));
        assert_eq!(RequeueAfter(s(30)).merge(Requeue), Requeue);
        assert_eq!(NoRequeue.merge(NoRequeue), NoRequeue);
    }

    #[test]
    fn reasons_and_sources_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
        assert_eq!(Reason::parse("Nope"), None);
        for s in [ValueSource::Autoscaling, ValueSource::Manual, ValueSource::Local, ValueSource::External] {
            assert_eq!(ValueSource::parse(s.as_str()), Some(s));
        }
    }
}
