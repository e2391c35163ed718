use std::sync::Mutex;

use bytes::{BufMut, Bytes, BytesMut};
use prometheus::{Registry, TextEncoder};
use rokka_protocols::kafka::fetch::{FetchPartitionResponse, FetchTopicResponse};
use rokka_store::topics::TopicConfig;
use rokka_store::StoreConfig;

use super::*;

/// The table is process-wide and a scrape forgets topics its store lacks:
/// tests that scrape run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn store(dir: &std::path::Path, topics: &[&str]) -> Store {
    let store = Store::open(StoreConfig::for_tests(dir), &Registry::new()).unwrap();
    for t in topics {
        store
            .topics()
            .get_or_create(TopicConfig::new(t, 2))
            .unwrap();
    }
    store
}

fn scrape(c: &TopicTrafficCollector) -> String {
    // As `Registry::gather` does: empty families are left out.
    let mut families = c.collect();
    families.retain(|f| !f.get_metric().is_empty());
    families.sort_by(|a, b| a.name().cmp(b.name()));
    TextEncoder::new().encode_to_string(&families).unwrap()
}

fn has(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "missing `{line}` in\n{text}"
    );
}

fn id() -> Identity {
    Identity {
        cluster: "C".into(),
        broker: "b".into(),
    }
}

fn appended(count: u32, bytes: u32) -> AppendResult {
    AppendResult {
        phy_offset: 0,
        queue_offset: 0,
        count,
        store_timestamp: 0,
        bytes,
    }
}

/// A v2 batch header claiming `records` records, padded to `len` bytes.
fn v2_batch(records: i32, len: usize) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i64(0);
    b.put_i32((len - 12) as i32);
    b.put_i32(0);
    b.put_u8(2);
    b.resize(57, 0);
    b.put_i32(records);
    b.resize(len, 0);
    b.freeze()
}

/// A v1 message of `len` bytes in total.
fn v1_message(len: usize) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i64(0);
    b.put_i32((len - 12) as i32);
    b.put_u32(0);
    b.put_u8(1);
    b.resize(len, 0);
    b.freeze()
}

#[test]
fn counts_kafka_records() {
    let mut set = BytesMut::new();
    set.extend_from_slice(&v2_batch(5, 100));
    set.extend_from_slice(&v2_batch(3, 70));
    assert_eq!(count_kafka_records(&set), 8);
    let mut old = BytesMut::new();
    old.extend_from_slice(&v1_message(40));
    old.extend_from_slice(&v1_message(30));
    old.extend_from_slice(&v1_message(30)[..20]); // truncated tail
    assert_eq!(count_kafka_records(&old), 2);
    assert_eq!(count_kafka_records(&[0xff; 16]), 0);
    let mut neg = v2_batch(1, 70).to_vec();
    neg[8] = 0xff;
    assert_eq!(count_kafka_records(&neg), 0);
}

#[test]
fn publishes_in_and_out_by_protocol_and_forgets_deleted_topics() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), &["tt-a", "tt-b"]);
    produced(Protocol::Kafka, "tt-a", 0, &appended(3, 300));
    produced(Protocol::Remoting, "tt-a", 1, &appended(2, 250));
    produced(Protocol::Remoting, "tt-gone", 0, &appended(1, 10));
    let resp = FetchResponse {
        error_code: 0,
        responses: vec![FetchTopicResponse {
            topic: "tt-a".into(),
            partitions: vec![FetchPartitionResponse {
                partition_index: 0,
                error_code: 0,
                high_watermark: 3,
                last_stable_offset: 3,
                log_start_offset: 0,
                aborted_transactions: None,
                records: vec![v2_batch(3, 120)],
            }],
        }],
    };
    fetched(&resp);
    pulled(
        "tt-a",
        1,
        "G1",
        &[Bytes::from_static(b"abcd"), Bytes::from_static(b"ef")],
    );
    pulled("tt-b", 0, "G1", &[]);
    let c = TopicTrafficCollector::new(store.clone(), id(), true);
    let text = scrape(&c);
    has(
        &text,
        r#"rokka_topic_messages_in_total{partition="0",protocol="kafka",topic="tt-a"} 3"#,
    );
    has(
        &text,
        r#"rokka_topic_bytes_in_total{partition="1",protocol="remoting",topic="tt-a"} 250"#,
    );
    has(
        &text,
        r#"rokka_topic_messages_out_total{partition="0",protocol="kafka",topic="tt-a"} 3"#,
    );
    has(
        &text,
        r#"rokka_topic_bytes_out_total{partition="0",protocol="kafka",topic="tt-a"} 120"#,
    );
    has(
        &text,
        r#"rokka_topic_messages_out_total{partition="1",protocol="remoting",topic="tt-a"} 2"#,
    );
    has(
        &text,
        r#"rokka_topic_bytes_out_total{partition="1",protocol="remoting",topic="tt-a"} 6"#,
    );
    has(
        &text,
        r#"rocketmq_throughput_in_total{cluster="C",is_system="false",message_type="normal",node_id="b",node_type="broker",topic="tt-a"} 550"#,
    );
    has(
        &text,
        r#"rocketmq_messages_out_total{cluster="C",consumer_group="G1",is_system="false",node_id="b",node_type="broker",topic="tt-a"} 2"#,
    );
    has(
        &text,
        r#"rocketmq_throughput_out_total{cluster="C",consumer_group="",is_system="false",node_id="b",node_type="broker",topic="tt-a"} 120"#,
    );
    has(
        &text,
        r#"rocketmq_producer_tps{broker="b",cluster="C",topic="tt-a"} 0"#,
    );
    assert!(!text.contains("tt-gone"), "{text}");
    assert!(
        !text.contains(r#"topic="tt-b""#),
        "empty pull counted: {text}"
    );

    // More traffic, then a later scrape: the TPS gauges become positive.
    produced(Protocol::Kafka, "tt-a", 0, &appended(10, 1000));
    pulled("tt-a", 1, "G1", &[Bytes::from_static(b"x")]);
    std::thread::sleep(Duration::from_millis(50));
    let text = scrape(&c);
    has(
        &text,
        r#"rokka_topic_messages_in_total{partition="0",protocol="kafka",topic="tt-a"} 13"#,
    );
    let tps = |name: &str| -> f64 {
        text.lines()
            .find(|l| {
                l.starts_with(name)
                    && l.contains("tt-a")
                    && l.contains("G1") == name.contains("consumer")
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert!(tps("rocketmq_producer_tps") > 10.0, "{text}");
    assert!(tps("rocketmq_consumer_tps") > 0.0, "{text}");

    // Deleting the topic removes its series at the next scrape.
    store.topics().remove("tt-a").unwrap();
    let text = scrape(&c);
    assert!(!text.contains("tt-a"), "{text}");

    // Without compatibility, only rokka's own families.
    produced(Protocol::Kafka, "tt-b", 0, &appended(1, 1));
    let text = scrape(&TopicTrafficCollector::new(store, id(), false));
    has(
        &text,
        r#"rokka_topic_messages_in_total{partition="0",protocol="kafka",topic="tt-b"} 1"#,
    );
    assert!(!text.contains("rocketmq_"), "{text}");
}
