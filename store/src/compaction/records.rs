//! What the log cleaner needs from a Kafka v2 record batch: each record's
//! offset delta, key and whether its value is null (a tombstone), and a
//! rebuilt batch that keeps some of the records with their original offsets.
//!
//! Records are copied byte for byte: a v2 record carries its offset and
//! timestamp as deltas from the batch header, which the rebuilt batch keeps,
//! so the survivors keep their offsets and the batch simply has gaps in its
//! offset deltas (legal in v2, exactly what a compacted Kafka log holds).
//! A compressed batch is decompressed through the hook the broker installs
//! and rebuilt uncompressed.

use std::ops::Range;

use bytes::Bytes;

use super::Decompress;

/// Length of the v2 batch header.
const HEADER: usize = 61;
/// Attribute bits of the compression codec.
const CODEC_MASK: i16 = 0x07;
/// Attribute bit of a control batch (transaction marker).
const CONTROL: i16 = 0x20;

/// One record of a batch, located in the batch's plain (decompressed) body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRecord {
    /// Offset delta from the batch's base offset.
    pub delta: u32,
    /// The key; `None` for a null key.
    pub key: Option<Bytes>,
    /// The value is null: a tombstone.
    pub tombstone: bool,
    /// The record's bytes (length prefix included) in the plain body.
    pub range: Range<usize>,
}

/// A batch's records and its plain body.
#[derive(Debug)]
pub(crate) struct Decoded {
    /// The records section, decompressed when the batch was compressed.
    pub body: Bytes,
    /// The records, in order.
    pub records: Vec<RawRecord>,
    /// A control batch: kept whole, never compacted.
    pub control: bool,
}

fn be_i16(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads a zig-zag varint at `*at`, advancing it.
fn varint(b: &[u8], at: &mut usize) -> Option<i64> {
    let mut v: u64 = 0;
    for shift in (0..70).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Some(((v >> 1) as i64) ^ -((v & 1) as i64));
        }
    }
    None
}

/// Decodes the records of `batch` (a whole v2 batch). `None` when the
/// batch is malformed or compressed with no decompressor to read it.
pub(crate) fn decode(batch: &Bytes, decompress: Option<&Decompress>) -> Option<Decoded> {
    let attrs = be_i16(batch, 21)?;
    let count = usize::try_from(be_i32(batch, 57)?).ok()?;
    let raw = batch.get(HEADER..)?;
    let codec = (attrs & CODEC_MASK) as u8;
    let body = if codec == 0 {
        batch.slice(HEADER..)
    } else {
        Bytes::from(decompress?(codec, raw)?)
    };
    let mut records = Vec::with_capacity(count.min(body.len()));
    let mut at = 0;
    for _ in 0..count {
        let start = at;
        let len = usize::try_from(varint(&body, &mut at)?).ok()?;
        let end = at.checked_add(len).filter(|e| *e <= body.len())?;
        let mut p = at + 1; // attributes
        varint(&body[..end], &mut p)?; // timestamp delta
        let delta = u32::try_from(varint(&body[..end], &mut p)?).ok()?;
        let klen = varint(&body[..end], &mut p)?;
        let key = if klen < 0 {
            None
        } else {
            let k = p..p.checked_add(usize::try_from(klen).ok()?)?;
            if k.end > end {
                return None;
            }
            p = k.end;
            Some(body.slice(k))
        };
        let vlen = varint(&body[..end], &mut p)?;
        records.push(RawRecord {
            delta,
            key,
            tombstone: vlen < 0,
            range: start..end,
        });
        at = end;
    }
    (at == body.len()).then_some(Decoded {
        body,
        records,
        control: attrs & CONTROL != 0,
    })
}

/// A v2 batch holding the records of `d` whose index is in `keep` (in
/// order, not empty), with the header of `batch`: same base offset,
/// producer fields and first timestamp; uncompressed; `lastOffsetDelta` and
/// `recordCount` of what is kept; CRC recomputed.
pub(crate) fn rebuild(batch: &[u8], d: &Decoded, keep: &[usize]) -> Option<Vec<u8>> {
    let last = d.records.get(*keep.last()?)?.delta;
    let body_len: usize = keep.iter().map(|i| d.records[*i].range.len()).sum();
    let mut out = Vec::with_capacity(HEADER + body_len);
    out.extend_from_slice(batch.get(..HEADER)?);
    for i in keep {
        out.extend_from_slice(&d.body[d.records[*i].range.clone()]);
    }
    let length = i32::try_from(out.len() - 12).ok()?;
    out[8..12].copy_from_slice(&length.to_be_bytes());
    let attrs = be_i16(batch, 21)? & !CODEC_MASK;
    out[21..23].copy_from_slice(&attrs.to_be_bytes());
    out[23..27].copy_from_slice(&(last as i32).to_be_bytes());
    out[57..61].copy_from_slice(&(keep.len() as i32).to_be_bytes());
    let crc = crc32c::crc32c(&out[21..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_varint(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        while z >= 0x80 {
            out.push((z as u8) | 0x80);
            z >>= 7;
        }
        out.push(z as u8);
    }

    type KeyValue<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

    /// A batch of `(key, value)` records with offset deltas 0, 1, ...
    fn batch(recs: &[KeyValue<'_>]) -> Bytes {
        let mut body = Vec::new();
        for (i, (k, v)) in recs.iter().enumerate() {
            let mut r = vec![0u8];
            put_varint(&mut r, 0);
            put_varint(&mut r, i as i64);
            for f in [k, v] {
                match f {
                    Some(b) => {
                        put_varint(&mut r, b.len() as i64);
                        r.extend_from_slice(b);
                    }
                    None => put_varint(&mut r, -1),
                }
            }
            put_varint(&mut r, 0);
            put_varint(&mut body, r.len() as i64);
            body.extend_from_slice(&r);
        }
        let mut b = vec![0u8; HEADER];
        b[16] = 2;
        b[23..27].copy_from_slice(&(recs.len() as i32 - 1).to_be_bytes());
        b[57..61].copy_from_slice(&(recs.len() as i32).to_be_bytes());
        b.extend_from_slice(&body);
        let len = (b.len() - 12) as i32;
        b[8..12].copy_from_slice(&len.to_be_bytes());
        Bytes::from(b)
    }

    #[test]
    fn decodes_keys_tombstones_and_deltas() {
        let b = batch(&[
            (Some(b"a"), Some(b"1")),
            (None, Some(b"2")),
            (Some(b"a"), None),
        ]);
        let d = decode(&b, None).unwrap();
        assert!(!d.control);
        let got: Vec<_> = d
            .records
            .iter()
            .map(|r| (r.delta, r.key.clone(), r.tombstone))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, Some(Bytes::from_static(b"a")), false),
                (1, None, false),
                (2, Some(Bytes::from_static(b"a")), true),
            ]
        );
    }

    #[test]
    fn rebuild_keeps_offsets_and_fixes_the_header() {
        let b = batch(&[
            (Some(b"a"), Some(b"1")),
            (Some(b"b"), Some(b"2")),
            (Some(b"a"), Some(b"3")),
            (Some(b"c"), Some(b"4")),
        ]);
        let d = decode(&b, None).unwrap();
        let nb = Bytes::from(rebuild(&b, &d, &[1, 2]).unwrap());
        assert_eq!(be_i32(&nb, 57), Some(2));
        assert_eq!(be_i32(&nb, 23), Some(2));
        assert_eq!(be_i32(&nb, 8), Some(nb.len() as i32 - 12));
        assert_eq!(
            u32::from_be_bytes(nb[17..21].try_into().unwrap()),
            crc32c::crc32c(&nb[21..])
        );
        let d2 = decode(&nb, None).unwrap();
        let deltas: Vec<_> = d2.records.iter().map(|r| r.delta).collect();
        assert_eq!(deltas, vec![1, 2]);
    }

    #[test]
    fn malformed_and_unreadable_batches_give_none() {
        let b = batch(&[(Some(b"a"), Some(b"1"))]);
        assert!(decode(&b.slice(..b.len() - 1), None).is_none());
        let mut c = b.to_vec();
        c[22] |= 1; // gzip, no decompressor
        assert!(decode(&Bytes::from(c), None).is_none());
    }
}
