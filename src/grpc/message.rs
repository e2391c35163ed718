//! Between the API's `Message` and the stored RocketMQ record: system
//! properties map to the property names the remoting clients use (`TAGS`,
//! `KEYS`, `UNIQ_KEY`, `__SHARDINGKEY` for the message group,
//! `TIMER_DELIVER_MS` for the delivery time), user properties are kept as
//! they are, so both kinds of client (and Kafka headers, ADR 004) see the
//! same message.

use bytes::Bytes;
use prost_types::{Duration, Timestamp};
use rokka_protocols::remoting::message::{decode_message, decode_properties, MessageExt};

use super::handle::Receipt;
use super::pb::{self, Code};
use super::Failure;

pub(crate) const TAGS: &str = "TAGS";
pub(crate) const KEYS: &str = "KEYS";
pub(crate) const UNIQ_KEY: &str = "UNIQ_KEY";
pub(crate) const SHARDING_KEY: &str = "__SHARDINGKEY";
pub(crate) const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";

/// Properties the broker or the SDKs own: never shown as user properties.
const SYSTEM: &[&str] = &[
    TAGS,
    KEYS,
    UNIQ_KEY,
    SHARDING_KEY,
    TIMER_DELIVER_MS,
    "TIMER_DELAY_SEC",
    "TIMER_DELAY_MS",
    "TIMER_OUT_MS",
    "WAIT",
    "DELAY",
    "CLUSTER",
    "TRAN_MSG",
    "PGROUP",
    "REAL_TOPIC",
    "REAL_QID",
    "RETRY_TOPIC",
    "ORIGIN_MESSAGE_ID",
    "POP_CK",
    "MIN_OFFSET",
    "MAX_OFFSET",
    "TRACE_ON",
    "MSG_REGION",
    "CHECK_IMMUNITY_TIME_IN_SECONDS",
    "TRANSACTION_CHECK_TIMES",
    "CONSUME_START_TIME",
    "__transactionId__",
];

pub(crate) fn timestamp(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

pub(crate) fn timestamp_ms(t: &Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos) / 1_000_000)
}

pub(crate) fn duration(ms: i64) -> Duration {
    Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// Longest invisible duration accepted (upstream proxy's 12 h).
pub(crate) const MAX_INVISIBLE_MS: i64 = 12 * 3600 * 1000;

/// An invisible duration in ms, checked: positive and at most 12 h.
pub(crate) fn invisible_ms(d: Option<&Duration>, default: i64) -> Result<i64, Failure> {
    let ms = d.map_or(default, duration_ms);
    if ms <= 0 || ms > MAX_INVISIBLE_MS {
        return Err(Failure::new(
            Code::IllegalInvisibleTime,
            format!("the invisible duration must be 1 ms to {MAX_INVISIBLE_MS} ms, got {ms}"),
        ));
    }
    Ok(ms)
}

pub(crate) fn duration_ms(d: &Duration) -> i64 {
    d.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(d.nanos) / 1_000_000)
}

/// A message to send, checked and flattened to RocketMQ properties.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) topic: String,
    pub(crate) message_id: String,
    pub(crate) group: Option<String>,
    pub(crate) kind: pb::MessageType,
    pub(crate) born_timestamp: i64,
    /// `(key, value)` pairs, system properties included.
    pub(crate) properties: Vec<(String, String)>,
    pub(crate) body: Bytes,
}

/// Checks one message of a SendMessage request.
pub(crate) fn outgoing(m: pb::Message) -> Result<Outgoing, Failure> {
    let topic = super::name(m.topic.as_ref())?.to_owned();
    let sys = m
        .system_properties
        .ok_or_else(|| Failure::bad("system_properties is required"))?;
    if sys.body_encoding == pb::Encoding::Gzip as i32 {
        return Err(Failure::new(
            Code::Unsupported,
            "GZIP-encoded bodies are not supported; send the body uncompressed",
        ));
    }
    if m.body.is_empty() {
        return Err(Failure::new(
            Code::MessageBodyEmpty,
            "the message body is empty",
        ));
    }
    let mut properties: Vec<(String, String)> = Vec::with_capacity(m.user_properties.len() + 4);
    for (k, v) in m.user_properties {
        if SYSTEM.contains(&k.as_str())
            || k.contains(['\u{1}', '\u{2}'])
            || v.contains(['\u{1}', '\u{2}'])
        {
            return Err(Failure::new(
                Code::IllegalMessagePropertyKey,
                format!("property {k:?} is reserved or contains a separator character"),
            ));
        }
        properties.push((k, v));
    }
    let clean = |what: Code, s: &str| {
        if s.contains(['\u{1}', '\u{2}']) {
            Err(Failure::new(
                what,
                format!("{s:?} contains a separator character"),
            ))
        } else {
            Ok(())
        }
    };
    if let Some(tag) = sys.tag.as_deref().filter(|t| !t.is_empty()) {
        clean(Code::IllegalMessageTag, tag)?;
        if tag.contains("||") {
            return Err(Failure::new(
                Code::IllegalMessageTag,
                "a tag must not contain ||",
            ));
        }
        properties.push((TAGS.into(), tag.into()));
    }
    if !sys.keys.is_empty() {
        for k in &sys.keys {
            clean(Code::IllegalMessageKey, k)?;
        }
        properties.push((KEYS.into(), sys.keys.join(" ")));
    }
    let group = sys.message_group.filter(|g| !g.is_empty());
    if let Some(g) = &group {
        clean(Code::IllegalMessageGroup, g)?;
        properties.push((SHARDING_KEY.into(), g.clone()));
    }
    clean(Code::IllegalMessageId, &sys.message_id)?;
    if !sys.message_id.is_empty() {
        properties.push((UNIQ_KEY.into(), sys.message_id.clone()));
    }
    let deliver_at = sys.delivery_timestamp.as_ref().map(timestamp_ms);
    if let Some(at) = deliver_at {
        properties.push((TIMER_DELIVER_MS.into(), at.to_string()));
    }
    let kind = pb::MessageType::try_from(sys.message_type).unwrap_or(pb::MessageType::Normal);
    if kind == pb::MessageType::Transaction {
        properties.push(("TRAN_MSG".into(), "true".into()));
        if let Some(d) = &sys.orphaned_transaction_recovery_duration {
            let secs = (duration_ms(d) / 1000).max(1);
            properties.push(("CHECK_IMMUNITY_TIME_IN_SECONDS".into(), secs.to_string()));
        }
    }
    Ok(Outgoing {
        topic,
        message_id: sys.message_id,
        group,
        kind,
        born_timestamp: sys.born_timestamp.as_ref().map_or(0, timestamp_ms),
        properties,
        body: m.body.into(),
    })
}

/// What a stored record was sent as.
fn kind_of(m: &MessageExt) -> pb::MessageType {
    if m.property(SHARDING_KEY).is_some() {
        pb::MessageType::Fifo
    } else if m.property("TRAN_MSG").is_some() {
        pb::MessageType::Transaction
    } else if m.property(TIMER_DELIVER_MS).is_some() || m.property("DELAY").is_some() {
        pb::MessageType::Delay
    } else {
        pb::MessageType::Normal
    }
}

/// A stored record as delivered by ReceiveMessage, with its receipt and
/// the number of deliveries of this copy before this one; without a
/// delivery for a transaction back-check.
pub(crate) fn incoming(
    stored: &Bytes,
    delivery: Option<(&Receipt, u32)>,
) -> Result<pb::Message, Failure> {
    let (m, _) =
        decode_message(stored).map_err(|e| Failure::new(Code::MessageCorrupted, e.to_string()))?;
    let body = m
        .uncompressed_body()
        .map_err(|e| Failure::new(Code::MessageCorrupted, e.to_string()))?;
    let props = decode_properties(&m.properties);
    let get = |k: &str| {
        props
            .iter()
            .rev()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    };
    let topic = get("RETRY_TOPIC")
        .or_else(|| get("REAL_TOPIC"))
        .unwrap_or_else(|| m.topic.clone());
    let user_properties = props
        .iter()
        .filter(|(k, _)| !SYSTEM.contains(k))
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let sys = pb::SystemProperties {
        tag: get(TAGS),
        keys: get(KEYS)
            .map(|k| {
                k.split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        message_id: get(UNIQ_KEY).unwrap_or_else(|| m.offset_msg_id()),
        body_digest: Some(pb::Digest {
            r#type: pb::DigestType::Crc32 as i32,
            checksum: format!("{:08X}", crc32fast::hash(&body)),
        }),
        body_encoding: pb::Encoding::Identity as i32,
        message_type: kind_of(&m) as i32,
        born_timestamp: Some(timestamp(m.born_timestamp)),
        born_host: m.born_host.ip().to_string(),
        store_timestamp: Some(timestamp(m.store_timestamp)),
        store_host: m.store_host.to_string(),
        delivery_timestamp: get(TIMER_DELIVER_MS)
            .and_then(|v| v.parse().ok())
            .map(timestamp),
        receipt_handle: delivery.map(|(r, _)| r.encode()),
        queue_id: delivery.map_or(m.queue_id, |(r, _)| r.queue as i32),
        queue_offset: Some(delivery.map_or(m.queue_offset, |(r, _)| r.offset as i64)),
        invisible_duration: delivery.map(|(r, _)| duration(r.invisible)),
        delivery_attempt: delivery.map(|(_, before)| before.saturating_add(1) as i32),
        message_group: get(SHARDING_KEY),
        trace_context: None,
        orphaned_transaction_recovery_duration: None,
        dead_letter_queue: None,
    };
    Ok(pb::Message {
        topic: Some(pb::Resource {
            resource_namespace: String::new(),
            name: topic,
        }),
        user_properties,
        system_properties: Some(sys),
        body: body.to_vec(),
    })
}
