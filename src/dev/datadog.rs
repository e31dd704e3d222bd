//! The Datadog side of `dev`: two simulated Datadog API instances (primary and failover) serving
//! the demo DatadogMetric's series, and the settings that point the provider at them — dev keys,
//! the failover endpoint, a short refresh period, workload autoscaling on — as `DD_*` pairs, so
//! `dev` runs the same settings path as `serve`.

use std::time::Duration;

use crate::config::Settings;
use crate::devcluster::datadog_api::{DatadogApi, DatadogApiConfig, SeriesDef, Shape};

/// The metric and scope of the demo DatadogMetric's query (deploy/examples/20-web-rps-datadogmetric.yaml).
pub const DEMO_METRIC: &str = "nginx.net.request_per_s";
pub const DEMO_TAG: &str = "kube_deployment:web";
pub const API_KEY: &str = "dev-api-key";
pub const APP_KEY: &str = "dev-app-key";
/// The replica's identity (the Lease holder).
pub const POD_NAME: &str = "autoscaling-apiserver-dev";

/// 5 requests/s per pod target 10 → 1 replica; 42 for three minutes after the first minute → 5
/// replicas; then back to 5 → 1 replica after the HPA's 30 s scale-down window.
pub fn demo_shape() -> Shape {
    Shape::Pulse { base: 5.0, peak: 42.0, from_s: 60.0, to_s: 240.0 }
}

/// Primary and failover endpoints serving the same series.
pub struct SimulatedDatadog {
    pub primary: DatadogApi,
    pub failover: DatadogApi,
}

impl SimulatedDatadog {
    pub async fn start(shape: Shape) -> anyhow::Result<Self> {
        let config = DatadogApiConfig {
            api_key: API_KEY.into(),
            app_key: APP_KEY.into(),
            series: vec![SeriesDef::new(DEMO_METRIC, shape).with_tags(&[DEMO_TAG])],
            ..Default::default()
        };
        let primary = DatadogApi::start(config.clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot start the simulated Datadog API (primary): {e}"))?;
        let failover = DatadogApi::start(config)
            .await
            .map_err(|e| anyhow::anyhow!("cannot start the simulated Datadog API (failover): {e}"))?;
        Ok(SimulatedDatadog { primary, failover })
    }

    /// The server's settings in dev mode, as the `DD_*` variables a deployment would set;
    /// `overrides` (`DD_*` pairs) replace or add to them (tests: pod name, lease duration).
    pub fn settings(
        &self,
        namespace: &str,
        refresh_period: Duration,
        overrides: &[(String, String)],
    ) -> anyhow::Result<Settings> {
        let mut env = settings_env(&self.primary.url(), &self.failover.url(), namespace, refresh_period);
        env.retain(|(key, _)| !overrides.iter().any(|(k, _)| k == key));
        env.extend(overrides.iter().cloned());
        let (settings, diagnostics) = crate::config::load(None, env, &[])?;
        if let Some(problem) = diagnostics.first() {
            anyhow::bail!("dev settings: {problem}");
        }
        Ok(settings)
    }
}

fn settings_env(primary: &str, failover: &str, namespace: &str, refresh_period: Duration) -> Vec<(String, String)> {
    let endpoints = serde_json::json!([{"url": failover, "api_key": API_KEY, "app_key": APP_KEY}]).to_string();
    let pairs = [
        ("DD_POD_NAME", POD_NAME.to_owned()),
        ("DD_CLUSTER_NAME", "dev".to_owned()),
        ("DD_KUBE_RESOURCES_NAMESPACE", namespace.to_owned()),
        ("DD_API_KEY", API_KEY.to_owned()),
        ("DD_APP_KEY", APP_KEY.to_owned()),
        ("DD_EXTERNAL_METRICS_PROVIDER_ENABLED", "true".to_owned()),
        ("DD_EXTERNAL_METRICS_PROVIDER_USE_DATADOGMETRIC_CRD", "true".to_owned()),
        ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT", primary.to_owned()),
        ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINTS", endpoints),
        ("DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD", format!("{}", refresh_period.as_secs_f64())),
        ("DD_LEADER_ELECTION_DEFAULT_RESOURCE", "lease".to_owned()),
        ("DD_AUTOSCALING_WORKLOAD_ENABLED", "true".to_owned()),
        // The local fallback recommender (spec §10.11) scales the demo's `shop`.
        ("DD_AUTOSCALING_FAILOVER_ENABLED", "true".to_owned()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_settings_point_the_provider_at_both_simulated_endpoints() {
        let env = settings_env("http://127.0.0.1:1", "http://127.0.0.1:2", "datadog", Duration::from_secs(5));
        let (settings, diagnostics) = crate::config::load(None, env, &[]).expect("settings load");
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        settings.require_serving().expect("keys set");
        assert!(settings.use_datadogmetric_crd());
        let client = crate::datadog::ClientConfig::from_settings(&settings).expect("client config");
        let urls: Vec<&str> = client.endpoints.iter().map(|e| e.url.as_str()).collect();
        assert_eq!(urls, ["http://127.0.0.1:1", "http://127.0.0.1:2"]);
        assert_eq!(settings.external_metrics_provider_refresh_period(), Duration::from_secs(5));
        assert_eq!(settings.resources_namespace(), "datadog");
        assert!(settings.autoscaling_workload_enabled(), "dev runs the workload autoscaling demo");
        assert!(settings.flag("autoscaling.failover.enabled"), "with the local fallback recommender");
    }
}
