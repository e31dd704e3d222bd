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
