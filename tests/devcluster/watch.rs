//! Watches: kube-rs watcher/reflector (initial list, resume, 410 → relist, streaming lists) and the
//! wire format (bookmarks, selector transitions, ERROR 410 for a compacted resourceVersion).

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::Value;

use super::support::{fast_bookmarks, http, start, start_with};

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Runs a reflector and waits (bounded) until its store satisfies `done`.
async fn reflect_until(
    api: Api<ConfigMap>,
    config: watcher::Config,
    mut act: impl AsyncFnMut(u32),
    done: impl Fn(&[String]) -> bool,
) {
    let (reader, writer) = reflector::store();
    let stream = reflector(writer, watcher(api, config)).applied_objects();
    let task = tokio::spawn(async move {
        let mut s = std::pin::pin!(stream);
        while s.next().await.is_some() {}
    });
    let mut step = 0;
    let ok = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let mut names: Vec<String> = reader.state().iter().filter_map(|c| c.metadata.name.clone()).collect();
            names.sort();
            if done(&names) {
                return;
            }
            act(step).await;
            step += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    task.abort();
    assert!(ok.is_ok(), "reflector did not converge");
}

#[tokio::test]
async fn reflector_lists_then_follows_and_survives_closed_streams() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    api.create(&PostParams::default(), &cm("before", &[])).await.unwrap();
    let writer = api.clone();
    let faults = dc.faults();
    reflect_until(
        api,
        watcher::Config::default(),
        async |step| match step {
            3 => drop(writer.create(&PostParams::default(), &cm("during", &[])).await.unwrap()),
            6 => faults.close_watches(),
            9 => drop(writer.create(&PostParams::default(), &cm("after-close", &[])).await.unwrap()),
            _ => {}
        },
        |names| {
            names == ["after-close", "before", "during", "kube-root-ca.crt"]
                || names == ["after-close", "before", "during"]
        },
    )
    .await;
}

#[tokio::test]
async fn expired_history_makes_the_watcher_relist() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    let writer = api.clone();
    reflect_until(
        api,
        watcher::Config::default(),
        async |step| {
            if step == 3 {
                // Drop the stream and compact: the resume from the old resourceVersion gets 410 and kube-rs relists.
                dc.expire_history();
                dc.faults().close_watches();
                writer.create(&PostParams::default(), &cm("made-in-gap", &[])).await.unwrap();
            }
        },
        |names| names.contains(&"made-in-gap".to_string()),
    )
    .await;
}

#[tokio::test]
async fn streaming_list_watch() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    api.create(&PostParams::default(), &cm("s1", &[])).await.unwrap();
    let writer = api.clone();
    reflect_until(
        api,
        watcher::Config::default().streaming_lists(),
        async |step| {
            if step == 2 {
                writer.create(&PostParams::default(), &cm("s2", &[])).await.unwrap();
            }
        },
        |names| names.contains(&"s1".to_string()) && names.contains(&"s2".to_string()),
    )
    .await;
}

/// Reads watch lines for at most `secs` seconds or `max` lines.
async fn watch_lines(
    dc: &autoscaling_apiserver::devcluster::DevCluster,
    query: &str,
    max: usize,
    secs: u64,
) -> Vec<Value> {
    let mut resp = http(dc)
        .get(format!("{}/api/v1/namespaces/default/configmaps?watch=true&{query}", dc.url()))
        .bearer_auth(dc.admin_token())
        .send()
        .await
        .unwrap();
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(secs), async {
        while let Ok(Some(chunk)) = resp.chunk().await {
            buf.extend_from_slice(&chunk);
            while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                lines.push(serde_json::from_slice(&line).unwrap());
                if lines.len() >= max {
                    return;
                }
            }
        }
    })
    .await;
    lines
}

#[tokio::test]
async fn bookmarks_and_initial_events_end() {
    let dc = start_with(fast_bookmarks()).await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    api.create(&PostParams::default(), &cm("x", &[])).await.unwrap();
    let lines =
        watch_lines(&dc, "allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan", 3, 5)
            .await;
    assert_eq!(lines[0]["type"], "ADDED");
    assert_eq!(lines[0]["object"]["metadata"]["name"], "x");
    assert_eq!(lines[1]["type"], "BOOKMARK");
    assert_eq!(lines[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"], "true");
    assert_eq!(lines[2]["type"], "BOOKMARK", "periodic bookmark");
    assert!(lines[2]["object"]["metadata"]["resourceVersion"].as_str().unwrap().parse::<u64>().unwrap() > 0);
}

#[tokio::test]
async fn compacted_resource_version_gets_410_error_event() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    let old = api.create(&PostParams::default(), &cm("x", &[])).await.unwrap();
    api.create(&PostParams::default(), &cm("y", &[])).await.unwrap();
    dc.expire_history();
    let rv = old.metadata.resource_version.unwrap();
    let lines = watch_lines(&dc, &format!("resourceVersion={rv}"), 1, 5).await;
    assert_eq!(lines[0]["type"], "ERROR");
    assert_eq!(lines[0]["object"]["code"], 410);
    assert_eq!(lines[0]["object"]["reason"], "Expired");
}

#[tokio::test]
async fn label_selector_transitions_become_added_and_deleted() {
    let dc = start().await;
    let api: Api<ConfigMap> = Api::namespaced(dc.client().await.unwrap(), "default");
    let now = dc.resource_version();
    let writer = api.clone();
    let watcher = tokio::spawn({
        let query = format!("resourceVersion={now}&labelSelector=app%3Dweb");
        let url = dc.url();
        let token = dc.admin_token().to_string();
        let client = http(&dc);
        async move {
            let mut resp = client
                .get(format!("{url}/api/v1/namespaces/default/configmaps?watch=true&{query}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let mut text = String::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while let Ok(Some(c)) = resp.chunk().await {
                    text.push_str(&String::from_utf8_lossy(&c));
                    if text.matches('\n').count() >= 3 {
                        return;
                    }
                }
            })
            .await;
            text
        }
    });
    writer.create(&PostParams::default(), &cm("t", &[("app", "other")])).await.unwrap();
    let mut obj = writer.get("t").await.unwrap();
    obj.metadata.labels = Some([("app".to_string(), "web".to_string())].into());
    let obj = writer.replace("t", &PostParams::default(), &obj).await.unwrap();
    let mut again = obj.clone();
    again.data = Some([("k".to_string(), "v".to_string())].into());
    let again = writer.replace("t", &PostParams::default(), &again).await.unwrap();
    let mut away = again.clone();
    away.metadata.labels = Some([("app".to_string(), "other".to_string())].into());
    writer.replace("t", &PostParams::default(), &away).await.unwrap();
    let text = watcher.await.unwrap();
    let types: Vec<String> =
        text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED"]);
}
