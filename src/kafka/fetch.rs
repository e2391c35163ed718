//! Fetch handler: returns stored Kafka batches without re-encoding (slices
//! of the mapped CommitLog), long-polls with `max_wait_ms` / `min_bytes`
//! through `Store::wait_for_data`, honours partition and response byte
//! limits, and declines fetch sessions (session id 0, always full).
//!
//! Isolation: read_committed (v4+) returns nothing at or past the last
//! stable offset and lists the aborted transactions of the returned range
//! (`broker::txn_index`, ADR 014); every version reports the LSO.
//!
//! RocketMQ-written entries are converted to a one-record uncompressed v2
//! batch with baseOffset = queue offset by `broker::format` (the mapping in
//! docs/mapping.md).

use std::time::Duration;

use bytes::Bytes;
use rokka_protocols::kafka::fetch::{
    FetchPartitionResponse, FetchRequest, FetchResponse, FetchTopic, FetchTopicResponse,
};
use rokka_protocols::kafka::records::down_convert;
use rokka_protocols::kafka::{error_code, Writer};
use rokka_store::entry::kafka::batch_range;
use rokka_store::{EntryKind, GetStatus, StoredEntry};
use tokio::task::JoinSet;

use crate::broker::format::to_kafka::rocketmq_entry_to_batch;
use crate::security::acl::op;

use super::request::{CloseReason, Request};
use super::KafkaContext;

/// Longest long-poll accepted, whatever the client asks.
const MAX_WAIT: Duration = Duration::from_secs(30);

fn entry_batch(e: &StoredEntry) -> Option<Bytes> {
    match e.kind {
        EntryKind::KafkaBatch => batch_range(&e.bytes).map(|r| e.bytes.slice(r)),
        EntryKind::RocketMq => rocketmq_entry_to_batch(&e.bytes).ok(),
    }
}

/// Longest sleep of a read_committed fetch held back by an open
/// transaction before it looks again.
const LSO_POLL: Duration = Duration::from_millis(50);

/// Reads every partition once; returns the response, its record bytes and
/// whether a read_committed partition is held back by an open transaction.
/// `magic` < 2 down-converts (Fetch v0–v3).
fn read_all(ctx: &KafkaContext, f: &FetchRequest, magic: i8) -> (FetchResponse, usize, bool) {
    let committed = f.isolation_level == 1;
    let mut held = false;
    let store = &ctx.broker.store;
    let mut total = 0usize;
    let max_total = usize::try_from(f.max_bytes).unwrap_or(0).max(1);
    let mut resp = FetchResponse::default();
    let leads = ctx.leads();
    // Cluster mode: records only below the high watermark (ADR 015).
    let hw = ctx.broker.cluster.as_ref().map(|c| c.high_watermark());
    for t in &f.topics {
        // Placed (wholly or by range) on other broker groups: their
        // masters serve those partitions (ADR 024).
        let layout = super::replication::layout(ctx, &t.topic);
        let mut partitions = Vec::new();
        for p in &t.partitions {
            let mut out = FetchPartitionResponse {
                partition_index: p.partition,
                error_code: error_code::NONE,
                high_watermark: -1,
                last_stable_offset: -1,
                log_start_offset: -1,
                aborted_transactions: None,
                records: Vec::new(),
            };
            let qid = match super::replication::queue_of(&layout, p.partition) {
                Ok(q) => q,
                Err(code) => {
                    out.error_code = code;
                    partitions.push(out);
                    continue;
                }
            };
            // Cluster mode: only the master serves Fetch (ADR 015); clients
            // refresh Metadata and follow the leader.
            if !leads {
                out.error_code = error_code::NOT_LEADER_OR_FOLLOWER;
                partitions.push(out);
                continue;
            }
            let (min, end) = (
                store.min_offset(&t.topic, qid),
                store.max_offset(&t.topic, qid),
            );
            let max = hw.map_or(end, |h| store.max_offset_below(&t.topic, qid, h));
            out.high_watermark = max as i64;
            out.log_start_offset = min as i64;
            let lso = ctx.broker.txns.lso(&t.topic, qid, max as i64);
            out.last_stable_offset = lso;
            let offset = p.fetch_offset;
            if offset < min as i64 || offset > end as i64 {
                out.error_code = error_code::OFFSET_OUT_OF_RANGE;
                partitions.push(out);
                continue;
            }
            let end = if committed { lso } else { max as i64 };
            if committed {
                out.aborted_transactions = Some(Vec::new());
                held |= offset >= lso && lso < max as i64;
            }
            let room = max_total.saturating_sub(total);
            let part_max = usize::try_from(p.partition_max_bytes).unwrap_or(0);
            if offset >= end || room == 0 || part_max == 0 {
                partitions.push(out);
                continue;
            }
            let got = store.get_messages(
                &t.topic,
                qid,
                offset as u64,
                100_000,
                part_max.min(room),
                None,
            );
            match got.status {
                GetStatus::Found => {
                    let stable: Vec<&StoredEntry> = got
                        .entries
                        .iter()
                        .take_while(|e| (e.queue_offset as i64) < end)
                        .collect();
                    if committed {
                        let upper = stable
                            .last()
                            .map_or(offset, |e| e.queue_offset as i64 + i64::from(e.count));
                        let aborted = ctx
                            .broker
                            .txns
                            .aborted_between(&t.topic, qid, offset, upper);
                        out.aborted_transactions = Some(
                            aborted
                                .iter()
                                .map(|a| (a.producer_id, a.first_offset))
                                .collect(),
                        );
                    }
                    let batches: Vec<Bytes> = stable.into_iter().filter_map(entry_batch).collect();
                    if magic >= 2 {
                        total += batches.iter().map(Bytes::len).sum::<usize>();
                        out.records = batches;
                    } else {
                        match down_convert(&batches, magic, offset, part_max.min(room)) {
                            Ok(set) => {
                                total += set.len();
                                out.records = vec![set];
                            }
                            Err(e) => {
                                tracing::warn!(topic = %t.topic, error = %e, "down-conversion failed");
                                out.error_code = error_code::CORRUPT_MESSAGE;
                            }
                        }
                    }
                }
                GetStatus::OffsetTooSmall | GetStatus::OffsetOverflowBadly => {
                    out.error_code = error_code::OFFSET_OUT_OF_RANGE;
                }
                _ => {}
            }
            partitions.push(out);
        }
        resp.responses.push(FetchTopicResponse {
            topic: t.topic.clone(),
            partitions,
        });
    }
    (resp, total, held)
}

/// Waits until any requested partition has data past its fetch offset, or
/// `timeout` passes.
async fn wait_any(ctx: &KafkaContext, f: &FetchRequest, timeout: Duration) {
    // Cluster mode: the data may be there but above the high watermark,
    // which moves with the replicas' acks.
    if let Some(c) = &ctx.broker.cluster {
        if c.high_watermark() < ctx.broker.store.log_end() {
            c.wait_ack(timeout).await;
            return;
        }
    }
    let mut set = JoinSet::new();
    for t in &f.topics {
        for p in &t.partitions {
            let (Ok(qid), Ok(off)) = (u32::try_from(p.partition), u64::try_from(p.fetch_offset))
            else {
                continue;
            };
            let store = ctx.broker.store.clone();
            let topic = t.topic.clone();
            set.spawn(async move { store.wait_for_data(&topic, qid, off, timeout).await });
        }
    }
    let _ = tokio::time::timeout(timeout, async {
        while let Some(r) = set.join_next().await {
            if matches!(r, Ok(true)) {
                return;
            }
        }
    })
    .await;
    set.abort_all();
}

/// A topic the principal may not read: TOPIC_AUTHORIZATION_FAILED per partition.
fn refused(t: FetchTopic) -> FetchTopicResponse {
    FetchTopicResponse {
        topic: t.topic,
        partitions: t
            .partitions
            .iter()
            .map(|p| FetchPartitionResponse {
                partition_index: p.partition,
                error_code: error_code::TOPIC_AUTHORIZATION_FAILED,
                high_watermark: -1,
                last_stable_offset: -1,
                log_start_offset: -1,
                aborted_transactions: None,
                records: Vec::new(),
            })
            .collect(),
    }
}

/// Handles Fetch v0–12 (v0–v3 down-converted to MessageSet v0/v1).
pub async fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let mut f =
        FetchRequest::decode(&mut req.reader(), req.version()).map_err(|e| req.bad_body(e))?;
    let denied = super::acls::split_denied(ctx, req, op::READ, &mut f.topics, |t| &t.topic);
    let wait = Duration::from_millis(u64::try_from(f.max_wait_ms).unwrap_or(0)).min(MAX_WAIT);
    let min_bytes = usize::try_from(f.min_bytes).unwrap_or(0).max(1);
    let deadline = tokio::time::Instant::now() + wait;
    let magic = match req.version() {
        0 | 1 => 0,
        2 | 3 => 1,
        _ => 2,
    };
    let (mut resp, mut total, mut held) = read_all(ctx, &f, magic);
    // Bounded: each round waits until data or the deadline.
    for _ in 0..8 {
        let now = tokio::time::Instant::now();
        let has_error = resp
            .responses
            .iter()
            .flat_map(|t| &t.partitions)
            .any(|p| p.error_code != error_code::NONE);
        if total >= min_bytes || has_error || !denied.is_empty() || now >= deadline {
            break;
        }
        if held {
            // Data exists but an open transaction hides it: look again soon.
            tokio::time::sleep((deadline - now).min(LSO_POLL)).await;
        } else {
            wait_any(ctx, &f, deadline - now).await;
        }
        (resp, total, held) = read_all(ctx, &f, magic);
    }
    resp.responses.extend(denied.into_iter().map(refused));
    crate::metrics::topic_traffic::fetched(&resp);
    let mut w = req.writer();
    resp.encode(&mut w, req.version());
    Ok(w)
}
