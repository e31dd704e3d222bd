//! Prometheus metrics of the query client, with the DCA's names (spec §12): `datadog_requests`
//! by status, `rate_limit_queries_{limit,remaining,period,reset,remaining_min}` by endpoint path,
//! `external_metrics_{processed_value,delay_seconds,updated}` by `metric{scope}`, plus per-endpoint
//! health (`datadog_endpoint_up`, `datadog_endpoint_retry_interval_seconds`) and failover switches.
//! Register them in the server's registry with [`ClientTelemetry::register`].

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::ratelimit::RateLimit;

/// The DCA labels rate-limit gauges with the API path, not the host.
pub const QUERY_ENDPOINT: &str = "/api/v1/query";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MetricLabels {
    metric: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UrlLabels {
    url: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SwitchLabels {
    from: String,
    to: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// All metrics of one client; cheap to clone (shared handles).
#[derive(Clone, Default)]
pub struct ClientTelemetry {
    requests: Family<StatusLabels, Counter>,
    rl_limit: Family<EndpointLabels, Gauge>,
    rl_remaining: Family<EndpointLabels, Gauge>,
    rl_period: Family<EndpointLabels, Gauge>,
    rl_reset: Family<EndpointLabels, Gauge>,
    rl_remaining_min: Family<EndpointLabels, Gauge>,
    processed_value: Family<MetricLabels, FloatGauge>,
    delay_seconds: Family<MetricLabels, Gauge>,
    updated: Family<MetricLabels, Counter>,
    endpoint_up: Family<UrlLabels, Gauge>,
    retry_interval: Family<UrlLabels, Gauge>,
    switches: Family<SwitchLabels, Counter>,
}

impl ClientTelemetry {
    /// Adds every metric to `registry` (unprefixed names are the DCA's; prefix with a sub-registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register("datadog_requests", "Counter of requests made to Datadog", self.requests.clone());
        let rl = [
            ("rate_limit_queries_limit", "maximum number of queries allowed in the period", &self.rl_limit),
            ("rate_limit_queries_remaining", "number of queries remaining before next reset", &self.rl_remaining),
            ("rate_limit_queries_period", "period of rate limiting", &self.rl_period),
            ("rate_limit_queries_reset", "number of seconds before next reset", &self.rl_reset),
            (
                "rate_limit_queries_remaining_min",
                "minimum number of queries remaining before next reset observed during an expiration interval of 2*refresh period",
                &self.rl_remaining_min,
            ),
        ];
        for (name, help, family) in rl {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "external_metrics_processed_value",
            "value processed from querying Datadog",
            self.processed_value.clone(),
        );
        registry.register(
            "external_metrics_delay_seconds",
            "freshness of the metric evaluated from querying Datadog",
            self.delay_seconds.clone(),
        );
        registry.register(
            "external_metrics_updated",
            "increased by 1 everytime a metric value is updated",
            self.updated.clone(),
        );
        registry.register(
            "datadog_endpoint_up",
            "1 when the last query to this Datadog endpoint succeeded",
            self.endpoint_up.clone(),
        );
        registry.register(
            "datadog_endpoint_retry_interval_seconds",
            "how long a failed Datadog endpoint is skipped",
            self.retry_interval.clone(),
        );
        registry.register(
            "datadog_endpoint_switches",
            "switches of the Datadog endpoint in use",
            self.switches.clone(),
        );
    }

    /// Text exposition of these metrics alone (for tests and the `status` command).
    pub fn encode(&self) -> String {
        let mut registry = Registry::default();
        self.register(&mut registry);
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }

    pub(crate) fn request(&self, status: &'static str) {
        self.requests.get_or_create(&StatusLabels { status }).inc();
    }

    pub(crate) fn rate_limit(&self, rl: &RateLimit, remaining_min: Option<i64>) {
        let labels = EndpointLabels { endpoint: QUERY_ENDPOINT.into() };
        let pairs = [
            (&self.rl_limit, rl.limit),
            (&self.rl_remaining, rl.remaining),
            (&self.rl_period, rl.period),
            (&self.rl_reset, rl.reset),
            (&self.rl_remaining_min, remaining_min),
        ];
        for (family, value) in pairs {
            if let Some(v) = value {
                family.get_or_create(&labels).set(v);
            }
        }
    }

    pub(crate) fn processed(&self, metric: &str, value: f64, delay_s: i64) {
        let labels = MetricLabels { metric: metric.into() };
        self.processed_value.get_or_create(&labels).set(value);
        self.delay_seconds.get_or_create(&labels).set(delay_s);
        self.updated.get_or_create(&labels).inc();
    }

    pub(crate) fn endpoint_health(&self, url: &str, up: bool, retry_interval_s: i64) {
        let labels = UrlLabels { url: url.into() };
        self.endpoint_up.get_or_create(&labels).set(i64::from(up));
        self.retry_interval.get_or_create(&labels).set(retry_interval_s);
    }

    pub(crate) fn switched(&self, from: &str, to: &str) {
        self.switches.get_or_create(&SwitchLabels { from: from.into(), to: to.into() }).inc();
    }
}
