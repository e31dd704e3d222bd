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
    req.insert("resource".into(), json!({"group": inv.rt.group, "version": inv.rt.version, "resource": inv.rt.plural}));
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
    req.insert("object".into(), object.map(go_metadata_order).unwrap_or(Value::Null));
    req.insert("oldObject".into(), old.map(go_metadata_order).unwrap_or(Value::Null));
    req.insert("dryRun".into(), json!(attrs.dry_run));
    req.insert("options".into(), attrs.options.clone());
    Value::Object(req)
}

fn go_metadata_order(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        let mut ordered = Map::new();
        for key in crate::devcluster::schema::OBJECT_META_FIELDS {
            if let Some(v) = meta.shift_remove(*key) {
                ordered.insert((*key).to_string(), v);
            }
        }
        ordered.append(meta);
        *meta = ordered;
    }
    obj
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
        let (group, version) =
            api_version.unwrap_or_default().rsplit_once('/').unwrap_or(("", api_version.unwrap_or_default()));
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
        other => {
            return Err(format!(
                "failed to call webhook: json: cannot unmarshal {} into response.patch of type []uint8",
                json_type(other)
            ));
        }
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
        other => {
            return Err(format!(
                "failed to call webhook: json: cannot unmarshal {} into response.allowed of type bool",
                json_type(other)
            ));
        }
    };
    let warnings =
        response["warnings"].as_array().into_iter().flatten().filter_map(|w| w.as_str().map(str::to_string)).collect();
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
        "Unauthorized",
        "Forbidden",
        "NotFound",
        "AlreadyExists",
        "Conflict",
        "Gone",
        "Invalid",
        "ServerTimeout",
        "StoreReadError",
        "Timeout",
        "TooManyRequests",
        "BadRequest",
        "MethodNotAllowed",
        "NotAcceptable",
        "RequestEntityTooLarge",
        "UnsupportedMediaType",
        "InternalError",
        "Expired",
        "ServiceUnavailable",
    ];
    KNOWN.iter().find(|k| **k == reason).copied().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(response: Value) -> Vec<u8> {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn a_usable_answer_with_a_patch_and_warnings() {
        let patch = base64::engine::general_purpose::STANDARD.encode(br#"[{"op":"add","path":"/x","value":1}]"#);
        let r = verify(
            "u1",
            &answer(json!({"uid": "u1", "allowed": true, "patchType": "JSONPatch", "patch": patch, "warnings": ["w"]})),
        )
        .unwrap();
        assert!(r.allowed);
        assert_eq!(r.patch, br#"[{"op":"add","path":"/x","value":1}]"#);
        assert_eq!(r.warnings, ["w"]);
    }

    #[test]
    fn unusable_answers_say_why_in_kube_words() {
        assert!(
            verify("u", b"garbage")
                .unwrap_err()
                .starts_with("failed to call webhook: couldn't get version/kind; json parse error")
        );
        assert_eq!(
            verify("u", &answer(json!({"uid": "v", "allowed": true}))).unwrap_err(),
            r#"received invalid webhook response: expected response.uid="u", got "v""#
        );
        assert_eq!(
            verify("u", br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#).unwrap_err(),
            "received invalid webhook response: webhook response was absent"
        );
        let v1beta1 = json!({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "response": {"uid": "u", "allowed": true}});
        assert_eq!(
            verify("u", v1beta1.to_string().as_bytes()).unwrap_err(),
            "received invalid webhook response: expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got admission.k8s.io/v1beta1, Kind=AdmissionReview"
        );
        let merge = json!({"uid": "u", "allowed": true, "patchType": "MergePatch", "patch": "e30="});
        assert_eq!(
            verify("u", &answer(merge)).unwrap_err(),
            r#"received invalid webhook response: invalid response.patchType "MergePatch""#
        );
        let untyped = json!({"uid": "u", "allowed": true, "patch": "e30="});
        assert_eq!(
            verify("u", &answer(untyped)).unwrap_err(),
            "received invalid webhook response: webhook returned response.patch but not response.patchType"
        );
    }

    #[test]
    fn denials_keep_the_webhook_message_and_code() {
        let e = denial("w.example.com", &json!({"code": 403, "message": "no pods today", "reason": "Forbidden"}));
        assert_eq!((e.code, e.reason), (403, "Forbidden"));
        assert_eq!(e.message, r#"admission webhook "w.example.com" denied the request: no pods today"#);
        let e = denial("w.example.com", &json!({}));
        assert_eq!(e.code, 400);
        assert_eq!(e.message, r#"admission webhook "w.example.com" denied the request without explanation"#);
        assert!(e.to_status().get("reason").is_none());
        let e = denial("w.example.com", &json!({"code": 200, "reason": "Nope"}));
        assert_eq!(
            (e.code, e.message.as_str()),
            (400, r#"admission webhook "w.example.com" denied the request: Nope"#)
        );
    }
}
