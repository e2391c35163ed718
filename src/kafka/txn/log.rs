//! Persistence of the transaction coordinator in `__transaction_state`
//! (ADR 014): one record per state change of a transactional id, and one
//! record per aborted transaction of a partition (the aborted index).
//! At start-up [`load`] reads the topic back: the latest state of every
//! transactional id, and the aborted index of every partition.

use std::collections::HashMap;

use bytes::Bytes;
use rokka_protocols::kafka::offsets_topic::TRANSACTION_STATE_TOPIC;
use rokka_protocols::kafka::records::{build_v2_batch, decode_v2_records, Record};
use rokka_protocols::kafka::txn_log::{
    decode_aborted_value, encode_aborted_value, TxnLogKey, TxnStateValue,
};
use rokka_store::entry::kafka::batch_range;
use rokka_store::topics::TopicConfig;
use rokka_store::{
    AppendPayload, AppendRequest, EntryKind, GetStatus, KafkaBatch, Store, StoreError,
};
use tracing::{info, warn};

use crate::broker::txn_index::{AbortedTxn, TxnIndex};
use crate::broker::Broker;
use crate::kafka::offsets_topic::partition_for;

/// Partitions of `__transaction_state` (Kafka's
/// `transaction.state.log.num.partitions` default).
pub const PARTITIONS: u32 = 50;

/// Topic permission bits: read only, so RocketMQ producers cannot write.
const PERM_READ: u32 = 4;

/// Creates the topic if missing (compacted, read-only for RocketMQ);
/// returns its partition count.
pub fn ensure_topic(broker: &Broker) -> Result<u32, StoreError> {
    let topics = broker.store.topics();
    let mut t = topics
        .get(TRANSACTION_STATE_TOPIC)
        .unwrap_or_else(|| TopicConfig::new(TRANSACTION_STATE_TOPIC, PARTITIONS));
    if t.attributes.get("cleanup.policy").map(String::as_str) != Some("compact")
        || t.perm != PERM_READ
    {
        t.attributes
            .insert("cleanup.policy".to_string(), "compact".to_string());
        t.perm = PERM_READ;
        topics.put(t.clone())?;
    }
    Ok(crate::broker::topics::partition_count(&t).max(1))
}

/// Appends one record (a state or an aborted entry) to the partition of
/// `txn_id`.
pub async fn append(
    store: &Store,
    partitions: u32,
    txn_id: &str,
    key: &TxnLogKey,
    value: Bytes,
) -> Result<(), StoreError> {
    let rec = Record {
        timestamp: now_ms(),
        key: Some(key.encode()),
        value: Some(value),
        headers: Vec::new(),
    };
    let req = AppendRequest {
        topic: Bytes::from_static(TRANSACTION_STATE_TOPIC.as_bytes()),
        queue_id: partition_for(txn_id, partitions),
        payload: AppendPayload::Kafka(KafkaBatch {
            batch: build_v2_batch(0, &[rec]),
            index_keys: Vec::new(),
            tags_codes: Vec::new(),
        }),
    };
    store.append(req).await.map(|_| ())
}

/// Persists an aborted entry of `topic`/`queue`.
pub async fn append_aborted(
    store: &Store,
    partitions: u32,
    txn_id: &str,
    topic: &str,
    queue: u32,
    a: AbortedTxn,
) -> Result<(), StoreError> {
    let key = TxnLogKey::Aborted(
        topic.to_string(),
        i32::try_from(queue).unwrap_or(i32::MAX),
        a.producer_id,
        a.first_offset,
    );
    append(
        store,
        partitions,
        txn_id,
        &key,
        encode_aborted_value(a.last_offset),
    )
    .await
}

/// Reads the topic: the latest state per transactional id; aborted entries
/// still above their partition's log start go into `index`.
pub fn load(store: &Store, partitions: u32, index: &TxnIndex) -> HashMap<String, TxnStateValue> {
    let mut states = HashMap::new();
    let (mut aborted, mut undecodable) = (0u64, 0u64);
    for q in 0..partitions {
        let mut offset = store.min_offset(TRANSACTION_STATE_TOPIC, q);
        // Bounded: each round advances to the next offset or stops.
        loop {
            let r = store.get_messages(TRANSACTION_STATE_TOPIC, q, offset, 1024, 8 << 20, None);
            if r.status != GetStatus::Found || r.next_offset <= offset {
                break;
            }
            for e in r.entries.iter().filter(|e| e.kind == EntryKind::KafkaBatch) {
                let recs = batch_range(&e.bytes)
                    .and_then(|range| e.bytes.get(range))
                    .map(decode_v2_records);
                let Some(Ok(recs)) = recs else {
                    undecodable += 1;
                    continue;
                };
                for rec in recs {
                    let (Some(k), Some(v)) = (rec.key, rec.value) else {
                        continue;
                    };
                    match TxnLogKey::decode(&k) {
                        Ok(TxnLogKey::State(id)) => match TxnStateValue::decode(&v) {
                            Ok(s) => {
                                states.insert(id, s);
                            }
                            Err(_) => undecodable += 1,
                        },
                        Ok(TxnLogKey::Aborted(topic, p, pid, first)) => {
                            let (Ok(last), Ok(p)) = (decode_aborted_value(&v), u32::try_from(p))
                            else {
                                undecodable += 1;
                                continue;
                            };
                            if last >= store.min_offset(&topic, p) as i64 {
                                aborted += 1;
                                index.add_aborted(
                                    &topic,
                                    p,
                                    AbortedTxn {
                                        producer_id: pid,
                                        first_offset: first,
                                        last_offset: last,
                                    },
                                );
                            }
                        }
                        Err(_) => undecodable += 1,
                    }
                }
            }
            offset = r.next_offset;
        }
    }
    if undecodable > 0 {
        warn!(
            undecodable,
            "skipped undecodable __transaction_state records"
        );
    }
    info!(
        transactional_ids = states.len(),
        aborted, "transaction coordinator state loaded"
    );
    states
}

/// Wall-clock milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
