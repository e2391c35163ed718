//! TxnOffsetCommit handler (v0–3): checks the group as OffsetCommit does
//! (ADR 006 ownership; member and generation from v3), then keeps the
//! offsets in the transaction; they reach the shared offset table (and
//! `__consumer_offsets`) only when it commits.

use rokka_protocols::kafka::txn_log::PendingOffset;
use rokka_protocols::kafka::txn_offset_commit::{encode_response, TxnOffsetCommitRequest};
use rokka_protocols::kafka::{error_code, TopicErrors, Writer};

use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::broker::groups::Protocol;
use crate::security::acl::op;

/// Handles TxnOffsetCommit v0–3.
pub async fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let c = TxnOffsetCommitRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let mut pending = Vec::new();
    let mut unknown = Vec::new();
    let mut denied = Vec::new();
    for (topic, parts) in &c.topics {
        let queues = ctx.broker.cluster_partitions(topic);
        let refused = super::acls::topic_refusal(ctx, req, op::READ, topic).is_some();
        for p in parts {
            if refused {
                denied.push((topic.clone(), p.partition_index));
            } else if u32::try_from(p.partition_index).is_ok_and(|q| q < queues) {
                pending.push(PendingOffset {
                    group: c.group_id.clone(),
                    topic: topic.clone(),
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    metadata: p.committed_metadata.clone(),
                });
            } else {
                unknown.push((topic.clone(), p.partition_index));
            }
        }
    }
    let code =
        if let Some(code) = super::acls::txn_refusal(ctx, req, op::WRITE, &c.transactional_id) {
            code
        } else if let Some(code) = super::acls::group_refusal(ctx, req, op::READ, &c.group_id)
            .or_else(|| super::replication::coordinator_refusal(ctx, &c.group_id))
        {
            code
        } else if c.group_id.is_empty() {
            error_code::INVALID_GROUP_ID
        } else if ctx
            .broker
            .groups
            .may_commit(&c.group_id, Protocol::Kafka)
            .is_err()
        {
            error_code::UNKNOWN_MEMBER_ID
        } else {
            let check = if c.generation_id >= 0 {
                ctx.groups
                    .check_commit(&c.group_id, c.generation_id, &c.member_id)
            } else {
                error_code::NONE
            };
            if check != error_code::NONE {
                check
            } else {
                let r = ctx.txn.add_offsets(
                    &c.transactional_id,
                    c.producer_id,
                    c.producer_epoch,
                    pending,
                );
                r.await.err().unwrap_or(error_code::NONE)
            }
        };
    let results: TopicErrors = c
        .topics
        .iter()
        .map(|(topic, parts)| {
            let codes = parts
                .iter()
                .map(|p| {
                    let key = (topic.clone(), p.partition_index);
                    let e = if code != error_code::NONE {
                        code
                    } else if denied.contains(&key) {
                        error_code::TOPIC_AUTHORIZATION_FAILED
                    } else if unknown.contains(&key) {
                        error_code::UNKNOWN_TOPIC_OR_PARTITION
                    } else {
                        code
                    };
                    (p.partition_index, e)
                })
                .collect();
            (topic.clone(), codes)
        })
        .collect();
    let mut w = req.writer();
    encode_response(&mut w, req.version(), &results);
    Ok(w)
}
