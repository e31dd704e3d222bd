//! Retries of review calls, like the Go webhook clients' `WebhookRetryBackoff` (shorter here: a
//! request is waiting).

use std::future::Future;
use std::time::Duration;

const ATTEMPTS: u32 = 3;
const FIRST_DELAY: Duration = Duration::from_millis(100);

/// Runs `call` until it succeeds, fails permanently, or three attempts were made.
pub(super) async fn with_retry<T, F, Fut>(mut call: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut delay = FIRST_DELAY;
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if attempt < ATTEMPTS && transient(&e) => {
                tracing::debug!(error = %e, attempt, "review call failed, retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Server-side trouble and throttling are worth retrying; 4xx answers are not.
fn transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => status.code == 429 || status.code >= 500,
        _ => true,
    }
}

/// Creates a review object (TokenReview, SubjectAccessReview) with retries; a failure names the
/// call and the RBAC the server needs for it.
pub(super) async fn create_review<K>(
    client: &kube::Client,
    call: &'static str,
    request: &K,
) -> Result<K, super::AuthError>
where
    K: kube::Resource<Scope = k8s_openapi::ClusterResourceScope>
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Clone
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: kube::Api<K> = kube::Api::all(client.clone());
    with_retry(|| {
        let params = kube::api::PostParams::default();
        let api = &api;
        async move { api.create(&params, request).await }
    })
    .await
    .map_err(|e| super::AuthError::Api {
        call,
        reason: format!("{e} (the ServiceAccount needs the system:auth-delegator ClusterRole)"),
    })
}
