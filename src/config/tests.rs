use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

fn yaml(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().expect("temp file");
    file.write_all(text.as_bytes()).expect("write temp file");
    file
}

fn load_env(pairs: &[(&str, &str)]) -> (Settings, Vec<Diagnostic>) {
    load(None, env(pairs), &[]).expect("load")
}

fn load_yaml(text: &str) -> (Settings, Vec<Diagnostic>, PathBuf) {
    let file = yaml(text);
    let (settings, diags) = load(Some(file.path()), Vec::new(), &[]).expect("load");
    (settings, diags, file.path().to_owned())
}

fn file_source(path: &Path) -> Source {
    Source::File(path.to_owned())
}

#[test]
fn defaults_match_spec() {
    let settings = Settings::defaults();
    assert_eq!(settings.external_metrics_provider_port(), 8443);
    assert_eq!(settings.metrics_port(), 5000);
    assert!(!settings.external_metrics_provider_enabled());
    assert_eq!(settings.site(), "datadoghq.com");
    assert_eq!(settings.endpoint(), "https://api.datadoghq.com");
    assert_eq!(settings.leader_lease_name(), "datadog-leader-election");
    assert_eq!(settings.leader_lease_duration(), Duration::from_secs(60));
    assert_eq!(settings.leader_election_default_resource(), "configmap");
    assert_eq!(settings.external_metrics_provider_refresh_period(), Duration::from_secs(30));
    assert_eq!(settings.max_age(), Duration::from_secs(120));
    assert_eq!(settings.bucket_size(), Duration::from_secs(300));
    assert_eq!(settings.max_time_window(), Duration::from_secs(86400));
    assert_eq!(settings.rollup(), Duration::from_secs(30));
    assert_eq!(settings.chunk_size(), 35);
    assert_eq!(settings.max_parallel_queries(), 10);
    assert_eq!(settings.aggregator(), "avg");
    assert_eq!(settings.api_key(), None);
    assert_eq!(settings.cluster_name(), None);
    assert!(!settings.allow_legacy_tls());
    assert_eq!(settings.resources_namespace(), "default");
    assert_eq!(settings.get("autoscaling.workload.limit"), Some(&Value::Int(1000)));
    assert_eq!(settings.get("admission_controller.failure_policy"), Some(&Value::Str("Ignore".into())));
    assert_eq!(settings.get("autoscaling.workload.in_place_vertical_scaling.enabled"), Some(&Value::Bool(true)));
    assert_eq!(settings.get("cluster_agent.cmd_port"), Some(&Value::Int(5005)));
    let metrics = vec!["container.memory.usage".to_owned(), "container.cpu.usage".to_owned()];
    assert_eq!(settings.get("autoscaling.failover.metrics"), Some(&Value::List(metrics)));
    assert_eq!(
        settings.get("autoscaling.cluster.spot.fallback_duration"),
        Some(&Value::Duration(Duration::from_secs(120)))
    );
    assert_eq!(settings.source("site"), Some(&Source::Default));
}

#[test]
fn every_default_in_the_table_parses() {
    for def in table::KEYS {
        assert_eq!(def.default_value().is_some(), def.default.is_some(), "default of {}", def.key);
    }
    assert_eq!(table::KEYS.len(), 84);
}

#[test]
fn env_names_follow_the_dca_convention_and_are_unique() {
    let mut names = std::collections::HashSet::new();
    for def in table::KEYS {
        let conventional = format!("DD_{}", def.key.to_uppercase().replace('.', "_"));
        assert!(def.env.contains(&conventional.as_str()), "{} lacks {conventional}", def.key);
        assert!(def.env.iter().all(|name| names.insert(*name)), "duplicate env var for {}", def.key);
        assert_eq!(table::lookup(def.key).map(|found| found.key), Some(def.key), "duplicate key {}", def.key);
    }
}

#[test]
fn precedence_is_default_file_env_flag() {
    let file = yaml(
        "external_metrics_provider:\n  port: 1111\n  refresh_period: 15\nmetrics_port: 6000\nsite: datadoghq.eu\n",
    );
    let env = env(&[("DD_EXTERNAL_METRICS_PROVIDER_PORT", "2222"), ("DD_METRICS_PORT", "7000")]);
    let flags = [("external_metrics_provider.port", "3333".to_owned(), "--secure-port")];
    let (settings, diags) = load(Some(file.path()), env, &flags).expect("load");
    assert_eq!(diags, vec![]);
    assert_eq!(settings.external_metrics_provider_port(), 3333);
    assert_eq!(settings.source("external_metrics_provider.port"), Some(&Source::Flag("--secure-port".into())));
    assert_eq!(settings.metrics_port(), 7000);
    assert_eq!(settings.source("metrics_port"), Some(&Source::Env("DD_METRICS_PORT".into())));
    assert_eq!(settings.external_metrics_provider_refresh_period(), Duration::from_secs(15));
    assert_eq!(settings.source("external_metrics_provider.refresh_period"), Some(&file_source(file.path())));
    assert_eq!(settings.endpoint(), "https://api.datadoghq.eu");
    assert_eq!(settings.source("max_age"), None);
    assert_eq!(settings.source("external_metrics_provider.max_age"), Some(&Source::Default));
}

#[test]
fn sources_are_reported_in_the_check() {
    let file = yaml("metrics_port: 6000\n");
    let flags = [("leader_lease_name", "my-lock".to_owned(), "--leader-lease-name")];
    let (settings, diags) = load(Some(file.path()), env(&[("DD_SITE", "datadoghq.eu")]), &flags).expect("load");
    let report = settings.check_report(&diags);
    assert!(report.contains(&format!("metrics_port = 6000 (file {})\n", file.path().display())), "{report}");
    assert!(report.contains("site = datadoghq.eu (env DD_SITE)\n"), "{report}");
    assert!(report.contains("leader_lease_name = my-lock (flag --leader-lease-name)\n"), "{report}");
    assert!(report.contains("external_metrics_provider.max_age = 120s (default)\n"), "{report}");
    assert!(report.contains("api_key = <unset> (default)\n"), "{report}");
    assert!(report.ends_with("no problems found\n"), "{report}");
}

#[test]
fn report_lists_keys_sorted_one_per_line() {
    let report = Settings::defaults().check_report(&[]);
    let keys: Vec<&str> =
        report.lines().take_while(|line| !line.is_empty()).map(|line| line.split(" = ").next().unwrap_or("")).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    assert_eq!(keys.len(), table::KEYS.len());
}

#[test]
fn env_beats_file() {
    let file = yaml("cluster_name: from-file\n");
    let env = env(&[("DD_CLUSTER_NAME", "from-env")]);
    let (settings, _) = load(Some(file.path()), env, &[]).expect("load");
    assert_eq!(settings.cluster_name(), Some("from-env"));
    assert_eq!(settings.source("cluster_name"), Some(&Source::Env("DD_CLUSTER_NAME".into())));
}

#[test]
fn unknown_yaml_keys_are_reported_with_their_dotted_path() {
    let (settings, diags, path) =
        load_yaml("external_metrics_provider:\n  enabled: true\n  prot: 9443\nfoo:\n  bar: {}\n  baz: 1\n");
    assert!(settings.external_metrics_provider_enabled());
    let unknown: Vec<(&str, &Source, Problem)> = diags.iter().map(|d| (d.key.as_str(), &d.source, d.kind)).collect();
    let source = file_source(&path);
    let expected = vec![
        ("external_metrics_provider.prot", &source, Problem::UnknownKey),
        ("foo.bar", &source, Problem::UnknownKey),
        ("foo.baz", &source, Problem::UnknownKey),
    ];
    assert_eq!(unknown, expected);
    let report = settings.check_report(&diags);
    let line = format!("external_metrics_provider.prot: unknown key (ignored) (from file {})", path.display());
    assert!(report.contains(&line), "{report}");
}

#[test]
fn map_keys_keep_their_map() {
    let (settings, diags, _) =
        load_yaml("external_metrics_provider:\n  config:\n    secure-port: 9443\n    cert-dir: /certs\n");
    assert_eq!(diags, vec![]);
    assert_eq!(settings.external_metrics_provider_config(), vec![("cert-dir", "/certs"), ("secure-port", "9443")]);
}

#[test]
fn invalid_values_are_reported_and_ignored() {
    let (settings, diags, path) = load_yaml(
        "metrics_port: 70000\nexternal_metrics_provider:\n  max_age: -5\n  enabled: {a: 1}\nleader_election: yes\n",
    );
    assert_eq!(settings.metrics_port(), 5000);
    assert_eq!(settings.source("metrics_port"), Some(&Source::Default));
    assert_eq!(settings.max_age(), Duration::from_secs(120));
    let problems: Vec<(&str, &str)> = diags.iter().map(|d| (d.key.as_str(), d.problem.as_str())).collect();
    assert_eq!(problems[0], ("metrics_port", "invalid value 70000: expected a port number (0-65535) (value ignored)"));
    assert_eq!(problems[1].0, "external_metrics_provider.max_age");
    assert!(
        problems[1].1.contains("invalid value -5:") && problems[1].1.contains("non-negative duration"),
        "{problems:?}"
    );
    assert_eq!(problems[2].0, "external_metrics_provider.enabled");
    assert!(problems[2].1.contains(r#"invalid value {"a":1}:"#) && problems[2].1.contains("a boolean"), "{problems:?}");
    assert_eq!(
        problems[3],
        ("leader_election", "invalid value \"yes\": expected a boolean (true or false) (value ignored)")
    );
    assert!(diags.iter().all(|d| d.source == file_source(&path) && d.kind == Problem::InvalidValue));
}

#[test]
fn invalid_env_and_flag_values_name_their_source() {
    let flags = [("external_metrics_provider.refresh_period", "soon".to_owned(), "--refresh-period")];
    let (settings, diags) = load(
        None,
        env(&[("DD_EXTERNAL_METRICS_PROVIDER_PORT", "-1"), ("DD_EXTERNAL_METRICS_AGGREGATOR", "median")]),
        &flags,
    )
    .expect("load");
    assert_eq!(settings.external_metrics_provider_port(), 8443);
    let found: Vec<(&str, Source)> = diags.iter().map(|d| (d.key.as_str(), d.source.clone())).collect();
    let expected = vec![
        ("external_metrics_provider.port", Source::Env("DD_EXTERNAL_METRICS_PROVIDER_PORT".into())),
        ("external_metrics.aggregator", Source::Env("DD_EXTERNAL_METRICS_AGGREGATOR".into())),
        ("external_metrics_provider.refresh_period", Source::Flag("--refresh-period".into())),
    ];
    assert_eq!(found, expected);
    assert!(diags[1].problem.contains("one of avg, sum, max, min"), "{}", diags[1].problem);
}

#[test]
fn unknown_flag_key_is_reported() {
    let flags = [("external_metrics_provider.prot", "1".to_owned(), "--prot")];
    let (_, diags) = load(None, Vec::new(), &flags).expect("load");
    assert_eq!(diags.len(), 1);
    assert_eq!((diags[0].kind, &diags[0].source), (Problem::UnknownKey, &Source::Flag("--prot".into())));
}

#[test]
fn only_autoscaling_looking_env_vars_are_reported() {
    let (_, diags) = load_env(&[
        ("DD_EXTERNAL_METRICS_PROVIDER_PROT", "1"),
        ("DD_AUTOSCALING_WORKLOAD_ENABLE", "true"),
        ("DD_LOGS_ENABLED", "true"),
        ("DD_AUTOSCALING_WORKLOAD_ENABLED", "true"),
        ("PATH", "/bin"),
    ]);
    let names: Vec<(&str, Problem)> = diags.iter().map(|d| (d.key.as_str(), d.kind)).collect();
    let expected = vec![
        ("DD_AUTOSCALING_WORKLOAD_ENABLE", Problem::IgnoredEnv),
        ("DD_EXTERNAL_METRICS_PROVIDER_PROT", Problem::IgnoredEnv),
    ];
    assert_eq!(names, expected);
    assert_eq!(diags[0].problem, "unknown environment variable (ignored)");
}

#[test]
fn env_parsing_follows_the_dca() {
    let (settings, diags) = load_env(&[
        ("DD_APPLICATION_KEY", "alias-app"),
        ("DD_LEADER_LEASE_DURATION", "0"),
        ("DD_LEADER_ELECTION_DEFAULT_RESOURCE", "Lease"),
        ("DD_EXTERNAL_METRICS_PROVIDER_ENABLED", "1"),
        ("DD_EXTERNAL_METRICS_PROVIDER_BUCKET_SIZE", "5m"),
        ("DD_AUTOSCALING_FAILOVER_METRICS", "a b  c"),
        ("DD_API_KEY", ""),
    ]);
    assert_eq!(diags, vec![]);
    assert_eq!(settings.app_key(), Some("alias-app"));
    assert_eq!(settings.source("app_key"), Some(&Source::Env("DD_APPLICATION_KEY".into())));
    assert_eq!(settings.leader_lease_duration(), Duration::from_secs(60));
    assert_eq!(settings.leader_election_default_resource(), "lease");
    assert!(settings.external_metrics_provider_enabled());
    assert_eq!(settings.bucket_size(), Duration::from_secs(300));
    let metrics = ["a", "b", "c"].map(String::from).to_vec();
    assert_eq!(settings.get("autoscaling.failover.metrics"), Some(&Value::List(metrics)));
    assert_eq!(settings.source("api_key"), Some(&Source::Default), "empty env values count as unset");
}

#[test]
fn dd_app_key_wins_over_its_alias() {
    let (settings, _) = load_env(&[("DD_APPLICATION_KEY", "alias"), ("DD_APP_KEY", "main")]);
    assert_eq!(settings.app_key(), Some("main"));
}

#[test]
fn endpoint_precedence() {
    let (site_only, _) = load_env(&[("DD_SITE", "us5.datadoghq.com")]);
    assert_eq!(site_only.endpoint(), "https://api.us5.datadoghq.com");
    let (host, _) = load_env(&[("DD_SITE", "us5.datadoghq.com"), ("DATADOG_HOST", "https://proxy.local")]);
    assert_eq!(host.endpoint(), "https://proxy.local");
    let configured =
        [("DATADOG_HOST", "https://proxy.local"), ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT", "https://dd.local")];
    assert_eq!(load_env(&configured).0.endpoint(), "https://dd.local");
}

#[test]
fn resources_namespace_precedence() {
    assert_eq!(load_env(&[("DD_POD_NAMESPACE", "datadog")]).0.resources_namespace(), "datadog");
    let both = load_env(&[("DD_POD_NAMESPACE", "datadog"), ("DD_KUBE_RESOURCES_NAMESPACE", "shared")]).0;
    assert_eq!(both.resources_namespace(), "shared");
    assert_eq!(Settings::defaults().resources_namespace_or(Some("from-sa")), "from-sa");
}

#[test]
fn endpoints_env_var_is_json() {
    let json = r#"[{"url":"https://api.datadoghq.eu","api_key":"eu-api","app_key":"eu-app","site":"datadoghq.eu"},{"url":"https://b"}]"#;
    let (settings, diags) = load_env(&[("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINTS", json)]);
    assert_eq!(diags, vec![]);
    let first = Endpoint {
        url: "https://api.datadoghq.eu".into(),
        api_key: "eu-api".into(),
        app_key: "eu-app".into(),
        site: "datadoghq.eu".into(),
    };
    assert_eq!(settings.endpoints(), [first, Endpoint { url: "https://b".into(), ..Endpoint::default() }]);
}

#[test]
fn malformed_endpoints_are_invalid_and_masked() {
    let (settings, diags) =
        load_env(&[("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINTS", r#"[{"url":"x","apikey":"secret-value-1"}]"#)]);
    assert_eq!(settings.endpoints(), []);
    assert_eq!(diags.len(), 1);
    assert!(!diags[0].problem.contains("secret-value-1"), "{}", diags[0].problem);
    assert!(diags[0].problem.contains("list of {url, api_key, app_key, site}"), "{}", diags[0].problem);
}

#[test]
fn endpoints_in_yaml() {
    let (settings, diags, _) = load_yaml(
        "external_metrics_provider:\n  endpoints:\n    - url: https://a\n      api_key: k\n      app_key: p\n",
    );
    assert_eq!(diags, vec![]);
    assert_eq!(settings.endpoints()[0].url, "https://a");
}

#[test]
fn masking_keeps_the_last_five_characters() {
    assert_eq!(report::mask("0123456789abcdef"), "********bcdef");
    assert_eq!(report::mask("abcde"), "********");
    assert_eq!(report::mask("ключ-123456"), "********23456");
}

#[test]
fn check_report_masks_secrets() {
    let json = r#"[{"url":"https://b","api_key":"endpoint-api-77777","app_key":"endpoint-app-88888"}]"#;
    let (settings, diags) = load_env(&[
        ("DD_API_KEY", "main-api-key-11111"),
        ("DD_APP_KEY", "main-app-key-22222"),
        ("DD_CLUSTER_AGENT_AUTH_TOKEN", "token-value-33333"),
        ("DD_EXTERNAL_METRICS_PROVIDER_API_KEY", "abc"),
        ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINTS", json),
    ]);
    let report = settings.check_report(&diags);
    for secret in ["main-api-key", "main-app-key", "token-value", "endpoint-api", "endpoint-app", "= abc"] {
        assert!(!report.contains(secret), "{secret} leaked:\n{report}");
    }
    assert!(report.contains("api_key = ********11111 (env DD_API_KEY)\n"), "{report}");
    assert!(report.contains("cluster_agent.auth_token = ********33333 (env"), "{report}");
    assert!(report.contains("external_metrics_provider.api_key = ******** (env"), "{report}");
    assert!(report.contains(r#""api_key":"********77777","app_key":"********88888""#), "{report}");
}

#[test]
fn require_serving_passes_when_disabled_or_configured() {
    assert!(Settings::defaults().require_serving().is_ok());
    let keys = [("DD_EXTERNAL_METRICS_PROVIDER_ENABLED", "true"), ("DD_API_KEY", "a"), ("DD_APP_KEY", "b")];
    assert!(load_env(&keys).0.require_serving().is_ok());
    let overrides = [
        ("DD_EXTERNAL_METRICS_PROVIDER_ENABLED", "true"),
        ("DD_EXTERNAL_METRICS_PROVIDER_API_KEY", "a"),
        ("DD_EXTERNAL_METRICS_PROVIDER_APP_KEY", "b"),
    ];
    assert!(load_env(&overrides).0.require_serving().is_ok());
}

fn missing(pairs: &[(&str, &str)]) -> (Vec<String>, String) {
    match load_env(pairs).0.require_serving() {
        Err(ConfigError::MissingKeys { keys, message }) => (keys, message),
        other => panic!("expected MissingKeys, got {other:?}"),
    }
}

#[test]
fn require_serving_names_both_missing_keys() {
    let (keys, message) = missing(&[("DD_EXTERNAL_METRICS_PROVIDER_ENABLED", "true")]);
    assert_eq!(keys, ["api_key", "app_key"]);
    assert!(message.contains("missing api_key (set DD_API_KEY, or api_key"), "{message}");
    assert!(message.contains(" and app_key (set DD_APP_KEY or DD_APPLICATION_KEY, or app_key"), "{message}");
}

#[test]
fn require_serving_names_only_the_missing_key() {
    let (keys, message) = missing(&[("DD_EXTERNAL_METRICS_PROVIDER_ENABLED", "true"), ("DD_APP_KEY", "b")]);
    assert_eq!(keys, ["api_key"]);
    assert!(!message.contains("app_key (set"), "{message}");
    let (keys, _) = missing(&[("DD_EXTERNAL_METRICS_PROVIDER_ENABLED", "true"), ("DD_API_KEY", "  ")]);
    assert_eq!(keys, ["api_key", "app_key"], "blank keys count as missing");
}

#[test]
fn require_serving_checks_each_endpoint() {
    let json = r#"[{"url":"https://a","api_key":"k","app_key":"p"},{"url":"https://b","api_key":"k"}]"#;
    let pairs = [
        ("DD_EXTERNAL_METRICS_PROVIDER_ENABLED", "true"),
        ("DD_API_KEY", "a"),
        ("DD_APP_KEY", "b"),
        ("DD_EXTERNAL_METRICS_PROVIDER_ENDPOINTS", json),
    ];
    let (keys, message) = missing(&pairs);
    assert_eq!(keys, ["external_metrics_provider.endpoints[1].app_key"]);
    assert!(message.contains("url \"https://b\""), "{message}");
}

#[test]
fn yaml_parse_error_names_file_and_line() {
    let file = yaml("site: datadoghq.com\nexternal_metrics_provider:\n  port: [8443\n  enabled: true\n");
    let error = load(Some(file.path()), Vec::new(), &[]).expect_err("must fail");
    let ConfigError::ParseFile { path, line, .. } = &error else { panic!("expected ParseFile, got {error:?}") };
    assert_eq!(path, file.path());
    assert!((3..=5).contains(line), "line {line}");
    let text = error.to_string();
    assert!(text.contains(&file.path().display().to_string()) && text.contains(&format!("line {line}")), "{text}");
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let error = load(Some(Path::new("/nonexistent/datadog.yaml")), Vec::new(), &[]).expect_err("must fail");
    assert!(matches!(error, ConfigError::ReadFile { .. }));
    assert!(error.to_string().starts_with("cannot read config file /nonexistent/datadog.yaml: "), "{error}");
}

#[test]
fn empty_and_non_mapping_files() {
    let (settings, diags, _) = load_yaml("# nothing configured\n");
    assert_eq!((settings.metrics_port(), diags.len()), (5000, 0));
    let file = yaml("- a\n- b\n");
    let error = load(Some(file.path()), Vec::new(), &[]).expect_err("must fail");
    assert!(error.to_string().contains("must be a YAML mapping of keys to values, found a list"), "{error}");
}

#[test]
fn yaml_scalars_keep_their_text() {
    let (settings, diags, _) = load_yaml(
        "site: y\nkube_resources_namespace: no\ncluster_name: 0123\napp_key: 123456789012345678901234567890\n",
    );
    assert_eq!((settings.site(), settings.resources_namespace()), ("y", "no"));
    assert_eq!(settings.cluster_name(), Some("0123"));
    assert_eq!(settings.app_key(), None);
    assert_eq!(diags.len(), 1);
    assert!(diags[0].problem.contains("expected a string (quote long numbers)"), "{}", diags[0].problem);
    assert!(diags[0].problem.contains("\"********"), "secret shown masked: {}", diags[0].problem);
}

#[test]
fn null_yaml_values_leave_defaults() {
    let (settings, diags, _) = load_yaml("api_key:\nsite: ~\n");
    assert_eq!(diags, vec![]);
    assert_eq!((settings.api_key(), settings.site()), (None, "datadoghq.com"));
}

#[test]
fn derived_values() {
    let (settings, _) = load_env(&[
        ("DD_EXTERNAL_METRICS_PROVIDER_ROLLUP", "60"),
        ("DD_EXTERNAL_METRICS_PROVIDER_MAX_PARALLEL_QUERIES", "0"),
    ]);
    assert_eq!(settings.metrics_max_age(), Duration::from_secs(180));
    assert_eq!(settings.max_parallel_queries(), 300);
}
