//! The entries of the CommitLog, told apart by the magic code at bytes 4..8:
//!
//! * [`rocketmq`]: a RocketMQ message in the stored-message layout (magic V1
//!   `0xDAA320A7`), byte-identical to an element of a PULL_MESSAGE body;
//! * [`kafka`]: a Kafka record batch (v2) behind a small store header;
//! * the blank filler (`0xCBD43194`) that pads the tail of a segment.
//!
//! Every entry starts with `totalSize: i32` (the whole entry) and the magic.

pub mod kafka;
pub mod rocketmq;
#[cfg(feature = "internals")]
pub mod walk;

use std::net::SocketAddr;

use bytes::Bytes;

/// Magic of the blank filler at the end of a segment (RocketMQ `BLANK_MAGIC_CODE`).
pub const BLANK_MAGIC: i32 = 0xCBD4_3194_u32 as i32;
/// Room always kept at the end of a segment for the blank filler.
pub const BLANK_MIN_LEN: u64 = 8;

/// Which layout an entry has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A RocketMQ stored message.
    RocketMq,
    /// A Kafka record batch with its store header.
    KafkaBatch,
}

/// One RocketMQ message as a producer sent it (SEND_MESSAGE fields).
#[derive(Debug, Clone)]
pub struct MessageToStore {
    /// User flag (`flag`).
    pub flag: i32,
    /// Body as it will be stored (possibly zlib-compressed, sysFlag bit 0).
    pub body: Bytes,
    /// sysFlag; the store sets the IPv6 host bits itself.
    pub sys_flag: i32,
    /// Producer's timestamp, ms.
    pub born_timestamp: i64,
    /// Producer's socket address.
    pub born_host: SocketAddr,
    /// Times this message was consumed and sent back.
    pub reconsume_times: i32,
    /// CommitLog offset of the prepared half message (transactions), else 0.
    pub prepared_tx_offset: i64,
    /// Properties, encoded `name\x01value\x02...` (RocketMQ §8.3), at most 32767 bytes.
    pub properties: Bytes,
}

/// One Kafka record batch (magic 2) to store as received.
#[derive(Debug, Clone)]
pub struct KafkaBatch {
    /// The whole v2 batch from `baseOffset` on; the store overwrites `baseOffset`.
    pub batch: Bytes,
    /// `(record index within the batch, key)` pairs to put in the IndexFile.
    pub index_keys: Vec<(u32, Bytes)>,
    /// Tags code per record (for tag filtering), or empty for all zero.
    pub tags_codes: Vec<i64>,
}

/// What to append.
#[derive(Debug, Clone)]
pub enum AppendPayload {
    /// One RocketMQ message.
    Message(MessageToStore),
    /// Several RocketMQ messages for one queue (SEND_BATCH_MESSAGE), stored
    /// as consecutive entries with consecutive queue offsets.
    Messages(Vec<MessageToStore>),
    /// One Kafka record batch.
    Kafka(KafkaBatch),
}

/// An append to one (topic, queue id).
#[derive(Debug, Clone)]
pub struct AppendRequest {
    /// Topic name: 1..=127 bytes of UTF-8, no path separators.
    pub topic: Bytes,
    /// Queue id / partition.
    pub queue_id: u32,
    /// The entry or entries.
    pub payload: AppendPayload,
}

/// Where an append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// CommitLog offset of the first entry written.
    pub phy_offset: u64,
    /// ConsumeQueue offset of the first message/record.
    pub queue_offset: u64,
    /// Messages/records appended (logical offsets used).
    pub count: u32,
    /// Store timestamp, ms.
    pub store_timestamp: i64,
    /// Bytes written to the CommitLog.
    pub bytes: u32,
}

/// Fields every entry kind exposes to the dispatcher, recovery and readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryMeta {
    pub kind: EntryKind,
    pub total_size: u32,
    pub queue_id: u32,
    pub queue_offset: u64,
    pub phy_offset: u64,
    pub store_timestamp: i64,
    pub count: u32,
}

/// Why bytes at a position are not a valid entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// `totalSize` is 0: nothing was ever written here.
    Empty,
    /// Anything else: torn, corrupt or foreign bytes.
    Corrupt(&'static str),
}

/// What a scan finds at a position.
#[derive(Debug)]
pub(crate) enum Scanned<'a> {
    /// The blank filler: continue at the next segment.
    Blank,
    /// A RocketMQ message.
    RocketMq(rocketmq::StoredMessage<'a>),
    /// A Kafka batch.
    Kafka(kafka::StoredBatch<'a>),
}

impl Scanned<'_> {
    pub(crate) fn meta(&self) -> Option<EntryMeta> {
        match self {
            Scanned::Blank => None,
            Scanned::RocketMq(m) => Some(m.meta()),
            Scanned::Kafka(b) => Some(b.meta()),
        }
    }
}

/// Reads the entry that starts at `buf[0]`, `phy` being its CommitLog offset,
/// and validates it completely (length, magic, CRC, offsets).
/// Readers use it too: the CRC catches bit rot, and streaming through the
/// entry measured faster than skipping it (BENCHMARKS.md, read).
pub(crate) fn scan(buf: &[u8], phy: u64) -> Result<Scanned<'_>, Invalid> {
    let total = read_i32(buf, 0).ok_or(Invalid::Corrupt("short header"))?;
    let magic = read_i32(buf, 4).ok_or(if total == 0 {
        Invalid::Empty
    } else {
        Invalid::Corrupt("short header")
    })?;
    if total == 0 && magic == 0 {
        return Err(Invalid::Empty);
    }
    if total <= 0 || total as usize > buf.len() {
        return Err(Invalid::Corrupt("entry length out of range"));
    }
    let entry = &buf[..total as usize];
    match magic {
        BLANK_MAGIC => {
            if total as usize == buf.len() {
                Ok(Scanned::Blank)
            } else {
                Err(Invalid::Corrupt(
                    "blank filler does not reach the end of the segment",
                ))
            }
        }
        rocketmq::MAGIC_V1 => rocketmq::StoredMessage::parse(entry, phy).map(Scanned::RocketMq),
        kafka::MAGIC => kafka::StoredBatch::parse(entry, phy).map(Scanned::Kafka),
        _ => Err(Invalid::Corrupt("unknown magic")),
    }
}

pub(crate) fn read_i32(buf: &[u8], at: usize) -> Option<i32> {
    buf.get(at..at + 4)
        .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

pub(crate) fn read_i64(buf: &[u8], at: usize) -> Option<i64> {
    let b = buf.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(i64::from_be_bytes(a))
}

pub(crate) fn read_i16(buf: &[u8], at: usize) -> Option<i16> {
    buf.get(at..at + 2)
        .map(|b| i16::from_be_bytes([b[0], b[1]]))
}

/// Topic names the store accepts: they become directory names.
pub(crate) fn check_topic(topic: &[u8]) -> Result<&str, &'static str> {
    let t = std::str::from_utf8(topic).map_err(|_| "topic is not UTF-8")?;
    if t.is_empty() || t.len() > 127 {
        return Err("topic must be 1..=127 bytes");
    }
    if t == "." || t == ".." || t.bytes().any(|b| b == b'/' || b == b'\\' || b == 0) {
        return Err("topic contains a path separator or NUL");
    }
    Ok(t)
}
