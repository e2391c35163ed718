//! ACK_MESSAGE (200051), BATCH_ACK_MESSAGE (200151) and
//! CHANGE_MESSAGE_INVISIBLETIME (200053). The message is named by topic,
//! queue id, queue offset and the `popTime` of its extraInfo; the retry
//! mark of the extraInfo picks the POP retry topic. An ack of a delivery
//! that is no longer in flight (acked, revived, redelivered) succeeds and
//! changes nothing, as upstream; a change of invisible time of such a
//! delivery answers NO_MESSAGE (208), which the client reports as NO_EXIST.

use rokka_protocols::remoting::pop::{AckRequest, BatchAckBody, ExtraInfo};
use rokka_protocols::remoting::{RemotingCommand, ResponseCode};

use super::context::{Ctx, HResult, HandlerError};
use super::pop::{bad, ext, io_error, master_engine};
use super::reply::ok;
use crate::broker::pop::revive::now_ms;
use crate::broker::pop::state::QueueKey;
use crate::broker::pop::ORDER_REVIVE_QID;

fn key(h: &AckRequest, x: &ExtraInfo) -> Result<QueueKey, HandlerError> {
    let queue = u32::try_from(h.queue_id).map_err(|_| bad("invalid queueId"))?;
    let topic = x.real_topic(&h.topic, &h.consumer_group);
    Ok(QueueKey::new(&h.consumer_group, &topic, queue))
}

fn offset(h: &AckRequest) -> Result<u64, HandlerError> {
    u64::try_from(h.offset).map_err(|_| bad("invalid offset"))
}

/// ACK_MESSAGE.
pub(crate) fn ack(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let h = AckRequest::from_ext(&ext(cmd), false).map_err(bad)?;
    let x = ExtraInfo::parse(&h.extra_info).map_err(bad)?;
    master_engine(ctx)?
        .ack(&key(&h, &x)?, offset(&h)?, x.pop_time)
        .map_err(io_error)?;
    Ok(ok(cmd, &[]))
}

/// BATCH_ACK_MESSAGE: every set bit of every BatchAck.
pub(crate) fn batch_ack(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let body: BatchAckBody = serde_json::from_slice(&cmd.body).map_err(bad)?;
    let engine = master_engine(ctx)?;
    for a in &body.acks {
        let queue = u32::try_from(a.queue_id).map_err(|_| bad("invalid queueId"))?;
        let x = ExtraInfo {
            ck_offset: a.start_offset,
            pop_time: a.pop_time,
            invisible_time: a.invisible_time,
            revive_qid: a.revive_queue_id,
            retry: a.retry.clone(),
            broker_name: String::new(),
            queue_id: a.queue_id,
            queue_offset: None,
        };
        let q = QueueKey::new(
            &a.consumer_group,
            &x.real_topic(&a.topic, &a.consumer_group),
            queue,
        );
        for o in a.offsets() {
            let o = u64::try_from(o).map_err(|_| bad("invalid offset"))?;
            engine.ack(&q, o, a.pop_time).map_err(io_error)?;
        }
    }
    Ok(ok(cmd, &[]))
}

/// CHANGE_MESSAGE_INVISIBLETIME: a new deadline from now; answers the new
/// `popTime` the client puts in the message's next extraInfo.
pub(crate) fn change_invisible(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let h = AckRequest::from_ext(&ext(cmd), true).map_err(bad)?;
    let x = ExtraInfo::parse(&h.extra_info).map_err(bad)?;
    let invisible = h.invisible_time.unwrap_or(0);
    if invisible <= 0 {
        return Err(bad("invisibleTime must be positive"));
    }
    let changed = master_engine(ctx)?
        .change_invisible(&key(&h, &x)?, offset(&h)?, x.pop_time, invisible, now_ms())
        .map_err(io_error)?;
    let Some(pop_time) = changed else {
        return Err(HandlerError::new(
            ResponseCode::NO_MESSAGE,
            format!(
                "message at offset {} is not in flight for this pop",
                h.offset
            ),
        ));
    };
    let qid = if x.revive_qid == ORDER_REVIVE_QID {
        ORDER_REVIVE_QID
    } else {
        0
    };
    Ok(ok(
        cmd,
        &[
            ("popTime", pop_time.to_string()),
            ("invisibleTime", invisible.to_string()),
            ("reviveQid", qid.to_string()),
        ],
    ))
}
