//! core/v1 Event <-> events.k8s.io/v1 Event, as kube's
//! `pkg/apis/events/v1` conversion functions map them.

use serde_json::{Map, Value};

use super::{NormalizeError, api_version, normalize};

/// (core/v1 field, events.k8s.io/v1 field) pairs whose names differ.
const RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

/// Fields with the same name in both versions.
const SHARED: &[&str] =
    &["metadata", "reason", "type", "eventTime", "series", "action", "related", "reportingInstance"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum EventVersion {
    Core,
    Events,
}

fn parse(api_version: &str) -> Option<EventVersion> {
    match api_version {
        "v1" => Some(EventVersion::Core),
        "events.k8s.io/v1" => Some(EventVersion::Events),
        _ => None,
    }
}

/// The source version is the object's own `apiVersion` when that is one of
/// the two Event versions, else `group`/`from_version`. The target is
/// `to_version` when it is a full apiVersion (contains `/`), else
/// `group`/`to_version`.
pub(super) fn convert(group: &str, from_version: &str, to_version: &str, obj: Value) -> Result<Value, NormalizeError> {
    let from_av = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .filter(|av| parse(av).is_some())
        .map_or_else(|| full_api_version(group, from_version), str::to_string);
    let to_av = full_api_version(group, to_version);
    let unsupported = || NormalizeError::UnsupportedConversion {
        kind: "Event".to_string(),
        from: from_av.clone(),
        to: to_av.clone(),
    };
    let from = parse(&from_av).ok_or_else(unsupported)?;
    let to = parse(&to_av).ok_or_else(unsupported)?;
    let (src_group, dst_group) = (group_of(from), group_of(to));
    // Validate/decode the input in its own version first (drops unknown fields).
    let obj = normalize(src_group, "v1", "Event", obj)?;
    if from == to {
        return Ok(obj);
    }
    let Value::Object(map) = obj else {
        return Err(unsupported());
    };
    let renamed = rename(map, to);
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version(dst_group, "v1")));
    out.insert("kind".into(), Value::String("Event".into()));
    out.extend(renamed);
    normalize(dst_group, "v1", "Event", Value::Object(out))
}

fn full_api_version(group: &str, version: &str) -> String {
    if version.contains('/') { version.to_string() } else { api_version(group, version) }
}

fn group_of(v: EventVersion) -> &'static str {
    match v {
        EventVersion::Core => "",
        EventVersion::Events => "events.k8s.io",
    }
}

/// Rename the fields of a normalised Event into the `to` version's names.
fn rename(mut map: Map<String, Value>, to: EventVersion) -> Map<String, Value> {
    let mut out = Map::new();
    for key in SHARED {
        if let Some(v) = map.remove(*key) {
            out.insert((*key).to_string(), v);
        }
    }
    for (core, events) in RENAMES {
        let (src, dst) = match to {
            EventVersion::Events => (*core, *events),
            EventVersion::Core => (*events, *core),
        };
        if let Some(v) = map.remove(src) {
            out.insert(dst.to_string(), v);
        }
    }
    out
}
