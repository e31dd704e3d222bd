//! The Datadog query client against the simulated Datadog API over real HTTP on 127.0.0.1, and
//! the recorded Datadog API responses in ../shared/reference/datadog-api/.

mod datadog {
    pub mod bad_replies;
    pub mod batches;
    pub mod failover;
    pub mod rate_limit;
    pub mod recorded;
    pub mod support;
    pub mod values;
}
