//! The API server's HTTP surface through the router (in-process), with a test provider proving
//! the `MetricsProvider` seam.

mod server {
    pub mod pipeline;
    pub mod surface;
}
