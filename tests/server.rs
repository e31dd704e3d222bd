//! The API server's HTTP surface through the router (in-process), with a test provider proving
//! the `MetricsProvider` seam; and behind devcluster's aggregation layer.

mod server {
    pub mod aggregation;
    pub mod aggregation_support;
    pub mod pipeline;
    pub mod recorder;
    pub mod surface;
}
