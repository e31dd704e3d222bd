//! Typed accessors for the keys the server reads. Values were type-checked when set, so each
//! accessor only falls back to the spec default when a key has no value at all.

use std::time::Duration;

use super::{Endpoint, Settings, Value};

const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// `max_parallel_queries` ≤ 0 or above this is replaced by it (spec §8.3).
const MAX_PARALLEL_QUERIES: i64 = 300;

impl Settings {
    pub fn external_metrics_provider_enabled(&self) -> bool {
        self.flag("external_metrics_provider.enabled")
    }

    pub fn external_metrics_provider_port(&self) -> u16 {
        self.port("external_metrics_provider.port", 8443)
    }

    /// Prometheus telemetry port.
    pub fn metrics_port(&self) -> u16 {
        self.port("metrics_port", 5000)
    }

    /// Extra adapter flags (`external_metrics_provider.config`, each `k: v` → `--k=v`).
    pub fn external_metrics_provider_config(&self) -> Vec<(&str, &str)> {
        match self.get("external_metrics_provider.config") {
            Some(Value::Map(map)) => map.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect(),
            _ => Vec::new(),
        }
    }

    pub fn use_datadogmetric_crd(&self) -> bool {
        self.flag("external_metrics_provider.use_datadogmetric_crd")
    }

    pub fn autoscaling_workload_enabled(&self) -> bool {
        self.flag("autoscaling.workload.enabled")
    }

    /// The main `api_key`, trimmed; `None` when unset or blank.
    pub fn api_key(&self) -> Option<&str> {
        self.text("api_key")
    }

    /// The main `app_key`, trimmed; `None` when unset or blank.
    pub fn app_key(&self) -> Option<&str> {
        self.text("app_key")
    }

    /// The API key used to query Datadog: `external_metrics_provider.api_key`, else `api_key` (§8.1).
    pub fn external_metrics_api_key(&self) -> Option<&str> {
        self.text("external_metrics_provider.api_key").or_else(|| self.api_key())
    }

    /// The application key used to query Datadog: `external_metrics_provider.app_key`, else `app_key`.
    pub fn external_metrics_app_key(&self) -> Option<&str> {
        self.text("external_metrics_provider.app_key").or_else(|| self.app_key())
    }

    /// Allow TLS below 1.3 on the served ports.
    pub fn allow_legacy_tls(&self) -> bool {
        self.flag("cluster_agent.allow_legacy_tls")
    }

    /// The configured cluster name; `None` means "autodetect" (done by the caller).
    pub fn cluster_name(&self) -> Option<&str> {
        self.text("cluster_name")
    }

    /// Namespace for the leader lock, autogen DatadogMetrics and the ConfigMap store (§2):
    /// `kube_resources_namespace`, else `DD_POD_NAMESPACE`, else `default`. Callers that can read
    /// the service-account namespace file should prefer it to `default` via [`Self::resources_namespace_or`].
    pub fn resources_namespace(&self) -> &str {
        self.resources_namespace_or(None)
    }

    /// As [`Self::resources_namespace`], with `own` (the service-account namespace) before `default`.
    pub fn resources_namespace_or<'a>(&'a self, own: Option<&'a str>) -> &'a str {
        let pod = self.process.pod_namespace.as_deref().filter(|ns| !ns.trim().is_empty());
        self.text("kube_resources_namespace").or(pod).or(own).unwrap_or("default")
    }

    /// The pod name (`DD_POD_NAME`), the leader-election identity.
    pub fn pod_name(&self) -> Option<&str> {
        self.process.pod_name.as_deref()
    }

    pub fn leader_election(&self) -> bool {
        self.flag("leader_election")
    }

    pub fn leader_lease_name(&self) -> &str {
        self.text("leader_lease_name").unwrap_or("datadog-leader-election")
    }

    /// Lease duration; zero is replaced by 60 s as in the DCA. Renew = /2, retry = /4.
    pub fn leader_lease_duration(&self) -> Duration {
        self.seconds("leader_lease_duration").filter(|lease| !lease.is_zero()).unwrap_or(DEFAULT_LEASE)
    }

    pub fn leader_election_default_resource(&self) -> &str {
        self.raw_text("leader_election_default_resource").unwrap_or("configmap")
    }

    pub fn external_metrics_provider_refresh_period(&self) -> Duration {
        self.seconds("external_metrics_provider.refresh_period").unwrap_or(Duration::from_secs(30))
    }

    /// `external_metrics_provider.max_age` as configured.
    pub fn max_age(&self) -> Duration {
        self.seconds("external_metrics_provider.max_age").unwrap_or(Duration::from_secs(120))
    }

    /// Default staleness: max(`max_age`, 3 × `rollup`) (§7.1).
    pub fn metrics_max_age(&self) -> Duration {
        self.max_age().max(self.rollup() * 3)
    }

    pub fn query_validity_period(&self) -> Duration {
        self.seconds("external_metrics_provider.query_validity_period").unwrap_or(Duration::from_secs(30))
    }

    pub fn bucket_size(&self) -> Duration {
        self.seconds("external_metrics_provider.bucket_size").unwrap_or(Duration::from_secs(300))
    }

    pub fn max_time_window(&self) -> Duration {
        self.seconds("external_metrics_provider.max_time_window").unwrap_or(Duration::from_secs(86400))
    }

    pub fn rollup(&self) -> Duration {
        self.seconds("external_metrics_provider.rollup").unwrap_or(Duration::from_secs(30))
    }

    pub fn aggregator(&self) -> &str {
        self.raw_text("external_metrics.aggregator").unwrap_or("avg")
    }

    pub fn chunk_size(&self) -> i64 {
        self.int("external_metrics_provider.chunk_size").unwrap_or(35)
    }

    /// Concurrent API calls, sanitized: ≤ 0 or > 300 becomes 300 (§8.3).
    pub fn max_parallel_queries(&self) -> i64 {
        let configured = self.int("external_metrics_provider.max_parallel_queries").unwrap_or(10);
        if (1..=MAX_PARALLEL_QUERIES).contains(&configured) { configured } else { MAX_PARALLEL_QUERIES }
    }

    /// DatadogMetric syncs the controller runs at once (the DCA's worker count), at least one.
    pub fn datadogmetric_workers(&self) -> usize {
        let configured = self.int("external_metrics_provider.num_workers").unwrap_or(2);
        usize::try_from(configured).unwrap_or(1).max(1)
    }

    pub fn split_batches_with_backoff(&self) -> bool {
        self.flag("external_metrics_provider.split_batches_with_backoff")
    }

    pub fn site(&self) -> &str {
        self.text("site").unwrap_or("datadoghq.com")
    }

    /// Datadog API base URL: `external_metrics_provider.endpoint` > env `DATADOG_HOST` > `https://api.<site>`.
    pub fn endpoint(&self) -> String {
        let host = self.process.datadog_host.as_deref();
        let configured = self.text("external_metrics_provider.endpoint").or(host);
        configured.map_or_else(|| format!("https://api.{}", self.site()), str::to_owned)
    }

    /// Redundant endpoints, queried after the main one (§8.2).
    pub fn endpoints(&self) -> &[Endpoint] {
        match self.get("external_metrics_provider.endpoints") {
            Some(Value::Endpoints(endpoints)) => endpoints,
            _ => &[],
        }
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some(Value::Bool(true)))
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(Value::Int(number)) => Some(*number),
            _ => None,
        }
    }

    fn port(&self, key: &str, default: u16) -> u16 {
        self.int(key).and_then(|port| u16::try_from(port).ok()).unwrap_or(default)
    }

    pub fn seconds(&self, key: &str) -> Option<Duration> {
        match self.get(key) {
            Some(Value::Duration(duration)) => Some(*duration),
            _ => None,
        }
    }

    /// The string value as set, possibly empty.
    fn raw_text(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(text)) => Some(text),
            _ => None,
        }
    }

    /// The string value trimmed (the DCA sanitizes keys this way), `None` when blank.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.raw_text(key).map(str::trim).filter(|text| !text.is_empty())
    }
}
