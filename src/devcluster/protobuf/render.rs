//! Schema-driven decoding of one protobuf message into the JSON Kubernetes' encoder emits.
//!
//! Shape rules: fields absent on the wire are omitted; empty strings and byte strings are
//! omitted (Go `omitempty` value fields, which gogo-protobuf always writes); zero numbers and
//! `false` are kept (Go pointer fields such as `replicas: 0` are meaningful) except for the
//! known value-typed fields in [`OMIT_ZERO`] and inside `*Status` messages (server-owned value
//! fields, always written by gogo-protobuf, dropped by Go's `omitempty`); empty nested messages render as `{}` like Go
//! structs; repeated and map fields only appear when they have entries.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use super::ProtobufError;
use super::schema::{Field, Kind, Message, Shape};
use super::time;
use super::wire::{Reader, WireType};

/// Nesting limit for embedded messages.
const MAX_DEPTH: usize = 64;

/// JSON names of Go value-typed `omitempty` numeric/bool fields: a zero (which the Go
/// protobuf encoder always writes) means "unset" and is omitted like Go's JSON encoder does.
const OMIT_ZERO: &[&str] = &[
    "generation",
    "observedGeneration",
    "minReadySeconds",
    "paused",
    "hostPort",
    "nodePort",
    "healthCheckNodePort",
    "stdin",
    "stdinOnce",
    "tty",
    "readOnly",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "initialDelaySeconds",
    "timeoutSeconds",
    "number",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
    "publishNotReadyAddresses",
    "denied",
    "authenticated",
    "globalDefault",
    "readyReplicas",
    "availableReplicas",
    "updatedReplicas",
    "unavailableReplicas",
    "fullyLabeledReplicas",
    "count",
    "active",
    "succeeded",
    "failed",
];

/// Decodes `buf` as `message` into a JSON object.
pub fn object(buf: &[u8], message: &'static Message, depth: usize) -> Result<Map<String, Value>, ProtobufError> {
    let mut out = Map::new();
    fill(buf, message, depth, &mut out)?;
    Ok(out)
}

/// Decodes the fields of `buf` into `out` (shared by nested and inline messages).
fn fill(
    buf: &[u8],
    message: &'static Message,
    depth: usize,
    out: &mut Map<String, Value>,
) -> Result<(), ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::TooDeep(MAX_DEPTH));
    }
    let mut reader = Reader::new(buf);
    while let Some((tag, wire_type)) = reader.key()? {
        match message.field(tag) {
            Some(field) => {
                let at = At { message, field, wire_type, depth };
                decode_field(&mut reader, at, out)?;
            }
            None => reader.skip(wire_type)?,
        }
    }
    Ok(())
}

/// The field being decoded and where, for wire-type checks and error messages.
#[derive(Clone, Copy)]
struct At {
    message: &'static Message,
    field: &'static Field,
    wire_type: WireType,
    depth: usize,
}

impl At {
    fn expect(&self, expected: WireType) -> Result<(), ProtobufError> {
        if self.wire_type == expected {
            return Ok(());
        }
        Err(ProtobufError::WrongWireType {
            message: self.message.name,
            tag: self.field.tag,
            expected,
            found: self.wire_type,
        })
    }

    fn nested(&self) -> usize {
        self.depth + 1
    }
}

fn decode_field(reader: &mut Reader<'_>, at: At, out: &mut Map<String, Value>) -> Result<(), ProtobufError> {
    let name = at.field.name;
    match at.field.shape {
        Shape::One => {
            let value = value(reader, at, at.field.kind)?;
            if !omitted(at, &value) {
                out.insert(name.to_owned(), value);
            }
        }
        Shape::List => {
            let items = out.entry(name).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = items {
                list_items(reader, at, items)?;
            }
        }
        Shape::Map => {
            let (key, value) = map_entry(reader, at)?;
            let entries = out.entry(name).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(entries) = entries {
                entries.insert(key, value);
            }
        }
        Shape::Inline => inline(reader, at, out)?,
    }
    Ok(())
}

/// Whether a single value should be left out, as Go's `omitempty` would.
fn omitted(at: At, value: &Value) -> bool {
    let value_typed = || OMIT_ZERO.contains(&at.field.name) || at.message.name.ends_with("Status");
    match value {
        Value::String(text) => text.is_empty(),
        Value::Bool(flag) => !flag && value_typed(),
        Value::Number(number) => number.as_i64() == Some(0) && value_typed(),
        _ => false,
    }
}

fn inline(reader: &mut Reader<'_>, at: At, out: &mut Map<String, Value>) -> Result<(), ProtobufError> {
    at.expect(WireType::Len)?;
    let bytes = reader.len_delimited()?;
    match at.field.kind {
        Kind::Msg(message) => fill(bytes, message, at.nested(), out),
        _ => Ok(()),
    }
}

/// Appends one wire occurrence of a repeated field (a packed run counts as many).
fn list_items(reader: &mut Reader<'_>, at: At, items: &mut Vec<Value>) -> Result<(), ProtobufError> {
    let packable = matches!(at.field.kind, Kind::Bool | Kind::I32 | Kind::I64);
    if packable && at.wire_type == WireType::Len {
        let mut packed = Reader::new(reader.len_delimited()?);
        let element = At { wire_type: WireType::Varint, ..at };
        while !packed.is_empty() {
            items.push(value(&mut packed, element, at.field.kind)?);
        }
        return Ok(());
    }
    items.push(value(reader, at, at.field.kind)?);
    Ok(())
}

/// Decodes a map entry message {key=1, value=2}; a missing value is the kind's zero value.
fn map_entry(reader: &mut Reader<'_>, at: At) -> Result<(String, Value), ProtobufError> {
    at.expect(WireType::Len)?;
    let mut entry = Reader::new(reader.len_delimited()?);
    let (mut key, mut found) = (String::new(), None);
    while let Some((tag, wire_type)) = entry.key()? {
        let here = At { wire_type, ..at };
        match tag {
            1 => key = string(&mut entry, here)?,
            2 => found = Some(value(&mut entry, here, at.field.kind)?),
            _ => entry.skip(wire_type)?,
        }
    }
    Ok((key, found.unwrap_or_else(|| zero(at.field.kind))))
}

/// The JSON of a kind's zero value (for map entries without a value).
fn zero(kind: Kind) -> Value {
    match kind {
        Kind::Str | Kind::Bytes => Value::String(String::new()),
        Kind::Bool => Value::Bool(false),
        Kind::I32 | Kind::I64 | Kind::IntOrString => Value::from(0),
        Kind::Quantity => Value::String("0".to_owned()),
        Kind::Time | Kind::MicroTime | Kind::RawJson => Value::Null,
        Kind::StringList => Value::Array(Vec::new()),
        Kind::Msg(_) => Value::Object(Map::new()),
    }
}

/// Decodes one value of `kind` at the reader's position.
fn value(reader: &mut Reader<'_>, at: At, kind: Kind) -> Result<Value, ProtobufError> {
    match kind {
        Kind::Str => string(reader, at).map(Value::String),
        Kind::Bool => varint(reader, at).map(|raw| Value::Bool(raw != 0)),
        Kind::I32 => varint(reader, at).map(|raw| Value::from(raw as i32)),
        Kind::I64 => varint(reader, at).map(|raw| Value::from(raw.cast_signed())),
        Kind::Bytes => bytes(reader, at).map(|raw| Value::String(base64(raw))),
        Kind::Msg(message) => Ok(Value::Object(object(bytes(reader, at)?, message, at.nested())?)),
        special => special_value(bytes(reader, at)?, at, special),
    }
}

/// Renders the well-known apimachinery messages whose JSON form is not an object.
fn special_value(buf: &[u8], at: At, kind: Kind) -> Result<Value, ProtobufError> {
    match kind {
        Kind::Time => timestamp(buf, at, false),
        Kind::MicroTime => timestamp(buf, at, true),
        Kind::Quantity => quantity(buf, at),
        Kind::IntOrString => int_or_string(buf, at),
        Kind::RawJson => raw_json(buf, at),
        Kind::StringList => string_list(buf, at),
        _ => Ok(Value::Null),
    }
}

fn varint(reader: &mut Reader<'_>, at: At) -> Result<u64, ProtobufError> {
    at.expect(WireType::Varint)?;
    reader.varint()
}

fn bytes<'a>(reader: &mut Reader<'a>, at: At) -> Result<&'a [u8], ProtobufError> {
    at.expect(WireType::Len)?;
    reader.len_delimited()
}

fn string(reader: &mut Reader<'_>, at: At) -> Result<String, ProtobufError> {
    let raw = bytes(reader, at)?;
    String::from_utf8(raw.to_vec())
        .map_err(|_| ProtobufError::InvalidUtf8 { message: at.message.name, tag: at.field.tag })
}

fn base64(raw: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// Reads the fields of a small special message, giving each `(tag, reader, at)` to `visit`.
fn each_field(
    buf: &[u8],
    at: At,
    mut visit: impl FnMut(u32, &mut Reader<'_>, At) -> Result<bool, ProtobufError>,
) -> Result<(), ProtobufError> {
    let mut reader = Reader::new(buf);
    while let Some((tag, wire_type)) = reader.key()? {
        if !visit(tag, &mut reader, At { wire_type, ..at })? {
            reader.skip(wire_type)?;
        }
    }
    Ok(())
}

/// meta/v1 Time or MicroTime {seconds=1, nanos=2}; an empty message is Go's zero time (`null`).
fn timestamp(buf: &[u8], at: At, micro: bool) -> Result<Value, ProtobufError> {
    if buf.is_empty() {
        return Ok(Value::Null);
    }
    let (mut seconds, mut nanos) = (0i64, 0i32);
    each_field(buf, at, |tag, reader, here| match tag {
        1 => varint(reader, here).map(|raw| seconds = raw.cast_signed()).map(|()| true),
        2 => varint(reader, here).map(|raw| nanos = raw as i32).map(|()| true),
        _ => Ok(false),
    })?;
    Ok(Value::String(time::rfc3339(seconds, nanos, micro)))
}

/// resource.Quantity {string=1}; Go renders the zero Quantity as "0".
fn quantity(buf: &[u8], at: At) -> Result<Value, ProtobufError> {
    let mut text = String::new();
    each_field(buf, at, |tag, reader, here| match tag {
        1 => string(reader, here).map(|value| text = value).map(|()| true),
        _ => Ok(false),
    })?;
    if text.is_empty() {
        text.push('0');
    }
    Ok(Value::String(text))
}

/// intstr.IntOrString {type=1 (0 int, 1 string), intVal=2, strVal=3}.
fn int_or_string(buf: &[u8], at: At) -> Result<Value, ProtobufError> {
    let (mut is_string, mut int_val, mut str_val) = (false, 0i32, String::new());
    each_field(buf, at, |tag, reader, here| match tag {
        1 => varint(reader, here).map(|raw| is_string = raw == 1).map(|()| true),
        2 => varint(reader, here).map(|raw| int_val = raw as i32).map(|()| true),
        3 => string(reader, here).map(|value| str_val = value).map(|()| true),
        _ => Ok(false),
    })?;
    Ok(if is_string { Value::String(str_val) } else { Value::Number(Number::from(int_val)) })
}

/// runtime.RawExtension / meta/v1 FieldsV1 {raw=1}: the raw bytes are JSON.
fn raw_json(buf: &[u8], at: At) -> Result<Value, ProtobufError> {
    let mut raw: &[u8] = &[];
    let mut reader = Reader::new(buf);
    while let Some((tag, wire_type)) = reader.key()? {
        match tag {
            1 => raw = bytes(&mut reader, At { wire_type, ..at })?,
            _ => reader.skip(wire_type)?,
        }
    }
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(raw).map_err(|err| ProtobufError::InvalidRawJson {
        message: at.message.name,
        tag: at.field.tag,
        reason: err.to_string(),
    })
}

/// ExtraValue {items=1 repeated string}, which is a plain `[]string` in Go.
fn string_list(buf: &[u8], at: At) -> Result<Value, ProtobufError> {
    let mut items = Vec::new();
    each_field(buf, at, |tag, reader, here| match tag {
        1 => string(reader, here).map(|item| items.push(Value::String(item))).map(|()| true),
        _ => Ok(false),
    })?;
    Ok(Value::Array(items))
}
