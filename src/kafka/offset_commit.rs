//! OffsetCommit handler: refuses commits to a group with live RocketMQ
//! consumers (ADR 006), checks the member and generation against the group
//! coordinator, then writes the shared offset table and answers once the
//! commits are also in `__consumer_offsets` (ADR 011) and, in a cluster, on
//! the in-sync replicas (ADR 015; COORDINATOR_NOT_AVAILABLE on a replication
//! timeout). In a cluster, the
//! commits of partitions placed on another broker group are then queued for
//! that group's master (ADR 024 decision 5; never waited for).

use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::offset_commit::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetCommitTopicResponse,
};
use rokka_protocols::kafka::Writer;
use tracing::{debug, warn};

use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::broker::groups::Protocol;
use crate::security::acl::op;

/// Handles OffsetCommit v0–8.
pub async fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let c = OffsetCommitRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let check = if c.group_id.is_empty() {
        error_code::INVALID_GROUP_ID
    } else if let Some(code) = super::acls::group_refusal(ctx, req, op::READ, &c.group_id)
        .or_else(|| super::replication::coordinator_refusal(ctx, &c.group_id))
    {
        code
    } else if let Err(r) = ctx.broker.groups.may_commit(&c.group_id, Protocol::Kafka) {
        // What Kafka answers a commit from a non-member to an active group.
        if r.repeated {
            debug!(group = %c.group_id, owner = r.owner.label(), members = r.members, "OffsetCommit refused: {r}");
        } else {
            warn!(group = %c.group_id, owner = r.owner.label(), members = r.members, "OffsetCommit refused: {r}");
        }
        error_code::UNKNOWN_MEMBER_ID
    } else {
        ctx.groups
            .check_commit(&c.group_id, c.generation_id, &c.member_id)
    };
    let offsets = ctx.broker.store.offsets();
    let mut resp = OffsetCommitResponse::default();
    let mut committed: Vec<(String, Vec<(i32, i64)>)> = Vec::new();
    for t in c.topics {
        let queues = ctx.broker.cluster_partitions(&t.name);
        let check = match check {
            error_code::NONE => {
                super::acls::topic_refusal(ctx, req, op::READ, &t.name).unwrap_or(check)
            }
            _ => check,
        };
        let mut done = Vec::new();
        let partitions = t
            .partitions
            .iter()
            .map(|p| {
                let code = match u32::try_from(p.partition_index) {
                    _ if check != error_code::NONE => check,
                    Ok(q) if q < queues => {
                        offsets.commit(
                            &c.group_id,
                            &t.name,
                            q,
                            p.committed_offset,
                            p.committed_metadata.as_deref().unwrap_or(""),
                        );
                        done.push((p.partition_index, p.committed_offset));
                        error_code::NONE
                    }
                    _ => error_code::UNKNOWN_TOPIC_OR_PARTITION,
                };
                (p.partition_index, code)
            })
            .collect();
        committed.push((t.name.clone(), done));
        resp.topics.push(OffsetCommitTopicResponse {
            name: t.name,
            partitions,
        });
    }
    if check == error_code::NONE && !super::replication::offsets_replicated(ctx).await {
        for p in resp.topics.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
            if p.1 == error_code::NONE {
                p.1 = error_code::COORDINATOR_NOT_AVAILABLE;
            }
        }
    }
    if let Some(cluster) = &ctx.broker.cluster {
        for (topic, done) in &committed {
            cluster.forward_kafka_commits(&c.group_id, topic, done);
        }
    }
    let mut w = req.writer();
    resp.encode(&mut w, req.version());
    Ok(w)
}
