//! EndTxn handler (v0–3): commits or aborts synchronously (markers written,
//! offsets applied) before answering.

use rokka_protocols::kafka::add_offsets_to_txn::encode_error_response;
use rokka_protocols::kafka::end_txn::EndTxnRequest;
use rokka_protocols::kafka::{error_code, Writer};

use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::security::acl::op;

/// Handles EndTxn v0–3.
pub async fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let e = EndTxnRequest::decode(&mut req.reader(), req.version()).map_err(|e| req.bad_body(e))?;
    let code = if e.transactional_id.is_empty() {
        error_code::INVALID_REQUEST
    } else if let Some(code) = super::acls::txn_refusal(ctx, req, op::WRITE, &e.transactional_id) {
        code
    } else {
        let r = ctx.txn.end(
            &e.transactional_id,
            e.producer_id,
            e.producer_epoch,
            e.committed,
            req.version(),
        );
        r.await
    };
    let mut w = req.writer();
    encode_error_response(&mut w, code);
    Ok(w)
}
