//! The serialised replies the store keeps per entry: byte for byte what serialising the read's
//! values gives, made again when the value or its time changes, gone with the entry.

use super::*;

/// What the server answered before replies were kept: the values of `get`, serialised.
fn serialised(provider: &DatadogMetricProvider, namespace: &str, metric: &str, selector: &LabelSelector) -> Bytes {
    let items = provider.get(namespace, metric, selector).expect("values");
    Bytes::from(ExternalMetricValueList::new(items).to_json())
}

fn fresh(id: &str, value: f64, now: Timestamp) -> MetricState {
    let mut state = MetricState::autogen(id, "q", "", "", now);
    state.autogen = false;
    state.valid = true;
    state.value = value;
    state.data_time = Some(now);
    state
}

#[test]
fn a_reference_read_answers_the_kept_reply_of_its_entry() {
    let (store, _changes) = DatadogMetricStore::new();
    let store = Arc::new(store);
    let now = Timestamp::now();
    store.set(fresh("web/rps", 1.5, now), store::Writer::Controller);
    store.set(fresh("web/other", 2.0, now), store::Writer::Controller);
    let provider = provider(store.clone(), config());
    let everything = LabelSelector::everything();
    for metric in ["datadogmetric@web:rps", "DatadogMetric@Web:RPS", "datadogmetric@web:other"] {
        let reply = provider.get_reply("web", metric, &everything).expect("reply");
        assert_eq!(reply, serialised(&provider, "web", metric, &everything), "{metric}");
    }
    let reply = provider.get_reply("web", "DatadogMetric@Web:RPS", &everything).expect("reply");
    let text = String::from_utf8(reply.to_vec()).expect("utf-8");
    let expected = format!(
        "{{\"kind\":\"ExternalMetricValueList\",\"apiVersion\":\"external.metrics.k8s.io/v1beta1\",\"metadata\":{{}},\
         \"items\":[{{\"metricName\":\"datadogmetric@web:rps\",\"metricLabels\":null,\"timestamp\":\"{}\",\
         \"value\":\"1500m\"}}]}}",
        model::rfc3339(now)
    );
    assert_eq!(text, expected);
}

#[test]
fn a_kept_reply_follows_updates_and_goes_with_its_entry() {
    let (store, _changes) = DatadogMetricStore::new();
    let store = Arc::new(store);
    let now = Timestamp::now();
    store.set(fresh("web/rps", 1.5, now), store::Writer::Controller);
    let provider = provider(store.clone(), config());
    let everything = LabelSelector::everything();
    let read = || provider.get_reply("web", "datadogmetric@web:rps", &everything);
    let before = read().expect("reply");

    // A new value (and a new point time): a new reply.
    let later = Timestamp::from_second(now.as_second() + 30).expect("time");
    assert!(store.update("web/rps", store::Writer::Retriever, |s| {
        s.value = 7.0;
        s.data_time = Some(later);
    }));
    let updated = read().expect("reply");
    assert_ne!(updated, before);
    assert_eq!(updated, serialised(&provider, "web", "datadogmetric@web:rps", &everything));
    assert!(String::from_utf8_lossy(&updated).contains("\"value\":\"7\""), "{updated:?}");
    assert!(String::from_utf8_lossy(&updated).contains(&model::rfc3339(later)), "{updated:?}");

    // A change that leaves the value alone keeps the reply; one making it invalid refuses reads.
    assert!(store.update("web/rps", store::Writer::Retriever, |s| s.active = false));
    assert_eq!(read().expect("reply"), updated);
    assert!(store.update("web/rps", store::Writer::Retriever, |s| {
        s.valid = false;
        s.error = Some(MetricError::new("broken"));
    }));
    assert_eq!(read().unwrap_err(), ProviderError::Unavailable("broken".into()));
    // Valid again: the same reply, not made again (the read path's copy of `valid` followed).
    assert!(store.update("web/rps", store::Writer::Retriever, |s| {
        s.valid = true;
        s.error = None;
    }));
    let again = read().expect("reply");
    assert_eq!((again.as_ptr(), &again), (updated.as_ptr(), &updated));

    // Replaced by a write of the whole state, then deleted: not found.
    store.set(fresh("web/rps", 3.0, now), store::Writer::Controller);
    assert!(String::from_utf8_lossy(&read().expect("reply")).contains("\"value\":\"3\""));
    store.delete("web/rps", store::Writer::Controller);
    assert!(matches!(read().unwrap_err(), ProviderError::NotFound(_)));
    assert_eq!(store.len(), 0);
}

#[test]
fn stale_and_autogen_reads_answer_as_the_values_do() {
    let (store, _changes) = DatadogMetricStore::new();
    let store = Arc::new(store);
    let now = Timestamp::now();
    let mut stale = fresh("web/old", 1.0, now);
    stale.data_time = Timestamp::from_second(now.as_second() - 151).ok();
    store.set(stale, store::Writer::Controller);
    let selector = LabelSelector::parse("app=web").expect("selector");
    let id = format!("datadog/{}", expected_autogen_name("avg:nginx.net.request_per_s{app:web}.rollup(30)"));
    store.set(fresh(&id, 4.0, now), store::Writer::Controller);
    let provider = provider(store.clone(), config());
    let everything = LabelSelector::everything();
    assert_eq!(
        provider.get_reply("web", "datadogmetric@web:old", &everything).unwrap_err(),
        provider.get("web", "datadogmetric@web:old", &everything).unwrap_err()
    );
    // The entry's own maxAge decides, as updated: 10 min makes the point fresh, 0 the default again.
    let old = || provider.get_reply("web", "datadogmetric@web:old", &everything);
    assert!(matches!(old().unwrap_err(), ProviderError::Unavailable(text) if text.contains("stale")));
    assert!(store.update("web/old", store::Writer::Controller, |s| s.max_age = Duration::from_secs(600)));
    assert_eq!(
        old().expect("fresh under its own maxAge"),
        serialised(&provider, "web", "datadogmetric@web:old", &everything)
    );
    assert!(store.update("web/old", store::Writer::Controller, |s| s.max_age = Duration::ZERO));
    assert!(matches!(old().unwrap_err(), ProviderError::Unavailable(text) if text.contains("stale")));
    // An autogen entry answers with the plain name the HPA asked for, not its reference.
    let plain = provider.get_reply("web", "nginx.net.request_per_s", &selector).expect("reply");
    assert_eq!(plain, serialised(&provider, "web", "nginx.net.request_per_s", &selector));
    assert!(String::from_utf8_lossy(&plain).contains("\"metricName\":\"nginx.net.request_per_s\""));
    for metric in ["datadogmetric@web", "datadogmetric@web:nope"] {
        assert_eq!(
            provider.get_reply("web", metric, &everything).unwrap_err(),
            provider.get("web", metric, &everything).unwrap_err(),
            "{metric}"
        );
    }
}

#[test]
fn entries_are_found_by_id_and_by_parts_alike() {
    let (store, _changes) = DatadogMetricStore::new();
    let now = Timestamp::now();
    for id in ["a/b", "a/bc", "ab/c", "a-b/c"] {
        store.set(fresh(id, 1.0, now), store::Writer::Controller);
    }
    assert_eq!(store.len(), 4);
    for id in ["a/b", "a/bc", "ab/c", "a-b/c"] {
        assert_eq!(store.get(id).map(|s| s.id), Some(id.to_owned()));
        let (namespace, name) = id.split_once('/').expect("id");
        assert_eq!(store.read_served(namespace, name, |s, _| s.id.clone()), Some(id.to_owned()));
    }
    assert!(store.get("a/c").is_none() && store.get("ab").is_none());
    store.set(fresh("a/b", 2.0, now), store::Writer::Controller);
    assert_eq!(store.len(), 4, "a second write of an ID replaces its entry");
    assert_eq!(store.get("a/b").map(|s| s.value), Some(2.0));
}
