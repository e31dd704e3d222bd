//! get and list: content negotiation (full objects, Table, PartialObjectMetadata), selectors,
//! `limit`/`continue` paging over a consistent snapshot, and resourceVersion semantics.

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::super::registry::ResourceType;
use super::super::selector::{FieldSelector, LabelSelector};
use super::super::status::{ApiError, ApiResult};
use super::super::store::{ObjectKey, StoreError, Stored, Table};
use super::super::{Cluster, builtin, table};
use super::{Call, Query, header_str, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Full,
    Table,
    Metadata,
}

/// What the client's Accept header asks for (406 when it accepts nothing we produce).
pub fn format(call: &Call) -> ApiResult<Format> {
    let accept = header_str(&call.headers, header::ACCEPT.as_str());
    if accept.trim().is_empty() {
        return Ok(Format::Full);
    }
    for media in accept.split(',') {
        let mut parts = media.split(';').map(str::trim);
        let base = parts.next().unwrap_or("");
        let as_ = parts.find_map(|p| p.strip_prefix("as=")).unwrap_or("");
        let json_like = matches!(base, "application/json" | "*/*" | "application/*");
        match (json_like, as_) {
            (true, "Table") => return Ok(Format::Table),
            (true, "PartialObjectMetadata" | "PartialObjectMetadataList") => return Ok(Format::Metadata),
            (true, "") => return Ok(Format::Full),
            _ => {}
        }
    }
    Err(ApiError::not_acceptable(&accept))
}

pub fn get(call: &Call, rt: &ResourceType) -> ApiResult<Response> {
    let obj = call.cluster.op_get(rt, &call.info.namespace, &call.info.name)?;
    let body = match format(call)? {
        Format::Full => obj,
        Format::Metadata => partial_metadata(&obj),
        Format::Table => table::render(rt, &[obj], &call.query, json!({"resourceVersion": ""})),
    };
    Ok(json(StatusCode::OK, &body, &[]))
}

/// Parsed selectors of a list or watch.
pub struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selectors {
    pub fn parse(q: &Query, rt: &ResourceType) -> ApiResult<Self> {
        let labels = match q.get("labelSelector") {
            Some(s) if !s.is_empty() => LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
            _ => LabelSelector::everything(),
        };
        let fields = match q.get("fieldSelector") {
            Some(s) if !s.is_empty() => FieldSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
            _ => FieldSelector::everything(),
        };
        let supported: &[&str] = if rt.custom.is_some() { &[] } else { builtin::field_labels(&rt.group, &rt.kind) };
        for f in fields.fields() {
            if !matches!(f, "metadata.name" | "metadata.namespace") && !supported.contains(&f) {
                return Err(ApiError::bad_request(format!("field label not supported: {f}")));
            }
        }
        Ok(Selectors { labels, fields })
    }

    pub fn matches(&self, s: &Stored) -> bool {
        self.labels.matches(&s.labels) && self.fields.matches(&|f: &str| s.field(f))
    }

    fn filtering(&self) -> bool {
        !self.labels.is_empty() || self.fields.fields().next().is_some()
    }
}

/// The `continue` token: the snapshot's resourceVersion and the key to resume after.
#[derive(serde::Serialize, serde::Deserialize)]
struct Continue {
    v: String,
    rv: u64,
    start: String,
}

fn encode_continue(rv: u64, next: &ObjectKey) -> String {
    let token = Continue { v: "meta.k8s.io/v1".into(), rv, start: format!("{}/{}", next.namespace, next.name) };
    base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_continue(s: &str) -> ApiResult<(u64, ObjectKey)> {
    let bad = || ApiError::bad_request(format!("continue key is not valid: {s}"));
    let raw = base64::engine::general_purpose::URL_SAFE.decode(s).map_err(|_| bad())?;
    let token: Continue = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let (ns, name) = token.start.split_once('/').ok_or_else(bad)?;
    Ok((token.rv, ObjectKey::new(ns, name)))
}

/// Which snapshot a list reads and from where.
async fn list_snapshot(c: &Cluster, rt: &ResourceType, q: &Query) -> ApiResult<(u64, Table, Option<ObjectKey>)> {
    if let Some(token) = q.get("continue").filter(|s| !s.is_empty()) {
        if q.get("resourceVersion").is_some_and(|s| !s.is_empty()) {
            return Err(ApiError::bad_request("specifying resource version is not allowed when using continue"));
        }
        let (rv, start) = decode_continue(token)?;
        let snap = c.store.snapshot_at(&rt.table, rv).map_err(|_| ApiError::gone(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        ))?;
        return Ok((rv, snap, Some(start)));
    }
    let rv = match q.get("resourceVersion") {
        None | Some("") | Some("0") => None,
        Some(s) => Some(s.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid resource version: {s}")))?),
    };
    match (rv, q.get("resourceVersionMatch")) {
        (Some(rv), Some("Exact")) => {
            let snap = c.store.snapshot_at(&rt.table, rv).map_err(|e| match e {
                StoreError::Expired { asked, oldest } => {
                    ApiError::gone(format!("too old resource version: {asked} ({oldest})"))
                }
                other => ApiError::internal(other.to_string()),
            })?;
            Ok((rv, snap, None))
        }
        (None, Some("Exact")) => {
            Err(ApiError::bad_request("resourceVersionMatch \"Exact\" requires a resourceVersion"))
        }
        (_, Some(m)) if !matches!(m, "" | "NotOlderThan" | "Exact") => {
            Err(ApiError::bad_request(format!("unsupported resourceVersionMatch value: {m}")))
        }
        (Some(rv), _) => {
            wait_for_rv(c, rv).await?;
            let (now, snap) = c.store.snapshot(&rt.table);
            Ok((now, snap, None))
        }
        (None, _) => {
            let (now, snap) = c.store.snapshot(&rt.table);
            Ok((now, snap, None))
        }
    }
}

/// A resourceVersion from the future: wait briefly, then 504 like kube-apiserver.
pub async fn wait_for_rv(c: &Cluster, rv: u64) -> ApiResult<()> {
    for _ in 0..30 {
        if c.store.current_rv() >= rv {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(ApiError::new(504, "Timeout", format!("Too large resource version: {rv}, current: {}", c.store.current_rv()))
        .with_details(json!({"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}],"retryAfterSeconds":1})))
}

pub async fn list(call: &Call, rt: &ResourceType) -> ApiResult<Response> {
    let fmt = format(call)?;
    let sel = Selectors::parse(&call.query, rt)?;
    let limit = match call.query.get("limit") {
        Some(s) if !s.is_empty() => {
            s.parse::<i64>().map_err(|_| ApiError::bad_request(format!("invalid limit: {s}")))?.max(0) as usize
        }
        _ => 0,
    };
    let (rv, snap, start) = list_snapshot(&call.cluster, rt, &call.query).await?;
    let page = select(&snap, rt, &call.info.namespace, &sel, start, limit);
    let mut list_meta = json!({"resourceVersion": rv.to_string()});
    if let Some(next) = &page.next {
        list_meta["continue"] = json!(encode_continue(rv, next));
        if !sel.filtering() {
            list_meta["remainingItemCount"] = json!(page.remaining);
        }
    }
    let c = &call.cluster;
    match fmt {
        Format::Full if rt.is_storage_version() && !is_converted(rt) => Ok(raw_list(rt, &list_meta, &page.items)),
        Format::Full => {
            let items = converted(c, rt, &page.items)?;
            Ok(json(
                StatusCode::OK,
                &json!({"kind": rt.list_kind, "apiVersion": rt.api_version(), "metadata": list_meta, "items": items}),
                &[],
            ))
        }
        Format::Metadata => {
            let items: Vec<Value> = converted(c, rt, &page.items)?.iter().map(partial_metadata).collect();
            let body = json!({"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":list_meta,"items":items});
            Ok(json(StatusCode::OK, &body, &[]))
        }
        Format::Table => {
            Ok(json(StatusCode::OK, &table::render(rt, &converted(c, rt, &page.items)?, &call.query, list_meta), &[]))
        }
    }
}

fn is_converted(rt: &ResourceType) -> bool {
    rt.table.split_once('/').is_some_and(|(g, _)| g != rt.group)
}

pub fn converted(c: &Cluster, rt: &ResourceType, items: &[Arc<Stored>]) -> ApiResult<Vec<Value>> {
    items.iter().map(|s| c.from_storage(rt, s.value())).collect()
}

/// Builds the list body from stored bytes without re-parsing (the 50,000-pod path).
fn raw_list(rt: &ResourceType, meta: &Value, items: &[Arc<Stored>]) -> Response {
    let head = format!(
        "{{\"kind\":\"{}\",\"apiVersion\":\"{}\",\"metadata\":{},\"items\":[",
        rt.list_kind,
        rt.api_version(),
        meta
    );
    let size = head.len() + items.iter().map(|s| s.json.len() + 1).sum::<usize>() + 2;
    let mut buf = Vec::with_capacity(size);
    buf.extend_from_slice(head.as_bytes());
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(&s.json);
    }
    buf.extend_from_slice(b"]}");
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], buf).into_response()
}

pub struct Page {
    pub items: Vec<Arc<Stored>>,
    pub next: Option<ObjectKey>,
    pub remaining: usize,
}

/// Matching objects in key order from `start`, at most `limit` (0 = all).
pub fn select(
    snap: &Table,
    rt: &ResourceType,
    ns: &str,
    sel: &Selectors,
    start: Option<ObjectKey>,
    limit: usize,
) -> Page {
    let scoped = rt.namespaced && !ns.is_empty();
    let from = start.unwrap_or_else(|| ObjectKey::new(if scoped { ns } else { "" }, ""));
    let mut items = Vec::new();
    let mut iter = snap.range(from..).take_while(|(k, _)| !scoped || k.namespace == ns).peekable();
    while let Some((_, s)) = iter.next() {
        if !sel.matches(s) {
            continue;
        }
        items.push(s.clone());
        if limit > 0 && items.len() == limit {
            let mut rest = iter.filter(|(_, s)| sel.matches(s));
            let next = rest.next().map(|(k, _)| k.clone());
            // remainingItemCount is only reported for unfiltered lists: don't pay for counting otherwise.
            let remaining =
                if next.is_some() && !sel.filtering() { 1 + rest.count() } else { usize::from(next.is_some()) };
            return Page { items, remaining, next };
        }
    }
    Page { items, next: None, remaining: 0 }
}

pub fn partial_metadata(obj: &Value) -> Value {
    json!({"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata": obj["metadata"]})
}
