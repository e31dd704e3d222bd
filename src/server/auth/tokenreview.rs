//! TokenReview (authentication.k8s.io/v1): kube-apiserver decides about tokens we cannot verify
//! ourselves, as Go's `webhooktoken` authenticator does.

use k8s_openapi::api::authentication::v1::{TokenReview, TokenReviewSpec, TokenReviewStatus};

use super::retry::create_review;
use super::{AuthError, UserInfo};

/// `Ok(Err(reason))` is a definite "not authenticated"; `Err` means no answer was had.
pub(super) async fn review(
    client: &kube::Client,
    token: &str,
    audiences: &[String],
) -> Result<Result<UserInfo, String>, AuthError> {
    let response = create_review(client, "TokenReview", &review_request(token, audiences)).await?;
    Ok(outcome(response.status.unwrap_or_default(), audiences))
}

fn review_request(token: &str, audiences: &[String]) -> TokenReview {
    TokenReview {
        spec: TokenReviewSpec {
            token: Some(token.to_string()),
            audiences: (!audiences.is_empty()).then(|| audiences.to_vec()),
        },
        ..Default::default()
    }
}

/// Go's `WebhookTokenAuthenticator.AuthenticateToken`, including its audience intersection.
fn outcome(status: TokenReviewStatus, audiences: &[String]) -> Result<UserInfo, String> {
    if status.authenticated != Some(true) {
        return Err(status.error.filter(|e| !e.is_empty()).unwrap_or_else(|| "token not authenticated".into()));
    }
    if !audiences.is_empty() {
        let granted = status.audiences.unwrap_or_default();
        if !granted.iter().any(|a| audiences.contains(a)) {
            return Err(format!("token audiences {granted:?} is invalid for the target audiences {audiences:?}"));
        }
    }
    let user = status.user.unwrap_or_default();
    Ok(UserInfo {
        name: user.username.unwrap_or_default(),
        uid: user.uid.unwrap_or_default(),
        groups: user.groups.unwrap_or_default(),
        extra: user.extra.unwrap_or_default().into_iter().collect(),
    })
}
