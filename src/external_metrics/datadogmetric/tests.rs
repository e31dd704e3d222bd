//! The leader loops' logic and the read path, driven directly on a store.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::autoscalers::{reconcile, references};
use super::retriever::{adjusted_window, apply_result, backoff_seconds};
use super::*;

fn config() -> ProviderConfig {
    let mut config = ProviderConfig::from_settings(&Settings::defaults()).expect("config");
    config.autogen_namespace = "datadog".into();
    config
}

fn provider(store: Arc<DatadogMetricStore>, config: ProviderConfig) -> DatadogMetricProvider {
    DatadogMetricProvider { store, config: Arc::new(config), synced: Arc::new(AtomicBool::new(true)) }
}

fn hpa(
    namespace: &str,
    name: &str,
    metric: &str,
    match_labels: Option<serde_json::Value>,
) -> Arc<HorizontalPodAutoscaler> {
    let mut external =
        serde_json::json!({"metric": {"name": metric}, "target": {"type": "AverageValue", "averageValue": "9"}});
    if let Some(labels) = match_labels {
        external["metric"]["selector"] = serde_json::json!({"matchLabels": labels});
    }
    let value = serde_json::json!({
        "metadata": {"namespace": namespace, "name": name},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3,
                 "metrics": [{"type": "External", "external": external}]}
    });
    Arc::new(serde_json::from_value(value).expect("hpa"))
}

/// The DCA recipe, computed here without the module's helpers.
fn expected_autogen_name(query: &str) -> String {
    let digest = Sha256::digest(query.as_bytes());
    let hex: String = digest.iter().take(19).map(|b| format!("{b:02x}")).collect();
    format!("dcaautogen-{hex}")
}

#[test]
fn hpas_reference_metrics_and_plain_names_autogen() {
    let config = config();
    let hpas = vec![
        hpa("web", "b", "datadogmetric@web:rps", None),
        hpa("web", "a", "DatadogMetric@Web:RPS", None),
        hpa("shop", "c", "nginx.net.request_per_s", Some(serde_json::json!({"zone": "b", "app": "web"}))),
        hpa("shop", "d", "datadogmetric@bad", None),
    ];
    let found = references(&config, &hpas);
    assert_eq!(found["web/rps"].references, vec!["hpa:web/a", "hpa:web/b"]);
    let query = "avg:nginx.net.request_per_s{app:web,zone:b}.rollup(30)";
    let id = format!("datadog/{}", expected_autogen_name(query));
    assert_eq!(found[&id].metric_name, "nginx.net.request_per_s");
    assert_eq!(found.len(), 2, "the malformed reference is ignored");

    let (store, _changes) = DatadogMetricStore::new();
    let now: Timestamp = "2024-01-01T00:00:00Z".parse().expect("time");
    reconcile(&config, &store, found, now);
    let autogen = store.get(&id).expect("autogen entry");
    assert_eq!((autogen.query.as_str(), autogen.active, autogen.autogen), (query, true, true));
    assert_eq!(autogen.autoscaler_references, "hpa:shop/c");
    assert!(store.get("web/rps").is_none(), "references to missing DatadogMetrics are not created");

    // No longer referenced: inactive and invalid now, flagged for deletion after 3 h unused.
    reconcile(&config, &store, HashMap::new(), now);
    let idle = store.get(&id).expect("still there");
    assert!(!idle.active && !idle.valid && !idle.deleted);
    reconcile(
        &config,
        &store,
        HashMap::new(),
        now.checked_add(k8s_openapi::jiff::SignedDuration::from_secs(3 * 3600 - 1)).unwrap(),
    );
    assert!(!store.get(&id).expect("kept").deleted);
    reconcile(
        &config,
        &store,
        HashMap::new(),
        now.checked_add(k8s_openapi::jiff::SignedDuration::from_secs(3 * 3600 + 1)).unwrap(),
    );
    assert!(store.get(&id).expect("flagged").deleted);
}

#[test]
fn windows_are_widened_and_capped() {
    let config = config();
    assert_eq!(adjusted_window(&config, Duration::ZERO), Duration::from_secs(300));
    assert_eq!(adjusted_window(&config, Duration::from_secs(600)), Duration::from_secs(600));
    assert_eq!(adjusted_window(&config, Duration::from_secs(200_000)), Duration::from_secs(86_400));
}

#[test]
fn results_become_values_or_the_dca_error_texts() {
    let now: Timestamp = "2024-01-01T00:10:00Z".parse().expect("time");
    let max_age = Duration::from_secs(120);
    let mut state = MetricState::autogen("a/b", "q", "m", "", now);
    let fresh = QueryPoint { value: 12.5, timestamp_s: now.as_second() - 30 };
    apply_result(&mut state, "q", Some(Ok(fresh)), false, max_age, now);
    assert!(state.valid);
    assert_eq!((state.value, state.error.clone()), (12.5, None));

    let old = QueryPoint { value: 1.0, timestamp_s: now.as_second() - 121 };
    apply_result(&mut state, "q", Some(Ok(old)), false, max_age, now);
    assert!(!state.valid);
    let text = state.error.as_ref().map(|e| e.text.clone());
    assert_eq!(
        text.as_deref(),
        Some("Processing data from API failed, reason: outdated result, check MaxAge setting, query was: q")
    );

    let api = QueryError { kind: QueryErrorKind::Api, message: "500 Internal Server Error".into() };
    apply_result(&mut state, "q", Some(Err(&api)), false, max_age, now);
    let text = state.error.as_ref().map(|e| e.text.clone());
    assert_eq!(text.as_deref(), Some("Datadog API call error (all queries), error: 500 Internal Server Error"));

    apply_result(&mut state, "q", None, false, max_age, now);
    let text = state.error.as_ref().map(|e| e.text.clone());
    assert_eq!(
        text.as_deref(),
        Some("Processing data from API failed, reason: missing result from reply, query was: q")
    );

    let nan = QueryPoint { value: f64::NAN, timestamp_s: now.as_second() };
    apply_result(&mut state, "q", Some(Ok(nan)), false, max_age, now);
    assert!(!state.valid);
    assert!(state.error.as_ref().is_some_and(|e| e.text.contains("not a finite number (NaN)")));
}

#[test]
fn split_mode_backs_off_failing_queries_but_not_rate_limits() {
    let now: Timestamp = "2024-01-01T00:10:00Z".parse().expect("time");
    let mut state = MetricState::autogen("a/b", "q", "m", "", now);
    let bad = QueryError { kind: QueryErrorKind::Processing, message: "no serie was found".into() };
    apply_result(&mut state, "q", Some(Err(&bad)), true, Duration::from_secs(120), now);
    assert_eq!(state.retries, 1);
    let after = state.retry_after.expect("retry time");
    let delay = after.as_second() - now.as_second();
    assert!((30..=60).contains(&delay), "{delay}");
    let expected = format!(
        "Processing data from API failed, reason: no serie was found, query was: q, will retry at: {}",
        after.strftime("%Y-%m-%d %H:%M:%S")
    );
    assert_eq!(state.error.as_ref().map(|e| e.text.clone()), Some(expected));

    let limited = QueryError { kind: QueryErrorKind::RateLimited, message: "429 Too Many Requests".into() };
    apply_result(&mut state, "q", Some(Err(&limited)), true, Duration::from_secs(120), now);
    assert_eq!(state.retries, 1);
    assert!(state.error.as_ref().is_some_and(|e| e.rate_limited));

    let point = QueryPoint { value: 2.0, timestamp_s: now.as_second() };
    apply_result(&mut state, "q", Some(Ok(point)), true, Duration::from_secs(120), now);
    assert_eq!((state.retries, state.retry_after), (0, None));
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    for _ in 0..20 {
        assert!((30..=60).contains(&backoff_seconds(1)));
        assert!((120..=240).contains(&backoff_seconds(3)));
        assert!((480..=960).contains(&backoff_seconds(5)));
    }
    assert_eq!(backoff_seconds(6), 1800);
    assert_eq!(backoff_seconds(100), 1800);
}

#[test]
fn reads_answer_from_the_store_with_the_dca_texts() {
    let (store, _changes) = DatadogMetricStore::new();
    let store = Arc::new(store);
    let now = Timestamp::now();
    let mut fresh = MetricState::autogen("web/rps", "q", "", "", now);
    fresh.autogen = false;
    fresh.valid = true;
    fresh.value = 1.5;
    fresh.data_time = Some(now);
    store.set(fresh.clone(), store::Writer::Controller);
    let mut stale = fresh.clone();
    stale.id = "web/old".into();
    stale.data_time = Timestamp::from_second(now.as_second() - 151).ok();
    store.set(stale.clone(), store::Writer::Controller);
    let mut invalid = fresh.clone();
    invalid.id = "web/broken".into();
    invalid.valid = false;
    invalid.error = Some(MetricError::new("Processing data from API failed, reason: x, query was: q"));
    store.set(invalid, store::Writer::Controller);

    let provider = provider(store.clone(), config());
    let everything = LabelSelector::everything();
    let values = provider.get("other", "DatadogMetric@web:RPS", &everything).expect("value");
    assert_eq!(values[0].metric_name, "datadogmetric@web:rps");
    assert_eq!(values[0].value, "1500m");
    assert_eq!(values[0].timestamp, model::rfc3339(now));

    let stale_error = provider.get("web", "datadogmetric@web:old", &everything).unwrap_err();
    let expected = format!(
        "DatadogMetric is stale, last updated: {}. Check datadog-cluster-agent logs for errors",
        stale.data_time_text()
    );
    assert_eq!(stale_error, ProviderError::Unavailable(expected));
    let invalid_error = provider.get("web", "datadogmetric@web:broken", &everything).unwrap_err();
    assert_eq!(
        invalid_error,
        ProviderError::Unavailable("Processing data from API failed, reason: x, query was: q".into())
    );
    assert_eq!(
        provider.get("web", "datadogmetric@web:nope", &everything).unwrap_err(),
        ProviderError::NotFound(
            "DatadogMetric not found for metric name: datadogmetric@web:nope, datadogmetricid: web/nope".into()
        )
    );
    assert_eq!(
        provider.get("web", "datadogmetric@web", &everything).unwrap_err(),
        ProviderError::Unavailable("ExternalMetric does not follow DatadogMetric format: datadogmetric@web".into())
    );

    // Plain names: the selector's equality requirements are the tags; others are left out.
    let selector = LabelSelector::parse("app=web,zone!=a,tier in (x)").expect("selector");
    let query = "avg:nginx.net.request_per_s{app:web}.rollup(30)";
    let id = format!("datadog/{}", expected_autogen_name(query));
    let missing = provider.get("web", "nginx.net.request_per_s", &selector).unwrap_err();
    let text = format!("DatadogMetric not found for metric name: nginx.net.request_per_s, datadogmetricid: {id}");
    assert_eq!(missing, ProviderError::NotFound(text));
    let mut autogen = fresh.clone();
    autogen.id = id;
    store.set(autogen, store::Writer::Controller);
    assert!(provider.get("web", "nginx.net.request_per_s", &selector).is_ok());

    let mut enforcing = config();
    enforcing.enforce_namespace = true;
    let strict = self::provider(store, enforcing);
    assert!(strict.get("web", "datadogmetric@web:rps", &everything).is_ok());
    let refused = strict.get("other", "datadogmetric@web:rps", &everything).unwrap_err();
    assert!(matches!(&refused, ProviderError::NotFound(text) if text.contains("enforce_namespace")), "{refused:?}");
}

#[test]
fn the_hpa_selector_setting_must_parse() {
    let env = [("DD_EXTERNAL_METRICS_PROVIDER_AUTOSCALER_AUTOGEN_LABEL_SELECTOR".to_owned(), "a in (".to_owned())];
    let (settings, _) = crate::config::load(None, env, &[]).expect("settings");
    let error = ProviderConfig::from_settings(&settings).unwrap_err().to_string();
    assert!(error.starts_with("external_metrics_provider.autoscaler_autogen_label_selector \"a in (\""), "{error}");
    let labels: BTreeMap<String, String> = BTreeMap::new();
    assert_eq!(config().autogen_id("m", &labels), format!("datadog/{}", expected_autogen_name("avg:m{*}.rollup(30)")));
}

mod replies;
