//! The `RemotingCommand` header in both serializations.
//!
//! JSON (type 0), fastjson-compatible, keys in Java's alphabetical order:
//! `{"code":..,"extFields":{..},"flag":..,"language":"JAVA","opaque":..,
//! "remark":..,"serializeTypeCurrentRPC":"JSON","version":..}`.
//!
//! ROCKETMQ binary (type 1):
//!
//! ```text
//!  off size
//!  0   2   code        i16
//!  2   1   language    u8
//!  3   2   version     i16
//!  5   4   opaque      i32
//!  9   4   flag        i32
//!  13  4   remarkLen   i32, then remark UTF-8 (0 = none)
//!  ..  4   extLen      i32, then repeated: keyLen i16 + key, valLen i32 + value
//! ```

use std::fmt::{self, Write as _};

use bytes::{BufMut, Bytes, BytesMut};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::codes::{LanguageCode, FLAG_ONEWAY, FLAG_RESPONSE, ROKKA_VERSION};
use super::error::DecodeError;
use super::reader::Reader;

/// Header serialization of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerializeType {
    /// Type 0.
    Json,
    /// Type 1, the binary layout.
    RocketMq,
}

impl SerializeType {
    /// The type byte.
    pub fn byte(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }
}

/// `extFields`: string pairs in wire order (duplicates: the later wins on look-up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtFields(pub Vec<(String, String)>);

impl ExtFields {
    /// The value of `key`; an empty string counts as absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Sets `key`, replacing an earlier value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        if let Some(slot) = self.0.iter_mut().find(|(k, _)| *k == key) {
            slot.1 = value;
        } else {
            self.0.push((key, value));
        }
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One remoting command: the header fields plus the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// Request code (requests) or response code (responses).
    pub code: i32,
    /// Sender's language.
    pub language: LanguageCode,
    /// Sender's version ordinal.
    pub version: i32,
    /// Request id, echoed by the response.
    pub opaque: i32,
    /// Bit 0 response, bit 1 oneway.
    pub flag: i32,
    /// Free text, mostly error messages.
    pub remark: Option<String>,
    /// Custom header fields; `None` when the key was absent or null.
    pub ext_fields: Option<ExtFields>,
    /// The header serialization this command came in (or goes out) with.
    pub serialize_type: SerializeType,
    /// The body (empty when absent).
    pub body: Bytes,
}

impl RemotingCommand {
    /// A new request.
    pub fn request(code: i32, ext: ExtFields) -> RemotingCommand {
        RemotingCommand {
            code,
            language: LanguageCode::JAVA,
            version: ROKKA_VERSION,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: Some(ext),
            serialize_type: SerializeType::Json,
            body: Bytes::new(),
        }
    }

    /// A response to `self` with `code`, mirroring its opaque and serialize type.
    pub fn response_to(&self, code: i32) -> RemotingCommand {
        RemotingCommand {
            code,
            language: LanguageCode::JAVA,
            version: ROKKA_VERSION,
            opaque: self.opaque,
            flag: FLAG_RESPONSE,
            remark: None,
            ext_fields: None,
            serialize_type: self.serialize_type,
            body: Bytes::new(),
        }
    }

    /// True for a response frame.
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// True for a oneway request.
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// An ext field (empty counts as absent).
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.as_ref().and_then(|e| e.get(key))
    }

    /// The ext fields, created empty if absent.
    pub fn ext_mut(&mut self) -> &mut ExtFields {
        self.ext_fields.get_or_insert_with(ExtFields::default)
    }
}

/// Decodes a header of `serialize_type` from exactly `buf`.
pub fn decode_header(
    buf: &[u8],
    serialize_type: SerializeType,
) -> Result<RemotingCommand, DecodeError> {
    match serialize_type {
        SerializeType::Json => decode_json_header(buf),
        SerializeType::RocketMq => decode_binary_header(buf),
    }
}

/// Encodes the header of `cmd` in its own serialize type.
pub fn encode_header(cmd: &RemotingCommand, out: &mut BytesMut) {
    match cmd.serialize_type {
        SerializeType::Json => encode_json_header(cmd, out),
        SerializeType::RocketMq => encode_binary_header(cmd, out),
    }
}

// ---------------------------------------------------------------- binary

fn decode_binary_header(buf: &[u8]) -> Result<RemotingCommand, DecodeError> {
    let mut r = Reader::new(buf);
    let code = r.i16("code")? as i32;
    let language = LanguageCode(r.u8("language")?);
    let version = r.i16("version")? as i32;
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;
    let remark_len = r.len_i32("remarkLen")?;
    let remark = if remark_len > 0 {
        Some(utf8(r.take(remark_len, "remark")?, "remark")?)
    } else {
        None
    };
    let ext_len = r.len_i32("extLen")?;
    let ext_fields = if ext_len > 0 {
        let mut m = Reader::new(r.take(ext_len, "extFields")?);
        let mut fields = Vec::new();
        while !m.is_empty() {
            let kl = m.len_i16("ext keyLen")?;
            let k = utf8(m.take(kl, "ext key")?, "ext key")?;
            let vl = m.len_i32("ext valLen")?;
            let v = utf8(m.take(vl, "ext value")?, "ext value")?;
            fields.push((k, v));
        }
        Some(ExtFields(fields))
    } else {
        None
    };
    if !r.is_empty() {
        return Err(DecodeError::Invalid("trailing header bytes"));
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        serialize_type: SerializeType::RocketMq,
        body: Bytes::new(),
    })
}

fn encode_binary_header(cmd: &RemotingCommand, out: &mut BytesMut) {
    out.put_i16(cmd.code as i16);
    out.put_u8(cmd.language.0);
    out.put_i16(cmd.version as i16);
    out.put_i32(cmd.opaque);
    out.put_i32(cmd.flag);
    match cmd.remark.as_deref() {
        Some(r) if !r.is_empty() => {
            out.put_i32(r.len() as i32);
            out.put_slice(r.as_bytes());
        }
        _ => out.put_i32(0),
    }
    let fields = cmd
        .ext_fields
        .as_ref()
        .map(|e| e.0.as_slice())
        .unwrap_or(&[]);
    let ext_len: usize = fields.iter().map(|(k, v)| 6 + k.len() + v.len()).sum();
    out.put_i32(ext_len as i32);
    for (k, v) in fields {
        out.put_i16(k.len() as i16);
        out.put_slice(k.as_bytes());
        out.put_i32(v.len() as i32);
        out.put_slice(v.as_bytes());
    }
}

fn utf8(b: &[u8], field: &'static str) -> Result<String, DecodeError> {
    String::from_utf8(b.to_vec()).map_err(|_| DecodeError::Invalid(field))
}

// ---------------------------------------------------------------- JSON

#[derive(Deserialize)]
struct JsonHeader {
    code: i32,
    #[serde(default)]
    language: Option<JsonLanguage>,
    #[serde(default)]
    version: Option<i32>,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(rename = "extFields", default)]
    ext_fields: Option<ExtFields>,
}

/// `language`: Java clients send the enum name, some others its ordinal.
enum JsonLanguage {
    Name(LanguageCode),
    Code(u8),
}

impl<'de> Deserialize<'de> for JsonLanguage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = JsonLanguage;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a language name or code")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<JsonLanguage, E> {
                Ok(JsonLanguage::Name(LanguageCode::from_name(v)))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<JsonLanguage, E> {
                u8::try_from(v)
                    .map(JsonLanguage::Code)
                    .map_err(|_| E::custom("language code out of range"))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<JsonLanguage, E> {
                u8::try_from(v)
                    .map(JsonLanguage::Code)
                    .map_err(|_| E::custom("language code out of range"))
            }
        }
        d.deserialize_any(V)
    }
}

/// One `extFields` value without a `serde_json::Value` in between: strings
/// as they are, numbers and booleans as their JSON text, null as absent,
/// anything nested as its JSON text (rare; goes through `Value`).
struct ExtValue(Option<String>);

impl<'de> Deserialize<'de> for ExtValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExtValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(v)))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(v.to_string())))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(v.to_string())))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(v.to_string())))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<ExtValue, E> {
                Ok(ExtValue(Some(serde_json::Value::from(v).to_string())))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<ExtValue, E> {
                Ok(ExtValue(None))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<ExtValue, E> {
                Ok(ExtValue(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, a: A) -> Result<ExtValue, A::Error> {
                let v = serde_json::Value::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(a),
                )?;
                Ok(ExtValue(Some(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, a: A) -> Result<ExtValue, A::Error> {
                let v = serde_json::Value::deserialize(
                    serde::de::value::MapAccessDeserializer::new(a),
                )?;
                Ok(ExtValue(Some(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for ExtFields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExtFields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ExtFields, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some((k, v)) = map.next_entry::<String, ExtValue>()? {
                    if let Some(v) = v.0 {
                        out.push((k, v));
                    }
                }
                Ok(ExtFields(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn decode_json_header(buf: &[u8]) -> Result<RemotingCommand, DecodeError> {
    let h: JsonHeader =
        serde_json::from_slice(buf).map_err(|e| DecodeError::Json(e.to_string()))?;
    let language = match h.language {
        Some(JsonLanguage::Name(n)) => n,
        Some(JsonLanguage::Code(c)) => LanguageCode(c),
        None => LanguageCode::OTHER,
    };
    Ok(RemotingCommand {
        code: h.code,
        language,
        version: h.version.unwrap_or(0),
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark,
        ext_fields: h.ext_fields,
        serialize_type: SerializeType::Json,
        body: Bytes::new(),
    })
}

fn json_str(out: &mut BytesMut, s: &str) {
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Nothing to escape (the usual case): no String in between.
        out.reserve(s.len() + 2);
        out.put_u8(b'"');
        out.put_slice(s.as_bytes());
        out.put_u8(b'"');
        return;
    }
    // serde_json escapes control characters (\u0001, \u0002) as clients expect.
    let quoted = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
    out.put_slice(quoted.as_bytes());
}

fn json_int(out: &mut BytesMut, v: i32) {
    // BytesMut's fmt::Write cannot fail; no String in between.
    let _ = write!(out, "{v}");
}

fn encode_json_header(cmd: &RemotingCommand, out: &mut BytesMut) {
    out.put_slice(b"{\"code\":");
    json_int(out, cmd.code);
    if let Some(ext) = &cmd.ext_fields {
        out.put_slice(b",\"extFields\":{");
        for (i, (k, v)) in ext.0.iter().enumerate() {
            if i > 0 {
                out.put_u8(b',');
            }
            json_str(out, k);
            out.put_u8(b':');
            json_str(out, v);
        }
        out.put_u8(b'}');
    }
    out.put_slice(b",\"flag\":");
    json_int(out, cmd.flag);
    out.put_slice(b",\"language\":");
    json_str(out, cmd.language.name());
    out.put_slice(b",\"opaque\":");
    json_int(out, cmd.opaque);
    if let Some(r) = &cmd.remark {
        out.put_slice(b",\"remark\":");
        json_str(out, r);
    }
    out.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    json_int(out, cmd.version);
    out.put_u8(b'}');
}
