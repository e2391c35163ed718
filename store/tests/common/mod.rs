//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

use bytes::Bytes;
use rokka_store::{AppendPayload, AppendRequest, KafkaBatch, MessageToStore, Store, StoreConfig};

pub fn registry() -> prometheus::Registry {
    prometheus::Registry::new()
}

pub fn open(cfg: StoreConfig) -> Store {
    Store::open(cfg, &registry()).expect("open store")
}

/// Small segments so that tests roll them often.
pub fn small_config(dir: &std::path::Path) -> StoreConfig {
    let mut c = StoreConfig::for_tests(dir);
    c.commit_log_segment_size = 64 * 1024;
    c.max_message_size = 16 * 1024;
    c.consume_queue_entries_per_file = 64;
    c
}

/// Encodes RocketMQ properties.
pub fn props(pairs: &[(&str, &str)]) -> Bytes {
    let mut s = String::new();
    for (k, v) in pairs {
        s.push_str(k);
        s.push('\u{1}');
        s.push_str(v);
        s.push('\u{2}');
    }
    Bytes::from(s)
}

pub fn message(body: &[u8], properties: Bytes) -> MessageToStore {
    MessageToStore {
        flag: 0,
        body: Bytes::copy_from_slice(body),
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:40000".parse().unwrap(),
        reconsume_times: 0,
        prepared_tx_offset: 0,
        properties,
    }
}

pub fn rocket(topic: &str, queue_id: u32, body: &[u8], properties: Bytes) -> AppendRequest {
    AppendRequest {
        topic: Bytes::copy_from_slice(topic.as_bytes()),
        queue_id,
        payload: AppendPayload::Message(message(body, properties)),
    }
}

pub fn kafka(
    topic: &str,
    queue_id: u32,
    values: &[&[u8]],
    keys: Vec<(u32, Bytes)>,
) -> AppendRequest {
    AppendRequest {
        topic: Bytes::copy_from_slice(topic.as_bytes()),
        queue_id,
        payload: AppendPayload::Kafka(KafkaBatch {
            batch: rokka_store::entry::kafka::test_batch(values),
            index_keys: keys,
            tags_codes: Vec::new(),
        }),
    }
}

/// Deterministic body of message `i` in a test run (varying sizes).
pub fn body_for(seed: u64, i: u64, max: usize) -> Vec<u8> {
    let mut x = seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let len = 1 + (next() as usize % max);
    (0..len).map(|_| next() as u8).collect()
}
