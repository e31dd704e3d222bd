//! Object metadata rules shared by every resource: names, generateName, uid/timestamps, generation,
//! and the status/spec split of the status subresource.

use rand::Rng;
use serde_json::{Value, json};

use super::registry::ResourceType;

const DNS1123_SUBDOMAIN: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_LABEL: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";

pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// `generateName` + 5 characters from the alphabet apiserver uses (no vowels, no confusable digits).
pub fn generate_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    let base: String = prefix.chars().take(58).collect();
    let suffix: String = (0..5).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("{base}{suffix}")
}

/// Resources whose names must be DNS labels rather than subdomains.
fn needs_dns_label(rt: &ResourceType) -> bool {
    rt.group.is_empty() && matches!(rt.plural.as_str(), "namespaces" | "services")
}

/// Validation causes for metadata.name, as ValidateObjectMeta reports them.
pub fn name_causes(rt: &ResourceType, name: &str) -> Vec<Value> {
    if name.is_empty() {
        return vec![cause("FieldValueRequired", "metadata.name", "Required value: name or generateName is required")];
    }
    if rt.group == "rbac.authorization.k8s.io" {
        return path_segment_causes(name);
    }
    let label = needs_dns_label(rt);
    let (re, max, what, example) = if label {
        (
            DNS1123_LABEL,
            63,
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc'",
            "",
        )
    } else {
        (
            DNS1123_SUBDOMAIN,
            253,
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com'",
            "",
        )
    };
    let _ = example;
    let full = regex::Regex::new(&format!("^{re}$")).map(|r| r.is_match(name)).unwrap_or(false);
    let mut out = Vec::new();
    if name.len() > max {
        out.push(cause(
            "FieldValueInvalid",
            "metadata.name",
            &format!("Invalid value: \"{name}\": must be no more than {max} characters"),
        ));
    }
    if !full {
        out.push(cause(
            "FieldValueInvalid",
            "metadata.name",
            &format!("Invalid value: \"{name}\": {what}, regex used for validation is '{re}')"),
        ));
    }
    out
}

/// RBAC objects only need names usable as a path segment (path.IsValidPathSegmentName).
fn path_segment_causes(name: &str) -> Vec<Value> {
    let invalid = |why: &str| cause("FieldValueInvalid", "metadata.name", &format!("Invalid value: \"{name}\": {why}"));
    match name {
        "." | ".." => vec![invalid(&format!("may not be '{name}'"))],
        _ if name.contains('/') => vec![invalid("may not contain '/'")],
        _ if name.contains('%') => vec![invalid("may not contain '%'")],
        _ => Vec::new(),
    }
}

pub fn cause(reason: &str, field: &str, message: &str) -> Value {
    json!({"reason": reason, "message": message, "field": field})
}

/// Fields the server owns on create: uid, creationTimestamp, generation; user-set values are replaced.
pub fn stamp_new(obj: &mut Value, rt: &ResourceType) {
    let meta = &mut obj["metadata"];
    meta["uid"] = json!(uuid::Uuid::new_v4().to_string());
    meta["creationTimestamp"] = json!(now_rfc3339());
    if let Some(m) = meta.as_object_mut() {
        for k in ["deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "resourceVersion"] {
            m.remove(k);
        }
    }
    if tracks_generation(rt) {
        obj["metadata"]["generation"] = json!(1);
    } else if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("generation");
    }
}

pub fn add_finalizer(obj: &mut Value, finalizer: &str) {
    let mut list = obj["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
    if !list.iter().any(|f| f == finalizer) {
        list.push(json!(finalizer));
        obj["metadata"]["finalizers"] = Value::Array(list);
    }
}

/// Resources whose strategy maintains metadata.generation.
pub fn tracks_generation(rt: &ResourceType) -> bool {
    rt.custom.is_some()
        || matches!(
            rt.plural.as_str(),
            "deployments"
                | "replicasets"
                | "statefulsets"
                | "daemonsets"
                | "horizontalpodautoscalers"
                | "poddisruptionbudgets"
                | "customresourcedefinitions"
                | "jobs"
                | "cronjobs"
        )
}

/// Carries server-owned metadata from the stored object to its replacement and bumps generation when
/// the spec (everything outside metadata and status) changed — for Deployments also on annotation changes.
/// `bump: false` (status writes) never changes generation.
pub fn carry_over(old: &Value, new: &mut Value, rt: &ResourceType, bump: bool) {
    for key in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"] {
        match old["metadata"].get(key) {
            Some(v) => new["metadata"][key] = v.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove(key);
                }
            }
        }
    }
    if bump && tracks_generation(rt) && spec_changed(old, new, rt) {
        let g = old["metadata"]["generation"].as_i64().unwrap_or(0);
        new["metadata"]["generation"] = json!(g + 1);
    }
}

fn spec_changed(old: &Value, new: &Value, rt: &ResourceType) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            m.remove("status");
        }
        v
    };
    let annotations_matter = rt.group == "apps" && rt.plural == "deployments";
    strip(old) != strip(new) || (annotations_matter && old["metadata"]["annotations"] != new["metadata"]["annotations"])
}

/// Main-resource writes keep the stored status (when a status subresource exists).
pub fn keep_status(old: &Value, new: &mut Value) {
    match old.get("status") {
        Some(s) => new["status"] = s.clone(),
        None => {
            if let Some(m) = new.as_object_mut() {
                m.remove("status");
            }
        }
    }
}

/// `/status` writes change only status: everything else comes from the stored object.
pub fn only_status(old: &Value, new: &Value) -> Value {
    let mut out = old.clone();
    match new.get("status") {
        Some(s) => out["status"] = s.clone(),
        None => {
            if let Some(m) = out.as_object_mut() {
                m.remove("status");
            }
        }
    }
    out
}

/// The initial status a create gets when status is a subresource.
pub fn initial_status(rt: &ResourceType, obj: &mut Value) {
    if !rt.has_subresource("status") {
        return;
    }
    if rt.custom.is_some() {
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
        return;
    }
    obj["status"] = match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "pods") => json!({"phase": "Pending", "qosClass": qos_class(&obj["spec"])}),
        ("", "namespaces") => json!({"phase": "Active"}),
        ("", "services") => json!({"loadBalancer": {}}),
        _ => json!({}),
    };
}

/// Pod QoS class from container requests/limits (Guaranteed, Burstable, BestEffort).
pub fn qos_class(spec: &Value) -> &'static str {
    let containers = spec["containers"].as_array().cloned().unwrap_or_default();
    let mut any = false;
    let mut guaranteed = !containers.is_empty();
    for c in &containers {
        let req = &c["resources"]["requests"];
        let lim = &c["resources"]["limits"];
        any |= req.as_object().is_some_and(|m| !m.is_empty()) || lim.as_object().is_some_and(|m| !m.is_empty());
        for r in ["cpu", "memory"] {
            let l = &lim[r];
            let q = if req[r].is_null() { l } else { &req[r] };
            guaranteed &= !l.is_null() && q == l;
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        _ => "Burstable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_use_the_prefix_and_five_safe_characters() {
        let n = generate_name("web-");
        assert_eq!(n.len(), 9);
        assert!(n.starts_with("web-"));
        assert!(n[4..].chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
    }

    #[test]
    fn qos_classes() {
        assert_eq!(qos_class(&json!({"containers":[{"name":"a"}]})), "BestEffort");
        let g = json!({"containers":[{"resources":{"limits":{"cpu":"1","memory":"1Gi"}}}]});
        assert_eq!(qos_class(&g), "Guaranteed");
        let b = json!({"containers":[{"resources":{"requests":{"cpu":"1"}}}]});
        assert_eq!(qos_class(&b), "Burstable");
    }
}
