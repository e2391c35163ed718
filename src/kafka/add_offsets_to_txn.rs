//! AddOffsetsToTxn handler (v0–3): the group joins the transaction (Kafka
//! adds its `__consumer_offsets` partition; rokka keeps the group name).

use rokka_protocols::kafka::add_offsets_to_txn::{encode_error_response, AddOffsetsToTxnRequest};
use rokka_protocols::kafka::{error_code, Writer};

use super::request::{CloseReason, Request};
use super::txn::fenced;
use super::KafkaContext;
use crate::security::acl::op;

/// Handles AddOffsetsToTxn v0–3.
pub async fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let a = AddOffsetsToTxnRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let code = if a.transactional_id.is_empty() {
        error_code::INVALID_REQUEST
    } else if let Some(code) = super::acls::txn_refusal(ctx, req, op::WRITE, &a.transactional_id) {
        code
    } else if let Some(code) = super::acls::group_refusal(ctx, req, op::READ, &a.group_id) {
        code
    } else if a.group_id.is_empty() {
        error_code::INVALID_GROUP_ID
    } else {
        let fenced = fenced(req.version(), 2);
        let r = ctx.txn.add(
            &a.transactional_id,
            a.producer_id,
            a.producer_epoch,
            &[],
            Some(&a.group_id),
            fenced,
        );
        r.await.err().unwrap_or(error_code::NONE)
    };
    let mut w = req.writer();
    encode_error_response(&mut w, code);
    Ok(w)
}
