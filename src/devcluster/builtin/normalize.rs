//! Round-trip JSON through the k8s-openapi types, like kube-apiserver's typed
//! decoder: unknown fields are dropped and wrongly typed fields are rejected.

use super::super::gofmt::json_type_name;
use k8s_openapi::api::{
    admissionregistration::v1 as admreg, apps::v1 as apps, authentication::v1 as authn, authorization::v1 as authz,
    autoscaling::v1 as as1, autoscaling::v2 as as2, coordination::v1 as coord, core::v1 as core, events::v1 as events,
    policy::v1 as policy, rbac::v1 as rbac,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apireg;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{NormalizeError, api_version};

/// Decode `obj` as the built-in `group`/`version`/`kind` and re-encode it.
///
/// A missing `apiVersion`/`kind` is filled in from the arguments (the server
/// defaults them from the URL). The result starts with `kind`, `apiVersion`
/// like kube-apiserver's JSON output.
pub fn normalize(group: &str, version: &str, kind: &str, obj: Value) -> Result<Value, NormalizeError> {
    let ctx = Ctx { group, version, kind };
    let obj = ctx.prepare(obj)?;
    let out = dispatch(&ctx, obj)?;
    Ok(kind_first(out))
}

struct Ctx<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
}

impl Ctx<'_> {
    fn decode_error(&self, detail: impl std::fmt::Display) -> NormalizeError {
        NormalizeError::Decode {
            kind: self.kind.to_string(),
            version: self.version.to_string(),
            detail: detail.to_string(),
        }
    }

    /// Check the body is an object and default/verify `apiVersion` and `kind`.
    fn prepare(&self, obj: Value) -> Result<Map<String, Value>, NormalizeError> {
        let Value::Object(mut map) = obj else {
            return Err(self.decode_error(format!(
                "json: cannot unmarshal {} into Go value of type struct",
                json_type_name(&obj)
            )));
        };
        let expected = api_version(self.group, self.version);
        match map.get("apiVersion") {
            None | Some(Value::Null) => {
                map.insert("apiVersion".into(), Value::String(expected));
            }
            Some(Value::String(found)) if found.is_empty() => {
                map.insert("apiVersion".into(), Value::String(expected));
            }
            Some(Value::String(found)) if *found != expected => {
                return Err(NormalizeError::ApiVersionMismatch { found: found.clone(), expected });
            }
            _ => {}
        }
        match map.get("kind") {
            None | Some(Value::Null) => {
                map.insert("kind".into(), Value::String(self.kind.to_string()));
            }
            Some(Value::String(k)) if k.is_empty() => {
                map.insert("kind".into(), Value::String(self.kind.to_string()));
            }
            _ => {}
        }
        Ok(map)
    }

    fn unknown(&self) -> NormalizeError {
        NormalizeError::UnknownKind {
            kind: self.kind.to_string(),
            group_version: api_version(self.group, self.version),
        }
    }
}

fn roundtrip<T: DeserializeOwned + Serialize>(ctx: &Ctx<'_>, map: Map<String, Value>) -> Result<Value, NormalizeError> {
    let typed: T =
        serde_json::from_value(Value::Object(map)).map_err(|e| ctx.decode_error(go_style(&e.to_string())))?;
    serde_json::to_value(&typed).map_err(|e| ctx.decode_error(e))
}

/// Re-word common serde errors the way Go's `encoding/json` words them
/// (without the struct-field path, which serde does not track); anything
/// unrecognised is passed through unchanged.
pub(super) fn go_style(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("Invalid symbol ")
        && let Some((_, offset)) = rest.split_once(", offset ")
    {
        return format!("illegal base64 data at input byte {}", offset.trim_end_matches('.'));
    }
    // "invalid type" is a JSON kind mismatch (Go: "number"); "invalid value"
    // an out-of-range literal (Go: "number 4294967296").
    let (rest, with_literal) = match msg.strip_prefix("invalid type: ") {
        Some(rest) => (rest, false),
        None => match msg.strip_prefix("invalid value: ") {
            Some(rest) => (rest, true),
            None => return msg.to_string(),
        },
    };
    let Some((found, expected)) = rest.split_once(", expected ") else {
        return msg.to_string();
    };
    format!("json: cannot unmarshal {} into Go value of type {}", go_json_kind(found, with_literal), go_type(expected))
}

fn go_json_kind(serde_unexpected: &str, with_literal: bool) -> String {
    let head = serde_unexpected.split(' ').next().unwrap_or("");
    match head {
        "string" => "string".to_string(),
        "integer" | "floating" if with_literal => {
            let number = serde_unexpected.split('`').nth(1).unwrap_or("");
            format!("number {number}").trim_end().to_string()
        }
        "integer" | "floating" => "number".to_string(),
        "boolean" => "bool".to_string(),
        "map" => "object".to_string(),
        "sequence" => "array".to_string(),
        "null" | "unit" => "null".to_string(),
        _ => serde_unexpected.to_string(),
    }
}

fn go_type(serde_expected: &str) -> &str {
    match serde_expected {
        "i32" => "int32",
        "i64" => "int64",
        "u32" => "uint32",
        "u64" => "uint64",
        "f64" => "float64",
        "a string" => "string",
        "a boolean" => "bool",
        "a sequence" => "[]interface {}",
        "a map" => "map[string]interface {}",
        other => other.strip_prefix("struct ").unwrap_or(other),
    }
}

/// Put `kind` and `apiVersion` first, as Go's TypeMeta embedding does.
fn kind_first(v: Value) -> Value {
    let Value::Object(mut map) = v else {
        return v;
    };
    let mut out = Map::with_capacity(map.len());
    for key in ["kind", "apiVersion"] {
        if let Some(val) = map.remove(key) {
            out.insert(key.to_string(), val);
        }
    }
    out.extend(map);
    Value::Object(out)
}

fn dispatch(ctx: &Ctx<'_>, m: Map<String, Value>) -> Result<Value, NormalizeError> {
    match (ctx.group, ctx.version) {
        ("", "v1") => core_v1(ctx, m),
        ("apps", "v1") => apps_v1(ctx, m),
        ("autoscaling", "v1") => match ctx.kind {
            "HorizontalPodAutoscaler" => roundtrip::<as1::HorizontalPodAutoscaler>(ctx, m),
            "Scale" => roundtrip::<as1::Scale>(ctx, m),
            _ => Err(ctx.unknown()),
        },
        ("autoscaling", "v2") => match ctx.kind {
            "HorizontalPodAutoscaler" => roundtrip::<as2::HorizontalPodAutoscaler>(ctx, m),
            _ => Err(ctx.unknown()),
        },
        ("coordination.k8s.io", "v1") if ctx.kind == "Lease" => roundtrip::<coord::Lease>(ctx, m),
        ("events.k8s.io", "v1") if ctx.kind == "Event" => roundtrip::<events::Event>(ctx, m),
        ("apiextensions.k8s.io", "v1") if ctx.kind == "CustomResourceDefinition" => {
            roundtrip::<apiext::CustomResourceDefinition>(ctx, m)
        }
        ("apiregistration.k8s.io", "v1") if ctx.kind == "APIService" => roundtrip::<apireg::APIService>(ctx, m),
        ("admissionregistration.k8s.io", "v1") => admission_v1(ctx, m),
        ("rbac.authorization.k8s.io", "v1") => rbac_v1(ctx, m),
        ("authentication.k8s.io", "v1") => authn_v1(ctx, m),
        ("authorization.k8s.io", "v1") => authz_v1(ctx, m),
        ("metrics.k8s.io", "v1beta1") if ctx.kind == "PodMetrics" => {
            roundtrip::<super::super::resource_metrics::PodMetricsObject>(ctx, m)
        }
        ("policy", "v1") => match ctx.kind {
            "PodDisruptionBudget" => roundtrip::<policy::PodDisruptionBudget>(ctx, m),
            "Eviction" => roundtrip::<policy::Eviction>(ctx, m),
            _ => Err(ctx.unknown()),
        },
        _ => Err(ctx.unknown()),
    }
}

fn core_v1(ctx: &Ctx<'_>, m: Map<String, Value>) -> Result<Value, NormalizeError> {
    match ctx.kind {
        "Namespace" => roundtrip::<core::Namespace>(ctx, m),
        "Pod" => roundtrip::<core::Pod>(ctx, m),
        "Node" => roundtrip::<core::Node>(ctx, m),
        "ConfigMap" => roundtrip::<core::ConfigMap>(ctx, m),
        "Secret" => roundtrip::<core::Secret>(ctx, m),
        "ServiceAccount" => roundtrip::<core::ServiceAccount>(ctx, m),
        "Service" => roundtrip::<core::Service>(ctx, m),
        "Endpoints" => roundtrip::<core::Endpoints>(ctx, m),
        "Event" => roundtrip::<core::Event>(ctx, m),
        "Binding" => roundtrip::<core::Binding>(ctx, m),
        _ => Err(ctx.unknown()),
    }
}

fn apps_v1(ctx: &Ctx<'_>, m: Map<String, Value>) -> Result<Value, NormalizeError> {
    match ctx.kind {
        "Deployment" => roundtrip::<apps::Deployment>(ctx, m),
        "ReplicaSet" => roundtrip::<apps::ReplicaSet>(ctx, m),
        "StatefulSet" => roundtrip::<apps::StatefulSet>(ctx, m),
        "ControllerRevision" => roundtrip::<apps::ControllerRevision>(ctx, m),
        _ => Err(ctx.unknown()),
    }
}

fn admission_v1(ctx: &Ctx<'_>, m: Map<String, Value>) -> Result<Value, NormalizeError> {
    match ctx.kind {
        "MutatingWebhookConfiguration" => roundtrip::<admreg::MutatingWebhookConfiguration>(ctx, m),
        "ValidatingWebhookConfiguration" => roundtrip::<admreg::ValidatingWebhookConfiguration>(ctx, m),
        _ => Err(ctx.unknown()),
    }
}

fn rbac_v1(ctx: &Ctx<'_>, m: Map<String, Value>) -> Result<Value, NormalizeError> {
    match ctx.kind {
        "Role" => roundtrip::<rbac::Role>(ctx, m),
        "ClusterRole" => roundtrip::<rbac::ClusterRole>(ctx, m),
        "RoleBinding" => roundtrip::<rbac::RoleBinding>(ctx, m),
        "ClusterRoleBinding" => roundtrip::<rbac::ClusterRoleBinding>(ctx, m),
        _ => Err(ctx.unknown()),
    }
}

fn authn_v1(ctx: &Ctx<'_>, m: Map<String, Value>) -> Result<Value, NormalizeError> {
    match ctx.kind {
        "TokenReview" => roundtrip::<authn::TokenReview>(ctx, m),
        "TokenRequest" => roundtrip::<authn::TokenRequest>(ctx, m),
        _ => Err(ctx.unknown()),
    }
}

fn authz_v1(ctx: &Ctx<'_>, m: Map<String, Value>) -> Result<Value, NormalizeError> {
    match ctx.kind {
        "SubjectAccessReview" => roundtrip::<authz::SubjectAccessReview>(ctx, m),
        "SelfSubjectAccessReview" => roundtrip::<authz::SelfSubjectAccessReview>(ctx, m),
        "LocalSubjectAccessReview" => roundtrip::<authz::LocalSubjectAccessReview>(ctx, m),
        "SelfSubjectRulesReview" => roundtrip::<authz::SelfSubjectRulesReview>(ctx, m),
        _ => Err(ctx.unknown()),
    }
}
