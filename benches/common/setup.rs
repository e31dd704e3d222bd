//! What both API-server benches set up around devcluster: the front-proxy trust in
//! `extension-apiserver-authentication`, RBAC for the HPA ServiceAccount, the server's settings,
//! the load client's TLS configs, the wait for `/readyz`, and the server's counters.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use autoscaling_apiserver::server::ServeConfig;
use autoscaling_apiserver::server::auth::{AuthnOptions, AuthzOptions};
use autoscaling_apiserver::server::tls::CertSource;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use rcgen::ExtendedKeyUsagePurpose;
use rustls::version::TLS13;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::certs::{Ca, Leaf, ring};
use super::client::{Conn, request_bytes};

/// Points `kube-system/extension-apiserver-authentication` (published by devcluster with its own
/// CAs) at the bench's client and front-proxy CAs, so the bench signs the front-proxy certificate.
pub async fn trust_bench_cas(client: &kube::Client, front_proxy: &Ca, client_ca: &Ca) -> anyhow::Result<()> {
    let data = serde_json::json!({"data": {
        "client-ca-file": client_ca.pem(),
        "requestheader-client-ca-file": front_proxy.pem(),
        "requestheader-allowed-names": "[\"front-proxy-client\"]",
        "requestheader-username-headers": "[\"X-Remote-User\"]",
        "requestheader-group-headers": "[\"X-Remote-Group\"]",
        "requestheader-extra-headers-prefix": "[\"X-Remote-Extra-\"]"
    }});
    let api = Api::<ConfigMap>::namespaced(client.clone(), "kube-system");
    let name = "extension-apiserver-authentication";
    if api.get_opt(name).await?.is_some() {
        api.patch(name, &PatchParams::default(), &Patch::Merge(&data)).await.context("patch the auth ConfigMap")?;
    } else {
        let mut cm = data;
        cm["metadata"] = serde_json::json!({"name": name, "namespace": "kube-system"});
        api.create(&PostParams::default(), &serde_json::from_value(cm)?).await.context("create the auth ConfigMap")?;
    }
    Ok(())
}

/// A ClusterRole (get/list on `external.metrics.k8s.io` `*`) bound to the HPA ServiceAccount.
pub async fn allow_hpa_external_metrics(client: &kube::Client) -> anyhow::Result<()> {
    let rbac = |kind: &str, plural: &str| {
        let gvk = GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind);
        Api::<DynamicObject>::all_with(client.clone(), &ApiResource::from_gvk_with_plural(&gvk, plural))
    };
    let role = serde_json::json!({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
        "metadata":{"name":"external-metrics-reader"},
        "rules":[{"apiGroups":["external.metrics.k8s.io"],"resources":["*"],"verbs":["get","list"]}]});
    let binding = serde_json::json!({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
        "metadata":{"name":"hpa-external-metrics"},
        "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"external-metrics-reader"},
        "subjects":[{"kind":"ServiceAccount","name":"horizontal-pod-autoscaler","namespace":"kube-system"}]});
    rbac("ClusterRole", "clusterroles").create(&PostParams::default(), &serde_json::from_value(role)?).await?;
    rbac("ClusterRoleBinding", "clusterrolebindings")
        .create(&PostParams::default(), &serde_json::from_value(binding)?)
        .await?;
    Ok(())
}

/// Ephemeral ports on 127.0.0.1, a self-signed serving certificate, default auth options.
pub fn serve_config() -> anyhow::Result<ServeConfig> {
    Ok(ServeConfig {
        secure_addr: "127.0.0.1:0".parse()?,
        metrics_addr: "127.0.0.1:0".parse()?,
        certs: CertSource::SelfSigned { service: "autoscaling-apiserver".into(), namespace: "datadog".into() },
        allow_legacy_tls: false,
        cert_poll_interval: Duration::from_secs(60),
        authn: AuthnOptions::default(),
        authz: AuthzOptions::default(),
    })
}

/// The load client's TLS: both configs trust our server's CA and the bare server's; `client`
/// presents the front-proxy certificate (CN front-proxy-client), `anon` none.
pub struct ClientTls {
    pub client: Arc<ClientConfig>,
    pub anon: Arc<ClientConfig>,
    pub front_proxy_leaf: Leaf,
}

impl ClientTls {
    pub fn new(ours_ca_pem: Option<&str>, bare_ca: &Ca, front_proxy: &Ca) -> anyhow::Result<Self> {
        let ours_ca = CertificateDer::from_pem_slice(ours_ca_pem.context("self-signed CA")?.as_bytes())?;
        let mut roots = RootCertStore::empty();
        roots.add(ours_ca)?;
        roots.add(bare_ca.der())?;
        let fp = front_proxy.leaf("front-proxy-client", &[], ExtendedKeyUsagePurpose::ClientAuth)?;
        let client = client_config(roots.clone(), Some((fp.cert.clone(), fp.key())))?;
        let anon = client_config(roots, None)?;
        Ok(ClientTls { client, anon, front_proxy_leaf: fp })
    }
}

/// A TLS 1.3, HTTP/1.1 client config trusting `roots`, presenting `auth` when given.
pub fn client_config(
    roots: RootCertStore,
    auth: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> anyhow::Result<Arc<ClientConfig>> {
    let builder =
        ClientConfig::builder_with_provider(ring()).with_protocol_versions(&[&TLS13])?.with_root_certificates(roots);
    let mut config = match auth {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key)?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// When the first connection was up and `/readyz` answered 200, counted from `t0`.
pub struct Ready {
    pub connected_in: Duration,
    pub ready_in: Duration,
    pub polls: usize,
    /// The first poll's round trip alone.
    pub first_poll: Duration,
}

/// Polls `/readyz` every 1 ms on one keep-alive connection until 200 (at most `limit`).
pub async fn wait_ready(
    addr: SocketAddr,
    anon: Arc<ClientConfig>,
    t0: Instant,
    limit: Duration,
) -> anyhow::Result<Ready> {
    let readyz = request_bytes("/readyz", false);
    let mut probe = Conn::connect(addr, anon).await?;
    let connected_in = t0.elapsed();
    let mut polls = 0;
    let mut first_poll = Duration::ZERO;
    let ready_in = loop {
        polls += 1;
        let t = Instant::now();
        let status = probe.round_trip(&readyz).await?.status;
        if polls == 1 {
            first_poll = t.elapsed();
        }
        if status == 200 {
            break t0.elapsed();
        }
        if t0.elapsed() > limit {
            bail!("/readyz not 200 within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    Ok(Ready { connected_in, ready_in, polls, first_poll })
}

/// The lines of the server's metrics port (plain HTTP, as Prometheus scrapes it) containing any of
/// `patterns`.
pub async fn scrape(metrics_addr: SocketAddr, patterns: &[&str]) -> anyhow::Result<Vec<String>> {
    let mut scrape = TcpStream::connect(metrics_addr).await?;
    scrape.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").await?;
    let mut exposition = String::new();
    scrape.read_to_string(&mut exposition).await?;
    Ok(exposition.lines().filter(|l| patterns.iter().any(|p| l.contains(p))).map(str::to_owned).collect())
}

/// The cumulative latency buckets (`le`, count) of `route` on the server's metrics port, in `le`
/// order.
pub async fn latency_buckets(metrics_addr: SocketAddr, route: &str) -> anyhow::Result<Vec<(f64, u64)>> {
    let lines = scrape(metrics_addr, &["http_request_duration_seconds_bucket"]).await?;
    let label = format!("route=\"{route}\"");
    let mut buckets = Vec::new();
    for line in lines.iter().filter(|l| l.contains(&label)) {
        let le = line.split("le=\"").nth(1).and_then(|rest| rest.split('"').next()).with_context(|| line.clone())?;
        let le = if le == "+Inf" { f64::INFINITY } else { le.parse().with_context(|| line.clone())? };
        let count = line.rsplit(' ').next().and_then(|c| c.parse().ok()).with_context(|| line.clone())?;
        buckets.push((le, count));
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(buckets)
}

/// Each bucket of `after` less the same bucket of `before`: what was counted in between.
pub fn buckets_since(before: &[(f64, u64)], after: &[(f64, u64)]) -> Vec<(f64, u64)> {
    after
        .iter()
        .map(|(le, n)| (*le, n.saturating_sub(before.iter().find(|(b, _)| b == le).map_or(0, |(_, m)| *m))))
        .collect()
}
