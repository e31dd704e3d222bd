//! The DatadogMetric controller's workers: the leader's status writes overlap up to
//! `external_metrics_provider.num_workers` at a time, never more, and every status lands.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use autoscaling_apiserver::devcluster::{DevCluster, RequestFault};
use autoscaling_apiserver::external_metrics::datadogmetric;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::watch;
use tower::Service;

use super::support::{
    Answer, FakeQuerier, RESOURCES_NS, cluster_with_crd, create_datadogmetric, create_hpa, datadogmetric_api,
    eventually, settings,
};

const METRICS: usize = 12;
const WORKERS: usize = 4;

/// Status writes (PUT …/status) in flight now, the most seen at once, and how many were sent.
#[derive(Clone, Default)]
struct StatusWrites {
    now: Arc<AtomicUsize>,
    max: Arc<AtomicUsize>,
    total: Arc<AtomicUsize>,
}

struct Counting<S> {
    inner: S,
    writes: StatusWrites,
}

/// Counts one write until dropped.
struct InFlight(StatusWrites);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<S, B> Service<http::Request<B>> for Counting<S>
where
    S: Service<http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let is_status_write = request.method() == http::Method::PUT
            && request.uri().path().contains("/datadogmetrics/")
            && request.uri().path().ends_with("/status");
        let in_flight = is_status_write.then(|| {
            let w = &self.writes;
            let now = w.now.fetch_add(1, Ordering::SeqCst) + 1;
            w.max.fetch_max(now, Ordering::SeqCst);
            w.total.fetch_add(1, Ordering::SeqCst);
            InFlight(w.clone())
        });
        let response = self.inner.call(request);
        Box::pin(async move {
            let result = response.await;
            drop(in_flight);
            result
        })
    }
}

/// An admin client of `dc` whose requests pass through the counter.
async fn counting_client(dc: &DevCluster, writes: &StatusWrites) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&dc.kubeconfig_yaml()).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.expect("config");
    let writes = writes.clone();
    let layer = tower::layer::layer_fn(move |inner| Counting { inner, writes: writes.clone() });
    kube::client::ClientBuilder::try_from(config).expect("client builder").with_layer(&layer).build()
}

fn condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status["conditions"].as_array()?.iter().find(|c| c["type"] == kind)
}

#[tokio::test]
async fn status_writes_overlap_up_to_num_workers() {
    let (dc, client) = cluster_with_crd(&[RESOURCES_NS, "web"]).await;
    let query = "avg:requests{service:web}";
    let names: Vec<String> = (0..METRICS).map(|i| format!("m-{i:02}")).collect();
    for name in &names {
        create_datadogmetric(&client, "web", name, json!({"query": query})).await;
    }
    let metrics: Vec<String> = names.iter().map(|n| format!("datadogmetric@web:{n}")).collect();
    let refs: Vec<(&str, Option<Value>)> = metrics.iter().map(|m| (m.as_str(), None)).collect();
    create_hpa(&client, "web", "frontend", &refs).await;
    // Every status write takes 300 ms, so the writes of one refresh are in flight together.
    dc.faults().add(RequestFault {
        path_contains: "/status".into(),
        status: None,
        delay: Duration::from_millis(300),
        remaining: None,
    });

    let writes = StatusWrites::default();
    let counted = counting_client(&dc, &writes).await;
    let querier = FakeQuerier::new(&[(query, Answer::Value { value: 7.0, age_s: 1 })]);
    let workers = WORKERS.to_string();
    let settings = settings("dca-a", &[("DD_EXTERNAL_METRICS_PROVIDER_NUM_WORKERS", workers.as_str())]);
    let (stop, stopped) = watch::channel(false);
    let running = datadogmetric::start(counted, &settings, querier, stopped).expect("provider");

    let api = datadogmetric_api(&client, "web");
    eventually("every status written with the value", Duration::from_secs(90), || async {
        for name in &names {
            let status = api.get(name).await.ok()?.data.get("status").cloned()?;
            let valid = condition(&status, "Valid").is_some_and(|c| c["status"] == "True");
            if !(valid && status["currentValue"] == "7") {
                return None;
            }
        }
        Some(())
    })
    .await;
    let (max, total) = (writes.max.load(Ordering::SeqCst), writes.total.load(Ordering::SeqCst));
    assert!(total >= METRICS, "{total} status writes for {METRICS} metrics");
    assert!(max <= WORKERS, "{max} status writes in flight at once with num_workers {WORKERS}");
    assert!(max >= 2, "status writes never overlapped (most in flight: {max})");

    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(60), running.task).await.expect("provider stops").expect("task");
    dc.shutdown().await;
}
