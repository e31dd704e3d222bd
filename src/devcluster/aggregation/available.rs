//! kube-aggregator's `AvailableConditionController`: on APIService, Service and Endpoints changes and
//! every `Config::apiservice_resync`, each APIService is checked and its `Available` condition written
//! when it changed. A service-backed APIService is probed with `GET /apis/<group>/<version>` (five
//! concurrent attempts, any success will do), presenting the front-proxy certificate as
//! `system:kube-aggregator` in `system:masters`, without verifying the server (as upstream), 5 s
//! timeout. While available, the backend's discovery is fetched for `/apis`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use futures::future::select_ok;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::super::Cluster;
use super::super::backends;
use super::super::meta::now_rfc3339;
use super::super::ops::WriteOptions;
use super::super::store::{Change, ChangeType};
use super::conditions::{self, Condition};
use super::headers::set_auth_proxy_headers;
use super::{ApiService, GROUP, RESOURCE, ServiceRef, errors, remote};

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
const PROBE_ATTEMPTS: usize = 5;

/// Runs until `stop` turns true.
pub async fn run(cluster: Arc<Cluster>, mut stop: watch::Receiver<bool>) {
    let mut changes = cluster.store.changes();
    let mut resync = tokio::time::interval(cluster.config.apiservice_resync);
    let mut queue = Queue::default();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = resync.tick() => queue.add_all(&cluster),
            next = changes.recv() => match next {
                Ok(change) => {
                    for name in affected(&cluster, &change) {
                        queue.add(&cluster, name);
                    }
                }
                Err(RecvError::Lagged(_)) => queue.add_all(&cluster),
                Err(RecvError::Closed) => return,
            },
            Some(done) = queue.running.join_next(), if !queue.running.is_empty() => {
                if let Ok(name) = done {
                    queue.finished(&cluster, name);
                }
            }
        }
    }
}

/// One check per APIService at a time; a change during a check queues one more.
#[derive(Default)]
struct Queue {
    running: JoinSet<String>,
    in_flight: HashSet<String>,
    again: HashSet<String>,
}

impl Queue {
    fn add(&mut self, cluster: &Arc<Cluster>, name: String) {
        if self.in_flight.contains(&name) {
            self.again.insert(name);
            return;
        }
        self.in_flight.insert(name.clone());
        let cluster = cluster.clone();
        self.running.spawn(async move {
            sync(&cluster, &name).await;
            name
        });
    }

    fn add_all(&mut self, cluster: &Arc<Cluster>) {
        for api in cluster.api_services() {
            self.add(cluster, api.name);
        }
    }

    fn finished(&mut self, cluster: &Arc<Cluster>, name: String) {
        self.in_flight.remove(&name);
        if self.again.remove(&name) {
            self.add(cluster, name);
        }
    }
}

/// APIServices to re-check after a change: the APIService itself when its spec changed (not for
/// the status this controller writes), or those backed by a changed Service or Endpoints.
fn affected(cluster: &Cluster, change: &Change) -> Vec<String> {
    let table = &*change.table;
    if table == format!("{GROUP}/{RESOURCE}") {
        let spec_changed = change.kind != ChangeType::Modified
            || change.prev.as_ref().is_none_or(|p| p.value()["spec"] != change.object.value()["spec"]);
        if !spec_changed {
            return Vec::new();
        }
        cluster.aggregator.forget(&change.object.key.name);
        return vec![change.object.key.name.clone()];
    }
    if table != "/services" && table != "/endpoints" {
        return Vec::new();
    }
    let key = &change.object.key;
    cluster
        .api_services()
        .into_iter()
        .filter(|a| a.service.as_ref().is_some_and(|s| s.namespace == key.namespace && s.name == key.name))
        .map(|a| a.name)
        .collect()
}

/// Checks one APIService and writes its condition if it changed.
async fn sync(cluster: &Cluster, name: &str) {
    let Some(rt) = cluster.registry.lookup(GROUP, "v1", RESOURCE) else { return };
    let Ok(obj) = cluster.op_get(&rt, "", name) else {
        cluster.aggregator.forget(name);
        return;
    };
    let api = ApiService::from_json(&obj);
    let condition = match &api.service {
        None => Condition::local(),
        Some(svc) => check(cluster, &api, svc).await,
    };
    if condition.is_true() && api.service.is_some() {
        remote::refresh(cluster, &api).await;
    }
    let Some(conditions) = conditions::merge(&obj["status"]["conditions"], &condition, &now_rfc3339()) else {
        return;
    };
    tracing::info!(apiservice = name, status = condition.status, reason = condition.reason,
        message = %condition.message, "changing APIService availability");
    let mut next = obj;
    next["status"]["conditions"] = conditions;
    let opts = WriteOptions {
        subresource: Some("status".into()),
        field_manager: "kube-apiserver".into(),
        ..Default::default()
    };
    if let Err(e) = cluster.op_update(&rt, "", name, next, &opts) {
        tracing::debug!(apiservice = name, error = %e.message, "APIService status write skipped; retried on the next check");
    }
}

async fn check(cluster: &Cluster, api: &ApiService, svc: &ServiceRef) -> Condition {
    let get = |plural: &str| {
        let rt = cluster.registry.lookup("", "v1", plural)?;
        cluster.op_get(&rt, &svc.namespace, &svc.name).ok()
    };
    let (service, endpoints) = (get("services"), get("endpoints"));
    if let Err(condition) = conditions::precheck(svc, service.as_ref(), endpoints.as_ref()) {
        return condition;
    }
    match probe(cluster, api, svc).await {
        Ok(()) => Condition::passed(),
        Err(message) => Condition::failed_discovery(message),
    }
}

/// The discovery probe: Ok when any attempt got a 2xx or 3xx answer, else the last error.
async fn probe(cluster: &Cluster, api: &ApiService, svc: &ServiceRef) -> Result<(), String> {
    let port = u16::try_from(svc.port).map_err(|_| format!("service port {} is out of range", svc.port))?;
    let endpoint = backends::resolve_service(cluster, &svc.namespace, &svc.name, port).map_err(|e| e.to_string())?;
    let client = probe_client(cluster)?;
    let url = format!("{}{}", endpoint.base_url(), api.discovery_path());
    let dialled = errors::host_port(&endpoint.host, endpoint.port);
    let attempts = (0..PROBE_ATTEMPTS).map(|_| Box::pin(attempt(&client, &url, &dialled)));
    select_ok(attempts).await.map(|_| ())
}

async fn attempt(client: &reqwest::Client, url: &str, dialled: &str) -> Result<(), String> {
    let mut headers = HeaderMap::new();
    set_auth_proxy_headers(&mut headers, "system:kube-aggregator", "", &["system:masters".into()], &Default::default());
    let missing = |why: String| format!("failing or missing response from {url}: {why}");
    let resp = client
        .get(url)
        .headers(headers)
        .send()
        .await
        .map_err(|e| missing(format!("Get {url:?}: {}", errors::cause(&e, dialled))))?;
    let code = resp.status().as_u16();
    if !(200..300).contains(&code) && !(300..400).contains(&code) {
        return Err(missing(format!("bad status from {url}: {code}")));
    }
    Ok(())
}

/// One client for every probe: front-proxy identity, no server verification, 5 s timeout, no
/// redirects followed.
fn probe_client(cluster: &Cluster) -> Result<reqwest::Client, String> {
    let aggregator = &cluster.aggregator;
    if let Some(client) = aggregator.probe.lock().as_ref() {
        return Ok(client.clone());
    }
    let tls = backends::client_tls(&[], true, Some(&aggregator.identity))?;
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(PROBE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    *aggregator.probe.lock() = Some(client.clone());
    Ok(client)
}
