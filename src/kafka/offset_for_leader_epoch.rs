//! OffsetForLeaderEpoch handler: every partition has had one leader epoch,
//! 0, since it was created, so epoch ≥ 0 ends at the log end offset; a
//! client-side truncation check therefore never truncates.

use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::offset_for_leader_epoch::{
    self, EpochEndOffset, OffsetForLeaderEpochRequest,
};
use rokka_protocols::kafka::Writer;

use super::request::{CloseReason, Request};
use super::KafkaContext;

/// Handles OffsetForLeaderEpoch v0–4.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let o = OffsetForLeaderEpochRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let topics: Vec<(String, Vec<EpochEndOffset>)> = o
        .topics
        .into_iter()
        .map(|(topic, parts)| {
            let queues = ctx.broker.partitions(&topic);
            let elsewhere = super::replication::elsewhere(ctx, &topic);
            let out = parts
                .iter()
                .map(|&(partition, epoch)| match u32::try_from(partition) {
                    // Placed on another broker group: its master answers.
                    _ if elsewhere => EpochEndOffset {
                        error_code: error_code::NOT_LEADER_OR_FOLLOWER,
                        partition,
                        leader_epoch: -1,
                        end_offset: -1,
                    },
                    Ok(q) if q < queues => EpochEndOffset {
                        error_code: error_code::NONE,
                        partition,
                        leader_epoch: if epoch < 0 { -1 } else { 0 },
                        end_offset: if epoch < 0 {
                            -1
                        } else {
                            ctx.broker.store.max_offset(&topic, q) as i64
                        },
                    },
                    _ => EpochEndOffset {
                        error_code: error_code::UNKNOWN_TOPIC_OR_PARTITION,
                        partition,
                        leader_epoch: -1,
                        end_offset: -1,
                    },
                })
                .collect();
            (topic, out)
        })
        .collect();
    let mut w = req.writer();
    offset_for_leader_epoch::encode_response(&mut w, req.version(), &topics);
    Ok(w)
}
