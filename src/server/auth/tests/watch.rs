//! AuthConfigWatch follows kube-system/extension-apiserver-authentication.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, PostParams};

use super::super::{AuthConfigWatch, AuthenticationConfig};
use super::support::{admin, cluster, eventually};

fn configmap(allowed_names: &str) -> ConfigMap {
    let data = BTreeMap::from([
        ("requestheader-client-ca-file".to_string(), "front-proxy CA".to_string()),
        ("requestheader-allowed-names".to_string(), allowed_names.to_string()),
        ("requestheader-username-headers".to_string(), r#"["X-Remote-User"]"#.to_string()),
    ]);
    ConfigMap {
        metadata: ObjectMeta { name: Some("extension-apiserver-authentication".into()), ..Default::default() },
        data: Some(data),
        ..Default::default()
    }
}

#[tokio::test]
async fn picks_up_creation_and_updates_of_the_configmap() {
    let dc = cluster().await;
    let client = admin(&dc).await;
    // devcluster publishes the ConfigMap at start, as kube-apiserver does: begin without it.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
    cms.delete("extension-apiserver-authentication", &Default::default()).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::<AuthenticationConfig>::new()));
    let record = seen.clone();
    let on_change = Box::new(move |c: &AuthenticationConfig| record.lock().unwrap().push(c.clone()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watch = AuthConfigWatch::spawn(client.clone(), on_change, stopped);
    let synced = watch.clone();
    eventually("the first list", move || synced.synced()).await;
    assert_eq!(**watch.current(), AuthenticationConfig::default());

    cms.create(&PostParams::default(), &configmap(r#"["front-proxy-client"]"#)).await.unwrap();
    let w = watch.clone();
    eventually("the created ConfigMap", move || w.current().allowed_names == ["front-proxy-client"]).await;
    assert_eq!(watch.current().requestheader_ca_pem.as_deref(), Some("front-proxy CA"));

    let mut updated = cms.get("extension-apiserver-authentication").await.unwrap();
    updated.data = configmap(r#"["front-proxy-client","aggregator"]"#).data;
    cms.replace("extension-apiserver-authentication", &PostParams::default(), &updated).await.unwrap();
    let w = watch.clone();
    eventually("the updated ConfigMap", move || w.current().allowed_names.len() == 2).await;

    // An unparseable version is ignored; the last good config stays.
    let mut broken = cms.get("extension-apiserver-authentication").await.unwrap();
    broken.data = configmap("not json").data;
    cms.replace("extension-apiserver-authentication", &PostParams::default(), &broken).await.unwrap();
    let marker = configmap(r#"["marker"]"#);
    let mut last = cms.get("extension-apiserver-authentication").await.unwrap();
    last.data = marker.data;
    cms.replace("extension-apiserver-authentication", &PostParams::default(), &last).await.unwrap();
    let w = watch.clone();
    eventually("the marker version", move || w.current().allowed_names == ["marker"]).await;

    let names: Vec<Vec<String>> = seen.lock().unwrap().iter().map(|c| c.allowed_names.clone()).collect();
    assert_eq!(
        names,
        [
            vec!["front-proxy-client".to_string()],
            vec!["front-proxy-client".into(), "aggregator".into()],
            vec!["marker".into()]
        ]
    );
    stop.send_replace(true);
    dc.shutdown().await;
}

#[test]
fn a_fixed_config_is_synced() {
    let watch = AuthConfigWatch::fixed(AuthenticationConfig { allowed_names: vec!["x".into()], ..Default::default() });
    assert!(watch.synced());
    assert_eq!(watch.current().allowed_names, ["x"]);
}
