use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::*;
use crate::workload::crd::{ContainerResources, Owner};
use crate::workload::model::{DpaKey, ValueSource};
use crate::workload::recommender::fixed_leadership;

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn raw(product: &str, id: &str, version: u64, payload: Value) -> RawConfig {
    RawConfig {
        path: format!("datadog/2/{product}/{id}/config"),
        product: product.into(),
        id: id.into(),
        version,
        payload: Ok(payload),
    }
}

fn settings(entries: Value) -> RawConfig {
    raw(SETTINGS_PRODUCT, "s", 3, json!({ "settings": entries }))
}

fn values(entries: Value) -> RawConfig {
    raw(VALUES_PRODUCT, "v", 7, json!({ "values": entries }))
}

fn setting(ns: &str, name: &str) -> Value {
    json!({"namespace": ns, "name": name, "specs": {"v1alpha2": {
        "owner": "Remote", "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
        "objectives": [{"type": "PodResource", "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": 70}}}]
    }}})
}

fn horizontal_value(ns: &str, name: &str, replicas: i32) -> Value {
    json!({"namespace": ns, "name": name, "horizontal": {"auto": {"timestamp": "2026-03-01T11:59:00Z", "replicas": replicas}}})
}

fn feed(leader: bool) -> (RecommendationFeed, Arc<InternalStore>) {
    let store = Arc::new(InternalStore::default());
    let config = FeedConfig { source: FeedSource::Path("/nonexistent".into()), poll_interval: Duration::from_secs(1) };
    (RecommendationFeed::new(config, store.clone(), fixed_leadership(leader)).unwrap(), store)
}

async fn dpa(store: &InternalStore, ns: &str, name: &str) -> crate::workload::model::PodAutoscalerInternal {
    store.get(&DpaKey::new(ns, name)).expect("in store").lock().await.clone()
}

fn parse_values(entry: Value) -> Result<ValuesItem, String> {
    let (items, errors) = values::parse(&values(json!([entry])), now());
    match (items.into_iter().next(), errors.into_iter().next()) {
        (Some(item), None) => Ok(item),
        (None, Some(e)) => Err(e),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn manual_values_win_over_auto() {
    let item = parse_values(json!({"namespace": "prod", "name": "web", "horizontal": {
        "manual": {"timestamp": "2026-03-01T11:00:00Z", "replicas": 9},
        "auto": {"timestamp": "2026-03-01T11:30:00Z", "replicas": 3}}}))
    .unwrap();
    let h = item.values.horizontal.unwrap();
    assert_eq!((h.source, h.replicas), (ValueSource::Manual, 9));
    assert_eq!(h.timestamp, "2026-03-01T11:00:00Z".parse::<Timestamp>().unwrap());
}

#[test]
fn missing_timestamp_is_the_receive_time_and_go_timestamps_read() {
    let item = parse_values(json!({"namespace": "a", "name": "b", "horizontal": {"auto": {"replicas": 2}},
        "vertical": {"auto": {"timestamp": {"seconds": 1772366400, "nanos": 5}, "resources": []}}}))
    .unwrap();
    assert_eq!(item.values.horizontal.unwrap().timestamp, now());
    let v = item.values.vertical.unwrap();
    assert_eq!(v.timestamp, Timestamp::new(1_772_366_400, 5).unwrap());
    assert_eq!(v.source, ValueSource::Autoscaling);
}

#[test]
fn every_bad_entry_is_an_error_naming_the_dpa() {
    let cases = [
        (
            json!({"namespace": "a", "name": "b", "horizontal": {"auto": {"timestamp": "2026-03-01T11:00:00Z"}}}),
            "horizontal replicas value is missing",
        ),
        (
            json!({"namespace": "a", "name": "b", "vertical": {"auto": {"resources": [{"containerName": "app",
            "requests": [{"name": "cpu", "value": "1"}, {"name": "cpu", "value": "2"}]}]}}}),
            "resource cpu is duplicated",
        ),
        (
            json!({"namespace": "a", "name": "b", "vertical": {"auto": {"resources": [{"containerName": "app",
            "requests": [{"name": "memory", "value": "lots"}]}]}}}),
            "cannot parse resource memory value \"lots\"",
        ),
        (
            json!({"namespace": "a", "name": "b", "vertical": {"manual": {"resources": [{"containerName": "app",
            "requests": [{"name": "cpu", "value": "2"}], "limits": [{"name": "cpu", "value": "1500m"}]}]}}}),
            "container app: resource cpu: request 2 is greater than limit 1500m",
        ),
        (
            json!({"namespace": "a", "name": "b", "horizontal": {"auto": {"timestamp": "yesterday", "replicas": 1}}}),
            "timestamp \"yesterday\"",
        ),
    ];
    for (entry, want) in cases {
        let err = parse_values(entry).unwrap_err();
        assert!(err.starts_with("values[0]: invalid scaling values for PodAutoscaler a/b, discarded: "), "{err}");
        assert!(err.contains(want), "{err} should contain {want}");
    }
    let err = parse_values(json!({"name": "b"})).unwrap_err();
    assert_eq!(err, "values[0]: namespace and name are required");
    let err =
        parse_values(json!({"namespace": "a", "name": "b", "horizontal": {"auto": {"replicas": "many"}}})).unwrap_err();
    assert!(err.starts_with("values[0]: invalid type"), "{err}");
}

#[test]
fn vertical_hash_is_the_stable_hash_of_the_resources_and_errors_are_kept() {
    let entry = json!({"namespace": "a", "name": "b", "error": {"code": 3, "message": "quota"},
        "horizontal": {"error": {"code": 1, "message": "no data"}},
        "vertical": {"error": {"code": 2}, "auto": {"timestamp": "2026-03-01T11:00:00Z", "resources": [
            {"containerName": "app", "requests": [{"name": "memory", "value": "1Gi"}, {"name": "cpu", "value": "250m"}],
             "limits": [{"name": "memory", "value": "2Gi"}], "runtime": {"gomemlimit": "900MiB"}}]}}});
    let values = parse_values(entry.clone()).unwrap().values;
    assert_eq!(values.error.as_deref(), Some("quota"));
    assert_eq!(values.horizontal_error.as_deref(), Some("no data"));
    assert_eq!(values.vertical_error.as_deref(), Some("error code 2"));
    assert!(values.horizontal.is_none());
    let v = values.vertical.unwrap();
    let expected: Vec<ContainerResources> = serde_json::from_value(json!([{"name": "app",
        "requests": {"cpu": "250m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}, "runtime": {"gomemlimit": "900MiB"}}]))
    .unwrap();
    assert_eq!(v.resources, expected);
    assert_eq!(v.hash, crate::workload::hash::stable_hash(&expected));
    assert_eq!(parse_values(entry).unwrap().values.vertical.unwrap().hash, v.hash, "stable across parses");
}

#[test]
fn settings_accept_every_spec_form() {
    let v1alpha1 = json!({"owner": "Remote", "targetRef": {"kind": "Deployment", "name": "api"},
        "policy": {"applyMode": "All"}, "targets": [{"type": "PodResource", "podResource": {"name": "cpu",
        "value": {"type": "Utilization", "utilization": 60}}}]});
    let list = settings(json!([
        setting("prod", "web"),
        {"namespace": "prod", "name": "api", "specs": {"v1alpha1": v1alpha1.clone()}},
        {"namespace": "prod", "name": "legacy", "spec": v1alpha1},
        {"namespace": "prod", "name": "plain", "spec": {"owner": "Remote", "targetRef": {"kind": "Deployment", "name": "p"},
            "objectives": []}},
    ]));
    let (items, errors) = settings::parse(&list);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|i| i.spec.remote_version == Some(VERSION_OFFSET + 3)));
    assert_eq!(items[1].spec.objectives, items[2].spec.objectives, "v1alpha1 targets become objectives");
    assert_eq!(items[1].spec.objectives.as_ref().map(Vec::len), Some(1));
    assert_eq!(items[3].key, DpaKey::new("prod", "plain"));
}

#[test]
fn bad_settings_entries_are_errors_and_the_rest_is_kept() {
    let list = settings(json!([
        setting("prod", "web"),
        {"namespace": "prod", "specs": {}},
        {"namespace": "prod", "name": "nospec"},
        {"namespace": "prod", "name": "bad", "specs": {"v1alpha2": {"owner": "Somebody", "targetRef": {"kind": "D", "name": "x"}}}},
    ]));
    let (items, errors) = settings::parse(&list);
    assert_eq!(items.len(), 1);
    assert_eq!(errors[0], "settings[1]: namespace and name are required");
    assert_eq!(
        errors[1],
        "settings[2]: PodAutoscaler prod/nospec: spec is required (specs.v1alpha2, specs.v1alpha1 or spec)"
    );
    assert!(
        errors[2].starts_with("settings[3]: PodAutoscaler prod/bad: specs.v1alpha2: unknown variant `Somebody`"),
        "{}",
        errors[2]
    );
}

#[tokio::test]
async fn leader_creates_updates_and_deletes_remote_dpas() {
    let (feed, store) = feed(true);
    let mut changes = store.subscribe();
    feed.apply(
        vec![
            settings(json!([setting("prod", "web"), setting("prod", "api")])),
            values(json!([horizontal_value("prod", "web", 4)])),
        ],
        now(),
    )
    .await;
    let web = dpa(&store, "prod", "web").await;
    assert_eq!(web.spec.owner, Owner::Remote);
    assert_eq!(web.spec.remote_version, Some(VERSION_OFFSET + 3));
    assert_eq!(web.settings_timestamp, Some(now()));
    assert_eq!(web.main.horizontal.as_ref().map(|h| (h.replicas, h.source)), Some((4, ValueSource::Autoscaling)));
    assert!(dpa(&store, "prod", "api").await.main.horizontal.is_none());
    let status = feed.status();
    assert_eq!(status.configs.len(), 2);
    assert!(status.configs.iter().all(|c| c.state == ApplyState::Acknowledged && c.error.is_none()));
    assert_eq!(status.configs[0].product, SETTINGS_PRODUCT);
    assert_eq!(changes.recv().await.unwrap().sender, SENDER);

    // Same set again: nothing changes, nobody is woken.
    while changes.try_recv().is_ok() {}
    feed.apply(
        vec![
            settings(json!([setting("prod", "web"), setting("prod", "api")])),
            values(json!([horizontal_value("prod", "web", 4)])),
        ],
        now(),
    )
    .await;
    assert!(changes.try_recv().is_err());

    // api leaves the settings, web leaves the values.
    feed.apply(vec![settings(json!([setting("prod", "web")])), values(json!([]))], now()).await;
    assert!(dpa(&store, "prod", "api").await.deleted);
    let web = dpa(&store, "prod", "web").await;
    assert!(!web.deleted);
    assert_eq!(web.main, Default::default());

    // api comes back: no longer deleted.
    feed.apply(vec![settings(json!([setting("prod", "web"), setting("prod", "api")])), values(json!([]))], now()).await;
    assert!(!dpa(&store, "prod", "api").await.deleted);
}

#[tokio::test]
async fn an_error_in_a_product_skips_its_full_set_clean_up_only() {
    let (feed, store) = feed(true);
    feed.apply(
        vec![
            settings(json!([setting("prod", "web"), setting("prod", "api")])),
            values(json!([horizontal_value("prod", "web", 4), horizontal_value("prod", "api", 2)])),
        ],
        now(),
    )
    .await;
    let mut broken = raw(SETTINGS_PRODUCT, "broken", 1, Value::Null);
    broken.payload = Err("not a config envelope".into());
    let bad_values = values(json!([{"namespace": "prod", "name": "web", "horizontal": {"auto": {}}}]));
    feed.apply(vec![settings(json!([setting("prod", "web")])), broken, bad_values], now()).await;
    assert!(!dpa(&store, "prod", "api").await.deleted, "settings had an error: api kept");
    assert_eq!(dpa(&store, "prod", "api").await.main.horizontal.map(|h| h.replicas), Some(2), "values kept");
    assert_eq!(dpa(&store, "prod", "web").await.main.horizontal.map(|h| h.replicas), Some(4), "bad entry discarded");
    let status = feed.status();
    let by_id = |id: &str| status.configs.iter().find(|c| c.id == id).unwrap().clone();
    assert_eq!(by_id("s").state, ApplyState::Acknowledged);
    let broken = by_id("broken");
    assert_eq!(broken.state, ApplyState::Error);
    assert_eq!(
        broken.error.as_deref(),
        Some(
            "config datadog/2/CONTAINER_AUTOSCALING_SETTINGS/broken/config (id broken, version 1): not a config envelope"
        )
    );
    let v = by_id("v");
    assert_eq!(v.state, ApplyState::Error);
    assert!(v.error.unwrap().contains("PodAutoscaler prod/web, discarded: horizontal replicas value is missing"));
}

#[tokio::test]
async fn values_for_unknown_dpas_are_dropped_and_unknown_products_rejected() {
    let (feed, store) = feed(true);
    let other = raw("APM_TRACING", "x", 1, json!({}));
    feed.apply(vec![values(json!([horizontal_value("prod", "ghost", 3)])), other], now()).await;
    assert!(store.is_empty());
    let status = feed.status();
    assert_eq!(status.configs[0].state, ApplyState::Error);
    assert!(status.configs[0].error.as_ref().unwrap().contains("unknown product \"APM_TRACING\""));
    assert_eq!(status.configs[1].state, ApplyState::Acknowledged);
}

#[tokio::test]
async fn followers_acknowledge_nothing_and_change_nothing() {
    let (feed, store) = feed(false);
    feed.apply(
        vec![settings(json!([setting("prod", "web")])), values(json!([horizontal_value("prod", "web", 4)]))],
        now(),
    )
    .await;
    assert!(store.is_empty());
    let status = feed.status();
    assert_eq!(status.configs.len(), 2);
    assert!(status.configs.iter().all(|c| c.state == ApplyState::Unacknowledged));
}

#[tokio::test]
async fn local_dpas_keep_their_spec_and_custom_recommender_dpas_take_only_vertical_values() {
    let (feed, store) = feed(true);
    let mut local = setting("prod", "mine");
    local["specs"]["v1alpha2"]["owner"] = json!("Local");
    let local_spec = settings::parse(&settings(json!([local]))).0.remove(0).spec;
    let key = DpaKey::new("prod", "mine");
    store.get_or_insert_with(&key, || {
        let mut d = crate::workload::model::PodAutoscalerInternal::new("prod", "mine", local_spec.clone(), now());
        d.annotations.insert(
            super::super::CUSTOM_RECOMMENDER_ANNOTATION.into(),
            r#"{"endpoint": "http://127.0.0.1:1/r"}"#.into(),
        );
        d.main.horizontal_error = Some("from the external recommender".into());
        d
    });
    let value = json!({"namespace": "prod", "name": "mine", "horizontal": {"auto": {"replicas": 5}},
        "vertical": {"auto": {"resources": [{"containerName": "app", "requests": [{"name": "cpu", "value": "1"}]}]}}});
    feed.apply(vec![settings(json!([setting("prod", "mine")])), values(json!([value]))], now()).await;
    let mine = dpa(&store, "prod", "mine").await;
    assert_eq!(mine.spec, local_spec, "a Local DPA keeps its spec");
    assert!(mine.main.horizontal.is_none(), "horizontal values belong to the external recommender");
    assert_eq!(mine.main.horizontal_error.as_deref(), Some("from the external recommender"));
    assert_eq!(mine.main.vertical.map(|v| v.resources.len()), Some(1));
    feed.apply(vec![settings(json!([])), values(json!([]))], now()).await;
    let mine = dpa(&store, "prod", "mine").await;
    assert!(!mine.deleted, "Local DPAs are never marked deleted");
    assert!(mine.main.vertical.is_none());
    assert_eq!(mine.main.horizontal_error.as_deref(), Some("from the external recommender"));
}

#[test]
fn sources_parse_and_bad_ones_name_the_key() {
    assert_eq!(FeedSource::parse("  ").unwrap(), None);
    assert_eq!(FeedSource::parse("/etc/feed").unwrap(), Some(FeedSource::Path("/etc/feed".into())));
    assert_eq!(FeedSource::parse("file:///etc/feed").unwrap(), Some(FeedSource::Path("/etc/feed".into())));
    assert_eq!(
        FeedSource::parse("https://example.test/feed.json").unwrap(),
        Some(FeedSource::Http("https://example.test/feed.json".into()))
    );
    let err = FeedSource::parse("ftp://x/y").unwrap_err().to_string();
    assert_eq!(
        err,
        "autoscaling.workload.recommendations.source \"ftp://x/y\": only a path, file://, http:// and https:// are supported"
    );
    assert!(FeedSource::parse("file://relative").is_err());
    assert!(FeedSource::parse("http://[bad").is_err());
}

#[tokio::test]
async fn directories_read_with_per_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("settings")).unwrap();
    let write = |name: &str, body: &str| std::fs::write(dir.path().join(name), body).unwrap();
    write("settings/web.json", &json!({"version": 2, "config": {"settings": [setting("prod", "web")]}}).to_string());
    write("settings/named.json", &json!({"id": "custom", "version": 1, "config": {"settings": []}}).to_string());
    write("settings/garbage.json", "{not json");
    write("settings/notes.txt", "ignored");
    let huge = vec![b' '; (MAX_CONFIG_BYTES + 1) as usize];
    std::fs::write(dir.path().join("settings/huge.json"), huge).unwrap();
    let client = source::http_client().unwrap();
    let configs = FeedSource::Path(dir.path().into()).fetch(&client).await.unwrap();
    let paths: Vec<&str> = configs.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["settings/garbage.json", "settings/huge.json", "settings/named.json", "settings/web.json"]);
    assert!(configs[0].payload.as_ref().unwrap_err().starts_with("not a config envelope"));
    assert!(configs[1].payload.as_ref().unwrap_err().contains("more than the 4194304 allowed"));
    assert_eq!((configs[2].id.as_str(), configs[2].version), ("custom", 1));
    assert_eq!((configs[3].id.as_str(), configs[3].version, configs[3].product.as_str()), ("web", 2, SETTINGS_PRODUCT));
    let missing = FeedSource::Path(dir.path().join("nope")).fetch(&client).await.unwrap_err();
    assert!(missing.contains("nope"), "{missing}");
}

#[tokio::test]
async fn index_files_list_configs_and_bad_entries_stay_entries() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("index.json");
    let index = json!({"configs": [
        {"product": VALUES_PRODUCT, "id": "v1", "version": 3, "config": {"values": []}},
        {"path": "custom/path", "product": SETTINGS_PRODUCT, "id": "s1", "version": 1},
    ]});
    std::fs::write(&file, index.to_string()).unwrap();
    let client = source::http_client().unwrap();
    let configs = FeedSource::Path(file.clone()).fetch(&client).await.unwrap();
    assert_eq!(configs[0].path, "datadog/2/CONTAINER_AUTOSCALING_VALUES/v1/config");
    assert_eq!(configs[1].path, "custom/path");
    assert!(configs[1].payload.as_ref().unwrap_err().contains("missing field `config`"));
    std::fs::write(&file, "[1, 2]").unwrap();
    let err = FeedSource::Path(file).fetch(&client).await.unwrap_err();
    assert!(err.contains("index.json: not an index document"), "{err}");
}

#[tokio::test]
async fn an_unreadable_source_changes_nothing() {
    let (feed, store) = feed(true);
    feed.apply(vec![settings(json!([setting("prod", "web")]))], now()).await;
    feed.poll_once().await;
    assert!(!dpa(&store, "prod", "web").await.deleted);
    let status = feed.status();
    assert!(status.source_error.unwrap().contains("/nonexistent"));
    assert_eq!(status.configs.len(), 1, "the last good states stay");
}
