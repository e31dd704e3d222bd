//! Dispatcher behaviour that the API cannot reach any more: webhooks with side effects exist only in
//! configurations written through admissionregistration/v1beta1, which devcluster does not serve.

use serde_json::{Value, json};

use super::config::{Client, Rule, Webhook};
use super::{Attributes, dispatch, matching};
use crate::devcluster::{Config, DevCluster};

fn legacy_webhook(side_effects: &str) -> Webhook {
    let s = |v: &str| vec![v.to_string()];
    Webhook {
        configuration: "legacy".into(),
        name: "legacy.example.com".into(),
        key: "legacy/0".into(),
        // Nothing listens on port 1: a call fails (and is ignored).
        client: Client::Url("https://127.0.0.1:1/mutate".into()),
        ca_bundle: Value::Null,
        rules: vec![Rule {
            operations: s("CREATE"),
            groups: s(""),
            versions: s("v1"),
            resources: s("pods"),
            scope: "*".into(),
        }],
        fail_open: true,
        exact: false,
        namespace_selector: Value::Null,
        object_selector: Value::Null,
        side_effects: side_effects.into(),
        timeout_seconds: 1,
        reinvoke_if_needed: false,
        conditions: Vec::new(),
        review_versions: vec!["v1".into()],
    }
}

fn pod_create(dc: &DevCluster, dry_run: bool) -> Attributes {
    let rt = dc.cluster.registry.lookup("", "v1", "pods").unwrap();
    Attributes {
        operation: "CREATE",
        kind: matching::kind_for(&rt, ""),
        rt,
        subresource: String::new(),
        namespace: "default".into(),
        name: "p".into(),
        object: Some(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}})),
        old_object: None,
        dry_run,
        options: json!({"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}),
        user: Default::default(),
    }
}

#[tokio::test]
async fn dry_run_with_side_effects_is_rejected_whatever_the_failure_policy() {
    let dc = DevCluster::start(Config::default()).await.unwrap();
    for side_effects in ["Unknown", "Some"] {
        let err = dispatch::run(&dc.cluster, &[legacy_webhook(side_effects)], pod_create(&dc, true))
            .await
            .err()
            .expect("rejected");
        assert_eq!((err.code, err.reason), (400, "BadRequest"));
        assert_eq!(err.message, r#"admission webhook "legacy.example.com" does not support dry run"#);
    }
    // Not dry-run: the call is made, fails, and Ignore lets the request through.
    let admitted = dispatch::run(&dc.cluster, &[legacy_webhook("Unknown")], pod_create(&dc, false)).await.unwrap();
    assert_eq!(admitted.object.unwrap()["metadata"]["name"], "p");
    // NoneOnDryRun webhooks are called for dry-run requests.
    let admitted = dispatch::run(&dc.cluster, &[legacy_webhook("NoneOnDryRun")], pod_create(&dc, true)).await;
    assert!(admitted.is_ok());
    dc.shutdown().await;
}
