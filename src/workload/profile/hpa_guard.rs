//! The `/hpa-autoscaling` mutating webhook (spec §10.13, §11): an UPDATE of an HPA that a DPA took
//! over (both the old and the new object carry `autoscaling.datadoghq.com/managed-by-dpa`) is
//! allowed with a JSON patch putting the old `spec` back, and a warning kubectl shows. Any other
//! request is allowed unchanged; an unreadable one, or one for another kind, is allowed with a
//! message naming the problem (an HPA is never blocked by us). Works for `autoscaling/v1` and `v2` alike: the spec is copied
//! as the review carries it, never re-encoded through a typed HPA.

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use super::MANAGED_BY_DPA_ANNOTATION;
use crate::server::AdmissionWebhook;
use crate::workload::webhook::RequestKind;

/// The HPA guard; stateless.
#[derive(Clone, Copy, Debug, Default)]
pub struct HpaGuard;

impl AdmissionWebhook for HpaGuard {
    fn review(&self, body: &[u8]) -> Vec<u8> {
        review(body)
    }
}

#[derive(Deserialize, Default)]
struct Envelope<'a> {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default, borrow)]
    request: Option<Request<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, borrow)]
    kind: Option<RequestKind<'a>>,
    #[serde(default)]
    object: Option<Value>,
    #[serde(default)]
    old_object: Option<Value>,
}

/// The warning shown when a change is reverted (the DCA's text).
pub fn warning(namespace: &str, name: &str, dpa: &str) -> String {
    format!(
        "HPA {namespace}/{name} is managed by DatadogPodAutoscaler {dpa} and cannot be modified directly. \
         Your change has been reverted. If you no longer need the HPA, you can safely delete it."
    )
}

/// Answers one AdmissionReview with the response review's bytes.
pub fn review(body: &[u8]) -> Vec<u8> {
    let (envelope, problem) = match serde_json::from_slice::<Envelope>(body) {
        Ok(e) => (e, None),
        Err(e) => (Envelope::default(), Some(format!("unreadable AdmissionReview for /hpa-autoscaling: {e}"))),
    };
    let api_version = envelope.api_version.clone().filter(|v| v == "admission.k8s.io/v1beta1");
    let api_version = api_version.as_deref().unwrap_or("admission.k8s.io/v1");
    let request = envelope.request.unwrap_or_default();
    let uid = request.uid.clone().unwrap_or_default();
    let response = match problem.map(Err).unwrap_or_else(|| revert(&request)) {
        Ok(None) => json!({"uid": uid, "allowed": true}),
        Ok(Some((patch, warning))) => {
            let patch = base64::engine::general_purpose::STANDARD.encode(patch.to_string());
            json!({"uid": uid, "allowed": true, "patchType": "JSONPatch", "patch": patch, "warnings": [warning]})
        }
        Err(message) => {
            tracing::warn!(%uid, error = %message, "HPA update not guarded");
            json!({"uid": uid, "allowed": true, "status": {"message": message}})
        }
    };
    let out = json!({"apiVersion": api_version, "kind": "AdmissionReview", "response": response});
    serde_json::to_vec(&out).unwrap_or_default()
}

fn managed_by(obj: &Value) -> Option<&str> {
    obj.pointer("/metadata/annotations")?.get(MANAGED_BY_DPA_ANNOTATION)?.as_str().filter(|v| !v.is_empty())
}

/// The patch and warning reverting a managed HPA's spec, `None` when the update is not guarded.
fn revert(request: &Request) -> Result<Option<(Value, String)>, String> {
    if request.operation.as_deref().is_some_and(|op| op != "UPDATE") {
        return Ok(None);
    }
    if let Some(kind) = request.kind.as_ref().filter(|k| !k.is("autoscaling", "HorizontalPodAutoscaler")) {
        return Err(format!("AdmissionReview for {}: /hpa-autoscaling guards only HPAs", kind.describe()));
    }
    let object = request.object.as_ref().filter(|o| o.is_object());
    let Some(object) = object else {
        return Err("AdmissionReview for /hpa-autoscaling without request.object".into());
    };
    let name = request.name.clone().or_else(|| object.pointer("/metadata/name")?.as_str().map(str::to_string));
    let namespace =
        request.namespace.clone().or_else(|| object.pointer("/metadata/namespace")?.as_str().map(str::to_string));
    let (name, namespace) = (name.unwrap_or_default(), namespace.unwrap_or_default());
    let Some(dpa) = managed_by(object) else { return Ok(None) };
    let Some(old) = request.old_object.as_ref().filter(|o| o.is_object()) else {
        return Err(format!("HPA {namespace}/{name}: UPDATE review without request.oldObject; not guarded"));
    };
    if managed_by(old).is_none() {
        return Ok(None);
    }
    let Some(old_spec) = old.get("spec").filter(|s| s.is_object()) else {
        return Err(format!("HPA {namespace}/{name}: the old object has no spec to restore"));
    };
    if object.get("spec") == Some(old_spec) {
        return Ok(None);
    }
    let patch = json!([{"op": "replace", "path": "/spec", "value": old_spec}]);
    Ok(Some((patch, warning(&namespace, &name, dpa))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hpa(max: i64, managed: bool) -> Value {
        let mut h = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "prod"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1, "maxReplicas": max,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 50}}}]}});
        if managed {
            h["metadata"]["annotations"] = json!({MANAGED_BY_DPA_ANNOTATION: "prod/web-dpa"});
        }
        h
    }

    fn ask(op: &str, object: Value, old: Value) -> Value {
        let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-1", "operation": op, "namespace": "prod", "name": "web",
                "kind": {"group": "autoscaling", "version": "v2", "kind": "HorizontalPodAutoscaler"},
                "object": object, "oldObject": old}});
        serde_json::from_slice(&review(body.to_string().as_bytes())).unwrap()
    }

    fn patch_of(answer: &Value) -> Value {
        let b64 = answer["response"]["patch"].as_str().unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap()
    }

    #[test]
    fn a_managed_hpa_edit_is_reverted_with_a_warning() {
        let answer = ask("UPDATE", hpa(5, true), hpa(1000, true));
        let r = &answer["response"];
        assert_eq!(r["uid"], "u-1");
        assert_eq!(r["allowed"], true);
        assert_eq!(r["patchType"], "JSONPatch");
        assert_eq!(
            r["warnings"],
            json!(["HPA prod/web is managed by DatadogPodAutoscaler prod/web-dpa and cannot be modified directly. \
                 Your change has been reverted. If you no longer need the HPA, you can safely delete it."])
        );
        let patch = patch_of(&answer);
        assert_eq!(patch, json!([{"op": "replace", "path": "/spec", "value": hpa(1000, true)["spec"]}]));
        let mut edited = hpa(5, true);
        json_patch::patch(&mut edited, &serde_json::from_value::<json_patch::Patch>(patch).unwrap()).unwrap();
        assert_eq!(edited["spec"], hpa(1000, true)["spec"]);
    }

    #[test]
    fn other_updates_pass_unchanged() {
        for (object, old) in
            [(hpa(5, false), hpa(1000, false)), (hpa(5, true), hpa(1000, false)), (hpa(5, false), hpa(1000, true))]
        {
            let r = ask("UPDATE", object, old)["response"].clone();
            assert_eq!(r, json!({"uid": "u-1", "allowed": true}));
        }
        // Metadata-only edits of a managed HPA need no revert.
        assert_eq!(ask("UPDATE", hpa(1000, true), hpa(1000, true))["response"], json!({"uid": "u-1", "allowed": true}));
        assert_eq!(ask("CREATE", hpa(5, true), Value::Null)["response"], json!({"uid": "u-1", "allowed": true}));
    }

    #[test]
    fn autoscaling_v1_specs_are_restored_verbatim() {
        let v1 = |target: i64| {
            json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "web", "namespace": "prod", "annotations": {MANAGED_BY_DPA_ANNOTATION: "prod/d"}},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
                    "targetCPUUtilizationPercentage": target}})
        };
        let answer = ask("UPDATE", v1(80), v1(50));
        assert_eq!(patch_of(&answer)[0]["value"]["targetCPUUtilizationPercentage"], 50);
    }

    #[test]
    fn garbage_gets_an_answer_naming_the_problem() {
        let r: Value = serde_json::from_slice(&review(b"{not json")).unwrap();
        assert_eq!(r["response"]["allowed"], true);
        let message = r["response"]["status"]["message"].as_str().unwrap();
        assert!(message.starts_with("unreadable AdmissionReview for /hpa-autoscaling"), "{message}");

        let r = ask("UPDATE", json!("text"), hpa(1, true));
        assert!(r["response"]["status"]["message"].as_str().unwrap().contains("without request.object"));
        let r = ask("UPDATE", hpa(5, true), Value::Null);
        assert_eq!(
            r["response"]["status"]["message"],
            "HPA prod/web: UPDATE review without request.oldObject; not guarded"
        );
        let mut old = hpa(1, true);
        old["spec"] = json!(7);
        let r = ask("UPDATE", hpa(5, true), old);
        assert_eq!(r["response"]["status"]["message"], "HPA prod/web: the old object has no spec to restore");
        let r: Value = serde_json::from_slice(&review(br#"{"request": {"uid": 5}}"#)).unwrap();
        assert_eq!(r["response"]["allowed"], true);
    }

    #[test]
    fn other_kinds_missing_requests_and_odd_values_are_never_patched() {
        let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-2", "operation": "UPDATE", "namespace": "prod", "name": "web",
                "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                "object": hpa(5, true), "oldObject": hpa(1000, true)}});
        let r: Value = serde_json::from_slice(&review(body.to_string().as_bytes())).unwrap();
        assert_eq!(
            r["response"],
            json!({"uid": "u-2", "allowed": true,
                "status": {"message": "AdmissionReview for apps/v1 Deployment: /hpa-autoscaling guards only HPAs"}})
        );
        for body in [
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}),
            json!({"kind": "AdmissionReview", "request": null}),
            json!([1, 2, 3]),
            json!("AdmissionReview"),
        ] {
            let r: Value = serde_json::from_slice(&review(body.to_string().as_bytes())).unwrap();
            assert_eq!(r["kind"], "AdmissionReview", "{body}");
            assert_eq!(r["response"]["allowed"], true, "{body}");
            assert!(r["response"].get("patch").is_none(), "{body}");
        }
        // Annotations that are not strings, a managed-by value that is not a DPA name.
        let mut odd = hpa(5, true);
        odd["metadata"]["annotations"] = json!({MANAGED_BY_DPA_ANNOTATION: 42});
        assert_eq!(ask("UPDATE", odd, hpa(1000, true))["response"], json!({"uid": "u-1", "allowed": true}));
        let mut empty = hpa(5, true);
        empty["metadata"]["annotations"] = json!({MANAGED_BY_DPA_ANNOTATION: ""});
        assert_eq!(ask("UPDATE", empty, hpa(1000, true))["response"], json!({"uid": "u-1", "allowed": true}));
    }
}
