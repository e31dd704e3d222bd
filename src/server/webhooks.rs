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
