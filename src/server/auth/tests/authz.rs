//! SubjectAccessReview against devcluster's RBAC, the always-allow shortcuts and the cache.

use std::sync::Arc;
use std::time::Duration;

use super::super::{
    Attributes, AuthnOptions, Authorizer, AuthzOptions, CacheStats, Decision, DecisionMemo, UserInfo, forbidden_message,
};
use super::support::devcluster::RequestFault;
use super::support::{admin, authenticator, cluster, fail_requests, front_proxy_peer, grant, headers, service_account};

fn hpa_user() -> UserInfo {
    UserInfo {
        name: "system:serviceaccount:default:hpa".into(),
        groups: vec![
            "system:serviceaccounts".into(),
            "system:serviceaccounts:default".into(),
            "system:authenticated".into(),
        ],
        ..Default::default()
    }
}

fn list_metric(user: UserInfo, namespace: &str) -> Attributes {
    Attributes::metric_list(user, namespace, "datadogmetric@default:web-rps")
}

#[tokio::test]
async fn rbac_allows_and_denies_through_subject_access_review() {
    let dc = cluster().await;
    service_account(&dc, "default", "hpa").await;
    grant(&dc, "default", "hpa", "external.metrics.k8s.io", &["get", "list"]).await;
    let authz = Authorizer::new(admin(&dc).await, AuthzOptions::default());

    assert_eq!(authz.authorize(&list_metric(hpa_user(), "default")).await.unwrap(), Decision::Allow);
    let denied = list_metric(hpa_user(), "other");
    let Decision::Deny { reason } = authz.authorize(&denied).await.unwrap() else { panic!("expected a deny") };
    assert_eq!(
        forbidden_message(&denied, &reason),
        format!(
            "datadogmetric@default:web-rps.external.metrics.k8s.io is forbidden: User \"system:serviceaccount:default:hpa\" cannot list resource \"datadogmetric@default:web-rps\" in API group \"external.metrics.k8s.io\" in the namespace \"other\"{}",
            if reason.is_empty() { String::new() } else { format!(": {reason}") }
        )
    );
    let mut anonymous = list_metric(UserInfo::anonymous(), "default");
    anonymous.verb = "get".into();
    assert!(matches!(authz.authorize(&anonymous).await.unwrap(), Decision::Deny { .. }));
    dc.shutdown().await;
}

#[tokio::test]
async fn the_aggregator_may_read_openapi_as_an_authenticated_user() {
    let dc = cluster().await;
    let authn = authenticator(&dc, AuthnOptions::default()).await;
    let request = headers(&[("x-remote-user", "system:aggregator")]);
    let user = authn.authenticate(&front_proxy_peer("front-proxy-client"), &request).await.unwrap().into_user();
    let authz = Authorizer::new(admin(&dc).await, AuthzOptions::default());
    let openapi =
        |user: UserInfo| Attributes { user, verb: "get".into(), path: "/openapi/v2".into(), ..Default::default() };
    assert_eq!(authz.authorize(&openapi(user)).await.unwrap(), Decision::Allow);
    let Decision::Deny { reason } = authz.authorize(&openapi(UserInfo::anonymous())).await.unwrap() else {
        panic!("anonymous may not read /openapi/v2")
    };
    let attrs = openapi(UserInfo::anonymous());
    let expected = "forbidden: User \"system:anonymous\" cannot get path \"/openapi/v2\"";
    assert!(forbidden_message(&attrs, &reason).starts_with(expected));
    dc.shutdown().await;
}

#[tokio::test]
async fn the_second_identical_review_is_answered_from_the_cache() {
    let dc = cluster().await;
    service_account(&dc, "default", "hpa").await;
    grant(&dc, "default", "hpa", "external.metrics.k8s.io", &["list"]).await;
    let authz = Authorizer::new(admin(&dc).await, AuthzOptions::default());
    let attrs = list_metric(hpa_user(), "default");
    assert_eq!(authz.authorize(&attrs).await.unwrap(), Decision::Allow);
    fail_requests(&dc, "subjectaccessreviews");
    assert_eq!(authz.authorize(&attrs).await.unwrap(), Decision::Allow);
    assert_eq!(authz.cache_stats(), CacheStats { hits: 1, misses: 1 });

    // Different attributes are a different key: that review fails, which is a 500.
    let err = authz.authorize(&list_metric(hpa_user(), "kube-system")).await.unwrap_err();
    assert_eq!(err.status_code(), 500);
    assert_eq!(authz.cache_stats(), CacheStats { hits: 1, misses: 2 });
    dc.shutdown().await;
}

#[tokio::test]
async fn concurrent_misses_share_one_review() {
    let dc = cluster().await;
    dc.faults().add(RequestFault {
        path_contains: "subjectaccessreviews".into(),
        status: None,
        delay: Duration::from_millis(300),
        remaining: None,
    });
    let authz = Arc::new(Authorizer::new(admin(&dc).await, AuthzOptions::default()));
    let attrs = list_metric(hpa_user(), "default");
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (authz, attrs) = (authz.clone(), attrs.clone());
            tokio::spawn(async move { authz.authorize(&attrs).await })
        })
        .collect();
    for call in calls {
        assert!(matches!(call.await.unwrap().unwrap(), Decision::Deny { .. }));
    }
    assert_eq!(authz.cache_stats(), CacheStats { hits: 7, misses: 1 });
    dc.shutdown().await;
}

#[tokio::test]
async fn health_paths_and_system_masters_need_no_review() {
    let dc = cluster().await;
    fail_requests(&dc, "subjectaccessreviews");
    let authz = Authorizer::new(admin(&dc).await, AuthzOptions::default());
    for path in ["/healthz", "/livez", "readyz"] {
        let attrs =
            Attributes { user: UserInfo::anonymous(), verb: "get".into(), path: path.into(), ..Default::default() };
        assert_eq!(authz.authorize(&attrs).await.unwrap(), Decision::Allow, "{path}");
    }
    let aggregator =
        UserInfo { name: "system:kube-aggregator".into(), groups: vec!["system:masters".into()], ..Default::default() };
    assert_eq!(authz.authorize(&list_metric(aggregator, "default")).await.unwrap(), Decision::Allow);
    let metrics =
        Attributes { user: UserInfo::anonymous(), verb: "get".into(), path: "/metrics".into(), ..Default::default() };
    assert_eq!(authz.authorize(&metrics).await.unwrap_err().status_code(), 500);

    let prefixed = AuthzOptions { always_allow_paths: vec!["/debug/*".into()], ..Default::default() };
    let authz = Authorizer::new(admin(&dc).await, prefixed);
    let debug = Attributes {
        user: UserInfo::anonymous(),
        verb: "get".into(),
        path: "/debug/pprof".into(),
        ..Default::default()
    };
    assert_eq!(authz.authorize(&debug).await.unwrap(), Decision::Allow);
    assert_eq!(authz.cache_stats(), CacheStats::default());
    dc.shutdown().await;
}

#[tokio::test]
async fn a_connection_remembers_its_last_decision_until_the_ttl() {
    let dc = cluster().await;
    service_account(&dc, "default", "hpa").await;
    grant(&dc, "default", "hpa", "external.metrics.k8s.io", &["list"]).await;
    let ttl = Duration::from_millis(600);
    let options = AuthzOptions { allowed_ttl: ttl, denied_ttl: ttl, ..Default::default() };
    let authz = Authorizer::new(admin(&dc).await, options);
    let memo = DecisionMemo::default();
    let (allowed, denied) = (list_metric(hpa_user(), "default"), list_metric(hpa_user(), "other"));

    assert_eq!(authz.authorize_remembered(&allowed, &memo).await.unwrap(), Decision::Allow);
    fail_requests(&dc, "subjectaccessreviews");
    // Answered by the memo (a hit), then by the shared cache for another connection (a hit).
    assert_eq!(authz.authorize_remembered(&allowed, &memo).await.unwrap(), Decision::Allow);
    assert_eq!(authz.authorize_remembered(&allowed, &DecisionMemo::default()).await.unwrap(), Decision::Allow);
    assert_eq!(authz.cache_stats(), CacheStats { hits: 2, misses: 1 });
    // Other attributes on the same connection are not answered by the memo: a failed review.
    assert_eq!(authz.authorize_remembered(&denied, &memo).await.unwrap_err().status_code(), 500);
    assert_eq!(authz.authorize_remembered(&allowed, &memo).await.unwrap(), Decision::Allow);
    assert_eq!(authz.cache_stats(), CacheStats { hits: 3, misses: 2 });

    // Past the TTL neither the memo nor the cache answers: the review is asked again (and fails).
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert_eq!(authz.authorize_remembered(&allowed, &memo).await.unwrap_err().status_code(), 500);
    assert_eq!(authz.cache_stats(), CacheStats { hits: 3, misses: 3 });
    dc.shutdown().await;
}

#[tokio::test]
async fn a_remembered_deny_keeps_its_reason_and_the_deny_ttl() {
    let dc = cluster().await;
    let options = AuthzOptions { denied_ttl: Duration::from_millis(600), ..Default::default() };
    let authz = Authorizer::new(admin(&dc).await, options);
    let memo = DecisionMemo::default();
    let attrs = list_metric(hpa_user(), "default");
    let first = authz.authorize_remembered(&attrs, &memo).await.unwrap();
    assert!(matches!(first, Decision::Deny { .. }));
    fail_requests(&dc, "subjectaccessreviews");
    assert_eq!(authz.authorize_remembered(&attrs, &memo).await.unwrap(), first);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(authz.authorize_remembered(&attrs, &memo).await.unwrap_err().status_code(), 500);
    assert_eq!(authz.cache_stats(), CacheStats { hits: 1, misses: 2 });
    dc.shutdown().await;
}

#[tokio::test]
async fn a_connection_whose_user_changes_is_answered_for_the_new_user() {
    let dc = cluster().await;
    service_account(&dc, "default", "hpa").await;
    grant(&dc, "default", "hpa", "external.metrics.k8s.io", &["list"]).await;
    let authz = Authorizer::new(admin(&dc).await, AuthzOptions::default());
    let memo = DecisionMemo::default();
    let hpa = Arc::new(hpa_user());
    let other = Arc::new(UserInfo { name: "system:serviceaccount:default:other".into(), ..hpa_user() });
    let recall = |user: &Arc<UserInfo>| {
        let attrs = list_metric((**user).clone(), "default");
        let mut parts = super::super::KeyParts::of(&attrs);
        parts.user = user;
        let shared = authz.recall_shared(&memo, &parts, user);
        assert_eq!(shared, authz.recall(&DecisionMemo::default(), &super::super::KeyParts::of(&attrs)));
        shared
    };
    assert_eq!(recall(&hpa), None, "nothing reviewed yet");
    for user in [&hpa, &other] {
        authz.authorize_remembered(&list_metric((**user).clone(), "default"), &DecisionMemo::default()).await.unwrap();
    }
    // The memo's user part follows the Arc it is given: each user gets its own decision.
    assert_eq!(recall(&hpa), Some(Decision::Allow));
    assert!(matches!(recall(&other), Some(Decision::Deny { .. })));
    assert_eq!(recall(&hpa), Some(Decision::Allow));
    // An equal user in another Arc has the same key.
    assert_eq!(recall(&Arc::new(hpa_user())), Some(Decision::Allow));
    dc.shutdown().await;
}
