//! Declarative schema of the Kubernetes protobuf messages the decoder understands.
//!
//! Every message is a list of `(tag, JSON name, kind, shape)` rows. The tables in the
//! submodules are generated from the k8s-pb 0.9 prost tags (field numbers) and the
//! k8s-openapi serde names (JSON names, so acronyms like `hostIP` stay exact).

mod access;
mod apps;
mod autoscaling;
mod core_1;
mod core_2;
mod core_3;
mod extra;
mod kinds;
mod meta;

pub use access::*;
pub use apps::*;
pub use autoscaling::*;
pub use core_1::*;
pub use core_2::*;
pub use core_3::*;
pub use extra::*;
pub use kinds::KINDS;
pub use meta::*;

/// What a field holds and how its value is rendered as JSON.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Length-delimited UTF-8 string.
    Str,
    /// Varint boolean.
    Bool,
    /// Varint int32 (negative values arrive as 10-byte varints).
    I32,
    /// Varint int64.
    I64,
    /// Length-delimited bytes, rendered as base64 like Go's `[]byte`.
    Bytes,
    /// meta/v1 Time {seconds=1, nanos=2}, rendered as RFC3339 seconds.
    Time,
    /// meta/v1 MicroTime {seconds=1, nanos=2}, rendered as RFC3339 with 6 fractional digits.
    MicroTime,
    /// resource.Quantity {string=1}, rendered as its string.
    Quantity,
    /// intstr.IntOrString {type=1, intVal=2, strVal=3}, rendered as a number or a string.
    IntOrString,
    /// A message whose `raw=1` bytes are JSON (RawExtension, FieldsV1), embedded verbatim.
    RawJson,
    /// A message wrapping `repeated string items=1` (ExtraValue), rendered as an array.
    StringList,
    /// A nested message rendered as a JSON object.
    Msg(&'static Message),
}

/// How many values a field carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Single value (proto2 `optional`).
    One,
    /// `repeated`, rendered as an array (packed or unpacked on the wire).
    List,
    /// `map<string, kind>`: repeated entry messages {key=1, value=2}, rendered as an object.
    Map,
    /// A Go struct embedded with `json:",inline"`: its fields merge into the parent object.
    Inline,
}

/// One field of a message.
#[derive(Debug)]
pub struct Field {
    pub tag: u32,
    pub name: &'static str,
    pub kind: Kind,
    pub shape: Shape,
}

/// A protobuf message: its fully qualified proto name and fields.
#[derive(Debug)]
pub struct Message {
    pub name: &'static str,
    pub fields: &'static [Field],
}

impl Message {
    /// The field with wire tag `tag`, if the schema knows it.
    pub fn field(&self, tag: u32) -> Option<&'static Field> {
        self.fields.iter().find(|field| field.tag == tag)
    }
}

/// Table row constructor used by the generated schemas.
pub const fn fld(tag: u32, name: &'static str, kind: Kind, shape: Shape) -> Field {
    Field { tag, name, kind, shape }
}

/// Message constructor used by the generated schemas.
pub const fn msg(name: &'static str, fields: &'static [Field]) -> Message {
    Message { name, fields }
}

/// The top-level message for `(apiVersion, kind)`. `DeleteOptions` is accepted under any
/// group version, as every API group registers it.
pub fn lookup(api_version: &str, kind: &str) -> Option<&'static Message> {
    KINDS
        .iter()
        .find(|(version, name, _)| *name == kind && (*version == api_version || *version == "*"))
        .map(|(_, _, message)| *message)
}
