//! Store-level replication: chunks read from one store and appended to
//! another give identical bytes, physical offsets and queue offsets (across
//! segment rolls and blank fillers); truncation then re-replication ends
//! identical; bad chunks are refused without damage.

mod common;

use bytes::Bytes;
use common::*;
use rokka_store::{Store, StoreError};

/// Copies `master` into `slave` chunk by chunk; returns the chunk count.
fn sync(master: &Store, slave: &Store, max: usize) -> usize {
    let mut n = 0;
    loop {
        let from = slave.log_end();
        let chunk = master.read_replica_chunk(from, max).unwrap();
        if chunk.is_empty() {
            return n;
        }
        let end = slave.append_replica_blocking(from, chunk.clone()).unwrap();
        assert!(end > from);
        n += 1;
    }
}

fn fill(s: &Store, seed: u64, n: u64) {
    for i in 0..n {
        let body = body_for(seed, i, 3000);
        let key = format!("k{seed}-{i}");
        let req = if i % 3 == 0 {
            kafka(
                "tk",
                (i % 2) as u32,
                &[&body, b"x"],
                vec![(0, Bytes::from(key))],
            )
        } else {
            rocket("tr", (i % 4) as u32, &body, props(&[("KEYS", &key)]))
        };
        s.append_blocking(req).unwrap();
    }
}

fn assert_identical(a: &Store, b: &Store) {
    assert_eq!(a.commit_log_bounds(), b.commit_log_bounds());
    let (lo, end) = a.commit_log_bounds();
    let (mut pa, mut pb) = (lo, lo);
    while pa < end {
        let ca = a.read_replica_chunk(pa, 1 << 20).unwrap();
        let cb = b.read_replica_chunk(pb, 1 << 20).unwrap();
        assert_eq!(ca, cb, "bytes differ at {pa}");
        pa += ca.len() as u64;
        pb += cb.len() as u64;
        // A blank filler is sent as 8 bytes but reaches the segment end.
        let seg = a.config().commit_log_segment_size;
        if ca.len() >= 8 && pa % seg != 0 && a.read_at(pa).is_none() && pa < end {
            pa = pa.next_multiple_of(seg);
            pb = pa;
        }
    }
    for (t, q) in [
        ("tk", 0),
        ("tk", 1),
        ("tr", 0),
        ("tr", 1),
        ("tr", 2),
        ("tr", 3),
    ] {
        assert_eq!(a.max_offset(t, q), b.max_offset(t, q), "{t}/{q}");
        let ra = a.get_messages(t, q, 0, 10_000, usize::MAX, None);
        let rb = b.get_messages(t, q, 0, 10_000, usize::MAX, None);
        assert_eq!(ra.entries.len(), rb.entries.len());
        for (x, y) in ra.entries.iter().zip(&rb.entries) {
            assert_eq!(
                (x.phy_offset, x.queue_offset, &x.bytes),
                (y.phy_offset, y.queue_offset, &y.bytes)
            );
        }
    }
}

#[test]
fn replicated_store_is_identical_across_segments() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = open(small_config(d1.path()));
    let slave = open(small_config(d2.path()));
    slave.set_read_only(true);
    fill(&master, 1, 300);
    assert!(
        master.commit_log_bounds().1 > 3 * 64 * 1024,
        "several segments"
    );
    let chunks = sync(&master, &slave, 16 * 1024);
    assert!(chunks > 10);
    assert_identical(&master, &slave);
    // The slave's index answers key look-ups from its own IndexFile.
    let hit = slave.query_by_key("tr", "k1-7", 0, i64::MAX, 4);
    assert_eq!(hit.len(), 1);
    // Client writes are refused on a slave, replication still works.
    assert!(matches!(
        slave.append_blocking(rocket("tr", 0, b"no", props(&[]))),
        Err(StoreError::SlaveReadOnly)
    ));
    fill(&master, 2, 50);
    sync(&master, &slave, 1 << 20);
    assert_identical(&master, &slave);
    // Survives a restart with identical content.
    slave.shutdown().unwrap();
    drop(slave);
    let slave = open(small_config(d2.path()));
    assert_identical(&master, &slave);
}

#[test]
fn truncate_then_rereplicate() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(small_config(d1.path()));
    let b = open(small_config(d2.path()));
    fill(&a, 3, 100);
    sync(&a, &b, 64 * 1024);
    let common_end = a.log_end();
    // Both diverge: b (an old master) writes a tail a never sees.
    fill(&a, 4, 40);
    fill(&b, 5, 70);
    assert_ne!(a.log_end(), b.log_end());
    // Truncation past the end or inside nothing valid is refused.
    assert!(b.truncate_log_blocking(b.log_end() + 1).is_err());
    assert_eq!(b.truncate_log_blocking(common_end).unwrap(), common_end);
    assert_eq!(b.log_end(), common_end);
    sync(&a, &b, 64 * 1024);
    assert_identical(&a, &b);
}

#[test]
fn bad_chunks_are_refused_without_damage() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(small_config(d1.path()));
    let b = open(small_config(d2.path()));
    fill(&a, 6, 20);
    let chunk = a.read_replica_chunk(0, 1 << 20).unwrap();
    // Wrong start offset.
    assert!(b.append_replica_blocking(10, chunk.clone()).is_err());
    // A flipped byte fails the entry's CRC.
    let mut bad = chunk.to_vec();
    bad[200] ^= 0xff;
    assert!(b.append_replica_blocking(0, Bytes::from(bad)).is_err());
    // A chunk cut inside an entry: whole entries before the cut are kept.
    let cut = chunk.slice(..chunk.len() - 5);
    let err = b.append_replica_blocking(0, cut);
    assert!(err.is_err());
    let kept = b.log_end();
    assert!(kept > 0 && kept < chunk.len() as u64);
    assert!(
        a.read_replica_chunk(7, 1 << 20).is_err(),
        "not an entry start"
    );
    let rest = a.read_replica_chunk(kept, 1 << 20).unwrap();
    b.append_replica_blocking(kept, rest).unwrap();
    assert_eq!(b.log_end(), a.log_end());
    assert_identical(&a, &b);
}
