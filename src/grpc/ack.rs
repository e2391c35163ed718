//! AckMessage, ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue:
//! each names one delivery by its receipt handle (`handle.rs`) and the
//! group. Acking a delivery that is no longer in flight (already acked,
//! revived, redelivered) is answered OK and changes nothing, like the
//! remoting ACK_MESSAGE; changing the invisible time of such a delivery
//! answers INVALID_RECEIPT_HANDLE.

use rokka_store::topics::TopicConfig;
use rokka_store::AppendPayload;

use super::handle::Receipt;
use super::message::invisible_ms;
use super::pb::{self, Code};
use super::service::Service;
use super::{name, ok, status, Failure};
use crate::broker::pop::read;
use crate::broker::pop::revive::{moved_copy, now_ms};
use crate::broker::pop::PopEngine;

fn engine(svc: &Service) -> Result<&PopEngine, Failure> {
    svc.ctx.broker.pop.as_deref().ok_or_else(|| {
        Failure::new(
            Code::InternalServerError,
            "POP is unavailable on this broker: its journal could not be opened",
        )
    })
}

fn io(e: std::io::Error) -> Failure {
    Failure::new(Code::InternalServerError, format!("POP journal: {e}"))
}

fn ack_one(svc: &Service, group: &str, handle: &str) -> Result<(), Failure> {
    let r = Receipt::parse(handle)?;
    // Not OK for a delivery this node cannot have made: the message would
    // come back after its invisible time while the client thinks it acked.
    super::groups::check_held(svc, &r.topic)?;
    engine(svc)?
        .ack(&r.key(group), r.offset, r.pop_time)
        .map_err(io)?;
    Ok(())
}

/// AckMessage.
pub(crate) fn ack(svc: &Service, req: &pb::AckMessageRequest) -> pb::AckMessageResponse {
    let group = match name(req.group.as_ref()) {
        Ok(g) => g,
        Err(f) => {
            return pb::AckMessageResponse {
                status: f.status(),
                entries: Vec::new(),
            }
        }
    };
    let mut first_error = None;
    let entries = req
        .entries
        .iter()
        .map(|e| {
            let st = match ack_one(svc, group, &e.receipt_handle) {
                Ok(()) => ok(),
                Err(f) => {
                    first_error.get_or_insert_with(|| f.status());
                    f.status()
                }
            };
            pb::AckMessageResultEntry {
                message_id: e.message_id.clone(),
                receipt_handle: e.receipt_handle.clone(),
                status: st,
            }
        })
        .collect();
    pb::AckMessageResponse {
        status: first_error.unwrap_or_else(ok),
        entries,
    }
}

fn change(svc: &Service, req: &pb::ChangeInvisibleDurationRequest) -> Result<String, Failure> {
    let group = name(req.group.as_ref())?;
    let r = Receipt::parse(&req.receipt_handle)?;
    super::groups::check_held(svc, &r.topic)?;
    let invisible = invisible_ms(req.invisible_duration.as_ref(), 0)?;
    let pop_time = engine(svc)?
        .change_invisible(&r.key(group), r.offset, r.pop_time, invisible, now_ms())
        .map_err(io)?
        .ok_or_else(|| {
            Failure::new(
                Code::InvalidReceiptHandle,
                "the message is no longer in flight for this receipt handle",
            )
        })?;
    Ok(Receipt {
        pop_time,
        invisible,
        ..r
    }
    .encode())
}

/// ChangeInvisibleDuration: answers the new receipt handle.
pub(crate) fn change_invisible(
    svc: &Service,
    req: &pb::ChangeInvisibleDurationRequest,
) -> pb::ChangeInvisibleDurationResponse {
    match change(svc, req) {
        Ok(receipt_handle) => pb::ChangeInvisibleDurationResponse {
            status: ok(),
            receipt_handle,
        },
        Err(f) => pb::ChangeInvisibleDurationResponse {
            status: status(f.0, f.1),
            receipt_handle: String::new(),
        },
    }
}

async fn forward(
    svc: &Service,
    req: &pb::ForwardMessageToDeadLetterQueueRequest,
) -> Result<(), Failure> {
    let group = name(req.group.as_ref())?;
    let r = Receipt::parse(&req.receipt_handle)?;
    let ctx = &*svc.ctx;
    let stored = read::one(
        &ctx.broker.store,
        &ctx.broker.converted,
        &r.topic,
        r.queue,
        r.offset,
    )
    .ok_or_else(|| Failure::new(Code::MessageNotFound, "the message is no longer stored"))?;
    let dlq = format!("%DLQ%{group}");
    ctx.broker
        .store
        .topics()
        .get_or_create(TopicConfig::new(&dlq, 1))
        .map_err(|e| Failure::new(Code::InternalServerError, e.to_string()))?;
    let copy = moved_copy(&stored, req.delivery_attempt.max(1)).ok_or_else(|| {
        Failure::new(
            Code::MessageCorrupted,
            "the stored message cannot be decoded",
        )
    })?;
    crate::remoting::send::append(ctx, &dlq, 0, AppendPayload::Message(copy)).await?;
    engine(svc)?
        .ack(&r.key(group), r.offset, r.pop_time)
        .map_err(io)?;
    Ok(())
}

/// ForwardMessageToDeadLetterQueue: a copy to `%DLQ%<group>`, then an ack.
pub(crate) async fn forward_to_dlq(
    svc: &Service,
    req: &pb::ForwardMessageToDeadLetterQueueRequest,
) -> pb::ForwardMessageToDeadLetterQueueResponse {
    match forward(svc, req).await {
        Ok(()) => pb::ForwardMessageToDeadLetterQueueResponse { status: ok() },
        Err(f) => pb::ForwardMessageToDeadLetterQueueResponse { status: f.status() },
    }
}
