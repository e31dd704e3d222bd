//! [`HpaApi`] against devcluster itself, the way kube-controller-manager talks to kube-apiserver:
//! HTTPS to the server's own URL (trusting its CA) with a token of the
//! `kube-system/horizontal-pod-autoscaler` ServiceAccount, so authentication, RBAC, admission and
//! the aggregation layer see the controller as they would see the real one. Pods are read from
//! the store, as the controller's informer lister would.
//!
//! Events go through a small correlator like client-go's: a repeat of the same
//! (object, type, reason, message) PATCHes `count`/`lastTimestamp` of the Event already written.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use reqwest::Method;
use serde_json::{Value, json};

use super::super::selector::LabelSelector;
use super::super::{Cluster, backends, handlers};
use super::api::{EventType, HpaApi, Scale};
use super::render::client_error;
use crate::apimachinery::quantity::milli_value;

pub const SA_NAMESPACE: &str = "kube-system";
pub const SA_NAME: &str = "horizontal-pod-autoscaler";
pub const COMPONENT: &str = "horizontal-pod-autoscaler";
/// As recorded from kube-controller-manager's HPA client.
const USER_AGENT: &str = "kube-controller-manager/v0.0.0 (linux/amd64) kubernetes/$Format/horizontal-pod-autoscaler";
const TOKEN_SECONDS: i64 = 3600;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long client-go's event correlator remembers an Event for counting repeats.
const EVENT_CORRELATION: Duration = Duration::from_secs(600);

pub struct HttpApi {
    cluster: Arc<Cluster>,
    base: String,
    client: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
    /// (object, type, reason, message) → (Event name, count, last seen), kept for 10 minutes.
    events: Mutex<HashMap<String, (String, i64, Instant)>>,
}

impl HttpApi {
    /// `base` is devcluster's `https://127.0.0.1:<port>`; `ca_pem` its serving CA.
    pub fn new(cluster: Arc<Cluster>, base: String, ca_pem: &str) -> Result<Self, String> {
        let tls = backends::client_tls(ca_pem.as_bytes(), false, None)?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(HttpApi { cluster, base, client, token: Mutex::new(None), events: Mutex::new(HashMap::new()) })
    }

    /// A ServiceAccount token, renewed at half its lifetime.
    fn token(&self) -> Result<String, String> {
        let mut cached = self.token.lock();
        if let Some((t, at)) = cached.as_ref()
            && at.elapsed() < Duration::from_secs(TOKEN_SECONDS as u64 / 2)
        {
            return Ok(t.clone());
        }
        let (token, _) = handlers::issue_token(&self.cluster, SA_NAMESPACE, SA_NAME, &[], TOKEN_SECONDS, None)
            .map_err(|e| format!("token for ServiceAccount {SA_NAMESPACE}/{SA_NAME}: {}", e.message))?;
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    /// Sends a request; returns the body of a 2xx answer, else client-go's error text.
    async fn call(
        &self,
        method: Method,
        url: reqwest::Url,
        body: Option<(&str, Vec<u8>)>,
        accept: &str,
        resource: &str,
    ) -> Result<Vec<u8>, String> {
        let verb = method.as_str().to_string();
        let shown = url.to_string();
        let mut req = self.client.request(method, url).bearer_auth(self.token()?).header("accept", accept);
        if let Some((content_type, bytes)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        let resp =
            req.send().await.map_err(|e| format!("{} {}: {}", go_verb(&verb), gofmt_quote(&shown), root_cause(&e)))?;
        let code = resp.status();
        let bytes = resp.bytes().await.map_err(|e| format!("reading the answer to {verb} {shown}: {e}"))?;
        if code.is_success() {
            return Ok(bytes.to_vec());
        }
        Err(client_error(code.as_u16(), &bytes, &verb, resource))
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, String> {
        reqwest::Url::parse(&format!("{}{path}", self.base)).map_err(|e| format!("{path}: {e}"))
    }

    fn scale_url(
        &self,
        ns: &str,
        group: &str,
        version: &str,
        plural: &str,
        name: &str,
    ) -> Result<reqwest::Url, String> {
        let prefix = if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group}/{version}") };
        let mut url = self.url(&prefix)?;
        url.path_segments_mut().map_err(|_| "devcluster URL cannot be a base".to_string())?.extend([
            "namespaces",
            ns,
            plural,
            name,
            "scale",
        ]);
        Ok(url)
    }
}

fn go_verb(verb: &str) -> String {
    let lower = verb.to_lowercase();
    let mut chars = lower.chars();
    chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
}

fn gofmt_quote(s: &str) -> String {
    crate::apimachinery::gofmt::quote(s)
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    cause
}

fn qualified(plural: &str, group: &str) -> String {
    if group.is_empty() { plural.to_string() } else { format!("{plural}.{group}") }
}

impl HpaApi for HttpApi {
    async fn get_scale(&self, ns: &str, group: &str, version: &str, kind: &str, name: &str) -> Result<Scale, String> {
        let types = self.cluster.registry.all();
        let candidates: Vec<_> = types.iter().filter(|t| t.group == group && t.kind == kind).collect();
        let chosen = candidates
            .iter()
            .find(|t| t.version == version)
            .or_else(|| candidates.iter().find(|t| t.is_storage_version()))
            .or(candidates.first())
            .ok_or_else(|| format!("no matches for kind {} in group {}", gofmt_quote(kind), gofmt_quote(group)))?;
        let url = self.scale_url(ns, group, &chosen.version, &chosen.plural, name)?;
        let body = self.call(Method::GET, url, None, "application/json", &qualified(&chosen.plural, group)).await?;
        let object: Value = serde_json::from_slice(&body).map_err(|e| format!("decoding the Scale of {name}: {e}"))?;
        Ok(Scale { object, group: group.into(), version: chosen.version.clone(), plural: chosen.plural.clone() })
    }

    async fn update_scale(&self, ns: &str, scale: &Scale, replicas: i32) -> Result<(), String> {
        let mut object = scale.object.clone();
        object["spec"]["replicas"] = json!(replicas);
        let url = self.scale_url(ns, &scale.group, &scale.version, &scale.plural, scale.name())?;
        let body = serde_json::to_vec(&object).map_err(|e| e.to_string())?;
        let resource = qualified(&scale.plural, &scale.group);
        self.call(Method::PUT, url, Some(("application/json", body)), "application/json", &resource).await.map(|_| ())
    }

    async fn external_metric(&self, ns: &str, metric: &str, selector: &str) -> Result<Vec<i64>, String> {
        let mut url = self.url("/apis/external.metrics.k8s.io/v1beta1")?;
        url.path_segments_mut().map_err(|_| "devcluster URL cannot be a base".to_string())?.extend([
            "namespaces",
            ns,
            metric,
        ]);
        if !selector.is_empty() {
            url.query_pairs_mut().append_pair("labelSelector", selector);
        }
        let resource = format!("{metric}.external.metrics.k8s.io");
        let body = self.call(Method::GET, url, None, "application/vnd.kubernetes.protobuf, */*", &resource).await?;
        let list: Value = serde_json::from_slice(&body)
            .map_err(|e| format!("decoding the ExternalMetricValueList of {metric} (JSON expected): {e}"))?;
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| match &item["value"] {
                Value::String(q) => milli_value(q).map_err(|e| e.to_string()),
                Value::Number(n) => {
                    n.as_f64().map(|f| (f * 1000.0).ceil() as i64).ok_or_else(|| "bad value".to_string())
                }
                other => Err(format!("metric {metric}: item value {other} is not a Quantity")),
            })
            .collect()
    }

    fn pods(&self, ns: &str, selector: &LabelSelector) -> Vec<Value> {
        let Some(rt) = self.cluster.registry.lookup("", "v1", "pods") else { return Vec::new() };
        let (_, pods) = self.cluster.store.snapshot(&rt.table);
        pods.values().filter(|p| p.key.namespace == ns && selector.matches(&p.labels)).map(|p| p.value()).collect()
    }

    async fn update_status(&self, hpa: &Value) -> Result<(), String> {
        let m = &hpa["metadata"];
        let (ns, name) = (m["namespace"].as_str().unwrap_or_default(), m["name"].as_str().unwrap_or_default());
        let mut url = self.url("/apis/autoscaling/v2")?;
        url.path_segments_mut().map_err(|_| "devcluster URL cannot be a base".to_string())?.extend([
            "namespaces",
            ns,
            "horizontalpodautoscalers",
            name,
            "status",
        ]);
        let body = serde_json::to_vec(hpa).map_err(|e| e.to_string())?;
        let resource = "horizontalpodautoscalers.autoscaling";
        self.call(Method::PUT, url, Some(("application/json", body)), "application/json", resource).await.map(|_| ())
    }

    async fn record_event(&self, hpa: &Value, type_: EventType, reason: &str, message: &str) {
        if let Err(e) = self.write_event(hpa, type_, reason, message).await {
            tracing::warn!(reason, message, error = %e, "Event not recorded");
        }
    }
}

impl HttpApi {
    async fn write_event(&self, hpa: &Value, type_: EventType, reason: &str, message: &str) -> Result<(), String> {
        let m = &hpa["metadata"];
        let ns = m["namespace"].as_str().unwrap_or_default();
        let key =
            format!("{}\u{0}{}\u{0}{reason}\u{0}{message}", m["uid"].as_str().unwrap_or_default(), type_.as_str());
        let now = super::reconcile::Clock::now().rfc3339();
        let previous = {
            let mut events = self.events.lock();
            events.retain(|_, (_, _, seen)| seen.elapsed() < EVENT_CORRELATION);
            events.get(&key).cloned()
        };
        if let Some((name, count, _)) = previous {
            let patch = json!({"count": count + 1, "lastTimestamp": now, "message": message});
            let url = self.url(&format!("/api/v1/namespaces/{ns}/events/{name}"))?;
            let body = serde_json::to_vec(&patch).map_err(|e| e.to_string())?;
            let ct = "application/strategic-merge-patch+json";
            if self.call(Method::PATCH, url, Some((ct, body)), "application/json", "events").await.is_ok() {
                self.events.lock().insert(key, (name, count + 1, Instant::now()));
                return Ok(());
            }
        }
        let nanos = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        let name = format!("{}.{:x}", m["name"].as_str().unwrap_or_default(), nanos);
        let event = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"kind": "HorizontalPodAutoscaler", "namespace": ns, "name": m["name"], "uid": m["uid"],
                "apiVersion": "autoscaling/v2", "resourceVersion": m["resourceVersion"]},
            "reason": reason, "message": message,
            "source": {"component": COMPONENT},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": type_.as_str(),
            "eventTime": null, "reportingComponent": COMPONENT, "reportingInstance": ""
        });
        let url = self.url(&format!("/api/v1/namespaces/{ns}/events"))?;
        let body = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
        self.call(Method::POST, url, Some(("application/json", body)), "application/json", "events").await?;
        self.events.lock().insert(key, (name, 1, Instant::now()));
        Ok(())
    }
}
