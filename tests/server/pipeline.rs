//! The whole request pipeline over TLS against devcluster: delegated authentication (front-proxy
//! certificates, client certificates, ServiceAccount JWTs) and authorization (SubjectAccessReview),
//! asserting status codes, Status bodies, and that denied requests never reach the provider.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use autoscaling_apiserver::apimachinery::selector::LabelSelector;
use autoscaling_apiserver::devcluster::{Config, DevCluster};
use autoscaling_apiserver::server::{
    ExternalMetricValue, MetricsProvider, ProviderError, RunningServer, ServeConfig, start,
};
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use kube::api::{Api, Patch, PatchParams, PostParams};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::{Value, json};

const HOST: &str = "autoscaling-apiserver.datadog.svc";
const METRIC: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/datadogmetric@default:web-rps";

#[derive(Default)]
struct CountingProvider {
    calls: AtomicUsize,
}

impl MetricsProvider for CountingProvider {
    fn get(&self, _ns: &str, metric: &str, _s: &LabelSelector) -> Result<Vec<ExternalMetricValue>, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(vec![ExternalMetricValue {
            metric_name: metric.into(),
            metric_labels: None,
            timestamp: "2026-11-23T10:00:00Z".into(),
            window: None,
            value: "42".into(),
        }])
    }
}

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(cn: &str) -> Self {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Ca { issuer: CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap() }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// PEM cert + key of a client certificate (CN user, O groups).
    fn client(&self, cn: &str, orgs: &[&str]) -> String {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        for o in orgs {
            p.distinguished_name.push(DnType::OrganizationName, *o);
        }
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        format!("{}{}", cert.pem(), key.serialize_pem())
    }
}

struct Setup {
    dc: DevCluster,
    server: RunningServer,
    provider: Arc<CountingProvider>,
    front_proxy: Ca,
    client_ca: Ca,
}

async fn setup() -> Setup {
    let dc = DevCluster::start(Config::default()).await.unwrap();
    let client = dc.client().await.unwrap();
    let (front_proxy, client_ca) = (Ca::new("front-proxy-ca"), Ca::new("client-ca"));
    // devcluster publishes this ConfigMap with its own CAs; these tests sign client and front-proxy
    // certificates themselves (including untrusted names), so they replace the CAs it names.
    let data = json!({"data": {
        "client-ca-file": client_ca.pem(),
        "requestheader-client-ca-file": front_proxy.pem(),
        "requestheader-allowed-names": "[\"front-proxy-client\"]",
        "requestheader-username-headers": "[\"X-Remote-User\"]",
        "requestheader-group-headers": "[\"X-Remote-Group\"]",
        "requestheader-extra-headers-prefix": "[\"X-Remote-Extra-\"]"
    }});
    Api::<ConfigMap>::namespaced(client.clone(), "kube-system")
        .patch("extension-apiserver-authentication", &PatchParams::default(), &Patch::Merge(&data))
        .await
        .unwrap();
    let provider = Arc::new(CountingProvider::default());
    let config = ServeConfig::loopback("autoscaling-apiserver", "datadog");
    let server = start(config, client, provider.clone()).await.unwrap();
    let s = Setup { dc, server, provider, front_proxy, client_ca };
    wait_ready(&s).await;
    s
}

fn http(s: &Setup, identity_pem: Option<String>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(s.server.ca_pem.as_deref().unwrap().as_bytes()).unwrap();
    let addr: SocketAddr = s.server.secure_addr;
    let mut b =
        reqwest::Client::builder().add_root_certificate(ca).resolve(HOST, addr).timeout(Duration::from_secs(10));
    if let Some(pem) = identity_pem {
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

fn url(s: &Setup, path: &str) -> String {
    format!("https://{HOST}:{}{path}", s.server.secure_addr.port())
}

async fn wait_ready(s: &Setup) {
    let c = http(s, None);
    for _ in 0..100 {
        if c.get(url(s, "/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server never became ready");
}

async fn get(c: &reqwest::Client, url: String, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = c.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (code, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn calls(s: &Setup) -> usize {
    s.provider.calls.load(Ordering::SeqCst)
}

#[tokio::test]
async fn front_proxy_identity_is_trusted_only_from_the_front_proxy_certificate() {
    let s = setup().await;
    let aggregator = http(&s, Some(s.front_proxy.client("front-proxy-client", &[])));
    let masters = [("X-Remote-User", "system:kube-aggregator"), ("X-Remote-Group", "system:masters")];
    let (code, body) = get(&aggregator, url(&s, "/apis/external.metrics.k8s.io/v1beta1"), &masters).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["kind"], "APIResourceList");
    let (code, body) = get(&aggregator, url(&s, &format!("{METRIC}?labelSelector=app%3Dweb")), &masters).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["items"][0]["value"], "42");
    assert_eq!(calls(&s), 1);

    // The same headers from a caller without the front-proxy certificate are ignored: anonymous → 401.
    let (code, body) = get(&http(&s, None), url(&s, METRIC), &masters).await;
    assert_eq!((code, body["reason"].clone()), (401, json!("Unauthorized")));
    // A front-proxy-CA certificate with a CN not in requestheader-allowed-names is not trusted either.
    let evil = http(&s, Some(s.front_proxy.client("evil", &[])));
    let (code, _) = get(&evil, url(&s, METRIC), &masters).await;
    assert_eq!(code, 401);
    // OpenAPI as the aggregator fetches it: system:aggregator with no groups.
    let (code, body) = get(&aggregator, url(&s, "/openapi/v2"), &[("X-Remote-User", "system:aggregator")]).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(calls(&s), 1, "no provider call for rejected requests");
}

#[tokio::test]
async fn authorization_uses_subject_access_reviews() {
    let s = setup().await;
    let aggregator = http(&s, Some(s.front_proxy.client("front-proxy-client", &[])));
    // Not the HPA controller: kube-apiserver's bootstrap policy already lets that one read external metrics.
    let hpa = [("X-Remote-User", "system:serviceaccount:default:hpa-reader")];
    let (code, body) = get(&aggregator, url(&s, METRIC), &hpa).await;
    assert_eq!(code, 403, "{body}");
    assert_eq!(
        body["message"],
        "datadogmetric@default:web-rps.external.metrics.k8s.io is forbidden: User \"system:serviceaccount:default:hpa-reader\" cannot list resource \"datadogmetric@default:web-rps\" in API group \"external.metrics.k8s.io\" in the namespace \"default\""
    );
    assert_eq!(calls(&s), 0);
    let admin = s.dc.client().await.unwrap();
    let role = json!({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"external-metrics-reader"},
        "rules":[{"apiGroups":["external.metrics.k8s.io"],"resources":["*"],"verbs":["get","list","watch"]}]});
    let binding = json!({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"hpa-external-metrics"},
        "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"external-metrics-reader"},
        "subjects":[{"kind":"ServiceAccount","name":"hpa-reader","namespace":"default"}]});
    let dyn_api = |kind: &str, plural: &str| {
        let gvk = kube::core::GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind);
        Api::<kube::api::DynamicObject>::all_with(
            admin.clone(),
            &kube::core::ApiResource::from_gvk_with_plural(&gvk, plural),
        )
    };
    dyn_api("ClusterRole", "clusterroles")
        .create(&PostParams::default(), &serde_json::from_value(role).unwrap())
        .await
        .unwrap();
    dyn_api("ClusterRoleBinding", "clusterrolebindings")
        .create(&PostParams::default(), &serde_json::from_value(binding).unwrap())
        .await
        .unwrap();
    // A different namespace is a different cached decision.
    let other = METRIC.replace("namespaces/default", "namespaces/team-a");
    let (code, body) = get(&aggregator, url(&s, &other), &hpa).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(calls(&s), 1);
}

#[tokio::test]
async fn client_certificates_and_service_account_tokens() {
    let s = setup().await;
    // Client CA: user = CN, groups = O.
    let jane = http(&s, Some(s.client_ca.client("jane", &["devs"])));
    let (code, body) = get(&jane, url(&s, METRIC), &[]).await;
    assert_eq!(code, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("User \"jane\""), "{body}");
    let root = http(&s, Some(s.client_ca.client("root", &["system:masters"])));
    let (code, _) = get(&root, url(&s, METRIC), &[]).await;
    assert_eq!(code, 200);

    // ServiceAccount JWT (verified locally against the cluster's JWKS); a forged one is 401.
    let admin = s.dc.client().await.unwrap();
    let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": "reader"}})).unwrap();
    Api::<ServiceAccount>::namespaced(admin, "default").create(&PostParams::default(), &sa).await.unwrap();
    let token = s.dc.service_account_token("default", "reader", &[]).unwrap();
    let anon = http(&s, None);
    let bearer = format!("Bearer {token}");
    let (code, body) =
        get(&anon, url(&s, "/apis/external.metrics.k8s.io/v1beta1"), &[("Authorization", &bearer)]).await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = get(&anon, url(&s, METRIC), &[("Authorization", &bearer)]).await;
    assert_eq!(code, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("system:serviceaccount:default:reader"));
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    let (code, _) = get(&anon, url(&s, METRIC), &[("Authorization", &format!("Bearer {forged}"))]).await;
    assert_eq!(code, 401);
    let (code, _) = get(&anon, url(&s, METRIC), &[("Authorization", "Bearer not-a-jwt")]).await;
    assert_eq!(code, 401);
    let (code, body) = get(&anon, url(&s, "/healthz"), &[]).await;
    assert_eq!((code, body), (200, Value::String("ok".into())));
    assert_eq!(calls(&s), 1, "only the authorized client-certificate request reached the provider");

    // The metrics port serves Prometheus text without auth.
    let metrics =
        reqwest::get(format!("http://{}/metrics", s.server.metrics_addr)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("autoscaling_apiserver_http_requests_total{route=\"metric\",code=\"403\"}"), "{metrics}");
    assert!(
        metrics.contains("autoscaling_apiserver_auth_cache_lookups_total{cache=\"authorization\",result=\"miss\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn kubectl_get_raw_against_the_server() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let pem = s.client_ca.client("kubectl-user", &["system:masters"]);
    let split = pem.find("-----BEGIN PRIVATE KEY-----").unwrap();
    std::fs::write(dir.path().join("ca.crt"), s.server.ca_pem.as_deref().unwrap()).unwrap();
    std::fs::write(dir.path().join("user.crt"), &pem[..split]).unwrap();
    std::fs::write(dir.path().join("user.key"), &pem[split..]).unwrap();
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: s\n  cluster:\n    server: https://127.0.0.1:{port}\n    tls-server-name: {HOST}\n    certificate-authority: {d}/ca.crt\nusers:\n- name: u\n  user:\n    client-certificate: {d}/user.crt\n    client-key: {d}/user.key\ncontexts:\n- name: c\n  context: {{cluster: s, user: u}}\ncurrent-context: c\n",
        port = s.server.secure_addr.port(),
        d = dir.path().display()
    );
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, kubeconfig).unwrap();
    for (raw, expect) in [
        ("/apis/external.metrics.k8s.io/v1beta1", "\"kind\":\"APIResourceList\""),
        ("/openapi/v3/apis/external.metrics.k8s.io/v1beta1", "ExternalMetricValueList"),
        (METRIC, "\"value\":\"42\""),
    ] {
        let mut cmd = std::process::Command::new("kubectl");
        cmd.env("KUBECONFIG", &path).env("HOME", dir.path()).args(["get", "--raw", raw, "--request-timeout=10s"]);
        let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().expect("kubectl runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(expect),
            "kubectl get --raw {raw}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn bad_input_gets_a_status_or_a_closed_connection_and_serving_continues() {
    let s = setup().await;
    let aggregator = http(&s, Some(s.front_proxy.client("front-proxy-client", &[])));
    let masters = [("X-Remote-User", "system:kube-aggregator"), ("X-Remote-Group", "system:masters")];
    let huge = "x".repeat(256 * 1024);
    let oversized = aggregator.get(url(&s, "/apis")).header("X-Big", huge.as_str()).send().await;
    assert!(oversized.map(|r| r.status().as_u16() >= 400).unwrap_or(true), "oversized headers are refused");
    for (path, code) in [
        ("/apis/%ff%fe/v1", 404),
        ("/apis/custom.metrics.k8s.io/v1beta1", 404),
        ("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/x?labelSelector=%3D%3D%3D", 400),
        ("/apis/external.metrics.k8s.io/v1beta1/namespaces//x", 404),
        ("/../../etc/passwd", 404),
    ] {
        let (got, body) = get(&aggregator, url(&s, path), &masters).await;
        assert_eq!(got, code, "{path}: {body}");
        assert_eq!(body["kind"], "Status", "{path}: {body}");
    }
    let big_body =
        aggregator.post(url(&s, METRIC)).headers(header_map(&masters)).body(vec![b'a'; 8 * 1024 * 1024]).send().await;
    assert!(big_body.map(|r| r.status().as_u16() >= 400).unwrap_or(true));
    // Raw garbage instead of a TLS ClientHello: the connection is closed.
    let mut raw = tokio::net::TcpStream::connect(s.server.secure_addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut raw, b"GET / HTTP/1.1\r\n\r\n\x00\x01garbage").await.unwrap();
    let mut buf = [0u8; 64];
    let _ = tokio::time::timeout(Duration::from_secs(5), tokio::io::AsyncReadExt::read(&mut raw, &mut buf)).await;
    let (code, _) = get(&aggregator, url(&s, "/apis/external.metrics.k8s.io/v1beta1"), &masters).await;
    assert_eq!(code, 200, "still serving");
    assert_eq!(calls(&s), 0, "none of that reached the provider");
}

fn header_map(pairs: &[(&str, &str)]) -> reqwest::header::HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                reqwest::header::HeaderValue::from_str(v).unwrap(),
            )
        })
        .collect()
}
