//! Damage fixtures (issue 10, ADR 007): a ConsumeQueue tail of 0xFF, a
//! truncated ConsumeQueue file, queue entries pointing at garbage after the
//! log end, a damaged entry below the checkpoint, a zeroed page over a
//! RocketMQ entry's properties. Each checks that no offset is handed out
//! twice, every intact record is readable, appends after recovery are
//! readable, and the damage is reported.

mod common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use common::*;
use rokka_store::{GetStatus, Store};

const SEG: u64 = 64 * 1024;

fn open_with(dir: &Path) -> (Store, prometheus::Registry) {
    let reg = prometheus::Registry::new();
    (Store::open(small_config(dir), &reg).unwrap(), reg)
}

fn counter(reg: &prometheus::Registry, name: &str) -> f64 {
    reg.gather()
        .iter()
        .filter(|f| f.name() == name)
        .flat_map(|f| f.get_metric())
        .map(|m| m.get_counter().get_value())
        .sum()
}

/// Stops after a flush (checkpoint at the end) but leaves the abort marker:
/// what a SIGKILL after the last flush leaves behind.
fn kill(store: Store, dir: &Path) {
    store.shutdown().unwrap();
    std::fs::write(dir.join("abort"), b"").unwrap();
}

/// Overwrites bytes of a file at `pos` (from its end when negative).
fn overwrite(path: &Path, pos: i64, bytes: &[u8]) {
    let mut f = OpenOptions::new().write(true).open(path).unwrap();
    if pos < 0 {
        f.seek(SeekFrom::End(pos)).unwrap();
    } else {
        f.seek(SeekFrom::Start(pos as u64)).unwrap();
    }
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
}

fn newest_cq_file(dir: &Path, topic: &str, qid: u32) -> PathBuf {
    let d = dir.join("consumequeue").join(topic).join(qid.to_string());
    let mut files: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().len() == 20)
        .collect();
    files.sort();
    files.pop().unwrap()
}

fn log_patch(dir: &Path, phy: u64, bytes: &[u8]) {
    let seg = phy / SEG * SEG;
    overwrite(
        &dir.join("commitlog").join(format!("{seg:020}")),
        (phy - seg) as i64,
        bytes,
    );
}

fn kafka_values(batch: u64) -> Vec<Vec<u8>> {
    (0..3)
        .map(|r| format!("batch {batch} record {r}").into_bytes())
        .collect()
}

fn append_kafka(store: &Store, batch: u64) -> rokka_store::AppendResult {
    let v = kafka_values(batch);
    let refs: Vec<&[u8]> = v.iter().map(Vec::as_slice).collect();
    store
        .append_blocking(kafka("K", 0, &refs, Vec::new()))
        .unwrap()
}

/// Every offset of "K"/0 below `n_batches * 3` reads back the batch it was
/// appended in (its bytes after baseOffset), so no offset names two records.
fn assert_kafka_offsets(store: &Store, n_batches: u64) {
    assert_eq!(store.max_offset("K", 0), n_batches * 3);
    for off in 0..n_batches * 3 {
        let g = store.get_messages("K", 0, off, 1, usize::MAX, None);
        assert_eq!(g.status, GetStatus::Found, "offset {off}");
        let e = &g.entries[0];
        assert_eq!(e.queue_offset, off / 3 * 3, "offset {off}");
        let r = rokka_store::entry::kafka::batch_range(&e.bytes).unwrap();
        let v = kafka_values(off / 3);
        let refs: Vec<&[u8]> = v.iter().map(Vec::as_slice).collect();
        let want = rokka_store::entry::kafka::test_batch(&refs);
        assert_eq!(&e.bytes[r.start + 8..], &want[8..], "offset {off}");
    }
}

fn append_rocket(store: &Store, i: u64) -> rokka_store::AppendResult {
    store
        .append_blocking(rocket(
            "R",
            0,
            &body_for(3, i, 900),
            props(&[("KEYS", &format!("k{i}"))]),
        ))
        .unwrap()
}

fn body_of(bytes: &[u8]) -> &[u8] {
    let len = i32::from_be_bytes(bytes[84..88].try_into().unwrap()) as usize;
    &bytes[88..88 + len]
}

/// Offsets `0..n` of "R"/0 except `damaged` read back their own bodies.
fn assert_rocket_offsets(store: &Store, n: u64, damaged: &[u64]) {
    for i in (0..n).filter(|i| !damaged.contains(i)) {
        let g = store.get_messages("R", 0, i, 1, usize::MAX, None);
        assert_eq!(g.status, GetStatus::Found, "offset {i}");
        assert_eq!(g.entries[0].queue_offset, i);
        assert_eq!(
            body_of(&g.entries[0].bytes),
            body_for(3, i, 900),
            "offset {i}"
        );
    }
}

/// Finding 1 of issue 10, as reported: kill after a Kafka load, overwrite
/// the last 20 written bytes of the newest ConsumeQueue file (its last
/// entry) with 0xFF, restart.
#[test]
fn queue_tail_of_ff_is_rebuilt_and_no_offset_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with(dir.path());
    for b in 0..30 {
        append_kafka(&store, b);
    }
    kill(store, dir.path());
    // 90 entries, 64 per file: the newest file holds offsets 64..90.
    let cq = newest_cq_file(dir.path(), "K", 0);
    overwrite(&cq, (89 - 64) * 20, &[0xFF; 20]);
    let (store, _) = open_with(dir.path());
    let rep = store.recovery_report();
    assert_eq!(rep.damaged_queues, vec!["K/0".to_string()], "{rep:?}");
    assert!(rep.queue_entries_dropped >= 1, "{rep:?}");
    assert!(rep.queue_entries_rebuilt >= 1, "{rep:?}");
    assert_kafka_offsets(&store, 30);
    // The next batch gets the next offset, and the old one is still there.
    assert_eq!(append_kafka(&store, 30).queue_offset, 90);
    assert_kafka_offsets(&store, 31);
    store.shutdown().unwrap();
    let (store, _) = open_with(dir.path());
    assert!(store.recovery_report().damaged_queues.is_empty());
    assert_kafka_offsets(&store, 31);
    store.shutdown().unwrap();
}

/// The same with single RocketMQ entries, and 0xFF over the last 20 bytes of
/// the file itself (an empty slot): both are noticed and repaired.
#[test]
fn queue_tail_of_ff_rocketmq_and_file_end() {
    for file_end in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open_with(dir.path());
        for i in 0..40 {
            append_rocket(&store, i);
        }
        kill(store, dir.path());
        let cq = newest_cq_file(dir.path(), "R", 0);
        let at = if file_end { -20 } else { 39 * 20 };
        overwrite(&cq, at, &[0xFF; 20]);
        let (store, _) = open_with(dir.path());
        let rep = store.recovery_report();
        assert_eq!(rep.damaged_queues, vec!["R/0".to_string()], "{rep:?}");
        assert_eq!(store.max_offset("R", 0), 40, "{rep:?}");
        assert_rocket_offsets(&store, 40, &[]);
        assert_eq!(append_rocket(&store, 40).queue_offset, 40);
        assert_rocket_offsets(&store, 41, &[]);
        store.shutdown().unwrap();
    }
}

#[test]
fn truncated_queue_file_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with(dir.path());
    for i in 0..100 {
        append_rocket(&store, i);
    }
    // A clean stop: the cheap check still notices the short file.
    store.shutdown().unwrap();
    let cq = newest_cq_file(dir.path(), "R", 0);
    OpenOptions::new()
        .write(true)
        .open(&cq)
        .unwrap()
        .set_len(10 * 20 + 7)
        .unwrap();
    let (store, _) = open_with(dir.path());
    let rep = store.recovery_report();
    assert!(!rep.unclean);
    assert_eq!(rep.damaged_queues, vec!["R/0".to_string()], "{rep:?}");
    assert_eq!(rep.queue_entries_rebuilt, 100 - 64 - 10, "{rep:?}");
    assert_eq!(store.max_offset("R", 0), 100);
    assert_rocket_offsets(&store, 100, &[]);
    assert_eq!(append_rocket(&store, 100).queue_offset, 100);
    assert_rocket_offsets(&store, 101, &[]);
    store.shutdown().unwrap();
}

/// Queue entries that point at garbage after the log end are dropped with
/// the garbage; the queue ends where the log proves it does.
#[test]
fn queue_entries_into_garbage_after_the_log_end_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with(dir.path());
    let mut last = None;
    for i in 0..20 {
        last = Some(append_rocket(&store, i));
    }
    kill(store, dir.path());
    let last = last.unwrap();
    let end = last.phy_offset + u64::from(last.bytes);
    let mut junk = vec![0u8; 300];
    junk[0..4].copy_from_slice(&200i32.to_be_bytes());
    junk[4..8].copy_from_slice(&0xDAA3_20A7u32.to_be_bytes());
    for (i, b) in junk.iter_mut().enumerate().skip(8) {
        *b = (i * 31) as u8;
    }
    log_patch(dir.path(), end, &junk);
    // Two queue entries after the last real one, pointing into the junk.
    let mut cqe = Vec::new();
    for k in 0..2u64 {
        cqe.extend_from_slice(&((end + k * 100) as i64).to_be_bytes());
        cqe.extend_from_slice(&100i32.to_be_bytes());
        cqe.extend_from_slice(&0i64.to_be_bytes());
    }
    overwrite(&newest_cq_file(dir.path(), "R", 0), 20 * 20, &cqe);
    let (store, _) = open_with(dir.path());
    let rep = store.recovery_report();
    assert_eq!(rep.log_end, end, "{rep:?}");
    assert!(rep.queue_entries_dropped >= 2, "{rep:?}");
    assert_eq!(store.max_offset("R", 0), 20);
    assert_rocket_offsets(&store, 20, &[]);
    assert_eq!(append_rocket(&store, 20).queue_offset, 20);
    assert_rocket_offsets(&store, 21, &[]);
    store.shutdown().unwrap();
}

/// Finding 2 of issue 10, as reported: kill, overwrite the last 20 written
/// bytes of the newest CommitLog segment with 0xFF, restart. The damaged
/// entry keeps its offset; readers skip it, count it once, and reach the
/// records appended after the restart.
#[test]
fn damaged_entry_below_the_checkpoint_is_skipped_not_stuck() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with(dir.path());
    let mut last = None;
    for i in 0..30 {
        last = Some(append_rocket(&store, i));
    }
    kill(store, dir.path());
    let last = last.unwrap();
    log_patch(
        dir.path(),
        last.phy_offset + u64::from(last.bytes) - 20,
        &[0xFF; 20],
    );
    let (store, reg) = open_with(dir.path());
    let rep = store.recovery_report();
    assert_eq!(rep.cut_reason, None, "{rep:?}");
    assert_eq!(store.max_offset("R", 0), 30, "{rep:?}");
    assert_rocket_offsets(&store, 29, &[]);
    // An append after the restart takes offset 30, never 29 again.
    assert_eq!(append_rocket(&store, 30).queue_offset, 30);
    for _ in 0..3 {
        let g = store.get_messages("R", 0, 29, 32, usize::MAX, None);
        assert_eq!(g.status, GetStatus::Found);
        assert_eq!(g.skipped, vec![29..30]);
        assert_eq!(g.entries.len(), 1);
        assert_eq!(g.entries[0].queue_offset, 30);
        assert_eq!(body_of(&g.entries[0].bytes), body_for(3, 30, 900));
        assert_eq!(g.next_offset, 31);
    }
    assert_eq!(counter(&reg, "rokka_store_corrupt_entries_total"), 1.0);
    store.shutdown().unwrap();
}

/// A damaged entry in the middle: a read across it returns what is before
/// and after it and names the gap; a read at it moves past it.
#[test]
fn damaged_entry_in_the_middle_is_a_recorded_gap() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with(dir.path());
    let mut at = Vec::new();
    for i in 0..40 {
        at.push(append_rocket(&store, i));
    }
    kill(store, dir.path());
    log_patch(dir.path(), at[17].phy_offset + 95, &[0x5A; 3]);
    let (store, reg) = open_with(dir.path());
    assert_rocket_offsets(&store, 40, &[17]);
    let g = store.get_messages("R", 0, 10, 20, usize::MAX, None);
    assert_eq!(g.skipped, vec![17..18]);
    let offs: Vec<u64> = g.entries.iter().map(|e| e.queue_offset).collect();
    assert_eq!(offs, (10..31).filter(|o| *o != 17).collect::<Vec<_>>());
    let g = store.get_messages("R", 0, 17, 1, usize::MAX, None);
    assert_eq!((g.entries[0].queue_offset, g.next_offset), (18, 19));
    assert_eq!(counter(&reg, "rokka_store_corrupt_entries_total"), 1.0);
    assert_eq!(append_rocket(&store, 40).queue_offset, 40);
    store.shutdown().unwrap();
}

/// A zeroed 4 KiB page over the end of a RocketMQ entry's body and its
/// properties: the entry fails its CRC, is skipped and reported.
#[test]
fn zeroed_page_over_properties_is_a_recorded_gap() {
    let dir = tempfile::tempdir().unwrap();
    let (store, reg) = open_with(dir.path());
    let big = "p".repeat(6000);
    let mut at = Vec::new();
    for i in 0..8u64 {
        let r = store
            .append_blocking(rocket(
                "R",
                0,
                &body_for(3, i, 900),
                props(&[("KEYS", &format!("k{i}")), ("BIG", &big)]),
            ))
            .unwrap();
        at.push(r);
    }
    store.shutdown().unwrap();
    drop(reg);
    // Entry 5: the page from 8 bytes before its properties on.
    let e = at[5];
    let props_len = props(&[("KEYS", "k5"), ("BIG", &big)]).len();
    let props_at = e.phy_offset + u64::from(e.bytes) - props_len as u64;
    log_patch(dir.path(), props_at - 8, &[0u8; 4096]);
    let (store, reg) = open_with(dir.path());
    let g = store.get_messages("R", 0, 0, 32, usize::MAX, None);
    assert_eq!(g.skipped, vec![5..6]);
    let offs: Vec<u64> = g.entries.iter().map(|e| e.queue_offset).collect();
    assert_eq!(offs, vec![0, 1, 2, 3, 4, 6, 7]);
    assert_eq!(counter(&reg, "rokka_store_corrupt_entries_total"), 1.0);
    assert_eq!(append_rocket(&store, 8).queue_offset, 8);
    store.shutdown().unwrap();
}

/// `verify` reports a damaged queue and a torn log tail; `--repair` moves
/// the damaged files to quarantine, cuts the tail and rebuilds the queue, and
/// the store then opens with every record and the right next offset.
#[test]
fn verify_reports_and_repair_quarantines_and_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let (store, _) = open_with(dir.path());
    let mut last = None;
    for i in 0..30 {
        last = Some(append_rocket(&store, i));
    }
    store.shutdown().unwrap();
    let clean = rokka_store::verify::verify(&cfg, false).unwrap();
    assert!(clean.is_clean(), "{clean}");
    assert_eq!(clean.entries, 30);
    // Queue damage: 0xFF over the last entry; and junk after the log end.
    overwrite(&newest_cq_file(dir.path(), "R", 0), 29 * 20, &[0xFF; 20]);
    let last = last.unwrap();
    let end = last.phy_offset + u64::from(last.bytes);
    log_patch(dir.path(), end, &[0xAB; 64]);
    let found = rokka_store::verify::verify(&cfg, false).unwrap();
    assert!(!found.is_clean());
    assert_eq!(
        found.torn_tail.as_ref().map(|t| t.offset),
        Some(end),
        "{found}"
    );
    assert!(
        found
            .queue_problems
            .iter()
            .all(|p| p.topic == "R" && p.queue_id == 0),
        "{found}"
    );
    assert!(!found.queue_problems.is_empty(), "{found}");
    let repaired = rokka_store::verify::verify(&cfg, true).unwrap();
    assert!(repaired.is_clean(), "{repaired}");
    assert!(!repaired.repaired.is_empty());
    let q = dir.path().join("quarantine");
    assert!(q.join(format!("commitlog-tail-{end:020}")).exists());
    assert!(q
        .join("consumequeue/R/0")
        .read_dir()
        .unwrap()
        .next()
        .is_some());
    let (store, _) = open_with(dir.path());
    assert_eq!(store.max_offset("R", 0), 30);
    assert_rocket_offsets(&store, 30, &[]);
    assert_eq!(append_rocket(&store, 30).queue_offset, 30);
    store.shutdown().unwrap();
}

/// A running store's directory is refused.
#[test]
fn verify_refuses_a_locked_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with(dir.path());
    let r = rokka_store::verify::verify(&small_config(dir.path()), false);
    assert!(
        matches!(r, Err(rokka_store::StoreError::Locked { .. })),
        "{r:?}"
    );
    store.shutdown().unwrap();
}
