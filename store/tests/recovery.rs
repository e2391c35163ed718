//! Recovery fixtures: logs with torn and corrupt tails (half-written entry,
//! bad CRC, zeroed page, garbage after the end) must be cut at the first
//! invalid entry, keep everything before it, and accept appends afterwards.

mod common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use common::*;
use rokka_store::{GetStatus, Store};

const SEG: u64 = 64 * 1024;

/// Writes `n` messages to queue 0 of "R" and stops cleanly; returns (phy, size) of each.
fn fixture(dir: &Path, n: u64) -> Vec<(u64, u32)> {
    let store = open(small_config(dir));
    let mut out = Vec::new();
    for i in 0..n {
        let r = store
            .append_blocking(rocket(
                "R",
                0,
                &body_for(9, i, 1500),
                props(&[("KEYS", &format!("key{i}"))]),
            ))
            .unwrap();
        out.push((r.phy_offset, r.bytes));
    }
    store.shutdown().unwrap();
    out
}

/// Overwrites bytes of the log at global offset `phy`.
fn patch(dir: &Path, phy: u64, bytes: &[u8]) {
    let seg = phy / SEG * SEG;
    let mut f = OpenOptions::new()
        .write(true)
        .open(dir.join("commitlog").join(format!("{seg:020}")))
        .unwrap();
    f.seek(SeekFrom::Start(phy - seg)).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
}

/// Marks the last stop unclean and forgets the checkpoint, as after a crash.
fn crash_marker(dir: &Path, keep_checkpoint: bool) {
    std::fs::write(dir.join("abort"), b"").unwrap();
    if !keep_checkpoint {
        std::fs::remove_file(dir.join("checkpoint")).unwrap();
    }
}

fn assert_prefix_readable(store: &Store, n: u64) {
    assert_eq!(store.max_offset("R", 0), n);
    for i in 0..n {
        let g = store.get_messages("R", 0, i, 1, usize::MAX, None);
        assert_eq!(g.status, GetStatus::Found, "offset {i}");
        let body_len = i32::from_be_bytes(g.entries[0].bytes[84..88].try_into().unwrap()) as usize;
        assert_eq!(
            &g.entries[0].bytes[88..88 + body_len],
            body_for(9, i, 1500).as_slice(),
            "offset {i}"
        );
    }
}

fn reopen_and_check_cut(dir: &Path, keep: u64, last_phy: u64) {
    let store = open(small_config(dir));
    let rep = store.recovery_report();
    assert!(rep.unclean);
    assert_eq!(rep.log_end, last_phy, "{rep:?}");
    assert!(rep.cut_reason.is_some(), "{rep:?}");
    assert_prefix_readable(&store, keep);
    // The cut entry's key no longer resolves.
    assert!(store
        .query_by_key("R", &format!("key{keep}"), 0, i64::MAX, 4)
        .is_empty());
    // Appends continue at the cut, with the next queue offset.
    let r = store
        .append_blocking(rocket("R", 0, &body_for(9, keep, 1500), props(&[])))
        .unwrap();
    assert_eq!((r.phy_offset, r.queue_offset), (last_phy, keep));
    store.shutdown().unwrap();
    // And the repaired log reopens cleanly with everything in it.
    let store = open(small_config(dir));
    assert!(!store.recovery_report().unclean);
    assert_prefix_readable(&store, keep + 1);
    store.shutdown().unwrap();
}

#[test]
fn half_written_entry_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 100);
    let (phy, size) = entries[99];
    patch(
        dir.path(),
        phy + size as u64 / 2,
        &vec![0u8; size as usize / 2],
    );
    crash_marker(dir.path(), false);
    reopen_and_check_cut(dir.path(), 99, phy);
}

#[test]
fn bad_crc_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 60);
    let (phy, _) = entries[57];
    // Flip a body byte (body starts at 88 for IPv4 hosts).
    patch(dir.path(), phy + 90, &[0xAA, 0x55]);
    crash_marker(dir.path(), false);
    reopen_and_check_cut(dir.path(), 57, phy);
}

#[test]
fn zeroed_page_is_cut_at_the_first_entry_it_touches() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 80);
    let page = (entries[70].0 + 10) / 4096 * 4096 + 4096;
    patch(dir.path(), page, &[0u8; 4096]);
    let first_hit = entries
        .iter()
        .position(|(p, s)| p + *s as u64 > page)
        .unwrap();
    crash_marker(dir.path(), false);
    reopen_and_check_cut(dir.path(), first_hit as u64, entries[first_hit].0);
}

#[test]
fn garbage_after_the_end_is_cut_and_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 30);
    let (phy, size) = entries[29];
    let end = phy + size as u64;
    // A plausible-looking length and magic, then noise.
    let mut junk = vec![0u8; 300];
    junk[0..4].copy_from_slice(&200i32.to_be_bytes());
    junk[4..8].copy_from_slice(&0xDAA3_20A7u32.to_be_bytes());
    for (i, b) in junk.iter_mut().enumerate().skip(8) {
        *b = (i * 31) as u8;
    }
    patch(dir.path(), end, &junk);
    crash_marker(dir.path(), false);
    let store = open(small_config(dir.path()));
    let rep = store.recovery_report();
    assert_eq!(rep.log_end, end);
    assert!(rep.cut_reason.is_some());
    assert_prefix_readable(&store, 30);
    store.shutdown().unwrap();
    // The junk was zeroed: a later crash-recovery scan ends at the same place.
    crash_marker(dir.path(), false);
    let store = open(small_config(dir.path()));
    assert_eq!(store.recovery_report().cut_reason, None);
    assert_eq!(store.recovery_report().log_end, end);
    store.shutdown().unwrap();
}

#[test]
fn recovery_rescans_only_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    fixture(dir.path(), 40);
    let saved = std::fs::read(dir.path().join("checkpoint")).unwrap();
    {
        let store = open(small_config(dir.path()));
        for i in 40..55 {
            store
                .append_blocking(rocket("R", 0, &body_for(9, i, 1500), props(&[])))
                .unwrap();
        }
        store.shutdown().unwrap();
    }
    // Crash with an older checkpoint: only the 15 later entries are re-scanned.
    std::fs::write(dir.path().join("checkpoint"), saved).unwrap();
    crash_marker(dir.path(), true);
    let store = open(small_config(dir.path()));
    let rep = store.recovery_report();
    assert_eq!(rep.entries_replayed, 15, "{rep:?}");
    assert_eq!(rep.cut_reason, None);
    assert_prefix_readable(&store, 55);
    store.shutdown().unwrap();
}

#[test]
fn lost_queue_entries_are_rebuilt_and_stale_ones_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let entries = fixture(dir.path(), 100);
    // Remove the queue files entirely: a full re-scan must rebuild them.
    std::fs::remove_dir_all(dir.path().join("consumequeue")).unwrap();
    // And cut the log in the middle: queue entries past the cut must vanish.
    let (phy, _) = entries[90];
    patch(dir.path(), phy, &[0u8; 8]);
    crash_marker(dir.path(), false);
    let store = open(small_config(dir.path()));
    assert_eq!(store.recovery_report().log_end, phy);
    assert_prefix_readable(&store, 90);
    assert_eq!(store.query_by_key("R", "key42", 0, i64::MAX, 4).len(), 1);
    store.shutdown().unwrap();
}

#[test]
fn torn_kafka_batch_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = {
        let store = open(small_config(dir.path()));
        let a = store
            .append_blocking(kafka("R", 0, &[b"one", b"two"], vec![]))
            .unwrap();
        let b = store
            .append_blocking(kafka("R", 0, &[b"three", b"four", b"five"], vec![]))
            .unwrap();
        store.shutdown().unwrap();
        (a, b)
    };
    patch(dir.path(), b.phy_offset + b.bytes as u64 - 3, &[1, 2, 3]);
    crash_marker(dir.path(), false);
    let store = open(small_config(dir.path()));
    assert_eq!(store.recovery_report().log_end, b.phy_offset);
    assert_eq!(store.max_offset("R", 0), 2);
    assert_eq!(store.read_at(a.phy_offset).unwrap().count, 2);
    store.shutdown().unwrap();
}
