//! What the profile controller knows, fed by its watches: the cluster profiles, the workloads and
//! namespaces carrying the profile label, the workloads of labelled namespaces and the managed DPAs;
//! and the pure resolution of that into one desired DPA per workload.

use std::collections::{BTreeMap, BTreeSet};

use kube::api::DynamicObject;

use super::super::crd::{DatadogPodAutoscalerClusterProfileStatus, DatadogPodAutoscalerTemplate};
use super::super::model::{ConditionError, DpaKey};
use super::naming::{WorkloadKind, WorkloadRef, template_hash};
use super::validate::validate_template;
use super::{BUILTIN_LABEL, EXCLUDED, HASH_ANNOTATION, PREVIEW_ANNOTATION, PROFILE_LABEL};

/// One cluster profile as last seen.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileInfo {
    pub name: String,
    pub generation: i64,
    pub template: DatadogPodAutoscalerTemplate,
    /// The `preview` annotation, forwarded to managed DPAs.
    pub preview: Option<String>,
    /// Hash of template + preview (the managed DPAs' `profile-hash`).
    pub hash: String,
    /// Validation of the template with a dummy target; an unreadable template is invalid too.
    pub validation: Result<(), ConditionError>,
    pub status: DatadogPodAutoscalerClusterProfileStatus,
    /// `autoscaling.datadoghq.com/managed-by` label value (built-ins carry `datadog`).
    pub managed_by: Option<String>,
}

impl ProfileInfo {
    /// Reads a profile object; `None` without a name.
    pub fn from_object(obj: &DynamicObject) -> Option<ProfileInfo> {
        let name = obj.metadata.name.clone()?;
        let preview = obj.metadata.annotations.as_ref().and_then(|a| a.get(PREVIEW_ANNOTATION)).cloned();
        let template = obj.data.get("spec").and_then(|s| s.get("template")).cloned();
        let parsed = match template {
            Some(t) => serde_json::from_value::<DatadogPodAutoscalerTemplate>(t)
                .map_err(|e| format!("DatadogPodAutoscalerClusterProfile {name}: unreadable spec.template: {e}")),
            None => Err(format!("DatadogPodAutoscalerClusterProfile {name}: spec.template is missing")),
        };
        let (template, validation) = match parsed {
            Ok(t) => {
                let v = validate_template(&t);
                (t, v)
            }
            Err(message) => (
                DatadogPodAutoscalerTemplate::default(),
                Err(ConditionError::new(super::super::model::Reason::InvalidSpec, message)),
            ),
        };
        let status = obj
            .data
            .get("status")
            .and_then(|s| serde_json::from_value::<DatadogPodAutoscalerClusterProfileStatus>(s.clone()).ok())
            .unwrap_or_default();
        Some(ProfileInfo {
            hash: template_hash(&template, preview.as_deref()),
            generation: obj.metadata.generation.unwrap_or_default(),
            managed_by: obj.metadata.labels.as_ref().and_then(|l| l.get(BUILTIN_LABEL)).cloned(),
            name,
            template,
            preview,
            validation,
            status,
        })
    }
}

/// A DPA carrying the profile label, as last seen.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedDpa {
    pub profile: String,
    pub hash: Option<String>,
    pub preview: Option<String>,
    /// `spec` as stored, to compute the update's merge patch.
    pub spec: serde_json::Value,
}

impl ManagedDpa {
    pub fn from_object(obj: &DynamicObject) -> Option<(DpaKey, ManagedDpa)> {
        let key = DpaKey::new(obj.metadata.namespace.clone()?, obj.metadata.name.clone()?);
        let labels = obj.metadata.labels.as_ref();
        let annotations = obj.metadata.annotations.as_ref();
        let managed = ManagedDpa {
            profile: labels.and_then(|l| l.get(PROFILE_LABEL)).cloned().unwrap_or_default(),
            hash: annotations.and_then(|a| a.get(HASH_ANNOTATION)).cloned(),
            preview: annotations.and_then(|a| a.get(PREVIEW_ANNOTATION)).cloned(),
            spec: obj.data.get("spec").cloned().unwrap_or_default(),
        };
        Some((key, managed))
    }
}

/// The DPA a profile asks for one workload.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub profile: String,
    pub workload: WorkloadRef,
    pub hash: String,
    pub preview: Option<String>,
}

/// The watches that must have listed before deletions are safe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Profiles,
    Labelled(WorkloadKind),
    Namespaces,
    ManagedDpas,
}

#[derive(Default)]
pub struct State {
    pub profiles: BTreeMap<String, ProfileInfo>,
    /// Workloads carrying the profile label (any value) → the value.
    pub labelled: BTreeMap<WorkloadRef, String>,
    /// Namespaces carrying the profile label → the value.
    pub namespaces: BTreeMap<String, String>,
    /// The workloads of each followed namespace → their own profile label, if any.
    pub ns_workloads: BTreeMap<String, BTreeMap<WorkloadRef, Option<String>>>,
    pub managed: BTreeMap<DpaKey, ManagedDpa>,
    pub synced: BTreeSet<Source>,
    /// (namespace, kind) of the per-namespace watches that have listed.
    pub ns_synced: BTreeSet<(String, WorkloadKind)>,
    /// The label watches (workloads, namespaces) run; they start with the first profile.
    pub labels_watched: bool,
}

impl State {
    /// Namespaces whose workloads inherit a profile: labelled, not `excluded`.
    pub fn followed_namespaces(&self) -> BTreeSet<String> {
        self.namespaces
            .iter()
            .filter(|(_, p)| !p.is_empty() && p.as_str() != EXCLUDED)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The label watches are due: profiles listed and there is at least one.
    pub fn wants_label_watches(&self) -> bool {
        self.synced.contains(&Source::Profiles) && !self.profiles.is_empty()
    }

    /// Every watch has listed, including the per-namespace ones of followed namespaces. Without
    /// any profile the label watches are not needed (nothing can be desired).
    pub fn ready(&self) -> bool {
        let base = [Source::Profiles, Source::ManagedDpas];
        if !base.iter().all(|s| self.synced.contains(s)) {
            return false;
        }
        if !self.labels_watched {
            return self.profiles.is_empty();
        }
        let labels = [
            Source::Labelled(WorkloadKind::Deployment),
            Source::Labelled(WorkloadKind::StatefulSet),
            Source::Namespaces,
        ];
        labels.iter().all(|s| self.synced.contains(s))
            && self
                .followed_namespaces()
                .iter()
                .all(|ns| WorkloadKind::ALL.iter().all(|k| self.ns_synced.contains(&(ns.clone(), *k))))
    }

    /// Workload → profile: its own label wins (`excluded` opts out, an unknown profile is
    /// ignored); an unlabelled workload inherits its namespace's profile when that one exists.
    pub fn assignments(&self) -> BTreeMap<WorkloadRef, String> {
        let known = |p: &str| self.profiles.contains_key(p);
        let mut out = BTreeMap::new();
        for (w, profile) in &self.labelled {
            if !profile.is_empty() && profile != EXCLUDED && known(profile) {
                out.insert(w.clone(), profile.clone());
            }
        }
        for (ns, workloads) in &self.ns_workloads {
            let Some(profile) = self.namespaces.get(ns).filter(|p| !p.is_empty() && *p != EXCLUDED && known(p)) else {
                continue;
            };
            for (w, own) in workloads {
                let own = self.labelled.get(w).or(own.as_ref());
                if own.is_none_or(|o| o.is_empty()) {
                    out.insert(w.clone(), profile.clone());
                }
            }
        }
        out
    }

    /// The managed DPAs wanted: one per assigned workload whose profile is valid.
    pub fn desired(&self) -> BTreeMap<DpaKey, Desired> {
        let mut out = BTreeMap::new();
        for (w, profile) in self.assignments() {
            let Some(p) = self.profiles.get(&profile).filter(|p| p.validation.is_ok()) else { continue };
            let desired = Desired { profile, workload: w.clone(), hash: p.hash.clone(), preview: p.preview.clone() };
            out.insert(DpaKey::new(&w.namespace, w.dpa_name()), desired);
        }
        out
    }

    /// Workloads assigned to each profile (`controlledAutoscalers`).
    pub fn controlled(&self) -> BTreeMap<String, i32> {
        let mut out = BTreeMap::new();
        for profile in self.assignments().into_values() {
            *out.entry(profile).or_insert(0) += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(name: &str, utilization: i32) -> ProfileInfo {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscalerClusterProfile",
            "metadata": {"name": name, "generation": 3},
            "spec": {"template": {"objectives": [{"type": "PodResource",
                "podResource": {"name": "cpu", "value": {"type": "Utilization", "utilization": utilization}}}]}}
        }))
        .unwrap();
        ProfileInfo::from_object(&obj).unwrap()
    }

    fn deploy(ns: &str, name: &str) -> WorkloadRef {
        WorkloadRef::new(WorkloadKind::Deployment, ns, name)
    }

    #[test]
    fn workload_labels_win_over_namespace_labels() {
        let mut s = State::default();
        s.profiles.insert("a".into(), profile("a", 70));
        s.profiles.insert("b".into(), profile("b", 60));
        s.labelled.insert(deploy("default", "web"), "a".into());
        s.labelled.insert(deploy("default", "ghost"), "unknown".into());
        s.labelled.insert(deploy("team", "opted-out"), EXCLUDED.into());
        s.labelled.insert(deploy("team", "own"), "a".into());
        s.namespaces.insert("team".into(), "b".into());
        s.namespaces.insert("other".into(), "unknown".into());
        s.ns_workloads.insert(
            "team".into(),
            BTreeMap::from([
                (deploy("team", "api"), None),
                (deploy("team", "opted-out"), Some(EXCLUDED.into())),
                (deploy("team", "own"), Some("a".into())),
                (WorkloadRef::new(WorkloadKind::StatefulSet, "team", "db"), Some(String::new())),
            ]),
        );
        s.ns_workloads.insert("other".into(), BTreeMap::from([(deploy("other", "x"), None)]));
        let got = s.assignments();
        let want = BTreeMap::from([
            (deploy("default", "web"), "a".to_string()),
            (deploy("team", "api"), "b".to_string()),
            (deploy("team", "own"), "a".to_string()),
            (WorkloadRef::new(WorkloadKind::StatefulSet, "team", "db"), "b".to_string()),
        ]);
        assert_eq!(got, want);
        assert_eq!(s.controlled(), BTreeMap::from([("a".into(), 2), ("b".into(), 2)]));
        assert_eq!(s.followed_namespaces(), BTreeSet::from(["other".to_string(), "team".to_string()]));
        let desired = s.desired();
        let web = &desired[&DpaKey::new("default", deploy("default", "web").dpa_name())];
        assert_eq!(web.profile, "a");
        assert_eq!(web.hash, s.profiles["a"].hash);
    }

    #[test]
    fn invalid_profiles_count_workloads_but_make_no_dpa() {
        let mut s = State::default();
        let mut bad = profile("bad", 70);
        bad.validation = Err(ConditionError::new(super::super::super::model::Reason::InvalidSpec, "no"));
        s.profiles.insert("bad".into(), bad);
        s.labelled.insert(deploy("default", "web"), "bad".into());
        assert!(s.desired().is_empty());
        assert_eq!(s.controlled(), BTreeMap::from([("bad".into(), 1)]));
    }

    #[test]
    fn garbage_templates_are_invalid_profiles_naming_the_problem() {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "datadoghq.com/v1alpha2", "kind": "DatadogPodAutoscalerClusterProfile",
            "metadata": {"name": "weird"}, "spec": {"template": {"objectives": "not a list"}}
        }))
        .unwrap();
        let p = ProfileInfo::from_object(&obj).unwrap();
        let e = p.validation.unwrap_err();
        assert!(e.message.contains("DatadogPodAutoscalerClusterProfile weird: unreadable spec.template"), "{e}");
    }

    #[test]
    fn ready_waits_for_every_watch_and_followed_namespace() {
        let mut s = State::default();
        s.synced.extend([Source::Profiles, Source::ManagedDpas]);
        assert!(s.ready(), "no profile: nothing to wait for");
        assert!(!s.wants_label_watches());
        s.profiles.insert("a".into(), profile("a", 70));
        assert!(s.wants_label_watches());
        s.synced.clear();
        s.synced.extend([
            Source::Profiles,
            Source::Labelled(WorkloadKind::Deployment),
            Source::Labelled(WorkloadKind::StatefulSet),
            Source::Namespaces,
        ]);
        assert!(!s.ready());
        s.synced.insert(Source::ManagedDpas);
        assert!(!s.ready(), "label watches not started");
        s.labels_watched = true;
        assert!(s.ready());
        s.namespaces.insert("team".into(), "a".into());
        s.namespaces.insert("skip".into(), EXCLUDED.into());
        assert!(!s.ready());
        s.ns_synced.insert(("team".into(), WorkloadKind::Deployment));
        s.ns_synced.insert(("team".into(), WorkloadKind::StatefulSet));
        assert!(s.ready());
    }
}
