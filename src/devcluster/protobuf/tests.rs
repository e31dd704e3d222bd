//! Round-trip tests: objects built with the k8s-pb prost types, wrapped in the runtime.Unknown
//! envelope, decoded back to JSON.

mod errors;
mod kinds;
mod more;

use k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use prost::Message as _;
use serde_json::Value;

use super::decode;

/// Wraps an encoded object in the `k8s\0` + runtime.Unknown envelope client-go sends.
fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta { api_version: Some(api_version.to_owned()), kind: Some(kind.to_owned()) }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = b"k8s\0".to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

/// Encodes `object` with prost, wraps it and decodes it with [`decode`].
fn round_trip(api_version: &str, kind: &str, object: &impl prost::Message) -> Value {
    decode(&envelope(api_version, kind, object.encode_to_vec())).expect("body decodes")
}

/// ObjectMeta with just a name (and a namespace when given).
fn meta(name: &str, namespace: Option<&str>) -> Option<ObjectMeta> {
    Some(ObjectMeta { name: Some(name.to_owned()), namespace: namespace.map(str::to_owned), ..ObjectMeta::default() })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}
