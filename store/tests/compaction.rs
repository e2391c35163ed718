//! The log cleaner (ADR 010): many versions of a few keys and tombstones,
//! a forced pass, then a read from the beginning shows only the latest value
//! per key (and unexpired tombstones) at their original, increasing offsets;
//! other topics are untouched; a pass stopped at any step leaves a readable
//! topic; retention reclaims the old segments without losing survivors.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use common::*;
use rokka_store::topics::TopicConfig;
use rokka_store::{
    AppendPayload, AppendRequest, CrashPoint, EntryKind, KafkaBatch, Store, StoreConfig,
};

const DAY: Duration = Duration::from_secs(86_400);

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// A v2 batch of keyed records (`None` value = tombstone).
fn keyed_batch(recs: &[(&str, Option<&str>)]) -> Bytes {
    let mut body = Vec::new();
    for (i, (k, v)) in recs.iter().enumerate() {
        let mut r = vec![0u8];
        put_varint(&mut r, 0);
        put_varint(&mut r, i as i64);
        put_varint(&mut r, k.len() as i64);
        r.extend_from_slice(k.as_bytes());
        match v {
            Some(v) => {
                put_varint(&mut r, v.len() as i64);
                r.extend_from_slice(v.as_bytes());
            }
            None => put_varint(&mut r, -1),
        }
        put_varint(&mut r, 0);
        put_varint(&mut body, r.len() as i64);
        body.extend_from_slice(&r);
    }
    let mut b = vec![0u8; 61];
    b[16] = 2;
    b[23..27].copy_from_slice(&(recs.len() as i32 - 1).to_be_bytes());
    b[27..35].copy_from_slice(&1_700_000_000_000i64.to_be_bytes());
    b[35..43].copy_from_slice(&1_700_000_000_000i64.to_be_bytes());
    b[43..51].copy_from_slice(&(-1i64).to_be_bytes());
    b[51..53].copy_from_slice(&(-1i16).to_be_bytes());
    b[53..57].copy_from_slice(&(-1i32).to_be_bytes());
    b[57..61].copy_from_slice(&(recs.len() as i32).to_be_bytes());
    b.extend_from_slice(&body);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}

fn keyed(topic: &str, recs: &[(&str, Option<&str>)]) -> AppendRequest {
    AppendRequest {
        topic: Bytes::copy_from_slice(topic.as_bytes()),
        queue_id: 0,
        payload: AppendPayload::Kafka(KafkaBatch {
            batch: keyed_batch(recs),
            index_keys: Vec::new(),
            tags_codes: Vec::new(),
        }),
    }
}

fn varint(b: &[u8], at: &mut usize) -> i64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let x = b[*at];
        *at += 1;
        v |= u64::from(x & 0x7F) << shift;
        if x & 0x80 == 0 {
            return ((v >> 1) as i64) ^ -((v & 1) as i64);
        }
        shift += 7;
    }
}

/// `(offset, key, value)` of every record of a stored v2 batch, checking
/// the batch CRC, length and lastOffsetDelta.
fn records_of(batch: &[u8]) -> Vec<(u64, String, Option<String>)> {
    let be32 = |at: usize| i32::from_be_bytes(batch[at..at + 4].try_into().unwrap());
    assert_eq!(be32(8) as usize, batch.len() - 12, "batch length");
    assert_eq!(be32(17) as u32, crc32c::crc32c(&batch[21..]), "batch CRC");
    let base = i64::from_be_bytes(batch[0..8].try_into().unwrap()) as u64;
    let n = be32(57);
    let mut at = 61;
    let mut out = Vec::new();
    let mut last_delta = 0;
    for _ in 0..n {
        let len = varint(batch, &mut at) as usize;
        let end = at + len;
        let mut p = at + 1;
        varint(batch, &mut p);
        let delta = varint(batch, &mut p);
        let kl = varint(batch, &mut p) as usize;
        let key = String::from_utf8(batch[p..p + kl].to_vec()).unwrap();
        p += kl;
        let vl = varint(batch, &mut p);
        let value =
            (vl >= 0).then(|| String::from_utf8(batch[p..p + vl as usize].to_vec()).unwrap());
        out.push((base + delta as u64, key, value));
        last_delta = delta;
        at = end;
    }
    assert_eq!(at, batch.len());
    assert_eq!(be32(23) as i64, last_delta, "lastOffsetDelta");
    out
}

/// Reads a queue from `from` as a Kafka consumer does: whole batches,
/// records below the fetch position dropped, next fetch after the last
/// record. Returns `(offset, key, value)`.
fn read_all(store: &Store, topic: &str, from: u64) -> Vec<(u64, String, Option<String>)> {
    let mut out: Vec<(u64, String, Option<String>)> = Vec::new();
    let mut next = from;
    let max = store.max_offset(topic, 0);
    for _ in 0..10_000 {
        if next >= max {
            break;
        }
        let r = store.get_messages(topic, 0, next, 7, 1 << 20, None);
        assert!(
            !r.entries.is_empty(),
            "no entries at {next}: {:?}",
            r.status
        );
        for e in &r.entries {
            let recs = match e.kind {
                EntryKind::KafkaBatch => {
                    let range = rokka_store::entry::kafka::batch_range(&e.bytes).unwrap();
                    records_of(&e.bytes[range])
                }
                EntryKind::RocketMq => vec![(e.queue_offset, String::new(), None)],
            };
            for rec in recs {
                if rec.0 >= next {
                    next = rec.0 + 1;
                    out.push(rec);
                }
            }
        }
        next = next.max(r.next_offset);
    }
    out
}

fn compacted_topic(store: &Store, name: &str, attrs: &[(&str, &str)]) {
    let mut t = TopicConfig::new(name, 1);
    for (k, v) in attrs {
        t.attributes.insert(k.to_string(), v.to_string());
    }
    store.topics().put(t).unwrap();
}

fn config(dir: &std::path::Path) -> StoreConfig {
    let mut c = StoreConfig::for_tests(dir);
    c.max_message_size = 64 * 1024;
    c.clean_interval = Duration::from_secs(3600);
    c.compaction_interval = Duration::from_secs(3600); // only the test's passes run
    c
}

/// Writes 40 batches of 5 records over keys k0..k3, with tombstones of k1
/// (later rewritten) and k3 (the key's last record). Returns the records
/// written, by offset.
fn fill(store: &Store, topic: &str) -> Vec<(u64, String, Option<String>)> {
    let mut all = Vec::new();
    for b in 0..40u64 {
        let recs: Vec<(String, Option<String>)> = (0..5u64)
            .map(|i| {
                let n = b * 5 + i;
                let key = format!("k{}", n % 4);
                let value = match n {
                    101 => None, // k1 deleted, then written again at 105
                    199 => None, // k3's last record: a tombstone
                    _ => Some(format!("v{n}")),
                };
                (key, value)
            })
            .collect();
        let refs: Vec<(&str, Option<&str>)> = recs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        let r = store.append_blocking(keyed(topic, &refs)).unwrap();
        for (i, (k, v)) in recs.into_iter().enumerate() {
            all.push((r.queue_offset + i as u64, k, v));
        }
    }
    all
}

/// The latest record of each key, in offset order; tombstones dropped
/// unless `tombstones`.
fn expected(
    all: &[(u64, String, Option<String>)],
    tombstones: bool,
) -> Vec<(u64, String, Option<String>)> {
    let mut last: BTreeMap<&str, &(u64, String, Option<String>)> = BTreeMap::new();
    for r in all {
        last.insert(&r.1, r);
    }
    let mut v: Vec<_> = last
        .into_values()
        .filter(|r| tombstones || r.2.is_some())
        .cloned()
        .collect();
    v.sort();
    v
}

#[test]
fn a_pass_keeps_the_latest_record_per_key_at_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    compacted_topic(&store, "c", &[("cleanup.policy", "compact")]);
    let all = fill(&store, "c");
    let other = fill(&store, "plain");
    // Records a plain RocketMQ/Kafka reader sees before the pass.
    assert_eq!(read_all(&store, "c", 0), all);
    let rep = store.compact_now().unwrap();
    assert_eq!(rep.queues, 1);
    assert_eq!(rep.queues_rewritten, 1);
    assert_eq!(rep.records_removed, 196);
    let got = read_all(&store, "c", 0);
    assert_eq!(got, expected(&all, true));
    // Offsets unchanged and increasing; end offset unchanged.
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(store.max_offset("c", 0), 200);
    // Reading from any offset, removed or not, gives the survivors from there.
    for from in [0, 1, 50, 101, 150, 196, 197, 199] {
        let want: Vec<_> = expected(&all, true)
            .into_iter()
            .filter(|r| r.0 >= from)
            .collect();
        assert_eq!(read_all(&store, "c", from), want, "from {from}");
    }
    // Other topics untouched.
    assert_eq!(read_all(&store, "plain", 0), other);
    // A second pass has nothing to do.
    let again = store.compact_now().unwrap();
    assert_eq!((again.records_removed, again.bytes_copied), (0, 0));
    // After delete.retention.ms the tombstone goes too (unless it is the
    // range's last record, kept as the target of the holes before it).
    let later = store.compact_at(SystemTime::now() + 2 * DAY, None).unwrap();
    assert_eq!(
        later.records_removed, 0,
        "k3's tombstone is the last record"
    );
    store
        .append_blocking(keyed("c", &[("k0", Some("new"))]))
        .unwrap();
    let later = store.compact_at(SystemTime::now() + 2 * DAY, None).unwrap();
    assert_eq!(later.records_removed, 2); // k0's old value and k3's tombstone
    let got = read_all(&store, "c", 0);
    let keys: Vec<_> = got.iter().map(|r| (r.1.as_str(), r.2.as_deref())).collect();
    assert_eq!(
        keys,
        vec![
            ("k1", Some("v197")),
            ("k2", Some("v198")),
            ("k0", Some("new"))
        ]
    );
    // The view survives a restart.
    store.shutdown().unwrap();
    drop(store);
    let store = open(config(dir.path()));
    assert_eq!(read_all(&store, "c", 0), got);
    assert_eq!(read_all(&store, "plain", 0), other);
}

#[test]
fn min_compaction_lag_leaves_young_records_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    compacted_topic(
        &store,
        "c",
        &[
            ("cleanup.policy", "compact,delete"),
            ("min.compaction.lag.ms", "3600000"),
        ],
    );
    let all = fill(&store, "c");
    let rep = store.compact_now().unwrap();
    assert_eq!(rep.records_removed, 0);
    assert_eq!(read_all(&store, "c", 0), all);
    let rep = store
        .compact_at(SystemTime::now() + Duration::from_secs(7200), None)
        .unwrap();
    assert_eq!(rep.records_removed, 196);
}

#[test]
fn rocketmq_messages_are_compacted_by_their_first_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    compacted_topic(&store, "r", &[("cleanup.policy", "compact")]);
    for i in 0..30u64 {
        let key = format!("key{} other", i % 3);
        let body = if i == 25 {
            Vec::new()
        } else {
            format!("b{i}").into_bytes()
        };
        store
            .append_blocking(rocket("r", 0, &body, props(&[("KEYS", &key)])))
            .unwrap();
    }
    // A message without keys is never removed.
    store
        .append_blocking(rocket("r", 0, b"nokey", props(&[])))
        .unwrap();
    store.compact_now().unwrap();
    let r = store.get_messages("r", 0, 0, 100, 1 << 20, None);
    let offsets: Vec<u64> = r.entries.iter().map(|e| e.queue_offset).collect();
    // 27 (key0), 28 (key1), 29 (key2), 30 (no key); 25 was key1's tombstone,
    // superseded by 28.
    assert_eq!(offsets, vec![27, 28, 29, 30]);
    assert_eq!(r.next_offset, 31);
}

#[test]
fn a_pass_stopped_at_any_step_leaves_a_readable_topic() {
    for point in [
        CrashPoint::AfterCopies,
        CrashPoint::AfterJournal,
        CrashPoint::MidRewrite,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = open(config(dir.path()));
        compacted_topic(&store, "c", &[("cleanup.policy", "compact")]);
        let all = fill(&store, "c");
        let other = fill(&store, "plain");
        // Let the flusher checkpoint (Store::flush would race it on the
        // checkpoint's temp file).
        std::thread::sleep(Duration::from_millis(200));
        let err = store
            .compact_at(SystemTime::now(), Some(point))
            .unwrap_err();
        assert!(matches!(err, rokka_store::StoreError::Interrupted(_)));
        // Mid-way the topic reads as a log where each key ends at its
        // latest value: every offset once, increasing.
        let mid = read_all(&store, "c", 0);
        assert!(mid.windows(2).all(|w| w[0].0 < w[1].0), "{point:?}");
        assert!(expected(&all, true).iter().all(|r| mid.contains(r)));
        assert!(mid.iter().all(|r| all.contains(r)));
        // Crash: no shutdown.
        drop(store);
        let store = open(config(dir.path()));
        let after = read_all(&store, "c", 0);
        assert!(after.windows(2).all(|w| w[0].0 < w[1].0), "{point:?}");
        assert!(expected(&all, true).iter().all(|r| after.contains(r)));
        assert!(after.iter().all(|r| all.contains(r)));
        if point != CrashPoint::AfterCopies {
            // The journal was re-applied at open.
            assert_eq!(after, expected(&all, true), "{point:?}");
        }
        assert_eq!(read_all(&store, "plain", 0), other);
        // The next pass finishes the job.
        store.compact_now().unwrap();
        assert_eq!(read_all(&store, "c", 0), expected(&all, true), "{point:?}");
        assert!(!dir.path().join("compaction.journal").exists());
    }
}

#[test]
fn retention_reclaims_old_segments_and_keeps_the_survivors() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.commit_log_segment_size = 64 * 1024;
    cfg.max_message_size = 16 * 1024;
    cfg.file_reserved_hours = 0;
    cfg.disk_max_used_space_ratio = 1.0;
    cfg.disk_clean_forcibly_ratio = 1.0;
    let store = open(cfg);
    compacted_topic(&store, "c", &[("cleanup.policy", "compact")]);
    let all = fill(&store, "c");
    // Other traffic fills several segments.
    let pad = vec![b'x'; 4000];
    for _ in 0..60 {
        store
            .append_blocking(rocket("plain", 0, &pad, props(&[])))
            .unwrap();
    }
    let segs = || {
        std::fs::read_dir(dir.path().join("commitlog"))
            .unwrap()
            .count()
    };
    assert!(segs() >= 4);
    let first_seg_end = 64 * 1024;
    // Before any pass, the compacted topic's segment is pinned (computed at
    // the last pass; here: none yet, so the first pass pins it).
    store.compact_now().unwrap();
    let (log_min_before, _) = store.commit_log_bounds();
    assert_eq!(log_min_before, 0);
    let hour = store.config().delete_when[0];
    let deleted = store.run_retention(SystemTime::now() + DAY, hour).unwrap();
    assert!(
        deleted >= 1,
        "the survivors were moved out of the old segments"
    );
    let (log_min, _) = store.commit_log_bounds();
    assert!(log_min >= first_seg_end);
    assert_eq!(read_all(&store, "c", 0), expected(&all, true));
    // The plain topic lost its old records to retention, as usual.
    assert!(store.min_offset("plain", 0) > 0);
}
