//! OffsetForLeaderEpoch handler: a consumer's check, after a leader change,
//! that its position is still inside the new leader's log (KIP-320).
//!
//! rokka keeps batches as producers wrote them (librdkafka stamps leader
//! epoch 0, the Java producer -1) and does not track epochs per partition,
//! so the end offset of any epoch ≥ 0 is the log end: a client's position,
//! at most the high watermark, is never reported as truncated by the
//! master. In cluster mode only the master of the partition's broker group
//! answers (NOT_LEADER_OR_FOLLOWER elsewhere: a slave or a restarted old
//! master may hold less than the client read), and a request naming another
//! leader epoch than the group's term is fenced as Kafka does
//! (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH make the client refresh its
//! Metadata and ask again).

use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::offset_for_leader_epoch::{
    self, EpochEndOffset, EpochPartition, OffsetForLeaderEpochRequest,
};
use rokka_protocols::kafka::Writer;

use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::cluster::Local;

/// Who answers here: `Ok(None)` in single-node mode, `Ok(Some(term))` on a
/// master, or the error every local partition gets.
fn leader_term(ctx: &KafkaContext) -> Result<Option<i32>, i16> {
    let Some(c) = &ctx.broker.cluster else {
        return Ok(None);
    };
    match c.local() {
        Local::Master { epoch, .. } => Ok(Some(i32::try_from(epoch).unwrap_or(i32::MAX))),
        _ => Err(error_code::NOT_LEADER_OR_FOLLOWER),
    }
}

/// The answer for one partition whose queue `qid` is local.
fn answer(
    ctx: &KafkaContext,
    topic: &str,
    qid: u32,
    p: &EpochPartition,
    term: Result<Option<i32>, i16>,
) -> EpochEndOffset {
    let mut out = EpochEndOffset {
        error_code: error_code::NONE,
        partition: p.partition,
        leader_epoch: -1,
        end_offset: -1,
    };
    match term {
        Err(code) => out.error_code = code,
        Ok(Some(term)) if p.current_leader_epoch >= 0 && p.current_leader_epoch < term => {
            out.error_code = error_code::FENCED_LEADER_EPOCH;
        }
        Ok(Some(term)) if p.current_leader_epoch > term => {
            out.error_code = error_code::UNKNOWN_LEADER_EPOCH;
        }
        Ok(term) if p.leader_epoch >= 0 => {
            out.leader_epoch = term.map_or(0, |t| p.leader_epoch.min(t));
            out.end_offset = ctx.broker.store.max_offset(topic, qid) as i64;
        }
        Ok(_) => {}
    }
    out
}

/// Handles OffsetForLeaderEpoch v0–4.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let o = OffsetForLeaderEpochRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let term = leader_term(ctx);
    let topics: Vec<(String, Vec<EpochEndOffset>)> = o
        .topics
        .into_iter()
        .map(|(topic, parts)| {
            // Placed on another broker group: its master answers.
            let layout = super::replication::layout(ctx, &topic);
            let out = parts
                .iter()
                .map(
                    |p| match super::replication::queue_of(&layout, p.partition) {
                        Ok(q) => answer(ctx, &topic, q, p, term),
                        Err(code) => EpochEndOffset {
                            error_code: code,
                            partition: p.partition,
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
