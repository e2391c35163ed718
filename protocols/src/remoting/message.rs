//! The stored/pull message codec: the CommitLog record clients decode
//! (`MessageDecoder`), message properties, offset message ids and the
//! SEND_BATCH_MESSAGE body.
//!
//! ```text
//!  off  size  field
//!  0    4     totalSize        8    4  bodyCRC          16  4  flag
//!  4    4     magicCode        12   4  queueId          20  8  queueOffset
//!  28   8     physicalOffset   36   4  sysFlag          40  8  bornTimestamp
//!  48   8|20  bornHost (IPv4 4B+port | IPv6 16B+port, sysFlag 0x10)
//!  ..   8     storeTimestamp   ..   8|20 storeHost (sysFlag 0x20)
//!  ..   4     reconsumeTimes   ..   8  preparedTxOffset
//!  ..   4     bodyLength + body
//!  ..   1|2   topicLength (V1 i8, V2 i16) + topic
//!  ..   2     propertiesLength + properties
//! ```
//!
//! Batch body element: `totalSize i32, magic i32, bodyCRC i32, flag i32,
//! bodyLen i32 + body, propsLen i16 + properties`.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes, BytesMut};

use super::error::DecodeError;
use super::reader::Reader;

/// Magic code V1 (1-byte topic length).
pub const MAGIC_V1: i32 = -626843481;
/// Magic code V2 (2-byte topic length, 5.x).
pub const MAGIC_V2: i32 = -626843477;
/// sysFlag: body compressed.
pub const SYSFLAG_COMPRESSED: i32 = 0x1;
/// sysFlag: born host is IPv6.
pub const SYSFLAG_BORNHOST_V6: i32 = 0x10;
/// sysFlag: store host is IPv6.
pub const SYSFLAG_STOREHOST_V6: i32 = 0x20;
/// sysFlag compression-type mask (5.x): 0 or 0x300 zlib, 0x100 LZ4, 0x200 ZSTD.
pub const SYSFLAG_COMPRESSION_MASK: i32 = 0x700;

/// Name/value separator in a properties string (U+0001).
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Property separator (U+0002).
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// A decoded stored message (a pull/query/view body element).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// Record size.
    pub total_size: i32,
    /// Magic code.
    pub magic: i32,
    /// CRC32 of the stored body, masked to 31 bits.
    pub body_crc: i32,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// ConsumeQueue offset.
    pub queue_offset: i64,
    /// CommitLog offset.
    pub physical_offset: i64,
    /// sysFlag bits.
    pub sys_flag: i32,
    /// Born timestamp, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Store timestamp, ms.
    pub store_timestamp: i64,
    /// Broker address.
    pub store_host: SocketAddr,
    /// Times consumed again.
    pub reconsume_times: i32,
    /// Half-message offset of a committed transaction message.
    pub prepared_transaction_offset: i64,
    /// The body as stored (possibly compressed).
    pub body: Bytes,
    /// Topic.
    pub topic: String,
    /// Raw properties string.
    pub properties: String,
}

impl MessageExt {
    /// The last value of property `name`.
    pub fn property(&self, name: &str) -> Option<&str> {
        decode_properties(&self.properties)
            .into_iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// The offset message id of this record.
    pub fn offset_msg_id(&self) -> String {
        create_message_id(self.store_host, self.physical_offset)
    }

    /// The body, decompressed when the COMPRESSED bit is set: zlib (4.x, and
    /// 5.x type 0x300), LZ4 frame (5.x type 0x100) or zstd (5.x type 0x200),
    /// as RocketMQ 5.x's `CompressionType` writes them. At most 64 MiB.
    pub fn uncompressed_body(&self) -> Result<Bytes, DecodeError> {
        if self.sys_flag & SYSFLAG_COMPRESSED == 0 {
            return Ok(self.body.clone());
        }
        let bad = DecodeError::Invalid("compressed body");
        let out = match self.sys_flag & SYSFLAG_COMPRESSION_MASK {
            0 | 0x300 => {
                let mut out = Vec::new();
                flate2::read::ZlibDecoder::new(&self.body[..])
                    .take(64 * 1024 * 1024)
                    .read_to_end(&mut out)
                    .map_err(|_| bad)?;
                out
            }
            0x100 => crate::kafka::compression::decompress(3, &self.body).map_err(|_| bad)?,
            0x200 => crate::kafka::compression::decompress(4, &self.body).map_err(|_| bad)?,
            _ => return Err(DecodeError::Invalid("compression type")),
        };
        Ok(Bytes::from(out))
    }
}

#[cfg(test)]
mod body_tests {
    use std::io::Write;

    use super::*;

    fn with(sys_flag: i32, body: Vec<u8>) -> MessageExt {
        let host = SocketAddr::from(([127, 0, 0, 1], 10911));
        MessageExt {
            total_size: 0,
            magic: MAGIC_V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            physical_offset: 0,
            sys_flag,
            born_timestamp: 0,
            born_host: host,
            store_timestamp: 0,
            store_host: host,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::from(body),
            topic: "T".to_owned(),
            properties: String::new(),
        }
    }

    #[test]
    fn bodies_of_every_rocketmq_compression_type_decompress() {
        let text = b"rokka rokka rokka rokka: one body, four encodings".repeat(20);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&text).unwrap();
        let zlib = z.finish().unwrap();
        let mut l = lz4_flex::frame::FrameEncoder::new(Vec::new());
        l.write_all(&text).unwrap();
        let lz4 = l.finish().unwrap();
        let zstd = zstd::encode_all(&text[..], 3).unwrap();
        for (flag, body) in [
            (0x1, zlib.clone()),
            (0x301, zlib),
            (0x101, lz4),
            (0x201, zstd),
            (0x0, text.clone()),
        ] {
            let m = with(flag, body);
            assert_eq!(m.uncompressed_body().unwrap(), text, "sysFlag {flag:#x}");
        }
        assert!(with(0x401, text.clone()).uncompressed_body().is_err());
        assert!(with(0x101, b"not lz4".to_vec())
            .uncompressed_body()
            .is_err());
        assert!(with(0x201, b"not zstd".to_vec())
            .uncompressed_body()
            .is_err());
    }
}

fn host(r: &mut Reader<'_>, v6: bool, field: &'static str) -> Result<SocketAddr, DecodeError> {
    let ip = if v6 {
        let b: [u8; 16] = r
            .take(16, field)?
            .try_into()
            .map_err(|_| DecodeError::Invalid(field))?;
        IpAddr::V6(Ipv6Addr::from(b))
    } else {
        let b: [u8; 4] = r
            .take(4, field)?
            .try_into()
            .map_err(|_| DecodeError::Invalid(field))?;
        IpAddr::V4(Ipv4Addr::from(b))
    };
    let port = r.i32(field)?;
    Ok(SocketAddr::new(ip, port as u16))
}

/// Decodes one record at the front of `buf`; returns it and its size.
pub fn decode_message(buf: &Bytes) -> Result<(MessageExt, usize), DecodeError> {
    let mut r = Reader::new(buf);
    let total_size = r.i32("totalSize")?;
    let size = usize::try_from(total_size).map_err(|_| DecodeError::Invalid("totalSize"))?;
    if size > buf.len() {
        return Err(DecodeError::Truncated("record"));
    }
    let magic = r.i32("magicCode")?;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(DecodeError::Invalid("magicCode"));
    }
    let body_crc = r.i32("bodyCRC")?;
    let queue_id = r.i32("queueId")?;
    let flag = r.i32("flag")?;
    let queue_offset = r.i64("queueOffset")?;
    let physical_offset = r.i64("physicalOffset")?;
    let sys_flag = r.i32("sysFlag")?;
    let born_timestamp = r.i64("bornTimestamp")?;
    let born_host = host(&mut r, sys_flag & SYSFLAG_BORNHOST_V6 != 0, "bornHost")?;
    let store_timestamp = r.i64("storeTimestamp")?;
    let store_host = host(&mut r, sys_flag & SYSFLAG_STOREHOST_V6 != 0, "storeHost")?;
    let reconsume_times = r.i32("reconsumeTimes")?;
    let prepared_transaction_offset = r.i64("preparedTransactionOffset")?;
    let body_len = r.len_i32("bodyLength")?;
    let body_start = buf.len() - r.remaining().len();
    r.take(body_len, "body")?;
    let topic_len = if magic == MAGIC_V1 {
        r.u8("topicLength")? as usize
    } else {
        r.len_i16("topicLength")?
    };
    let topic = String::from_utf8(r.take(topic_len, "topic")?.to_vec())
        .map_err(|_| DecodeError::Invalid("topic"))?;
    let props_len = r.len_i16("propertiesLength")?;
    let properties = String::from_utf8(r.take(props_len, "properties")?.to_vec())
        .map_err(|_| DecodeError::Invalid("properties"))?;
    if buf.len() - r.remaining().len() != size {
        return Err(DecodeError::Invalid("totalSize"));
    }
    Ok((
        MessageExt {
            total_size,
            magic,
            body_crc,
            queue_id,
            flag,
            queue_offset,
            physical_offset,
            sys_flag,
            born_timestamp,
            born_host,
            store_timestamp,
            store_host,
            reconsume_times,
            prepared_transaction_offset,
            body: buf.slice(body_start..body_start + body_len),
            topic,
            properties,
        },
        size,
    ))
}

/// Decodes every record of a pull/query body.
pub fn decode_messages(body: &Bytes) -> Result<Vec<MessageExt>, DecodeError> {
    let mut out = Vec::new();
    let mut rest = body.clone();
    while !rest.is_empty() {
        let (m, size) = decode_message(&rest)?;
        out.push(m);
        rest = rest.slice(size..);
    }
    Ok(out)
}

/// Splits a properties string into (name, value) pairs, skipping malformed
/// segments (no separator, empty name or value), in order.
pub fn decode_properties(s: &str) -> Vec<(&str, &str)> {
    s.split(PROPERTY_SEPARATOR)
        .filter_map(|seg| seg.split_once(NAME_VALUE_SEPARATOR))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .collect()
}

/// Encodes pairs as `k␁v␂k␁v` (no trailing separator, like a 4.9 broker).
pub fn encode_properties<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push(PROPERTY_SEPARATOR);
        }
        out.push_str(k);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(v);
    }
    out
}

/// The offset message id: uppercase hex of store IP, port (i32) and the
/// CommitLog offset (i64); 32 chars for IPv4.
pub fn create_message_id(store_host: SocketAddr, phy_offset: i64) -> String {
    let mut id = String::with_capacity(56);
    match store_host.ip() {
        IpAddr::V4(ip) => push_hex(&mut id, &ip.octets()),
        IpAddr::V6(ip) => push_hex(&mut id, &ip.octets()),
    }
    push_hex(&mut id, &(store_host.port() as i32).to_be_bytes());
    push_hex(&mut id, &phy_offset.to_be_bytes());
    id
}

/// Appends `bytes` as upper-case hex, two digits a byte.
fn push_hex(out: &mut String, bytes: &[u8]) {
    for x in bytes {
        for nibble in [x >> 4, x & 15] {
            let c = char::from_digit(u32::from(nibble), 16).unwrap_or('0');
            out.push(c.to_ascii_uppercase());
        }
    }
}

/// Parses an offset message id into (store host, CommitLog offset).
pub fn decode_message_id(id: &str) -> Result<(SocketAddr, i64), DecodeError> {
    let bytes: Vec<u8> = (0..id.len())
        .step_by(2)
        .map(|i| {
            id.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(DecodeError::Invalid("msgId"))
        })
        .collect::<Result<_, _>>()?;
    let v6 = match bytes.len() {
        16 => false,
        28 => true,
        _ => return Err(DecodeError::Invalid("msgId")),
    };
    let mut r = Reader::new(&bytes);
    let h = host(&mut r, v6, "msgId")?;
    let off = r.i64("msgId")?;
    Ok((h, off))
}

/// One message of a SEND_BATCH_MESSAGE body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMessage {
    /// User flag.
    pub flag: i32,
    /// Body (zero-copy slice of the request).
    pub body: Bytes,
    /// Inner properties string.
    pub properties: String,
}

/// Decodes a SEND_BATCH_MESSAGE body.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchMessage>, DecodeError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < body.len() {
        let chunk = body.slice(pos..);
        let mut r = Reader::new(&chunk);
        let total = r.len_i32("batch totalSize")?;
        if total < 20 || total > chunk.len() {
            return Err(DecodeError::Invalid("batch totalSize"));
        }
        r.i32("batch magicCode")?;
        r.i32("batch bodyCRC")?;
        let flag = r.i32("batch flag")?;
        let body_len = r.len_i32("batch bodyLen")?;
        let body_start = chunk.len() - r.remaining().len();
        r.take(body_len, "batch body")?;
        let props_len = r.len_i16("batch propertiesLength")?;
        let properties = String::from_utf8(r.take(props_len, "batch properties")?.to_vec())
            .map_err(|_| DecodeError::Invalid("batch properties"))?;
        if chunk.len() - r.remaining().len() != total {
            return Err(DecodeError::Invalid("batch totalSize"));
        }
        out.push(BatchMessage {
            flag,
            body: chunk.slice(body_start..body_start + body_len),
            properties,
        });
        pos += total;
    }
    Ok(out)
}

/// Encodes a SEND_BATCH_MESSAGE body (tests and tools).
pub fn encode_batch(msgs: &[BatchMessage], out: &mut BytesMut) {
    for m in msgs {
        let total = 4 + 4 + 4 + 4 + 4 + m.body.len() + 2 + m.properties.len();
        out.put_i32(total as i32);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(m.flag);
        out.put_i32(m.body.len() as i32);
        out.put_slice(&m.body);
        out.put_i16(m.properties.len() as i16);
        out.put_slice(m.properties.as_bytes());
    }
}
