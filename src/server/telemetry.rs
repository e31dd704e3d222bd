//! Prometheus metrics (explicit registry, no globals): requests by route and code, latency by
//! route, auth cache lookups, TLS certificate reloads, all prefixed `autoscaling_apiserver_`; the
//! providers and the Datadog client add theirs unprefixed with [`Telemetry::register`] (the DCA's
//! names). Served on the metrics port without auth.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::exponential_buckets;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: String,
    result: String,
}

mod latency;

use latency::LatencyHistogram;

fn latency_histogram() -> LatencyHistogram {
    // 0.1 ms .. ~1.6 s
    LatencyHistogram::new(exponential_buckets(0.0001, 2.0, 15))
}

/// The route labels `routes::route_label` gives.
const ROUTES: [&str; 5] = ["metric", "discovery", "openapi", "health", "other"];
/// Status codes 100..=599.
const CODES: usize = 500;

/// Handles to the series of the known routes (and codes), filled on first use: a series appears
/// in the exposition when first observed, as through the families, and shares their values.
/// Saves the families' lock and label hashing per request.
struct Handles {
    latency: [OnceLock<LatencyHistogram>; ROUTES.len()],
    /// `route index * CODES + code - 100`.
    requests: Box<[OnceLock<Counter>]>,
}

impl Handles {
    fn new() -> Self {
        Handles { latency: Default::default(), requests: (0..ROUTES.len() * CODES).map(|_| OnceLock::new()).collect() }
    }

    /// (latency index, requests index), or None for a label outside the known set.
    fn slot(&self, route: &str, code: u16) -> Option<(usize, usize)> {
        let r = ROUTES.iter().position(|known| *known == route)?;
        let c = usize::from(code).checked_sub(100).filter(|c| *c < CODES)?;
        Some((r, r * CODES + c))
    }
}

pub struct Telemetry {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, LatencyHistogram, fn() -> LatencyHistogram>,
    auth_cache: Family<CacheLabels, Counter>,
    tls_reloads: Counter,
    seen_reloads: AtomicU64,
    handles: Handles,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    pub fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency =
            Family::<RouteLabels, LatencyHistogram, fn() -> LatencyHistogram>::new_with_constructor(latency_histogram);
        let auth_cache = Family::<CacheLabels, Counter>::default();
        let tls_reloads = Counter::default();
        let mut root = Registry::default();
        let registry = root.sub_registry_with_prefix("autoscaling_apiserver");
        registry.register("http_requests", "HTTP requests served, by route and status code", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency, by route", latency.clone());
        registry.register("auth_cache_lookups", "Authentication/authorization cache lookups", auth_cache.clone());
        registry.register("tls_certificate_reloads", "Serving certificate reloads", tls_reloads.clone());
        Telemetry {
            registry: Mutex::new(root),
            requests,
            latency,
            auth_cache,
            tls_reloads,
            seen_reloads: AtomicU64::new(0),
            handles: Handles::new(),
        }
    }

    /// Hot path: the series of the known routes are looked up once and kept (see [`Handles`]);
    /// other labels go through the families.
    pub fn observe_request(&self, route: &'static str, code: u16, elapsed: Duration) {
        let Some(slot) = self.handles.slot(route, code) else {
            self.requests.get_or_create(&RequestLabels { route, code }).inc();
            self.latency.get_or_create(&RouteLabels { route }).observe(elapsed);
            return;
        };
        let (route_index, code_index) = slot;
        self.handles.requests[code_index]
            .get_or_init(|| self.requests.get_or_create(&RequestLabels { route, code }).clone())
            .inc();
        self.handles.latency[route_index]
            .get_or_init(|| self.latency.get_or_create(&RouteLabels { route }).clone())
            .observe(elapsed);
    }

    /// Brings the `cache` hit/miss counters up to the auth layer's running totals.
    pub fn auth_cache_totals(&self, cache: &str, hits: u64, misses: u64) {
        for (result, total) in [("hit", hits), ("miss", misses)] {
            let counter = self.auth_cache.get_or_create(&CacheLabels { cache: cache.into(), result: result.into() });
            let seen = counter.get();
            if total > seen {
                counter.inc_by(total - seen);
            }
        }
    }

    /// Brings the reload counter up to the TLS layer's running total.
    pub fn tls_reloads_total(&self, total: u64) {
        let before = self.seen_reloads.swap(total, Ordering::SeqCst);
        if total > before {
            self.tls_reloads.inc_by(total - before);
        }
    }

    /// Adds metrics at the top level of the registry (unprefixed names).
    pub fn register(&self, add: impl FnOnce(&mut Registry)) {
        add(&mut self.registry.lock());
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry.lock());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_the_series() {
        let t = Telemetry::new();
        t.observe_request("metric", 200, Duration::from_millis(1));
        t.auth_cache_totals("authentication", 3, 1);
        t.auth_cache_totals("authentication", 5, 1);
        t.tls_reloads_total(2);
        let text = t.encode();
        assert!(text.contains("autoscaling_apiserver_http_requests_total{route=\"metric\",code=\"200\"} 1"), "{text}");
        assert!(text.contains("autoscaling_apiserver_tls_certificate_reloads_total 2"), "{text}");
        assert!(text.contains("autoscaling_apiserver_http_request_duration_seconds_bucket"), "{text}");
        assert!(
            text.contains("autoscaling_apiserver_auth_cache_lookups_total{cache=\"authentication\",result=\"hit\"} 5"),
            "{text}"
        );
        let extra = Counter::<u64>::default();
        extra.inc();
        t.register(|r| r.register("datadog_requests", "requests", extra.clone()));
        let text = t.encode();
        assert!(text.contains("\ndatadog_requests_total 1\n"), "unprefixed: {text}");
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
    }

    #[test]
    fn kept_handles_and_families_count_the_same_series() {
        let t = Telemetry::new();
        assert!(!t.encode().contains("route=\"metric\""), "no series before the first observation");
        for _ in 0..3 {
            t.observe_request("metric", 200, Duration::from_millis(1));
        }
        t.observe_request("metric", 403, Duration::from_millis(1));
        t.observe_request("metric", 999, Duration::from_millis(1));
        t.observe_request("custom", 200, Duration::from_millis(1));
        t.observe_request("custom", 200, Duration::from_millis(1));
        let text = t.encode();
        for series in [
            "autoscaling_apiserver_http_requests_total{route=\"metric\",code=\"200\"} 3",
            "autoscaling_apiserver_http_requests_total{route=\"metric\",code=\"403\"} 1",
            "autoscaling_apiserver_http_requests_total{route=\"metric\",code=\"999\"} 1",
            "autoscaling_apiserver_http_requests_total{route=\"custom\",code=\"200\"} 2",
            "autoscaling_apiserver_http_request_duration_seconds_count{route=\"metric\"} 5",
            "autoscaling_apiserver_http_request_duration_seconds_count{route=\"custom\"} 2",
        ] {
            assert!(text.contains(series), "{series} missing:\n{text}");
        }
        assert_eq!(text.matches("http_requests_total{").count(), 4, "{text}");
    }
}
