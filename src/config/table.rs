//! Every key of spec §13: type, default (as text, parsed like an environment variable) and the
//! environment variables bound to it. Names follow the DCA convention `DD_` + upper-cased key with
//! dots turned into underscores, listed explicitly because the reverse mapping is ambiguous.

use super::Value;
use super::parse::{self, Raw};

/// The type of a key, which fixes how its values are parsed and which [`Value`] variant holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int,
    /// A TCP port; 0 is accepted (bind to any free port, as tests do).
    Port,
    Str,
    /// One of a fixed set of strings (matched case-insensitively, stored as listed).
    Choice(&'static [&'static str]),
    /// Seconds: `30`, `1.5`, or with a unit `90s`, `5m`, `1h`, `500ms`; never negative.
    Seconds,
    /// Strings: a YAML sequence, or in text a JSON array or space-separated words (as viper does).
    List,
    /// A mapping of names to scalar values (kept as strings).
    Map,
    /// `external_metrics_provider.endpoints`: a list of `{url, api_key, app_key, site}`.
    Endpoints,
}

impl Kind {
    /// What a valid value looks like, for diagnostics.
    pub fn expected(self) -> String {
        match self {
            Kind::Bool => "a boolean (true or false)".into(),
            Kind::Int => "an integer".into(),
            Kind::Port => "a port number (0-65535)".into(),
            Kind::Str => "a string (quote long numbers)".into(),
            Kind::Choice(choices) => format!("one of {}", choices.join(", ")),
            Kind::Seconds => "a non-negative duration in seconds (e.g. 30, 90s, 5m, 1h)".into(),
            Kind::List => "a list of strings".into(),
            Kind::Map => "a mapping of names to scalar values".into(),
            Kind::Endpoints => "a list of {url, api_key, app_key, site} entries".into(),
        }
    }
}

/// One configuration key.
#[derive(Debug)]
pub struct KeyDef {
    pub key: &'static str,
    pub kind: Kind,
    /// `None`: the key has no value unless configured (e.g. `api_key`).
    pub default: Option<&'static str>,
    /// Environment variables bound to the key; the first non-empty one wins.
    pub env: &'static [&'static str],
}

impl KeyDef {
    pub fn default_value(&self) -> Option<Value> {
        parse::parse(self.kind, Raw::Text(self.default?))
    }
}

/// The key named `key`, if it is in the table.
pub fn lookup(key: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|def| def.key == key)
}

/// The key bound to the environment variable `name`, if any.
pub fn lookup_env(name: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|def| def.env.contains(&name))
}

const fn key(key: &'static str, kind: Kind, default: &'static str, env: &'static [&'static str]) -> KeyDef {
    KeyDef { key, kind, default: Some(default), env }
}

const fn unset(key: &'static str, kind: Kind, env: &'static [&'static str]) -> KeyDef {
    KeyDef { key, kind, default: None, env }
}

use Kind::{Bool, Endpoints, Int, List, Map, Port, Seconds, Str};

const LEADER_RESOURCES: Kind = Kind::Choice(&["configmap", "configmaps", "lease", "leases", ""]);
const AGGREGATORS: Kind = Kind::Choice(&["avg", "sum", "max", "min"]);
const FAILURE_POLICIES: Kind = Kind::Choice(&["Ignore", "Fail"]);
const REINVOCATION_POLICIES: Kind = Kind::Choice(&["IfNeeded", "Never"]);

/// The keys of spec §13, grouped as there; one line per key, so not formatted.
#[rustfmt::skip]
pub const KEYS: &[KeyDef] = &[
    // Datadog account and cluster identity.
    unset("api_key", Str, &["DD_API_KEY"]),
    // DD_APPLICATION_KEY: alias accepted for users of other Datadog tools; the DCA binds DD_APP_KEY.
    unset("app_key", Str, &["DD_APP_KEY", "DD_APPLICATION_KEY"]),
    key("site", Str, "datadoghq.com", &["DD_SITE"]),
    unset("cluster_name", Str, &["DD_CLUSTER_NAME"]),
    // Leader election (§2).
    key("leader_election", Bool, "false", &["DD_LEADER_ELECTION"]),
    key("leader_lease_name", Str, "datadog-leader-election", &["DD_LEADER_LEASE_NAME"]),
    key("leader_lease_duration", Seconds, "60", &["DD_LEADER_LEASE_DURATION"]),
    key("leader_election_default_resource", LEADER_RESOURCES, "configmap", &["DD_LEADER_ELECTION_DEFAULT_RESOURCE"]),
    key("leader_election_release_on_shutdown", Bool, "true", &["DD_LEADER_ELECTION_RELEASE_ON_SHUTDOWN"]),
    // Kubernetes access.
    key("kube_resources_namespace", Str, "", &["DD_KUBE_RESOURCES_NAMESPACE"]),
    key("kube_cache_sync_timeout_seconds", Seconds, "10", &["DD_KUBE_CACHE_SYNC_TIMEOUT_SECONDS"]),
    key("kubernetes_informers_resync_period", Seconds, "300", &["DD_KUBERNETES_INFORMERS_RESYNC_PERIOD"]),
    key("metrics_port", Port, "5000", &["DD_METRICS_PORT"]),
    // Cluster agent IPC server (§4).
    key("cluster_agent.cmd_port", Port, "5005", &["DD_CLUSTER_AGENT_CMD_PORT"]),
    key("cluster_agent.auth_token", Str, "", &["DD_CLUSTER_AGENT_AUTH_TOKEN"]),
    key("cluster_agent.allow_legacy_tls", Bool, "false", &["DD_CLUSTER_AGENT_ALLOW_LEGACY_TLS"]),
    key("cluster_agent.kubernetes_service_name", Str, "datadog-cluster-agent", &["DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME"]),
    key("cluster_agent.max_leader_connections", Int, "100", &["DD_CLUSTER_AGENT_MAX_LEADER_CONNECTIONS"]),
    key("cluster_agent.server.read_timeout_seconds", Seconds, "2", &["DD_CLUSTER_AGENT_SERVER_READ_TIMEOUT_SECONDS"]),
    key("cluster_agent.server.write_timeout_seconds", Seconds, "2", &["DD_CLUSTER_AGENT_SERVER_WRITE_TIMEOUT_SECONDS"]),
    key("cluster_agent.server.idle_timeout_seconds", Seconds, "60", &["DD_CLUSTER_AGENT_SERVER_IDLE_TIMEOUT_SECONDS"]),
    // External metrics provider (§5, §7, §8, §9).
    key("external_metrics_provider.enabled", Bool, "false", &["DD_EXTERNAL_METRICS_PROVIDER_ENABLED"]),
    key("external_metrics_provider.port", Port, "8443", &["DD_EXTERNAL_METRICS_PROVIDER_PORT"]),
    key("external_metrics_provider.config", Map, "{}", &["DD_EXTERNAL_METRICS_PROVIDER_CONFIG"]),
    key("external_metrics_provider.use_datadogmetric_crd", Bool, "false", &["DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD"]),
    key("external_metrics_provider.enable_datadogmetric_autogen", Bool, "true", &["DD_EXTERNAL_METRICS_PROVIDER_ENABLE_DATADOGMETRIC_AUTOGEN"]),
    key("external_metrics_provider.autoscaler_autogen_label_selector", Str, "", &["DD_EXTERNAL_METRICS_PROVIDER_AUTOSCALER_AUTOGEN_LABEL_SELECTOR"]),
    key("external_metrics_provider.wpa_controller", Bool, "false", &["DD_EXTERNAL_METRICS_PROVIDER_WPA_CONTROLLER"]),
    // Not a DCA key: opt-in check that the request namespace matches the DatadogMetric's (DESIGN.md §6).
    key("external_metrics_provider.enforce_namespace", Bool, "false", &["DD_EXTERNAL_METRICS_PROVIDER_ENFORCE_NAMESPACE"]),
    key("external_metrics_provider.refresh_period", Seconds, "30", &["DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD"]),
    key("external_metrics_provider.max_age", Seconds, "120", &["DD_EXTERNAL_METRICS_PROVIDER_MAX_AGE"]),
    key("external_metrics_provider.query_validity_period", Seconds, "30", &["DD_EXTERNAL_METRICS_PROVIDER_QUERY_VALIDITY_PERIOD"]),
    key("external_metrics_provider.bucket_size", Seconds, "300", &["DD_EXTERNAL_METRICS_PROVIDER_BUCKET_SIZE"]),
    key("external_metrics_provider.max_time_window", Seconds, "86400", &["DD_EXTERNAL_METRICS_PROVIDER_MAX_TIME_WINDOW"]),
    key("external_metrics_provider.rollup", Seconds, "30", &["DD_EXTERNAL_METRICS_PROVIDER_ROLLUP"]),
    key("external_metrics.aggregator", AGGREGATORS, "avg", &["DD_EXTERNAL_METRICS_AGGREGATOR"]),
    key("external_metrics_provider.chunk_size", Int, "35", &["DD_EXTERNAL_METRICS_PROVIDER_CHUNK_SIZE"]),
    key("external_metrics_provider.max_parallel_queries", Int, "10", &["DD_EXTERNAL_METRICS_PROVIDER_MAX_PARALLEL_QUERIES"]),
    key("external_metrics_provider.split_batches_with_backoff", Bool, "false", &["DD_EXTERNAL_METRICS_PROVIDER_SPLIT_BATCHES_WITH_BACKOFF"]),
    key("external_metrics_provider.num_workers", Int, "2", &["DD_EXTERNAL_METRICS_PROVIDER_NUM_WORKERS"]),
    key("external_metrics_provider.endpoint", Str, "", &["DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT"]),
    key("external_metrics_provider.api_key", Str, "", &["DD_EXTERNAL_METRICS_PROVIDER_API_KEY"]),
    key("external_metrics_provider.app_key", Str, "", &["DD_EXTERNAL_METRICS_PROVIDER_APP_KEY"]),
    key("external_metrics_provider.endpoints", Endpoints, "[]", &["DD_EXTERNAL_METRICS_PROVIDER_ENDPOINTS"]),
    // Defaults not found in the DCA sources (spec §16.11): unset unless configured.
    unset("external_metrics_provider.startup_retries", Int, &["DD_EXTERNAL_METRICS_PROVIDER_STARTUP_RETRIES"]),
    unset("external_metrics_provider.startup_retry_delay", Seconds, &["DD_EXTERNAL_METRICS_PROVIDER_STARTUP_RETRY_DELAY"]),
    unset("external_metrics_provider.startup_retry_max_delay", Seconds, &["DD_EXTERNAL_METRICS_PROVIDER_STARTUP_RETRY_MAX_DELAY"]),
    key("external_metrics_provider.local_copy_refresh_rate", Seconds, "30", &["DD_EXTERNAL_METRICS_PROVIDER_LOCAL_COPY_REFRESH_RATE"]),
    key("external_metrics_provider.batch_window", Seconds, "10", &["DD_EXTERNAL_METRICS_PROVIDER_BATCH_WINDOW"]),
    key("hpa_configmap_name", Str, "datadog-custom-metrics", &["DD_HPA_CONFIGMAP_NAME"]),
    key("hpa_watcher_polling_freq", Seconds, "10", &["DD_HPA_WATCHER_POLLING_FREQ"]),
    key("hpa_watcher_gc_period", Seconds, "300", &["DD_HPA_WATCHER_GC_PERIOD"]),
    // Workload autoscaling (§10).
    key("autoscaling.workload.enabled", Bool, "false", &["DD_AUTOSCALING_WORKLOAD_ENABLED"]),
    key("autoscaling.workload.limit", Int, "1000", &["DD_AUTOSCALING_WORKLOAD_LIMIT"]),
    key("autoscaling.workload.num_workers", Int, "2", &["DD_AUTOSCALING_WORKLOAD_NUM_WORKERS"]),
    key("autoscaling.workload.external_recommender.enabled", Bool, "false", &["DD_AUTOSCALING_WORKLOAD_EXTERNAL_RECOMMENDER_ENABLED"]),
    key("autoscaling.workload.external_recommender.tls.ca_file", Str, "", &["DD_AUTOSCALING_WORKLOAD_EXTERNAL_RECOMMENDER_TLS_CA_FILE"]),
    key("autoscaling.workload.external_recommender.tls.cert_file", Str, "", &["DD_AUTOSCALING_WORKLOAD_EXTERNAL_RECOMMENDER_TLS_CERT_FILE"]),
    key("autoscaling.workload.external_recommender.tls.key_file", Str, "", &["DD_AUTOSCALING_WORKLOAD_EXTERNAL_RECOMMENDER_TLS_KEY_FILE"]),
    key("autoscaling.workload.recommendations.source", Str, "", &["DD_AUTOSCALING_WORKLOAD_RECOMMENDATIONS_SOURCE"]),
    key("autoscaling.workload.recommendations.poll_interval", Seconds, "10", &["DD_AUTOSCALING_WORKLOAD_RECOMMENDATIONS_POLL_INTERVAL"]),
    key("autoscaling.workload.in_place_vertical_scaling.enabled", Bool, "true", &["DD_AUTOSCALING_WORKLOAD_IN_PLACE_VERTICAL_SCALING_ENABLED"]),
    key("autoscaling.workload.in_place_vertical_scaling.disruption_tolerance_percent", Int, "15", &["DD_AUTOSCALING_WORKLOAD_IN_PLACE_VERTICAL_SCALING_DISRUPTION_TOLERANCE_PERCENT"]),
    key("autoscaling.failover.enabled", Bool, "false", &["DD_AUTOSCALING_FAILOVER_ENABLED"]),
    key("autoscaling.failover.metrics", List, "container.memory.usage container.cpu.usage", &["DD_AUTOSCALING_FAILOVER_METRICS"]),
    // Cluster autoscaling: out of scope, kept so existing datadog.yaml files check clean.
    key("autoscaling.cluster.enabled", Bool, "false", &["DD_AUTOSCALING_CLUSTER_ENABLED"]),
    key("autoscaling.cluster.spot.enabled", Bool, "false", &["DD_AUTOSCALING_CLUSTER_SPOT_ENABLED"]),
    key("autoscaling.cluster.spot.defaults.percentage", Int, "100", &["DD_AUTOSCALING_CLUSTER_SPOT_DEFAULTS_PERCENTAGE"]),
    key("autoscaling.cluster.spot.defaults.min_on_demand_replicas", Int, "0", &["DD_AUTOSCALING_CLUSTER_SPOT_DEFAULTS_MIN_ON_DEMAND_REPLICAS"]),
    key("autoscaling.cluster.spot.schedule_timeout", Seconds, "1m", &["DD_AUTOSCALING_CLUSTER_SPOT_SCHEDULE_TIMEOUT"]),
    key("autoscaling.cluster.spot.fallback_duration", Seconds, "2m", &["DD_AUTOSCALING_CLUSTER_SPOT_FALLBACK_DURATION"]),
    key("autoscaling.cluster.spot.rebalance_stabilization_period", Seconds, "1m", &["DD_AUTOSCALING_CLUSTER_SPOT_REBALANCE_STABILIZATION_PERIOD"]),
    key("remote_configuration.enabled", Bool, "true", &["DD_REMOTE_CONFIGURATION_ENABLED"]),
    // Admission controller (§11).
    key("admission_controller.enabled", Bool, "false", &["DD_ADMISSION_CONTROLLER_ENABLED"]),
    key("admission_controller.port", Port, "8000", &["DD_ADMISSION_CONTROLLER_PORT"]),
    key("admission_controller.failure_policy", FAILURE_POLICIES, "Ignore", &["DD_ADMISSION_CONTROLLER_FAILURE_POLICY"]),
    key("admission_controller.reinvocation_policy", REINVOCATION_POLICIES, "IfNeeded", &["DD_ADMISSION_CONTROLLER_REINVOCATION_POLICY"]),
    key("admission_controller.timeout_seconds", Int, "10", &["DD_ADMISSION_CONTROLLER_TIMEOUT_SECONDS"]),
    key("admission_controller.webhook_name", Str, "datadog-webhook", &["DD_ADMISSION_CONTROLLER_WEBHOOK_NAME"]),
    key("admission_controller.service_name", Str, "datadog-admission-controller", &["DD_ADMISSION_CONTROLLER_SERVICE_NAME"]),
    key("admission_controller.certificate.secret_name", Str, "webhook-certificate", &["DD_ADMISSION_CONTROLLER_CERTIFICATE_SECRET_NAME"]),
    // Hours, as in the DCA (validity 1 year, renewal 30 days before expiry).
    key("admission_controller.certificate.validity_bound", Int, "8760", &["DD_ADMISSION_CONTROLLER_CERTIFICATE_VALIDITY_BOUND"]),
    key("admission_controller.certificate.expiration_threshold", Int, "720", &["DD_ADMISSION_CONTROLLER_CERTIFICATE_EXPIRATION_THRESHOLD"]),
    key("admission_controller.mutate_unlabelled", Bool, "false", &["DD_ADMISSION_CONTROLLER_MUTATE_UNLABELLED"]),
];
