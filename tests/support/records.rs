//! Hand-built compressed payloads and record batches. The deflate streams
//! use "stored" (uncompressed) blocks: valid for any inflater, and no
//! compression library is needed here.

use bytes::Bytes;
use rokka_protocols::kafka::records::{build_v2_batch, Record};

/// `data` as a deflate stream of stored blocks.
pub fn deflate_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(65535).collect()
    };
    for (i, c) in chunks.iter().enumerate() {
        // Each chunk is at most 65535 bytes, so its length fits in u16.
        let len = c.len() as u16;
        out.push(u8::from(i + 1 == chunks.len()));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(c);
    }
    out
}

/// `data` as a zlib stream (RFC 1950, Adler-32 trailer).
pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    out.extend(deflate_stored(data));
    let (mut a, mut b) = (1u32, 0u32);
    for x in data {
        a = (a + u32::from(*x)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// `data` as a gzip member (RFC 1952, CRC-32 and size trailer).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(deflate_stored(data));
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// CRC-32C (Castagnoli), the checksum of a Kafka v2 batch.
pub fn crc32c(b: &[u8]) -> u32 {
    let mut crc = !0u32;
    for x in b {
        crc ^= u32::from(*x);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `records` as a gzip-compressed (codec 1) v2 batch with base offset 0:
/// the 61-byte batch header of the plain batch, its records gzipped, the
/// length and CRC fixed up.
pub fn gzip_batch(records: &[Record]) -> Bytes {
    let plain = build_v2_batch(0, records);
    let mut b = plain[..61].to_vec();
    b[21..23].copy_from_slice(&1i16.to_be_bytes());
    b.extend(gzip(&plain[61..]));
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}
