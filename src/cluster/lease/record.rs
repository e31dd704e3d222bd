//! The leader election record and the two lock objects that carry it: a Lease's spec, or the
//! JSON in a ConfigMap annotation (client-go's `LeaderElectionRecord`, byte-compatible with what a
//! DCA writes so both can share a lock during a migration).

use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use serde::{Deserialize, Serialize};

use super::LockKind;

/// client-go's `LeaderElectionRecordAnnotationKey`.
pub const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

/// client-go's `LeaderElectionRecord` (times are RFC 3339; `null` when unset, as Go writes them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderElectionRecord {
    #[serde(default)]
    pub holder_identity: String,
    #[serde(default)]
    pub lease_duration_seconds: i64,
    #[serde(default)]
    pub acquire_time: Option<Timestamp>,
    #[serde(default)]
    pub renew_time: Option<Timestamp>,
    #[serde(default)]
    pub leader_transitions: i64,
}

impl LeaderElectionRecord {
    /// The annotation text: RFC 3339 in whole seconds, as metav1.Time marshals.
    fn to_annotation(&self) -> String {
        let time = |t: &Option<Timestamp>| match t {
            Some(t) => serde_json::Value::String(t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
            None => serde_json::Value::Null,
        };
        serde_json::json!({
            "holderIdentity": self.holder_identity,
            "leaseDurationSeconds": self.lease_duration_seconds,
            "acquireTime": time(&self.acquire_time),
            "renewTime": time(&self.renew_time),
            "leaderTransitions": self.leader_transitions,
        })
        .to_string()
    }

    fn from_lease(spec: &LeaseSpec) -> Self {
        LeaderElectionRecord {
            holder_identity: spec.holder_identity.clone().unwrap_or_default(),
            lease_duration_seconds: spec.lease_duration_seconds.map_or(0, i64::from),
            acquire_time: spec.acquire_time.as_ref().map(|t| t.0),
            renew_time: spec.renew_time.as_ref().map(|t| t.0),
            leader_transitions: spec.lease_transitions.map_or(0, i64::from),
        }
    }

    fn to_lease_spec(&self) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.holder_identity.clone()),
            lease_duration_seconds: i32::try_from(self.lease_duration_seconds).ok(),
            acquire_time: self.acquire_time.map(MicroTime),
            renew_time: self.renew_time.map(MicroTime),
            lease_transitions: i32::try_from(self.leader_transitions).ok(),
            ..LeaseSpec::default()
        }
    }
}

/// The lock object as last read: updates carry its resourceVersion, so two writers conflict.
pub enum Current {
    ConfigMap(ConfigMap),
    Lease(Lease),
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{kind} {namespace}/{name}: {source}")]
    Api { kind: &'static str, namespace: String, name: String, source: kube::Error },
    #[error("{kind} {namespace}/{name}: annotation {LEADER_ANNOTATION} is not a leader election record: {source}")]
    Record { kind: &'static str, namespace: String, name: String, source: serde_json::Error },
}

pub struct Lock {
    kind: LockKind,
    namespace: String,
    name: String,
    maps: Api<ConfigMap>,
    leases: Api<Lease>,
}

impl Lock {
    pub fn new(client: kube::Client, kind: LockKind, namespace: &str, name: &str) -> Self {
        Lock {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            maps: Api::namespaced(client.clone(), namespace),
            leases: Api::namespaced(client, namespace),
        }
    }

    pub fn describe(&self) -> String {
        format!("{} {}/{}", self.kind_name(), self.namespace, self.name)
    }

    fn kind_name(&self) -> &'static str {
        match self.kind {
            LockKind::ConfigMap => "ConfigMap",
            LockKind::Lease => "Lease",
        }
    }

    fn api_error(&self, kind: &'static str, source: kube::Error) -> LockError {
        LockError::Api { kind, namespace: self.namespace.clone(), name: self.name.clone(), source }
    }

    fn meta(&self, annotations: Option<BTreeMap<String, String>>) -> ObjectMeta {
        ObjectMeta { name: Some(self.name.clone()), annotations, ..ObjectMeta::default() }
    }

    /// As the DCA: the ConfigMap always exists, the Lease too when it is the lock; 409 is fine.
    pub async fn ensure_exists(&self) -> Result<(), LockError> {
        let map = ConfigMap { metadata: self.meta(None), ..ConfigMap::default() };
        ignore_conflict(self.maps.create(&PostParams::default(), &map).await)
            .map_err(|e| self.api_error("ConfigMap", e))?;
        if self.kind == LockKind::Lease {
            let lease = Lease { metadata: self.meta(None), spec: None };
            ignore_conflict(self.leases.create(&PostParams::default(), &lease).await)
                .map_err(|e| self.api_error("Lease", e))?;
        }
        Ok(())
    }

    /// The record and the object it came from; `None` when the object does not exist.
    pub async fn get(&self) -> Result<Option<(LeaderElectionRecord, Current)>, LockError> {
        match self.kind {
            LockKind::ConfigMap => {
                let Some(map) = self.maps.get_opt(&self.name).await.map_err(|e| self.api_error("ConfigMap", e))? else {
                    return Ok(None);
                };
                let text = map.metadata.annotations.as_ref().and_then(|a| a.get(LEADER_ANNOTATION));
                let record = match text {
                    Some(text) => serde_json::from_str(text).map_err(|source| LockError::Record {
                        kind: "ConfigMap",
                        namespace: self.namespace.clone(),
                        name: self.name.clone(),
                        source,
                    })?,
                    None => LeaderElectionRecord::default(),
                };
                Ok(Some((record, Current::ConfigMap(map))))
            }
            LockKind::Lease => {
                let Some(lease) = self.leases.get_opt(&self.name).await.map_err(|e| self.api_error("Lease", e))? else {
                    return Ok(None);
                };
                let record = lease.spec.as_ref().map(LeaderElectionRecord::from_lease).unwrap_or_default();
                Ok(Some((record, Current::Lease(lease))))
            }
        }
    }

    pub async fn create(&self, record: &LeaderElectionRecord) -> Result<(), LockError> {
        let pp = PostParams::default();
        match self.kind {
            LockKind::ConfigMap => {
                let annotations = BTreeMap::from([(LEADER_ANNOTATION.to_owned(), record.to_annotation())]);
                let map = ConfigMap { metadata: self.meta(Some(annotations)), ..ConfigMap::default() };
                self.maps.create(&pp, &map).await.map(drop).map_err(|e| self.api_error("ConfigMap", e))
            }
            LockKind::Lease => {
                let lease = Lease { metadata: self.meta(None), spec: Some(record.to_lease_spec()) };
                self.leases.create(&pp, &lease).await.map(drop).map_err(|e| self.api_error("Lease", e))
            }
        }
    }

    /// Replaces the record in `current` (optimistic concurrency on its resourceVersion).
    pub async fn update(&self, current: Current, record: &LeaderElectionRecord) -> Result<(), LockError> {
        let pp = PostParams::default();
        match current {
            Current::ConfigMap(mut map) => {
                map.metadata
                    .annotations
                    .get_or_insert_default()
                    .insert(LEADER_ANNOTATION.into(), record.to_annotation());
                self.maps.replace(&self.name, &pp, &map).await.map(drop).map_err(|e| self.api_error("ConfigMap", e))
            }
            Current::Lease(mut lease) => {
                lease.spec = Some(record.to_lease_spec());
                self.leases.replace(&self.name, &pp, &lease).await.map(drop).map_err(|e| self.api_error("Lease", e))
            }
        }
    }
}

fn ignore_conflict<T>(result: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_is_client_go_json() {
        let at: Timestamp = "2024-05-01T10:00:00.123Z".parse().expect("time");
        let record = LeaderElectionRecord {
            holder_identity: "dca-0".into(),
            lease_duration_seconds: 60,
            acquire_time: Some(at),
            renew_time: Some(at),
            leader_transitions: 2,
        };
        assert_eq!(
            record.to_annotation(),
            r#"{"holderIdentity":"dca-0","leaseDurationSeconds":60,"acquireTime":"2024-05-01T10:00:00Z","renewTime":"2024-05-01T10:00:00Z","leaderTransitions":2}"#
        );
        let parsed: LeaderElectionRecord = serde_json::from_str(&record.to_annotation()).expect("parse");
        assert_eq!(parsed.holder_identity, "dca-0");
        assert_eq!(parsed.renew_time.map(|t| t.as_second()), Some(at.as_second()));
        let released: LeaderElectionRecord =
            serde_json::from_str(r#"{"holderIdentity":"","leaseDurationSeconds":1,"acquireTime":null,"renewTime":null,"leaderTransitions":3}"#)
                .expect("released record");
        assert_eq!((released.holder_identity.as_str(), released.leader_transitions), ("", 3));
    }
}
