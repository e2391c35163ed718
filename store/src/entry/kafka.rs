//! A Kafka record batch (v2) behind the store's own header. The batch bytes are
//! kept as the producer sent them (compressed if they came compressed); only
//! `baseOffset`, outside the batch CRC, is set to the first logical offset.
//!
//! ```text
//!  off  size  field
//!  0    4     totalSize
//!  4    4     magic            0x524B4232 ("RKB2")
//!  8    4     crc32c           over bytes 12..totalSize
//!  12   4     queueId
//!  16   8     queueOffset      = the batch's baseOffset
//!  24   8     physicalOffset
//!  32   8     storeTimestamp   ms
//!  40   4     recordCount
//!  44   4     extLength
//!  48   1     topicLength, topic
//!  ..         ext: i32 keyCount, keyCount × (i32 recordIndex, i16 len, key),
//!                  i32 tagCount (0 or recordCount), tagCount × i64 tagsCode
//!  ..         the v2 record batch, to the end of the entry
//! ```

use super::{read_i16, read_i32, read_i64, EntryKind, EntryMeta, Invalid, KafkaBatch};

/// Magic of a Kafka batch entry.
pub const MAGIC: i32 = 0x524B_4232;
const HEADER_LEN: usize = 48;
/// Smallest v2 batch: the 61-byte batch header.
pub const BATCH_HEADER_LEN: usize = 61;

/// Checks the batch header fields the store relies on; returns the record count.
pub fn check_batch(batch: &KafkaBatch) -> Result<u32, &'static str> {
    let b = &batch.batch;
    if b.len() < BATCH_HEADER_LEN {
        return Err("record batch shorter than its header");
    }
    if b[16] != 2 {
        return Err("record batch magic is not 2");
    }
    if read_i32(b, 8) != Some((b.len() - 12) as i32) {
        return Err("record batch length does not match its bytes");
    }
    let count = read_i32(b, 57).unwrap_or(0);
    if count <= 0 {
        return Err("record batch has no records");
    }
    if read_i32(b, 23) != Some(count - 1) {
        return Err("record batch lastOffsetDelta is not recordCount - 1");
    }
    if !batch.tags_codes.is_empty() && batch.tags_codes.len() != count as usize {
        return Err("tags codes must be empty or one per record");
    }
    for (idx, key) in &batch.index_keys {
        if *idx >= count as u32 || key.len() > i16::MAX as usize {
            return Err("index key out of range");
        }
    }
    Ok(count as u32)
}

fn ext_len(batch: &KafkaBatch) -> usize {
    4 + batch
        .index_keys
        .iter()
        .map(|(_, k)| 6 + k.len())
        .sum::<usize>()
        + 4
        + 8 * batch.tags_codes.len()
}

/// Bytes the entry for `batch` takes in the CommitLog.
pub fn encoded_len(batch: &KafkaBatch, topic_len: usize) -> usize {
    HEADER_LEN + 1 + topic_len + ext_len(batch) + batch.batch.len()
}

/// Encodes the entry into `out` (exactly `encoded_len` bytes): header, ext,
/// the batch with `baseOffset` set, then the CRC. No allocation.
pub fn encode(out: &mut [u8], batch: &KafkaBatch, p: &super::rocketmq::Placement<'_>, count: u32) {
    let total = out.len() as i32;
    let mut at = 0;
    let mut put = |b: &[u8]| {
        out[at..at + b.len()].copy_from_slice(b);
        at += b.len();
    };
    put(&total.to_be_bytes());
    put(&MAGIC.to_be_bytes());
    put(&[0; 4]);
    put(&(p.queue_id as i32).to_be_bytes());
    put(&(p.queue_offset as i64).to_be_bytes());
    put(&(p.phy_offset as i64).to_be_bytes());
    put(&p.store_timestamp.to_be_bytes());
    put(&(count as i32).to_be_bytes());
    put(&(ext_len(batch) as i32).to_be_bytes());
    put(&[p.topic.len() as u8]);
    put(p.topic);
    put(&(batch.index_keys.len() as i32).to_be_bytes());
    for (idx, key) in &batch.index_keys {
        put(&(*idx as i32).to_be_bytes());
        put(&(key.len() as i16).to_be_bytes());
        put(key);
    }
    put(&(batch.tags_codes.len() as i32).to_be_bytes());
    for t in &batch.tags_codes {
        put(&t.to_be_bytes());
    }
    put(&batch.batch);
    let batch_at = out.len() - batch.batch.len();
    out[batch_at..batch_at + 8].copy_from_slice(&(p.queue_offset as i64).to_be_bytes());
    let crc = crc32c::crc32c(&out[12..]);
    out[8..12].copy_from_slice(&crc.to_be_bytes());
}

/// A validated stored batch, borrowing the CommitLog bytes.
#[derive(Debug, Clone, Copy)]
pub struct StoredBatch<'a> {
    buf: &'a [u8],
    topic: (usize, usize),
    ext: (usize, usize),
}

impl<'a> StoredBatch<'a> {
    /// Views an entry the writer has just encoded (no CRC check).
    pub(crate) fn parse_trusted(buf: &'a [u8]) -> Self {
        let phy = read_i64(buf, 24).unwrap_or(0) as u64;
        Self::parse_inner(buf, phy, false).expect("freshly encoded entry parses")
    }

    /// Validates the entry in `buf` (exactly `totalSize` bytes) found at `phy`.
    pub(crate) fn parse(buf: &'a [u8], phy: u64) -> Result<Self, Invalid> {
        Self::parse_inner(buf, phy, true)
    }

    fn parse_inner(buf: &'a [u8], phy: u64, verify: bool) -> Result<Self, Invalid> {
        let bad = Invalid::Corrupt;
        if buf.len() < HEADER_LEN + 1 {
            return Err(bad("truncated batch header"));
        }
        if verify && crc32c::crc32c(&buf[12..]) != read_i32(buf, 8).unwrap_or(0) as u32 {
            return Err(bad("batch entry CRC mismatch"));
        }
        if read_i64(buf, 24) != Some(phy as i64) {
            return Err(bad("physical offset does not match the position"));
        }
        let topic_len = buf[HEADER_LEN] as usize;
        let topic = (HEADER_LEN + 1, HEADER_LEN + 1 + topic_len);
        let ext_len = read_i32(buf, 44).unwrap_or(-1);
        if ext_len < 8 {
            return Err(bad("bad ext length"));
        }
        let ext = (topic.1, topic.1 + ext_len as usize);
        if ext.1 + BATCH_HEADER_LEN > buf.len() {
            return Err(bad("ext overruns the entry"));
        }
        let s = StoredBatch { buf, topic, ext };
        if std::str::from_utf8(&buf[topic.0..topic.1]).is_err() || s.record_count() == 0 {
            return Err(bad("bad topic or record count"));
        }
        if read_i64(s.batch(), 0) != Some(s.queue_offset() as i64) {
            return Err(bad("batch base offset does not match the queue offset"));
        }
        Ok(s)
    }

    /// The whole entry.
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }
    /// The stored v2 record batch (what a Kafka fetch returns).
    pub fn batch(&self) -> &'a [u8] {
        &self.buf[self.ext.1..]
    }
    /// Offset of the batch within the entry.
    pub fn batch_offset(&self) -> usize {
        self.ext.1
    }
    /// Queue id.
    pub fn queue_id(&self) -> u32 {
        read_i32(self.buf, 12).unwrap_or(0) as u32
    }
    /// First logical offset (= baseOffset).
    pub fn queue_offset(&self) -> u64 {
        read_i64(self.buf, 16).unwrap_or(0) as u64
    }
    /// Store timestamp, ms.
    pub fn store_timestamp(&self) -> i64 {
        read_i64(self.buf, 32).unwrap_or(0)
    }
    /// Records in the batch.
    pub fn record_count(&self) -> u32 {
        read_i32(self.buf, 40).unwrap_or(0).max(0) as u32
    }
    /// Topic name.
    pub fn topic(&self) -> &'a str {
        std::str::from_utf8(&self.buf[self.topic.0..self.topic.1]).unwrap_or("")
    }
    /// `(record index, key)` pairs recorded for the index.
    pub fn index_keys(&self) -> impl Iterator<Item = (u32, &'a [u8])> {
        let ext = &self.buf[self.ext.0..self.ext.1];
        let n = read_i32(ext, 0).unwrap_or(0).max(0) as usize;
        let mut at = 4;
        (0..n).map_while(move |_| {
            let idx = read_i32(ext, at)? as u32;
            let len = read_i16(ext, at + 4)?.max(0) as usize;
            let key = ext.get(at + 6..at + 6 + len)?;
            at += 6 + len;
            Some((idx, key))
        })
    }
    /// Tags codes per record (empty when none were given).
    pub fn tags_codes(&self) -> impl Iterator<Item = i64> + 'a {
        let ext = &self.buf[self.ext.0..self.ext.1];
        let n = read_i32(ext, 0).unwrap_or(0).max(0) as usize;
        let mut at = 4;
        for _ in 0..n {
            // A keyCount larger than the ext can hold ends here, not after
            // 2^31 empty steps.
            if at + 6 > ext.len() {
                break;
            }
            at += 6 + read_i16(ext, at + 4).unwrap_or(0).max(0) as usize;
        }
        let tags = read_i32(ext, at).unwrap_or(0).max(0) as usize;
        (0..tags).map_while(move |i| read_i64(ext, at + 4 + 8 * i))
    }

    /// Tags code of record `i` (0 when none were given).
    pub fn tags_code(&self, i: u32) -> i64 {
        self.tags_codes().nth(i as usize).unwrap_or(0)
    }

    pub(crate) fn meta(&self) -> EntryMeta {
        EntryMeta {
            kind: EntryKind::KafkaBatch,
            total_size: self.buf.len() as u32,
            queue_id: self.queue_id(),
            queue_offset: self.queue_offset(),
            phy_offset: read_i64(self.buf, 24).unwrap_or(0) as u64,
            store_timestamp: self.store_timestamp(),
            count: self.record_count(),
        }
    }
}

/// Byte range of the v2 record batch inside a stored Kafka batch entry (what
/// a Kafka fetch returns without re-encoding); `None` if `entry` is too short.
pub fn batch_range(entry: &[u8]) -> Option<std::ops::Range<usize>> {
    let topic_len = *entry.get(HEADER_LEN)? as usize;
    let ext_len = usize::try_from(read_i32(entry, 44)?).ok()?;
    let start = HEADER_LEN + 1 + topic_len + ext_len;
    (start + BATCH_HEADER_LEN <= entry.len()).then_some(start..entry.len())
}

/// Builds a minimal uncompressed v2 batch of `values` (no keys, no headers);
/// for tests and benches of the store.
pub fn test_batch(values: &[&[u8]]) -> bytes::Bytes {
    let mut records = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let mut rec = vec![0u8]; // attributes
        put_varint(&mut rec, 0); // timestamp delta
        put_varint(&mut rec, i as i64); // offset delta
        put_varint(&mut rec, -1); // null key
        put_varint(&mut rec, v.len() as i64);
        rec.extend_from_slice(v);
        put_varint(&mut rec, 0); // headers
        put_varint(&mut records, rec.len() as i64);
        records.extend_from_slice(&rec);
    }
    let mut b = Vec::with_capacity(BATCH_HEADER_LEN + records.len());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&((BATCH_HEADER_LEN - 12 + records.len()) as i32).to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // leader epoch
    b.push(2);
    b.extend_from_slice(&[0; 4]); // crc, below
    b.extend_from_slice(&0i16.to_be_bytes());
    b.extend_from_slice(&(values.len() as i32 - 1).to_be_bytes());
    b.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
    b.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&(values.len() as i32).to_be_bytes());
    b.extend_from_slice(&records);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    bytes::Bytes::from(b)
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

#[cfg(test)]
mod tests {
    use super::super::rocketmq::Placement;
    use super::*;
    use bytes::Bytes;

    #[test]
    fn encode_then_parse_keeps_the_batch_and_sets_the_base_offset() {
        let kb = KafkaBatch {
            batch: test_batch(&[b"a", b"bb", b"ccc"]),
            index_keys: vec![
                (0, Bytes::from_static(b"k0")),
                (2, Bytes::from_static(b"k2")),
            ],
            tags_codes: vec![1, 2, 3],
        };
        let count = check_batch(&kb).unwrap();
        assert_eq!(count, 3);
        let len = encoded_len(&kb, 2);
        let mut buf = vec![0u8; len];
        let p = Placement {
            topic: b"kt",
            queue_id: 1,
            queue_offset: 100,
            phy_offset: 777,
            store_timestamp: 9,
            store_host: "127.0.0.1:1".parse().unwrap(),
        };
        encode(&mut buf, &kb, &p, count);
        let s = StoredBatch::parse(&buf, 777).unwrap();
        assert_eq!(s.queue_offset(), 100);
        assert_eq!(s.record_count(), 3);
        assert_eq!(s.topic(), "kt");
        assert_eq!(&s.batch()[8..], &kb.batch[8..]);
        assert_eq!(read_i64(s.batch(), 0), Some(100));
        let keys: Vec<_> = s.index_keys().collect();
        assert_eq!(keys, vec![(0, &b"k0"[..]), (2, &b"k2"[..])]);
        assert_eq!((s.tags_code(0), s.tags_code(2), s.tags_code(3)), (1, 3, 0));
        buf[len - 1] ^= 0xFF;
        assert!(StoredBatch::parse(&buf, 777).is_err());
    }

    #[test]
    fn batch_range_finds_the_stored_batch() {
        let kb = KafkaBatch {
            batch: test_batch(&[b"a", b"bb"]),
            index_keys: vec![(1, Bytes::from_static(b"key"))],
            tags_codes: vec![],
        };
        let count = check_batch(&kb).unwrap();
        let mut buf = vec![0u8; encoded_len(&kb, 3)];
        let p = Placement {
            topic: b"top",
            queue_id: 0,
            queue_offset: 5,
            phy_offset: 0,
            store_timestamp: 1,
            store_host: "127.0.0.1:1".parse().unwrap(),
        };
        encode(&mut buf, &kb, &p, count);
        let r = batch_range(&buf).unwrap();
        assert_eq!(r.start, StoredBatch::parse(&buf, 0).unwrap().batch_offset());
        assert_eq!(&buf[r.start + 8..], &kb.batch[8..]);
        assert_eq!(batch_range(&buf[..60]), None);
    }

    #[test]
    fn check_batch_refuses_inconsistent_headers() {
        let mut kb = KafkaBatch {
            batch: test_batch(&[b"a"]),
            index_keys: vec![],
            tags_codes: vec![],
        };
        assert_eq!(check_batch(&kb), Ok(1));
        let mut raw = kb.batch.to_vec();
        raw[16] = 1;
        kb.batch = Bytes::from(raw);
        assert!(check_batch(&kb).is_err());
        kb.batch = Bytes::from_static(&[0; 20]);
        assert!(check_batch(&kb).is_err());
    }
}
