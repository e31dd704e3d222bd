//! The aggregated API server: `external.metrics.k8s.io/v1beta1` behind an APIService, plus
//! discovery, OpenAPI, health and metrics. The HTTP layer knows only the `MetricsProvider` seam.

pub mod auth;
mod documents;
mod external_metrics;
mod gate;
mod health;
mod quantity;
mod routes;
mod secure;
mod serve;
mod telemetry;
pub mod tls;
mod webhooks;

pub use external_metrics::{
    ExternalMetricValue, ExternalMetricValueList, GROUP, GROUP_VERSION, MetricsProvider, ProviderError,
    ProviderNotBuilt, VERSION, lowercase_metric,
};
pub use health::{Check, HealthChecks};
pub use quantity::format_quantity;
pub use routes::{ApiState, route_label, router, with_telemetry};
pub use secure::{SecureApp, SecureService};
pub use serve::{
    Extras, RegisterMetrics, RunningServer, ServeConfig, StatusSource, start, start_with, start_with_webhooks,
};
pub use telemetry::Telemetry;
pub use webhooks::{AdmissionWebhook, AllowUnchanged, Webhooks};
