//! Leader election, the cluster ID and the DatadogMetric provider against devcluster, with an
//! in-process fake Datadog querier.

mod external_metrics {
    pub mod cluster;
    pub mod datadogmetric;
    pub mod support;
}
