//! The parts of a pod the webhook reads, and the JSON patch operations it answers with.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use crate::workload::crd::{ContainerResources, UpdateStrategy};
use crate::workload::dpa_store::DpaEntry;
use crate::workload::vertical::constraints::{Constrained, constrain, is_sentinel};
use crate::workload::{AUTOSCALER_ID_ANNOTATION, REC_ID_ANNOTATION};

/// A pod as the webhook decodes it: names, owners, annotations and container resources only.
#[derive(Deserialize, Debug, Default)]
pub struct PodView {
    #[serde(default)]
    pub metadata: MetaView,
    #[serde(default)]
    pub spec: SpecView,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct MetaView {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub generate_name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub owner_references: Vec<OwnerView>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct OwnerView {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct SpecView {
    #[serde(default, deserialize_with = "null_as_default")]
    pub containers: Vec<ContainerView>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub init_containers: Vec<ContainerView>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContainerView {
    pub name: String,
    #[serde(default)]
    pub restart_policy: Option<String>,
    #[serde(default)]
    pub resources: Option<ResourcesView>,
    #[serde(default)]
    pub env: Option<Vec<EnvView>>,
}

#[derive(Deserialize, Debug, Default)]
pub struct ResourcesView {
    #[serde(default)]
    pub requests: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    pub limits: Option<BTreeMap<String, Value>>,
}

#[derive(Deserialize, Debug, Default)]
pub struct EnvView {
    pub name: String,
}

fn null_as_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl PodView {
    /// The name for messages (`generateName*` before the API server names it).
    pub fn display_name(&self) -> String {
        match (&self.metadata.name, &self.metadata.generate_name) {
            (Some(n), _) if !n.is_empty() => n.clone(),
            (_, Some(g)) => format!("{g}*"),
            _ => "<unnamed>".into(),
        }
    }
}

/// One JSON patch (RFC 6902) operation, serialized as `{"op", "path"[, "value"]}`.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op {
    Add { path: String, value: Value },
    Remove { path: String },
    Replace { path: String, value: Value },
}

impl Op {
    fn add(path: impl Into<String>, value: impl Into<Value>) -> Op {
        Op::Add { path: path.into(), value: value.into() }
    }

    fn add_empty_object(path: impl Into<String>) -> Op {
        Op::add(path, Map::new())
    }
}

/// The JSON patch operations that give `pod` the DPA's annotations and recommendation.
pub fn operations(pod: &PodView, dpa: &DpaEntry) -> Vec<Op> {
    let mut ops = Vec::new();
    let annotations = pod.metadata.annotations.as_ref();
    if annotations.is_none() {
        ops.push(Op::add_empty_object("/metadata/annotations"));
    }
    let mut annotate = |key: &str, value: &str| {
        if annotations.and_then(|a| a.get(key)).map(String::as_str) != Some(value) {
            ops.push(Op::add(format!("/metadata/annotations/{}", escape(key)), value));
        }
    };
    annotate(AUTOSCALER_ID_ANNOTATION, &dpa.id());
    let Some(vertical) = applicable_vertical(dpa) else {
        return ops;
    };
    annotate(REC_ID_ANNOTATION, &vertical.id);
    let sidecars =
        pod.spec.init_containers.iter().enumerate().filter(|(_, c)| c.restart_policy.as_deref() == Some("Always"));
    let regular = pod.spec.containers.iter().enumerate().map(|(i, c)| (format!("/spec/containers/{i}"), c));
    let sidecars = sidecars.map(|(i, c)| (format!("/spec/initContainers/{i}"), c));
    for (path, container) in regular.chain(sidecars) {
        if let Some(reco) = vertical.resources.iter().find(|r| r.name == container.name) {
            container_operations(&path, container, reco, &mut ops);
        }
    }
    ops
}

/// The vertical recommendation the webhook applies: present, identified, not disabled nor paused,
/// after the DPA's forced resources and constraints — the resources and recommendation ID the
/// vertical controller computes, so every replica patches pods alike.
fn applicable_vertical(dpa: &DpaEntry) -> Option<Constrained> {
    let vertical = dpa.vertical.as_ref()?;
    let usable = !vertical.version.is_empty() && !vertical.desired_resources.is_empty();
    if !usable || dpa.paused || dpa.update_strategy == Some(UpdateStrategy::Disabled) {
        return None;
    }
    match constrain(&vertical.desired_resources, &vertical.version, &dpa.vertical_inputs) {
        Ok(constrained) => Some(constrained),
        Err(e) => {
            tracing::warn!(dpa = %dpa.id(), error = %e, "vertical recommendation not applied to pods");
            None
        }
    }
}

fn container_operations(path: &str, container: &ContainerView, reco: &ContainerResources, ops: &mut Vec<Op>) {
    let current = container.resources.as_ref();
    let lists = [
        ("requests", reco.requests.as_ref(), current.and_then(|r| r.requests.as_ref())),
        ("limits", reco.limits.as_ref(), current.and_then(|r| r.limits.as_ref())),
    ];
    let mut resources_added = current.is_some();
    for (field, wanted, have) in lists {
        let wanted = wanted.into_iter().flatten();
        let (removed, set): (Vec<_>, Vec<_>) = wanted.partition(|(_, q)| is_sentinel(q));
        for (resource, _) in removed {
            if have.is_some_and(|h| h.contains_key(resource)) {
                ops.push(Op::Remove { path: format!("{path}/resources/{field}/{}", escape(resource)) });
            }
        }
        let set: Vec<_> = set
            .into_iter()
            .filter(|(r, q)| have.and_then(|h| h.get(*r)).and_then(Value::as_str) != Some(q.0.as_str()))
            .collect();
        if set.is_empty() {
            continue;
        }
        if !resources_added {
            ops.push(Op::add_empty_object(format!("{path}/resources")));
            resources_added = true;
        }
        if have.is_none() {
            ops.push(Op::add_empty_object(format!("{path}/resources/{field}")));
        }
        for (resource, quantity) in set {
            ops.push(Op::add(format!("{path}/resources/{field}/{}", escape(resource)), quantity.0.as_str()));
        }
    }
    if let Some(limit) = reco.runtime.as_ref().and_then(|r| r.gomemlimit.as_deref()) {
        ops.push(gomemlimit(path, container, limit));
    }
}

/// Sets `GOMEMLIMIT`, replacing the container's own value if it has one.
fn gomemlimit(path: &str, container: &ContainerView, limit: &str) -> Op {
    let var = json!({"name": "GOMEMLIMIT", "value": limit});
    match &container.env {
        None => Op::add(format!("{path}/env"), vec![var]),
        Some(env) => match env.iter().position(|e| e.name == "GOMEMLIMIT") {
            Some(i) => Op::Replace { path: format!("{path}/env/{i}"), value: var },
            None => Op::add(format!("{path}/env/-"), var),
        },
    }
}

/// A JSON pointer token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
