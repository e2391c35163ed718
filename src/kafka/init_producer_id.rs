//! InitProducerId handler: a new producer id (epoch 0) for an idempotent
//! producer; with a transactional id, the transaction coordinator's answer
//! (producer id reuse with an epoch bump, fencing, abort of an open
//! transaction; `txn/`).

use std::sync::atomic::Ordering;

use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::init_producer_id::{InitProducerIdRequest, InitProducerIdResponse};
use rokka_protocols::kafka::Writer;

use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::security::acl::op;

/// Handles InitProducerId v0–4.
pub async fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let i = InitProducerIdRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let resp = match i.transactional_id.as_deref() {
        Some("") => InitProducerIdResponse {
            error_code: error_code::INVALID_REQUEST,
            producer_id: -1,
            producer_epoch: -1,
        },
        Some(id) if super::acls::txn_refusal(ctx, req, op::WRITE, id).is_some() => {
            InitProducerIdResponse {
                error_code: error_code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                producer_id: -1,
                producer_epoch: -1,
            }
        }
        Some(id) => {
            let expected = (i.producer_id, i.producer_epoch);
            let (error_code, producer_id, producer_epoch) = ctx
                .txn
                .init(id, i.transaction_timeout_ms, expected, req.version())
                .await;
            InitProducerIdResponse {
                error_code,
                producer_id,
                producer_epoch,
            }
        }
        None if super::acls::idempotent_refusal(ctx, req).is_some() => InitProducerIdResponse {
            error_code: error_code::CLUSTER_AUTHORIZATION_FAILED,
            producer_id: -1,
            producer_epoch: -1,
        },
        None => InitProducerIdResponse {
            error_code: error_code::NONE,
            producer_id: ctx.next_producer_id.fetch_add(1, Ordering::Relaxed),
            producer_epoch: 0,
        },
    };
    let mut w = req.writer();
    resp.encode(&mut w, req.version());
    Ok(w)
}
