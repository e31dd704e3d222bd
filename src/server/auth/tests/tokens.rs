//! Bearer tokens: ServiceAccount JWTs verified locally against the cluster's JWKS, everything else
//! through TokenReview; results cached.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, DeleteParams};

use super::super::{AuthConfigWatch, AuthError, Authenticated, Authenticator, AuthnOptions, CacheStats, PeerIdentity};
use super::support::devcluster::tokens::TokenIssuer;
use super::support::devcluster::{DevCluster, RequestFault};
use super::support::{admin, authenticator, bearer, cluster, fail_requests, front_proxy_config, service_account};

const SA_USER: &str = "system:serviceaccount:default:hpa";

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

async fn token_user(authn: &Authenticator, token: &str) -> Result<super::super::UserInfo, AuthError> {
    match authn.authenticate(&PeerIdentity::default(), &bearer(token)).await? {
        Authenticated::User(user) => Ok(user),
        Authenticated::Anonymous => panic!("a bearer token never authenticates as anonymous"),
    }
}

#[tokio::test]
async fn service_account_jwts_are_verified_locally_without_token_review() {
    let dc = cluster().await;
    service_account(&dc, "default", "hpa").await;
    let token = dc.service_account_token("default", "hpa", &[]).unwrap();
    fail_requests(&dc, "tokenreviews");
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    assert!(authn.prefetch_service_account_keys().await);

    let user = token_user(&authn, &token).await.unwrap();
    assert_eq!(user.name, SA_USER);
    assert_eq!(user.groups, ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]);
    assert!(!user.uid.is_empty());
    let credential = &user.extra["authentication.kubernetes.io/credential-id"];
    assert!(credential[0].starts_with("JTI="), "{credential:?}");
    // TokenReview answers 500: a non-JWT token proves the path really is broken.
    let err = token_user(&authn, "opaque-token").await.unwrap_err();
    assert!(matches!(err, AuthError::Api { call: "TokenReview", .. }), "{err:?}");
    assert_eq!(err.status_code(), 401);

    assert_eq!(token_user(&authn, &token).await.unwrap(), user);
    assert_eq!(authn.cache_stats(), CacheStats { hits: 1, misses: 2 });
    dc.shutdown().await;
}

#[tokio::test]
async fn a_changed_signature_is_rejected_locally() {
    let dc = cluster().await;
    service_account(&dc, "default", "hpa").await;
    let token = dc.service_account_token("default", "hpa", &[]).unwrap();
    fail_requests(&dc, "tokenreviews");
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let forged = format!("{signed}.{flipped}{}", &signature[1..]);
    assert_eq!(token_user(&authn, &forged).await.unwrap_err(), AuthError::InvalidToken("invalid signature".into()));
    dc.shutdown().await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_rejected() {
    let dc = cluster().await;
    service_account(&dc, "default", "hpa").await;
    let token = dc.service_account_token("default", "hpa", &["vault".into()]).unwrap();
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let err = token_user(&authn, &token).await.unwrap_err();
    let expected = format!("token audiences [\"vault\"] is invalid for the target audiences [\"{}\"]", dc.url());
    assert_eq!(err, AuthError::InvalidToken(expected));

    let for_vault = authenticator(&dc, AuthnOptions { audiences: vec!["vault".into()], ..Default::default() }).await;
    assert_eq!(token_user(&for_vault, &token).await.unwrap().name, SA_USER);
    dc.shutdown().await;
}

#[tokio::test]
async fn a_token_signed_by_another_key_goes_to_token_review_and_fails() {
    let dc = cluster().await;
    service_account(&dc, "default", "hpa").await;
    let impostor = TokenIssuer::new(&dc.url()).unwrap();
    let (token, _) = impostor.issue("default", "hpa", "uid", &[], 3600, None, now()).unwrap();
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let err = token_user(&authn, &token).await.unwrap_err();
    assert_eq!(err, AuthError::InvalidToken("[invalid bearer token, service account token is not valid]".into()));
    assert_eq!(err.status_code(), 401);
    dc.shutdown().await;
}

#[tokio::test]
async fn opaque_tokens_go_to_token_review() {
    let dc = cluster().await;
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let err = token_user(&authn, "not-a-jwt").await.unwrap_err();
    assert_eq!(err, AuthError::InvalidToken("[invalid bearer token, service account token is not valid]".into()));
    assert_eq!(err.status_code(), 401);

    let user = token_user(&authn, dc.admin_token()).await.unwrap();
    assert_eq!(user.name, "kubernetes-admin");
    assert_eq!(user.groups, ["system:masters", "system:authenticated"]);
    // Cached: TokenReview now failing does not matter for 10 s.
    fail_requests(&dc, "tokenreviews");
    assert_eq!(token_user(&authn, dc.admin_token()).await.unwrap(), user);
    assert_eq!(authn.cache_stats(), CacheStats { hits: 1, misses: 2 });
    dc.shutdown().await;
}

#[tokio::test]
async fn token_review_sees_revocation_that_local_verification_cannot() {
    let dc = cluster().await;
    service_account(&dc, "default", "hpa").await;
    let token = dc.service_account_token("default", "hpa", &[]).unwrap();
    let ttl = Duration::from_millis(200);
    let reviewed =
        AuthnOptions { verify_service_account_tokens_locally: false, positive_ttl: ttl, ..Default::default() };
    let reviewed = authenticator(&dc, reviewed).await;
    let local = authenticator(&dc, AuthnOptions { positive_ttl: ttl, ..Default::default() }).await;
    assert_eq!(token_user(&reviewed, &token).await.unwrap().name, SA_USER);
    assert_eq!(token_user(&local, &token).await.unwrap().name, SA_USER);

    let sas: Api<ServiceAccount> = Api::namespaced(admin(&dc).await, "default");
    sas.delete("hpa", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(ttl * 2).await;

    let err = token_user(&reviewed, &token).await.unwrap_err();
    assert_eq!(err, AuthError::InvalidToken("[invalid bearer token, service account token is not valid]".into()));
    // The documented tradeoff: the signature is still good, so local verification accepts the
    // token until it expires.
    assert_eq!(token_user(&local, &token).await.unwrap().name, SA_USER);
    dc.shutdown().await;
}

/// An authenticator whose JWKS is `issuer`'s (a key we hold, so we can sign any claims).
async fn with_own_key(dc: &DevCluster, issuer: &TokenIssuer) -> Authenticator {
    let jwks = issuer.jwks().to_string();
    let watch = AuthConfigWatch::fixed(front_proxy_config());
    Authenticator::with_jwks(admin(dc).await, watch, AuthnOptions::default(), issuer.issuer(), &jwks).unwrap()
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_rejected_with_kubes_leeway() {
    let dc = cluster().await;
    fail_requests(&dc, "tokenreviews");
    let issuer = TokenIssuer::new("https://issuer.example").unwrap();
    let authn = with_own_key(&dc, &issuer).await;
    let sign = |issued_at: i64| issuer.issue("ns", "sa", "uid-1", &[], 3600, None, issued_at).unwrap().0;

    let user = token_user(&authn, &sign(now())).await.unwrap();
    assert_eq!(user.name, "system:serviceaccount:ns:sa");
    assert_eq!(user.uid, "uid-1");
    // Expired 30 s ago: inside the 60 s leeway.
    assert_eq!(token_user(&authn, &sign(now() - 3630)).await.unwrap().name, "system:serviceaccount:ns:sa");
    let expired = token_user(&authn, &sign(now() - 3700)).await.unwrap_err();
    assert_eq!(expired, AuthError::InvalidToken("service account token has expired".into()));
    let early = token_user(&authn, &sign(now() + 600)).await.unwrap_err();
    assert_eq!(early, AuthError::InvalidToken("service account token is not valid yet".into()));
    dc.shutdown().await;
}

#[tokio::test]
async fn an_accepted_token_is_not_cached_past_its_expiry() {
    let dc = cluster().await;
    fail_requests(&dc, "tokenreviews");
    let issuer = TokenIssuer::new("https://issuer.example").unwrap();
    let authn = with_own_key(&dc, &issuer).await;
    // exp is 50 s ago (accepted thanks to the leeway): the result must not be cached at all.
    let (token, _) = issuer.issue("ns", "sa", "uid-1", &[], 3600, None, now() - 3650).unwrap();
    token_user(&authn, &token).await.unwrap();
    token_user(&authn, &token).await.unwrap();
    assert_eq!(authn.cache_stats(), CacheStats { hits: 0, misses: 2 });
    dc.shutdown().await;
}

#[tokio::test]
async fn malformed_authorization_headers_are_no_token() {
    let dc = cluster().await;
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    for value in ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "token"] {
        let headers = super::support::headers(&[("authorization", value)]);
        let got = authn.authenticate(&PeerIdentity::default(), &headers).await.unwrap();
        assert_eq!(got, Authenticated::Anonymous, "{value:?}");
    }
    for garbage in ["a.b.c", "e30.e30.", "..", "Zm9v.Zm9v.Zm9v"] {
        let err = token_user(&authn, garbage).await.unwrap_err();
        assert_eq!(err.status_code(), 401, "{garbage}");
    }
    dc.shutdown().await;
}

#[tokio::test]
async fn an_unavailable_jwks_falls_back_to_token_review_and_is_refetched_after_the_interval() {
    let dc = cluster().await;
    service_account(&dc, "default", "hpa").await;
    let token = |_: u8| dc.service_account_token("default", "hpa", &[]).unwrap();
    dc.faults().add(RequestFault {
        path_contains: "/openid/v1/jwks".into(),
        status: Some(500),
        delay: Duration::ZERO,
        remaining: None,
    });
    let interval = Duration::from_millis(300);
    let authn = authenticator(&dc, AuthnOptions { jwks_min_refresh_interval: interval, ..Default::default() }).await;
    // No keys yet: TokenReview decides.
    assert_eq!(token_user(&authn, &token(1)).await.unwrap().name, SA_USER);

    // Within the interval nothing is refetched, so with TokenReview down the token fails...
    fail_requests(&dc, "tokenreviews");
    let err = token_user(&authn, &token(2)).await.unwrap_err();
    assert!(matches!(err, AuthError::Api { call: "TokenReview", .. }), "{err:?}");
    // ...and once it has passed, the JWKS is fetched and tokens verify locally.
    dc.faults().clear();
    fail_requests(&dc, "tokenreviews");
    tokio::time::sleep(interval * 2).await;
    assert_eq!(token_user(&authn, &token(3)).await.unwrap().name, SA_USER);
    dc.shutdown().await;
}
