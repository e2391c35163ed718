//! Kafka record batch → RocketMQ stored messages, and the index keys and
//! tags codes stored with a Kafka-produced batch.

use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use rokka_protocols::kafka::records::{decode_v2_records_with_deltas, Record, ValidBatch};
use rokka_store::entry::kafka::batch_range;
use rokka_store::entry::rocketmq::{self, Placement};
use rokka_store::{java_string_hash, MessageToStore, StoredEntry};

use super::{FormatError, PROP_KEYS, TAGS_HEADER};

/// Born host of Kafka-produced messages (the producer address is not kept).
pub const UNKNOWN_BORN_HOST: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
/// Largest properties string a stored message can carry.
const MAX_PROPERTIES: usize = i16::MAX as usize;

/// One record of a Kafka batch as a RocketMQ stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The record's offset (= its queue offset).
    pub queue_offset: u64,
    /// Tags code of the record (0 without a `TAGS` header).
    pub tags_code: i64,
    /// The stored-message layout, as a pull body element.
    pub bytes: Bytes,
}

fn prop_ok(s: &[u8]) -> bool {
    !s.is_empty()
        && !s.contains(&rocketmq::NAME_VALUE_SEPARATOR)
        && !s.contains(&rocketmq::PROPERTY_SEPARATOR)
        && std::str::from_utf8(s).is_ok()
}

fn push_prop(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    if !prop_ok(name) || !prop_ok(value) {
        return;
    }
    let sep = usize::from(!out.is_empty());
    if out.len() + sep + name.len() + 1 + value.len() > MAX_PROPERTIES {
        return;
    }
    if sep == 1 {
        out.push(rocketmq::PROPERTY_SEPARATOR);
    }
    out.extend_from_slice(name);
    out.push(rocketmq::NAME_VALUE_SEPARATOR);
    out.extend_from_slice(value);
}

/// The RocketMQ properties of a record: `KEYS` = the key, then one property
/// per header in order. Skipped: a null or empty key or value, a name or
/// value that is not UTF-8 or contains the separators U+0001/U+0002, a
/// header named `KEYS` (the key is KEYS), and whatever would make the
/// properties exceed 32767 bytes. Duplicate names are all kept; RocketMQ
/// readers see the last.
pub fn record_properties(r: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(k) = &r.key {
        push_prop(&mut out, PROP_KEYS.as_bytes(), k);
    }
    for (name, value) in &r.headers {
        if &name[..] == PROP_KEYS.as_bytes() {
            continue;
        }
        if let Some(v) = value {
            push_prop(&mut out, name, v);
        }
    }
    out
}

/// Tags code of a record: Java hash of its last non-empty UTF-8 `TAGS`
/// header, sign-extended (as the ConsumeQueue stores it); 0 without one.
pub fn record_tags_code(r: &Record) -> i64 {
    r.headers
        .iter()
        .rev()
        .filter(|(n, _)| &n[..] == TAGS_HEADER.as_bytes())
        .find_map(|(_, v)| {
            let v = v.as_deref().filter(|v| prop_ok(v))?;
            std::str::from_utf8(v).ok()
        })
        .map_or(0, |t| java_string_hash(t) as i64)
}

/// The message a record becomes: body = value (null → empty), bornTimestamp
/// = record timestamp, flag 0, sysFlag 0 (never compressed), born host
/// [`UNKNOWN_BORN_HOST`], properties from [`record_properties`].
pub fn record_to_message(r: &Record) -> MessageToStore {
    MessageToStore {
        flag: 0,
        body: r.value.clone().unwrap_or_default(),
        sys_flag: 0,
        born_timestamp: r.timestamp,
        born_host: UNKNOWN_BORN_HOST,
        reconsume_times: 0,
        prepared_tx_offset: 0,
        properties: Bytes::from(record_properties(r)),
    }
}

/// Where a stored batch sits.
#[derive(Debug, Clone, Copy)]
pub struct BatchPlace<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Queue id.
    pub queue_id: u32,
    /// Offset of the first record.
    pub base_offset: u64,
    /// CommitLog offset `P` of the batch entry; record `i` is given the
    /// physical offset `P + i`, so each record has its own offset message id
    /// (`P + i` lies inside the entry, which is longer than its record count).
    pub phy_offset: u64,
    /// Store timestamp of the entry.
    pub store_timestamp: i64,
    /// The broker's address.
    pub store_host: SocketAddr,
}

/// One stored message per record of the v2 `batch` (decompressed whatever
/// its codec); the record at offset delta `i` gets queue offset `base_offset + i` and physical
/// offset `phy_offset + i`. A control batch (transaction marker) gives
/// nothing.
pub fn batch_to_messages(batch: &[u8], p: &BatchPlace<'_>) -> Result<Vec<Converted>, FormatError> {
    let attrs = i16::from_be_bytes(
        batch
            .get(21..23)
            .and_then(|b| b.try_into().ok())
            .ok_or(FormatError("short record batch"))?,
    );
    if attrs & 0x20 != 0 {
        return Ok(Vec::new());
    }
    if p.topic.is_empty() || p.topic.len() > 127 {
        return Err(FormatError("bad topic"));
    }
    let records =
        decode_v2_records_with_deltas(batch).map_err(|_| FormatError("bad record batch"))?;
    let mut out = Vec::with_capacity(records.len());
    // Offsets come from the offset deltas: a compacted batch has gaps.
    for (delta, r) in &records {
        let i = u64::try_from(*delta).map_err(|_| FormatError("bad offset delta"))?;
        let msg = record_to_message(r);
        let place = Placement {
            topic: p.topic.as_bytes(),
            queue_id: p.queue_id,
            queue_offset: p.base_offset + i,
            phy_offset: p.phy_offset + i,
            store_timestamp: p.store_timestamp,
            store_host: p.store_host,
        };
        let mut buf = vec![0u8; rocketmq::encoded_len(&msg, p.topic.len(), &p.store_host)];
        rocketmq::encode(&mut buf, &msg, &place);
        out.push(Converted {
            queue_offset: place.queue_offset,
            tags_code: record_tags_code(r),
            bytes: Bytes::from(buf),
        });
    }
    Ok(out)
}

/// [`batch_to_messages`] for a Kafka batch entry read from the store (queue
/// id and topic from the entry header, see `rokka_store::entry::kafka`).
pub fn kafka_entry_to_messages(
    e: &StoredEntry,
    store_host: SocketAddr,
) -> Result<Vec<Converted>, FormatError> {
    let b = &e.bytes;
    let range = batch_range(b).ok_or(FormatError("short batch entry"))?;
    let queue_id = b
        .get(12..16)
        .and_then(|x| x.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or(FormatError("short batch entry"))?;
    let topic_len = usize::from(b[48]);
    let topic = b
        .get(49..49 + topic_len)
        .and_then(|t| std::str::from_utf8(t).ok())
        .ok_or(FormatError("bad topic"))?;
    batch_to_messages(
        &b[range],
        &BatchPlace {
            topic,
            queue_id,
            base_offset: e.queue_offset,
            phy_offset: e.phy_offset,
            store_timestamp: e.store_timestamp,
            store_host,
        },
    )
}

/// The message of the record a CommitLog offset names: `phy` is `P + i` for
/// record `i` of the Kafka batch entry `e` stored at `P` (see
/// [`BatchPlace::phy_offset`]). `None` when `phy` is outside
/// `P .. P + recordCount`, for a control batch, or when the batch does not
/// decode.
pub fn kafka_record_at(e: &StoredEntry, phy: u64, store_host: SocketAddr) -> Option<Converted> {
    let i = phy.checked_sub(e.phy_offset)?;
    if i >= u64::from(e.count) {
        return None;
    }
    kafka_entry_to_messages(e, store_host)
        .ok()?
        .into_iter()
        .find(|m| m.queue_offset == e.queue_offset + i)
}

/// What the Kafka produce path stores with a batch for RocketMQ readers:
/// index keys (each space-separated word of each record key, as RocketMQ
/// indexes KEYS) and the per-record tags codes (empty when no record has a
/// usable `TAGS` header). Uses what validation already collected, so the
/// batch is not decoded a second time.
pub fn produce_index(batch: &ValidBatch) -> (Vec<(u32, Bytes)>, Vec<i64>) {
    let mut index = Vec::new();
    for (i, k) in &batch.keys {
        let mut at = 0;
        for word in k.split(|b| *b == b' ') {
            if !word.is_empty() {
                index.push((*i, k.slice(at..at + word.len())));
            }
            at += word.len() + 1;
        }
    }
    let mut codes = Vec::new();
    // Header order: the last usable `TAGS` value of a record wins, as in
    // `record_tags_code`.
    for (i, v) in &batch.tag_headers {
        let Some(tag) = Some(&v[..])
            .filter(|v| prop_ok(v))
            .and_then(|v| std::str::from_utf8(v).ok())
        else {
            continue;
        };
        if codes.is_empty() {
            codes = vec![0; batch.count as usize];
        }
        if let Some(c) = codes.get_mut(*i as usize) {
            *c = java_string_hash(tag) as i64;
        }
    }
    (index, codes)
}

/// True if converted message `m` has `key` among the words of its KEYS
/// (QUERY_MESSAGE on a Kafka batch: keep only the records that match).
pub fn has_key(m: &Converted, key: &str) -> bool {
    rokka_protocols::remoting::message::decode_message(&m.bytes).is_ok_and(|(msg, _)| {
        msg.property(PROP_KEYS)
            .is_some_and(|k| k.split(' ').any(|w| w == key))
    })
}
