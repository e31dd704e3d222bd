//! Watch streams: initial events (or replay from a resourceVersion, 410 once compacted), live
//! changes filtered by namespace and selectors (objects moving in/out of a selector become
//! ADDED/DELETED), BOOKMARKs, `sendInitialEvents` with the initial-events-end bookmark, timeouts.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::super::registry::ResourceType;
use super::super::status::{ApiError, ApiResult};
use super::super::store::{Change, ChangeType, StoreError, Stored, Subscription};
use super::super::{Cluster, table};
use super::read::{Format, Selectors, format, partial_metadata};
use super::{Call, Query};

/// Everything the streaming task needs, detached from the request.
struct WatchPlan {
    cluster: Arc<Cluster>,
    rt: Arc<ResourceType>,
    namespace: String,
    selectors: Selectors,
    format: Format,
    query: Query,
    bookmarks: bool,
    initial_end_bookmark: bool,
    timeout: Duration,
}

pub fn watch(call: &Call, rt: &ResourceType) -> ApiResult<Response> {
    let q = &call.query;
    let bookmarks = q.flag("allowWatchBookmarks");
    let send_initial = q.get("sendInitialEvents");
    if send_initial.is_some() {
        check_streaming_list(q, bookmarks)?;
    }
    let start = match (q.get("resourceVersion").unwrap_or(""), send_initial) {
        (_, Some("true")) => None,
        ("" | "0", Some("false")) => Some(call.cluster.store.current_rv()),
        ("" | "0", _) => None,
        (rv, _) => {
            Some(rv.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?)
        }
    };
    let plan = WatchPlan {
        cluster: call.cluster.clone(),
        rt: Arc::new(rt.clone()),
        namespace: call.info.namespace.clone(),
        selectors: Selectors::parse(q, rt)?,
        format: format(call)?,
        query: q.clone(),
        bookmarks,
        initial_end_bookmark: send_initial == Some("true"),
        timeout: timeout(q)?,
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    match call.cluster.store.subscribe(&rt.table, start) {
        Ok(sub) => {
            tokio::spawn(stream(plan, sub, tx));
        }
        Err(StoreError::Expired { asked, oldest }) => {
            let status = ApiError::gone(format!("too old resource version: {asked} ({oldest})")).to_status();
            let line = format!("{}\n", json!({"type": "ERROR", "object": status}));
            let _ = tx.try_send(Ok(Bytes::from(line)));
        }
        Err(e) => return Err(ApiError::internal(e.to_string())),
    }
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-cache, private")],
        body,
    )
        .into_response())
}

fn check_streaming_list(q: &Query, bookmarks: bool) -> ApiResult<()> {
    let mut causes = Vec::new();
    if q.get("resourceVersionMatch") != Some("NotOlderThan") && q.get("sendInitialEvents") == Some("true") {
        causes.push(json!({"reason":"FieldValueForbidden","message":"Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan","field":"resourceVersionMatch"}));
    }
    if !bookmarks {
        causes.push(json!({"reason":"FieldValueRequired","message":"Required value: allowWatchBookmarks must be set to true when sendInitialEvents is specified","field":"allowWatchBookmarks"}));
    }
    if causes.is_empty() { Ok(()) } else { Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", causes)) }
}

fn timeout(q: &Query) -> ApiResult<Duration> {
    match q.get("timeoutSeconds") {
        Some(s) if !s.is_empty() => {
            let secs: u64 = s.parse().map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {s}")))?;
            Ok(Duration::from_secs(secs))
        }
        // kube-apiserver: minRequestTimeout (1800 s) times a random factor in [1, 2).
        _ => Ok(Duration::from_secs(rand::rng().random_range(1800..3600))),
    }
}

async fn stream(plan: WatchPlan, mut sub: Subscription, tx: mpsc::Sender<Result<Bytes, Infallible>>) {
    let mut last_rv = sub.rv;
    if let Some(snapshot) = sub.snapshot.take() {
        for s in snapshot.values().filter(|s| in_scope(&plan, s) && plan.selectors.matches(s)) {
            if !send(&tx, event(&plan, ChangeType::Added.as_str(), s)).await {
                return;
            }
        }
    }
    if plan.initial_end_bookmark && !send(&tx, bookmark(&plan, last_rv, true)).await {
        return;
    }
    for change in std::mem::take(&mut sub.replay) {
        if let Some(line) = classify(&plan, &change) {
            last_rv = change.rv;
            if !send(&tx, line).await {
                return;
            }
        }
    }
    live(plan, sub, tx, last_rv).await;
}

async fn live(plan: WatchPlan, mut sub: Subscription, tx: mpsc::Sender<Result<Bytes, Infallible>>, mut last_rv: u64) {
    let deadline = tokio::time::sleep(plan.timeout);
    tokio::pin!(deadline);
    let mut ticker = tokio::time::interval(plan.cluster.config.bookmark_interval);
    ticker.tick().await;
    let mut closer = plan.cluster.faults.watch_closer();
    loop {
        tokio::select! {
            _ = &mut deadline => {
                if plan.bookmarks {
                    send(&tx, bookmark(&plan, last_rv, false)).await;
                }
                return;
            }
            _ = closer.changed() => return,
            _ = tx.closed() => return,
            _ = ticker.tick(), if plan.bookmarks => {
                if !send(&tx, bookmark(&plan, last_rv, false)).await {
                    return;
                }
            }
            next = sub.live.recv() => match next {
                Ok(change) if change.rv <= sub.rv => {}
                Ok(change) => {
                    last_rv = change.rv;
                    if change.table != plan.rt.table {
                        continue;
                    }
                    if let Some(line) = classify(&plan, &change)
                        && !send(&tx, line).await
                    {
                        return;
                    }
                }
                // A slow watcher is cut off; the client resumes from its last resourceVersion.
                Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
            },
        }
    }
}

async fn send(tx: &mpsc::Sender<Result<Bytes, Infallible>>, line: Bytes) -> bool {
    tx.send(Ok(line)).await.is_ok()
}

fn in_scope(plan: &WatchPlan, s: &Stored) -> bool {
    plan.namespace.is_empty() || !plan.rt.namespaced || s.key.namespace == plan.namespace
}

/// The event this watcher sees for a change, if any.
fn classify(plan: &WatchPlan, change: &Change) -> Option<Bytes> {
    if change.table != plan.rt.table {
        return None;
    }
    let visible = |s: &Stored| in_scope(plan, s) && plan.selectors.matches(s);
    let now = visible(&change.object);
    let before = change.prev.as_deref().is_some_and(visible);
    let kind = match change.kind {
        ChangeType::Added => now.then_some("ADDED"),
        ChangeType::Deleted => now.then_some("DELETED"),
        ChangeType::Modified => match (before, now) {
            (true, true) => Some("MODIFIED"),
            (false, true) => Some("ADDED"),
            (true, false) => Some("DELETED"),
            (false, false) => None,
        },
    }?;
    Some(event(plan, kind, &change.object))
}

fn event(plan: &WatchPlan, kind: &str, s: &Stored) -> Bytes {
    let converted =
        !plan.rt.is_storage_version() || plan.rt.table.split_once('/').is_some_and(|(g, _)| g != plan.rt.group);
    if plan.format == Format::Full && !converted {
        let mut buf = Vec::with_capacity(s.json.len() + 32);
        buf.extend_from_slice(format!("{{\"type\":\"{kind}\",\"object\":").as_bytes());
        buf.extend_from_slice(&s.json);
        buf.extend_from_slice(b"}\n");
        return Bytes::from(buf);
    }
    let obj = plan.cluster.from_storage(&plan.rt, s.value()).unwrap_or(Value::Null);
    let obj = match plan.format {
        Format::Full => obj,
        Format::Metadata => partial_metadata(&obj),
        Format::Table => table::render(&plan.rt, &[obj], &plan.query, json!({"resourceVersion": s.rv.to_string()})),
    };
    Bytes::from(format!("{}\n", json!({"type": kind, "object": obj})))
}

fn bookmark(plan: &WatchPlan, rv: u64, initial_end: bool) -> Bytes {
    let (api_version, kind) = match plan.format {
        Format::Full => (plan.rt.api_version(), plan.rt.kind.clone()),
        Format::Metadata => ("meta.k8s.io/v1".to_string(), "PartialObjectMetadata".to_string()),
        Format::Table => ("meta.k8s.io/v1".to_string(), "Table".to_string()),
    };
    let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let obj = json!({"kind": kind, "apiVersion": api_version, "metadata": meta});
    Bytes::from(format!("{}\n", json!({"type": "BOOKMARK", "object": obj})))
}
