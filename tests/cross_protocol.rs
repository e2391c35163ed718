//! Cross-protocol end-to-end tests against the real `rokka` binary (issue
//! 5, docs/mapping.md): RocketMQ SEND_MESSAGE_V2 → Kafka Fetch, Kafka
//! Produce (gzip batch) → RocketMQ PULL with tag filters and QUERY_MESSAGE
//! by key, and one committed-offset table for both ecosystems' groups.
//! Raw TCP with the in-repo codecs; every wait is bounded.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use rokka_protocols::kafka::records::{build_v2_batch, Record};
use rokka_protocols::kafka::Reader;
use rokka_protocols::remoting::message::MessageExt;
use support::kafka::Conn as KConn;
use support::kafka::{batches, metadata as kafka_metadata, offset_commit, offset_fetch, produce};
use support::records::{gzip_batch, zlib};
use support::remoting::{
    found, query_offset, query_until_found, request, send_with, update_offset, Conn, Pull,
};
use support::Rokka;

/// Metadata v4 with auto-creation; returns the partition count.
fn metadata(c: &mut KConn, topic: &str) -> usize {
    kafka_metadata(c, topic).topics[0].partitions
}

/// Fetch v4 of one partition from `offset` (no wait); returns (error,
/// records), asserting that each batch's base offset is its queue offset.
fn fetch(c: &mut KConn, topic: &str, partition: i32, offset: i64) -> (i16, Vec<Record>) {
    let (err, _, records) = support::kafka::fetch(c, topic, partition, offset, 0);
    let mut out = Vec::new();
    for (base, recs) in batches(&records) {
        assert_eq!(base, offset + out.len() as i64, "baseOffset = queue offset");
        out.extend(recs);
    }
    (err, out)
}

/// SEND_MESSAGE_V2 with an explicit sysFlag (message flag 0).
fn send(c: &mut Conn, topic: &str, queue: i32, sys_flag: i32, props: &str, body: &[u8]) -> i32 {
    send_with(c, topic, queue, sys_flag, 0, props, body).code
}

fn header<'a>(r: &'a Record, name: &str) -> Option<&'a [u8]> {
    r.headers
        .iter()
        .find(|(k, _)| &k[..] == name.as_bytes())
        .and_then(|(_, v)| v.as_deref())
}

fn hdr(k: &str, v: &str) -> (Bytes, Option<Bytes>) {
    (
        Bytes::copy_from_slice(k.as_bytes()),
        Some(Bytes::copy_from_slice(v.as_bytes())),
    )
}

#[test]
fn rocketmq_send_is_read_by_kafka_fetch() {
    let r = Rokka::start();
    let mut rc = Conn::open(r.broker);
    let body: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let props = "KEYS\u{1}k1 k2\u{2}TAGS\u{1}TagA\u{2}color\u{1}red\u{2}UNIQ_KEY\u{1}0A0B0C\u{2}WAIT\u{1}true";
    assert_eq!(send(&mut rc, "XR", 0, 1, props, &zlib(&body)), 0);
    assert_eq!(send(&mut rc, "XR", 0, 0, "", b"plain"), 0);
    let mut kc = KConn::open(r.kafka);
    assert_eq!(metadata(&mut kc, "XR"), 4);
    let (err, recs) = fetch(&mut kc, "XR", 0, 0);
    assert_eq!(err, 0);
    assert_eq!(recs.len(), 2);
    let a = &recs[0];
    assert_eq!(a.key.as_deref(), Some(&b"k1 k2"[..]));
    assert_eq!(a.value.as_deref(), Some(&body[..]), "zlib body inflated");
    assert_eq!(a.timestamp, 1_716_800_000_000);
    assert_eq!(header(a, "TAGS"), Some(&b"TagA"[..]));
    assert_eq!(header(a, "color"), Some(&b"red"[..]));
    assert_eq!(header(a, "UNIQ_KEY"), Some(&b"0A0B0C"[..]));
    assert_eq!(header(a, "WAIT"), None);
    assert_eq!(header(a, "KEYS"), None);
    let b = &recs[1];
    assert_eq!(
        (b.key.as_deref(), b.value.as_deref()),
        (None, Some(&b"plain"[..]))
    );
    assert!(b.headers.is_empty());
    // from the second record on
    let (_, tail) = fetch(&mut kc, "XR", 0, 1);
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].value.as_deref(), Some(&b"plain"[..]));
}

fn kafka_records() -> Vec<Record> {
    vec![
        Record {
            timestamp: 1_716_800_000_001,
            key: Some(Bytes::from_static(b"order-1 alt")),
            value: Some(Bytes::from_static(b"first")),
            headers: vec![hdr("TAGS", "TagB"), hdr("p", "1"), hdr("p", "2")],
        },
        Record {
            timestamp: 1_716_800_000_002,
            key: Some(Bytes::from_static(b"order-2")),
            value: Some(Bytes::from_static(b"second")),
            headers: vec![hdr("TAGS", "TagC")],
        },
        Record {
            timestamp: 1_716_800_000_003,
            key: None,
            value: None,
            headers: vec![(
                Bytes::from_static(b"bin"),
                Some(Bytes::from_static(b"\xff")),
            )],
        },
    ]
}

/// PULL_MESSAGE (sysFlag 4) from `offset` with subscription `sub`.
fn pulled(c: &mut Conn, topic: &str, queue: u32, offset: u64, sub: &str) -> Vec<MessageExt> {
    let req = Pull {
        offset,
        sub,
        ..Pull::new(topic, queue)
    };
    found(&c.call(req.request()))
}

#[test]
fn kafka_gzip_batch_is_pulled_and_queried_by_rocketmq() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    assert!(metadata(&mut kc, "XK") >= 1);
    // one record first so the batch starts at offset 1
    let one = build_v2_batch(0, &[Record::default()]);
    assert_eq!(produce(&mut kc, "XK", 0, &one, 1), (0, 0));
    assert_eq!(
        produce(&mut kc, "XK", 0, gzip_batch(&kafka_records()), 1),
        (0, 1)
    );
    let mut rc = Conn::open(r.broker);
    let all = pulled(&mut rc, "XK", 0, 1, "*");
    assert_eq!(
        all.len(),
        3,
        "records before the requested offset are left out"
    );
    let m = &all[0];
    assert_eq!((m.queue_offset, m.queue_id), (1, 0));
    assert_eq!(m.topic, "XK");
    assert_eq!(&m.body[..], b"first");
    assert_eq!(m.property("KEYS"), Some("order-1 alt"));
    assert_eq!(m.property("TAGS"), Some("TagB"));
    assert_eq!(m.property("p"), Some("2"));
    assert_eq!(m.born_timestamp, 1_716_800_000_001);
    assert_eq!(all[1].queue_offset, 2);
    assert_eq!(&all[1].body[..], b"second");
    assert_eq!(all[1].property("TAGS"), Some("TagC"));
    assert_eq!(all[2].queue_offset, 3);
    assert!(all[2].body.is_empty(), "null value → empty body");
    assert_eq!(all[2].property("bin"), None, "non-UTF-8 header dropped");
    // the tag filter selects by each record's own tag
    let tagged: Vec<_> = pulled(&mut rc, "XK", 0, 1, "TagC")
        .iter()
        .map(|m| m.queue_offset)
        .collect();
    assert_eq!(tagged, vec![2]);
    let tagged: Vec<_> = pulled(&mut rc, "XK", 0, 0, "TagB || TagC")
        .iter()
        .map(|m| m.queue_offset)
        .collect();
    assert_eq!(tagged, vec![1, 2]);
    assert_eq!(pulled(&mut rc, "XK", 0, 2, "*").len(), 2);
    // query by key finds the Kafka records, each space-separated word indexed
    let deadline = Instant::now() + Duration::from_secs(10);
    for (key, want) in [
        ("alt", "first"),
        ("order-1", "first"),
        ("order-2", "second"),
    ] {
        let got = query_until_found(&mut rc, "XK", key, deadline);
        assert_eq!(got.len(), 1, "key {key}");
        assert_eq!(&got[0].body[..], want.as_bytes());
    }
}

#[test]
fn consumer_offsets_are_shared_between_ecosystems() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    assert!(metadata(&mut kc, "XO") >= 1);
    // Kafka OffsetCommit v2 (no members: generation -1, empty member id)
    let codes = offset_commit(&mut kc, "shared", -1, "", "XO", &[(0, 17, "")]);
    assert_eq!(codes, vec![vec![0]]);
    let mut rc = Conn::open(r.broker);
    let resp = rc.call(query_offset("shared", "XO", 0));
    assert_eq!((resp.code, resp.ext("offset")), (0, Some("17")));
    // RocketMQ UPDATE_CONSUMER_OFFSET → Kafka OffsetFetch v1
    let upd = rc.call(update_offset("shared", "XO", 0, 23));
    assert_eq!(upd.code, 0);
    let got: Vec<Vec<i64>> = offset_fetch(&mut kc, "shared", "XO", &[0])
        .into_iter()
        .map(|t| t.into_iter().map(|(o, _)| o).collect())
        .collect();
    assert_eq!(got, vec![vec![23]]);
}

/// CreatePartitions v1: the error code for growing `topic` to `count`.
fn create_partitions(c: &mut KConn, topic: &str, count: i32) -> i16 {
    use rokka_protocols::kafka::create_partitions::{
        decode_response, CreatePartitionsRequest, CreatePartitionsTopic,
    };
    let req = CreatePartitionsRequest {
        topics: vec![CreatePartitionsTopic {
            name: topic.to_owned(),
            count,
            has_assignments: false,
        }],
        validate_only: false,
    };
    let b = c.call(37, 1, |w| req.encode(w, 1));
    let res = decode_response(&mut Reader::new(&b, 0, false), 1).unwrap();
    assert_eq!(res.len(), 1);
    res[0].1
}

/// (readQueueNums, writeQueueNums) of `topic` in the broker's
/// GET_ALL_TOPIC_CONFIG reply (what it registers with NameServers).
fn route_queues(c: &mut Conn, topic: &str) -> (u64, u64) {
    let resp = c.call(request(21, &[], b""));
    assert_eq!(resp.code, 0, "topic configs: {:?}", resp.remark);
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    let t = &v["topicConfigTable"][topic];
    let n = |f: &str| {
        t[f].as_u64()
            .unwrap_or_else(|| panic!("{f} of {topic} in {v}"))
    };
    (n("readQueueNums"), n("writeQueueNums"))
}

/// UPDATE_AND_CREATE_TOPIC with explicit queue counts; returns the code.
fn update_topic(c: &mut Conn, topic: &str, read: u32, write: u32) -> i32 {
    let (r, w) = (read.to_string(), write.to_string());
    let ext = [
        ("topic", topic),
        ("defaultTopic", "TBW102"),
        ("readQueueNums", r.as_str()),
        ("writeQueueNums", w.as_str()),
        ("perm", "6"),
        ("topicFilterType", "SINGLE_TAG"),
    ];
    c.call(request(17, &ext, b"")).code
}

#[test]
fn topic_growth_is_consistent_between_ecosystems() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    let mut rc = Conn::open(r.broker);
    // Created through RocketMQ with 2 queues: Kafka sees 2 partitions.
    assert_eq!(update_topic(&mut rc, "grow", 2, 2), 0);
    assert_eq!(metadata(&mut kc, "grow"), 2);
    // Kafka CreatePartitions to 5: RocketMQ routes 5 read and 5 write queues.
    assert_eq!(create_partitions(&mut kc, "grow", 5), 0);
    assert_eq!(route_queues(&mut rc, "grow"), (5, 5));
    assert_eq!(metadata(&mut kc, "grow"), 5);
    // A message sent by RocketMQ to the new queue 4 is fetched by Kafka.
    assert_eq!(send(&mut rc, "grow", 4, 0, "KEYS\u{1}k4", b"on-queue-4"), 0);
    let (err, recs) = fetch(&mut kc, "grow", 4, 0);
    assert_eq!(err, 0);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].value.as_deref(), Some(&b"on-queue-4"[..]));
    // RocketMQ grows it to 8: Kafka sees 8, and produces to partition 7
    // are pulled by RocketMQ from queue 7.
    assert_eq!(update_topic(&mut rc, "grow", 8, 8), 0);
    assert_eq!(metadata(&mut kc, "grow"), 8);
    let rec = Record {
        key: Some(Bytes::from_static(b"k7")),
        value: Some(Bytes::from_static(b"on-partition-7")),
        ..Record::default()
    };
    let (err, base) = produce(&mut kc, "grow", 7, gzip_batch(&[rec]), 1);
    assert_eq!((err, base), (0, 0));
    let got = pulled(&mut rc, "grow", 7, 0, "*");
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].body[..], b"on-partition-7");
    // Draining the RocketMQ way (writeQueueNums lowered first) keeps every
    // queue visible to Kafka: partitions = max(read, write).
    assert_eq!(update_topic(&mut rc, "grow", 8, 6), 0);
    assert_eq!(route_queues(&mut rc, "grow"), (8, 6));
    assert_eq!(metadata(&mut kc, "grow"), 8);
    let (err, recs) = fetch(&mut kc, "grow", 7, 0);
    assert_eq!((err, recs.len()), (0, 1));
    // Shrinking below the partition count is refused (INVALID_PARAMETER),
    // and so is a CreatePartitions that does not grow (INVALID_PARTITIONS).
    assert_eq!(update_topic(&mut rc, "grow", 4, 4), 29);
    assert_eq!(metadata(&mut kc, "grow"), 8);
    assert_eq!(create_partitions(&mut kc, "grow", 8), 37);
    // Growing from Kafka sets both RocketMQ counts again.
    assert_eq!(create_partitions(&mut kc, "grow", 10), 0);
    assert_eq!(route_queues(&mut rc, "grow"), (10, 10));
}

/// PULL_MESSAGE with an explicit maxMsgNums: (code, nextBeginOffset, messages).
fn pull_max(
    c: &mut Conn,
    topic: &str,
    offset: u64,
    max: u32,
    sub: &str,
) -> (i32, u64, Vec<MessageExt>) {
    let req = Pull {
        group: "cg-max",
        offset,
        max,
        sub,
        ..Pull::new(topic, 0)
    };
    let resp = c.call(req.request());
    let next = resp
        .ext("nextBeginOffset")
        .and_then(|n| n.parse().ok())
        .unwrap();
    (resp.code, next, found(&resp))
}

#[test]
fn rocketmq_pull_of_a_kafka_batch_returns_at_most_max_msg_nums() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    assert!(metadata(&mut kc, "XM") >= 1);
    let records: Vec<Record> = (0..10)
        .map(|i| Record {
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("v{i}"))),
            headers: vec![hdr("TAGS", if i % 2 == 0 { "Even" } else { "Odd" })],
            ..Record::default()
        })
        .collect();
    assert_eq!(produce(&mut kc, "XM", 0, gzip_batch(&records), 1), (0, 0));
    let mut rc = Conn::open(r.broker);
    // 4 + 4 + 2: each pull stops inside the batch and the next resumes there.
    let mut offset = 0;
    let mut bodies = Vec::new();
    for want in [4usize, 4, 2] {
        let (code, next, msgs) = pull_max(&mut rc, "XM", offset, 4, "*");
        assert_eq!((code, msgs.len()), (0, want), "pull at {offset}");
        assert_eq!(msgs[0].queue_offset, offset as i64);
        assert_eq!(next, offset + want as u64);
        bodies.extend(
            msgs.iter()
                .map(|m| String::from_utf8_lossy(&m.body).into_owned()),
        );
        offset = next;
    }
    let want: Vec<String> = (0..10).map(|i| format!("v{i}")).collect();
    assert_eq!(bodies, want);
    // With a tag filter the cap counts returned messages; skipped records
    // are passed over: Odd from 0 gives v1 v3 v5 v7 and resumes at 8.
    let (code, next, msgs) = pull_max(&mut rc, "XM", 0, 4, "Odd");
    assert_eq!(code, 0);
    let got: Vec<_> = msgs
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    assert_eq!(got, ["v1", "v3", "v5", "v7"]);
    assert_eq!(next, 8);
}

#[test]
fn rocketmq_5x_lz4_and_zstd_bodies_are_decompressed_for_kafka() {
    use std::io::Write as _;
    let r = Rokka::start();
    let mut rc = Conn::open(r.broker);
    let body: Vec<u8> = (0..30_000u32).map(|i| (i % 97) as u8).collect();
    let mut l = lz4_flex::frame::FrameEncoder::new(Vec::new());
    l.write_all(&body).unwrap();
    let lz4 = l.finish().unwrap();
    let zstd = zstd::encode_all(&body[..], 3).unwrap();
    // sysFlag: COMPRESSED | type << 8 (5.x CompressionType LZ4 = 1, ZSTD = 2).
    assert_eq!(send(&mut rc, "X5", 1, 0x101, "", &lz4), 0);
    assert_eq!(send(&mut rc, "X5", 1, 0x201, "", &zstd), 0);
    let mut kc = KConn::open(r.kafka);
    assert!(metadata(&mut kc, "X5") >= 2);
    let (err, recs) = fetch(&mut kc, "X5", 1, 0);
    assert_eq!((err, recs.len()), (0, 2));
    assert_eq!(recs[0].value.as_deref(), Some(&body[..]), "LZ4 body");
    assert_eq!(recs[1].value.as_deref(), Some(&body[..]), "ZSTD body");
    // RocketMQ readers get the stored (compressed) bodies, as RocketMQ does.
    let pulled = pulled(&mut rc, "X5", 1, 0, "*");
    assert_eq!(pulled.len(), 2);
    assert_eq!(&pulled[0].body[..], &lz4[..]);
}
