//! A segment walker over [`super::scan`] for the fuzzer and its regression
//! tests (feature `internals`): it decodes entry after entry as recovery
//! does and reads every field a reader, the dispatcher or a pull would.

use super::{kafka, scan, Invalid, Scanned};

/// What [`walk`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walk {
    /// Valid RocketMQ messages.
    pub messages: u32,
    /// Valid Kafka batches.
    pub batches: u32,
    /// Whether the walk ended at a blank filler.
    pub blank: bool,
    /// Why the walk stopped, if at an invalid entry (`None`: end of buffer,
    /// blank filler or zeros).
    pub stopped: Option<&'static str>,
}

/// Decodes the entries of `buf`, the first at CommitLog offset `phy`, until
/// the first blank, empty or invalid one, touching every accessor.
pub fn walk(buf: &[u8], phy: u64) -> Walk {
    let mut w = Walk::default();
    let mut at = 0usize;
    while at < buf.len() {
        let pos = phy.saturating_add(at as u64);
        let e = match scan(&buf[at..], pos) {
            Ok(e) => e,
            Err(Invalid::Empty) => break,
            Err(Invalid::Corrupt(why)) => {
                w.stopped = Some(why);
                break;
            }
        };
        let mut sink = 0u64;
        match &e {
            Scanned::Blank => {
                w.blank = true;
                break;
            }
            Scanned::RocketMq(m) => {
                w.messages += 1;
                sink ^= m.queue_id() as u64 ^ m.flag() as u64 ^ m.queue_offset();
                sink ^= m.phy_offset() ^ m.sys_flag() as u64;
                sink ^= m.born_timestamp() as u64 ^ m.store_timestamp() as u64;
                sink ^= m.body().len() as u64 ^ m.topic().len() as u64;
                sink ^= m.properties().len() as u64 ^ m.tags_code() as u64;
                sink ^= m
                    .index_keys()
                    .map(|k| k.len() as u64)
                    .fold(0, u64::wrapping_add);
                sink ^= m.property("UNIQ_KEY").map_or(0, |v| v.len() as u64);
            }
            Scanned::Kafka(b) => {
                w.batches += 1;
                sink ^= b.queue_id() as u64 ^ b.queue_offset() ^ b.record_count() as u64;
                sink ^= b.store_timestamp() as u64 ^ b.topic().len() as u64;
                sink ^= b.batch().len() as u64 ^ b.batch_offset() as u64;
                sink ^= b
                    .index_keys()
                    .map(|(i, k)| i as u64 ^ k.len() as u64)
                    .fold(0, u64::wrapping_add);
                sink ^= b.tags_codes().map(|t| t as u64).fold(0, u64::wrapping_add);
                sink ^= b.tags_code(0) as u64 ^ b.tags_code(u32::MAX) as u64;
                let range = kafka::batch_range(b.bytes());
                sink ^= range.map_or(0, |r| r.start as u64);
            }
        }
        std::hint::black_box(sink);
        let Some(meta) = e.meta() else { break };
        at += meta.total_size as usize;
    }
    w
}
