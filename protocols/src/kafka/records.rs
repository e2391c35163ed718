//! Record formats (§3 of kafka-subset.md): validation of RecordBatch v2 and
//! conversion of MessageSet v0/v1 into an uncompressed v2 batch on write.
//!
//! ```text
//! RecordBatch v2                         Message v0/v1 (in a MessageSet)
//!  0 baseOffset i64                       0 offset i64
//!  8 batchLength i32                      8 messageSize i32
//! 12 partitionLeaderEpoch i32            12 crc u32 (CRC-32 of magic..end)
//! 16 magic i8 = 2                        16 magic i8 (0|1)
//! 17 crc u32 (CRC-32C of 21..end)        17 attributes i8 (codec in bits 0-2)
//! 21 attributes i16 (codec bits 0-2,     18 timestamp i64 (v1 only)
//!    txn bit 4, control bit 5)              key nbytes(i32), value nbytes(i32)
//! 23 lastOffsetDelta i32                  compressed: value = inner MessageSet
//! 27 baseTimestamp i64   35 maxTimestamp i64
//! 43 producerId i64  51 producerEpoch i16  53 baseSequence i32
//! 57 recordCount i32  61 records (compressed as a whole when codec != 0)
//! record: varint length, i8 attrs, varlong tsDelta, varint offsetDelta,
//!         varint keyLen + key, varint valueLen + value, varint headerCount,
//!         (varint keyLen + key, varint valueLen + value)*
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::compression::decompress;
use super::DecodeError;

/// Length of the v2 batch header.
pub const BATCH_HEADER_LEN: usize = 61;
/// Largest nesting of compressed v0/v1 wrapper messages followed.
const MAX_DEPTH: u8 = 2;

/// A v2 batch that passed validation, ready to store as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidBatch {
    /// The batch bytes (zero-copy slice of the request).
    pub batch: Bytes,
    /// Records in the batch.
    pub count: u32,
    /// Non-empty record keys, by record index (for the store's key index).
    pub keys: Vec<(u32, Bytes)>,
    /// Values of [`TAGS_HEADER`] headers, by record index, in header order
    /// (the broker hashes them for tag filtering without decoding again).
    pub tag_headers: Vec<(u32, Bytes)>,
    /// Producer id (-1 if not idempotent).
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// First sequence number (-1 if not idempotent).
    pub base_sequence: i32,
}

/// The record header that carries a RocketMQ tag (see `docs/mapping.md`).
pub const TAGS_HEADER: &str = "TAGS";

/// One record decoded from any format.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Absolute timestamp, ms.
    pub timestamp: i64,
    /// Key (`None` = null).
    pub key: Option<Bytes>,
    /// Value (`None` = null).
    pub value: Option<Bytes>,
    /// Headers (key, value).
    pub headers: Vec<(Bytes, Option<Bytes>)>,
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn be_i64(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}
fn be_i16(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// Splits a produce `records` field into its entries (batches or messages):
/// each is `(magic, bytes)`. A trailing partial entry (allowed by Kafka for
/// fetch responses, never valid in produce) is an error.
pub fn split_entries(records: &Bytes) -> Result<Vec<(i8, Bytes)>, DecodeError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < records.len() {
        let size = be_i32(records, at + 8).ok_or(DecodeError::short("record set entry"))?;
        let size = usize::try_from(size).map_err(|_| DecodeError::Invalid {
            field: "record set entry size",
        })?;
        let end = at + 12 + size;
        if end > records.len() || size < 5 {
            return Err(DecodeError::short("record set entry"));
        }
        let magic = records.get(at + 16).copied().unwrap_or(0) as i8;
        out.push((magic, records.slice(at..end)));
        at = end;
    }
    Ok(out)
}

struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn varlong(&mut self) -> Result<i64, DecodeError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let (&b, rest) = self
                .buf
                .split_first()
                .ok_or(DecodeError::short("record varint"))?;
            self.buf = rest;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(((v >> 1) as i64) ^ -((v & 1) as i64));
            }
        }
        Err(DecodeError::Invalid {
            field: "record varint",
        })
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::short("record field"));
        }
        let (h, t) = self.buf.split_at(n);
        self.buf = t;
        Ok(h)
    }
    fn nbytes(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let n = self.varlong()?;
        if n < 0 {
            return Ok(None);
        }
        self.take(usize::try_from(n).map_err(|_| DecodeError::Invalid { field: "length" })?)
            .map(Some)
    }
}

/// Decodes the records of a v2 batch body (already decompressed).
fn parse_v2_records(
    body: &[u8],
    count: usize,
    base_ts: i64,
    mut each: impl FnMut(u32, Record, i64),
) -> Result<(), DecodeError> {
    let mut c = Cursor { buf: body };
    for i in 0..count {
        let len = c.varlong()?;
        let len = usize::try_from(len).map_err(|_| DecodeError::Invalid {
            field: "record length",
        })?;
        let mut r = Cursor { buf: c.take(len)? };
        r.take(1)?;
        let ts = r.varlong()?;
        let delta = r.varlong()?;
        let key = r.nbytes()?.map(Bytes::copy_from_slice);
        let value = r.nbytes()?.map(Bytes::copy_from_slice);
        let nh = r.varlong()?;
        let mut headers = Vec::new();
        for _ in 0..nh.max(0) {
            let k = r.nbytes()?.unwrap_or_default();
            let v = r.nbytes()?;
            headers.push((Bytes::copy_from_slice(k), v.map(Bytes::copy_from_slice)));
        }
        each(
            i as u32,
            Record {
                timestamp: base_ts.wrapping_add(ts),
                key,
                value,
                headers,
            },
            delta,
        );
    }
    if !c.buf.is_empty() {
        return Err(DecodeError::Invalid {
            field: "bytes after the last record",
        });
    }
    Ok(())
}

/// Validates one v2 batch: size, magic, CRC-32C, record count, and every
/// record (decompressing if needed). Returns what the store needs.
pub fn validate_v2(batch: &Bytes) -> Result<ValidBatch, DecodeError> {
    let b = &batch[..];
    if b.len() < BATCH_HEADER_LEN {
        return Err(DecodeError::short("record batch header"));
    }
    if be_i32(b, 8) != Some((b.len() - 12) as i32) {
        return Err(DecodeError::Invalid {
            field: "batchLength",
        });
    }
    if b.get(16) != Some(&2) {
        return Err(DecodeError::Invalid { field: "magic" });
    }
    let crc = be_i32(b, 17).unwrap_or(0) as u32;
    if crc32c::crc32c(b.get(21..).unwrap_or_default()) != crc {
        return Err(DecodeError::Crc {
            what: "record batch",
        });
    }
    let attrs = be_i16(b, 21).unwrap_or(0);
    let count = be_i32(b, 57).unwrap_or(0);
    if count <= 0 || be_i32(b, 23) != Some(count - 1) {
        return Err(DecodeError::Invalid {
            field: "recordCount",
        });
    }
    let base_ts = be_i64(b, 27).unwrap_or(0);
    let body = b.get(BATCH_HEADER_LEN..).unwrap_or_default();
    let codec = (attrs & 7) as u8;
    let plain;
    let body = if codec == 0 {
        body
    } else {
        plain = decompress(codec, body)?;
        &plain[..]
    };
    let mut keys = Vec::new();
    let mut tag_headers = Vec::new();
    // Every record needs at least 7 bytes, so a huge count fails fast here.
    if count as usize > body.len() {
        return Err(DecodeError::Invalid {
            field: "recordCount",
        });
    }
    parse_v2_records(body, count as usize, base_ts, |i, r, _| {
        for (name, value) in &r.headers {
            if let Some(v) = value
                .as_ref()
                .filter(|_| &name[..] == TAGS_HEADER.as_bytes())
            {
                tag_headers.push((i, v.clone()));
            }
        }
        if let Some(k) = r
            .key
            .filter(|k| !k.is_empty() && k.len() <= i16::MAX as usize)
        {
            keys.push((i, k));
        }
    })?;
    Ok(ValidBatch {
        batch: batch.clone(),
        count: count as u32,
        keys,
        tag_headers,
        producer_id: be_i64(b, 43).unwrap_or(-1),
        producer_epoch: be_i16(b, 51).unwrap_or(-1),
        base_sequence: be_i32(b, 53).unwrap_or(-1),
    })
}

/// Decodes every record of a v2 batch (for tests and conversions).
pub fn decode_v2_records(batch: &[u8]) -> Result<Vec<Record>, DecodeError> {
    Ok(decode_v2_records_with_deltas(batch)?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// [`decode_v2_records`] with each record's offset delta: a batch the log
/// cleaner compacted has gaps in them (ADR 010).
pub fn decode_v2_records_with_deltas(batch: &[u8]) -> Result<Vec<(i64, Record)>, DecodeError> {
    let count = be_i32(batch, 57).ok_or(DecodeError::short("recordCount"))?;
    let attrs = be_i16(batch, 21).unwrap_or(0);
    let base_ts = be_i64(batch, 27).unwrap_or(0);
    let body = batch.get(BATCH_HEADER_LEN..).unwrap_or_default();
    let codec = (attrs & 7) as u8;
    let plain;
    let body = if codec == 0 {
        body
    } else {
        plain = decompress(codec, body)?;
        &plain[..]
    };
    if count < 0 || count as usize > body.len() {
        return Err(DecodeError::Invalid {
            field: "recordCount",
        });
    }
    let mut out = Vec::new();
    parse_v2_records(body, count as usize, base_ts, |_, r, d| out.push((d, r)))?;
    Ok(out)
}

/// Decodes a MessageSet v0/v1 (following compressed wrappers) into records;
/// magic-0 messages get `now_ms` as their timestamp.
pub fn decode_message_set(set: &Bytes, now_ms: i64) -> Result<Vec<Record>, DecodeError> {
    let mut out = Vec::new();
    message_set_into(set, now_ms, 0, &mut out)?;
    Ok(out)
}

fn message_set_into(
    set: &Bytes,
    now_ms: i64,
    depth: u8,
    out: &mut Vec<Record>,
) -> Result<(), DecodeError> {
    for (magic, m) in split_entries(set)? {
        if !(0..=1).contains(&magic) {
            return Err(DecodeError::Invalid {
                field: "message magic",
            });
        }
        let crc = be_i32(&m, 12).unwrap_or(0) as u32;
        if crc32fast::hash(m.get(16..).unwrap_or_default()) != crc {
            return Err(DecodeError::Crc { what: "message" });
        }
        let attrs = m.get(17).copied().unwrap_or(0);
        let mut at = 18;
        let ts = if magic == 1 {
            at += 8;
            be_i64(&m, 18).ok_or(DecodeError::short("timestamp"))?
        } else {
            now_ms
        };
        let mut field = |name: &'static str| -> Result<Option<Bytes>, DecodeError> {
            let n = be_i32(&m, at).ok_or(DecodeError::short(name))?;
            at += 4;
            if n < 0 {
                return Ok(None);
            }
            let end = at + n as usize;
            if end > m.len() {
                return Err(DecodeError::short(name));
            }
            let v = m.slice(at..end);
            at = end;
            Ok(Some(v))
        };
        let key = field("message key")?;
        let value = field("message value")?;
        let codec = attrs & 7;
        if codec == 0 {
            out.push(Record {
                timestamp: ts,
                key,
                value,
                headers: Vec::new(),
            });
            continue;
        }
        if depth >= MAX_DEPTH {
            return Err(DecodeError::Invalid {
                field: "nested compressed message",
            });
        }
        let inner = Bytes::from(decompress(codec, &value.unwrap_or_default())?);
        let before = out.len();
        message_set_into(&inner, ts, depth + 1, out)?;
        // Inner magic-1 messages of a log-append-time wrapper take its time.
        if magic == 1 && attrs & 0x08 != 0 {
            for r in out.iter_mut().skip(before) {
                r.timestamp = ts;
            }
        }
    }
    Ok(())
}

fn put_varlong(out: &mut BytesMut, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.put_u8((z as u8) | 0x80);
        z >>= 7;
    }
    out.put_u8(z as u8);
}

fn put_nbytes(out: &mut BytesMut, v: Option<&[u8]>) {
    match v {
        None => put_varlong(out, -1),
        Some(v) => {
            put_varlong(out, v.len() as i64);
            out.put_slice(v);
        }
    }
}

/// Builds an uncompressed, non-idempotent v2 batch of `records` with base
/// offset `base_offset` (the store rewrites it on append). `records` must
/// not be empty.
pub fn build_v2_batch(base_offset: i64, records: &[Record]) -> Bytes {
    let base_ts = records.first().map_or(0, |r| r.timestamp);
    let max_ts = records.iter().map(|r| r.timestamp).max().unwrap_or(base_ts);
    let mut body = BytesMut::new();
    let mut rec = BytesMut::new();
    for (i, r) in records.iter().enumerate() {
        rec.clear();
        rec.put_i8(0);
        put_varlong(&mut rec, r.timestamp.wrapping_sub(base_ts));
        put_varlong(&mut rec, i as i64);
        put_nbytes(&mut rec, r.key.as_deref());
        put_nbytes(&mut rec, r.value.as_deref());
        put_varlong(&mut rec, r.headers.len() as i64);
        for (k, v) in &r.headers {
            put_nbytes(&mut rec, Some(k));
            put_nbytes(&mut rec, v.as_deref());
        }
        put_varlong(&mut body, rec.len() as i64);
        body.put_slice(&rec);
    }
    let mut b = BytesMut::with_capacity(BATCH_HEADER_LEN + body.len());
    b.put_i64(base_offset);
    b.put_i32((BATCH_HEADER_LEN - 12 + body.len()) as i32);
    b.put_i32(0); // partitionLeaderEpoch
    b.put_i8(2);
    b.put_u32(0); // crc, below
    b.put_i16(0);
    b.put_i32(records.len() as i32 - 1);
    b.put_i64(base_ts);
    b.put_i64(max_ts);
    b.put_i64(-1);
    b.put_i16(-1);
    b.put_i32(-1);
    b.put_i32(records.len() as i32);
    b.put_slice(&body);
    let crc = crc32c::crc32c(b.get(21..).unwrap_or_default());
    if let Some(slot) = b.get_mut(17..21) {
        slot.copy_from_slice(&crc.to_be_bytes());
    }
    b.freeze()
}

/// Returns `batch` with producer id, epoch and base sequence set and the
/// CRC recomputed (for idempotent-producer tests and tools).
pub fn with_producer(batch: &[u8], producer_id: i64, epoch: i16, base_sequence: i32) -> Bytes {
    let mut b = BytesMut::from(batch);
    if b.len() >= BATCH_HEADER_LEN {
        if let Some(s) = b.get_mut(43..51) {
            s.copy_from_slice(&producer_id.to_be_bytes());
        }
        if let Some(s) = b.get_mut(51..53) {
            s.copy_from_slice(&epoch.to_be_bytes());
        }
        if let Some(s) = b.get_mut(53..57) {
            s.copy_from_slice(&base_sequence.to_be_bytes());
        }
        let crc = crc32c::crc32c(b.get(21..).unwrap_or_default());
        if let Some(s) = b.get_mut(17..21) {
            s.copy_from_slice(&crc.to_be_bytes());
        }
    }
    b.freeze()
}

/// Returns `batch` stamped with the broker's append time, as Kafka does for
/// a topic with `message.timestamp.type=LogAppendTime`: the attributes'
/// timestamp-type bit (0x08) set, `max_timestamp` = `now_ms`, the CRC
/// recomputed. Readers then take `max_timestamp` as every record's time.
pub fn with_log_append_time(batch: &[u8], now_ms: i64) -> Bytes {
    let mut b = BytesMut::from(batch);
    if b.len() >= BATCH_HEADER_LEN {
        if let Some(s) = b.get_mut(21..23) {
            let mut attrs = [0u8; 2];
            attrs.copy_from_slice(s);
            s.copy_from_slice(&(i16::from_be_bytes(attrs) | 0x08).to_be_bytes());
        }
        if let Some(s) = b.get_mut(35..43) {
            s.copy_from_slice(&now_ms.to_be_bytes());
        }
        let crc = crc32c::crc32c(b.get(21..).unwrap_or_default());
        if let Some(s) = b.get_mut(17..21) {
            s.copy_from_slice(&crc.to_be_bytes());
        }
    }
    b.freeze()
}

/// Down-converts v2 batches to a MessageSet of `magic` 0 or 1 for Fetch
/// v0–v3: one uncompressed message per record at or after `from_offset`,
/// headers dropped, control batches skipped. Stops after `max_bytes` (but
/// always keeps the first message).
pub fn down_convert(
    batches: &[Bytes],
    magic: i8,
    from_offset: i64,
    max_bytes: usize,
) -> Result<Bytes, DecodeError> {
    let mut out = BytesMut::new();
    for b in batches {
        let base = be_i64(b, 0).ok_or(DecodeError::short("baseOffset"))?;
        if be_i16(b, 21).unwrap_or(0) & 0x20 != 0 {
            continue;
        }
        for (i, r) in decode_v2_records(b)?.into_iter().enumerate() {
            let offset = base + i as i64;
            if offset < from_offset {
                continue;
            }
            let mut body = BytesMut::new();
            body.put_i8(magic);
            body.put_i8(0);
            if magic == 1 {
                body.put_i64(r.timestamp);
            }
            for f in [&r.key, &r.value] {
                match f {
                    None => body.put_i32(-1),
                    Some(v) => {
                        body.put_i32(v.len() as i32);
                        body.put_slice(v);
                    }
                }
            }
            if !out.is_empty() && out.len() + 16 + body.len() > max_bytes {
                return Ok(out.freeze());
            }
            out.put_i64(offset);
            out.put_i32(body.len() as i32 + 4);
            out.put_u32(crc32fast::hash(&body));
            out.put_slice(&body);
        }
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(k: &str, v: &str) -> Record {
        Record {
            timestamp: 1_700_000_000_000,
            key: Some(Bytes::copy_from_slice(k.as_bytes())),
            value: Some(Bytes::copy_from_slice(v.as_bytes())),
            headers: vec![(Bytes::from_static(b"h"), Some(Bytes::from_static(b"1")))],
        }
    }

    #[test]
    fn built_batch_validates_and_decodes() {
        let recs = vec![rec("a", "1"), rec("b", "2")];
        let b = build_v2_batch(0, &recs);
        let v = validate_v2(&b).unwrap();
        assert_eq!(v.count, 2);
        assert_eq!(v.keys.len(), 2);
        assert_eq!(decode_v2_records(&b).unwrap(), recs);
    }

    #[test]
    fn bad_crc_is_rejected() {
        let b = build_v2_batch(0, &[rec("a", "1")]);
        let mut m = b.to_vec();
        let last = m.len() - 1;
        m[last] ^= 1;
        assert!(matches!(
            validate_v2(&Bytes::from(m)),
            Err(DecodeError::Crc { .. })
        ));
    }

    #[test]
    fn truncated_batch_is_rejected() {
        let b = build_v2_batch(0, &[rec("a", "1")]);
        for n in 0..b.len() {
            assert!(validate_v2(&b.slice(..n)).is_err());
        }
    }

    fn message_v1(key: &[u8], value: &[u8], attrs: i8, ts: i64) -> Vec<u8> {
        let mut body = vec![1u8, attrs as u8];
        body.extend_from_slice(&ts.to_be_bytes());
        body.extend_from_slice(&(key.len() as i32).to_be_bytes());
        body.extend_from_slice(key);
        body.extend_from_slice(&(value.len() as i32).to_be_bytes());
        body.extend_from_slice(value);
        let mut m = 0i64.to_be_bytes().to_vec();
        m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        m.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn gzip_wrapped_message_set_converts() {
        use std::io::Write;
        let mut inner = message_v1(b"k1", b"v1", 0, 5);
        inner.extend(message_v1(b"k2", b"v2", 0, 6));
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&inner).unwrap();
        let outer = message_v1(b"", &e.finish().unwrap(), 1, 6);
        let recs = decode_message_set(&Bytes::from(outer), 0).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].key.as_deref(), Some(&b"k2"[..]));
        assert_eq!(recs[1].timestamp, 6);
        let b = build_v2_batch(0, &recs);
        assert_eq!(validate_v2(&b).unwrap().count, 2);
    }

    #[test]
    fn down_conversion_round_trips_through_the_message_set_decoder() {
        let mut b = build_v2_batch(10, &[rec("a", "1"), rec("b", "2"), rec("c", "3")]).to_vec();
        b[..8].copy_from_slice(&10i64.to_be_bytes());
        let b = Bytes::from(b);
        for magic in [0, 1] {
            let set = down_convert(std::slice::from_ref(&b), magic, 11, 1 << 20).unwrap();
            let entries = split_entries(&set).unwrap();
            assert_eq!(entries.len(), 2);
            assert_eq!(
                i64::from_be_bytes(entries[0].1[..8].try_into().unwrap()),
                11
            );
            let recs = decode_message_set(&set, 7).unwrap();
            assert_eq!(recs[1].value.as_deref(), Some(&b"3"[..]));
            let want_ts = if magic == 1 { 1_700_000_000_000 } else { 7 };
            assert_eq!(recs[0].timestamp, want_ts);
        }
        let first_only = down_convert(&[b], 1, 0, 1).unwrap();
        assert_eq!(split_entries(&first_only).unwrap().len(), 1);
    }

    #[test]
    fn message_crc_is_checked() {
        let mut m = message_v1(b"k", b"v", 0, 1);
        let last = m.len() - 1;
        m[last] ^= 1;
        assert!(decode_message_set(&Bytes::from(m), 0).is_err());
    }
}
