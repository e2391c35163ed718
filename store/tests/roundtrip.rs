//! Append/read round-trips across segment rolls, both entry kinds, queue and
//! index look-ups, and persistence of offsets and topic configs.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use proptest::prelude::*;
use rokka_store::topics::TopicConfig;
use rokka_store::{EntryKind, GetStatus};

fn rocket_body(e: &rokka_store::StoredEntry) -> Vec<u8> {
    // Parse through the public decoder-free path: body is at a known place, so
    // use the index helpers via a scan of the whole entry bytes.
    let total = e.bytes.len();
    assert!(total > 91);
    let body_len = i32::from_be_bytes(e.bytes[84..88].try_into().unwrap()) as usize;
    e.bytes[88..88 + body_len].to_vec()
}

#[test]
fn messages_and_batches_roll_segments_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let mut expected = Vec::new();
    for i in 0..400u64 {
        let body = body_for(1, i, 3000);
        let r = store
            .append_blocking(rocket(
                "T",
                (i % 3) as u32,
                &body,
                props(&[("KEYS", &format!("k{i}"))]),
            ))
            .unwrap();
        assert_eq!(r.count, 1);
        assert_eq!(r.queue_offset, i / 3);
        expected.push(((i % 3) as u32, r.queue_offset, body, r.phy_offset));
    }
    let (min, max) = store.commit_log_bounds();
    assert_eq!(min, 0);
    assert!(max > 6 * 64 * 1024, "several segments were used: end {max}");
    for (q, off, body, phy) in &expected {
        let g = store.get_messages("T", *q, *off, 1, usize::MAX, None);
        assert_eq!(g.status, GetStatus::Found);
        assert_eq!(g.entries.len(), 1);
        let e = &g.entries[0];
        assert_eq!(e.kind, EntryKind::RocketMq);
        assert_eq!(e.phy_offset, *phy);
        assert_eq!(e.queue_offset, *off);
        assert_eq!(&rocket_body(e), body);
        assert_eq!(g.next_offset, off + 1);
    }
    let by_key = store.query_by_key("T", "k77", 0, i64::MAX, 10);
    assert_eq!(by_key.len(), 1);
    assert_eq!(by_key[0].phy_offset, expected[77].3);
    assert!(store
        .query_by_key("T", "k-none", 0, i64::MAX, 10)
        .is_empty());
    assert!(store
        .query_by_key("Other", "k77", 0, i64::MAX, 10)
        .is_empty());
    store.shutdown().unwrap();
}

#[test]
fn kafka_batch_gets_one_queue_entry_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let a = store
        .append_blocking(kafka(
            "K",
            0,
            &[b"a", b"b", b"c"],
            vec![(1, Bytes::from_static(b"key-b"))],
        ))
        .unwrap();
    let b = store
        .append_blocking(kafka("K", 0, &[b"d", b"e"], vec![]))
        .unwrap();
    assert_eq!((a.queue_offset, a.count), (0, 3));
    assert_eq!((b.queue_offset, b.count), (3, 2));
    assert_eq!(store.max_offset("K", 0), 5);
    let cq = store.consume_queue("K", 0).unwrap();
    for off in 0..3 {
        assert_eq!(cq.get(off).unwrap().phy_offset, a.phy_offset);
    }
    assert_eq!(cq.get(4).unwrap().phy_offset, b.phy_offset);
    // Reading from inside a batch returns the whole batch, then the next one.
    let g = store.get_messages("K", 0, 1, 100, usize::MAX, None);
    assert_eq!(g.entries.len(), 2);
    assert_eq!(g.entries[0].queue_offset, 0);
    assert_eq!(g.entries[0].count, 3);
    assert_eq!(g.next_offset, 5);
    // The stored batch carries its assigned base offset.
    let e = store.read_at(b.phy_offset).unwrap();
    let batch_start = e.bytes.len() - rokka_store::entry::kafka::test_batch(&[b"d", b"e"]).len();
    assert_eq!(&e.bytes[batch_start..batch_start + 8], &3i64.to_be_bytes());
    assert_eq!(
        store.query_by_key("K", "key-b", 0, i64::MAX, 5)[0].phy_offset,
        a.phy_offset
    );
    store.shutdown().unwrap();
}

#[test]
fn statuses_bounds_and_tag_filter() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    assert_eq!(
        store.get_messages("none", 0, 0, 1, 1, None).status,
        GetStatus::NoMatchedLogicQueue
    );
    for i in 0..10 {
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        store
            .append_blocking(rocket("F", 0, b"x", props(&[("TAGS", tag)])))
            .unwrap();
    }
    assert_eq!(
        store.get_messages("F", 0, 10, 1, 1, None).status,
        GetStatus::OffsetOverflowOne
    );
    assert_eq!(
        store.get_messages("F", 0, 11, 1, 1, None).status,
        GetStatus::OffsetOverflowBadly
    );
    let want = rokka_store::java_string_hash("TagB") as i64;
    let only_b = move |code: i64| code == want;
    let g = store.get_messages("F", 0, 0, 32, usize::MAX, Some(&only_b));
    assert_eq!(g.entries.len(), 5);
    assert!(g
        .entries
        .iter()
        .all(|e| e.queue_offset % 2 == 1 && e.tags_code == want));
    // max_bytes stops after the first entry that fits, but always returns one.
    let g = store.get_messages("F", 0, 0, 32, 1, None);
    assert_eq!(g.entries.len(), 1);
    store.shutdown().unwrap();
}

#[test]
fn offset_for_timestamp_finds_the_first_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let first = store
        .append_blocking(rocket("TS", 0, b"a", props(&[])))
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let second = store
        .append_blocking(rocket("TS", 0, b"b", props(&[])))
        .unwrap();
    assert!(second.store_timestamp > first.store_timestamp);
    assert_eq!(store.offset_for_timestamp("TS", 0, 0), 0);
    assert_eq!(
        store.offset_for_timestamp("TS", 0, first.store_timestamp + 1),
        1
    );
    assert_eq!(
        store.offset_for_timestamp("TS", 0, second.store_timestamp),
        1
    );
    assert_eq!(
        store.offset_for_timestamp("TS", 0, second.store_timestamp + 1),
        2
    );
    store.shutdown().unwrap();
}

#[test]
fn clean_restart_does_not_rescan_and_keeps_offsets_and_topics() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(small_config(dir.path()));
        for i in 0..50 {
            store
                .append_blocking(rocket("R", 1, &body_for(2, i, 100), props(&[])))
                .unwrap();
        }
        store.offsets().commit("g1", "R", 1, 42, "");
        store.offsets().commit("g@weird", "R", 0, 7, "meta");
        store.topics().put(TopicConfig::new("R", 8)).unwrap();
        store.shutdown().unwrap();
        assert!(!dir.path().join("abort").exists());
    }
    let store = open(small_config(dir.path()));
    let rep = store.recovery_report();
    assert!(!rep.unclean);
    assert_eq!(
        rep.entries_replayed, 0,
        "a clean restart must not re-scan: {rep:?}"
    );
    assert_eq!(store.max_offset("R", 1), 50);
    assert_eq!(store.offsets().fetch("g1", "R", 1).unwrap().offset, 42);
    let w = store.offsets().fetch("g@weird", "R", 0).unwrap();
    assert_eq!((w.offset, w.metadata.as_str()), (7, "meta"));
    assert_eq!(store.topics().get("R").unwrap().write_queue_nums, 8);
    assert_eq!(
        store.offsets().groups(),
        vec!["g1".to_string(), "g@weird".to_string()]
    );
    let next = store
        .append_blocking(rocket("R", 1, b"after", props(&[])))
        .unwrap();
    assert_eq!(next.queue_offset, 50);
    store.shutdown().unwrap();
}

#[test]
fn invalid_appends_are_refused_without_side_effects() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let too_big = vec![0u8; 20 * 1024];
    assert!(matches!(
        store.append_blocking(rocket("T", 0, &too_big, props(&[]))),
        Err(rokka_store::StoreError::MessageTooLarge { .. })
    ));
    assert!(matches!(
        store.append_blocking(rocket("../x", 0, b"a", props(&[]))),
        Err(rokka_store::StoreError::InvalidAppend { .. })
    ));
    let mut bad = kafka("T", 0, &[b"a"], vec![]);
    if let rokka_store::AppendPayload::Kafka(b) = &mut bad.payload {
        b.batch = Bytes::from_static(&[0u8; 70]);
    }
    assert!(store.append_blocking(bad).is_err());
    assert_eq!(store.commit_log_bounds().1, 0);
    assert_eq!(store.max_offset("T", 0), 0);
    store.shutdown().unwrap();
}

#[test]
fn second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let err = rokka_store::Store::open(small_config(dir.path()), &registry()).unwrap_err();
    assert!(
        matches!(err, rokka_store::StoreError::Locked { .. }),
        "{err}"
    );
    store.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_wakes_only_on_its_queue() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let s2 = store.clone();
    let waiter =
        tokio::spawn(async move { s2.wait_for_data("W", 1, 0, Duration::from_secs(10)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // An append to another queue does not satisfy the waiter.
    store
        .append(rocket("W", 0, b"other", props(&[])))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished());
    let started = std::time::Instant::now();
    store
        .append(rocket("W", 1, b"mine", props(&[])))
        .await
        .unwrap();
    assert!(waiter.await.unwrap());
    assert!(started.elapsed() < Duration::from_secs(2));
    // A wait with nothing coming times out with false.
    assert!(
        !store
            .wait_for_data("W", 1, 1, Duration::from_millis(100))
            .await
    );
    // Data already there returns at once.
    assert!(store.wait_for_data("W", 1, 0, Duration::from_secs(5)).await);
    store.shutdown().unwrap();
}

#[test]
fn stored_rocketmq_bytes_are_what_a_pull_returns() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    let r = store
        .append_blocking(rocket(
            "P",
            2,
            b"payload",
            props(&[("TAGS", "TagA"), ("UNIQ_KEY", "ABCDEF")]),
        ))
        .unwrap();
    let e = store.read_at(r.phy_offset).unwrap();
    // The layout's fixed fields, read by hand at the documented offsets.
    let b = &e.bytes;
    assert_eq!(
        i32::from_be_bytes(b[0..4].try_into().unwrap()) as usize,
        b.len()
    );
    assert_eq!(&b[4..8], &0xDAA3_20A7u32.to_be_bytes());
    assert_eq!(i32::from_be_bytes(b[12..16].try_into().unwrap()), 2);
    assert_eq!(i64::from_be_bytes(b[20..28].try_into().unwrap()), 0);
    assert_eq!(
        i64::from_be_bytes(b[28..36].try_into().unwrap()) as u64,
        r.phy_offset
    );
    assert_eq!(
        i64::from_be_bytes(b[56..64].try_into().unwrap()),
        r.store_timestamp
    );
    assert_eq!(&b[64..68], &[127, 0, 0, 1]);
    assert_eq!(i32::from_be_bytes(b[68..72].try_into().unwrap()), 10911);
    assert_eq!(store.query_by_key("P", "ABCDEF", 0, i64::MAX, 1).len(), 1);
    // A later storeHost applies to later entries only.
    store.set_store_host("10.1.2.3:20911".parse().unwrap());
    let r2 = store
        .append_blocking(rocket("P", 2, b"second", props(&[])))
        .unwrap();
    let b2 = store.read_at(r2.phy_offset).unwrap().bytes;
    assert_eq!(&b2[64..68], &[10, 1, 2, 3]);
    assert_eq!(i32::from_be_bytes(b2[68..72].try_into().unwrap()), 20911);
    assert_eq!(
        &store.read_at(r.phy_offset).unwrap().bytes[64..68],
        &[127, 0, 0, 1]
    );
    let by_id = store
        .query_by_unique_id("P", "ABCDEF", 0, i64::MAX)
        .unwrap();
    assert_eq!(by_id.phy_offset, r.phy_offset);
    assert!(store
        .query_by_unique_id("P", "ABCDEF", 0, r.store_timestamp - 5000)
        .is_none());
    assert!(store
        .query_by_unique_id("Q", "ABCDEF", 0, i64::MAX)
        .is_none());
    store.shutdown().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Any mix of messages and batches over a few queues reads back in order,
    /// before and after a reopen.
    #[test]
    fn any_append_sequence_reads_back(ops in prop::collection::vec((0u32..3, prop::bool::ANY, 1usize..2500, 1usize..5), 1..80)) {
        let dir = tempfile::tempdir().unwrap();
        let mut want: Vec<Vec<(u64, Vec<Vec<u8>>)>> = vec![Vec::new(); 3];
        {
            let store = open(small_config(dir.path()));
            for (i, (q, is_batch, size, n)) in ops.iter().enumerate() {
                let values: Vec<Vec<u8>> = (0..*n).map(|j| body_for(i as u64, j as u64, *size)).collect();
                if *is_batch {
                    let refs: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
                    let r = store.append_blocking(kafka("P", *q, &refs, vec![])).unwrap();
                    want[*q as usize].push((r.queue_offset, values));
                } else {
                    let r = store.append_blocking(rocket("P", *q, &values[0], props(&[]))).unwrap();
                    want[*q as usize].push((r.queue_offset, vec![values[0].clone()]));
                }
            }
            store.shutdown().unwrap();
        }
        for pass in 0..2 {
            let store = open(small_config(dir.path()));
            for (q, entries) in want.iter().enumerate() {
                let mut off = 0;
                for (qoff, values) in entries {
                    prop_assert_eq!(off, *qoff);
                    let g = store.get_messages("P", q as u32, off, 1, usize::MAX, None);
                    prop_assert_eq!(g.status, GetStatus::Found);
                    let e = &g.entries[0];
                    prop_assert_eq!(e.count as usize, values.len());
                    match e.kind {
                        EntryKind::RocketMq => prop_assert_eq!(&rocket_body(e), &values[0]),
                        EntryKind::KafkaBatch => {
                            let refs: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
                            let raw = rokka_store::entry::kafka::test_batch(&refs);
                            prop_assert_eq!(&e.bytes[e.bytes.len() - raw.len() + 8..], &raw[8..]);
                        }
                    }
                    off += values.len() as u64;
                }
                prop_assert_eq!(store.max_offset("P", q as u32), off);
            }
            if pass == 1 {
                prop_assert_eq!(store.recovery_report().entries_replayed, 0);
            }
            store.shutdown().unwrap();
        }
    }
}
