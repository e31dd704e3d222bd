//! The watches that fill the pod index: after the gate opens, one task per DPA target reads the
//! workload (GET, through the API) for its `spec.selector` and watches only the pods it selects;
//! the task is stopped and the target's pods forgotten when no DPA targets the workload any more.
//! Each task runs on a client leased from [`WatchClients`] (HTTP/2 in `serve` and `dev`: the
//! watches share a few connections instead of one TLS connection each) and lists and watches
//! through [`super::list_watch`] (no per-watch line buffer).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, DynamicObject};
use kube::core::GroupVersionKind;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::feed::TargetFeed;
use super::list_watch;
use super::{PodIndex, TargetKey};
use crate::cluster::http2::{WatchClients, WatchLease};
use crate::workload::dpa_store::DpaStore;
use crate::workload::gate::AutoscalingGate;

/// Waits for the gate, then keeps one pod watch per target until `stop`.
pub(crate) async fn run(
    clients: WatchClients,
    dpas: Arc<DpaStore>,
    gate: Arc<AutoscalingGate>,
    index: Arc<PodIndex>,
    mut stop: watch::Receiver<bool>,
) {
    tokio::select! {
        _ = gate.wait_open() => {}
        _ = stop.changed() => return,
    }
    let mut targets = dpas.subscribe_targets();
    let mut running: HashMap<TargetKey, JoinHandle<()>> = HashMap::new();
    loop {
        let wanted = targets.borrow_and_update().clone();
        running.retain(|target, task| {
            let keep = wanted.contains(target);
            if !keep {
                task.abort();
                index.drop_target(target);
                tracing::info!(%target, "no DPA targets the workload any more: pod watch stopped");
            }
            keep
        });
        let new: Vec<TargetKey> = wanted.into_iter().filter(|t| !running.contains_key(t)).collect();
        for target in new {
            let feed = index.follow(target.clone());
            running.insert(target, tokio::spawn(watch_target(clients.lease(), feed)));
        }
        tokio::select! {
            changed = targets.changed() => if changed.is_err() { break },
            _ = stop.changed() => break,
        }
    }
    running.into_values().for_each(|t| t.abort());
}

/// Runs until aborted; the lease (the watch's slot on its connection) goes with the task.
async fn watch_target(lease: WatchLease, mut feed: TargetFeed) {
    let client = lease.client();
    let target = feed.target().clone();
    let selector = selector_with_retry(client, &target).await;
    tracing::info!(%target, %selector, "watching the target's pods");
    let what = target.to_string();
    list_watch::run(client, &target.namespace, &selector, &what, |event| feed.apply(event)).await
}

/// Reads the workload's selector, retrying (1 s doubling to 60 s) while it is missing or unusable.
async fn selector_with_retry(client: &kube::Client, target: &TargetKey) -> String {
    let mut delay = Duration::from_secs(1);
    loop {
        // Boxed: it runs once, and the watch task's future would otherwise carry its size.
        match Box::pin(workload_selector(client, target)).await {
            Ok(s) => return s,
            Err(e) => tracing::warn!(%target, error = %e, retry_in = ?delay, "cannot read the target's pod selector"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}

async fn workload_selector(client: &kube::Client, target: &TargetKey) -> Result<String, String> {
    let (group, version) = target.api_version.rsplit_once('/').unwrap_or(("", &target.api_version));
    let gvk = GroupVersionKind::gvk(group, version, &target.kind);
    let (resource, _) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| format!("{} {}: unknown kind: {e}", target.api_version, target.kind))?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &target.namespace, &resource);
    let workload = api.get(&target.name).await.map_err(|e| format!("get {target}: {e}"))?;
    let raw =
        workload.data.pointer("/spec/selector").cloned().ok_or_else(|| format!("{target} has no spec.selector"))?;
    let selector: LabelSelector =
        serde_json::from_value(raw).map_err(|e| format!("{target}: spec.selector is not a label selector: {e}"))?;
    let text = selector_string(&selector)?;
    if text.is_empty() {
        return Err(format!("{target}: spec.selector selects every pod; refusing to watch the whole namespace"));
    }
    Ok(text)
}

/// A `metav1.LabelSelector` in the `labelSelector` query syntax.
pub fn selector_string(selector: &LabelSelector) -> Result<String, String> {
    let mut parts: Vec<String> = Vec::new();
    for (k, v) in selector.match_labels.iter().flatten() {
        parts.push(format!("{k}={v}"));
    }
    for e in selector.match_expressions.iter().flatten() {
        let values = || e.values.as_deref().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({})", e.key, values()),
            "NotIn" => format!("{} notin ({})", e.key, values()),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            other => return Err(format!("selector on key {}: unknown operator {other:?}", e.key)),
        });
    }
    Ok(parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A target's watch task is spawned for as long as the target exists (1,000 of them at 1,000
    /// DPAs), and its future is allocated at its largest await's size: the rare ones (reading the
    /// workload's selector, listing, sending the watch request) are boxed so the idle watch keeps
    /// only what reading the stream needs. Debug build: 2,832 bytes before they were boxed, 1,504
    /// after (release builds are smaller still).
    #[tokio::test]
    async fn a_target_watch_task_stays_small() {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let clients = WatchClients::shared(kube::Client::try_from(config).unwrap());
        let target = TargetKey {
            namespace: "default".into(),
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "web".into(),
        };
        let task = watch_target(clients.lease(), Arc::new(PodIndex::default()).follow(target));
        let size = std::mem::size_of_val(&task);
        assert!(size <= 2048, "the watch task's future is {size} bytes");
    }

    #[test]
    fn selectors_render_in_query_syntax() {
        let s: LabelSelector = serde_json::from_value(serde_json::json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "NotIn", "values": ["x"]},
                {"key": "team", "operator": "Exists"}]
        }))
        .unwrap();
        assert_eq!(selector_string(&s).unwrap(), "app=web,tier in (a,b),!canary,zone notin (x),team");
        let bad: LabelSelector =
            serde_json::from_value(serde_json::json!({"matchExpressions": [{"key": "k", "operator": "Near"}]}))
                .unwrap();
        assert_eq!(selector_string(&bad).unwrap_err(), "selector on key k: unknown operator \"Near\"");
    }
}
