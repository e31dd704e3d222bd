//! Minimal protobuf wire-format reader: varints, fixed32/64 and length-delimited values.
//! Every read is bounds-checked and reports malformed input as an error.

use super::ProtobufError;

/// Protobuf wire types (groups are not supported: Kubernetes never emits them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireType {
    Varint,
    Fixed64,
    Len,
    Fixed32,
}

impl std::fmt::Display for WireType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            WireType::Varint => "varint",
            WireType::Fixed64 => "fixed64",
            WireType::Len => "length-delimited",
            WireType::Fixed32 => "fixed32",
        };
        f.write_str(name)
    }
}

impl WireType {
    fn from_bits(bits: u64) -> Result<Self, ProtobufError> {
        match bits {
            0 => Ok(WireType::Varint),
            1 => Ok(WireType::Fixed64),
            2 => Ok(WireType::Len),
            5 => Ok(WireType::Fixed32),
            other => Err(ProtobufError::UnsupportedWireType(other as u8)),
        }
    }
}

/// Largest field number protobuf allows (2^29 - 1).
const MAX_TAG: u64 = (1 << 29) - 1;

/// A cursor over one message's bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Whether every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Reads a base-128 varint of at most 10 bytes.
    pub fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut value: u64 = 0;
        for index in 0..10 {
            let byte = self.byte("varint")?;
            if index == 9 && byte > 1 {
                return Err(ProtobufError::VarintOverflow);
            }
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtobufError::VarintOverflow)
    }

    /// Reads the next field key, or `None` at the end of the message.
    pub fn key(&mut self) -> Result<Option<(u32, WireType)>, ProtobufError> {
        if self.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let tag = key >> 3;
        if tag == 0 || tag > MAX_TAG {
            return Err(ProtobufError::InvalidTag(tag));
        }
        let wire_type = WireType::from_bits(key & 7)?;
        Ok(Some((tag as u32, wire_type)))
    }

    /// Reads a little-endian fixed32.
    pub fn fixed32(&mut self) -> Result<u32, ProtobufError> {
        let bytes = self.take(4, "fixed32")?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    /// Reads a little-endian fixed64.
    pub fn fixed64(&mut self) -> Result<u64, ProtobufError> {
        let bytes = self.take(8, "fixed64")?;
        let mut array = [0u8; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    /// Reads a length prefix and returns that many bytes.
    pub fn len_delimited(&mut self) -> Result<&'a [u8], ProtobufError> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| ProtobufError::Truncated("length-delimited"))?;
        self.take(len, "length-delimited")
    }

    /// Skips one value of the given wire type (an unknown field).
    pub fn skip(&mut self, wire_type: WireType) -> Result<(), ProtobufError> {
        match wire_type {
            WireType::Varint => self.varint().map(drop),
            WireType::Fixed64 => self.fixed64().map(drop),
            WireType::Len => self.len_delimited().map(drop),
            WireType::Fixed32 => self.fixed32().map(drop),
        }
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, ProtobufError> {
        let byte = *self.buf.get(self.pos).ok_or(ProtobufError::Truncated(what))?;
        self.pos += 1;
        Ok(byte)
    }

    fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], ProtobufError> {
        let end =
            self.pos.checked_add(len).filter(|end| *end <= self.buf.len()).ok_or(ProtobufError::Truncated(what))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
}
