//! Pod usage for the local recommender: `PodMetrics` of the resource metrics API
//! (`metrics.k8s.io/v1beta1`, metrics-server) listed per namespace of a DPA target and kept as a
//! small ring of points per container — a new point only when metrics-server's timestamp moved.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::core::{NamespaceResourceScope, Resource};
use parking_lot::RwLock;
use serde::Deserialize;

use super::replicas::{Point, UsagePoints};
use crate::apimachinery::quantity::milli_value;
use crate::workload::crd::ResourceName;

/// `PodMetrics` as metrics-server serves it (the fields read here).
#[derive(Deserialize, Clone, Debug, Default)]
pub struct PodMetrics {
    pub metadata: ObjectMeta,
    /// When the usage was measured (RFC 3339).
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub window: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerMetrics>,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct ContainerMetrics {
    pub name: String,
    #[serde(default)]
    pub usage: BTreeMap<String, Quantity>,
}

impl Resource for PodMetrics {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "PodMetrics".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "metrics.k8s.io".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1beta1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "pods".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// One measurement of a container: CPU in cores, memory in bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    timestamp: Timestamp,
    cpu: Option<f64>,
    memory: Option<f64>,
}

type PodKey = (String, String);

/// Recent samples per container of the pods of DPA targets.
pub struct UsageStore {
    capacity: usize,
    pods: RwLock<HashMap<PodKey, HashMap<String, VecDeque<Sample>>>>,
}

impl UsageStore {
    /// Keeps the `capacity` newest samples per container.
    pub fn new(capacity: usize) -> Self {
        UsageStore { capacity: capacity.max(2), pods: RwLock::default() }
    }

    /// Records one namespace's listing: new samples for its pods, pods absent from it forgotten.
    pub fn record_namespace(&self, namespace: &str, metrics: &[PodMetrics]) {
        let mut pods = self.pods.write();
        let listed: HashSet<&str> = metrics.iter().filter_map(|m| m.metadata.name.as_deref()).collect();
        pods.retain(|(ns, name), _| ns != namespace || listed.contains(name.as_str()));
        for m in metrics {
            let (Some(name), Some(timestamp)) = (m.metadata.name.as_deref(), parse_time(m)) else { continue };
            let containers = pods.entry((namespace.to_string(), name.to_string())).or_default();
            for c in &m.containers {
                let ring = containers.entry(c.name.clone()).or_default();
                if ring.back().is_some_and(|s| s.timestamp >= timestamp) {
                    continue;
                }
                let value =
                    |res: &str| c.usage.get(res).and_then(|q| milli_value(&q.0).ok()).map(|m| m as f64 / 1000.0);
                ring.push_back(Sample { timestamp, cpu: value("cpu"), memory: value("memory") });
                while ring.len() > self.capacity {
                    ring.pop_front();
                }
            }
        }
    }

    /// Forgets every namespace not in `keep`.
    pub fn retain_namespaces(&self, keep: &HashSet<String>) {
        self.pods.write().retain(|(ns, _), _| keep.contains(ns));
    }

    /// Number of pods with samples.
    pub fn len(&self) -> usize {
        self.pods.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The points of one namespace, for [`UsagePoints`].
    pub fn namespace<'a>(&'a self, namespace: &'a str) -> NamespaceUsage<'a> {
        NamespaceUsage { store: self, namespace }
    }
}

fn parse_time(m: &PodMetrics) -> Option<Timestamp> {
    m.timestamp.as_deref().and_then(|t| t.parse().ok())
}

/// The samples of one namespace.
pub struct NamespaceUsage<'a> {
    store: &'a UsageStore,
    namespace: &'a str,
}

impl UsagePoints for NamespaceUsage<'_> {
    fn points(&self, pod: &str, container: &str, resource: ResourceName) -> Vec<Point> {
        let pods = self.store.pods.read();
        let Some(ring) = pods.get(&(self.namespace.to_string(), pod.to_string())).and_then(|c| c.get(container)) else {
            return Vec::new();
        };
        ring.iter()
            .filter_map(|s| {
                let value = match resource {
                    ResourceName::Cpu => s.cpu?,
                    ResourceName::Memory => s.memory?,
                };
                Some(Point { timestamp: s.timestamp, value })
            })
            .collect()
    }
}
