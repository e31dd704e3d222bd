//! The parts of a pod the webhook reads, and the JSON patch operations it answers with.

use std::borrow::{Borrow, Cow};
use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};

use crate::workload::crd::{ContainerResources, UpdateStrategy};
use crate::workload::dpa_store::DpaEntry;
use crate::workload::vertical::constraints::{Constrained, constrain, is_sentinel};
use crate::workload::{AUTOSCALER_ID_ANNOTATION, REC_ID_ANNOTATION};

/// A pod as the webhook decodes it: names, owners, annotations and container resources only,
/// strings borrowed from the review's bytes (copied only when they hold escapes), everything else
/// skipped unread.
#[derive(Deserialize, Debug, Default)]
pub struct PodView<'a> {
    #[serde(default, borrow)]
    pub metadata: MetaView<'a>,
    #[serde(default, borrow)]
    pub spec: SpecView<'a>,
}

/// A JSON string of the review: borrowed from its bytes unless it holds escapes.
#[derive(Deserialize, Debug, Default, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[serde(transparent)]
pub struct Text<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct MetaView<'a> {
    #[serde(default, borrow)]
    pub name: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub generate_name: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub namespace: Option<Text<'a>>,
    #[serde(default, borrow, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<Text<'a>, Text<'a>>,
    #[serde(default, borrow)]
    pub annotations: Option<BTreeMap<Text<'a>, Text<'a>>>,
    #[serde(default, borrow, deserialize_with = "null_as_default")]
    pub owner_references: Vec<OwnerView<'a>>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct OwnerView<'a> {
    #[serde(default, borrow)]
    pub api_version: Text<'a>,
    #[serde(default, borrow)]
    pub kind: Text<'a>,
    #[serde(default, borrow)]
    pub name: Text<'a>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct SpecView<'a> {
    #[serde(default, borrow, deserialize_with = "null_as_default")]
    pub containers: Vec<ContainerView<'a>>,
    #[serde(default, borrow, deserialize_with = "null_as_default")]
    pub init_containers: Vec<ContainerView<'a>>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContainerView<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(default, borrow)]
    pub restart_policy: Option<Text<'a>>,
    #[serde(default, borrow)]
    pub resources: Option<ResourcesView<'a>>,
    #[serde(default, borrow)]
    pub env: Option<Vec<EnvView<'a>>>,
}

#[derive(Deserialize, Debug, Default)]
pub struct ResourcesView<'a> {
    #[serde(default, borrow)]
    pub requests: Option<BTreeMap<Text<'a>, Scalar<'a>>>,
    #[serde(default, borrow)]
    pub limits: Option<BTreeMap<Text<'a>, Scalar<'a>>>,
}

#[derive(Deserialize, Debug, Default)]
pub struct EnvView<'a> {
    #[serde(borrow)]
    pub name: Text<'a>,
}

/// A resource quantity as the pod has it: its text when it is a JSON string, else nothing (what
/// `serde_json::Value::as_str` would give), read without building a `Value`.
#[derive(Debug, Default)]
pub struct Scalar<'a>(pub Option<Cow<'a, str>>);

impl Scalar<'_> {
    fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar(Some(Cow::Owned(v))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Scalar(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Scalar(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Scalar(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Scalar(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn null_as_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl PodView<'_> {
    /// The name for messages (`generateName*` before the API server names it).
    pub fn display_name(&self) -> String {
        match (&self.metadata.name, &self.metadata.generate_name) {
            (Some(n), _) if !n.is_empty() => n.to_string(),
            (_, Some(g)) => format!("{}*", &**g),
            _ => "<unnamed>".into(),
        }
    }
}

/// One JSON patch (RFC 6902) operation, serialized as `{"op", "path"[, "value"]}`.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op<'a> {
    Add { path: String, value: OpValue<'a> },
    Remove { path: String },
    Replace { path: String, value: OpValue<'a> },
}

/// The value of an `add` or `replace`, borrowed from the DPA's recommendation.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum OpValue<'a> {
    Text(&'a str),
    /// `{}`.
    Empty(Empty),
    EnvVar(EnvVar<'a>),
    Env([EnvVar<'a>; 1]),
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Empty {}

/// `{"name": …, "value": …}`.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct EnvVar<'a> {
    name: &'static str,
    value: &'a str,
}

impl<'a> Op<'a> {
    fn add(path: impl Into<String>, value: OpValue<'a>) -> Op<'a> {
        Op::Add { path: path.into(), value }
    }

    fn add_empty_object(path: impl Into<String>) -> Op<'a> {
        Op::add(path, OpValue::Empty(Empty {}))
    }
}

/// What the webhook derives from a DPA entry, once per entry (kept with it, see
/// [`crate::workload::dpa_store::Derived`]): its `autoscaler-id` and the vertical recommendation
/// pods get, after the DPA's forced resources and constraints.
#[derive(Debug)]
pub struct Applied {
    id: String,
    vertical: Option<Constrained>,
}

impl Applied {
    pub fn of(dpa: &DpaEntry) -> Applied {
        Applied { id: dpa.id(), vertical: applicable_vertical(dpa) }
    }
}

/// The JSON patch operations that give `pod` the DPA's annotations and recommendation.
pub fn operations<'a>(pod: &PodView, applied: &'a Applied) -> Vec<Op<'a>> {
    let mut ops = Vec::new();
    let annotations = pod.metadata.annotations.as_ref();
    if annotations.is_none() {
        ops.push(Op::add_empty_object("/metadata/annotations"));
    }
    let mut annotate = |key: &str, value: &'a str| {
        if annotations.and_then(|a| a.get(key)).map(|v| &**v) != Some(value) {
            ops.push(Op::add(format!("/metadata/annotations/{}", escape(key)), OpValue::Text(value)));
        }
    };
    annotate(AUTOSCALER_ID_ANNOTATION, &applied.id);
    let Some(vertical) = applied.vertical.as_ref() else {
        return ops;
    };
    annotate(REC_ID_ANNOTATION, &vertical.id);
    let sidecars =
        pod.spec.init_containers.iter().enumerate().filter(|(_, c)| c.restart_policy.as_deref() == Some("Always"));
    let regular = pod.spec.containers.iter().enumerate().map(|(i, c)| (format!("/spec/containers/{i}"), c));
    let sidecars = sidecars.map(|(i, c)| (format!("/spec/initContainers/{i}"), c));
    for (path, container) in regular.chain(sidecars) {
        if let Some(reco) = vertical.resources.iter().find(|r| r.name == *container.name) {
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

fn container_operations<'a>(
    path: &str,
    container: &ContainerView,
    reco: &'a ContainerResources,
    ops: &mut Vec<Op<'a>>,
) {
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
            if have.is_some_and(|h| h.contains_key(resource.as_str())) {
                ops.push(Op::Remove { path: format!("{path}/resources/{field}/{}", escape(resource)) });
            }
        }
        let set: Vec<_> = set
            .into_iter()
            .filter(|(r, q)| have.and_then(|h| h.get(r.as_str())).and_then(Scalar::as_str) != Some(q.0.as_str()))
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
            ops.push(Op::add(format!("{path}/resources/{field}/{}", escape(resource)), OpValue::Text(&quantity.0)));
        }
    }
    if let Some(limit) = reco.runtime.as_ref().and_then(|r| r.gomemlimit.as_deref()) {
        ops.push(gomemlimit(path, container, limit));
    }
}

/// Sets `GOMEMLIMIT`, replacing the container's own value if it has one.
fn gomemlimit<'a>(path: &str, container: &ContainerView, limit: &'a str) -> Op<'a> {
    let var = EnvVar { name: "GOMEMLIMIT", value: limit };
    match &container.env {
        None => Op::add(format!("{path}/env"), OpValue::Env([var])),
        Some(env) => match env.iter().position(|e| *e.name == *"GOMEMLIMIT") {
            Some(i) => Op::Replace { path: format!("{path}/env/{i}"), value: OpValue::EnvVar(var) },
            None => Op::add(format!("{path}/env/-"), OpValue::EnvVar(var)),
        },
    }
}

/// A JSON pointer token (RFC 6901).
fn escape(token: &str) -> Cow<'_, str> {
    if token.contains(['~', '/']) {
        Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(token)
    }
}
