//! Leader election, the cluster ID, the DatadogMetric and ConfigMap providers (and the DatadogMetric
//! controller's concurrent status writes) against devcluster, with an in-process fake Datadog querier.

mod external_metrics {
    pub mod cluster;
    pub mod configmap;
    pub mod datadogmetric;
    pub mod support;
    pub mod workers;
}
