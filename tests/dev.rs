//! `autoscaling-apiserver dev`, the README's main command, run as a user runs it: it comes up,
//! prints what to try, `kubectl get hpa,dpa,datadogmetrics` works against its kubeconfig, the
//! aggregated API is reachable through devcluster, the demo DatadogMetric gets a value from the
//! simulated Datadog API and is served through `kubectl get --raw`, and Ctrl-C stops everything
//! cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn kubectl(kubeconfig: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .args(["--request-timeout", "20s"])
        .output()
        .expect("kubectl runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn dev_mode_comes_up_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("dev.kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_autoscaling-apiserver"))
        .args(["dev", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dev starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut printed = String::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !printed.contains("Ctrl-C stops everything") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => printed.push_str(&(line + "\n")),
            Err(_) => {
                let _ = child.kill();
                panic!("dev did not come up within 90 s; it printed:\n{printed}");
            }
        }
    }
    assert!(printed.contains(&format!("export KUBECONFIG={}", kubeconfig.display())), "{printed}");
    assert!(printed.contains("kubectl get hpa,dpa,datadogmetrics"), "{printed}");

    let (ok, out) = kubectl(&kubeconfig, &["get", "hpa,dpa,datadogmetrics", "-A"]);
    assert!(ok, "{out}");
    assert!(out.contains("horizontalpodautoscaler.autoscaling/web"), "{out}");
    assert!(out.contains("datadogmetric.datadoghq.com/web-rps"), "{out}");
    // Workload autoscaling: the Local DPA of the demo, the webhook configuration, the Remote feed.
    let (ok, out) = kubectl(&kubeconfig, &["get", "dpa", "shop", "-n", "default", "-o", "name"]);
    assert!(ok && out.contains("datadogpodautoscaler.datadoghq.com/shop"), "{out}");
    let (ok, out) =
        kubectl(&kubeconfig, &["get", "mutatingwebhookconfiguration", "autoscaling-apiserver", "-o", "json"]);
    assert!(ok, "{out}");
    let hooks: serde_json::Value = serde_json::from_str(&out).expect("webhook configuration JSON");
    let port = hooks["webhooks"][0]["clientConfig"]["service"]["port"].as_u64().unwrap_or_default();
    assert!(port > 0 && port != 8443, "the webhook points at the in-process server's port: {hooks}");
    assert!(hooks["webhooks"][0]["clientConfig"]["caBundle"].as_str().is_some_and(|b| b.len() > 100), "{hooks}");
    assert!(printed.contains("kubectl get dpa -w"), "{printed}");
    let feed = dir.path().join("dev-feed");
    assert!(printed.contains(&feed.display().to_string()), "{printed}");
    assert!(feed.join("settings/checkout.json").is_file() && feed.join("values/recommendations.json").is_file());
    let (ok, out) = kubectl(&kubeconfig, &["get", "apiservice", "v1beta1.external.metrics.k8s.io"]);
    assert!(ok, "{out}");
    let (ok, out) = kubectl(
        &kubeconfig,
        &[
            "auth",
            "can-i",
            "create",
            "subjectaccessreviews",
            "--as",
            "system:serviceaccount:datadog:autoscaling-apiserver",
        ],
    );
    assert!(
        ok && out.lines().next() == Some("yes"),
        "the server runs with its ServiceAccount, bound by deploy/: {out}"
    );

    assert!(printed.contains("kubectl get datadogmetric web-rps -w"), "{printed}");
    assert!(printed.contains("autoscaling-apiserver status --metrics-port"), "{printed}");

    // The demo DatadogMetric turns Valid with a value, and the metric reads through the aggregation layer.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut raw = String::new();
    let served = loop {
        let (ok, status) = kubectl(&kubeconfig, &["get", "datadogmetric", "web-rps", "-n", "default", "-o", "json"]);
        let valid = ok && demo_is_valid(&status);
        if valid {
            let path = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/datadogmetric@default:web-rps?labelSelector=app%3Dweb";
            let (ok, out) = kubectl(&kubeconfig, &["get", "--raw", path]);
            raw = out;
            if ok {
                break serde_json::from_str::<serde_json::Value>(&raw).expect("metric list is JSON");
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the demo DatadogMetric was not served within 90 s; object: {status}\nraw: {raw}");
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let value = served["items"][0]["value"].as_str().unwrap_or_default().to_owned();
    assert!(value == "5" || value == "42", "the simulated series' value (5, or 42 after a minute): {served}");
    assert_eq!(served["items"][0]["metricName"], "datadogmetric@default:web-rps", "{served}");

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let stopped_by = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "dev exits cleanly on Ctrl-C: {status}");
            break;
        }
        if Instant::now() > stopped_by {
            let _ = child.kill();
            panic!("dev did not stop within 30 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `Valid` True and a `currentValue` in the DatadogMetric's status.
fn demo_is_valid(json: &str) -> bool {
    let Ok(object) = serde_json::from_str::<serde_json::Value>(json) else { return false };
    let conditions = object["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let valid = conditions.iter().any(|c| c["type"] == "Valid" && c["status"] == "True");
    valid && object["status"]["currentValue"].as_str().is_some_and(|v| !v.is_empty())
}
