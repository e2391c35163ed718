//! ListOffsets handler: earliest and latest offsets of a queue (latest =
//! the last stable offset at read_committed, ADR 014), and offset by
//! timestamp through the store's time look-up (store timestamps; see
//! ADR 003).

use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::list_offsets::{
    ListOffsetsPartitionResponse, ListOffsetsRequest, ListOffsetsResponse,
    ListOffsetsTopicResponse, EARLIEST, LATEST,
};
use rokka_protocols::kafka::Writer;

use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::security::acl::op;

/// Handles ListOffsets v0–6.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let l = ListOffsetsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let store = &ctx.broker.store;
    let mut resp = ListOffsetsResponse::default();
    for t in l.topics {
        let denied = super::acls::topic_refusal(ctx, req, op::DESCRIBE, &t.name);
        let layout = super::replication::layout(ctx, &t.name);
        let partitions = t
            .partitions
            .iter()
            .map(|p| {
                let mut out = ListOffsetsPartitionResponse {
                    partition_index: p.partition_index,
                    error_code: error_code::NONE,
                    timestamp: -1,
                    offset: -1,
                    leader_epoch: 0,
                };
                if let Some(code) = denied {
                    out.error_code = code;
                    return out;
                }
                // Placed on another broker group: its master answers.
                let qid = match super::replication::queue_of(&layout, p.partition_index) {
                    Ok(q) => q,
                    Err(code) => {
                        out.error_code = code;
                        return out;
                    }
                };
                let (min, max) = (
                    store.min_offset(&t.name, qid),
                    super::replication::readable_end(ctx, &t.name, qid),
                );
                match p.timestamp {
                    LATEST if l.isolation_level == 1 => {
                        out.offset = ctx.broker.txns.lso(&t.name, qid, max as i64);
                    }
                    LATEST => out.offset = max as i64,
                    EARLIEST => out.offset = min as i64,
                    ts => {
                        let off = store.offset_for_timestamp(&t.name, qid, ts);
                        if off < max {
                            out.offset = off as i64;
                            out.timestamp = store.store_time_at(&t.name, qid, off).unwrap_or(ts);
                        }
                    }
                }
                out
            })
            .collect();
        resp.topics.push(ListOffsetsTopicResponse {
            name: t.name,
            partitions,
        });
    }
    let mut w = req.writer();
    resp.encode(&mut w, req.version());
    Ok(w)
}
