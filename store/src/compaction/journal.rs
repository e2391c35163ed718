//! The cleaner's redo journal: the ConsumeQueue entries one pass rewrites in
//! a queue, written (atomically) before they are applied in place and
//! removed once the queue is synced. A journal found at open is re-applied,
//! so a crash mid-rewrite never leaves a queue half old, half new on disk.
//!
//! ```text
//!  u32 magic "RKCJ" | u8 topicLen, topic | u32 queueId | u32 n
//!  n × (u64 offset | u64 phyOffset | u32 size | i64 tagsCode)
//!  u32 crc32c of everything before
//! ```

use std::path::PathBuf;

use super::{check, CrashPoint};
use crate::consume_queue::{ConsumeQueue, CqEntry};
use crate::error::{IoContext, Result, StoreError};
use crate::writer::Shared;

const MAGIC: u32 = 0x524B_434A;
const ROW: usize = 28;

fn path(shared: &Shared) -> PathBuf {
    shared.config.root_dir.join("compaction.journal")
}

fn encode(topic: &str, queue_id: u32, updates: &[(u64, CqEntry)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(14 + topic.len() + updates.len() * ROW);
    b.extend_from_slice(&MAGIC.to_be_bytes());
    b.push(topic.len() as u8);
    b.extend_from_slice(topic.as_bytes());
    b.extend_from_slice(&queue_id.to_be_bytes());
    b.extend_from_slice(&(updates.len() as u32).to_be_bytes());
    for (off, e) in updates {
        b.extend_from_slice(&off.to_be_bytes());
        b.extend_from_slice(&e.phy_offset.to_be_bytes());
        b.extend_from_slice(&e.size.to_be_bytes());
        b.extend_from_slice(&e.tags_code.to_be_bytes());
    }
    let crc = crc32c::crc32c(&b);
    b.extend_from_slice(&crc.to_be_bytes());
    b
}

type Decoded = (String, u32, Vec<(u64, CqEntry)>);

fn decode(b: &[u8]) -> Option<Decoded> {
    let (body, crc) = b.split_at(b.len().checked_sub(4)?);
    if crc32c::crc32c(body).to_be_bytes() != crc {
        return None;
    }
    let u32_at = |at: usize| Some(u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_be_bytes(body.get(at..at + 8)?.try_into().ok()?));
    if u32_at(0)? != MAGIC {
        return None;
    }
    let tl = *body.get(4)? as usize;
    let topic = std::str::from_utf8(body.get(5..5 + tl)?).ok()?.to_string();
    let qid = u32_at(5 + tl)?;
    let n = u32_at(9 + tl)? as usize;
    let rows = 13 + tl;
    if body.len() != rows + n * ROW {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let at = rows + i * ROW;
        out.push((
            u64_at(at)?,
            CqEntry {
                phy_offset: u64_at(at + 8)?,
                size: u32_at(at + 16)?,
                tags_code: u64_at(at + 20)? as i64,
            },
        ));
    }
    Some((topic, qid, out))
}

fn write_entries(cq: &ConsumeQueue, updates: &[(u64, CqEntry)]) -> Result<()> {
    for (off, e) in updates {
        cq.put(*off, *e)?;
    }
    cq.sync_all().map_err(|source| StoreError::Io {
        path: PathBuf::from(cq.topic()),
        source,
    })
}

/// Journals, applies and syncs `updates` to `cq`, then drops the journal.
pub(crate) fn apply(
    shared: &Shared,
    cq: &ConsumeQueue,
    updates: &[(u64, CqEntry)],
    crash: Option<CrashPoint>,
) -> Result<()> {
    let p = path(shared);
    crate::util::write_atomically(&p, &encode(cq.topic(), cq.queue_id(), updates))?;
    check(crash, CrashPoint::AfterJournal)?;
    let half = updates.len() / 2;
    write_entries(cq, &updates[..half])?;
    check(crash, CrashPoint::MidRewrite)?;
    write_entries(cq, &updates[half..])?;
    std::fs::remove_file(&p).at(&p)?;
    Ok(())
}

/// At open, after recovery: re-applies a journal a crash left behind. Rows
/// that point past the recovered log end, or at offsets the queue does not
/// have, are skipped. Returns the rows applied.
pub(crate) fn replay(shared: &Shared) -> Result<usize> {
    let p = path(shared);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(StoreError::Io { path: p, source }),
    };
    let Some((topic, qid, rows)) = decode(&bytes) else {
        tracing::warn!(path = %p.display(), "ignoring an unreadable compaction journal");
        std::fs::remove_file(&p).at(&p)?;
        return Ok(0);
    };
    let log_end = shared.commit_log.max_offset();
    let mut applied = 0;
    if let Some(cq) = shared.cqs.get(&topic, qid) {
        let ok: Vec<_> = rows
            .into_iter()
            .filter(|(off, e)| {
                *off < cq.max_offset() && e.phy_offset + u64::from(e.size) <= log_end
            })
            .collect();
        applied = ok.len();
        write_entries(&cq, &ok)?;
    }
    std::fs::remove_file(&p).at(&p)?;
    tracing::info!(
        topic,
        queue_id = qid,
        applied,
        "re-applied the compaction journal"
    );
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let rows = vec![
            (
                7,
                CqEntry {
                    phy_offset: 100,
                    size: 60,
                    tags_code: -3,
                },
            ),
            (
                9,
                CqEntry {
                    phy_offset: 160,
                    size: 70,
                    tags_code: 0,
                },
            ),
        ];
        let b = encode("t", 2, &rows);
        assert_eq!(decode(&b), Some(("t".to_string(), 2, rows)));
        let mut bad = b.clone();
        bad[10] ^= 1;
        assert_eq!(decode(&bad), None);
        assert_eq!(decode(&b[..b.len() - 1]), None);
    }
}
