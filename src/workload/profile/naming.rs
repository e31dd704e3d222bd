//! Names and hashes of profile-managed DPAs: the workload a DPA is made for, the DPA's name
//! (`<workload>-<first 4 bytes of sha256("<Kind.group>/<ns>/<name>")>`, as the DCA names it) and
//! the template hash (template + forwarded preview annotation) carried in `profile-hash`.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::super::crd::DatadogPodAutoscalerTemplate;
use super::super::hash::stable_hash;

/// The workload kinds a profile label is honoured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
}

impl WorkloadKind {
    pub const ALL: [WorkloadKind; 2] = [WorkloadKind::Deployment, WorkloadKind::StatefulSet];

    pub fn kind(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
        }
    }

    pub fn group(self) -> &'static str {
        "apps"
    }

    pub fn api_version(self) -> &'static str {
        "apps/v1"
    }

    /// Go's `schema.GroupKind.String()`: `Kind.group` (`Kind` for the core group).
    pub fn group_kind(self) -> String {
        format!("{}.{}", self.kind(), self.group())
    }
}

/// A labelled (or namespace-labelled) workload.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkloadRef {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
}

impl WorkloadRef {
    pub fn new(kind: WorkloadKind, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        WorkloadRef { kind, namespace: namespace.into(), name: name.into() }
    }

    /// The name of the DPA a profile makes for this workload.
    pub fn dpa_name(&self) -> String {
        managed_dpa_name(&self.kind.group_kind(), &self.namespace, &self.name)
    }
}

impl fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind.kind(), self.namespace, self.name)
    }
}

/// `<name>-<hex of the first 4 bytes of sha256("<groupKind>/<namespace>/<name>")>`.
pub fn managed_dpa_name(group_kind: &str, namespace: &str, name: &str) -> String {
    let digest = Sha256::digest(format!("{group_kind}/{namespace}/{name}").as_bytes());
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{name}-{short}")
}

#[derive(Serialize)]
struct HashInput<'a> {
    template: &'a DatadogPodAutoscalerTemplate,
    #[serde(skip_serializing_if = "str::is_empty")]
    preview: &'a str,
}

/// The hash of a profile's template and its forwarded `preview` annotation: toggling a preview
/// feature changes it even when the template does not.
pub fn template_hash(template: &DatadogPodAutoscalerTemplate, preview: Option<&str>) -> String {
    stable_hash(&HashInput { template, preview: preview.unwrap_or_default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpa_names_follow_the_dca() {
        // sha256("Deployment.apps/default/web") starts with these 4 bytes.
        let digest = Sha256::digest(b"Deployment.apps/default/web");
        let expected = format!("web-{:02x}{:02x}{:02x}{:02x}", digest[0], digest[1], digest[2], digest[3]);
        let web = WorkloadRef::new(WorkloadKind::Deployment, "default", "web");
        assert_eq!(web.dpa_name(), expected);
        assert_eq!(web.dpa_name().len(), "web-".len() + 8);
        // Kind, namespace and name all enter the hash.
        let names = [
            web.dpa_name(),
            WorkloadRef::new(WorkloadKind::StatefulSet, "default", "web").dpa_name(),
            WorkloadRef::new(WorkloadKind::Deployment, "prod", "web").dpa_name(),
        ];
        assert_ne!(names[0], names[1]);
        assert_ne!(names[0], names[2]);
        assert!(names.iter().all(|n| n.starts_with("web-")));
    }

    #[test]
    fn known_name_vector() {
        // Computed independently: printf 'Deployment.apps/default/web' | sha256sum | cut -c1-8
        assert_eq!(managed_dpa_name("Deployment.apps", "default", "web"), format!("web-{}", KNOWN_PREFIX));
    }

    const KNOWN_PREFIX: &str = "8e0d645d";

    fn template(utilization: i32) -> DatadogPodAutoscalerTemplate {
        serde_json::from_value(serde_json::json!({
            "objectives": [{"type": "PodResource",
                "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": utilization}}}],
            "constraints": {"minReplicas": 2}
        }))
        .unwrap()
    }

    #[test]
    fn template_hashes_are_stable_and_cover_the_preview_annotation() {
        let a = template(70);
        assert_eq!(template_hash(&a, None), template_hash(&template(70), None));
        assert_eq!(template_hash(&a, None), template_hash(&a, Some("")));
        assert_eq!(template_hash(&a, None).len(), 16);
        assert_ne!(template_hash(&a, None), template_hash(&template(60), None));
        assert_ne!(template_hash(&a, None), template_hash(&a, Some(r#"{"burstable":true}"#)));
        // Field order in the source object does not matter: the typed template is hashed.
        let reordered: DatadogPodAutoscalerTemplate = serde_json::from_str(
            r#"{"constraints": {"minReplicas": 2}, "objectives": [{"podResource": {"value": {"utilization": 70,
                "type": "Utilization"}, "name": "cpu"}, "type": "PodResource"}]}"#,
        )
        .unwrap();
        assert_eq!(template_hash(&a, None), template_hash(&reordered, None));
    }
}
