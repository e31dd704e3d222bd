//! End to end, over real HTTP everywhere: devcluster (aggregation layer, HPA controller
//! simulation), the simulated Datadog API (primary and failover), and our server wired from
//! settings exactly as `serve` and `dev` run it (`stack::Stack`, started by `dev::DevStack`).
//! Periods are short: refresh 0.5 s, HPA sync 1 s, 1 s rollups.

mod e2e {
    pub mod configmap;
    pub mod failover;
    pub mod replicas;
    pub mod scaling;
    pub mod support;
}
