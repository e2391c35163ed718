use std::collections::HashMap;
use std::time::{Duration, Instant};

use prometheus::Registry;
use rokka_protocols::kafka::offsets_topic::{OffsetCommitValue, OffsetsKey, OFFSETS_TOPIC};
use rokka_store::offsets::CommittedOffset;
use rokka_store::topics::TopicConfig;
use rokka_store::{Store, StoreConfig};

use super::recovery::{reconcile, ReconcileReport};
use super::*;

const N: u32 = 5;

fn open(dir: &std::path::Path) -> Store {
    let store = Store::open(StoreConfig::for_tests(dir), &Registry::new()).unwrap();
    store
        .topics()
        .put(TopicConfig::new(OFFSETS_TOPIC, N))
        .unwrap();
    store
}

fn records(store: &Store) -> usize {
    (0..N)
        .map(|q| store.max_offset(OFFSETS_TOPIC, q) as usize)
        .sum()
}

fn wait_records(store: &Store, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while records(store) < n {
        assert!(Instant::now() < deadline, "dispatch did not catch up");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The latest offset per (group, topic, partition) in the topic, as a
/// reader from offset 0 sees it.
fn topic_view(store: &Store) -> HashMap<(String, String, u32), i64> {
    let mut out = HashMap::new();
    for q in 0..N {
        let r = store.get_messages(OFFSETS_TOPIC, q, 0, 10_000, 64 << 20, None);
        for e in r.entries {
            let range = rokka_store::entry::kafka::batch_range(&e.bytes).unwrap();
            let recs = rokka_protocols::kafka::records::decode_v2_records(&e.bytes[range]).unwrap();
            for rec in recs {
                let key = OffsetsKey::decode(rec.key.as_ref().unwrap()).unwrap();
                let OffsetsKey::Offset {
                    group,
                    topic,
                    partition,
                } = key
                else {
                    continue;
                };
                assert_eq!(partition_for(&group, N), q, "group in the wrong partition");
                let k = (group, topic, partition as u32);
                match rec.value {
                    Some(v) => {
                        out.insert(k, OffsetCommitValue::decode(&v).unwrap().offset);
                    }
                    None => {
                        out.remove(&k);
                    }
                }
            }
        }
    }
    out
}

fn table_view(store: &Store) -> HashMap<(String, String, u32), i64> {
    store
        .offsets()
        .entries()
        .into_iter()
        .filter(|(g, ..)| !is_bookkeeping_group(g))
        .map(|(g, t, q, v)| ((g, t, q), v.offset))
        .collect()
}

#[test]
fn partition_is_kafkas() {
    // "polygenelubricants".hashCode() is Integer.MIN_VALUE: Utils.abs → 0.
    assert_eq!(partition_for("polygenelubricants", 50), 0);
    assert_eq!(partition_for("hello", 50), 99_162_322 % 50);
    assert_eq!(partition_for("g", 0), 0);
}

#[test]
fn runs_keep_order_and_split_by_partition() {
    let rec = |p| PendingRecord {
        partition: p,
        timestamp: 0,
        key: Bytes::new(),
        value: None,
    };
    let r = runs(vec![rec(1), rec(1), rec(2), rec(1)]);
    let shape: Vec<(u32, usize)> = r.iter().map(|(p, v)| (*p, v.len())).collect();
    assert_eq!(shape, vec![(1, 2), (2, 1), (1, 1)]);
}

#[tokio::test]
async fn observer_records_changes_and_skips_quick_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let log = OffsetsLog { tx, partitions: N };
    store
        .offsets()
        .set_observer(Box::new(Observer(log)), UNCHANGED_REFRESH_MS);
    store.offsets().commit("g", "t", 0, 5, "m");
    store.offsets().commit("g", "t", 0, 5, "m"); // repeat: not recorded
    store.offsets().commit("g", "t", 0, 6, "m");
    store.offsets().commit(DELAY_PROGRESS_GROUP, "t", 0, 1, "");
    store.offsets().delete("g", None);
    let mut got = Vec::new();
    while let Ok(Msg::Record(r)) = rx.try_recv() {
        got.push(r);
    }
    assert_eq!(
        got.len(),
        4,
        "two commits, one tombstone, one group tombstone"
    );
    let v = OffsetCommitValue::decode(got[1].value.as_ref().unwrap()).unwrap();
    assert_eq!((v.offset, v.metadata.as_str()), (6, "m"));
    assert!(got[2].value.is_none());
    assert_eq!(
        OffsetsKey::decode(&got[3].key).unwrap(),
        OffsetsKey::Group { group: "g".into() }
    );
    assert!(got.iter().all(|r| r.partition == partition_for("g", N)));
}

#[tokio::test]
async fn reconcile_appends_what_the_topic_misses() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.offsets().commit("a", "t", 0, 10, "");
    store.offsets().commit("b", "t", 3, 20, "x");
    store.offsets().commit(DELAY_PROGRESS_GROUP, "S", 0, 1, "");
    let r = reconcile(&store, N).await.unwrap();
    assert_eq!(r.appended, 2);
    wait_records(&store, 2);
    assert_eq!(topic_view(&store), table_view(&store));
    // A second pass has nothing to do.
    let r = reconcile(&store, N).await.unwrap();
    assert_eq!(r.appended + r.restored + r.removed, 0);
}

#[tokio::test]
async fn reconcile_prefers_the_newer_side() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let old = CommittedOffset {
        offset: 1,
        metadata: String::new(),
        commit_timestamp: 1_000,
    };
    let new = CommittedOffset {
        offset: 2,
        metadata: String::new(),
        commit_timestamp: 2_000,
    };
    // Topic newer than the table: the table is restored from it.
    append_records(
        &store,
        partition_for("a", N),
        vec![commit_record(N, "a", "t", 0, &new)],
    )
    .await
    .unwrap();
    store.offsets().restore("a", "t", 0, old.clone());
    // Table newer than the topic: the table's value is appended.
    append_records(
        &store,
        partition_for("b", N),
        vec![commit_record(N, "b", "t", 0, &old)],
    )
    .await
    .unwrap();
    store.offsets().restore("b", "t", 0, new.clone());
    // Deleted in the topic after the table's commit: removed from the table.
    append_records(
        &store,
        partition_for("c", N),
        vec![
            commit_record(N, "c", "t", 0, &old),
            tombstone_record(N, "c", "t", 0),
        ],
    )
    .await
    .unwrap();
    store.offsets().restore("c", "t", 0, old.clone());
    wait_records(&store, 4);
    let r = reconcile(&store, N).await.unwrap();
    assert_eq!(
        r,
        ReconcileReport {
            records_read: 4,
            undecodable: 0,
            restored: 1,
            removed: 1,
            appended: 1,
        }
    );
    wait_records(&store, 5);
    let table = table_view(&store);
    assert_eq!(table.get(&("a".into(), "t".into(), 0)), Some(&2));
    assert_eq!(table.get(&("b".into(), "t".into(), 0)), Some(&2));
    assert_eq!(table.get(&("c".into(), "t".into(), 0)), None);
    assert_eq!(topic_view(&store), table);
}

/// A slave's table follows the replicated topic (RocketMQ SlaveSynchronize):
/// each refresh applies what arrived since the previous one, commits and
/// deletions alike, and leaves the topic untouched.
#[tokio::test]
async fn a_slave_mirror_applies_the_replicated_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let at = |offset: i64, ts: i64| CommittedOffset {
        offset,
        metadata: String::new(),
        commit_timestamp: ts,
    };
    append_records(
        &store,
        partition_for("a", N),
        vec![
            commit_record(N, "a", "t", 0, &at(5, 1_000)),
            commit_record(N, "a", "t", 1, &at(7, 1_000)),
        ],
    )
    .await
    .unwrap();
    wait_records(&store, 2);
    let mut mirror = recovery::SlaveMirror::default();
    assert_eq!(mirror.refresh(&store), 2);
    let table = table_view(&store);
    assert_eq!(table.get(&("a".into(), "t".into(), 0)), Some(&5));
    assert_eq!(table.get(&("a".into(), "t".into(), 1)), Some(&7));
    assert_eq!(mirror.refresh(&store), 0, "nothing new");
    // Later commits of the master and a deletion arrive.
    append_records(
        &store,
        partition_for("a", N),
        vec![
            commit_record(N, "a", "t", 0, &at(9, 2_000)),
            tombstone_record(N, "a", "t", 1),
        ],
    )
    .await
    .unwrap();
    wait_records(&store, 4);
    assert_eq!(mirror.refresh(&store), 2);
    let table = table_view(&store);
    assert_eq!(table.get(&("a".into(), "t".into(), 0)), Some(&9));
    assert_eq!(table.get(&("a".into(), "t".into(), 1)), None);
    assert_eq!(records(&store), 4, "a slave appends nothing");
    // A consumer committed to this slave while the master was down: the
    // master's older record that replicates next does not roll it back.
    store.offsets().restore("a", "t", 0, at(20, 5_000));
    append_records(
        &store,
        partition_for("a", N),
        vec![commit_record(N, "a", "t", 0, &at(12, 3_000))],
    )
    .await
    .unwrap();
    wait_records(&store, 5);
    assert_eq!(mirror.refresh(&store), 0, "the newer local commit stays");
    assert_eq!(
        table_view(&store).get(&("a".into(), "t".into(), 0)),
        Some(&20)
    );
    // The master's answer to the forwarded commit (newer) is applied.
    append_records(
        &store,
        partition_for("a", N),
        vec![commit_record(N, "a", "t", 0, &at(21, 6_000))],
    )
    .await
    .unwrap();
    wait_records(&store, 6);
    assert_eq!(mirror.refresh(&store), 1);
    assert_eq!(
        table_view(&store).get(&("a".into(), "t".into(), 0)),
        Some(&21)
    );
}

#[test]
fn coordinator_partitions_follow_kafkas_hash() {
    // Kafka: Utils.abs("group-0".hashCode()) % 50, and a negative hash.
    let h = |s: &str| (rokka_store::java_string_hash(s) & 0x7fff_ffff) as u32 % 50;
    for g in ["group-0", "cg", "a-rather-long-consumer-group-name"] {
        assert_eq!(partition_for(g, 50), h(g));
    }
    assert!(rokka_store::java_string_hash("polygenelubricants") < 0);
    assert_eq!(
        partition_for("polygenelubricants", 50),
        (i32::MIN & 0x7fff_ffff) as u32 % 50
    );
}
