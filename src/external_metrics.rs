//! External metrics providers: what the server's `MetricsProvider` seam reads from. Each keeps an
//! in-memory store fed by watches on every replica; only the lease holder refreshes values from
//! Datadog and writes them back to Kubernetes.

pub mod configmap;
pub mod datadogmetric;
pub mod hpa_index;
pub mod querier;
pub mod telemetry;
