//! The aggregated API server: `external.metrics.k8s.io/v1beta1` behind an APIService, plus
//! discovery, OpenAPI, health and metrics. The HTTP layer knows only the `MetricsProvider` seam.

mod documents;
mod external_metrics;
mod health;
mod quantity;
mod routes;
mod telemetry;

pub use external_metrics::{
    ExternalMetricValue, ExternalMetricValueList, GROUP, GROUP_VERSION, MetricsProvider, ProviderError, VERSION,
};
pub use health::{Check, HealthChecks};
pub use quantity::format_quantity;
pub use routes::{ApiState, route_label, router};
pub use telemetry::Telemetry;
