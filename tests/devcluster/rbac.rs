//! ServiceAccount tokens and RBAC: a token authenticates, RBAC denies with kube's message until a
//! RoleBinding grants access; TokenReview and SubjectAccessReview answer as kube-apiserver does.

use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, ObjectMeta, PostParams};
use serde_json::json;

use super::support::{get, raw, start};

async fn service_account(dc: &autoscaling_apiserver::devcluster::DevCluster, name: &str) -> String {
    let sas: Api<ServiceAccount> = Api::namespaced(dc.client().await.unwrap(), "default");
    sas.create(
        &PostParams::default(),
        &ServiceAccount {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            ..Default::default()
        },
    )
    .await
    .unwrap();
    dc.service_account_token("default", name, &[]).unwrap()
}

#[tokio::test]
async fn rbac_denies_then_a_role_binding_allows() {
    let dc = start().await;
    let token = service_account(&dc, "reader").await;
    let as_sa: Api<ConfigMap> = Api::namespaced(dc.client_with_token(&token).await.unwrap(), "default");
    let err = as_sa.list(&Default::default()).await.unwrap_err();
    let kube::Error::Api(status) = err else { panic!("expected 403") };
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        "configmaps is forbidden: User \"system:serviceaccount:default:reader\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );

    let admin = dc.client().await.unwrap();
    let role = Role {
        metadata: ObjectMeta { name: Some("cm-reader".into()), ..Default::default() },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["".into()]),
            resources: Some(vec!["configmaps".into()]),
            verbs: vec!["get".into(), "list".into()],
            ..Default::default()
        }]),
    };
    Api::<Role>::namespaced(admin.clone(), "default").create(&PostParams::default(), &role).await.unwrap();
    let binding = RoleBinding {
        metadata: ObjectMeta { name: Some("cm-reader".into()), ..Default::default() },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "cm-reader".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: "reader".into(),
            namespace: Some("default".into()),
            ..Default::default()
        }]),
    };
    Api::<RoleBinding>::namespaced(admin, "default").create(&PostParams::default(), &binding).await.unwrap();
    as_sa.list(&Default::default()).await.expect("allowed after binding");
    let err = as_sa
        .create(
            &PostParams::default(),
            &ConfigMap { metadata: ObjectMeta { name: Some("x".into()), ..Default::default() }, ..Default::default() },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(s) if s.code == 403), "create is still denied");
}

#[tokio::test]
async fn token_and_access_reviews() {
    let dc = start().await;
    let token = service_account(&dc, "hpa").await;
    let review = json!({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token": token}});
    let (code, body) = raw(
        &dc,
        reqwest::Method::POST,
        "/apis/authentication.k8s.io/v1/tokenreviews",
        "application/json",
        review.to_string(),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(body["status"]["authenticated"], true);
    assert_eq!(body["status"]["user"]["username"], "system:serviceaccount:default:hpa");
    assert!(body["status"]["user"]["groups"].as_array().unwrap().contains(&json!("system:serviceaccounts:default")));
    let bad = json!({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token": "nope"}});
    let (_, body) = raw(
        &dc,
        reqwest::Method::POST,
        "/apis/authentication.k8s.io/v1/tokenreviews",
        "application/json",
        bad.to_string(),
    )
    .await;
    assert_eq!(body["status"]["authenticated"], false);

    let sar = |verb: &str| {
        json!({"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{
        "user":"system:serviceaccount:default:hpa","groups":["system:serviceaccounts","system:authenticated"],
        "resourceAttributes":{"namespace":"default","verb":verb,"group":"external.metrics.k8s.io","resource":"datadogmetric@default:web"}}})
    };
    let (code, body) = raw(
        &dc,
        reqwest::Method::POST,
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        "application/json",
        sar("list").to_string(),
    )
    .await;
    assert_eq!(code, 201);
    assert_eq!(body["status"]["allowed"], false);
    let nonres = json!({"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"someone","groups":["system:authenticated"],"nonResourceAttributes":{"path":"/version","verb":"get"}}});
    let (_, body) = raw(
        &dc,
        reqwest::Method::POST,
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        "application/json",
        nonres.to_string(),
    )
    .await;
    assert_eq!(body["status"]["allowed"], true, "system:public-info-viewer: {body}");
}

#[tokio::test]
async fn oidc_discovery_and_anonymous_access() {
    let dc = start().await;
    let (code, jwks) = get(&dc, "/openid/v1/jwks").await;
    assert_eq!(code, 200);
    assert_eq!(jwks["keys"][0]["kty"], "EC");
    let anon = super::support::http(&dc)
        .get(format!("{}/api/v1/namespaces/default/configmaps", dc.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status().as_u16(), 403, "anonymous is authenticated as system:anonymous and denied");
    let version = super::support::http(&dc).get(format!("{}/version", dc.url())).send().await.unwrap();
    assert_eq!(version.status().as_u16(), 200);
    let bad =
        super::support::http(&dc).get(format!("{}/api/v1/pods", dc.url())).bearer_auth("garbage").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 401);
}
