//! Field-selector labels and generation rules per built-in kind.

/// `involvedObject.*` etc. on core/v1 events (kube's
/// `AddFieldLabelConversionsForEvent`).
const CORE_EVENT: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
];

/// events.k8s.io/v1 labels and the core/v1 (storage) label each maps to.
const EVENTS_V1_TO_CORE: &[(&str, &str)] = &[
    ("regarding.kind", "involvedObject.kind"),
    ("regarding.namespace", "involvedObject.namespace"),
    ("regarding.name", "involvedObject.name"),
    ("regarding.uid", "involvedObject.uid"),
    ("regarding.apiVersion", "involvedObject.apiVersion"),
    ("regarding.resourceVersion", "involvedObject.resourceVersion"),
    ("regarding.fieldPath", "involvedObject.fieldPath"),
    ("reason", "reason"),
    ("reportingController", "reportingComponent"),
    ("type", "type"),
];

const EVENTS_V1: &[&str] = &[
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reason",
    "reportingController",
    "type",
];

const POD: &[&str] = &[
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
];

/// Field-selector labels supported for `group`/`kind` beyond
/// `metadata.name` and `metadata.namespace` (which every kind supports).
///
/// Pod values: `spec.hostNetwork` is matched as `"true"`/`"false"`,
/// `status.podIP`/`status.podIPs` against the primary pod IP.
pub fn field_labels(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("", "Pod") => POD,
        ("", "Event") => CORE_EVENT,
        ("events.k8s.io", "Event") => EVENTS_V1,
        ("", "Secret") => &["type"],
        ("", "Namespace") => &["status.phase"],
        ("", "Service") => &["spec.clusterIP", "spec.type"],
        ("", "ReplicationController") | ("apps", "ReplicaSet") => &["status.replicas"],
        ("", "Node") => &["spec.unschedulable"],
        ("batch", "Job") => &["status.successful"],
        ("certificates.k8s.io", "CertificateSigningRequest") => &["spec.signerName"],
        _ => &[],
    }
}

/// Translate a field label of `group`/`kind` into the label evaluated on the
/// stored object (only events.k8s.io/v1 events differ: they are stored as
/// core/v1 events). `None` means the label is not supported.
pub fn field_label_to_storage(group: &str, kind: &str, label: &str) -> Option<&'static str> {
    if matches!(label, "metadata.name" | "metadata.namespace") {
        return ["metadata.name", "metadata.namespace"].into_iter().find(|l| *l == label);
    }
    if (group, kind) == ("events.k8s.io", "Event") {
        return EVENTS_V1_TO_CORE.iter().find(|(from, _)| *from == label).map(|(_, to)| *to);
    }
    field_labels(group, kind).iter().copied().find(|l| *l == label)
}

/// Whether `metadata.generation` also bumps when `metadata.annotations`
/// change. Only apps Deployments do this in kube (their strategy compares
/// spec *and* annotations, because annotations are copied to ReplicaSets).
pub fn generation_tracks_annotations(group: &str, kind: &str) -> bool {
    matches!((group, kind), ("apps" | "extensions", "Deployment"))
}

/// Whether `metadata.generation` is maintained (set to 1 on create, +1 on a
/// change of the kind's spec-like content) by kube's registry strategy.
///
/// Most of these have a status subresource, so status writes never bump it.
/// Webhook configurations have none; there the compared content is
/// `webhooks`. For kinds not listed (including HorizontalPodAutoscaler,
/// whose strategy never touches it) kube does not manage `generation`.
pub fn generation_tracks_spec(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
            | ("policy", "PodDisruptionBudget")
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("admissionregistration.k8s.io", "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration")
            | ("batch", "Job" | "CronJob")
            | ("", "ReplicationController")
            | ("networking.k8s.io", "NetworkPolicy")
    )
}

/// The value kube's `*ToSelectableFields` computes for `label` on a stored
/// object (`obj` in storage form: events as core/v1). Labels of
/// events.k8s.io/v1 are translated first. `None` when unsupported.
///
/// Special cases as in kube: `spec.hostNetwork` is `"true"`/`"false"`,
/// `status.podIP`/`status.podIPs` are the primary IP (`status.podIPs[0].ip`),
/// an Event's `source` is `source.component` falling back to
/// `reportingComponent`, integers are decimal strings, absent fields `""`.
pub fn field_value(group: &str, kind: &str, label: &str, obj: &serde_json::Value) -> Option<String> {
    let storage_label = field_label_to_storage(group, kind, label)?;
    let (group, kind) = match (group, kind) {
        ("events.k8s.io", "Event") => ("", "Event"),
        other => other,
    };
    Some(match (group, kind, storage_label) {
        ("", "Pod", "spec.hostNetwork") => {
            let on = obj.pointer("/spec/hostNetwork").and_then(serde_json::Value::as_bool);
            on.unwrap_or(false).to_string()
        }
        ("", "Pod", "status.podIP" | "status.podIPs") => primary_pod_ip(obj),
        ("apps", "ReplicaSet", "status.replicas") | ("", "ReplicationController", _) => {
            let n = obj.pointer("/status/replicas").and_then(serde_json::Value::as_i64);
            n.unwrap_or(0).to_string()
        }
        ("", "Event", "source") => {
            let component = string_at(obj, "source.component");
            if component.is_empty() { string_at(obj, "reportingComponent") } else { component }
        }
        _ => string_at(obj, storage_label),
    })
}

fn primary_pod_ip(obj: &serde_json::Value) -> String {
    let first = obj.pointer("/status/podIPs/0/ip").and_then(serde_json::Value::as_str);
    match first {
        Some(ip) => ip.to_string(),
        None => string_at(obj, "status.podIP"),
    }
}

/// Scalar at a dotted path, rendered like Go's `fmt` would (`""` if absent).
fn string_at(obj: &serde_json::Value, dotted: &str) -> String {
    let mut cur = obj;
    for part in dotted.split('.') {
        match cur.get(part) {
            Some(next) => cur = next,
            None => return String::new(),
        }
    }
    match cur {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}
