//! The pod-index watches over HTTP/2 against devcluster (which negotiates `h2` by ALPN): the
//! HTTP/2 client lists and watches pods, many concurrent watches share one TCP connection (counted
//! by a TCP proxy on 127.0.0.1 in front of devcluster), a stream limit per connection opens the
//! next connection only when one is full, and the autoscaling stack's pod index fills through one
//! connection for several DPA targets.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use autoscaling_apiserver::cluster::http2::{WatchClients, http2_client};
use autoscaling_apiserver::devcluster::DevCluster;
use autoscaling_apiserver::workload::{AutoscalingStack, StackConfig, TargetKey};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::watcher::{self, Event};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

use super::support::{api_for, cluster, create, deployment, dpa, eventually, pods_of};

/// Forwards TCP connections on 127.0.0.1 to devcluster, counting them.
struct CountingProxy {
    port: u16,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CountingProxy {
    async fn start(dc: &DevCluster) -> CountingProxy {
        let upstream = dc.url().trim_start_matches("https://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        CountingProxy { port, accepted, task }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// devcluster's admin config, through the proxy (same host, so the certificate still fits).
    async fn config(&self, dc: &DevCluster) -> kube::Config {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&dc.kubeconfig_yaml()).unwrap();
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
        config.cluster_url = format!("https://127.0.0.1:{}", self.port).parse().unwrap();
        config
    }
}

/// Creates Deployments `app-0..n` with `replicas` pods each and waits for the pods.
async fn deployments(admin: &kube::Client, n: usize, replicas: usize) {
    for i in 0..n {
        create(admin, deployment(&format!("app-{i}"), replicas as i32)).await;
    }
    for i in 0..n {
        eventually(&format!("app-{i}'s {replicas} pods"), || async move {
            pods_of(admin, &format!("app-{i}")).await.len() == replicas
        })
        .await;
    }
}

/// Watches `app=<app>` pods on `client`, reporting the names listed, then every applied pod.
fn watch_app(client: kube::Client, app: String) -> tokio::sync::mpsc::UnboundedReceiver<(String, Vec<String>)> {
    let (send, receive) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let api: Api<Pod> = Api::namespaced(client, "default");
        let mut events =
            std::pin::pin!(watcher::watcher(api, watcher::Config::default().labels(&format!("app={app}"))));
        let mut listed = Vec::new();
        while let Some(event) = events.next().await {
            let name = |p: &Pod| p.metadata.name.clone().unwrap_or_default();
            let report = match event {
                Ok(Event::InitApply(pod)) => {
                    listed.push(name(&pod));
                    continue;
                }
                Ok(Event::InitDone) => ("listed".to_owned(), std::mem::take(&mut listed)),
                Ok(Event::Apply(pod)) => ("applied".to_owned(), vec![name(&pod)]),
                Ok(_) => continue,
                Err(e) => ("error".to_owned(), vec![e.to_string()]),
            };
            if send.send(report).is_err() {
                return;
            }
        }
    });
    receive
}

async fn next(events: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Vec<String>)>) -> (String, Vec<String>) {
    let event = tokio::time::timeout(std::time::Duration::from_secs(60), events.recv()).await;
    event.expect("a watch event within 60 s").expect("the watch task ended")
}

#[tokio::test]
async fn concurrent_pod_watches_share_one_http2_connection() {
    let (dc, admin) = cluster().await;
    deployments(&admin, 6, 2).await;
    let proxy = CountingProxy::start(&dc).await;
    let clients = WatchClients::http2(&proxy.config(&dc).await).unwrap();
    let mut leases = Vec::new();
    let mut watches = Vec::new();
    for i in 0..6 {
        let lease = clients.lease();
        watches.push(watch_app(lease.client().clone(), format!("app-{i}")));
        leases.push(lease);
    }
    let mut listed = Vec::new();
    for (i, events) in watches.iter_mut().enumerate() {
        let (kind, names) = next(events).await;
        assert_eq!(kind, "listed", "app-{i}: {names:?}");
        assert_eq!(names.len(), 2, "app-{i}: {names:?}");
        assert!(names.iter().all(|n| n.starts_with(&format!("app-{i}-"))), "app-{i}: {names:?}");
        listed.push(names);
    }
    // A new pod reaches the open watch.
    let app = api_for(&admin, &deployment("app-3", 0));
    app.patch("app-3", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"replicas": 3}}))).await.unwrap();
    loop {
        let (kind, names) = next(&mut watches[3]).await;
        assert_eq!(kind, "applied", "{names:?}");
        assert!(names[0].starts_with("app-3-"), "{names:?}");
        if !listed[3].contains(&names[0]) {
            break;
        }
    }
    // The one-shot client speaks HTTP/2 too: a list on a fresh client is one more connection.
    let lists: Api<Pod> = Api::namespaced(http2_client(&proxy.config(&dc).await).unwrap(), "default");
    assert_eq!(lists.list(&Default::default()).await.unwrap().items.len(), 6 * 2 + 1);
    assert_eq!((clients.connections(), clients.leased()), (1, 6));
    assert_eq!(proxy.accepted(), 2, "6 watches on one connection, the list on another");
    dc.shutdown().await;
}

#[tokio::test]
async fn a_full_connection_makes_the_next_watch_open_another() {
    let (dc, admin) = cluster().await;
    deployments(&admin, 5, 1).await;
    let proxy = CountingProxy::start(&dc).await;
    let clients = WatchClients::http2_with_limit(&proxy.config(&dc).await, 2).unwrap();
    let mut leases = Vec::new();
    for i in 0..5 {
        let lease = clients.lease();
        let mut events = watch_app(lease.client().clone(), format!("app-{i}"));
        let (kind, names) = next(&mut events).await;
        assert_eq!((kind.as_str(), names.len()), ("listed", 1), "app-{i}: {names:?}");
        leases.push((lease, events));
    }
    assert_eq!(clients.connections(), 3);
    assert_eq!(proxy.accepted(), 3, "5 watches, 2 per connection");
    dc.shutdown().await;
}

#[tokio::test]
async fn the_pod_index_fills_through_one_connection() {
    let (dc, admin) = cluster().await;
    deployments(&admin, 4, 2).await;
    let proxy = CountingProxy::start(&dc).await;
    let watch_clients = WatchClients::http2(&proxy.config(&dc).await).unwrap();
    let config = StackConfig { watch_clients: Some(watch_clients.clone()), ..Default::default() };
    // Everything but the pod watches talks to devcluster directly.
    let stack = AutoscalingStack::start(admin.clone(), config);
    for i in 0..4 {
        create(&admin, dpa(&format!("dpa-{i}"), &format!("app-{i}"))).await;
    }
    let target = |i: usize| TargetKey {
        namespace: "default".into(),
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: format!("app-{i}").into(),
    };
    eventually("the 4 targets' pods indexed", || async {
        (0..4).all(|i| stack.pods.synced(&target(i)) && stack.pods.pods_of(&target(i)).len() == 2)
    })
    .await;
    assert_eq!(stack.pods.len(), 8);
    assert_eq!(watch_clients.leased(), 4);
    assert_eq!(proxy.accepted(), 1, "4 targets' selector reads and pod watches on one connection");
    stack.shutdown().await;
    eventually("the watches' slots freed when they stop", || async { watch_clients.leased() == 0 }).await;
    dc.shutdown().await;
}
