//! MutatingWebhookConfigurations as the dispatcher reads them: every webhook with kube-apiserver's
//! defaults, configurations in name order; plus the defaulting and validation kube-apiserver applies
//! when a configuration is written.

use serde_json::{Value, json};

use super::super::Cluster;
use super::super::meta::cause;
use super::conditions;

pub const GROUP: &str = "admissionregistration.k8s.io";
pub const KIND: &str = "MutatingWebhookConfiguration";

/// Where a webhook is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Client {
    Url(String),
    Service { namespace: String, name: String, path: String, port: u16 },
}

/// One `rules[]` entry.
#[derive(Debug, Clone, Default)]
pub struct Rule {
    pub operations: Vec<String>,
    pub groups: Vec<String>,
    pub versions: Vec<String>,
    pub resources: Vec<String>,
    pub scope: String,
}

/// One webhook of a configuration, defaults applied.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub configuration: String,
    pub name: String,
    /// Identity across admission rounds (configuration name + index, as kube's accessor UID).
    pub key: String,
    pub client: Client,
    pub ca_bundle: Value,
    pub rules: Vec<Rule>,
    pub fail_open: bool,
    pub exact: bool,
    pub namespace_selector: Value,
    pub object_selector: Value,
    pub side_effects: String,
    pub timeout_seconds: u64,
    pub reinvoke_if_needed: bool,
    /// (name, expression)
    pub conditions: Vec<(String, String)>,
    pub review_versions: Vec<String>,
}

/// All webhooks of all MutatingWebhookConfigurations, configurations sorted by name.
pub fn load(cluster: &Cluster) -> Vec<Webhook> {
    let Some(rt) = cluster.registry.lookup(GROUP, "v1", "mutatingwebhookconfigurations") else {
        return Vec::new();
    };
    let (_, snap) = cluster.store.snapshot(&rt.table);
    if snap.is_empty() {
        return Vec::new();
    }
    let mut configs: Vec<Value> = snap.values().map(|s| s.value()).collect();
    configs.sort_by(|a, b| a["metadata"]["name"].as_str().cmp(&b["metadata"]["name"].as_str()));
    configs.iter().flat_map(parse_configuration).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect()
}

fn parse_configuration(config: &Value) -> Vec<Webhook> {
    let cname = config["metadata"]["name"].as_str().unwrap_or_default();
    let hooks = config["webhooks"].as_array().cloned().unwrap_or_default();
    hooks.iter().enumerate().map(|(i, h)| parse_webhook(cname, i, h)).collect()
}

fn parse_webhook(configuration: &str, index: usize, h: &Value) -> Webhook {
    let cc = &h["clientConfig"];
    let client = match cc["url"].as_str() {
        Some(url) => Client::Url(url.to_string()),
        None => Client::Service {
            namespace: cc["service"]["namespace"].as_str().unwrap_or_default().to_string(),
            name: cc["service"]["name"].as_str().unwrap_or_default().to_string(),
            path: cc["service"]["path"].as_str().unwrap_or_default().to_string(),
            port: cc["service"]["port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(443),
        },
    };
    let rules = h["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| Rule {
            operations: strings(&r["operations"]),
            groups: strings(&r["apiGroups"]),
            versions: strings(&r["apiVersions"]),
            resources: strings(&r["resources"]),
            scope: r["scope"].as_str().unwrap_or("*").to_string(),
        })
        .collect();
    let conditions = h["matchConditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["expression"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    Webhook {
        configuration: configuration.to_string(),
        name: h["name"].as_str().unwrap_or_default().to_string(),
        key: format!("{configuration}/{index}"),
        client,
        ca_bundle: cc["caBundle"].clone(),
        rules,
        fail_open: h["failurePolicy"] == "Ignore",
        exact: h["matchPolicy"] == "Exact",
        namespace_selector: h["namespaceSelector"].clone(),
        object_selector: h["objectSelector"].clone(),
        side_effects: h["sideEffects"].as_str().unwrap_or_default().to_string(),
        timeout_seconds: h["timeoutSeconds"].as_u64().unwrap_or(10).clamp(1, 30),
        reinvoke_if_needed: h["reinvocationPolicy"] == "IfNeeded",
        conditions,
        review_versions: strings(&h["admissionReviewVersions"]),
    }
}

fn default_field(obj: &mut Value, key: &str, value: Value) {
    if obj.is_object() && obj[key].is_null() {
        obj[key] = value;
    }
}

/// kube-apiserver's defaults for admissionregistration/v1 MutatingWebhook.
pub fn apply_defaults(config: &mut Value) {
    for h in config["webhooks"].as_array_mut().into_iter().flatten() {
        default_field(h, "failurePolicy", json!("Fail"));
        default_field(h, "matchPolicy", json!("Equivalent"));
        default_field(h, "namespaceSelector", json!({}));
        default_field(h, "objectSelector", json!({}));
        default_field(h, "timeoutSeconds", json!(10));
        default_field(h, "reinvocationPolicy", json!("Never"));
        for r in h["rules"].as_array_mut().into_iter().flatten() {
            default_field(r, "scope", json!("*"));
        }
        if h["clientConfig"]["service"].is_object() {
            default_field(&mut h["clientConfig"]["service"], "port", json!(443));
        }
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn supported(field: &str, value: &str, allowed: &[&str]) -> Value {
    let list: Vec<String> = allowed.iter().map(|a| quoted(a)).collect();
    let msg = format!("Unsupported value: {}: supported values: {}", quoted(value), list.join(", "));
    cause("FieldValueNotSupported", field, &msg)
}

fn invalid(field: &str, value: &str, why: &str) -> Value {
    cause("FieldValueInvalid", field, &format!("Invalid value: {value}: {why}"))
}

fn required(field: &str, detail: &str) -> Value {
    let msg = if detail.is_empty() { "Required value".to_string() } else { format!("Required value: {detail}") };
    cause("FieldValueRequired", field, &msg)
}

/// Validation of a MutatingWebhookConfiguration (after defaulting), as kube-apiserver's
/// `ValidateMutatingWebhookConfiguration` (the create-time rules, also applied to updates).
pub fn validate(config: &Value) -> Vec<Value> {
    let mut causes = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, h) in config["webhooks"].as_array().into_iter().flatten().enumerate() {
        let path = format!("webhooks[{i}]");
        validate_webhook(h, &path, &mut causes);
        let name = h["name"].as_str().unwrap_or_default();
        if !name.is_empty() && names.contains(&name) {
            causes.push(cause(
                "FieldValueDuplicate",
                &format!("{path}.name"),
                &format!("Duplicate value: {}", quoted(name)),
            ));
        }
        names.push(name);
        validate_conditions(&h["matchConditions"], &format!("{path}.matchConditions"), &mut causes);
    }
    causes
}

fn validate_webhook(h: &Value, path: &str, causes: &mut Vec<Value>) {
    let name = h["name"].as_str().unwrap_or_default();
    if name.is_empty() {
        causes.push(required(&format!("{path}.name"), ""));
    } else if name.split('.').filter(|s| !s.is_empty()).count() < 3 {
        causes.push(invalid(
            &format!("{path}.name"),
            &quoted(name),
            "should be a domain with at least three segments separated by dots",
        ));
    }
    for (j, r) in h["rules"].as_array().into_iter().flatten().enumerate() {
        validate_rule(r, &format!("{path}.rules[{j}]"), causes);
    }
    check_enum(h, "failurePolicy", path, &["Fail", "Ignore"], causes);
    check_enum(h, "matchPolicy", path, &["Equivalent", "Exact"], causes);
    check_enum(h, "reinvocationPolicy", path, &["IfNeeded", "Never"], causes);
    // v1 accepts only side-effect-free webhooks (Some/Unknown survive only in objects from v1beta1).
    let side_effects: &[&str] = &["None", "NoneOnDryRun"];
    match h["sideEffects"].as_str() {
        None => causes.push(required(
            &format!("{path}.sideEffects"),
            &format!("must specify one of {}", side_effects.join(", ")),
        )),
        Some(s) if !side_effects.contains(&s) => {
            causes.push(supported(&format!("{path}.sideEffects"), s, side_effects))
        }
        Some(_) => {}
    }
    if let Some(t) = h["timeoutSeconds"].as_i64()
        && !(1..=30).contains(&t)
    {
        causes.push(invalid(
            &format!("{path}.timeoutSeconds"),
            &t.to_string(),
            "the timeout value must be between 1 and 30 seconds",
        ));
    }
    validate_review_versions(&h["admissionReviewVersions"], &format!("{path}.admissionReviewVersions"), causes);
    validate_client(&h["clientConfig"], &format!("{path}.clientConfig"), causes);
}

fn check_enum(h: &Value, key: &str, path: &str, allowed: &[&str], causes: &mut Vec<Value>) {
    if let Some(v) = h[key].as_str()
        && !allowed.contains(&v)
    {
        causes.push(supported(&format!("{path}.{key}"), v, allowed));
    }
}

fn validate_rule(r: &Value, path: &str, causes: &mut Vec<Value>) {
    const OPERATIONS: &[&str] = &["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
    let ops = strings(&r["operations"]);
    if ops.is_empty() {
        causes.push(required(&format!("{path}.operations"), ""));
    }
    for (k, op) in ops.iter().enumerate() {
        if !OPERATIONS.contains(&op.as_str()) {
            causes.push(supported(&format!("{path}.operations[{k}]"), op, OPERATIONS));
        }
    }
    for (key, what) in [("apiGroups", "API groups"), ("apiVersions", "API versions"), ("resources", "resources")] {
        let items = strings(&r[key]);
        if items.is_empty() {
            causes.push(required(&format!("{path}.{key}"), ""));
        }
        if key != "resources" && items.len() > 1 && items.iter().any(|s| s == "*") {
            causes.push(invalid(
                &format!("{path}.{key}"),
                &format!("{items:?}"),
                &format!("if '*' is present, must not specify other {what}"),
            ));
        }
    }
    if let Some(scope) = r["scope"].as_str()
        && !["*", "Cluster", "Namespaced"].contains(&scope)
    {
        causes.push(supported(&format!("{path}.scope"), scope, &["*", "Cluster", "Namespaced"]));
    }
}

fn validate_review_versions(v: &Value, path: &str, causes: &mut Vec<Value>) {
    let versions = strings(v);
    if versions.is_empty() {
        causes.push(required(path, "must specify one of v1, v1beta1"));
    } else if !versions.iter().any(|v| v == "v1" || v == "v1beta1") {
        causes.push(invalid(path, &format!("{versions:?}"), "must include at least one of v1, v1beta1"));
    }
}

fn validate_client(cc: &Value, path: &str, causes: &mut Vec<Value>) {
    match (cc["url"].as_str(), cc["service"].is_object()) {
        (Some(_), true) | (None, false) => causes.push(required(path, "exactly one of url or service is required")),
        (Some(url), false) => {
            if let Some(why) = url_problem(url) {
                causes.push(invalid(&format!("{path}.url"), &quoted(url), why));
            }
        }
        (None, true) => {
            let svc = &cc["service"];
            for key in ["name", "namespace"] {
                if svc[key].as_str().is_none_or(str::is_empty) {
                    causes.push(required(&format!("{path}.service.{key}"), &format!("service {key} is required")));
                }
            }
            if let Some(p) = svc["path"].as_str()
                && !p.starts_with('/')
            {
                causes.push(invalid(&format!("{path}.service.path"), &quoted(p), "must start with a '/'"));
            }
            if let Some(port) = svc["port"].as_i64()
                && !(1..=65535).contains(&port)
            {
                causes.push(invalid(
                    &format!("{path}.service.port"),
                    &port.to_string(),
                    "port is not valid: must be between 1 and 65535, inclusive",
                ));
            }
        }
    }
}

/// kube's `ValidateWebhookURL` with https required.
fn url_problem(url: &str) -> Option<&'static str> {
    let Ok(u) = reqwest::Url::parse(url) else { return Some("host must be specified") };
    if u.scheme() != "https" {
        return Some("'https' is the only allowed URL scheme");
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Some("host must be specified");
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Some("user information is not permitted in the URL");
    }
    if u.fragment().is_some() {
        return Some("fragments are not permitted in the URL");
    }
    if u.query().is_some() {
        return Some("query parameters are not permitted in the URL");
    }
    None
}

fn validate_conditions(v: &Value, path: &str, causes: &mut Vec<Value>) {
    let mut names: Vec<&str> = Vec::new();
    let list = v.as_array().cloned().unwrap_or_default();
    if list.len() > 64 {
        causes.push(cause("FieldValueTooMany", path, &format!("Too many: {}: must have at most 64 items", list.len())));
    }
    for (i, c) in v.as_array().into_iter().flatten().enumerate() {
        let name = c["name"].as_str().unwrap_or_default();
        if name.is_empty() {
            causes.push(required(&format!("{path}[{i}].name"), ""));
        } else if names.contains(&name) {
            causes.push(cause(
                "FieldValueDuplicate",
                &format!("{path}[{i}].name"),
                &format!("Duplicate value: {}", quoted(name)),
            ));
        }
        names.push(name);
        let expression = c["expression"].as_str().unwrap_or_default();
        if expression.trim().is_empty() {
            causes.push(required(&format!("{path}[{i}].expression"), ""));
        } else if let Some(why) = conditions::compile_error(expression) {
            causes.push(invalid(&format!("{path}[{i}].expression"), &quoted(expression), &why));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hook: Value) -> Value {
        let mut c = json!({"metadata": {"name": "c"}, "webhooks": [hook]});
        apply_defaults(&mut c);
        c
    }

    fn hook() -> Value {
        json!({
            "name": "pods.example.com", "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "clientConfig": {"service": {"namespace": "default", "name": "hook", "path": "/mutate"}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]
        })
    }

    fn messages(c: &Value) -> Vec<String> {
        validate(c)
            .iter()
            .map(|c| format!("{}: {}", c["field"].as_str().unwrap(), c["message"].as_str().unwrap()))
            .collect()
    }

    #[test]
    fn defaults_are_kubes() {
        let c = config(hook());
        let h = &c["webhooks"][0];
        assert_eq!((h["failurePolicy"].as_str(), h["matchPolicy"].as_str()), (Some("Fail"), Some("Equivalent")));
        assert_eq!((h["timeoutSeconds"].as_u64(), h["reinvocationPolicy"].as_str()), (Some(10), Some("Never")));
        assert_eq!(h["rules"][0]["scope"], "*");
        assert_eq!(h["clientConfig"]["service"]["port"], 443);
        assert!(messages(&c).is_empty(), "{:?}", messages(&c));
        let parsed = parse_configuration(&c);
        assert_eq!(
            parsed[0].client,
            Client::Service { namespace: "default".into(), name: "hook".into(), path: "/mutate".into(), port: 443 }
        );
        assert!(!parsed[0].fail_open && !parsed[0].exact && !parsed[0].reinvoke_if_needed);
    }

    #[test]
    fn invalid_webhooks_are_named_field_by_field() {
        let mut h = hook();
        h["sideEffects"] = json!("Unknown");
        h["timeoutSeconds"] = json!(31);
        h["admissionReviewVersions"] = json!(["v2"]);
        h["clientConfig"] = json!({"url": "http://localhost/x"});
        h["name"] = json!("short");
        let m = messages(&config(h));
        assert!(
            m.contains(
                &r#"webhooks[0].sideEffects: Unsupported value: "Unknown": supported values: "None", "NoneOnDryRun""#
                    .to_string()
            ),
            "{m:?}"
        );
        assert!(
            m.contains(
                &"webhooks[0].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds"
                    .to_string()
            ),
            "{m:?}"
        );
        assert!(
            m.iter().any(|x| x.starts_with("webhooks[0].admissionReviewVersions: Invalid value")
                && x.ends_with("must include at least one of v1, v1beta1")),
            "{m:?}"
        );
        assert!(m.contains(&r#"webhooks[0].clientConfig.url: Invalid value: "http://localhost/x": 'https' is the only allowed URL scheme"#.to_string()), "{m:?}");
        assert!(m.contains(&r#"webhooks[0].name: Invalid value: "short": should be a domain with at least three segments separated by dots"#.to_string()), "{m:?}");
    }

    #[test]
    fn match_condition_expressions_are_checked_when_written() {
        let mut h = hook();
        h["matchConditions"] = json!([{"name": "a", "expression": "object.metadata.name =="}, {"name": "b", "expression": "authorizer.requestResource.check('get').allowed()"}]);
        let m = messages(&config(h));
        assert!(m.iter().any(|x| x.starts_with(r#"webhooks[0].matchConditions[0].expression: Invalid value: "object.metadata.name ==": compilation failed"#)), "{m:?}");
        assert!(
            m.iter().any(|x| x.starts_with("webhooks[0].matchConditions[1].expression") && x.contains("'authorizer'")),
            "{m:?}"
        );
    }
}
