//! API server throughput and latency on the external metric endpoint (issue #3), next to a bare
//! hyper + rustls server in the same process returning the same bytes, in the same run.
//!
//! Setup: devcluster (in-process kube-apiserver), the extension-apiserver-authentication ConfigMap
//! with a front-proxy CA, RBAC letting the HPA ServiceAccount get/list external metrics, then
//! `server::start` with a constant provider. Every load request is what the aggregator forwards for
//! the HPA: front-proxy client certificate (CN front-proxy-client) + X-Remote-User/-Group headers,
//! so each request is authenticated (request headers) and authorized (SubjectAccessReview, cached
//! after the first request).
//!
//! Load client: a minimal HTTP/1.1 keep-alive client over tokio-rustls (no HTTP library, to keep
//! the client's share of the two cores small), C connections each issuing sequential requests, on
//! the same tokio runtime as both servers. Modes, each run alternately ours / bare / ours / bare:
//! closed-loop (fixed request count, as fast as possible) and open-loop (fixed rate, fixed time).
//!
//! Also printed: `start()` -> first `/readyz` 200 in process; handshake and first requests on fresh
//! connections (ours, bare, bare with TCP_NODELAY); the real binary (`serve` against devcluster)
//! from spawn to `/readyz` 200; the cost of one `ClientCaStore::verify` call; the server's
//! request and auth-cache counters from its metrics port.
//!
//! Run: `cargo bench --bench server`. Prints figures; asserts only that responses are correct.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use autoscaling_apiserver::apimachinery::selector::LabelSelector;
use autoscaling_apiserver::devcluster::{Config, DevCluster};
use autoscaling_apiserver::server::auth::{AuthnOptions, AuthzOptions};
use autoscaling_apiserver::server::tls::{CertSource, ClientCaStore};
use autoscaling_apiserver::server::{ExternalMetricValue, MetricsProvider, ProviderError, ServeConfig, start};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use hyper::body::{Body, Frame, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::version::TLS13;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

const HOST: &str = "autoscaling-apiserver.datadog.svc";
const METRIC: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/datadogmetric@default:web-rps";
const HPA_USER: &str = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";

/// Concurrent keep-alive connections per run.
const CONNECTIONS: usize = 16;
/// Closed-loop: requests per run (split evenly over the connections), after a warm-up run.
const CLOSED_REQUESTS: usize = 20_000;
const WARMUP_REQUESTS: usize = 2_000;
/// Open-loop: target rate and duration per run.
const OPEN_RATE: u64 = 2_000;
const OPEN_SECS: u64 = 5;

// ---------------------------------------------------------------------------------------------
// Provider and certificates

struct ConstProvider;

impl MetricsProvider for ConstProvider {
    fn get(&self, _ns: &str, metric: &str, _s: &LabelSelector) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        Ok(vec![ExternalMetricValue {
            metric_name: metric.into(),
            metric_labels: None,
            timestamp: "2026-11-23T10:00:00Z".into(),
            window: None,
            value: "42".into(),
        }])
    }
}

fn ring() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(cn: &str) -> anyhow::Result<Self> {
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Ok(Ca { issuer: CertifiedIssuer::self_signed(p, KeyPair::generate()?)? })
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A leaf certificate (client: CN only, ClientAuth; server: SAN names, ServerAuth) + its key.
    fn leaf(&self, cn: &str, sans: &[&str], purpose: ExtendedKeyUsagePurpose) -> anyhow::Result<Leaf> {
        let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![purpose];
        let key = KeyPair::generate()?;
        let cert = p.signed_by(&key, &self.issuer)?;
        Ok(Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }
}

struct Leaf {
    cert: CertificateDer<'static>,
    key_der: Vec<u8>,
    cert_pem: String,
    key_pem: String,
}

impl Leaf {
    fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

// ---------------------------------------------------------------------------------------------
// Minimal HTTP/1.1 keep-alive client over rustls

struct Reply {
    status: u16,
    head: String,
    body: Bytes,
}

struct Conn {
    tls: TlsStream<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    async fn connect(addr: SocketAddr, config: Arc<ClientConfig>) -> anyhow::Result<Conn> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let tls = TlsConnector::from(config).connect(ServerName::try_from(HOST)?, tcp).await?;
        Ok(Conn { tls, buf: Vec::with_capacity(4096) })
    }

    /// Write one request, read one Content-Length-delimited response.
    async fn round_trip(&mut self, request: &[u8]) -> anyhow::Result<Reply> {
        self.tls.write_all(request).await?;
        self.tls.flush().await?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])?.to_owned();
        let status: u16 = head.get(9..12).context("short status line")?.parse()?;
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
            })
            .context("response without Content-Length")?;
        while self.buf.len() < head_end + len {
            self.fill().await?;
        }
        let body = Bytes::copy_from_slice(&self.buf[head_end..head_end + len]);
        self.buf.drain(..head_end + len);
        Ok(Reply { status, head, body })
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.tls.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed mid-response");
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn request_bytes(path: &str, front_proxy_headers: bool) -> Vec<u8> {
    let mut r = format!("GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\nUser-Agent: bench\r\n");
    if front_proxy_headers {
        r.push_str(&format!("X-Remote-User: {HPA_USER}\r\n"));
        for g in ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"] {
            r.push_str(&format!("X-Remote-Group: {g}\r\n"));
        }
    }
    r.push_str("\r\n");
    r.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// The bare server: hyper 1 + hyper-util auto builder on tokio-rustls, one fixed response

/// A single-chunk body (http-body-util's `Full` without the dependency).
struct Full(Option<Bytes>);

impl Body for Full {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.take().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// `nodelay`: set TCP_NODELAY on accepted sockets (the API server's listener does not; the
/// measured bare server doesn't either, a second one with it shows what it changes).
async fn start_bare(
    tls: Arc<ServerConfig>,
    headers: HeaderMap,
    body: Bytes,
    nodelay: bool,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(tls);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, headers, body) = (acceptor.clone(), headers.clone(), body.clone());
            tokio::spawn(async move {
                if nodelay {
                    let _ = tcp.set_nodelay(true);
                }
                let Ok(stream) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(move |_req| {
                    let mut resp = Response::new(Full(Some(body.clone())));
                    *resp.headers_mut() = headers.clone();
                    async move { Ok::<_, std::convert::Infallible>(resp) }
                });
                // The same builder call as the API server's listener.
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(addr)
}

// ---------------------------------------------------------------------------------------------
// Load

struct Target {
    name: &'static str,
    addr: SocketAddr,
}

struct Shared {
    client_tls: Arc<ClientConfig>,
    request: Arc<Vec<u8>>,
    expect: Bytes,
}

async fn connect_all(t: &Target, s: &Shared) -> anyhow::Result<Vec<Conn>> {
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut c = Conn::connect(t.addr, s.client_tls.clone()).await?;
        check(&c.round_trip(&s.request).await?, &s.expect)?;
        conns.push(c);
    }
    Ok(conns)
}

fn check(r: &Reply, expect: &Bytes) -> anyhow::Result<()> {
    if r.status != 200 || r.body != *expect {
        bail!("unexpected response {}: {}", r.status, String::from_utf8_lossy(&r.body));
    }
    Ok(())
}

struct Run {
    wall: Duration,
    /// Latency from writing the request to having the whole response, nanoseconds.
    service: Vec<u64>,
    /// Open loop only: like `service`, but from the due time when the send was late because the
    /// connection was still busy (coordinated-omission correction).
    corrected: Vec<u64>,
    conns: Vec<Conn>,
}

async fn closed_loop(conns: Vec<Conn>, total: usize, s: &Shared) -> anyhow::Result<Run> {
    let per_conn = total / conns.len();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mut c in conns {
        let (request, expect) = (s.request.clone(), s.expect.clone());
        tasks.spawn(async move {
            let mut lat = Vec::with_capacity(per_conn);
            for _ in 0..per_conn {
                let t = Instant::now();
                let r = c.round_trip(&request).await?;
                lat.push(t.elapsed().as_nanos() as u64);
                check(&r, &expect)?;
            }
            anyhow::Ok((c, lat))
        });
    }
    let mut run = Run { wall: Duration::ZERO, service: Vec::new(), corrected: Vec::new(), conns: Vec::new() };
    while let Some(done) = tasks.join_next().await {
        let (c, lat) = done??;
        run.service.extend(lat);
        run.conns.push(c);
    }
    run.wall = started.elapsed();
    Ok(run)
}

/// Each connection sends on its own fixed schedule (rate / C per second, staggered), so the total
/// offered load is `rate` regardless of response times; a late response delays the next send on
/// that connection, and `corrected` latency counts that wait.
async fn open_loop(conns: Vec<Conn>, rate: u64, secs: u64, s: &Shared) -> anyhow::Result<Run> {
    let n = conns.len() as u64;
    let period = Duration::from_nanos(1_000_000_000 * n / rate);
    let per_conn = (rate * secs / n) as usize;
    let started = Instant::now() + Duration::from_millis(5);
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut c) in conns.into_iter().enumerate() {
        let (request, expect) = (s.request.clone(), s.expect.clone());
        let base = started + period * i as u32 / n as u32;
        tasks.spawn(async move {
            let (mut service, mut corrected) = (Vec::with_capacity(per_conn), Vec::with_capacity(per_conn));
            for k in 0..per_conn {
                let due = base + period * k as u32;
                // Behind schedule (the previous response came after this send was due): count
                // from the due time. On time: count from the actual send, so the timer wheel's
                // 1 ms granularity is not charged to the server.
                let behind = Instant::now() > due;
                tokio::time::sleep_until(due.into()).await;
                let t = Instant::now();
                let r = c.round_trip(&request).await?;
                let done = Instant::now();
                service.push((done - t).as_nanos() as u64);
                corrected.push((done - if behind { due } else { t }).as_nanos() as u64);
                check(&r, &expect)?;
            }
            anyhow::Ok((c, service, corrected))
        });
    }
    let mut run = Run { wall: Duration::ZERO, service: Vec::new(), corrected: Vec::new(), conns: Vec::new() };
    while let Some(done) = tasks.join_next().await {
        let (c, service, corrected) = done??;
        run.service.extend(service);
        run.corrected.extend(corrected);
        run.conns.push(c);
    }
    run.wall = started.elapsed();
    Ok(run)
}

struct Pct {
    p50: f64,
    p99: f64,
    max: f64,
}

/// Percentiles in milliseconds (nearest rank).
fn pct(v: &mut [u64]) -> Pct {
    v.sort_unstable();
    let at = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1] as f64 / 1e6;
    Pct { p50: at(0.50), p99: at(0.99), max: at(1.0) }
}

/// Fresh connection: handshake time and the first request's round trip, a few times.
async fn fresh_connection(t: &Target, config: Arc<ClientConfig>, request: &[u8]) -> anyhow::Result<String> {
    let mut out = Vec::new();
    for _ in 0..3 {
        let t0 = Instant::now();
        let mut c = Conn::connect(t.addr, config.clone()).await?;
        let hs = t0.elapsed();
        let t1 = Instant::now();
        c.round_trip(request).await?;
        let first = t1.elapsed();
        let t2 = Instant::now();
        c.round_trip(request).await?;
        out.push(format!(
            "handshake {:.2} ms, 1st request {:.2} ms, 2nd {:.2} ms",
            hs.as_secs_f64() * 1e3,
            first.as_secs_f64() * 1e3,
            t2.elapsed().as_secs_f64() * 1e3
        ));
    }
    Ok(out.join("; "))
}

/// The real binary: `autoscaling-apiserver serve` against devcluster, from spawn to the first
/// `/readyz` 200 (polled every 1 ms; connection refused until the listener is bound).
struct StartRun {
    /// Spawn -> TLS handshake done on the first accepted connection.
    listening: Duration,
    /// Spawn -> /readyz 200.
    ready: Duration,
    /// Round trip of the first /readyz request on that connection.
    first_rt: Duration,
    polls: usize,
}

async fn process_start(dc: &DevCluster, serving: &Leaf, config: Arc<ClientConfig>) -> anyhow::Result<Vec<StartRun>> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("kubeconfig"), dc.kubeconfig_yaml())?;
    std::fs::write(dir.path().join("tls.crt"), &serving.cert_pem)?;
    std::fs::write(dir.path().join("tls.key"), &serving.key_pem)?;
    let readyz = request_bytes("/readyz", false);
    let mut times = Vec::new();
    for _ in 0..3 {
        let port = |l: std::net::TcpListener| l.local_addr().map(|a| a.port());
        let secure = port(std::net::TcpListener::bind("127.0.0.1:0")?)?;
        let metrics = port(std::net::TcpListener::bind("127.0.0.1:0")?)?;
        let addr: SocketAddr = ([127, 0, 0, 1], secure).into();
        let t0 = Instant::now();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_autoscaling-apiserver"))
            .env_clear()
            .args(["--log-level", "error", "serve", "--bind-address", "127.0.0.1"])
            .arg("--kubeconfig")
            .arg(dir.path().join("kubeconfig"))
            .arg("--cert-dir")
            .arg(dir.path())
            .args(["--secure-port", &secure.to_string(), "--metrics-port", &metrics.to_string()])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        // Connect (refused until the listener is bound), then poll on that one keep-alive
        // connection, so at most its first request can meet the Nagle stall.
        let mut conn = None;
        let (mut listening, mut first_rt, mut polls) = (Duration::ZERO, Duration::ZERO, 0);
        let ready = loop {
            if t0.elapsed() > Duration::from_secs(10) {
                bail!("serve: /readyz not 200 within 10 s");
            }
            if let Ok(Some(status)) = child.try_wait() {
                bail!("serve exited early: {status}");
            }
            if conn.is_none() {
                conn = Conn::connect(addr, config.clone()).await.ok();
                listening = t0.elapsed();
            }
            if let Some(c) = conn.as_mut() {
                let t = Instant::now();
                let reply = c.round_trip(&readyz).await;
                polls += 1;
                if polls == 1 {
                    first_rt = t.elapsed();
                }
                match reply {
                    Ok(r) if r.status == 200 => break t0.elapsed(),
                    Ok(_) => {}
                    Err(_) => conn = None,
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        times.push(StartRun { listening, ready, first_rt, polls });
        child.kill().await?;
    }
    Ok(times)
}

// ---------------------------------------------------------------------------------------------

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    println!(
        "machine: {} CPUs visible; devcluster, API server, bare server and load client share one tokio runtime",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    // --- devcluster, auth ConfigMap, RBAC for the HPA ServiceAccount
    let dc = DevCluster::start(Config::default()).await?;
    let kube_client = dc.client().await?;
    let (front_proxy, client_ca) = (Ca::new("front-proxy-ca")?, Ca::new("client-ca")?);
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "extension-apiserver-authentication", "namespace": "kube-system"},
        "data": {
            "client-ca-file": client_ca.pem(),
            "requestheader-client-ca-file": front_proxy.pem(),
            "requestheader-allowed-names": "[\"front-proxy-client\"]",
            "requestheader-username-headers": "[\"X-Remote-User\"]",
            "requestheader-group-headers": "[\"X-Remote-Group\"]",
            "requestheader-extra-headers-prefix": "[\"X-Remote-Extra-\"]"
        }
    }))?;
    Api::<ConfigMap>::namespaced(kube_client.clone(), "kube-system").create(&PostParams::default(), &cm).await?;
    let rbac = |kind: &str, plural: &str| {
        let gvk = GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind);
        Api::<DynamicObject>::all_with(kube_client.clone(), &ApiResource::from_gvk_with_plural(&gvk, plural))
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

    // --- start() → first /readyz 200
    let config = ServeConfig {
        secure_addr: "127.0.0.1:0".parse()?,
        metrics_addr: "127.0.0.1:0".parse()?,
        certs: CertSource::SelfSigned { service: "autoscaling-apiserver".into(), namespace: "datadog".into() },
        allow_legacy_tls: false,
        cert_poll_interval: Duration::from_secs(60),
        authn: AuthnOptions::default(),
        authz: AuthzOptions::default(),
    };
    let t0 = Instant::now();
    let server = start(config, kube_client, Arc::new(ConstProvider)).await?;
    let started_in = t0.elapsed();
    let ours_ca = CertificateDer::from_pem_slice(server.ca_pem.as_deref().context("self-signed CA")?.as_bytes())?;

    // One client config trusts both servers' CAs and presents the front-proxy client certificate.
    let bare_ca = Ca::new("bare-server-ca")?;
    let mut roots = RootCertStore::empty();
    roots.add(ours_ca)?;
    roots.add(bare_ca.der())?;
    let fp = front_proxy.leaf("front-proxy-client", &[], ExtendedKeyUsagePurpose::ClientAuth)?;
    let mut client_tls = ClientConfig::builder_with_provider(ring())
        .with_protocol_versions(&[&TLS13])?
        .with_root_certificates(roots.clone())
        .with_client_auth_cert(vec![fp.cert.clone()], fp.key())?;
    client_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let client_tls = Arc::new(client_tls);
    let mut anon_tls = ClientConfig::builder_with_provider(ring())
        .with_protocol_versions(&[&TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    anon_tls.alpn_protocols = vec![b"http/1.1".to_vec()];

    let readyz = request_bytes("/readyz", false);
    let anon_tls = Arc::new(anon_tls);
    let mut probe = Conn::connect(server.secure_addr, anon_tls.clone()).await?;
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
        if t0.elapsed() > Duration::from_secs(10) {
            bail!("/readyz not 200 within 10 s");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    println!("\n== start-up (in process; devcluster already running, so the ConfigMap sync is a local list)");
    println!("server::start() returned in {:.2} ms", started_in.as_secs_f64() * 1e3);
    println!("first TLS connection to the secure port established at {:.2} ms", connected_in.as_secs_f64() * 1e3);
    println!(
        "first /readyz 200 at {:.2} ms after calling start() ({polls} poll(s), 1 ms apart; the first poll's \
         round trip alone took {:.2} ms)",
        ready_in.as_secs_f64() * 1e3,
        first_poll.as_secs_f64() * 1e3
    );

    // --- warm the auth caches; fetch the response our server sends
    let request = request_bytes(METRIC, true);
    let mut first = Conn::connect(server.secure_addr, client_tls.clone()).await?;
    let t = Instant::now();
    let reply = first.round_trip(&request).await?;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    if reply.status != 200 {
        bail!("metric request as the HPA: {} {}", reply.status, String::from_utf8_lossy(&reply.body));
    }
    let t = Instant::now();
    let second = first.round_trip(&request).await?;
    let second_ms = t.elapsed().as_secs_f64() * 1e3;
    check(&second, &reply.body)?;
    println!("\n== auth warm-up (user {HPA_USER} via front-proxy cert, RBAC-allowed)");
    println!("first metric request (authorization = SubjectAccessReview to devcluster): {first_ms:.2} ms");
    println!("second metric request (authorization decision from the 5 min allow cache): {second_ms:.2} ms");
    println!("all load requests below hit the cached decision");
    println!("response ({} body bytes):\n{}", reply.body.len(), reply.head.trim_end());
    println!("{}", String::from_utf8_lossy(&reply.body));

    // --- bare server with the same headers (minus those hyper sets itself) and body
    let mut headers = HeaderMap::new();
    for line in reply.head.lines().skip(1).filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':').context("header line")?;
        let k = HeaderName::from_bytes(k.trim().as_bytes())?;
        if ["date", "content-length", "connection", "transfer-encoding"].contains(&k.as_str()) {
            continue;
        }
        headers.append(k, HeaderValue::from_str(v.trim())?);
    }
    let bare_leaf = bare_ca.leaf(HOST, &[HOST], ExtendedKeyUsagePurpose::ServerAuth)?;
    let mut client_roots = RootCertStore::empty();
    client_roots.add(front_proxy.der())?;
    client_roots.add(client_ca.der())?;
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(client_roots), ring()).allow_unauthenticated().build()?;
    let mut bare_tls = ServerConfig::builder_with_provider(ring())
        .with_protocol_versions(&[&TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![bare_leaf.cert.clone()], bare_leaf.key())?;
    bare_tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let bare_tls = Arc::new(bare_tls);
    let bare_addr = start_bare(bare_tls.clone(), headers.clone(), reply.body.clone(), false).await?;
    let nodelay_addr = start_bare(bare_tls, headers, reply.body.clone(), true).await?;

    let shared = Shared { client_tls, request: Arc::new(request), expect: reply.body.clone() };
    let ours = Target { name: "ours", addr: server.secure_addr };
    let bare = Target { name: "bare", addr: bare_addr };
    let mut bare_check = Conn::connect(bare.addr, shared.client_tls.clone()).await?;
    let bare_reply = bare_check.round_trip(&shared.request).await?;
    check(&bare_reply, &shared.expect)?;
    println!("bare server response head:\n{}", bare_reply.head.trim_end());

    println!("\n== fresh connections (front-proxy cert; neither server sets TCP_NODELAY, the client does)");
    let bare_nodelay = Target { name: "bare with TCP_NODELAY", addr: nodelay_addr };
    for t in [&ours, &bare, &bare_nodelay] {
        println!("{}: {}", t.name, fresh_connection(t, shared.client_tls.clone(), &shared.request).await?);
    }
    println!("(a ~40 ms first request is Nagle holding the response behind the unacknowledged TLS 1.3");
    println!(" session tickets until the client's delayed ACK; it depends on timing, so not every time)");

    // --- closed loop
    println!(
        "\n== closed loop: {CONNECTIONS} keep-alive HTTP/1.1 connections, {CLOSED_REQUESTS} requests per run \
         (after a {WARMUP_REQUESTS}-request warm-up per server)"
    );
    let mut throughput = [Vec::new(), Vec::new()];
    let mut pools = Vec::new();
    for t in [&ours, &bare] {
        let conns = connect_all(t, &shared).await?;
        pools.push(closed_loop(conns, WARMUP_REQUESTS, &shared).await?.conns);
    }
    for round in 0..2 {
        for (i, t) in [&ours, &bare].into_iter().enumerate() {
            let conns = std::mem::take(&mut pools[i]);
            let mut run = closed_loop(conns, CLOSED_REQUESTS, &shared).await?;
            let rps = run.service.len() as f64 / run.wall.as_secs_f64();
            let p = pct(&mut run.service);
            println!(
                "round {round} {:<4}: {} req in {:.3} s = {:>8.0} req/s; latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
                t.name,
                run.service.len(),
                run.wall.as_secs_f64(),
                rps,
                p.p50,
                p.p99,
                p.max
            );
            throughput[i].push(rps);
            pools[i] = run.conns;
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (o, b) = (mean(&throughput[0]), mean(&throughput[1]));
    println!("throughput ours / bare = {o:.0} / {b:.0} = {:.1} % (target >= 80 %)", 100.0 * o / b);
    for (i, (ot, bt)) in throughput[0].iter().zip(&throughput[1]).enumerate() {
        println!("  round {i}: {:.1} %", 100.0 * ot / bt);
    }

    // --- open loop
    println!(
        "\n== open loop: {OPEN_RATE} req/s for {OPEN_SECS} s per run over the same {CONNECTIONS} connections \
         (each connection paced at {} req/s, staggered)",
        OPEN_RATE / CONNECTIONS as u64
    );
    println!("  service = request written -> response read; corrected = the same, but counted from the due");
    println!("  time when the connection was still busy with the previous request when the send was due");
    for round in 0..2 {
        for (i, t) in [&ours, &bare].into_iter().enumerate() {
            let conns = std::mem::take(&mut pools[i]);
            let mut run = open_loop(conns, OPEN_RATE, OPEN_SECS, &shared).await?;
            let achieved = run.service.len() as f64 / run.wall.as_secs_f64();
            let (s, d) = (pct(&mut run.service), pct(&mut run.corrected));
            println!(
                "round {round} {:<4}: {} req, achieved {:.0} req/s; service p50 {:.3} / p99 {:.3} / max {:.3} ms; \
                 corrected p50 {:.3} / p99 {:.3} / max {:.3} ms",
                t.name,
                run.service.len(),
                achieved,
                s.p50,
                s.p99,
                s.max,
                d.p50,
                d.p99,
                d.max
            );
            pools[i] = run.conns;
        }
    }

    println!("\n== process start: `autoscaling-apiserver serve` (release binary) against the running devcluster");
    let times = process_start(&dc, &bare_leaf, anon_tls.clone()).await?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    for (i, r) in times.iter().enumerate() {
        println!(
            "run {i}: spawn -> TLS handshake done {:.1} ms; spawn -> /readyz 200 {:.1} ms ({} poll(s); the first \
             poll's round trip {:.1} ms); includes the ConfigMap sync",
            ms(r.listening),
            ms(r.ready),
            r.polls,
            ms(r.first_rt)
        );
    }

    println!("\n== where our time goes: ClientCaStore::verify (the gate re-verifies the client chain per request)");
    let store = ClientCaStore::new();
    store.set(Some(&client_ca.pem()), Some(&front_proxy.pem()))?;
    let chain = [fp.cert.clone()];
    let n = 5_000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(store.verify(std::hint::black_box(&chain)));
    }
    let per = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("{n} calls, {per:.1} us per call on one core (front-proxy leaf, both CA bundles set)");
    println!(
        "core time per request incl. client (2 cores x wall / requests, closed loop): ours {:.1} us, bare {:.1} us",
        2e6 / o,
        2e6 / b
    );

    // The metrics port (plain HTTP), as Prometheus scrapes it: request and auth-cache counters.
    let mut scrape = TcpStream::connect(server.metrics_addr).await?;
    scrape.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").await?;
    let mut exposition = String::new();
    scrape.read_to_string(&mut exposition).await?;
    let served: Vec<&str> = exposition
        .lines()
        .filter(|l| l.contains("http_requests_total{") || l.contains("auth_cache_lookups_total{"))
        .collect();
    println!("\nour server's counters:");
    for line in served {
        println!("  {line}");
    }
    drop(pools);
    server.shutdown().await;
    dc.shutdown().await;
    Ok(())
}
