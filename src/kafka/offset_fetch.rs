//! OffsetFetch handler: reads the shared offset table; a partition without a
//! commit answers offset -1 (error NONE, as Kafka). In a cluster, a
//! requested partition without a commit here whose queue lives on another
//! broker group is asked of that group's master (ADR 024 decision 5), so a
//! group that consumed there with RocketMQ resumes where it stopped.

use std::collections::BTreeMap;

use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::offset_fetch::{
    OffsetFetchPartition, OffsetFetchRequest, OffsetFetchResponse, OffsetFetchTopic,
    OffsetFetchTopicResponse,
};
use rokka_protocols::kafka::Writer;

use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::security::acl::op;

/// Every requested partition of `topics` answered `code`, offset -1.
fn refused(topics: Vec<OffsetFetchTopic>, code: i16) -> Vec<OffsetFetchTopicResponse> {
    topics
        .into_iter()
        .map(|t| OffsetFetchTopicResponse {
            partitions: t
                .partition_indexes
                .iter()
                .map(|&p| OffsetFetchPartition {
                    partition_index: p,
                    committed_offset: -1,
                    metadata: String::new(),
                    error_code: code,
                })
                .collect(),
            name: t.name,
        })
        .collect()
}

/// Fills the partitions of `topics` answered -1 with the offsets other
/// broker groups' masters hold for `group` (bounded wait, see
/// `cluster::offset_forward::QUERY_TIMEOUT`).
async fn fill_from_other_groups(
    ctx: &KafkaContext,
    group: &str,
    topics: &mut [OffsetFetchTopicResponse],
) {
    let Some(cluster) = &ctx.broker.cluster else {
        return;
    };
    let wanted: Vec<(String, Vec<i32>)> = topics
        .iter()
        .filter(|t| t.partitions.iter().any(missing))
        .map(|t| {
            let parts = t.partitions.iter().filter(|p| missing(p));
            (t.name.clone(), parts.map(|p| p.partition_index).collect())
        })
        .collect();
    if wanted.is_empty() {
        return;
    }
    for (topic, p, offset) in cluster.query_elsewhere(group, &wanted).await {
        let found = topics
            .iter_mut()
            .filter(|t| t.name == topic)
            .flat_map(|t| t.partitions.iter_mut())
            .find(|x| x.partition_index == p && missing(x));
        if let Some(x) = found {
            x.committed_offset = offset;
        }
    }
}

/// A partition answered "no commit".
fn missing(p: &OffsetFetchPartition) -> bool {
    p.committed_offset < 0 && p.error_code == error_code::NONE
}

/// Handles OffsetFetch v0–7.
pub async fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let f = OffsetFetchRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let offsets = ctx.broker.store.offsets();
    let mut resp = OffsetFetchResponse::default();
    if let Some(code) = super::acls::group_refusal(ctx, req, op::READ, &f.group_id)
        .or_else(|| super::replication::coordinator_refusal(ctx, &f.group_id))
    {
        resp.error_code = code;
        // v0–1 have no top-level error: each requested partition carries it.
        if req.version() < 2 {
            resp.topics = refused(f.topics.unwrap_or_default(), code);
        }
        let mut w = req.writer();
        resp.encode(&mut w, req.version());
        return Ok(w);
    }
    match f.topics {
        Some(mut topics) => {
            let denied =
                super::acls::split_denied(ctx, req, op::DESCRIBE, &mut topics, |t| &t.name);
            resp.topics = refused(denied, error_code::TOPIC_AUTHORIZATION_FAILED);
            for t in topics {
                let partitions = t
                    .partition_indexes
                    .iter()
                    .map(|&p| {
                        let c = u32::try_from(p)
                            .ok()
                            .and_then(|q| offsets.fetch(&f.group_id, &t.name, q));
                        OffsetFetchPartition {
                            partition_index: p,
                            committed_offset: c.as_ref().map_or(-1, |c| c.offset),
                            metadata: c.map(|c| c.metadata).unwrap_or_default(),
                            error_code: error_code::NONE,
                        }
                    })
                    .collect();
                resp.topics.push(OffsetFetchTopicResponse {
                    name: t.name,
                    partitions,
                });
            }
            fill_from_other_groups(ctx, &f.group_id, &mut resp.topics).await;
        }
        None => {
            let mut by_topic: BTreeMap<String, Vec<OffsetFetchPartition>> = BTreeMap::new();
            for (topic, q, c) in offsets.group_offsets(&f.group_id) {
                by_topic
                    .entry(topic)
                    .or_default()
                    .push(OffsetFetchPartition {
                        partition_index: q as i32,
                        committed_offset: c.offset,
                        metadata: c.metadata,
                        error_code: error_code::NONE,
                    });
            }
            // Topics the principal may not describe are left out, as Kafka does.
            by_topic.retain(|t, _| super::acls::may_describe_topic(ctx, req, t));
            resp.topics = by_topic
                .into_iter()
                .map(|(name, partitions)| OffsetFetchTopicResponse { name, partitions })
                .collect();
        }
    }
    let mut w = req.writer();
    resp.encode(&mut w, req.version());
    Ok(w)
}
