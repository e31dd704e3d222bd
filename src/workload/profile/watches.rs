//! The profile controller's watches, each feeding [`State`] and waking the reconcile loop. All are
//! narrow: cluster profiles, DPAs carrying the profile label, Deployments/StatefulSets/Namespaces
//! carrying the profile label (label-selector, metadata-only watches), and, per labelled namespace
//! only, that namespace's Deployments and StatefulSets (metadata only).

use std::collections::BTreeMap;
use std::fmt::Debug;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject};
use kube::core::PartialObjectMeta;
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, watch};

use super::super::crd::GROUP;
use super::PROFILE_LABEL;
use super::naming::{WorkloadKind, WorkloadRef};
use super::state::{ManagedDpa, ProfileInfo, Source, State};

/// The state and the wake-up of the reconcile loop.
#[derive(Default)]
pub struct Shared {
    pub state: Mutex<State>,
    pub changed: Notify,
}

impl Shared {
    /// Changes the state and wakes the reconcile loop.
    pub fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock());
        self.changed.notify_one();
    }
}

/// What a watch reports: a full listing (on start and after every relist), or one change.
enum Ev<T> {
    Snapshot(Vec<T>),
    Upsert(T),
    Remove(T),
}

/// Name, namespace and labels of an object seen through a metadata-only watch.
struct Meta {
    namespace: String,
    name: String,
    labels: BTreeMap<String, String>,
}

type Events<T> = BoxStream<'static, Result<Event<T>, watcher::Error>>;

async fn pump<T>(mut events: Events<T>, what: String, mut stop: watch::Receiver<bool>, mut sink: impl FnMut(Ev<T>)) {
    let mut listing = Vec::new();
    while !*stop.borrow() {
        let event = tokio::select! {
            e = events.next() => match e { Some(e) => e, None => return },
            _ = stop.changed() => return,
        };
        match event {
            Ok(Event::Init) => listing.clear(),
            Ok(Event::InitApply(o)) => listing.push(o),
            Ok(Event::InitDone) => sink(Ev::Snapshot(std::mem::take(&mut listing))),
            Ok(Event::Apply(o)) => sink(Ev::Upsert(o)),
            Ok(Event::Delete(o)) => sink(Ev::Remove(o)),
            Err(e) => tracing::warn!(watch = %what, error = %e, "profile controller watch failed; retrying"),
        }
    }
}

fn meta_event<K>(e: Event<PartialObjectMeta<K>>) -> Event<Meta> {
    let meta = |o: PartialObjectMeta<K>| Meta {
        namespace: o.metadata.namespace.unwrap_or_default(),
        name: o.metadata.name.unwrap_or_default(),
        labels: o.metadata.labels.unwrap_or_default(),
    };
    match e {
        Event::Init => Event::Init,
        Event::InitApply(o) => Event::InitApply(meta(o)),
        Event::InitDone => Event::InitDone,
        Event::Apply(o) => Event::Apply(meta(o)),
        Event::Delete(o) => Event::Delete(meta(o)),
    }
}

/// A metadata-only watch (`Api<PartialObjectMeta<K>>` asks for `PartialObjectMetadata`).
fn metadata<K>(api: Api<PartialObjectMeta<K>>, config: watcher::Config) -> Events<Meta>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
{
    watcher::watcher(api, config).default_backoff().map_ok(meta_event).boxed()
}

fn dynamic(api: Api<DynamicObject>, config: watcher::Config) -> Events<DynamicObject> {
    watcher::watcher(api, config).default_backoff().boxed()
}

fn labelled() -> watcher::Config {
    watcher::Config::default().labels(PROFILE_LABEL)
}

pub fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(GROUP, "v1alpha2", kind), plural)
}

pub fn profiles_api(client: kube::Client) -> Api<DynamicObject> {
    Api::all_with(client, &resource("DatadogPodAutoscalerClusterProfile", "datadogpodautoscalerclusterprofiles"))
}

pub fn dpas_api(client: kube::Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client, namespace, &resource("DatadogPodAutoscaler", "datadogpodautoscalers"))
}

/// Every cluster profile.
pub async fn profiles(client: kube::Client, shared: std::sync::Arc<Shared>, stop: watch::Receiver<bool>) {
    let events = dynamic(profiles_api(client), watcher::Config::default());
    pump(events, "DatadogPodAutoscalerClusterProfile".into(), stop, |ev| {
        shared.update(|s| match ev {
            Ev::Snapshot(all) => {
                s.profiles = all.iter().filter_map(ProfileInfo::from_object).map(|p| (p.name.clone(), p)).collect();
                s.synced.insert(Source::Profiles);
            }
            Ev::Upsert(o) => {
                if let Some(p) = ProfileInfo::from_object(&o) {
                    s.profiles.insert(p.name.clone(), p);
                }
            }
            Ev::Remove(o) => {
                s.profiles.remove(o.metadata.name.as_deref().unwrap_or_default());
            }
        })
    })
    .await
}

/// DPAs carrying the profile label, in every namespace.
pub async fn managed_dpas(client: kube::Client, shared: std::sync::Arc<Shared>, stop: watch::Receiver<bool>) {
    let api = Api::all_with(client, &resource("DatadogPodAutoscaler", "datadogpodautoscalers"));
    pump(dynamic(api, labelled()), "profile-managed DatadogPodAutoscaler".into(), stop, |ev| {
        shared.update(|s| match ev {
            Ev::Snapshot(all) => {
                s.managed = all.iter().filter_map(ManagedDpa::from_object).collect();
                s.synced.insert(Source::ManagedDpas);
            }
            Ev::Upsert(o) => {
                if let Some((k, m)) = ManagedDpa::from_object(&o) {
                    s.managed.insert(k, m);
                }
            }
            Ev::Remove(o) => {
                if let Some((k, _)) = ManagedDpa::from_object(&o) {
                    s.managed.remove(&k);
                }
            }
        })
    })
    .await
}

fn workload_api<K>(client: kube::Client, namespace: Option<&str>) -> Api<PartialObjectMeta<K>>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    }
}

fn workload_events(kind: WorkloadKind, client: kube::Client, namespace: Option<&str>) -> Events<Meta> {
    let config = if namespace.is_some() { watcher::Config::default() } else { labelled() };
    match kind {
        WorkloadKind::Deployment => metadata(workload_api::<Deployment>(client, namespace), config),
        WorkloadKind::StatefulSet => metadata(workload_api::<StatefulSet>(client, namespace), config),
    }
}

/// Workloads of `kind` carrying the profile label, in every namespace.
pub async fn labelled_workloads(
    kind: WorkloadKind,
    client: kube::Client,
    shared: std::sync::Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let entry = |m: Meta| {
        let profile = m.labels.get(PROFILE_LABEL).cloned().unwrap_or_default();
        (WorkloadRef::new(kind, m.namespace, m.name), profile)
    };
    let events = workload_events(kind, client, None);
    pump(events, format!("profile-labelled {}", kind.kind()), stop, |ev| {
        shared.update(|s| match ev {
            Ev::Snapshot(all) => {
                s.labelled.retain(|w, _| w.kind != kind);
                s.labelled.extend(all.into_iter().map(entry));
                s.synced.insert(Source::Labelled(kind));
            }
            Ev::Upsert(m) => {
                let (w, p) = entry(m);
                s.labelled.insert(w, p);
            }
            Ev::Remove(m) => {
                s.labelled.remove(&entry(m).0);
            }
        })
    })
    .await
}

/// Namespaces carrying the profile label.
pub async fn namespaces(client: kube::Client, shared: std::sync::Arc<Shared>, stop: watch::Receiver<bool>) {
    let entry = |m: Meta| (m.name, m.labels.get(PROFILE_LABEL).cloned().unwrap_or_default());
    let events = metadata(Api::<PartialObjectMeta<Namespace>>::all(client), labelled());
    pump(events, "profile-labelled Namespace".into(), stop, |ev| {
        shared.update(|s| match ev {
            Ev::Snapshot(all) => {
                s.namespaces = all.into_iter().map(entry).collect();
                s.synced.insert(Source::Namespaces);
            }
            Ev::Upsert(m) => {
                let (n, p) = entry(m);
                s.namespaces.insert(n, p);
            }
            Ev::Remove(m) => {
                s.namespaces.remove(&m.name);
            }
        })
    })
    .await
}

/// Every workload of `kind` in `namespace` (a labelled namespace), with its own profile label.
pub async fn namespace_workloads(
    kind: WorkloadKind,
    namespace: String,
    client: kube::Client,
    shared: std::sync::Arc<Shared>,
    stop: watch::Receiver<bool>,
) {
    let entry = |m: Meta| (WorkloadRef::new(kind, m.namespace, m.name), m.labels.get(PROFILE_LABEL).cloned());
    let events = workload_events(kind, client, Some(&namespace));
    let ns = namespace.clone();
    pump(events, format!("{} in namespace {namespace}", kind.kind()), stop, |ev| {
        shared.update(|s| {
            let workloads = s.ns_workloads.entry(ns.clone()).or_default();
            match ev {
                Ev::Snapshot(all) => {
                    workloads.retain(|w, _| w.kind != kind);
                    workloads.extend(all.into_iter().map(entry));
                    s.ns_synced.insert((ns.clone(), kind));
                }
                Ev::Upsert(m) => {
                    let (w, p) = entry(m);
                    workloads.insert(w, p);
                }
                Ev::Remove(m) => {
                    workloads.remove(&entry(m).0);
                }
            }
        })
    })
    .await
}
