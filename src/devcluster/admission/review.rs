//! The AdmissionReview v1 kube-apiserver sends (field for field as recorded from a real v1.36 server)
//! and the checks it applies to the webhook's answer (`VerifyAdmissionResponse`).

use base64::Engine;
use serde_json::{Map, Value, json};

use super::Attributes;
use super::matching::Invocation;

/// `request` of the AdmissionReview for one webhook call.
pub fn request(attrs: &Attributes, inv: &Invocation, uid: &str, object: Option<&Value>, old: Option<&Value>) -> Value {
    let (rg, rv, rk) = &attrs.kind;
    let (g, v, k) = &inv.kind;
    let mut req = Map::new();
    req.insert("uid".into(), json!(uid));
    req.insert("kind".into(), json!({"group": g, "version": v, "kind": k}));
    req.insert(
        "resource".into(),
        json!({"group": inv.rt.group, "version": inv.rt.version, "resource": inv.rt.plural}),
    );
    if !attrs.subresource.is_empty() {
        req.insert("subResource".into(), json!(attrs.subresource));
    }
    req.insert("requestKind".into(), json!({"group": rg, "version": rv, "kind": rk}));
    req.insert(
        "requestResource".into(),
        json!({"group": attrs.rt.group, "version": attrs.rt.version, "resource": attrs.rt.plural}),
    );
    if !attrs.subresource.is_empty() {
        req.insert("requestSubResource".into(), json!(attrs.subresource));
    }
    if !attrs.name.is_empty() {
        req.insert("name".into(), json!(attrs.name));
    }
    if !attrs.namespace.is_empty() {
        req.insert("namespace".into(), json!(attrs.namespace));
    }
    req.insert("operation".into(), json!(attrs.operation));
    req.insert("userInfo".into(), user_info(attrs));
    req.insert("object".into(), object.cloned().unwrap_or(Value::Null));
    req.insert("oldObject".into(), old.cloned().unwrap_or(Value::Null));
    req.insert("dryRun".into(), json!(attrs.dry_run));
    req.insert("options".into(), attrs.options.clone());
    Value::Object(req)
}

fn user_info(attrs: &Attributes) -> Value {
    let u = &attrs.user;
    let mut out = Map::new();
    if !u.name.is_empty() {
        out.insert("username".into(), json!(u.name));
    }
    if !u.uid.is_empty() {
        out.insert("uid".into(), json!(u.uid));
    }
    if !u.groups.is_empty() {
        out.insert("groups".into(), json!(u.groups));
    }
    if !u.extra.is_empty() {
        out.insert("extra".into(), json!(u.extra));
    }
    Value::Object(out)
}

/// The whole review as sent.
pub fn review(request: Value) -> Value {
    json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": request})
}

/// A verified `response`.
#[derive(Debug, Default)]
pub struct Reply {
    pub allowed: bool,
    pub result: Value,
    /// The decoded JSONPatch bytes (empty: none).
    pub patch: Vec<u8>,
    pub warnings: Vec<String>,
}

/// A webhook answer kube-apiserver cannot use: the text after `failed calling webhook "<name>": `.
pub type CallError = String;

/// Decodes the body as client-go would, then applies `VerifyAdmissionResponse`.
pub fn verify(uid: &str, body: &[u8]) -> Result<Reply, CallError> {
    let decoded: Value = serde_json::from_slice(body)
        .map_err(|e| format!("failed to call webhook: couldn't get version/kind; json parse error: {e}"))?;
    let (api_version, kind) = (decoded["apiVersion"].as_str(), decoded["kind"].as_str());
    if kind.is_none_or(str::is_empty) {
        let text = String::from_utf8_lossy(body);
        return Err(format!("failed to call webhook: Object 'Kind' is missing in '{}'", text.trim()));
    }
    let invalid = |why: String| format!("received invalid webhook response: {why}");
    let response = &decoded["response"];
    if !response.is_object() {
        return Err(invalid("webhook response was absent".into()));
    }
    let got_uid = response["uid"].as_str().unwrap_or_default();
    if got_uid != uid {
        return Err(invalid(format!("expected response.uid={uid:?}, got {got_uid:?}")));
    }
    if api_version != Some("admission.k8s.io/v1") || kind != Some("AdmissionReview") {
        let (group, version) = api_version.unwrap_or_default().rsplit_once('/').unwrap_or(("", api_version.unwrap_or_default()));
        return Err(invalid(format!(
            "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got {group}/{version}, Kind={}",
            kind.unwrap_or_default()
        )));
    }
    let patch = match &response["patch"] {
        Value::Null => Vec::new(),
        Value::String(s) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| format!("failed to call webhook: illegal base64 data in response.patch: {e}"))?,
        other => return Err(format!("failed to call webhook: json: cannot unmarshal {} into response.patch of type []uint8", json_type(other))),
    };
    let patch_type = response["patchType"].as_str().unwrap_or_default();
    if !patch.is_empty() && patch_type.is_empty() {
        return Err(invalid("webhook returned response.patch but not response.patchType".into()));
    }
    if !patch_type.is_empty() && patch.is_empty() {
        return Err(invalid("webhook returned response.patchType but not response.patch".into()));
    }
    if !patch_type.is_empty() && patch_type != "JSONPatch" {
        return Err(invalid(format!("invalid response.patchType {patch_type:?}")));
    }
    let allowed = match &response["allowed"] {
        Value::Bool(b) => *b,
        Value::Null => false,
        other => return Err(format!("failed to call webhook: json: cannot unmarshal {} into response.allowed of type bool", json_type(other))),
    };
    let warnings = response["warnings"].as_array().into_iter().flatten().filter_map(|w| w.as_str().map(str::to_string)).collect();
    Ok(Reply { allowed, result: response["status"].clone(), patch, warnings })
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `webhookerrors.ToStatusErr`: the Status a denial becomes.
pub fn denial(webhook: &str, result: &Value) -> super::super::status::ApiError {
    use super::super::status::ApiError;
    let denied_by = format!("admission webhook {webhook:?} denied the request");
    let code = result["code"].as_u64().filter(|c| *c >= 400 && *c <= 599).unwrap_or(400) as u16;
    let message = match (result["message"].as_str(), result["reason"].as_str()) {
        (Some(m), _) if !m.is_empty() => format!("{denied_by}: {m}"),
        (_, Some(r)) if !r.is_empty() => format!("{denied_by}: {r}"),
        _ => format!("{denied_by} without explanation"),
    };
    let mut err = ApiError::new(code, reason_for(result["reason"].as_str().unwrap_or_default()), message);
    if result["details"].is_object() {
        err = err.with_details(result["details"].clone());
    }
    err
}

/// `reason` is `&'static str` in ApiError: the webhook's reason when it is one kube defines, else empty.
fn reason_for(reason: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "Unauthorized", "Forbidden", "NotFound", "AlreadyExists", "Conflict", "Gone", "Invalid", "ServerTimeout",
        "StoreReadError", "Timeout", "TooManyRequests", "BadRequest", "MethodNotAllowed", "NotAcceptable",
        "RequestEntityTooLarge", "UnsupportedMediaType", "InternalError", "Expired", "ServiceUnavailable",
    ];
    KNOWN.iter().find(|k| **k == reason).copied().unwrap_or("")
}
