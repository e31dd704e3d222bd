//! Decoding of `application/vnd.kubernetes.protobuf` request bodies into JSON.
//!
//! client-go typed clientsets (kubectl create …, kubectl auth can-i, token requests) send
//! protobuf bodies. A body is the magic `k8s\0` followed by a `runtime.Unknown`
//! {typeMeta{apiVersion=1, kind=2}=1, raw=2, contentEncoding=3, contentType=4} whose `raw`
//! is the object's message. The object is decoded against a declarative schema (the
//! `schema` submodule: per message, rows of tag, JSON name and kind) into the JSON
//! kube-apiserver would accept for the same object.

mod render;
mod schema;
mod time;
mod wire;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use wire::Reader;
pub use wire::WireType;

/// The 4-byte prefix of every Kubernetes protobuf body.
const MAGIC: &[u8; 4] = b"k8s\0";

/// Why a protobuf body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    #[error("protobuf body does not start with the Kubernetes magic prefix \"k8s\\x00\"")]
    BadMagic,
    #[error("protobuf body is truncated (while reading a {0})")]
    Truncated(&'static str),
    #[error("protobuf varint is longer than 10 bytes")]
    VarintOverflow,
    #[error("invalid protobuf field number {0}")]
    InvalidTag(u64),
    #[error("unsupported protobuf wire type {0}")]
    UnsupportedWireType(u8),
    #[error("field {tag} of {message} has wire type {found}, expected {expected}")]
    WrongWireType { message: &'static str, tag: u32, expected: WireType, found: WireType },
    #[error("field {tag} of {message} is not valid UTF-8")]
    InvalidUtf8 { message: &'static str, tag: u32 },
    #[error("field {tag} of {message} holds invalid embedded JSON: {reason}")]
    InvalidRawJson { message: &'static str, tag: u32, reason: String },
    #[error("protobuf messages are nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("protobuf envelope has no apiVersion/kind")]
    MissingTypeMeta,
    #[error("protobuf envelope content encoding {0:?} is not supported")]
    UnsupportedEncoding(String),
    #[error("protobuf encoding of apiVersion={api_version:?}, kind={kind:?} is not supported; send JSON")]
    UnsupportedKind { api_version: String, kind: String },
}

/// Decodes a Kubernetes protobuf body: the 4-byte magic `k8s\0`, then a runtime.Unknown
/// {typeMeta{apiVersion=1,kind=2}=1, raw=2, contentEncoding=3, contentType=4}; `raw` is the
/// object's message, chosen by typeMeta (apiVersion, kind). Returns the object as the JSON
/// kube-apiserver would accept (apiVersion and kind set first, JSON field names; Time →
/// RFC3339 string, MicroTime → RFC3339 with microseconds, Quantity → its string,
/// IntOrString → int or string, []byte → base64).
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    let payload = body.strip_prefix(MAGIC).ok_or(ProtobufError::BadMagic)?;
    let envelope = Envelope::parse(payload)?;
    if !envelope.content_encoding.is_empty() {
        return Err(ProtobufError::UnsupportedEncoding(envelope.content_encoding));
    }
    let message = schema::lookup(&envelope.api_version, &envelope.kind).ok_or_else(|| {
        ProtobufError::UnsupportedKind { api_version: envelope.api_version.clone(), kind: envelope.kind.clone() }
    })?;
    let fields = render::object(envelope.raw, message, 0)?;
    Ok(Value::Object(with_type_meta(&envelope, fields)))
}

/// Whether (apiVersion, kind) is supported, for a clear 415 message otherwise.
pub fn supports(api_version: &str, kind: &str) -> bool {
    schema::lookup(api_version, kind).is_some()
}

/// Puts apiVersion and kind first, as Kubernetes' JSON encoder does.
fn with_type_meta(envelope: &Envelope<'_>, fields: Map<String, Value>) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("apiVersion".to_owned(), Value::String(envelope.api_version.clone()));
    object.insert("kind".to_owned(), Value::String(envelope.kind.clone()));
    object.extend(fields);
    object
}

/// The decoded runtime.Unknown wrapper.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
}

impl<'a> Envelope<'a> {
    fn parse(payload: &'a [u8]) -> Result<Self, ProtobufError> {
        let mut envelope =
            Envelope { api_version: String::new(), kind: String::new(), raw: &[], content_encoding: String::new() };
        let mut reader = Reader::new(payload);
        while let Some((tag, wire_type)) = reader.key()? {
            match (tag, wire_type) {
                (1, WireType::Len) => envelope.type_meta(reader.len_delimited()?)?,
                (2, WireType::Len) => envelope.raw = reader.len_delimited()?,
                (3, WireType::Len) => envelope.content_encoding = text(reader.len_delimited()?, 3)?,
                _ => reader.skip(wire_type)?,
            }
        }
        if envelope.kind.is_empty() || envelope.api_version.is_empty() {
            return Err(ProtobufError::MissingTypeMeta);
        }
        Ok(envelope)
    }

    /// runtime.TypeMeta {apiVersion=1, kind=2}.
    fn type_meta(&mut self, buf: &[u8]) -> Result<(), ProtobufError> {
        let mut reader = Reader::new(buf);
        while let Some((tag, wire_type)) = reader.key()? {
            match (tag, wire_type) {
                (1, WireType::Len) => self.api_version = text(reader.len_delimited()?, 1)?,
                (2, WireType::Len) => self.kind = text(reader.len_delimited()?, 2)?,
                _ => reader.skip(wire_type)?,
            }
        }
        Ok(())
    }
}

/// A UTF-8 string field of the envelope.
fn text(raw: &[u8], tag: u32) -> Result<String, ProtobufError> {
    String::from_utf8(raw.to_vec())
        .map_err(|_| ProtobufError::InvalidUtf8 { message: "k8s.io.apimachinery.pkg.runtime.Unknown", tag })
}
