//! Produce handler: validates each partition's records (RecordBatch v2 kept
//! as sent; MessageSet v0/v1 converted to one uncompressed v2 batch) and
//! appends them as Kafka batch entries, indexed by each word of the record
//! key and tagged from the `TAGS` header (`broker::format`, for RocketMQ
//! readers). `acks = 0`
//! gets no response; acks 1 and -1 are both answered after the append
//! (single replica, so "all" = the leader). Idempotent batches go through
//! the sequence check in `idempotence.rs` first; transactional batches are
//! checked against the transaction coordinator (`txn/`: producer epoch,
//! open transaction holding the partition) and mark the partition's open
//! transaction before they are appended; control batches from clients are
//! INVALID_RECORD, as in Kafka. Topic configs enforced
//! here: `max.message.bytes` (a larger batch gets MESSAGE_TOO_LARGE for its
//! partition) and `message.timestamp.type=LogAppendTime` (the batch is
//! stamped with the append time, as Kafka does).

use bytes::Bytes;
use rokka_protocols::kafka::offsets_topic::is_internal_topic;
use rokka_protocols::kafka::produce::{
    ProducePartitionResponse, ProduceRequest, ProduceResponse, ProduceTopicResponse,
};
use rokka_protocols::kafka::records::{
    build_v2_batch, decode_message_set, split_entries, validate_v2, with_log_append_time,
    ValidBatch,
};
use rokka_protocols::kafka::txn_log::{batch_producer, ATTR_CONTROL, ATTR_TRANSACTIONAL};
use rokka_protocols::kafka::{error_code, DecodeError, Writer};
use rokka_store::topics::TopicConfig;
use rokka_store::{AppendPayload, AppendRequest, KafkaBatch};
use tracing::{debug, warn};

use crate::broker::format::to_rocketmq::produce_index;
use crate::broker::topics::partition_count;
use crate::cluster::Route;
use crate::metrics::topic_traffic::{self, Protocol};

use super::errors::{records_error_code, store_error_code};
use super::idempotence::Verdict;
use super::request::{CloseReason, Request};
use super::topic_config;
use super::KafkaContext;
use crate::security::acl::op;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Logs a produce into an internal topic; no partition accepts it.
fn refuse_internal(topic: &str) -> u32 {
    warn!(topic, "refusing a produce into an internal topic");
    0
}

/// Turns a partition's record set into validated v2 batches.
pub fn to_batches(records: &Bytes) -> Result<Vec<ValidBatch>, DecodeError> {
    let entries = split_entries(records)?;
    if entries.is_empty() {
        return Err(DecodeError::Invalid { field: "records" });
    }
    if entries.iter().all(|(magic, _)| *magic == 2) {
        return entries.iter().map(|(_, b)| validate_v2(b)).collect();
    }
    if entries.iter().any(|(magic, _)| *magic == 2) {
        return Err(DecodeError::Invalid {
            field: "mixed record formats",
        });
    }
    let recs = decode_message_set(records, now_ms())?;
    if recs.is_empty() {
        return Err(DecodeError::Invalid { field: "records" });
    }
    validate_v2(&build_v2_batch(0, &recs)).map(|b| vec![b])
}

/// The topic configs Produce enforces (`topic_config.rs`).
struct TopicLimits {
    /// `max.message.bytes`: largest batch accepted.
    max_message_bytes: Option<usize>,
    /// `message.timestamp.type=LogAppendTime`.
    log_append_time: bool,
}

impl TopicLimits {
    fn of(ctx: &KafkaContext, topic: Option<&TopicConfig>) -> TopicLimits {
        let Some(cfg) = topic else {
            return TopicLimits {
                max_message_bytes: None,
                log_append_time: false,
            };
        };
        TopicLimits {
            max_message_bytes: topic_config::effective_i64(ctx, cfg, "max.message.bytes")
                .and_then(|v| usize::try_from(v).ok()),
            log_append_time: topic_config::effective(ctx, cfg, "message.timestamp.type")
                .is_some_and(|v| v == "LogAppendTime"),
        }
    }
}

/// Handles Produce v0–11; `Ok(None)` for acks=0.
pub async fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Option<Writer>, CloseReason> {
    let p =
        ProduceRequest::decode(&mut req.reader(), req.version()).map_err(|e| req.bad_body(e))?;
    let store = &ctx.broker.store;
    let mut resp = ProduceResponse::default();
    let replicated = super::replication::Gate::new(ctx, p.acks);
    // The CommitLog end acks=all waits for (0: nothing appended).
    let mut wait_end = 0u64;
    for t in p.topics {
        // Kafka's internal topics are written by the broker only.
        // One look-up (a clone of the config) serves the count and the limits.
        let cfg = ctx.broker.topic(&t.name);
        let queues = if is_internal_topic(&t.name) {
            refuse_internal(&t.name)
        } else {
            cfg.as_ref().map_or(0, partition_count)
        };
        let limits = TopicLimits::of(ctx, cfg.as_ref());
        let denied = super::acls::topic_refusal(ctx, req, op::WRITE, &t.name);
        let layout = ctx.broker.layout(&t.name, queues);
        let mut partitions = Vec::new();
        for part in t.partitions {
            let mut out = ProducePartitionResponse {
                index: part.index,
                error_code: error_code::NONE,
                base_offset: -1,
                log_start_offset: -1,
                log_append_time_ms: -1,
            };
            if let Some(code) = denied {
                out.error_code = code;
                partitions.push(out);
                continue;
            }
            let qid = match layout.route(part.index) {
                Route::Local(_) if layout.drained => {
                    // A drained range (ADR 024) is read until consumers pass
                    // its end; writes go to the topic's other partitions.
                    out.error_code = error_code::POLICY_VIOLATION;
                    partitions.push(out);
                    continue;
                }
                Route::Local(q) => q,
                // Placed on another broker group: its master takes the writes.
                Route::Elsewhere => {
                    out.error_code = error_code::NOT_LEADER_OR_FOLLOWER;
                    partitions.push(out);
                    continue;
                }
                Route::Unknown if is_internal_topic(&t.name) => {
                    out.error_code = error_code::INVALID_TOPIC_EXCEPTION;
                    partitions.push(out);
                    continue;
                }
                Route::Unknown => {
                    out.error_code = error_code::UNKNOWN_TOPIC_OR_PARTITION;
                    partitions.push(out);
                    continue;
                }
            };
            if let Some(code) = replicated.refusal(&t.name) {
                out.error_code = code;
                partitions.push(out);
                continue;
            }
            let batches = match to_batches(&part.records) {
                Ok(b) => b,
                Err(e) => {
                    ctx.metrics
                        .bad_requests_total
                        .with_label_values(&["corrupt records"])
                        .inc();
                    warn!(topic = %t.name, partition = part.index, error = %e, "refusing records");
                    out.error_code = records_error_code(&e);
                    partitions.push(out);
                    continue;
                }
            };
            if let Some(max) = limits.max_message_bytes {
                if let Some(big) = batches.iter().find(|b| b.batch.len() > max) {
                    ctx.metrics
                        .bad_requests_total
                        .with_label_values(&["message too large"])
                        .inc();
                    debug!(topic = %t.name, partition = part.index, size = big.batch.len(), max, "batch over max.message.bytes");
                    out.error_code = error_code::MESSAGE_TOO_LARGE;
                    partitions.push(out);
                    continue;
                }
            }
            for mut b in batches {
                if limits.log_append_time {
                    let now = now_ms();
                    b.batch = with_log_append_time(&b.batch, now);
                    out.log_append_time_ms = now;
                }
                let (pid, epoch, seq, count) =
                    (b.producer_id, b.producer_epoch, b.base_sequence, b.count);
                let attrs = batch_producer(&b.batch).map_or(0, |x| x.0);
                if attrs & ATTR_CONTROL != 0 {
                    ctx.metrics
                        .bad_requests_total
                        .with_label_values(&["control batch from a client"])
                        .inc();
                    out.error_code = error_code::INVALID_RECORD;
                    break;
                }
                // Held until the append is done: no marker of this
                // producer's transaction is written in between.
                let _txn_guard = if attrs & ATTR_TRANSACTIONAL != 0 {
                    let guard = ctx.txn.markers.read().await;
                    if let Err(code) = ctx.txn.check_produce(&t.name, qid, pid, epoch) {
                        crate::net::log_limit::warn(|suppressed| {
                            warn!(topic = %t.name, partition = part.index, producer_id = pid, epoch, code, suppressed, "refusing transactional batch");
                        });
                        out.error_code = code;
                        break;
                    }
                    Some(guard)
                } else {
                    None
                };
                let verdict = match ctx.sequences.check(pid, epoch, &t.name, qid, seq, count) {
                    // The table remembers a batch the log no longer holds (a
                    // tail cut when this node followed another master): it is
                    // not stored, so it is appended, never acknowledged as is.
                    Verdict::Duplicate(base) if base >= store.max_offset(&t.name, qid) as i64 => {
                        warn!(topic = %t.name, partition = part.index, producer_id = pid, seq, base, "idempotent batch remembered past the log end; appending it");
                        Verdict::Append
                    }
                    v => v,
                };
                match verdict {
                    Verdict::Append => {}
                    Verdict::Duplicate(base) => {
                        if out.base_offset < 0 {
                            out.base_offset = base;
                        }
                        // A retry is acknowledged like the original: replicated.
                        wait_end = wait_end.max(store.log_end());
                        continue;
                    }
                    Verdict::Reject(code) => {
                        warn!(topic = %t.name, partition = part.index, producer_id = pid, seq, code, "refusing idempotent batch");
                        out.error_code = code;
                        break;
                    }
                }
                let (index_keys, tags_codes) = produce_index(&b);
                let append = AppendRequest {
                    topic: Bytes::copy_from_slice(t.name.as_bytes()),
                    queue_id: qid,
                    payload: AppendPayload::Kafka(KafkaBatch {
                        batch: b.batch,
                        index_keys,
                        tags_codes,
                    }),
                };
                match store.append(append).await {
                    Ok(r) => {
                        wait_end = wait_end.max(r.phy_offset + u64::from(r.bytes));
                        topic_traffic::produced(Protocol::Kafka, &t.name, qid, &r);
                        if out.base_offset < 0 {
                            out.base_offset = r.queue_offset as i64;
                        }
                        ctx.sequences.record(
                            pid,
                            epoch,
                            &t.name,
                            qid,
                            seq,
                            count,
                            r.queue_offset as i64,
                        );
                    }
                    Err(e) => {
                        // Counted in rokka_store_appends_refused_total; a client
                        // retrying against a full disk must not flood the log.
                        crate::net::log_limit::warn(|suppressed| {
                            warn!(topic = %t.name, partition = part.index, error = %e, suppressed, "append failed");
                        });
                        out.error_code = store_error_code(&e);
                        break;
                    }
                }
            }
            out.log_start_offset = store.min_offset(&t.name, qid) as i64;
            partitions.push(out);
        }
        resp.responses.push(ProduceTopicResponse {
            name: t.name,
            partitions,
        });
    }
    replicated
        .wait(wait_end, p.timeout_ms, &mut resp.responses)
        .await;
    if p.acks == 0 {
        return Ok(None);
    }
    let mut w = req.writer();
    resp.encode(&mut w, req.version());
    Ok(Some(w))
}
