//! End-to-end tests of the Kafka front-end against the real `rokka` binary,
//! over raw TCP on 127.0.0.1 (the port comes from the `kafka listening on`
//! log line): ApiVersions fallback, auto-creating Metadata, Produce/Fetch
//! round trips, acks=0, long polling, the bad-input cases (bad CRC, unknown
//! partition, fetch past the end, oversized frame, unsupported version) and
//! the group protocol with commits. Every wait is bounded.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rokka_protocols::kafka::records::{build_v2_batch, Record};
use rokka_protocols::kafka::Reader;
use support::kafka::{
    self, all_records, create_topic, epoch_end, fetch, fetch_version, heartbeat, leave,
    offset_commit, offset_fetch, produce, sync_group, Conn,
};
use support::Rokka;

/// Metadata v4 of `topic` with auto-creation, asserting the cluster id and
/// controller; returns [error, partition count] of the topic.
fn metadata(c: &mut Conn, topic: &str) -> Vec<i16> {
    let m = kafka::metadata(c, topic);
    assert!(m.cluster.is_some());
    assert_eq!(m.controller, 0);
    let t = &m.topics[0];
    vec![t.error, t.partitions as i16]
}

fn rec(k: &str, v: &str) -> Record {
    Record {
        timestamp: 1_700_000_000_000,
        key: Some(Bytes::copy_from_slice(k.as_bytes())),
        value: Some(Bytes::copy_from_slice(v.as_bytes())),
        headers: vec![(Bytes::from_static(b"h"), Some(Bytes::from_static(b"x")))],
    }
}

#[test]
fn api_versions_answers_every_version_and_falls_back() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    let b = c.call(18, 0, |_| {});
    let mut r = Reader::new(&b, 0, false);
    assert_eq!(r.i16("err").unwrap(), 0);
    let keys = r
        .array("keys", |r| Ok((r.i16("k")?, r.i16("min")?, r.i16("max")?)))
        .unwrap();
    let table: Vec<_> = rokka_protocols::kafka::SUPPORTED
        .iter()
        .map(|s| (s.key.0, s.min, s.max))
        .collect();
    assert_eq!(keys, table);
    assert!(keys.contains(&(18, 0, 4)));
    // A version from the future: v0 body, UNSUPPORTED_VERSION, {18, 0, 3}.
    let b = c.call(18, 99, |w| w.uvarint(0));
    let mut r = Reader::new(&b, 0, false);
    assert_eq!(r.i16("err").unwrap(), 35);
    let keys = r
        .array("keys", |r| Ok((r.i16("k")?, r.i16("min")?, r.i16("max")?)))
        .unwrap();
    assert_eq!(keys, vec![(18, 0, 4)]);
    assert_eq!(r.remaining(), 0);
    // The connection survives.
    assert_eq!(metadata(&mut c, "after-fallback")[0], 0);
}

#[test]
fn produce_fetch_round_trip_and_bad_input() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    assert_eq!(metadata(&mut c, "e2e")[0], 0);
    let b1 = build_v2_batch(0, &[rec("a", "1"), rec("b", "2")]);
    assert_eq!(produce(&mut c, "e2e", 1, b1, 1), (0, 0));
    let b2 = build_v2_batch(0, &[rec("c", "3")]);
    assert_eq!(produce(&mut c, "e2e", 1, b2.clone(), -1), (0, 2));
    let (e, hw, records) = fetch(&mut c, "e2e", 1, 0, 0);
    assert_eq!((e, hw), (0, 3));
    let got = all_records(&records);
    let keys: Vec<_> = got.iter().map(|r| r.key.clone().unwrap()).collect();
    assert_eq!(keys, ["a", "b", "c"]);
    assert_eq!(got[2].headers, rec("c", "3").headers);
    // Past the end, unknown partition, corrupt batch.
    assert_eq!(fetch(&mut c, "e2e", 1, 100, 0).0, 1);
    assert_eq!(produce(&mut c, "e2e", 99, b2.clone(), 1).0, 3);
    let mut bad = b2.to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    assert_eq!(produce(&mut c, "e2e", 1, Bytes::from(bad), 1).0, 2);
    assert_eq!(
        fetch(&mut c, "e2e", 1, 3, 0).1,
        3,
        "nothing stored from the bad batch"
    );
    // acks=0: no response; the next answer is the ApiVersions one.
    c.send(0, 3, |w| {
        w.nstr(None);
        w.i16(0);
        w.i32(5000);
        w.array(&[()], |w, _| {
            w.str("e2e");
            w.array(&[()], |w, _| {
                w.i32(1);
                w.bytes(&b2);
            });
        });
    });
    let corr = c.send(18, 0, |_| {});
    assert_eq!(c.recv().0, corr);
    assert_eq!(fetch(&mut c, "e2e", 1, 0, 0).1, 4);
}

#[test]
fn fetch_long_polls_until_data_or_timeout() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    metadata(&mut c, "poll");
    let t = Instant::now();
    let (e, _, records) = fetch(&mut c, "poll", 0, 0, 600);
    assert_eq!(e, 0);
    assert!(records.is_empty());
    assert!(
        t.elapsed() >= Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    let mut p = Conn::open(rokka.kafka);
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        produce(&mut p, "poll", 0, build_v2_batch(0, &[rec("k", "v")]), 1)
    });
    let t = Instant::now();
    let (e, hw, records) = fetch(&mut c, "poll", 0, 0, 5000);
    assert_eq!((e, hw), (0, 1));
    assert_eq!(all_records(&records).len(), 1);
    assert!(t.elapsed() < Duration::from_secs(4));
    assert_eq!(writer.join().unwrap(), (0, 0));
}

#[test]
fn bad_frames_close_the_connection() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    c.s.write_all(&(200 * 1024 * 1024i32).to_be_bytes())
        .unwrap();
    assert!(c.is_closed(), "oversized frame");
    let mut c = Conn::open(rokka.kafka);
    c.send(3, 50, |_| {});
    assert!(c.is_closed(), "unsupported Metadata version");
    let mut c = Conn::open(rokka.kafka);
    c.send(0, 3, |w| w.i16(7));
    assert!(c.is_closed(), "truncated Produce body");
    let mut c = Conn::open(rokka.kafka);
    c.s.write_all(&[0, 0, 0, 2, 0, 1]).unwrap();
    assert!(c.is_closed(), "unparsable header");
    // The broker still serves.
    let mut c = Conn::open(rokka.kafka);
    assert_eq!(metadata(&mut c, "still-up")[0], 0);
}

/// JoinGroup; returns (error, generation, leader, member id, member
/// count), asserting that only a successful join names a leader.
fn join(
    c: &mut Conn,
    version: i16,
    group: &str,
    member: &str,
) -> (i16, i32, String, String, usize) {
    let j = kafka::join(c, version, group, member);
    assert_eq!(j.leader.is_empty(), j.error != 0);
    (j.error, j.generation, j.leader, j.member, j.members)
}

#[test]
fn group_join_sync_heartbeat_commit_fetch() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    metadata(&mut c, "gt");
    // v4+: an empty member id first gets MEMBER_ID_REQUIRED with an id.
    let (e, _, _, id, _) = join(&mut c, 4, "g4", "");
    assert_eq!(e, 79);
    assert!(!id.is_empty());
    let (e, generation, leader, me, n) = join(&mut c, 4, "g4", &id);
    assert_eq!((e, generation, n), (0, 1, 1));
    assert_eq!((leader.as_str(), me.as_str()), (id.as_str(), id.as_str()));
    // v0 joins directly.
    let (e, generation, _, me, _) = join(&mut c, 0, "g0", "");
    assert_eq!((e, generation), (0, 1));
    let (e, mine) = sync_group(&mut c, "g0", 1, &me, &[(&me, b"assignment")]);
    assert_eq!((e, &mine[..]), (0, &b"assignment"[..]));
    let hb = |c: &mut Conn, generation: i32| heartbeat(c, "g0", generation, &me);
    assert_eq!(hb(&mut c, 1), 0);
    assert_eq!(hb(&mut c, 7), 22);
    // OffsetCommit v2 then OffsetFetch v1.
    let codes = offset_commit(&mut c, "g0", 1, &me, "gt", &[(2, 42, "md")]);
    assert_eq!(codes, vec![vec![0]]);
    let got = offset_fetch(&mut c, "g0", "gt", &[2, 3]);
    assert_eq!(
        got,
        vec![vec![
            (42, Some("md".to_string())),
            (-1, Some(String::new()))
        ]]
    );
    // Leaving empties the group.
    assert_eq!(leave(&mut c, "g0", &me), 0);
    assert_eq!(hb(&mut c, 1), 25);
}

#[test]
fn a_stable_group_survives_a_restart() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    metadata(&mut c, "rt");
    let (e, generation, _, me, _) = join(&mut c, 0, "stays", "");
    assert_eq!((e, generation), (0, 1));
    assert_eq!(sync_group(&mut c, "stays", 1, &me, &[(&me, b"a")]).0, 0);
    let (e, _, _, gone, _) = join(&mut c, 0, "leaves", "");
    assert_eq!(e, 0);
    assert_eq!(
        sync_group(&mut c, "leaves", 1, &gone, &[(&gone, b"a")]).0,
        0
    );
    assert_eq!(leave(&mut c, "leaves", &gone), 0);
    // The coordinator loads the groups `__consumer_offsets` records: the
    // stable group's member goes on with its generation (a rebalance would
    // answer UNKNOWN_MEMBER_ID, 25), the group it left stays empty.
    let rokka = rokka.restart();
    let mut c = Conn::open(rokka.kafka);
    assert_eq!(heartbeat(&mut c, "stays", 1, &me), 0);
    assert_eq!(heartbeat(&mut c, "stays", 2, &me), 22, "ILLEGAL_GENERATION");
    assert_eq!(heartbeat(&mut c, "leaves", 1, &gone), 25);
}

#[test]
fn create_delete_topics_and_old_fetch_down_conversion() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    assert_eq!(create_topic(&mut c, "adm", 2, 1), 0);
    assert_eq!(
        create_topic(&mut c, "adm", 2, 1),
        36,
        "TOPIC_ALREADY_EXISTS"
    );
    assert_eq!(
        create_topic(&mut c, "adm2", 2, 3),
        38,
        "INVALID_REPLICATION_FACTOR"
    );
    assert_eq!(
        create_topic(&mut c, "bad/name", 2, 1),
        17,
        "INVALID_TOPIC_EXCEPTION"
    );
    assert_eq!(create_topic(&mut c, "adm3", 0, 1), 37, "INVALID_PARTITIONS");
    assert_eq!(metadata(&mut c, "adm"), vec![0, 2]);
    // Fetch v0 down-converts the stored v2 batch to MessageSet v0 from the
    // requested offset on.
    let batch = build_v2_batch(0, &[rec("a", "1"), rec("b", "2"), rec("c", "3")]);
    assert_eq!(produce(&mut c, "adm", 0, batch, 1), (0, 0));
    let (e, hw, set) = fetch_version(&mut c, 0, "adm", 0, 1, 0);
    assert_eq!((e, hw), (0, 3));
    assert_eq!(set[16], 0, "magic 0");
    let recs = rokka_protocols::kafka::records::decode_message_set(&set, 0).unwrap();
    let keys: Vec<_> = recs.iter().map(|r| r.key.clone().unwrap()).collect();
    assert_eq!(keys, ["b", "c"]);
    // DeleteTopics v0.
    let delete = |c: &mut Conn| {
        let b = c.call(20, 0, |w| {
            w.array(&["adm"], |w, t| w.str(t));
            w.i32(5000);
        });
        let mut r = Reader::new(&b, 0, false);
        r.array("r", |r| {
            r.str("n")?;
            r.i16("e")
        })
        .unwrap()[0]
    };
    assert_eq!(delete(&mut c), 0);
    assert_eq!(delete(&mut c), 3);
}

#[test]
fn idempotent_producer_duplicates_and_gaps() {
    use rokka_protocols::kafka::records::with_producer;
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    metadata(&mut c, "idem");
    let b = build_v2_batch(0, &[rec("a", "1"), rec("b", "2")]);
    let first = with_producer(&b, 5, 0, 0);
    assert_eq!(produce(&mut c, "idem", 0, first.clone(), -1), (0, 0));
    // A retry of the same batch is acknowledged with its offset, not stored.
    assert_eq!(produce(&mut c, "idem", 0, first, -1), (0, 0));
    assert_eq!(fetch(&mut c, "idem", 0, 0, 0).1, 2);
    assert_eq!(
        produce(&mut c, "idem", 0, with_producer(&b, 5, 0, 2), -1),
        (0, 2)
    );
    // A gap is OUT_OF_ORDER_SEQUENCE_NUMBER (45); nothing is stored.
    assert_eq!(
        produce(&mut c, "idem", 0, with_producer(&b, 5, 0, 9), -1).0,
        45
    );
    assert_eq!(fetch(&mut c, "idem", 0, 0, 0).1, 4);
    // After a restart the sequences are rebuilt from the stored batches: a
    // retry of the last batch is still a duplicate, and the next one fits.
    let rokka = rokka.restart();
    let mut c = Conn::open(rokka.kafka);
    assert_eq!(
        produce(&mut c, "idem", 0, with_producer(&b, 5, 0, 2), -1),
        (0, 2)
    );
    assert_eq!(fetch(&mut c, "idem", 0, 0, 0).1, 4);
    assert_eq!(
        produce(&mut c, "idem", 0, with_producer(&b, 5, 0, 9), -1).0,
        45
    );
    assert_eq!(
        produce(&mut c, "idem", 0, with_producer(&b, 5, 0, 4), -1),
        (0, 4)
    );
    assert_eq!(fetch(&mut c, "idem", 0, 0, 0).1, 6);
}

/// A v2 batch claiming gzip compression whose body is not gzip, with a
/// valid CRC: only decompression can find it corrupt.
fn corrupt_gzip_batch() -> Bytes {
    let plain = build_v2_batch(0, &[rec("k", "v")]);
    let mut b = plain[..61].to_vec();
    b[22] |= 1; // attributes: gzip
    b.extend_from_slice(b"definitely not gzip");
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    rokka_protocols::kafka::records::with_producer(&b, -1, -1, -1)
}

#[test]
fn oversized_and_corrupt_compressed_records_are_refused() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    metadata(&mut c, "big");
    // Over the store's 4 MiB message.max.bytes default: MESSAGE_TOO_LARGE.
    let huge = "x".repeat(5 * 1024 * 1024);
    let big = build_v2_batch(0, &[rec("k", &huge)]);
    assert_eq!(produce(&mut c, "big", 0, big, 1).0, 10);
    assert_eq!(produce(&mut c, "big", 0, corrupt_gzip_batch(), 1).0, 2);
    assert_eq!(fetch(&mut c, "big", 0, 0, 0).1, 0, "nothing stored");
    // The connection is still usable.
    let ok = build_v2_batch(0, &[rec("k", "v")]);
    assert_eq!(produce(&mut c, "big", 0, ok, 1), (0, 0));
}

#[test]
fn offset_for_leader_epoch_reports_the_log_end() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    metadata(&mut c, "epochs");
    let batch = build_v2_batch(0, &[rec("a", "1"), rec("b", "2")]);
    assert_eq!(produce(&mut c, "epochs", 0, batch, 1), (0, 0));
    assert_eq!(epoch_end(&mut c, "epochs", 0, 0, 0), (0, 0, 2));
    assert_eq!(epoch_end(&mut c, "epochs", 0, 0, -1), (0, -1, -1));
    assert_eq!(epoch_end(&mut c, "epochs", 77, 0, 0), (3, -1, -1));
}

#[test]
fn describe_cluster_v0_uses_flexible_headers() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    let b = c.call(60, 0, |w| {
        w.uvarint(0); // request header v2 tagged fields
        w.bool(false);
        w.uvarint(0);
    });
    // Response header v1: its tagged-field section comes first.
    let mut r = Reader::new(&b, 0, true);
    r.tags().unwrap();
    r.i32("throttle").unwrap();
    assert_eq!(r.i16("error").unwrap(), 0);
    assert_eq!(r.nstr("message").unwrap(), None);
    assert_eq!(r.str("cluster_id").unwrap(), "rokka-DefaultCluster");
    assert_eq!(r.i32("controller").unwrap(), 0);
    let brokers = r
        .array("brokers", |r| {
            let b = (r.i32("id")?, r.str("host")?, r.i32("port")?);
            r.nstr("rack")?;
            r.tags()?;
            Ok(b)
        })
        .unwrap();
    assert_eq!(
        brokers,
        vec![(0, "127.0.0.1".to_string(), i32::from(rokka.kafka.port()))]
    );
    r.i32("ops").unwrap();
    r.tags().unwrap();
    assert_eq!(r.remaining(), 0);
}

#[test]
fn delete_records_moves_the_low_watermark() {
    use rokka_protocols::kafka::delete_records::{
        decode_response, DeleteRecordsRequest, DeleteRecordsTopic,
    };
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    assert_eq!(metadata(&mut c, "dr")[0], 0);
    for i in 0..10 {
        let b = build_v2_batch(0, &[rec(&format!("k{i}"), "v")]);
        assert_eq!(produce(&mut c, "dr", 0, b, 1), (0, i));
    }
    let delete = |c: &mut Conn, partitions: Vec<(i32, i64)>| {
        let req = DeleteRecordsRequest {
            topics: vec![DeleteRecordsTopic {
                name: "dr".into(),
                partitions,
            }],
            timeout_ms: 1000,
        };
        let b = c.call(21, 1, |w| req.encode(w, 1));
        let mut r = Reader::new(&b, 0, false);
        decode_response(&mut r, 1).unwrap().remove(0).partitions
    };
    assert_eq!(delete(&mut c, vec![(0, 4)]), vec![(0, 4, 0)]);
    // Past the high watermark, and an unknown partition.
    assert_eq!(
        delete(&mut c, vec![(0, 11), (99, 1)]),
        vec![(0, -1, 1), (99, -1, 3)]
    );
    let (e, hw, _) = fetch(&mut c, "dr", 0, 2, 0);
    assert_eq!((e, hw), (1, 10), "below the low watermark is out of range");
    let (e, _, records) = fetch(&mut c, "dr", 0, 4, 0);
    assert_eq!(e, 0);
    assert_eq!(all_records(&records)[0].key.as_deref(), Some(&b"k4"[..]));
    // -1 deletes up to the high watermark.
    assert_eq!(delete(&mut c, vec![(0, -1)]), vec![(0, 10, 0)]);
    drop(rokka);
}
