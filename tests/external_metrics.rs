//! Leader election, the cluster ID, the DatadogMetric and ConfigMap providers against devcluster, with an
//! in-process fake Datadog querier.

mod external_metrics {
    pub mod cluster;
    pub mod configmap;
    pub mod datadogmetric;
    pub mod support;
}
