//! The aggregated API server: `external.metrics.k8s.io/v1beta1` behind an APIService, plus
//! discovery, OpenAPI, health and metrics. The HTTP layer knows only the `MetricsProvider` seam.

pub mod auth;
mod documents;
mod external_metrics;
mod gate;
mod health;
mod quantity;
mod routes;
mod serve;
mod telemetry;
pub mod tls;
mod webhooks;

pub use external_metrics::{
    ExternalMetricValue, ExternalMetricValueList, GROUP, GROUP_VERSION, MetricsProvider, ProviderError,
    ProviderNotBuilt, VERSION,
};
pub use health::{Check, HealthChecks};
pub use quantity::format_quantity;
pub use routes::{ApiState, route_label, router, with_telemetry};
pub use serve::{RunningServer, ServeConfig, start, start_with_webhooks};
pub use telemetry::Telemetry;
pub use webhooks::{AdmissionWebhook, Webhooks};
