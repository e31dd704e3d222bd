//! `devcluster`: an embedded, in-memory Kubernetes control plane that speaks the real wire protocol
//! (HTTPS, discovery, list/watch with resourceVersions, all patch types, CRDs with schema
//! validation, RBAC, ServiceAccount tokens). kubectl and kube-rs use it as they would a real
//! kube-apiserver; our product's tests and `dev` mode run against it.

pub mod apply;
pub mod builtin;
pub mod datadog_api;
pub mod patch;
pub mod protobuf;
pub mod rbac;
pub mod schema;
pub mod tokens;

mod admission;
mod aggregation;
mod auth;
#[allow(dead_code)] // used by the aggregation layer and admission, in progress
mod backends;
mod bootstrap;
mod controllers;
mod crd;
mod defaults;
mod discovery;
mod faults;
mod gc;
mod handlers;
mod hpa;
mod kubeconfig;
mod lists;
mod meta;
mod openapi;
mod ops;
mod populate;
mod registry;
mod resource_metrics;
mod server;
mod store;
mod table;
mod tls;
mod workloads;

pub use crate::apimachinery::status::ApiError;
pub use faults::{Faults, RequestFault};
pub use hpa::USAGE_ANNOTATION_PREFIX;
pub use ops::{DeleteOptions, FieldValidation, PatchKind, Propagation, WriteOptions};
pub use populate::PopulateSpec;

/// Pod `i` of ReplicaSet `rs` (uid `rs_uid`, template hash `hash`) of Deployment `app` in `ns`,
/// exactly as [`DevCluster::populate_deployments`] stores it (defaulted, bound, Running and Ready;
/// a fresh uid), without its `resourceVersion`: for tests that measure what the product keeps of
/// such pods.
pub fn deployment_pod(ns: &str, app: &str, rs: &str, rs_uid: &str, hash: &str, i: usize) -> serde_json::Value {
    populate::deployment_pod(ns, app, rs, rs_uid, hash, i)
}

use crate::apimachinery::{gofmt, selector, status};

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::RwLock;
use tokio::sync::watch;
use tokio::task::JoinSet;

use registry::Registry;
use store::Store;
use tokens::TokenIssuer;

/// Settings of one control plane.
#[derive(Debug, Clone)]
pub struct Config {
    /// 0 picks a free port.
    pub port: u16,
    /// Changes kept for watch resumption; older resourceVersions get 410 Gone.
    pub history_limit: usize,
    /// How often an idle watch with allowWatchBookmarks gets a BOOKMARK.
    pub bookmark_interval: Duration,
    /// Largest request body accepted (kube-apiserver: 3 MiB).
    pub max_body_bytes: usize,
    /// How often every APIService's availability is re-checked besides on changes (kube-aggregator: 30 s).
    pub apiservice_resync: Duration,
    /// How often the HPA controller syncs every HPA (`--horizontal-pod-autoscaler-sync-period`).
    pub hpa_sync_period: Duration,
    /// `--horizontal-pod-autoscaler-downscale-stabilization`: the scale-down window of HPAs without
    /// `behavior.scaleDown.stabilizationWindowSeconds`.
    pub hpa_downscale_stabilization: Duration,
    /// How long a pod started by the simulated kubelet stays Running but not Ready.
    pub pod_ready_delay: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            history_limit: 100_000,
            bookmark_interval: Duration::from_secs(60),
            max_body_bytes: 3 * 1024 * 1024,
            apiservice_resync: Duration::from_secs(30),
            hpa_sync_period: Duration::from_secs(15),
            hpa_downscale_stabilization: Duration::from_secs(300),
            pod_ready_delay: Duration::from_millis(100),
        }
    }
}

/// Shared state behind every request and controller.
pub struct Cluster {
    store: Store,
    registry: Registry,
    tokens: TokenIssuer,
    config: Config,
    faults: Faults,
    admin_token: String,
    /// Bumped on every RBAC object change; the authorizer is rebuilt lazily.
    rbac_generation: AtomicU64,
    rbac_cache: RwLock<Option<(u64, Arc<rbac::RbacAuthorizer>)>>,
    /// The aggregation layer: front-proxy identity, proxy clients, remote discovery.
    aggregator: aggregation::Aggregator,
    /// Bulk writes in progress ([`populate`]): the workload controllers wait until they end.
    workloads_hold: std::sync::atomic::AtomicUsize,
}

/// A running control plane.
pub struct DevCluster {
    addr: SocketAddr,
    ca_pem: String,
    cluster: Arc<Cluster>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl DevCluster {
    /// Starts the server and its controllers on 127.0.0.1.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let ca = tls::ClusterCa::generate("devcluster-ca")?;
        let serving = ca.serving_cert(&["localhost", "127.0.0.1", "::1", "kubernetes.default.svc"])?;
        let front_proxy_ca = tls::ClusterCa::generate("front-proxy-ca")?;
        let front_proxy = front_proxy_ca.client_cert("front-proxy-client", &[])?;
        let identity = backends::ClientIdentity {
            cert_pem: front_proxy.cert_pem().to_string(),
            key_pem: front_proxy.key_pem().to_string(),
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let issuer = format!("https://{addr}");
        let cluster = Arc::new(Cluster {
            store: Store::new(config.history_limit),
            registry: Registry::new(),
            tokens: TokenIssuer::new(&issuer)?,
            faults: Faults::default(),
            admin_token: format!("admin-{}", uuid::Uuid::new_v4().simple()),
            rbac_generation: AtomicU64::new(0),
            rbac_cache: RwLock::new(None),
            aggregator: aggregation::Aggregator::new(front_proxy_ca.cert_pem(), identity),
            workloads_hold: std::sync::atomic::AtomicUsize::new(0),
            config,
        });
        bootstrap::observe(&cluster);
        bootstrap::seed(&cluster)?;
        aggregation::publish(&cluster, &ca.cert_pem())?;
        workloads::seed_nodes(&cluster)?;
        let (shutdown, stop) = watch::channel(false);
        let mut tasks = JoinSet::new();
        tasks.spawn(server::serve(listener, tls::server_config(&serving)?, cluster.clone(), stop.clone()));
        tasks.spawn(gc::run(cluster.clone(), stop.clone()));
        tasks.spawn(aggregation::run(cluster.clone(), stop.clone()));
        tasks.spawn(controllers::run(cluster.clone(), stop.clone()));
        tasks.spawn(hpa::run(cluster.clone(), format!("https://{addr}"), ca.cert_pem(), stop.clone()));
        tasks.spawn(workloads::run(cluster.clone(), stop));
        tracing::info!(%addr, "devcluster serving");
        Ok(DevCluster { addr, ca_pem: ca.cert_pem(), cluster, shutdown, tasks })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The front-proxy CA (`requestheader-client-ca-file` of extension-apiserver-authentication).
    pub fn front_proxy_ca_pem(&self) -> &str {
        self.cluster.aggregator.front_proxy_ca_pem()
    }

    /// The aggregation layer's client certificate and key (CN `front-proxy-client`), PEM: what a
    /// test presents to act as kube-aggregator towards an extension API server.
    pub fn front_proxy_identity_pem(&self) -> String {
        self.cluster.aggregator.front_proxy_identity_pem()
    }

    /// Bearer token of the `kubernetes-admin` user (group system:masters).
    pub fn admin_token(&self) -> &str {
        &self.cluster.admin_token
    }

    /// A kubeconfig for the admin user.
    pub fn kubeconfig_yaml(&self) -> String {
        kubeconfig::render(&self.url(), &self.ca_pem, &self.cluster.admin_token)
    }

    /// A kube-rs client authenticated as the admin user.
    pub async fn client(&self) -> anyhow::Result<kube::Client> {
        self.client_with_token(&self.cluster.admin_token.clone()).await
    }

    /// A kube-rs client authenticated with `token` (e.g. a ServiceAccount token).
    pub async fn client_with_token(&self, token: &str) -> anyhow::Result<kube::Client> {
        Ok(kube::Client::try_from(self.config_with_token(token).await?)?)
    }

    /// The kube-rs config behind [`Self::client_with_token`] (to build other clients from it).
    pub async fn config_with_token(&self, token: &str) -> anyhow::Result<kube::Config> {
        let kc = kubeconfig::parse(&kubeconfig::render(&self.url(), &self.ca_pem, token))?;
        Ok(kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?)
    }

    /// Handle for fault injection in tests.
    pub fn faults(&self) -> &Faults {
        &self.cluster.faults
    }

    /// Forget the watch history: every resume from an older resourceVersion gets 410 Gone.
    pub fn expire_history(&self) {
        self.cluster.store.compact();
    }

    /// Issues a ServiceAccount token (as `serviceaccounts/token` does) for tests.
    pub fn service_account_token(&self, namespace: &str, name: &str, audiences: &[String]) -> anyhow::Result<String> {
        self.service_account_token_for(namespace, name, audiences, Duration::from_secs(3600))
    }

    /// A ServiceAccount token valid for `ttl` (e.g. a long-running `dev` session's server).
    pub fn service_account_token_for(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[String],
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let seconds = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Ok(handlers::issue_token(&self.cluster, namespace, name, audiences, seconds, None)?.0)
    }

    /// Creates namespaces, Deployments' ReplicaSets and their pods directly in the store (benchmarks).
    pub fn populate(&self, spec: &PopulateSpec) -> anyhow::Result<usize> {
        populate::run(&self.cluster, spec)
    }

    /// Like [`populate`](Self::populate), but each group of `pods_per_owner` pods is a Deployment
    /// named `<prefix>-<n>` with one matching ReplicaSet, which the controllers leave as it is.
    pub fn populate_deployments(&self, spec: &PopulateSpec, prefix: &str) -> anyhow::Result<usize> {
        populate::run_deployments(&self.cluster, spec, prefix)
    }

    pub fn object_count(&self) -> usize {
        self.cluster.store.object_count()
    }

    pub fn resource_version(&self) -> u64 {
        self.cluster.store.current_rv()
    }

    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

impl Cluster {
    fn rbac_changed(&self) {
        self.rbac_generation.fetch_add(1, Ordering::SeqCst);
    }
}
