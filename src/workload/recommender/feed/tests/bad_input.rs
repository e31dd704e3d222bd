//! Malformed feeds: payloads of the wrong shape, specs the controller refuses, absurd quantities,
//! truncated and oversized documents — each an error of its own config, the rest still applied.

use axum::Router;
use axum::routing::get;
use futures::stream;

use super::*;

fn state_of(feed: &RecommendationFeed, id: &str) -> ConfigState {
    feed.status().configs.into_iter().find(|c| c.id == id).unwrap_or_else(|| panic!("config {id} in the status"))
}

#[tokio::test]
async fn payloads_of_the_wrong_shape_are_errors_of_their_config_only() {
    let (feed, store) = feed(true);
    let configs = vec![
        raw(SETTINGS_PRODUCT, "text", 1, json!({"settings": "web"})),
        raw(SETTINGS_PRODUCT, "array", 1, json!([setting("prod", "web")])),
        raw(SETTINGS_PRODUCT, "number-entry", 1, json!({"settings": [42, setting("prod", "web")]})),
        raw(VALUES_PRODUCT, "map", 1, json!({"values": {"prod/web": 3}})),
        raw(VALUES_PRODUCT, "good", 1, json!({"values": [horizontal_value("prod", "web", 3)]})),
        raw("CONTAINER_AUTOSCALING_SECRETS", "other", 1, json!({})),
    ];
    feed.apply(configs, now()).await;
    let web = dpa(&store, "prod", "web").await;
    assert_eq!(web.main.horizontal.map(|h| h.replicas), Some(3), "the good entries still apply");

    let error = |id: &str| {
        let state = state_of(&feed, id);
        assert_eq!(state.state, ApplyState::Error, "{id}");
        state.error.unwrap()
    };
    assert!(error("text").contains("(id text, version 1): not a settings list {\"settings\": [...]}: invalid type"));
    assert!(error("array").contains("not a settings list"));
    assert!(error("number-entry").contains("settings[0]: invalid type: integer `42`"), "{}", error("number-entry"));
    assert!(error("map").contains("not a WorkloadValuesList {\"values\": [...]}: invalid type: map"));
    assert!(error("other").contains("unknown product \"CONTAINER_AUTOSCALING_SECRETS\""));
    assert_eq!(state_of(&feed, "good").state, ApplyState::Acknowledged);
}

#[tokio::test]
async fn a_spec_the_controller_refuses_is_an_error_and_keeps_the_working_spec() {
    let (feed, store) = feed(true);
    feed.apply(vec![settings(json!([setting("prod", "web"), setting("prod", "api")]))], now()).await;
    let before = dpa(&store, "prod", "web").await.spec;

    let mut inverted = setting("prod", "web");
    inverted["specs"]["v1alpha2"]["constraints"] = json!({"minReplicas": 5, "maxReplicas": 2});
    let mut negative = setting("prod", "db");
    negative["specs"]["v1alpha2"]["constraints"] =
        json!({"containers": [{"name": "app", "maxAllowed": {"memory": "-1"}}]});
    let mut empty = setting("prod", "idle");
    empty["specs"]["v1alpha2"]["objectives"] = json!([]);
    let entries = json!([inverted, negative, setting("prod", "api"), setting("prod", "new"), empty]);
    feed.apply(vec![settings(entries)], now()).await;

    assert_eq!(dpa(&store, "prod", "web").await.spec, before, "the refused update changes nothing");
    assert!(store.get(&DpaKey::new("prod", "db")).is_none(), "a refused DPA is not created");
    assert!(store.get(&DpaKey::new("prod", "idle")).is_none(), "the CRD would refuse it");
    assert!(store.get(&DpaKey::new("prod", "new")).is_some(), "the other entries apply");
    assert!(!dpa(&store, "prod", "api").await.deleted);
    let state = state_of(&feed, "s");
    assert_eq!(state.state, ApplyState::Error);
    let error = state.error.unwrap();
    assert!(
        error.contains(
            "settings[0]: PodAutoscaler prod/web: invalid spec (InvalidSpec): constraints.maxReplicas (2) must be \
             greater than or equal to constraints.minReplicas (5)"
        ),
        "{error}"
    );
    assert!(
        error.contains(
            "settings[1]: PodAutoscaler prod/db: invalid spec (InvalidSpec): container \"app\": maxAllowed memory \
             (-1) must not be negative"
        ),
        "{error}"
    );
    assert!(error.contains("settings[4]: PodAutoscaler prod/idle: objectives is an empty list"), "{error}");
}

#[test]
fn absurd_recommended_quantities_discard_the_entry() {
    let entry = |value: &str| {
        json!({"namespace": "a", "name": "b", "vertical": {"auto": {"resources": [{"containerName": "app",
            "requests": [{"name": "cpu", "value": value}]}]}}})
    };
    for (value, want) in [
        ("-1", "resource cpu value \"-1\" is negative"),
        ("1e30", "resource cpu value \"1e30\" is too large for a resource quantity"),
        ("abc", "cannot parse resource cpu value \"abc\""),
        ("", "cannot parse resource cpu value \"\""),
    ] {
        let err = parse_values(entry(value)).unwrap_err();
        assert!(err.starts_with("values[0]: invalid scaling values for PodAutoscaler a/b, discarded: "), "{err}");
        assert!(err.contains(want), "{err} should contain {want}");
    }
    assert!(parse_values(entry("64")).is_ok());
}

#[tokio::test]
async fn truncated_config_files_are_errors_and_the_others_apply() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("settings")).unwrap();
    std::fs::create_dir_all(dir.path().join("values")).unwrap();
    let good = json!({"version": 2, "config": {"settings": [setting("prod", "web")]}}).to_string();
    std::fs::write(dir.path().join("settings/good.json"), &good).unwrap();
    std::fs::write(dir.path().join("settings/cut.json"), &good[..good.len() / 2]).unwrap();
    std::fs::write(dir.path().join("values/empty.json"), "").unwrap();
    let store = Arc::new(InternalStore::default());
    let config = FeedConfig { source: FeedSource::Path(dir.path().into()), poll_interval: Duration::from_secs(1) };
    let feed = RecommendationFeed::new(config, store.clone(), fixed_leadership(true)).unwrap();
    feed.poll_once().await;
    assert!(store.get(&DpaKey::new("prod", "web")).is_some());
    let cut = state_of(&feed, "cut");
    assert_eq!(cut.state, ApplyState::Error);
    assert!(cut.error.as_deref().unwrap().contains("settings/cut.json"), "{cut:?}");
    assert!(cut.error.as_deref().unwrap().contains("EOF while parsing"), "{cut:?}");
    let empty = state_of(&feed, "empty");
    assert!(empty.error.as_deref().unwrap().contains("not a config envelope"), "{empty:?}");
    assert_eq!(state_of(&feed, "good").state, ApplyState::Acknowledged);
    assert_eq!(feed.status().source_error, None);
}

#[tokio::test]
async fn an_oversized_or_failing_http_index_is_a_source_error() {
    // 33 chunks of 1 MiB without a Content-Length: the reader stops past the limit.
    let chunk = vec![b' '; 1 << 20];
    let huge = Router::new().route(
        "/huge",
        get(move || {
            let chunk = chunk.clone();
            let chunks = (0..33).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
            async move { axum::body::Body::from_stream(stream::iter(chunks)) }
        }),
    );
    let app = huge.route("/broken", get(|| async { (axum::http::StatusCode::BAD_GATEWAY, "upstream down") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = source::http_client().unwrap();
    for (path, want) in [
        ("huge", format!("the index is larger than {MAX_INDEX_BYTES} bytes")),
        ("broken", "HTTP 502 Bad Gateway (expected 200)".to_string()),
    ] {
        let url = format!("http://{addr}/{path}");
        let err = FeedSource::Http(url.clone()).fetch(&client).await.unwrap_err();
        assert!(err.starts_with(&format!("GET {url}: ")), "{err}");
        assert!(err.contains(&want), "{err} should contain {want}");
    }
    server.abort();
}
