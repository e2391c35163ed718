//! Decompression of Kafka record payloads (§3.4 of kafka-subset.md): the
//! codec id sits in the low 3 bits of the batch/message attributes.
//!
//! ```text
//! 1 gzip    2 snappy (raw block, or xerial: 82 'SNAPPY' 00, i32 ver, i32 compat, (i32 len, block)*)
//! 3 lz4     LZ4 frame; magic-0 messages carry a header checksum computed
//!           over the magic too (KAFKA-3160), so the checksum is recomputed
//! 4 zstd
//! ```
//!
//! Output is capped so a small bomb cannot exhaust memory.

use std::io::Read;

use super::DecodeError;

/// Largest decompressed size accepted for one batch or wrapper message.
pub const MAX_DECOMPRESSED: usize = 256 * 1024 * 1024;

const XERIAL_MAGIC: &[u8] = &[0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

/// Name of codec `id`, for errors and logs.
pub fn codec_name(id: u8) -> &'static str {
    match id {
        0 => "none",
        1 => "gzip",
        2 => "snappy",
        3 => "lz4",
        4 => "zstd",
        _ => "unknown",
    }
}

/// Decompresses `data` written with codec `id` (1..=4).
pub fn decompress(id: u8, data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let err = DecodeError::Compression {
        codec: codec_name(id),
    };
    match id {
        1 => read_capped(flate2::read::GzDecoder::new(data)).ok_or(err),
        2 => snappy(data).ok_or(err),
        3 => lz4(data).ok_or(err),
        4 => zstd::stream::Decoder::new(data)
            .ok()
            .and_then(read_capped)
            .ok_or(err),
        _ => Err(err),
    }
}

fn read_capped(r: impl Read) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let n = r
        .take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(&mut out)
        .ok()?;
    (n <= MAX_DECOMPRESSED).then_some(out)
}

fn snappy_block(data: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let len = snap::raw::decompress_len(data).ok()?;
    if out.len() + len > MAX_DECOMPRESSED {
        return None;
    }
    let start = out.len();
    out.resize(start + len, 0);
    let n = snap::raw::Decoder::new()
        .decompress(data, out.get_mut(start..)?)
        .ok()?;
    out.truncate(start + n);
    Some(())
}

fn snappy(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let Some(mut rest) = data.strip_prefix(XERIAL_MAGIC) else {
        snappy_block(data, &mut out)?;
        return Some(out);
    };
    // Skip the version and compatible-version ints.
    rest = rest.get(8..)?;
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let block = rest.get(4..4 + len)?;
        snappy_block(block, &mut out)?;
        rest = rest.get(4 + len..)?;
    }
    Some(out)
}

fn lz4(data: &[u8]) -> Option<Vec<u8>> {
    // Frame: magic(4) FLG BD [content size 8 if FLG bit 3] [dict id 4 if bit 0] HC.
    let flg = *data.get(4)?;
    let mut hc_at = 6;
    if flg & 0x08 != 0 {
        hc_at += 8;
    }
    if flg & 0x01 != 0 {
        hc_at += 4;
    }
    let descriptor = data.get(4..hc_at)?;
    let hc = (twox_hash::XxHash32::oneshot(0, descriptor) >> 8) as u8;
    let mut fixed = data.to_vec();
    *fixed.get_mut(hc_at)? = hc;
    read_capped(lz4_flex::frame::FrameDecoder::new(&fixed[..]))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const TEXT: &[u8] = b"hello hello hello hello kafka kafka kafka";

    #[test]
    fn gzip_round_trip() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(TEXT).unwrap();
        assert_eq!(decompress(1, &e.finish().unwrap()).unwrap(), TEXT);
    }

    #[test]
    fn snappy_raw_and_xerial() {
        let block = snap::raw::Encoder::new().compress_vec(TEXT).unwrap();
        assert_eq!(decompress(2, &block).unwrap(), TEXT);
        let mut x = XERIAL_MAGIC.to_vec();
        x.extend_from_slice(&1i32.to_be_bytes());
        x.extend_from_slice(&1i32.to_be_bytes());
        for half in [&block[..], &block[..]] {
            x.extend_from_slice(&(half.len() as i32).to_be_bytes());
            x.extend_from_slice(half);
        }
        let mut want = TEXT.to_vec();
        want.extend_from_slice(TEXT);
        assert_eq!(decompress(2, &x).unwrap(), want);
    }

    #[test]
    fn lz4_with_bad_header_checksum() {
        let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
        e.write_all(TEXT).unwrap();
        let mut f = e.finish().unwrap();
        f[6] ^= 0xff;
        assert_eq!(decompress(3, &f).unwrap(), TEXT);
    }

    #[test]
    fn zstd_round_trip() {
        let z = zstd::encode_all(TEXT, 1).unwrap();
        assert_eq!(decompress(4, &z).unwrap(), TEXT);
    }

    #[test]
    fn corrupt_data_is_an_error() {
        for id in 1..=4 {
            assert!(decompress(id, b"\x00\x01garbage").is_err(), "codec {id}");
        }
        assert!(decompress(7, b"").is_err());
    }
}
