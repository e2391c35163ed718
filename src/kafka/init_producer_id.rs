//! InitProducerId handler: hands out producer ids (epoch 0) for idempotent,
//! non-transactional producers. Sequence numbers are not checked yet.

use std::sync::atomic::Ordering;

use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use rokka_protocols::kafka::Writer;

use super::dispatch::{CloseReason, Request};
use super::KafkaContext;

/// Handles InitProducerId v0–4.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let i = InitProducerIdRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let resp = if i.transactional_id.is_some() {
        // Transactions are not supported: no coordinator for them.
        InitProducerIdResponse {
            error_code: error_code::COORDINATOR_NOT_AVAILABLE,
            producer_id: -1,
            producer_epoch: -1,
        }
    } else {
        InitProducerIdResponse {
            error_code: error_code::NONE,
            producer_id: ctx.next_producer_id.fetch_add(1, Ordering::Relaxed),
            producer_epoch: 0,
        }
    };
    let mut w = req.writer();
    resp.encode(&mut w, req.version());
    Ok(w)
}
