//! The binary as a user runs it: `config check` (precedence file < env < flag, problems with their
//! source), `serve` refusing to start without Datadog keys or on the provider it lacks, `status`
//! with no server to ask, `certs generate`.

use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_autoscaling-apiserver"));
    // Only what the test sets: no DD_* from the developer's shell.
    for (k, _) in std::env::vars() {
        if k.starts_with("DD_") || k == "DATADOG_HOST" {
            c.env_remove(k);
        }
    }
    c
}

fn run(c: &mut Command) -> (bool, String) {
    let out = c.output().expect("binary runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn config_check_reports_values_sources_and_problems() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("datadog.yaml");
    std::fs::write(&file, "external_metrics_provider:\n  port: 7000\n  refresh_period: 45\nmetrics_port: 6000\napi_key: 0123456789abcdef\nnot_a_dca_key: 1\n").unwrap();
    let (ok, out) = run(bin()
        .env("DD_METRICS_PORT", "6001")
        .args(["config", "check", "--metrics-port", "6002", "--config"])
        .arg(&file));
    assert!(ok, "{out}");
    assert!(out.contains("external_metrics_provider.port = 7000 (file "), "{out}");
    assert!(out.contains("metrics_port = 6002 (flag --metrics-port)"), "flag beats env and file: {out}");
    assert!(out.contains("api_key = ********bcdef (file "), "secrets masked: {out}");
    assert!(!out.contains("0123456789abcdef"), "{out}");
    assert!(out.contains("not_a_dca_key"), "unknown key reported: {out}");

    let (ok, out) = run(bin().env("DD_METRICS_PORT", "6001").args(["config", "check", "--config"]).arg(&file));
    assert!(ok);
    assert!(out.contains("metrics_port = 6001 (env DD_METRICS_PORT)"), "env beats file: {out}");

    std::fs::write(&file, "metrics_port: lots\n").unwrap();
    let (ok, out) = run(bin().args(["config", "check", "--config"]).arg(&file));
    assert!(!ok, "an invalid value fails the check: {out}");
    assert!(out.contains("metrics_port"), "{out}");
}

#[test]
fn serve_refuses_to_start_without_datadog_keys() {
    let (ok, out) = run(bin().env("DD_EXTERNAL_METRICS_PROVIDER_ENABLED", "true").args([
        "serve",
        "--secure-port",
        "0",
        "--metrics-port",
        "0",
    ]));
    assert!(!ok);
    assert!(out.contains("api_key") && out.contains("app_key") && out.contains("DD_API_KEY"), "{out}");
}

#[test]
fn status_says_which_address_did_not_answer() {
    // A port just released: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (ok, out) = run(bin().args(["status", "--metrics-port", &port.to_string()]));
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("cannot reach the server's status endpoint http://127.0.0.1:{port}/status")),
        "{out}"
    );
}

#[test]
fn certs_generate_writes_a_usable_pair() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("certs");
    let (ok, out) =
        run(bin().args(["certs", "generate", "--service", "svc", "--namespace", "ns", "--out"]).arg(&out_dir));
    assert!(ok, "{out}");
    for f in ["ca.crt", "ca.key", "tls.crt", "tls.key"] {
        assert!(out_dir.join(f).exists(), "{f}: {out}");
    }
    let certs = autoscaling_apiserver::server::tls::ServingCerts::load(
        &autoscaling_apiserver::server::tls::CertSource::Dir(out_dir),
    );
    assert!(certs.is_ok(), "generated files load as a cert-dir");
}
