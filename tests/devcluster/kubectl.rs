//! kubectl against devcluster: apply/get/patch/delete/explain/auth can-i, as a user would run them.

use std::process::Command;
use std::time::Duration;

use super::support::{crd_path, example_path, start};

struct Kubectl {
    kubeconfig: tempfile::NamedTempFile,
}

impl Kubectl {
    fn new(dc: &autoscaling_apiserver::devcluster::DevCluster) -> Self {
        let kubeconfig = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(kubeconfig.path(), dc.kubeconfig_yaml()).unwrap();
        Kubectl { kubeconfig }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("kubectl");
        c.env("KUBECONFIG", self.kubeconfig.path())
            .env("HOME", self.kubeconfig.path().parent().unwrap())
            .args(["--request-timeout=20s"])
            .args(args);
        c
    }

    async fn run(&self, args: &[&str]) -> (bool, String) {
        let mut c = self.command(args);
        let out = tokio::task::spawn_blocking(move || c.output()).await.unwrap().expect("kubectl runs");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (ok, text) = self.run(args).await;
        assert!(ok, "kubectl {args:?} failed:\n{text}");
        text
    }
}

#[tokio::test]
async fn apply_crds_examples_and_get_printer_columns() {
    let dc = start().await;
    let k = Kubectl::new(&dc);
    for crd in [
        "datadoghq.com_datadogpodautoscalers.yaml",
        "datadoghq.com_datadogmetrics.yaml",
        "datadoghq.com_datadogpodautoscalerclusterprofiles.yaml",
    ] {
        k.ok(&["apply", "-f", &crd_path(crd)]).await;
    }
    k.ok(&["wait", "--for=condition=Established", "crd/datadogpodautoscalers.datadoghq.com", "--timeout=20s"]).await;
    k.ok(&["create", "namespace", "my-namespace"]).await;
    k.ok(&["apply", "-f", &example_path("dpa/v1alpha2_rightsize-cpu-and-memory.yaml")]).await;
    k.ok(&["apply", "-f", &example_path("datadogmetric/nginx-requests.yaml")]).await;
    let out = k.ok(&["get", "dpa", "-A"]).await;
    let header = out.lines().next().unwrap();
    for col in ["NAMESPACE", "NAME", "APPLY MODE", "ACTIVE", "DESIRED REPLICAS", "TARGET CPU REQ"] {
        assert!(header.contains(col), "missing column {col}: {out}");
    }
    let out = k.ok(&["get", "datadogmetrics", "-A"]).await;
    assert!(out.lines().next().unwrap().contains("REFERENCES"), "{out}");
    // Re-apply is a no-op patch; apply is idempotent.
    let again = k.ok(&["apply", "-f", &example_path("datadogmetric/nginx-requests.yaml")]).await;
    assert!(again.contains("unchanged"), "{again}");
    let explain = k.ok(&["explain", "dpa.spec.constraints"]).await;
    assert!(explain.contains("maxReplicas"), "{explain}");
    let raw = k.ok(&["get", "--raw", "/apis"]).await;
    assert!(raw.contains("datadoghq.com"), "{raw}");
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: app:1
";

#[tokio::test]
async fn apply_patch_and_delete_deployments() {
    let dc = start().await;
    let k = Kubectl::new(&dc);
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), DEPLOYMENT).unwrap();
    let path = file.path().to_str().unwrap();
    k.ok(&["apply", "-f", path]).await;
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"app:2"}]}}}}"#,
    ])
    .await;
    k.ok(&["patch", "deployment", "web", "--type=merge", "-p", r#"{"spec":{"replicas":3}}"#]).await;
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/metadata/labels","value":{"team":"a"}}]"#,
    ])
    .await;
    let image = k
        .ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image} {.spec.replicas} {.metadata.labels.team}",
        ])
        .await;
    assert_eq!(image.trim(), "app:2 3 a");
    // Client-side apply again reverts the image and keeps the rest.
    k.ok(&["apply", "-f", path]).await;
    let image = k.ok(&["get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"]).await;
    assert_eq!(image.trim(), "app:1");
    k.ok(&["apply", "--server-side", "--force-conflicts", "-f", path]).await;
    k.ok(&["delete", "deployment", "web"]).await;
    let (ok, text) = k.run(&["get", "deployment", "web"]).await;
    assert!(!ok && text.contains("NotFound"), "{text}");
}

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: watched
spec:
  containers:
  - name: app
    image: app:1
";

#[tokio::test]
async fn get_pods_watch_sees_a_change() {
    let dc = start().await;
    let k = Kubectl::new(&dc);
    let mut watch = k.command(&["get", "pods", "-w", "--request-timeout=8s"]);
    watch.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = watch.spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), POD).unwrap();
    k.ok(&["apply", "-f", file.path().to_str().unwrap()]).await;
    k.ok(&["label", "pod", "watched", "changed=yes"]).await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("watched")).collect();
    assert!(rows.len() >= 2, "added and modified rows expected:\n{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.lines().next().unwrap_or("").contains("STATUS"), "{text}");
}

#[tokio::test]
async fn auth_can_i_reflects_rbac() {
    let dc = start().await;
    let k = Kubectl::new(&dc);
    k.ok(&["create", "serviceaccount", "bot"]).await;
    let (_, no) = k.run(&["auth", "can-i", "list", "pods", "--as=system:serviceaccount:default:bot"]).await;
    assert_eq!(no.trim(), "no");
    k.ok(&["create", "role", "pod-reader", "--verb=get,list", "--resource=pods"]).await;
    k.ok(&["create", "rolebinding", "bot-reads", "--role=pod-reader", "--serviceaccount=default:bot"]).await;
    let yes = k.ok(&["auth", "can-i", "list", "pods", "--as=system:serviceaccount:default:bot"]).await;
    assert_eq!(yes.trim(), "yes");
    let (_, no) = k.run(&["auth", "can-i", "delete", "pods", "--as=system:serviceaccount:default:bot"]).await;
    assert_eq!(no.trim(), "no");
}

#[tokio::test]
async fn aggregated_view_role_and_token_requests() {
    let dc = start().await;
    let k = Kubectl::new(&dc);
    k.ok(&["create", "serviceaccount", "viewer"]).await;
    // `view` is an aggregated ClusterRole: its rules come from system:aggregate-to-view.
    k.ok(&["create", "rolebinding", "viewer-view", "--clusterrole=view", "--serviceaccount=default:viewer"]).await;
    let yes = k.ok(&["auth", "can-i", "list", "configmaps", "--as=system:serviceaccount:default:viewer"]).await;
    assert_eq!(yes.trim(), "yes");
    let (_, no) = k.run(&["auth", "can-i", "list", "secrets", "--as=system:serviceaccount:default:viewer"]).await;
    assert_eq!(no.trim(), "no", "view never grants secrets");
    let token = k.ok(&["create", "token", "viewer", "--duration=20m"]).await;
    let user = tokio::task::spawn_blocking({
        let mut c = k.command(&["get", "configmaps", "--token", token.trim(), "-o", "name"]);
        move || c.output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(user.status.success(), "{}", String::from_utf8_lossy(&user.stderr));
}
