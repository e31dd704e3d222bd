//! Leader election between two replicas on both lock kinds, and the cluster ID ConfigMap.

use std::time::Duration;

use autoscaling_apiserver::cluster::lease::LEADER_ANNOTATION;
use autoscaling_apiserver::cluster::{ClusterId, LeaderElection, LeaderHandle, LeaseConfig, LockKind};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, PostParams};
use serde_json::Value;
use tokio::sync::watch;

use super::support::{RESOURCES_NS, cluster, create_namespace, eventually, settings};

fn lease_config(pod: &str, lock: &str) -> LeaseConfig {
    let settings = settings(pod, &[("DD_LEADER_ELECTION_DEFAULT_RESOURCE", lock)]);
    LeaseConfig::from_settings(&settings)
}

struct Replica {
    election: LeaderElection,
    stop: watch::Sender<bool>,
}

fn replica(client: &kube::Client, config: LeaseConfig) -> Replica {
    let (stop, stopped) = watch::channel(false);
    Replica { election: LeaderElection::spawn(client.clone(), config, stopped), stop }
}

/// Waits until exactly one of `a`, `b` leads and the other knows it; returns (leader, follower).
async fn one_leader(a: Replica, b: Replica) -> (Replica, Replica) {
    let (ha, hb) = (a.election.handle.clone(), b.election.handle.clone());
    let a_leads = eventually("one leader, followed by the other", Duration::from_secs(30), || {
        let (ha, hb) = (ha.clone(), hb.clone());
        async move {
            let agreed = |leader: &LeaderHandle, follower: &LeaderHandle| {
                leader.is_leader_now()
                    && !follower.is_leader_now()
                    && follower.holder().as_deref() == Some(leader.identity())
            };
            if agreed(&ha, &hb) {
                Some(true)
            } else if agreed(&hb, &ha) {
                Some(false)
            } else {
                None
            }
        }
    })
    .await;
    if a_leads { (a, b) } else { (b, a) }
}

async fn takes_over(follower: &LeaderHandle, limit: Duration) {
    let handle = follower.clone();
    eventually("the follower to take the lock", limit, || {
        let handle = handle.clone();
        async move { handle.is_leader_now().then_some(()) }
    })
    .await;
}

#[tokio::test]
async fn killed_leader_loses_the_lease_to_the_follower_within_the_lease_duration() {
    let (dc, client) = cluster().await;
    create_namespace(&client, RESOURCES_NS).await;
    let (leader, follower) =
        one_leader(replica(&client, lease_config("dca-a", "lease")), replica(&client, lease_config("dca-b", "lease")))
            .await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), RESOURCES_NS);
    let lease = leases.get("datadog-leader-election").await.expect("Lease exists");
    let spec = lease.spec.expect("spec");
    assert_eq!(spec.holder_identity.as_deref(), Some(leader.election.handle.identity()));
    assert_eq!(spec.lease_duration_seconds, Some(4));
    let transitions = spec.lease_transitions.expect("transitions");
    // The DCA always creates the ConfigMap of the same name too.
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), RESOURCES_NS);
    assert!(maps.get_opt("datadog-leader-election").await.expect("get").is_some());

    // Killed without releasing: the follower waits out the lease, then takes it.
    leader.election.task.abort();
    let killed_at = tokio::time::Instant::now();
    takes_over(&follower.election.handle, Duration::from_secs(30)).await;
    assert!(
        killed_at.elapsed() >= Duration::from_secs(2),
        "took over before the lease lapsed: {:?}",
        killed_at.elapsed()
    );
    let lease = leases.get("datadog-leader-election").await.expect("Lease");
    let spec = lease.spec.expect("spec");
    assert_eq!(spec.holder_identity.as_deref(), Some(follower.election.handle.identity()));
    assert_eq!(spec.lease_transitions, Some(transitions + 1));
    let _ = follower.stop.send(true);
    let _ = follower.election.task.await;
    dc.shutdown().await;
}

#[tokio::test]
async fn configmap_lock_is_released_on_shutdown_and_taken_at_once() {
    let (dc, client) = cluster().await;
    create_namespace(&client, RESOURCES_NS).await;
    let (leader, follower) = one_leader(
        replica(&client, lease_config("dca-a", "configmap")),
        replica(&client, lease_config("dca-b", "configmap")),
    )
    .await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), RESOURCES_NS);
    let record = annotation(&maps).await;
    assert_eq!(record["holderIdentity"], leader.election.handle.identity());
    assert_eq!(record["leaseDurationSeconds"], 4);
    assert!(record["renewTime"].as_str().is_some_and(|t| t.ends_with('Z')), "{record}");

    let _ = leader.stop.send(true);
    leader.election.task.await.expect("election task ends");
    let released = annotation(&maps).await;
    // Either still released, or already taken by the follower (which saw the empty holder).
    let holder = released["holderIdentity"].as_str().unwrap_or_default().to_owned();
    assert!(holder.is_empty() || holder == follower.election.handle.identity(), "{released}");
    // Released: no need to wait out the 4 s lease, the follower takes it on its next retry.
    takes_over(&follower.election.handle, Duration::from_secs(30)).await;
    assert_eq!(annotation(&maps).await["holderIdentity"], follower.election.handle.identity());
    let _ = follower.stop.send(true);
    let _ = follower.election.task.await;
    dc.shutdown().await;
}

async fn annotation(maps: &Api<ConfigMap>) -> Value {
    let map = maps.get("datadog-leader-election").await.expect("lock ConfigMap");
    let text = map.metadata.annotations.and_then(|a| a.get(LEADER_ANNOTATION).cloned()).expect("leader annotation");
    serde_json::from_str(&text).expect("record JSON")
}

#[tokio::test]
async fn lock_kind_defaults_to_configmap_like_the_dca() {
    assert_eq!(lease_config("x", "configmap").lock, LockKind::ConfigMap);
    let defaults = LeaseConfig::from_settings(&settings("x", &[]));
    assert_eq!((defaults.lock, defaults.namespace.as_str()), (LockKind::ConfigMap, RESOURCES_NS));
}

#[tokio::test]
async fn cluster_id_is_the_kube_system_uid_and_replaces_a_bad_one() {
    let (dc, client) = cluster().await;
    create_namespace(&client, RESOURCES_NS).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let uid = namespaces.get("kube-system").await.expect("kube-system").metadata.uid.expect("uid");
    assert_eq!(ClusterId::new(client.clone(), RESOURCES_NS).get().await.expect("id"), uid);
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), RESOURCES_NS);
    let stored = maps.get("datadog-cluster-id").await.expect("ConfigMap created");
    assert_eq!(stored.data.and_then(|d| d.get("id").cloned()), Some(uid.clone()));

    // An existing 36-character id is kept as is; anything else is replaced by the UID.
    let other = "0b0e6b64-1111-4222-8333-944445555666";
    set_id(&maps, other).await;
    assert_eq!(ClusterId::new(client.clone(), RESOURCES_NS).get().await.expect("id"), other);
    set_id(&maps, "not-a-uuid").await;
    let resolver = ClusterId::new(client.clone(), RESOURCES_NS);
    assert_eq!(resolver.get().await.expect("id"), uid);
    let stored = maps.get("datadog-cluster-id").await.expect("ConfigMap");
    assert_eq!(stored.data.and_then(|d| d.get("id").cloned()), Some(uid.clone()));
    // Cached once resolved.
    set_id(&maps, other).await;
    assert_eq!(resolver.get().await.expect("cached id"), uid);
    dc.shutdown().await;
}

async fn set_id(maps: &Api<ConfigMap>, id: &str) {
    let mut map = maps.get("datadog-cluster-id").await.expect("ConfigMap");
    map.data.get_or_insert_default().insert("id".into(), id.into());
    maps.replace("datadog-cluster-id", &PostParams::default(), &map).await.expect("replaced");
}
