//! The `/autoscaling` mutating webhook (spec §10.10): pods CREATE → the DPA targeting the pod's
//! workload → a JSON patch with the `autoscaler-id` annotation and, when the DPA has a vertical
//! recommendation and its update strategy is not `Disabled`, the `rec-id` annotation and the
//! recommended requests/limits (and `GOMEMLIMIT`).
//!
//! It answers from memory only. Until the autoscaling stack has started (gate closed) it answers
//! "allowed, no patch" after reading nothing but the request uid. Every failure also answers
//! "allowed", with a message naming the problem, as the DCA does: a pod is never blocked by us.
//! Reviews of anything but a pod CREATE (another kind, an UPDATE, no request or object) are
//! answered so too, never patched; so is a pod owned directly by a Deployment (spec §10.10).

mod patch;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::dpa_store::{DpaEntry, DpaStore, TargetRef};
use super::gate::AutoscalingGate;
use super::owner;
use crate::server::AdmissionWebhook;
pub(crate) use patch::Applied;
use patch::{Op, PodView, Text};

/// What the webhook reads: the gate and the DPA store.
pub struct WebhookState {
    pub gate: Arc<AutoscalingGate>,
    pub dpas: Arc<DpaStore>,
}

impl AdmissionWebhook for WebhookState {
    fn review(&self, body: &[u8]) -> Vec<u8> {
        review(body, self)
    }
}

/// The smallest read of an AdmissionReview: its apiVersion and the request uid (what is read
/// while the gate is closed, and of a review the full read rejects).
#[derive(Deserialize, Default)]
struct Envelope<'a> {
    #[serde(rename = "apiVersion", default, borrow)]
    api_version: Option<Text<'a>>,
    #[serde(default, borrow)]
    request: Option<EnvelopeRequest<'a>>,
}

#[derive(Deserialize, Default)]
struct EnvelopeRequest<'a> {
    #[serde(default, borrow)]
    uid: Option<Text<'a>>,
}

/// The whole review, read once: the envelope's fields and the request with the pod decoded
/// (strings borrowed from the body).
#[derive(Deserialize)]
struct Review<'a> {
    #[serde(rename = "apiVersion", default, borrow)]
    api_version: Option<Text<'a>>,
    #[serde(default, borrow)]
    request: Option<ReviewRequest<'a>>,
}

#[derive(Deserialize)]
struct ReviewRequest<'a> {
    #[serde(default, borrow)]
    uid: Option<Text<'a>>,
    #[serde(default, borrow)]
    namespace: Option<Text<'a>>,
    #[serde(default, borrow)]
    operation: Option<Text<'a>>,
    #[serde(default, borrow)]
    kind: Option<RequestKind<'a>>,
    #[serde(default, borrow)]
    object: Option<PodView<'a>>,
}

/// `request.kind`: the kind of the object under review.
#[derive(Deserialize, Default)]
pub(crate) struct RequestKind<'a> {
    #[serde(default, borrow)]
    group: Text<'a>,
    #[serde(default, borrow)]
    version: Text<'a>,
    #[serde(default, borrow)]
    kind: Text<'a>,
}

impl RequestKind<'_> {
    pub(crate) fn is(&self, group: &str, kind: &str) -> bool {
        *self.group == *group && *self.kind == *kind
    }

    /// `apps/v1 Deployment`, `v1 Pod`.
    pub(crate) fn describe(&self) -> String {
        match &*self.group {
            "" => format!("{} {}", &*self.version, &*self.kind),
            group => format!("{group}/{} {}", &*self.version, &*self.kind),
        }
    }
}

/// The response review kube-apiserver reads, serialized straight from borrowed parts.
#[derive(Serialize)]
struct ResponseReview<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'static str,
    response: Response<'a>,
}

#[derive(Serialize)]
struct Response<'a> {
    uid: &'a str,
    allowed: bool,
    #[serde(rename = "patchType", skip_serializing_if = "Option::is_none")]
    patch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status<'a>>,
}

#[derive(Serialize)]
struct Status<'a> {
    message: Cow<'a, str>,
}

/// Answers one AdmissionReview (the body kube-apiserver POSTs) with the response review's bytes.
/// With the gate open the review is decoded once; only a review that decoding rejects is read
/// again, for its uid.
pub fn review(body: &[u8], state: &WebhookState) -> Vec<u8> {
    if !state.gate.is_open() {
        let envelope: Envelope = serde_json::from_slice(body).unwrap_or_default();
        let uid = envelope.request.and_then(|r| r.uid);
        return answer(envelope.api_version.as_deref(), uid.as_deref().unwrap_or_default(), Ok(None));
    }
    match serde_json::from_slice::<Review>(body) {
        Ok(review) => {
            let (api_version, mut request) = (review.api_version, review.request);
            let uid = request.as_mut().and_then(|r| r.uid.take());
            let found = autoscaler_for(request, &state.dpas);
            let outcome = match &found {
                Ok(Some((pod, dpa))) => {
                    let applied = dpa.webhook.get_or_init(|| patch::Applied::of(dpa));
                    Ok(Some(patch::operations(pod, applied)))
                }
                Ok(None) => Ok(None),
                Err(message) => Err(Cow::Borrowed(message.as_str())),
            };
            answer(api_version.as_deref(), uid.as_deref().unwrap_or_default(), outcome)
        }
        Err(e) => {
            let envelope: Envelope = serde_json::from_slice(body).unwrap_or_default();
            let uid = envelope.request.and_then(|r| r.uid);
            let outcome = Err(Cow::Owned(format!("AdmissionReview with an unreadable pod: {e}")));
            answer(envelope.api_version.as_deref(), uid.as_deref().unwrap_or_default(), outcome)
        }
    }
}

/// The response review for `outcome`: allowed always; the JSON patch when there is one, the
/// problem as the status message when there is one. Answers in the request's apiVersion
/// (`admission.k8s.io/v1beta1` or, for anything else, v1).
fn answer(api_version: Option<&str>, uid: &str, outcome: Result<Option<Vec<Op>>, Cow<str>>) -> Vec<u8> {
    let api_version = api_version.filter(|v| *v == "admission.k8s.io/v1beta1").unwrap_or("admission.k8s.io/v1");
    let mut response = Response { uid, allowed: true, patch_type: None, patch: None, status: None };
    match outcome {
        Ok(None) => {}
        Ok(Some(ops)) => match serde_json::to_vec(&ops) {
            Ok(json) => {
                response.patch_type = Some("JSONPatch");
                response.patch = Some(base64::engine::general_purpose::STANDARD.encode(json));
            }
            Err(e) => response.status = Some(Status { message: format!("JSON patch not encoded: {e}").into() }),
        },
        Err(message) => {
            tracing::warn!(%uid, error = %message, "pod not patched");
            response.status = Some(Status { message });
        }
    }
    let out = ResponseReview { api_version, kind: "AdmissionReview", response };
    serde_json::to_vec(&out).unwrap_or_default()
}

/// The pod under review and the DPA whose patch it gets, or None when no DPA applies.
fn autoscaler_for<'a>(
    request: Option<ReviewRequest<'a>>,
    dpas: &DpaStore,
) -> Result<Option<(PodView<'a>, Arc<DpaEntry>)>, String> {
    let request = request.ok_or("AdmissionReview without a request: nothing to patch")?;
    if let Some(kind) = request.kind.as_ref().filter(|k| !k.is("", "Pod")) {
        return Err(format!("AdmissionReview for {}: /autoscaling patches only pods", kind.describe()));
    }
    if let Some(operation) = request.operation.as_deref().filter(|op| *op != "CREATE") {
        return Err(format!("AdmissionReview for a pod {operation}: /autoscaling patches pods only on CREATE"));
    }
    let pod = request.object.ok_or("AdmissionReview for a pod CREATE without request.object: nothing to patch")?;
    let namespace = request.namespace.filter(|n| !n.is_empty()).or_else(|| pod.metadata.namespace.clone());
    let Some(namespace) = namespace else {
        return Err(format!("pod {} has no namespace", pod.display_name()));
    };
    let dpa = autoscaler_of(&pod, &namespace, dpas)?;
    Ok(dpa.map(|dpa| (pod, dpa)))
}

/// The single non-Preview DPA whose target owns the pod.
fn autoscaler_of(pod: &PodView, namespace: &str, dpas: &DpaStore) -> Result<Option<Arc<DpaEntry>>, String> {
    let Some(first) = pod.metadata.owner_references.first() else {
        return Ok(None);
    };
    if *first.kind == *"Deployment" {
        // Deployments own ReplicaSets, never pods: a pod claiming one is not one of its replicas.
        return Err(format!(
            "pod {} is owned directly by Deployment {namespace}/{}: not a pod of its ReplicaSets, not patching",
            pod.display_name(),
            &*first.name
        ));
    }
    let labels = &pod.metadata.labels;
    let (api_version, kind, name) =
        owner::resolve_ref(&first.api_version, &first.kind, &first.name, |k| labels.get(k).map(|v| &**v));
    let target = TargetRef { namespace, api_version, kind, name };
    let mut candidates = dpas.for_target_ref(&target);
    candidates.retain(|d| d.mode != super::crd::ApplyPolicyMode::Preview);
    match candidates.len() {
        0 | 1 => Ok(candidates.pop()),
        _ => {
            let ids: Vec<String> = candidates.iter().map(|d| d.id()).collect();
            Err(format!(
                "pod {} of {target}: several autoscalers target it ({}), not patching",
                pod.display_name(),
                ids.join(", ")
            ))
        }
    }
}
