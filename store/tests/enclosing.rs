//! `Store::read_enclosing`: the entry containing a CommitLog offset, which is
//! how a record of a Kafka batch is found by its own offset message id
//! (batch start + record index).

mod common;

use common::*;
use rokka_store::entry::kafka::MAGIC;
use rokka_store::{EntryKind, Store};

/// A batch of `n` values of `len` bytes, all distinct.
fn values(n: usize, len: usize, seed: u8) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| (0..len).map(|j| seed ^ (i * 31 + j) as u8).collect())
        .collect()
}

fn append_batch(store: &Store, topic: &str, vals: &[Vec<u8>]) -> (u64, u64, u32) {
    let refs: Vec<&[u8]> = vals.iter().map(|v| &v[..]).collect();
    let r = store
        .append_blocking(kafka(topic, 0, &refs, Vec::new()))
        .expect("append batch");
    (r.phy_offset, r.bytes as u64, r.count)
}

/// Asserts that `phy` resolves to the entry at `start`.
fn resolves_to(store: &Store, phy: u64, start: u64, kind: EntryKind) {
    let e = store
        .read_enclosing(phy)
        .unwrap_or_else(|| panic!("offset {phy} should resolve to the entry at {start}"));
    assert_eq!(e.phy_offset, start, "offset {phy}");
    assert_eq!(e.kind, kind, "offset {phy}");
}

#[test]
fn entry_starts_and_interior_offsets_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let r0 = store
        .append_blocking(rocket("T", 0, b"before", props(&[])))
        .unwrap();
    let (p, len, count) = append_batch(&store, "K", &values(5, 40, 1));
    assert_eq!(count, 5);
    let r2 = store
        .append_blocking(rocket("T", 0, b"after", props(&[])))
        .unwrap();
    assert_eq!(r2.phy_offset, p + len);

    resolves_to(&store, r0.phy_offset, r0.phy_offset, EntryKind::RocketMq);
    resolves_to(&store, r2.phy_offset, r2.phy_offset, EntryKind::RocketMq);
    // Record offsets P + i, then offsets past the record count: the entry is
    // still found (the caller refuses i >= count), up to its last byte.
    for o in (p..p + u64::from(count)).chain([p + 5, p + 48, p + len / 2, p + len - 1]) {
        let e = store.read_enclosing(o).expect("inside the batch");
        assert_eq!(
            (e.phy_offset, e.kind, e.count),
            (p, EntryKind::KafkaBatch, 5)
        );
        assert_eq!(e.bytes.len() as u64, len);
    }
    // Interior offsets of a RocketMQ entry are no message.
    for o in [
        r0.phy_offset + 1,
        r0.phy_offset + 20,
        p - 1,
        r2.phy_offset + 3,
    ] {
        assert!(store.read_enclosing(o).is_none(), "offset {o}");
    }
}

#[test]
fn offsets_at_or_beyond_the_write_position_find_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    assert!(store.read_enclosing(0).is_none(), "empty log");
    let (p, len, _) = append_batch(&store, "K", &values(3, 10, 2));
    let (_, end) = store.commit_log_bounds();
    assert_eq!(end, p + len);
    for o in [end, end + 1, end + 100, 64 * 1024, u64::MAX - 1, u64::MAX] {
        assert!(store.read_enclosing(o).is_none(), "offset {o}");
    }
    resolves_to(&store, end - 1, p, EntryKind::KafkaBatch);
}

#[test]
fn batches_across_segments_and_the_blank_filler() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(dir.path());
    let seg = cfg.commit_log_segment_size;
    let store = open(cfg);
    let mut batches = Vec::new();
    let mut i = 0u8;
    while store.commit_log_bounds().1 < 3 * seg + 1000 {
        let n = 1 + usize::from(i % 7);
        batches.push(append_batch(
            &store,
            "K",
            &values(n, 300 + 97 * usize::from(i % 11), i),
        ));
        i = i.wrapping_add(1);
    }
    // Every segment after the first starts with a batch.
    for base in [seg, 2 * seg, 3 * seg] {
        let first = batches.iter().find(|b| b.0 >= base).unwrap();
        assert_eq!(first.0, base, "a batch opens the segment at {base}");
    }
    for &(p, len, count) in &batches {
        let probes = [
            0,
            1,
            u64::from(count) - 1,
            u64::from(count),
            61,
            len / 3,
            len - 1,
        ];
        for d in probes.into_iter().chain((0..len).step_by(211)) {
            resolves_to(&store, p + d, p, EntryKind::KafkaBatch);
        }
    }
    // The blank filler at the end of each full segment is no entry, and an
    // offset there never reaches back into the last batch of the segment.
    for base in [0, seg, 2 * seg] {
        let last = batches
            .iter()
            .rfind(|b| b.0 >= base && b.0 < base + seg)
            .unwrap();
        let filler = last.0 + last.1;
        assert!(filler < base + seg, "segment at {base} ends with a filler");
        for o in [
            filler,
            filler + 1,
            (filler + base + seg) / 2,
            base + seg - 1,
        ] {
            assert!(store.read_enclosing(o).is_none(), "filler offset {o}");
        }
    }
}

#[test]
fn garbage_that_looks_like_an_entry_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    // A first batch tells where a value lands inside an entry of this shape.
    let marker = b"@@marker-of-the-fake-entry@@@@@@".to_vec();
    let mut vals = values(4, 64, 3);
    vals[2] = [marker.clone(), vec![0; 64]].concat();
    let (p1, len1, _) = append_batch(&store, "K", &vals);
    let e1 = store.read_at(p1).unwrap();
    let at = e1
        .bytes
        .windows(marker.len())
        .position(|w| w == &marker[..])
        .unwrap() as u64;

    // The second batch has the same shape; its value carries a fake header
    // with the magic, a span reaching past the value and its own position
    // in the physical offset field, but no valid CRC.
    let p2 = p1 + len1;
    let fake_at = p2 + at;
    let mut fake = vec![0u8; marker.len() + 64];
    fake[0..4].copy_from_slice(&120i32.to_be_bytes());
    fake[4..8].copy_from_slice(&MAGIC.to_be_bytes());
    fake[24..32].copy_from_slice(&(fake_at as i64).to_be_bytes());
    // A second fake, magic only, with a wrong offset field.
    fake[40..44].copy_from_slice(&60i32.to_be_bytes());
    fake[44..48].copy_from_slice(&MAGIC.to_be_bytes());
    vals[2] = fake;
    let (p, len2, _) = append_batch(&store, "K", &vals);
    assert_eq!((p, len2), (p2, len1));

    for o in [
        fake_at,
        fake_at + 1,
        fake_at + 10,
        fake_at + 40,
        fake_at + 50,
        fake_at + 100,
    ] {
        resolves_to(&store, o, p2, EntryKind::KafkaBatch);
    }
    // The same bytes in a RocketMQ body: interior offsets stay no message.
    let (_, end) = store.commit_log_bounds();
    let mut body = vec![0u8; 96];
    body[0..4].copy_from_slice(&50i32.to_be_bytes());
    body[4..8].copy_from_slice(&MAGIC.to_be_bytes());
    let r = store
        .append_blocking(rocket("T", 0, &body, props(&[])))
        .unwrap();
    assert_eq!(r.phy_offset, end);
    let e = store.read_at(r.phy_offset).unwrap();
    let body_at = e.bytes.windows(8).position(|w| w == &body[..8]).unwrap() as u64;
    let fake_phy = r.phy_offset + body_at;
    assert!(store.read_enclosing(fake_phy + 10).is_none());
    assert!(store.read_enclosing(fake_phy).is_none());
    resolves_to(&store, r.phy_offset, r.phy_offset, EntryKind::RocketMq);
}
