//! Admission webhooks on the secure port (`/autoscaling`, …): POSTed AdmissionReviews answered by
//! an [`AdmissionWebhook`]. kube-apiserver calls webhooks without client credentials, so these
//! routes sit outside the authentication gate (as the DCA serves them on its own listener).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;

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

    pub fn router(&self) -> Router {
        let mut router = Router::new();
        for (path, webhook) in &self.routes {
            let webhook = webhook.clone();
            router = router.route(
                path,
                post(move |body: Bytes| {
                    let webhook = webhook.clone();
                    async move { ([(header::CONTENT_TYPE, "application/json")], webhook.review(&body)).into_response() }
                }),
            );
        }
        router.layer(DefaultBodyLimit::max(MAX_REVIEW_BYTES))
    }
}
