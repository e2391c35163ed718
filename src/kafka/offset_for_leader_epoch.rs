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
            // Placed on another broker group: its master answers.
            let layout = super::replication::layout(ctx, &topic);
            let out = parts
                .iter()
                .map(
                    |&(partition, epoch)| match super::replication::queue_of(&layout, partition) {
                        Ok(q) => EpochEndOffset {
                            error_code: error_code::NONE,
                            partition,
                            leader_epoch: if epoch < 0 { -1 } else { 0 },
                            end_offset: if epoch < 0 {
                                -1
                            } else {
                                ctx.broker.store.max_offset(&topic, q) as i64
                            },
                        },
                        Err(code) => EpochEndOffset {
                            error_code: code,
                            partition,
                            leader_epoch: -1,
                            end_offset: -1,
                        },
                    },
                )
                .collect();
            (topic, out)
        })
        .collect();
    let mut w = req.writer();
    offset_for_leader_epoch::encode_response(&mut w, req.version(), &topics);
    Ok(w)
}
