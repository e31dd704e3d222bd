//! Admission webhooks on the secure port (`/autoscaling`, …): POSTed AdmissionReviews answered by
//! an [`AdmissionWebhook`]. kube-apiserver calls webhooks without client credentials, so these
//! routes sit outside the authentication gate (as the DCA serves them on its own listener).

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;

/// The largest AdmissionReview accepted (kube-apiserver's own request limit is 3 MiB).
const MAX_REVIEW_BYTES: usize = 6 * 1024 * 1024;

/// Answers one AdmissionReview from in-memory state.
pub trait AdmissionWebhook: Send + Sync {
    /// The response AdmissionReview for the request AdmissionReview `body`.
    fn review(&self, body: &[u8]) -> Vec<u8>;
}

/// Webhooks by path (`/autoscaling`).
#[derive(Default, Clone)]
pub struct Webhooks {
    routes: Vec<(String, Arc<dyn AdmissionWebhook>)>,
}

impl Webhooks {
    pub fn with(mut self, path: &str, webhook: Arc<dyn AdmissionWebhook>) -> Self {
        self.routes.push((path.to_string(), webhook));
        self
    }

    /// The webhook served at `path`, if any.
    pub fn find(&self, path: &str) -> Option<Arc<dyn AdmissionWebhook>> {
        self.routes.iter().find(|(p, _)| p == path).map(|(_, w)| w.clone())
    }
}

/// One AdmissionReview POST: the body (at most [`MAX_REVIEW_BYTES`], else 413) to `webhook`.
pub async fn respond(webhook: &dyn AdmissionWebhook, body: axum::body::Body) -> axum::response::Response {
    match axum::body::to_bytes(body, MAX_REVIEW_BYTES).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], webhook.review(&bytes)).into_response(),
        Err(e) => (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!("cannot read the AdmissionReview (limit {MAX_REVIEW_BYTES} bytes): {e}"),
        )
            .into_response(),
    }
}

/// Answers every AdmissionReview "allowed, no patch", reading only its `apiVersion` and
/// `request.uid`: what a webhook path answers while its feature is off (autoscaling disabled, or
/// a handler not built). kube-apiserver then sees a normal answer — with `failurePolicy: Ignore`
/// an error would be ignored too, but each one is logged, counted as a failed-open call and costs
/// an anonymous authorization round trip behind our authentication gate.
pub struct AllowUnchanged;

#[derive(serde::Deserialize, Default)]
struct Envelope {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default)]
    request: Option<EnvelopeRequest>,
}

#[derive(serde::Deserialize, Default)]
struct EnvelopeRequest {
    #[serde(default)]
    uid: Option<String>,
}

impl AdmissionWebhook for AllowUnchanged {
    fn review(&self, body: &[u8]) -> Vec<u8> {
        let envelope: Envelope = serde_json::from_slice(body).unwrap_or_default();
        let api_version = envelope.api_version.filter(|v| v == "admission.k8s.io/v1beta1");
        let api_version = api_version.as_deref().unwrap_or("admission.k8s.io/v1");
        let uid = envelope.request.and_then(|r| r.uid).unwrap_or_default();
        let out = serde_json::json!({"apiVersion": api_version, "kind": "AdmissionReview",
            "response": {"uid": uid, "allowed": true}});
        serde_json::to_vec(&out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_unchanged_echoes_the_uid_and_never_patches() {
        let body = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
            "request":{"uid":"u-1","object":{"metadata":{"name":"p"}}}}"#;
        let out: serde_json::Value = serde_json::from_slice(&AllowUnchanged.review(body)).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "response": {"uid": "u-1", "allowed": true}})
        );
        let v1beta1 = br#"{"apiVersion":"admission.k8s.io/v1beta1","request":{"uid":"u-2"}}"#;
        let out: serde_json::Value = serde_json::from_slice(&AllowUnchanged.review(v1beta1)).unwrap();
        assert_eq!(out["apiVersion"], "admission.k8s.io/v1beta1");
        assert_eq!(out["response"]["uid"], "u-2");
        let garbage: serde_json::Value = serde_json::from_slice(&AllowUnchanged.review(b"\xff{not json")).unwrap();
        assert_eq!(garbage["response"], serde_json::json!({"uid": "", "allowed": true}));
    }
}
