//! Virtual create-only resources: TokenReview, SubjectAccessReview, SelfSubjectAccessReview,
//! LocalSubjectAccessReview, SelfSubjectRulesReview, and serviceaccounts/token (TokenRequest).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::super::auth::now_unix;
use super::super::ops::key;
use super::super::rbac::{Attributes, Decision, UserInfo};
use super::super::status::{ApiError, ApiResult};
use super::super::tokens::BoundObject;
use super::super::{Cluster, meta};
use super::{Call, body_bytes, decode_object, json};

pub fn is_review(group: &str, resource: &str) -> bool {
    matches!(
        (group, resource),
        ("authentication.k8s.io", "tokenreviews")
            | (
                "authorization.k8s.io",
                "subjectaccessreviews"
                    | "selfsubjectaccessreviews"
                    | "localsubjectaccessreviews"
                    | "selfsubjectrulesreviews"
            )
    )
}

pub async fn handle(call: Call) -> ApiResult<Response> {
    if call.info.verb != "create" {
        return Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({})", call.info.resource),
        ));
    }
    let (call, bytes) = body_bytes(call).await?;
    let mut review = decode_object(&call.headers, &bytes)?;
    let status = match call.info.resource.as_str() {
        "tokenreviews" => token_review(&call.cluster, &review["spec"]),
        "subjectaccessreviews" => access_review(&call.cluster, &spec_user(&review["spec"]), &review["spec"], None),
        "localsubjectaccessreviews" => {
            access_review(&call.cluster, &spec_user(&review["spec"]), &review["spec"], Some(&call.info.namespace))
        }
        "selfsubjectaccessreviews" => access_review(&call.cluster, &call.user, &review["spec"], None),
        _ => rules_review(&call.cluster, &call.user, &review["spec"]),
    };
    review["status"] = status;
    Ok(json(StatusCode::CREATED, &review, &[]))
}

fn token_review(c: &Cluster, spec: &Value) -> Value {
    let token = spec["token"].as_str().unwrap_or_default();
    let audiences: Vec<String> =
        spec["audiences"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_string)).collect();
    match c.authenticate_token(token, &audiences) {
        Some(u) => {
            let auds = if audiences.is_empty() {
                vec![c.tokens.openid_configuration()["issuer"].clone()]
            } else {
                audiences.iter().map(|a| json!(a)).collect()
            };
            json!({"authenticated": true, "user": {"username": u.name, "uid": u.uid, "groups": u.groups, "extra": u.extra}, "audiences": auds})
        }
        None => {
            json!({"authenticated": false, "error": "[invalid bearer token, service account token is not valid]", "user": {}})
        }
    }
}

fn spec_user(spec: &Value) -> UserInfo {
    let strs = |v: &Value| {
        v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect::<Vec<_>>()
    };
    let extra =
        spec["extra"].as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), strs(v))).collect()).unwrap_or_default();
    UserInfo {
        name: spec["user"].as_str().unwrap_or_default().into(),
        uid: spec["uid"].as_str().unwrap_or_default().into(),
        groups: strs(&spec["groups"]),
        extra,
    }
}

fn access_review(c: &Cluster, user: &UserInfo, spec: &Value, namespace: Option<&str>) -> Value {
    let attrs = match (&spec["resourceAttributes"], &spec["nonResourceAttributes"]) {
        (r, _) if r.is_object() => Attributes {
            user: user.clone(),
            verb: r["verb"].as_str().unwrap_or_default().into(),
            resource_request: true,
            api_group: r["group"].as_str().unwrap_or_default().into(),
            api_version: r["version"].as_str().unwrap_or_default().into(),
            resource: r["resource"].as_str().unwrap_or_default().into(),
            subresource: r["subresource"].as_str().unwrap_or_default().into(),
            namespace: namespace.or(r["namespace"].as_str()).unwrap_or_default().into(),
            name: r["name"].as_str().unwrap_or_default().into(),
            path: String::new(),
        },
        (_, n) => Attributes {
            user: user.clone(),
            verb: n["verb"].as_str().unwrap_or_default().into(),
            path: n["path"].as_str().unwrap_or_default().into(),
            ..Default::default()
        },
    };
    match c.decide(&attrs) {
        Decision::Allow { reason } => json!({"allowed": true, "reason": reason}),
        Decision::Deny { reason } => json!({"allowed": false, "denied": true, "reason": reason}),
        Decision::NoOpinion { reason } => json!({"allowed": false, "reason": reason}),
    }
}

fn rules_review(c: &Cluster, user: &UserInfo, spec: &Value) -> Value {
    let ns = spec["namespace"].as_str().unwrap_or_default();
    if super::super::rbac::is_superuser(user) {
        return json!({
            "resourceRules": [{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}],
            "nonResourceRules": [{"verbs":["*"],"nonResourceURLs":["*"]}],
            "incomplete": false
        });
    }
    let (resource, non_resource) = c.authorizer().rules_for(user, ns);
    json!({"resourceRules": resource, "nonResourceRules": non_resource, "incomplete": false})
}

/// serviceaccounts/{name}/token.
pub async fn token_request(call: Call) -> ApiResult<Response> {
    let (call, bytes) = body_bytes(call).await?;
    let mut req = if bytes.is_empty() { json!({}) } else { decode_object(&call.headers, &bytes)? };
    let spec = req["spec"].clone();
    let audiences: Vec<String> =
        spec["audiences"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_string)).collect();
    let expiration = spec["expirationSeconds"].as_i64().unwrap_or(3600);
    if expiration < 600 {
        return Err(ApiError::invalid(
            "TokenRequest",
            "authentication.k8s.io",
            &call.info.name,
            vec![meta::cause(
                "FieldValueInvalid",
                "spec.expirationSeconds",
                "Invalid value: expirationSeconds: may not specify a duration less than 10 minutes",
            )],
        ));
    }
    let bound = bound_object(&call.cluster, &call.info.namespace, &spec["boundObjectRef"])?;
    let (token, exp) =
        issue_token(&call.cluster, &call.info.namespace, &call.info.name, &audiences, expiration, bound.as_ref())?;
    let ts = time::OffsetDateTime::from_unix_timestamp(exp)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
    req["apiVersion"] = json!("authentication.k8s.io/v1");
    req["kind"] = json!("TokenRequest");
    req["metadata"]["name"] = json!(call.info.name);
    req["metadata"]["namespace"] = json!(call.info.namespace);
    req["spec"]["expirationSeconds"] = json!(expiration);
    req["status"] = json!({"token": token, "expirationTimestamp": ts});
    Ok(json(StatusCode::CREATED, &req, &[]))
}

fn bound_object(c: &Cluster, ns: &str, r: &Value) -> ApiResult<Option<BoundObject>> {
    let Some(kind) = r["kind"].as_str() else { return Ok(None) };
    let name = r["name"].as_str().unwrap_or_default();
    let plural = match kind {
        "Pod" => "pods",
        "Secret" => "secrets",
        other => return Err(ApiError::bad_request(format!("cannot bind token to object of type {other}"))),
    };
    let rt = c.registry.lookup("", "v1", plural).ok_or_else(|| ApiError::internal("core resources missing"))?;
    let obj = c
        .store
        .get(&rt.table, &key(&rt, ns, name))
        .ok_or_else(|| ApiError::not_found(super::super::ops::target(&rt, name)))?;
    Ok(Some(BoundObject { kind: kind.into(), name: name.into(), uid: obj.uid.clone() }))
}

/// Issues a token for an existing ServiceAccount.
pub fn issue_token(
    c: &Cluster,
    ns: &str,
    name: &str,
    audiences: &[String],
    expiration: i64,
    bound: Option<&BoundObject>,
) -> ApiResult<(String, i64)> {
    let rt =
        c.registry.lookup("", "v1", "serviceaccounts").ok_or_else(|| ApiError::internal("serviceaccounts missing"))?;
    let sa = c
        .store
        .get(&rt.table, &key(&rt, ns, name))
        .ok_or_else(|| ApiError::not_found(super::super::ops::target(&rt, name)))?;
    c.tokens
        .issue(ns, name, &sa.uid, audiences, expiration, bound, now_unix())
        .map_err(|e| ApiError::internal(e.to_string()))
}
