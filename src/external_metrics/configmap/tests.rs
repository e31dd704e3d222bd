//! Unit tests of the ConfigMap provider: the DCA's key and value formats, HPA inspection and GC,
//! the leader's merge/refresh/size rules, and the read side's matching and errors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::entry::{Entry, HORIZONTAL, ObjectReference, Parsed, go_json_float, is_valid_metric_name, parse};
use super::refresh::{self, Changes, MAX_CONFIGMAP_BYTES, QueryRules};
use super::{CmConfig, ConfigMapProvider, INVALID, autoscalers, mirror};
use crate::apimachinery::selector::LabelSelector;
use crate::external_metrics::datadogmetric::{QueryError, QueryErrorKind, QueryPoint, QueryResults};
use crate::server::{MetricsProvider, ProviderError};

fn reference(kind: &str, namespace: &str, name: &str, uid: &str) -> ObjectReference {
    ObjectReference { kind: kind.into(), name: name.into(), namespace: namespace.into(), uid: uid.into() }
}

fn labels(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
}

fn entry(metric: &str, labels: Option<BTreeMap<String, String>>, hpa: &str, value: f64, valid: bool, ts: i64) -> Entry {
    let reference = reference(HORIZONTAL, "default", hpa, &format!("uid-{hpa}"));
    Entry { metric_name: metric.into(), labels, timestamp: ts, reference, value, valid }
}

#[test]
fn keys_are_the_dca_keys() {
    let mut e = entry("requests_per_s", None, "bar", 0.0, false, 0);
    assert_eq!(e.key(), "external_metric-horizontal-default-bar-requests_per_s");
    e.metric_name = "FoO".into();
    e.reference.namespace = "DefauLt".into();
    assert_eq!(e.key(), "external_metric-horizontal-DefauLt-bar-FoO");
    e.reference.kind = "watermark".into();
    assert_eq!(e.key(), "external_metric-watermark-DefauLt-bar-FoO");
}

#[test]
fn values_are_written_as_go_json_marshal_writes_them() {
    let e = Entry {
        metric_name: "nginx.net.request_per_s".into(),
        labels: labels(&[("role", "frontend"), ("app", "web")]),
        timestamp: 1_700_000_000,
        reference: reference(HORIZONTAL, "default", "web", "5f3c"),
        value: 12.5,
        valid: true,
    };
    let text = r#"{"metricName":"nginx.net.request_per_s","labels":{"app":"web","role":"frontend"},"ts":1700000000,"reference":{"type":"horizontal","name":"web","namespace":"default","uid":"5f3c"},"value":12.5,"valid":true}"#;
    assert_eq!(e.to_json(), text);
    assert_eq!(parse(&e.key(), text), Some(Parsed::Current(e.clone())));
    // No matchLabels is Go's nil map, and an integral float has no fraction.
    let placeholder = Entry::placeholder("redis.key", None, reference(HORIZONTAL, "ns", "h", ""), 42);
    let text = r#"{"metricName":"redis.key","labels":null,"ts":42,"reference":{"type":"horizontal","name":"h","namespace":"ns","uid":""},"value":0,"valid":false}"#;
    assert_eq!(placeholder.to_json(), text);
    assert_eq!(parse("external_metric-horizontal-ns-h-redis.key", text), Some(Parsed::Current(placeholder)));
}

#[test]
fn floats_follow_encoding_json() {
    let cases = [
        (3.0, "3"),
        (0.0, "0"),
        (-2.25, "-2.25"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.5e300, "1.5e+300"),
    ];
    for (value, text) in cases {
        assert_eq!(go_json_float(value), text, "{value}");
        assert_eq!(text.parse::<f64>().ok(), Some(value));
    }
}

#[test]
fn other_keys_deprecated_and_corrupt_items_are_told_apart() {
    assert_eq!(parse("leader", "{}"), None);
    let deprecated = json!({"metricName": "requests_per_s", "labels": {"role": "backend"}, "ts": 0,
        "hpa": {"name": "bar", "namespace": "default", "uid": ""}, "value": 0, "valid": false});
    assert_eq!(parse("external_metric-default-bar-requests_per_s", &deprecated.to_string()), Some(Parsed::Deprecated));
    for corrupt in ["{not json", "[1,2]", r#"{"metricName":"m","ts":1.5,"reference":{"type":"horizontal"}}"#] {
        let parsed = parse("external_metric-horizontal-a-b-m", corrupt);
        assert!(matches!(parsed, Some(Parsed::Corrupt(_))), "{corrupt}: {parsed:?}");
    }
    // Go leaves nulls and missing fields at their zero values.
    let sparse = r#"{"metricName":"m","labels":null,"reference":{"type":"horizontal","uid":null},"value":null}"#;
    let Some(Parsed::Current(e)) = parse("external_metric-horizontal--x-m", sparse) else { panic!("sparse entry") };
    assert_eq!((e.timestamp, e.value, e.valid, e.reference.uid.as_str()), (0, 0.0, false, ""));
}

#[test]
fn metric_names_follow_the_datadog_rule() {
    assert!(is_valid_metric_name("nginx.net.request_per_s"));
    assert!(is_valid_metric_name(&format!("a{}", "b".repeat(199))));
    assert!(!is_valid_metric_name(&format!("a{}", "b".repeat(200))));
    for bad in ["", "1abc", "datadogmetric@ns:name", "a-b", "a b", "é"] {
        assert!(!is_valid_metric_name(bad), "{bad}");
    }
}

fn hpa(
    namespace: &str,
    name: &str,
    uid: &str,
    metrics: &[(&str, Option<serde_json::Value>)],
) -> Arc<HorizontalPodAutoscaler> {
    let mut specs: Vec<serde_json::Value> = metrics
        .iter()
        .map(|(metric, labels)| {
            let mut metric = json!({"name": metric});
            if let Some(labels) = labels {
                metric["selector"] = json!({"matchLabels": labels});
            }
            json!({"type": "External", "external": {"metric": metric, "target": {"type": "Value", "value": "1"}}})
        })
        .collect();
    specs.push(json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}));
    Arc::new(
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": namespace, "uid": uid},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name}, "maxReplicas": 3, "metrics": specs}
        }))
        .expect("hpa"),
    )
}

#[test]
fn hpas_give_one_placeholder_per_datadog_metric() {
    let web = hpa(
        "shop",
        "web",
        "u1",
        &[
            ("nginx.requests", Some(json!({"app": "web"}))),
            ("datadogmetric@shop:rps", None),
            ("not-a-metric", None),
            ("redis.keys", None),
        ],
    );
    let desired = autoscalers::desired(&[web], 99);
    let keys: Vec<&str> = desired.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["external_metric-horizontal-shop-web-nginx.requests", "external_metric-horizontal-shop-web-redis.keys"]
    );
    let first = &desired["external_metric-horizontal-shop-web-nginx.requests"];
    assert_eq!((first.value, first.valid, first.timestamp), (0.0, false, 99));
    assert_eq!(first.labels, labels(&[("app", "web")]));
    assert_eq!(first.reference, reference(HORIZONTAL, "shop", "web", "u1"));
    assert_eq!(desired["external_metric-horizontal-shop-web-redis.keys"].labels, None);
}

#[test]
fn gc_deletes_entries_whose_hpa_is_gone_or_changed() {
    let web = hpa("default", "web", "uid-web", &[("m", Some(json!({"a": "1"})))]);
    let entries: BTreeMap<String, Entry> = [
        entry("m", labels(&[("a", "1")]), "web", 1.0, true, 1),
        entry("m", labels(&[("a", "2")]), "web", 1.0, true, 1),
        entry("other", labels(&[("a", "1")]), "web", 1.0, true, 1),
        entry("m", labels(&[("a", "1")]), "gone", 1.0, true, 1),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, e)| (format!("{}#{i}", e.key()), e))
    .collect();
    let mut stale = autoscalers::stale_keys(&entries, std::slice::from_ref(&web));
    stale.sort();
    let expected = [
        "external_metric-horizontal-default-gone-m#3",
        "external_metric-horizontal-default-web-m#1",
        "external_metric-horizontal-default-web-other#2",
    ];
    assert_eq!(stale, expected);
    // The same HPA recreated (new UID): its old entries go too.
    let recreated = hpa("default", "web", "uid-web-2", &[("m", Some(json!({"a": "1"})))]);
    assert_eq!(autoscalers::stale_keys(&entries, &[recreated]).len(), 4);
    assert!(autoscalers::stale_keys(&BTreeMap::new(), &[web]).is_empty());
}

#[test]
fn merge_adds_missing_and_changed_placeholders_and_keeps_values() {
    let kept = entry("m", labels(&[("a", "1")]), "web", 7.0, true, 5);
    let relabelled = entry("n", labels(&[("a", "1")]), "web", 7.0, true, 5);
    let stored: BTreeMap<_, _> = [(kept.key(), kept.clone()), (relabelled.key(), relabelled.clone())].into();
    let mut new_n = relabelled.clone();
    new_n.labels = labels(&[("a", "2")]);
    new_n.valid = false;
    let fresh = entry("o", None, "web", 0.0, false, 9);
    let desired: BTreeMap<_, _> = [
        (kept.key(), Entry { value: 0.0, valid: false, ..kept.clone() }),
        (new_n.key(), new_n.clone()),
        (fresh.key(), fresh.clone()),
    ]
    .into();
    let merged = refresh::merge(&stored, &desired);
    assert_eq!(merged[&kept.key()], kept);
    assert_eq!(merged[&new_n.key()], new_n);
    assert_eq!(merged[&fresh.key()], fresh);
}

fn rules() -> QueryRules {
    QueryRules {
        aggregator: "avg".into(),
        rollup: Duration::from_secs(30),
        window: Duration::from_secs(300),
        max_age: Duration::from_secs(120),
    }
}

#[test]
fn identical_queries_are_sent_once() {
    let a = entry("m", labels(&[("z", "1"), ("a", "2")]), "web", 0.0, false, 0);
    let b = entry("m", labels(&[("a", "2"), ("z", "1")]), "api", 0.0, false, 0);
    let c = entry("m", None, "api", 0.0, false, 0);
    let batch = rules().batch([&a, &b, &c]);
    let queries: Vec<&str> = batch.iter().map(|s| s.query.as_str()).collect();
    assert_eq!(queries, ["avg:m{a:2,z:1}.rollup(30)", "avg:m{*}.rollup(30)"]);
    assert!(batch.iter().all(|s| s.window == Duration::from_secs(300)));
}

#[test]
fn refresh_results_follow_the_dca_validity_rule() {
    let now = 10_000;
    let old = entry("m", None, "web", 4.0, true, now - 60);
    let max_age = rules().max_age;
    let point = |value, age| Some(Ok(QueryPoint { value, timestamp_s: now - age }));
    let fresh = refresh::apply(&old, point(8.5, 20), max_age, now);
    assert_eq!((fresh.valid, fresh.value, fresh.timestamp), (true, 8.5, now - 20));
    let outdated = refresh::apply(&old, point(8.5, 121), max_age, now);
    assert_eq!((outdated.valid, outdated.value, outdated.timestamp), (false, 8.5, now));
    let nan = refresh::apply(&old, point(f64::NAN, 1), max_age, now);
    assert_eq!((nan.valid, nan.value), (false, 0.0));
    let api = QueryError { kind: QueryErrorKind::Api, message: "500".into() };
    let failed = refresh::apply(&old, Some(Err(&api)), max_age, now);
    assert_eq!((failed.valid, failed.value, failed.timestamp), (false, 4.0, now));
    let processing = QueryError { kind: QueryErrorKind::Processing, message: "no series".into() };
    let bad = refresh::apply(&old, Some(Err(&processing)), max_age, now);
    assert_eq!((bad.valid, bad.value), (false, 0.0));
    let missing = refresh::apply(&old, None, max_age, now);
    assert_eq!((missing.valid, missing.value, missing.timestamp), (false, 0.0, now));
    // One bad query leaves the others valid.
    let good = entry("good", None, "web", 0.0, false, 0);
    let broken = entry("broken", None, "web", 0.0, false, 0);
    let entries: BTreeMap<_, _> = [(good.key(), good.clone()), (broken.key(), broken.clone())].into();
    let mut results = QueryResults::new();
    results.insert(rules().spec(&good), Ok(QueryPoint { value: 1.0, timestamp_s: now }));
    results.insert(rules().spec(&broken), Err(processing));
    let updated = refresh::apply_all(&entries, &rules(), &results, now);
    assert!(updated[&good.key()].valid);
    assert!(!updated[&broken.key()].valid);
}

#[test]
fn a_configmap_that_would_grow_too_large_keeps_what_fits_and_says_so() {
    let big = "x".repeat(400 * 1024);
    let data: BTreeMap<String, String> = [("external_metric-a".to_owned(), big.clone())].into();
    let mut changes = Changes::default();
    changes.set.insert("external_metric-a".into(), big.clone());
    changes.set.insert("external_metric-b".into(), big.clone());
    changes.set.insert("external_metric-c".into(), big.clone());
    let (next, error) = refresh::apply_changes(&data, 0, &changes, "datadog/datadog-custom-metrics");
    assert_eq!(next.len(), 2, "the update and the first new entry fit");
    let error = error.expect("one entry left out");
    assert_eq!((error.dropped, error.examples.as_str()), (1, "external_metric-c"));
    let text = error.to_string();
    assert!(text.starts_with("ConfigMap datadog/datadog-custom-metrics would hold"), "{text}");
    assert!(text.contains(&format!("above the {MAX_CONFIGMAP_BYTES} bytes")), "{text}");
    assert!(text.contains("use_datadogmetric_crd"), "{text}");
    // Already too large: nothing applied.
    let (unchanged, error) = refresh::apply_changes(&data, MAX_CONFIGMAP_BYTES, &changes, "ns/cm");
    assert_eq!(unchanged, data);
    assert!(error.is_some());
    // Deletions always apply.
    let delete = Changes { set: BTreeMap::new(), delete: ["external_metric-a".to_owned()].into() };
    assert!(refresh::apply_changes(&data, 0, &delete, "ns/cm").0.is_empty());
}

fn provider(items: &[(&str, String)]) -> ConfigMapProvider {
    let config = CmConfig {
        namespace: "datadog".into(),
        name: "datadog-custom-metrics".into(),
        refresh_period: Duration::from_secs(30),
        batch_window: Duration::from_secs(10),
        gc_period: Duration::from_secs(300),
        local_copy_refresh_rate: Duration::from_secs(30),
        query_validity_period: Duration::from_secs(30),
        rules: rules(),
    };
    let mirror = Arc::new(mirror::Mirror::new("datadog", "datadog-custom-metrics", Duration::from_secs(60)));
    let data: BTreeMap<String, String> = items.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "datadog-custom-metrics"}, "data": data}))
        .expect("configmap");
    mirror.set(Some(cm));
    mirror.mark_synced();
    ConfigMapProvider { config: Arc::new(config), mirror, last_error: Default::default() }
}

fn read(p: &ConfigMapProvider, metric: &str, selector: &str) -> Result<Vec<(String, String)>, ProviderError> {
    let selector = LabelSelector::parse(selector).expect("selector");
    let values = p.get("anywhere", metric, &selector)?;
    Ok(values.into_iter().map(|v| (serde_json::to_string(&v.metric_labels).unwrap(), v.value)).collect())
}

#[test]
fn reads_serve_valid_entries_matching_name_and_selector() {
    let now = Timestamp::now().as_second();
    let web = entry("Nginx.Requests", labels(&[("app", "web"), ("zone", "a")]), "web", 12.5, true, now - 5);
    let api = entry("nginx.requests", labels(&[("app", "api")]), "api", 3.0, true, now - 5);
    let twin = entry("nginx.requests", labels(&[("app", "api")]), "api-twin", 3.0, true, now - 10);
    let broken = entry("nginx.requests", labels(&[("app", "db")]), "db", 0.0, false, now);
    let stale = entry("nginx.requests", labels(&[("app", "old")]), "old", 1.0, true, now - 200);
    let items: Vec<(String, String)> =
        [&web, &api, &twin, &broken, &stale].iter().map(|e| (e.key(), e.to_json())).collect();
    let items: Vec<(&str, String)> = items.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let mut items = items;
    items.push(("external_metric-horizontal-default-bad-nginx.requests", "{oops".into()));
    items.push(("unrelated", "x".into()));
    let p = provider(&items);

    let web_only = read(&p, "nginx.requests", "app=web").expect("web");
    assert_eq!(web_only, [(r#"{"app":"web","zone":"a"}"#.to_owned(), "12500m".to_owned())]);
    // Set-based selectors, and one value for the same labels used by two HPAs.
    let both = read(&p, "NGINX.requests", "app in (web,api)").expect("web and api");
    assert_eq!(both.len(), 2, "{both:?}");
    assert_eq!(
        read(&p, "nginx.requests", "zone notin (a),app=api").expect("api"),
        [(r#"{"app":"api"}"#.into(), "3".into())]
    );

    let Err(ProviderError::Unavailable(text)) = read(&p, "nginx.requests", "app=db") else { panic!("invalid entry") };
    assert_eq!(
        text,
        "external metric nginx.requests (for horizontal default/db) is not valid: the Datadog query avg:nginx.requests{app:db}.rollup(30) failed or returned no point in the last 120s. Check datadog-cluster-agent logs for errors"
    );
    let Err(ProviderError::Unavailable(text)) = read(&p, "nginx.requests", "app=old") else { panic!("stale entry") };
    assert!(
        text.starts_with("external metric nginx.requests (for horizontal default/old) is stale, last updated: "),
        "{text}"
    );
    let Err(ProviderError::NotFound(text)) = read(&p, "nginx.requests", "app=nobody") else { panic!("no entry") };
    assert_eq!(
        text,
        "no external metric nginx.requests with labels matching \"app=nobody\" in ConfigMap datadog/datadog-custom-metrics: no HPA uses it, or the leader has not written it yet"
    );
    assert!(matches!(read(&p, "redis.keys", ""), Err(ProviderError::NotFound(_))));
}

#[test]
fn reads_fail_as_the_dca_does_without_a_usable_copy() {
    let p = provider(&[]);
    p.mirror.set(None);
    assert_eq!(read(&p, "m", ""), Err(ProviderError::Unavailable(INVALID.into())));
    let unsynced = ConfigMapProvider {
        config: p.config.clone(),
        mirror: Arc::new(mirror::Mirror::new("datadog", "cm", Duration::from_secs(60))),
        last_error: Default::default(),
    };
    assert_eq!(read(&unsynced, "m", ""), Err(ProviderError::Unavailable(INVALID.into())));
    let (name, check) = unsynced.ready_check();
    assert_eq!((name, check()), ("external metrics configmap synced", Err("not synced".into())));
}
