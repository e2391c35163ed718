use std::time::{Duration, Instant};

use bytes::Bytes;
use prometheus::{Registry, TextEncoder};
use rokka_store::{AppendPayload, AppendRequest, MessageToStore, Store, StoreConfig};

use super::*;

fn message() -> MessageToStore {
    MessageToStore {
        flag: 0,
        body: Bytes::from_static(b"hello"),
        sys_flag: 0,
        born_timestamp: 0,
        born_host: "127.0.0.1:1".parse().unwrap(),
        reconsume_times: 0,
        prepared_tx_offset: 0,
        properties: Bytes::new(),
    }
}

fn store_with(dir: &std::path::Path, n: u64) -> Store {
    let store = Store::open(StoreConfig::for_tests(dir), &Registry::new()).unwrap();
    for _ in 0..n {
        store
            .append_blocking(AppendRequest {
                topic: Bytes::from_static(b"T"),
                queue_id: 1,
                payload: AppendPayload::Message(message()),
            })
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.max_offset("T", 1) < n {
        assert!(Instant::now() < deadline, "dispatch did not catch up");
        std::thread::sleep(Duration::from_millis(10));
    }
    store
}

fn scrape(store: &Store, compat: bool) -> String {
    let registry = Registry::new();
    let id = Identity {
        cluster: "C".into(),
        broker: "b".into(),
    };
    registry
        .register(Box::new(OffsetsCollector::new(store.clone(), id, compat)))
        .unwrap();
    TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap()
}

fn has(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "missing `{line}` in\n{text}"
    );
}

#[test]
fn offsets_and_lag_of_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), 10);
    store.offsets().commit("g", "T", 1, 4, "");
    // Configured queues without messages are listed too.
    store
        .topics()
        .put(rokka_store::topics::TopicConfig::new("E", 2))
        .unwrap();
    // A commit for a queue that does not exist yields no series.
    store.offsets().commit("g", "Gone", 0, 4, "");
    let text = scrape(&store, true);
    has(
        &text,
        r#"rokka_topic_partition_log_start_offset{partition="1",topic="T"} 0"#,
    );
    has(
        &text,
        r#"rokka_topic_partition_log_end_offset{partition="1",topic="T"} 10"#,
    );
    has(
        &text,
        r#"rokka_consumergroup_committed_offset{group="g",partition="1",topic="T"} 4"#,
    );
    has(
        &text,
        r#"rokka_consumergroup_lag_messages{group="g",partition="1",topic="T"} 6"#,
    );
    has(&text, "kafka_brokers 1");
    has(
        &text,
        r#"kafka_consumergroup_current_offset_sum{consumergroup="g",topic="T"} 4"#,
    );
    has(&text, r#"kafka_topic_partitions{topic="T"} 1"#);
    has(&text, r#"kafka_topic_partitions{topic="E"} 2"#);
    has(
        &text,
        r#"rokka_topic_partition_log_end_offset{partition="1",topic="E"} 0"#,
    );
    has(
        &text,
        r#"kafka_topic_partition_current_offset{partition="1",topic="T"} 10"#,
    );
    has(
        &text,
        r#"kafka_topic_partition_oldest_offset{partition="1",topic="T"} 0"#,
    );
    has(
        &text,
        r#"kafka_consumergroup_current_offset{consumergroup="g",partition="1",topic="T"} 4"#,
    );
    has(
        &text,
        r#"kafka_consumergroup_lag{consumergroup="g",partition="1",topic="T"} 6"#,
    );
    has(
        &text,
        r#"kafka_consumergroup_lag_sum{consumergroup="g",topic="T"} 6"#,
    );
    has(
        &text,
        r#"rocketmq_consumer_lag_messages{cluster="C",consumer_group="g",node_id="b",node_type="broker",topic="T"} 6"#,
    );
    has(
        &text,
        r#"rocketmq_messages_in_total{cluster="C",is_system="false",message_type="normal",node_id="b",node_type="broker",topic="T"} 10"#,
    );
    assert!(text.contains("rokka_consumergroup_lag_seconds{"), "{text}");
    assert!(text.contains("rocketmq_consumer_lag_latency{"), "{text}");
    assert!(!text.contains("Gone"), "{text}");
    // Caught up: no lag; past the end is clamped.
    store.offsets().commit("g", "T", 1, 10, "");
    let text = scrape(&store, false);
    has(
        &text,
        r#"rokka_consumergroup_lag_messages{group="g",partition="1",topic="T"} 0"#,
    );
    has(
        &text,
        r#"rokka_consumergroup_lag_seconds{group="g",partition="1",topic="T"} 0"#,
    );
    assert!(!text.contains("kafka_"), "compat off:\n{text}");
    assert!(!text.contains("rocketmq_"), "compat off:\n{text}");
    // A deleted group disappears.
    store.offsets().delete("g", None);
    let text = scrape(&store, true);
    assert!(!text.contains("group=\"g\""), "{text}");
    store.shutdown().unwrap();
}

#[test]
fn group_diff_only_with_an_online_consumer_source() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), 10);
    store.offsets().commit("g", "T", 1, 4, "");
    assert!(!scrape(&store, true).contains("rocketmq_group_diff"));
    let id = Identity {
        cluster: "C".into(),
        broker: "b".into(),
    };
    let online = OnlineConsumers(std::sync::Arc::new(|g: &str| usize::from(g == "g") * 2));
    let registry = Registry::new();
    registry
        .register(Box::new(
            OffsetsCollector::new(store.clone(), id, true).with_online_consumers(online),
        ))
        .unwrap();
    let text = TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    has(
        &text,
        r#"rocketmq_group_diff{countOfOnlineConsumers="2",group="g",msgModel="1",topic="T"} 6"#,
    );
}

#[test]
fn lag_stops_at_the_last_stable_offset() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with(dir.path(), 10);
    store.offsets().commit("g", "T", 1, 4, "");
    let txns = Arc::new(crate::broker::txn_index::TxnIndex::default());
    txns.begin("T", 1, 77, 7); // an open Kafka transaction from offset 7
    let registry = Registry::new();
    let id = Identity {
        cluster: "C".into(),
        broker: "b".into(),
    };
    let collector =
        OffsetsCollector::new(store.clone(), id, false).with_txn_index(Arc::clone(&txns));
    registry.register(Box::new(collector)).unwrap();
    let text = TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    has(
        &text,
        r#"rokka_consumergroup_lag_messages{group="g",partition="1",topic="T"} 3"#,
    );
    has(
        &text,
        r#"rokka_topic_partition_log_end_offset{partition="1",topic="T"} 10"#,
    );
}
