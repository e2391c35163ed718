//! RocketMQ stored message → Kafka record batch.

use bytes::Bytes;
use rokka_protocols::kafka::records::{build_v2_batch, Record};
use rokka_protocols::remoting::message::{decode_message, decode_properties, MessageExt};

use super::{FormatError, HIDDEN_PROPERTIES, PROP_KEYS};

/// The Kafka view of a RocketMQ message.
///
/// * key: the KEYS property verbatim (several keys stay one space-separated
///   string), `None` without KEYS;
/// * value: the body, decompressed when sysFlag bit 0 is set (zlib, or the
///   5.x LZ4 / ZSTD types in bits 8–10); a body that does not decompress is
///   passed as stored;
/// * timestamp: bornTimestamp (the batch is CreateTime);
/// * headers: every other property in stored order, name and value as UTF-8
///   bytes, except [`HIDDEN_PROPERTIES`]; a name repeated in the properties
///   appears once, with its last value (what RocketMQ clients see).
pub fn message_to_record(m: &MessageExt) -> Record {
    let props = decode_properties(&m.properties);
    let mut key = None;
    let mut headers = Vec::new();
    for (i, (name, value)) in props.iter().enumerate() {
        if props[i + 1..].iter().any(|(n, _)| n == name) {
            continue;
        }
        if *name == PROP_KEYS {
            key = Some(Bytes::copy_from_slice(value.as_bytes()));
        } else if !HIDDEN_PROPERTIES.contains(name) {
            headers.push((
                Bytes::copy_from_slice(name.as_bytes()),
                Some(Bytes::copy_from_slice(value.as_bytes())),
            ));
        }
    }
    let value = m.uncompressed_body().unwrap_or_else(|_| m.body.clone());
    Record {
        timestamp: m.born_timestamp,
        key,
        value: Some(value),
        headers,
    }
}

/// Converts one stored RocketMQ entry (the CommitLog bytes) to an
/// uncompressed v2 batch of one record with baseOffset = its queue offset.
pub fn rocketmq_entry_to_batch(entry: &Bytes) -> Result<Bytes, FormatError> {
    let (m, _) = decode_message(entry).map_err(|_| FormatError("bad RocketMQ stored message"))?;
    Ok(build_v2_batch(m.queue_offset, &[message_to_record(&m)]))
}
