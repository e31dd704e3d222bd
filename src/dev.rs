//! `autoscaling-apiserver dev`: the whole product on the embedded control plane, for a newcomer's
//! first run and for end-to-end tests.
//!
//! Order of events: devcluster starts; `deploy/` is applied (the server's Deployment is left out —
//! the server runs in this process — and its Services become `ExternalName: localhost`, which is
//! how a local backend is registered on a real kube-apiserver); the server starts with its
//! ServiceAccount's credentials (not admin); `apiservice/` is applied with the server's CA as
//! `caBundle` and its real port (the APIService and the `/autoscaling` and `/hpa-autoscaling`
//! MutatingWebhookConfiguration); the demo in `deploy/examples/` is loaded; an admin kubeconfig is
//! written. [`DevStack::shutdown`] stops everything.
//!
//! Workload autoscaling is on: Deployment `shop` has a Local DatadogPodAutoscaler, and the Remote
//! feed ([`feed`], a directory the server polls) brings a Remote DPA for `checkout` and Datadog's
//! recommendations for both.
//!
//! Datadog is simulated ([`datadog`]): two endpoints (primary and failover) serve the demo
//! DatadogMetric's series, which steps up after a minute and back down three minutes later, so
//! the HPA visibly scales `web` up and back down through the aggregation layer.

pub mod datadog;
pub mod feed;
pub mod manifests;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::devcluster::datadog_api::Shape;
use crate::devcluster::{Config, DevCluster};
use crate::server::ServeConfig;
use crate::server::tls::CertSource;
use crate::stack::Stack;
use datadog::SimulatedDatadog;
use manifests::Placeholders;

/// Namespace, ServiceAccount and Service names the manifests in `deploy/` use.
pub const NAMESPACE: &str = "datadog";
pub const SERVICE_ACCOUNT: &str = "autoscaling-apiserver";
const FIELD_MANAGER: &str = "autoscaling-apiserver-dev";
/// How long the server's ServiceAccount token lasts (dev sessions outlive the 1 h default).
const TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct DevOptions {
    /// Where the admin kubeconfig is written.
    pub kubeconfig_out: PathBuf,
    /// devcluster's port (0: a free one).
    pub cluster_port: u16,
    /// The server's HTTPS port (0: a free one).
    pub secure_port: u16,
    /// The server's Prometheus port (0: a free one).
    pub metrics_port: u16,
    /// The directory holding `deploy/` and `apiservice/` (the repository root).
    pub manifests_root: PathBuf,
    /// Control plane settings (tests shorten sync periods).
    pub cluster: Config,
    /// How often the DatadogMetric provider refreshes values from the simulated Datadog API.
    pub refresh_period: Duration,
    /// The demo series (`nginx.net.request_per_s{kube_deployment:web}`), over seconds since start.
    pub demo_shape: Shape,
    /// `DD_*` settings replacing the dev ones (tests: lease duration, grace periods).
    pub settings_overrides: Vec<(String, String)>,
    /// The Remote recommendation feed directory (default: `dev-feed` beside the kubeconfig),
    /// filled from `deploy/examples/feed/` at start.
    pub feed_dir: Option<PathBuf>,
}

impl Default for DevOptions {
    fn default() -> Self {
        DevOptions {
            kubeconfig_out: PathBuf::from("dev.kubeconfig"),
            cluster_port: 0,
            secure_port: 0,
            metrics_port: 0,
            manifests_root: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            cluster: Config::default(),
            refresh_period: Duration::from_secs(5),
            demo_shape: datadog::demo_shape(),
            settings_overrides: Vec::new(),
            feed_dir: None,
        }
    }
}

/// A running dev environment.
pub struct DevStack {
    pub cluster: DevCluster,
    pub stack: Stack,
    pub datadog: SimulatedDatadog,
    pub kubeconfig: PathBuf,
    /// The Remote feed directory the server polls.
    pub feed_dir: PathBuf,
}

impl DevStack {
    pub async fn start(opts: &DevOptions) -> anyhow::Result<Self> {
        let cluster = DevCluster::start(Config { port: opts.cluster_port, ..opts.cluster.clone() }).await?;
        let admin = cluster.client().await?;
        let root = &opts.manifests_root;
        let deploy = manifests::load_dir(&root.join("deploy"), &Placeholders { ca_bundle: "", cluster_name: "dev" })?;
        let (services, rest): (Vec<Value>, Vec<Value>) = deploy.into_iter().partition(|d| d["kind"] == "Service");
        for doc in rest.iter().filter(|d| !is_server_workload(d)) {
            manifests::apply(&admin, doc, FIELD_MANAGER).await?;
        }

        let token = cluster.service_account_token_for(NAMESPACE, SERVICE_ACCOUNT, &[], TOKEN_TTL)?;
        let server_config = cluster.config_with_token(&token).await?;
        let server_client = kube::Client::try_from(server_config.clone())?;
        // As `serve`: the pod-index watches multiplex on HTTP/2 from the same kube config.
        let watch_clients = crate::cluster::http2::WatchClients::http2(&server_config)?;
        let serve = ServeConfig {
            secure_addr: SocketAddr::from(([127, 0, 0, 1], opts.secure_port)),
            metrics_addr: SocketAddr::from(([127, 0, 0, 1], opts.metrics_port)),
            certs: CertSource::SelfSigned { service: SERVICE_ACCOUNT.into(), namespace: NAMESPACE.into() },
            allow_legacy_tls: false,
            cert_poll_interval: Duration::from_secs(10),
            authn: Default::default(),
            authz: Default::default(),
        };
        let feed_dir = opts.feed_dir();
        feed::write(&root.join("deploy/examples/feed"), &feed_dir, k8s_openapi::jiff::Timestamp::now())?;
        let datadog = SimulatedDatadog::start(opts.demo_shape.clone()).await?;
        let settings = datadog.settings(NAMESPACE, opts.refresh_period, &opts.overrides_with_feed(&feed_dir))?;
        let stack = Stack::start_with_watches(&settings, server_client, Some(watch_clients), serve).await?;
        let server = &stack.server;
        let ca_pem = server.ca_pem.clone().ok_or_else(|| anyhow::anyhow!("the server made no self-signed CA"))?;
        let ca_bundle = base64::engine::general_purpose::STANDARD.encode(&ca_pem);
        let ports = Ports { https: server.secure_addr.port(), metrics: server.metrics_addr.port() };
        for svc in &services {
            manifests::apply(&admin, &as_local_service(svc, &ports), FIELD_MANAGER).await?;
        }
        let placeholders = Placeholders { ca_bundle: &ca_bundle, cluster_name: "dev" };
        for doc in manifests::load_dir(&root.join("apiservice"), &placeholders)? {
            manifests::apply(&admin, &with_server_port(doc, ports.https), FIELD_MANAGER).await?;
        }
        for doc in manifests::load_dir(&root.join("deploy/examples"), &placeholders)? {
            manifests::apply(&admin, &doc, FIELD_MANAGER).await?;
        }
        std::fs::write(&opts.kubeconfig_out, cluster.kubeconfig_yaml())
            .map_err(|e| anyhow::anyhow!("cannot write the kubeconfig to {}: {e}", opts.kubeconfig_out.display()))?;
        Ok(DevStack { cluster, stack, datadog, kubeconfig: opts.kubeconfig_out.clone(), feed_dir })
    }

    /// What to type next, printed by the `dev` command.
    pub fn instructions(&self) -> String {
        let kc = self.kubeconfig.display();
        format!(
            "devcluster:  {cluster}\n\
             server:      https://{secure} (metrics http://{metrics}/metrics, status http://{metrics}/status)\n\
             datadog:     {primary} (primary), {failover} (failover), simulated\n\
             feed:        {feed} (Remote DPAs and recommendations, polled)\n\
             \n\
             The demo: datadogmetric web-rps reads 5 requests/s, 42 from the first minute for three\n\
             minutes, then 5 again; HPA web (10 per pod) scales deployment web 1 -> 5 -> 1.\n\
             Workload autoscaling: dpa shop (Local, in deploy/examples/) scales deployment shop on CPU\n\
             with the local fallback recommender; dpa checkout (Remote) comes from the feed directory,\n\
             with its recommendations; new pods of both carry the recommended resources.\n\
             \n\
             Try:\n  \
             export KUBECONFIG={kc}\n  \
             kubectl get datadogmetric web-rps -w\n  \
             kubectl get hpa web -w\n  \
             kubectl get dpa -w\n  \
             kubectl get pods -l 'app in (shop,checkout)' -o custom-columns=NAME:.metadata.name,CPU:.spec.containers[0].resources.requests.cpu,REC:.metadata.annotations.autoscaling\\.datadoghq\\.com/rec-id\n  \
             autoscaling-apiserver status --metrics-port {metrics_port}\n  \
             kubectl get hpa,dpa,datadogmetrics -A\n  \
             kubectl get apiservice v1beta1.external.metrics.k8s.io\n  \
             kubectl get --raw '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/datadogmetric@default:web-rps?labelSelector=app%3Dweb'\n  \
             kubectl describe hpa web\n  \
             kubectl get deploy,pods -l app=web\n\
             \n\
             Ctrl-C stops everything.\n",
            cluster = self.cluster.url(),
            secure = self.stack.server.secure_addr,
            metrics = self.stack.server.metrics_addr,
            metrics_port = self.stack.server.metrics_addr.port(),
            feed = self.feed_dir.display(),
            primary = self.datadog.primary.url(),
            failover = self.datadog.failover.url(),
        )
    }

    /// Stops the server and the provider (releasing the lease), then the control plane.
    pub async fn shutdown(self) {
        self.stack.shutdown().await;
        self.cluster.shutdown().await;
    }
}

impl DevOptions {
    /// Where the Remote feed lives: `feed_dir`, else `dev-feed` beside the kubeconfig.
    pub fn feed_dir(&self) -> PathBuf {
        self.feed_dir.clone().unwrap_or_else(|| {
            let parent = self.kubeconfig_out.parent().unwrap_or(Path::new(""));
            parent.join("dev-feed")
        })
    }

    /// The settings overrides with the feed source added (an explicit override of it wins).
    fn overrides_with_feed(&self, feed_dir: &Path) -> Vec<(String, String)> {
        let mut overrides = vec![(FEED_SOURCE_ENV.to_owned(), feed_dir.display().to_string())];
        overrides.retain(|(key, _)| !self.settings_overrides.iter().any(|(k, _)| k == key));
        overrides.extend(self.settings_overrides.iter().cloned());
        overrides
    }
}

/// `autoscaling.workload.recommendations.source` as a variable.
const FEED_SOURCE_ENV: &str = "DD_AUTOSCALING_WORKLOAD_RECOMMENDATIONS_SOURCE";

struct Ports {
    https: u16,
    metrics: u16,
}

/// The server's own Deployment: in dev mode the server runs in this process instead.
fn is_server_workload(doc: &Value) -> bool {
    doc["kind"] == "Deployment" && doc["metadata"]["namespace"] == NAMESPACE
}

/// A Service of ours as `ExternalName: localhost` with the ports the in-process server listens on.
fn as_local_service(svc: &Value, ports: &Ports) -> Value {
    let mut svc = svc.clone();
    let mapped: Vec<Value> = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let port = match p["name"].as_str() {
                Some("metrics") => ports.metrics,
                _ => ports.https,
            };
            json!({"name": p["name"], "port": port, "protocol": "TCP"})
        })
        .collect();
    svc["spec"] = json!({"type": "ExternalName", "externalName": "localhost", "ports": mapped});
    svc
}

/// APIService and webhook client configs point at the server's real port.
fn with_server_port(mut doc: Value, port: u16) -> Value {
    if doc["kind"] == "APIService" && doc["spec"]["service"].is_object() {
        doc["spec"]["service"]["port"] = json!(port);
    }
    if let Some(hooks) = doc["webhooks"].as_array_mut() {
        for hook in hooks {
            if hook["clientConfig"]["service"].is_object() {
                hook["clientConfig"]["service"]["port"] = json!(port);
            }
        }
    }
    doc
}

/// The repository root when running from a checkout (for `dev` started outside it: `--manifests`).
pub fn default_manifests_root() -> PathBuf {
    let here = Path::new(".");
    if here.join("deploy").is_dir() && here.join("apiservice").is_dir() {
        here.to_path_buf()
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_become_external_name_localhost_on_the_real_ports() {
        let svc = json!({"kind": "Service", "metadata": {"name": "s", "namespace": NAMESPACE},
            "spec": {"type": "ClusterIP", "selector": {"a": "b"},
                     "ports": [{"name": "https", "port": 8443, "targetPort": "https"}, {"name": "metrics", "port": 5000}]}});
        let out = as_local_service(&svc, &Ports { https: 31000, metrics: 31001 });
        assert_eq!(out["spec"]["type"], "ExternalName");
        assert_eq!(out["spec"]["externalName"], "localhost");
        assert!(out["spec"]["selector"].is_null());
        assert_eq!(out["spec"]["ports"][0]["port"], 31000);
        assert_eq!(out["spec"]["ports"][1]["port"], 31001);
    }

    #[test]
    fn apiservice_and_webhooks_use_the_server_port() {
        let api = json!({"kind": "APIService", "spec": {"service": {"name": "s", "namespace": "n", "port": 8443}}});
        assert_eq!(with_server_port(api, 4000)["spec"]["service"]["port"], 4000);
        let hooks = json!({"kind": "MutatingWebhookConfiguration", "webhooks": [
            {"clientConfig": {"service": {"port": 8443}}}, {"clientConfig": {"url": "https://x"}}]});
        let out = with_server_port(hooks, 4000);
        assert_eq!(out["webhooks"][0]["clientConfig"]["service"]["port"], 4000);
        assert!(out["webhooks"][1]["clientConfig"]["service"].is_null());
    }

    #[test]
    fn only_the_server_deployment_is_left_out() {
        assert!(is_server_workload(&json!({"kind": "Deployment", "metadata": {"namespace": NAMESPACE}})));
        assert!(!is_server_workload(&json!({"kind": "Deployment", "metadata": {"namespace": "default"}})));
        assert!(!is_server_workload(&json!({"kind": "Service", "metadata": {"namespace": NAMESPACE}})));
    }
}
