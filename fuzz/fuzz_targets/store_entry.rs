//! Stored-entry decoder: CommitLog bytes walked entry by entry as recovery
//! and readers do (RocketMQ messages, Kafka batches, the blank filler).
//!
//! Input: byte 0 = flags, bytes 1..9 = the CommitLog offset of the first
//! entry (big-endian), the rest = the segment bytes. With flag bit 0 set the
//! harness first rewrites each entry's CRC to the correct value, so the
//! fuzzer also reaches the field decoding that a CRC mismatch would guard.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rokka_store::entry::walk::walk;

const KAFKA_MAGIC: i32 = rokka_store::entry::kafka::MAGIC;
const ROCKETMQ_MAGIC: i32 = rokka_store::entry::rocketmq::MAGIC_V1;

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Rewrites the CRC of every entry it can frame; stops where it cannot.
fn fix_crcs(buf: &mut [u8]) {
    let mut at = 0usize;
    while let (Some(total), Some(magic)) = (be_i32(buf, at), be_i32(buf, at + 4)) {
        let Ok(total) = usize::try_from(total) else {
            return;
        };
        if total < 8 || at + total > buf.len() {
            return;
        }
        let e = &mut buf[at..at + total];
        match magic {
            KAFKA_MAGIC if total >= 12 => {
                let crc = crc32c::crc32c(&e[12..]);
                e[8..12].copy_from_slice(&crc.to_be_bytes());
            }
            ROCKETMQ_MAGIC => {
                // bodyCRC covers the body; find it as the layout says.
                let Some(sys_flag) = be_i32(e, 36) else {
                    return;
                };
                let born = if sys_flag & 0x10 != 0 { 20 } else { 8 };
                let store = if sys_flag & 0x20 != 0 { 20 } else { 8 };
                let len_at = 48 + born + 8 + store + 4 + 8;
                let Some(len) = be_i32(e, len_at).and_then(|l| usize::try_from(l).ok()) else {
                    return;
                };
                let Some(body) = e.get(len_at + 4..len_at + 4 + len) else {
                    return;
                };
                let crc = crc32fast::hash(body) & 0x7FFF_FFFF;
                e[8..12].copy_from_slice(&crc.to_be_bytes());
            }
            _ => return,
        }
        at += total;
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Some((phy, seg)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let phy = u64::from_be_bytes(*phy);
    let mut seg = seg.to_vec();
    if flags & 1 != 0 {
        fix_crcs(&mut seg);
    }
    let _ = walk(&seg, phy);
});
