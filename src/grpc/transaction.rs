//! EndTransaction: the transaction id a transactional SendMessage answered
//! is the offset message id of the half message, so it names the half
//! record's CommitLog offset; the resolution goes through the remoting
//! front-end's `resolve_half`, so both kinds of producer share one
//! transaction table.

use rokka_protocols::remoting::message::decode_message_id;

use super::pb::{self, Code, TransactionResolution};
use super::service::Service;
use super::{ok, status, Failure};
use crate::remoting::transaction::resolve_half;

async fn end(svc: &Service, req: &pb::EndTransactionRequest) -> Result<(), Failure> {
    let invalid = || {
        Failure::new(
            Code::InvalidTransactionId,
            format!("invalid transaction id {:?}", req.transaction_id),
        )
    };
    let (_, offset) = decode_message_id(&req.transaction_id).map_err(|_| invalid())?;
    let commit = match TransactionResolution::try_from(req.resolution) {
        Ok(TransactionResolution::Commit) => true,
        Ok(TransactionResolution::Rollback) => false,
        _ => return Err(Failure::bad("resolution must be COMMIT or ROLLBACK")),
    };
    resolve_half(&svc.ctx, None, offset, None, commit)
        .await
        .map_err(|e| Failure::new(Code::InvalidTransactionId, e.remark))
}

/// EndTransaction.
pub(crate) async fn end_transaction(
    svc: &Service,
    req: &pb::EndTransactionRequest,
) -> pb::EndTransactionResponse {
    match end(svc, req).await {
        Ok(()) => pb::EndTransactionResponse { status: ok() },
        Err(f) => pb::EndTransactionResponse {
            status: status(f.0, f.1),
        },
    }
}
