//! Every record of a Kafka-produced batch has its own RocketMQ offset message
//! id (record `i` of the batch stored at CommitLog offset `P` carries
//! `P + i`), and VIEW_MESSAGE_BY_ID and CONSUMER_SEND_MSG_BACK resolve it to
//! that record. End to end against the real `rokka` binary: Kafka Produce of
//! a gzip batch, RocketMQ SEND, PULL / LITE_PULL, VIEW, QUERY, send-back.
//! Raw TCP with the in-repo codecs; every wait is bounded.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rokka_protocols::kafka::records::{build_v2_batch, Record};
use rokka_protocols::remoting::message::{decode_message_id, decode_messages, MessageExt};
use rokka_protocols::remoting::RemotingCommand;
use support::kafka::{metadata, produce, Conn as KConn};
use support::records::gzip_batch;
use support::remoting::{
    query_message, query_until_found, request, send_back, send_v2, wait_for, Conn, Pull,
};
use support::Rokka;

const TOPIC: &str = "XIds";
const SYSTEM_ERROR: i32 = 1;
const QUERY_NOT_FOUND: i32 = 22;

/// Six records with distinct keys and values.
fn records() -> Vec<Record> {
    (0..6)
        .map(|i| Record {
            timestamp: 1_716_800_000_100 + i,
            key: Some(Bytes::from(format!("rid-key-{i}"))),
            value: Some(Bytes::from(format!(
                "rid-value-{i}-{}",
                "x".repeat(i as usize)
            ))),
            headers: vec![],
        })
        .collect()
}

/// PULL_MESSAGE (11) or LITE_PULL_MESSAGE (361) of queue 0 from offset 0.
fn pull_with(c: &mut Conn, code: i32) -> Vec<MessageExt> {
    let req = Pull {
        code,
        group: "cg-ids",
        ..Pull::new(TOPIC, 0)
    };
    let p = c.call(req.request());
    assert_eq!(p.code, 0, "pull {code}: {:?}", p.remark);
    decode_messages(&p.body).unwrap()
}

fn view(c: &mut Conn, offset: i64) -> RemotingCommand {
    c.call(request(
        33,
        &[("offset", &offset.to_string()), ("topic", TOPIC)],
        b"",
    ))
}

/// Asserts that `got` is the message `want` as pulled.
fn same_message(got: &MessageExt, want: &MessageExt) {
    assert_eq!(got.body, want.body);
    assert_eq!(got.property("KEYS"), want.property("KEYS"));
    assert_eq!(
        (got.topic.as_str(), got.queue_id, got.queue_offset),
        (want.topic.as_str(), want.queue_id, want.queue_offset)
    );
    assert_eq!(got.physical_offset, want.physical_offset);
    assert_eq!(got.offset_msg_id(), want.offset_msg_id());
}

#[test]
fn each_kafka_record_has_its_own_viewable_message_id() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    metadata(&mut kc, TOPIC);
    // A one-record batch, the compressed batch, then a RocketMQ message.
    let one = build_v2_batch(
        0,
        &[Record {
            key: Some(Bytes::from_static(b"solo")),
            value: Some(Bytes::from_static(b"solo-value")),
            ..Record::default()
        }],
    );
    assert_eq!(produce(&mut kc, TOPIC, 0, &one, 1), (0, 0));
    let recs = records();
    assert_eq!(produce(&mut kc, TOPIC, 0, gzip_batch(&recs), 1), (0, 1));
    let mut rc = Conn::open(r.broker);
    let sent = send_v2(&mut rc, TOPIC, 0, "KEYS\u{1}rmq-key", b"rocketmq body");
    assert_eq!(sent.code, 0, "{:?}", sent.remark);

    let pulled = pull_with(&mut rc, 11);
    assert_eq!(pulled.len(), 8);
    for (i, m) in pulled.iter().enumerate() {
        assert_eq!(m.queue_offset, i as i64);
    }
    for (m, rec) in pulled[1..7].iter().zip(&recs) {
        assert_eq!(Some(&m.body[..]), rec.value.as_deref());
        assert_eq!(m.property("KEYS").map(str::as_bytes), rec.key.as_deref());
    }
    // Record i of the batch at P carries P + i: ids are all distinct.
    let p = pulled[1].physical_offset;
    for (i, m) in pulled[1..7].iter().enumerate() {
        assert_eq!(m.physical_offset, p + i as i64);
    }
    let ids: HashSet<String> = pulled.iter().map(MessageExt::offset_msg_id).collect();
    assert_eq!(ids.len(), pulled.len(), "one offset message id per message");
    // LITE_PULL shows the same ids.
    let lite = pull_with(&mut rc, 361);
    let lite_ids: Vec<String> = lite.iter().map(MessageExt::offset_msg_id).collect();
    let pull_ids: Vec<String> = pulled.iter().map(MessageExt::offset_msg_id).collect();
    assert_eq!(lite_ids, pull_ids);

    // VIEW_MESSAGE_BY_ID with the decoded id gives back exactly that message.
    for m in &pulled {
        let (host, offset) = decode_message_id(&m.offset_msg_id()).unwrap();
        assert_eq!(host, r.broker, "the id names this broker");
        let v = view(&mut rc, offset);
        assert_eq!(v.code, 0, "view {offset}: {:?}", v.remark);
        let got = decode_messages(&v.body).unwrap();
        assert_eq!(got.len(), 1, "exactly one message for {offset}");
        same_message(&got[0], m);
    }

    // Offsets inside the batch past its record count, inside the RocketMQ
    // entry, or anywhere else name no message.
    let rmq = pulled[7].physical_offset;
    for offset in [p + 6, p + 7, p + 40, rmq + 1, rmq + 17, 987_654_321, -5] {
        let v = view(&mut rc, offset);
        assert_eq!(v.code, SYSTEM_ERROR, "offset {offset}");
        assert!(
            v.remark
                .as_deref()
                .is_some_and(|s| s.contains("can not find message by the offset")),
            "offset {offset}: {:?}",
            v.remark
        );
    }

    // A Java admin first asks QUERY_MESSAGE with the id as unique key; the
    // not-found answer lets it fall back to the offset id.
    let unique = query_message(TOPIC, &pulled[3].offset_msg_id(), Some(true));
    let q = rc.call(unique);
    assert_eq!(q.code, QUERY_NOT_FOUND);
    // QUERY_MESSAGE by key returns the record with the same id as a pull.
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = query_until_found(&mut rc, TOPIC, "rid-key-4", deadline);
    assert_eq!(got.len(), 1);
    same_message(&got[0], &pulled[5]);
}

#[test]
fn kafka_records_are_sent_back_by_their_offset() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    metadata(&mut kc, TOPIC);
    let recs = records();
    assert_eq!(produce(&mut kc, TOPIC, 0, gzip_batch(&recs), 1), (0, 0));
    let mut rc = Conn::open(r.broker);
    let pulled = pull_with(&mut rc, 11);
    assert_eq!(pulled.len(), 6);

    // Reconsume count at the maximum: straight to the DLQ.
    let m = &pulled[3];
    let back = send_back(&mut rc, m.physical_offset, "gr-ids", 0, 0);
    assert_eq!(back.code, 0, "{:?}", back.remark);
    let dlq = wait_for(&mut rc, "%DLQ%gr-ids", 0, Duration::from_secs(10));
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].body, m.body);
    assert_eq!(dlq[0].property("KEYS"), Some("rid-key-3"));
    assert_eq!(dlq[0].property("RETRY_TOPIC"), Some(TOPIC));
    assert_eq!(
        dlq[0].property("ORIGIN_MESSAGE_ID"),
        Some(m.offset_msg_id().as_str())
    );

    // A retry copy of another record after delay level 1 (1 s).
    let m = &pulled[5];
    let back = send_back(&mut rc, m.physical_offset, "gr-ids", 1, 16);
    assert_eq!(back.code, 0, "{:?}", back.remark);
    let retry = wait_for(&mut rc, "%RETRY%gr-ids", 0, Duration::from_secs(15));
    assert_eq!(retry.len(), 1);
    assert_eq!((&retry[0].body, retry[0].reconsume_times), (&m.body, 1));
    assert_eq!(retry[0].property("KEYS"), Some("rid-key-5"));

    // An offset past the record count is refused.
    let p = pulled[0].physical_offset;
    let back = send_back(&mut rc, p + 6, "gr-ids", 0, 0);
    assert_eq!(back.code, SYSTEM_ERROR);
}
