//! Malformed and unsupported bodies: every one is an error, never a panic.

use k8s_pb::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_pb::api::coordination::v1::{Lease, LeaseSpec};
use k8s_pb::api::core::v1::Namespace;
use prost::Message as _;
use serde_json::json;

use super::super::wire::WireType;
use super::super::{ProtobufError, decode, supports};
use super::{envelope, meta, round_trip};

fn namespace_body() -> Vec<u8> {
    let namespace = Namespace { metadata: meta("demo", None), ..Namespace::default() };
    envelope("v1", "Namespace", namespace.encode_to_vec())
}

#[test]
fn truncated_body_is_an_error() {
    let body = namespace_body();
    // Protobuf is not self-delimiting: a cut exactly between two envelope fields (after
    // typeMeta, or before the trailing empty contentEncoding/contentType) is a valid body.
    let after_type_meta = 4 + 2 + usize::from(body[5]);
    let boundaries = [after_type_meta, body.len() - 4, body.len() - 2];
    for len in (4..body.len()).filter(|len| !boundaries.contains(len)) {
        assert!(decode(&body[..len]).is_err(), "prefix of {len} bytes decoded");
    }
    assert!(matches!(decode(&body[..body.len() - 5]), Err(ProtobufError::Truncated(_))));
}

#[test]
fn wrong_magic_is_rejected() {
    let mut body = namespace_body();
    body[0] = b'K';
    assert_eq!(decode(&body), Err(ProtobufError::BadMagic));
    assert_eq!(decode(b"k8s"), Err(ProtobufError::BadMagic));
    assert_eq!(decode(b""), Err(ProtobufError::BadMagic));
    assert_eq!(decode(b"{\"kind\":\"Namespace\"}"), Err(ProtobufError::BadMagic));
}

#[test]
fn unsupported_kind_names_api_version_and_kind() {
    let body = envelope("example.com/v1", "Widget", Vec::new());
    let err = decode(&body).expect_err("unknown kind");
    assert_eq!(
        err,
        ProtobufError::UnsupportedKind { api_version: "example.com/v1".to_owned(), kind: "Widget".to_owned() }
    );
    let message = err.to_string();
    assert!(message.contains("example.com/v1") && message.contains("Widget"), "{message}");
    assert!(!supports("example.com/v1", "Widget"));
    assert!(!supports("v1", "Deployment"));
    assert!(supports("apps/v1", "Deployment"));
    assert!(supports("batch/v1", "DeleteOptions"));
}

#[test]
fn missing_type_meta_and_content_encoding_are_rejected() {
    assert_eq!(decode(b"k8s\0"), Err(ProtobufError::MissingTypeMeta));
    let mut body = b"k8s\0".to_vec();
    body.extend([0x0a, 0x0c, 0x0a, 0x02, b'v', b'1', 0x12, 0x06]);
    body.extend(b"Secret");
    body.extend([0x1a, 0x04]);
    body.extend(b"gzip");
    assert_eq!(decode(&body), Err(ProtobufError::UnsupportedEncoding("gzip".to_owned())));
}

#[test]
fn negative_int32_arrives_as_ten_byte_varint() {
    let spec = DeploymentSpec { replicas: Some(-1), ..DeploymentSpec::default() };
    let encoded = spec.encode_to_vec();
    assert_eq!(encoded.len(), 11, "tag byte + 10-byte varint");
    let deployment = Deployment { spec: Some(spec), ..Deployment::default() };
    let json = round_trip("apps/v1", "Deployment", &deployment);
    assert_eq!(json, json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": -1}}));

    let lease = Lease {
        spec: Some(LeaseSpec { lease_duration_seconds: Some(i32::MIN), ..LeaseSpec::default() }),
        ..Lease::default()
    };
    let json = round_trip("coordination.k8s.io/v1", "Lease", &lease);
    assert_eq!(json["spec"]["leaseDurationSeconds"], json!(i32::MIN));
}

/// A Namespace body whose raw object is the given hand-written bytes.
fn raw_namespace(raw: &[u8]) -> Result<serde_json::Value, ProtobufError> {
    decode(&envelope("v1", "Namespace", raw.to_vec()))
}

#[test]
fn malformed_wire_data_is_an_error() {
    // metadata (tag 1) sent as a varint instead of a message.
    let wrong = raw_namespace(&[0x08, 0x01]);
    assert!(matches!(
        wrong,
        Err(ProtobufError::WrongWireType { tag: 1, expected: WireType::Len, found: WireType::Varint, .. })
    ));
    // A varint that never ends within 10 bytes.
    assert_eq!(
        raw_namespace(&[0x0a, 0x0b, 0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        Err(ProtobufError::VarintOverflow)
    );
    // A length running past the end of the message.
    assert!(matches!(raw_namespace(&[0x0a, 0x05, 0x0a, 0x10, b'x']), Err(ProtobufError::Truncated(_))));
    // Huge length prefix.
    assert!(matches!(
        raw_namespace(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        Err(ProtobufError::Truncated(_))
    ));
    // Field number 0 and group wire types.
    assert_eq!(raw_namespace(&[0x02, 0x00]), Err(ProtobufError::InvalidTag(0)));
    assert_eq!(raw_namespace(&[0x0b]), Err(ProtobufError::UnsupportedWireType(3)));
    // Invalid UTF-8 in a string field (metadata.name).
    assert!(matches!(raw_namespace(&[0x0a, 0x03, 0x0a, 0x01, 0xff]), Err(ProtobufError::InvalidUtf8 { tag: 1, .. })));
}

#[test]
fn unknown_fields_are_skipped() {
    let mut raw = Namespace { metadata: meta("demo", None), ..Namespace::default() }.encode_to_vec();
    raw.extend([0xb8, 0x3e, 0x07]); // field 999, varint 7
    raw.extend([0xc1, 0x3e, 1, 2, 3, 4, 5, 6, 7, 8]); // field 1000, fixed64
    raw.extend([0xcd, 0x3e, 1, 2, 3, 4]); // field 1001, fixed32
    raw.extend([0xd2, 0x3e, 0x02, b'h', b'i']); // field 1002, bytes
    let json = raw_namespace(&raw).expect("decodes");
    assert_eq!(json, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let body = namespace_body();
    let mut state: u32 = 0x1234_5678;
    for round in 0..2000 {
        let mut mutated = body.clone();
        for _ in 0..(1 + round % 4) {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let index = 4 + (state as usize >> 8) % (mutated.len() - 4);
            mutated[index] = (state >> 24) as u8;
        }
        let _ = decode(&mutated);
    }
}
