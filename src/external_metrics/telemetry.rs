//! The provider's Prometheus metrics, computed at scrape time from the store and the lease claim
//! (the DCA's names, spec §12): `external_metrics_datadog_metrics{namespace,name,valid,active,
//! join_leader}` = 1 per DatadogMetric and `leader_election_is_leader{join_leader,is_leader}`.
//! `join_leader` is always "true": the DCA adds it so dashboards can join on the leader series.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use super::datadogmetric::DatadogMetricProvider;
use crate::cluster::LeaderHandle;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MetricLabels {
    namespace: String,
    name: String,
    valid: &'static str,
    active: &'static str,
    join_leader: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LeaderLabels {
    join_leader: &'static str,
    is_leader: &'static str,
}

fn text(flag: bool) -> &'static str {
    if flag { "true" } else { "false" }
}

pub struct ProviderTelemetry {
    pub provider: Arc<DatadogMetricProvider>,
    pub leader: LeaderHandle,
}

impl std::fmt::Debug for ProviderTelemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTelemetry").field("leader", &self.leader.identity()).finish()
    }
}

impl Collector for ProviderTelemetry {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let metrics = Family::<MetricLabels, Gauge>::default();
        for m in self.provider.metrics() {
            let (namespace, name) = m.id.split_once('/').unwrap_or(("", m.id.as_str()));
            let labels = MetricLabels {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                valid: text(m.valid),
                active: text(m.active),
                join_leader: "true",
            };
            metrics.get_or_create(&labels).set(1);
        }
        let help = "The label valid is true if the DatadogMetric CR is valid, false otherwise. The label active is true if DatadogMetrics CR is used, false otherwise.";
        let out = encoder.encode_descriptor("external_metrics_datadog_metrics", help, None, metrics.metric_type())?;
        metrics.encode(out)?;

        let leader = Family::<LeaderLabels, Gauge>::default();
        leader
            .get_or_create(&LeaderLabels { join_leader: "true", is_leader: text(self.leader.is_leader_now()) })
            .set(1);
        let help = "The label is_leader is true if the reporting pod is leader, equals false otherwise.";
        let out = encoder.encode_descriptor("leader_election_is_leader", help, None, leader.metric_type())?;
        leader.encode(out)
    }
}
