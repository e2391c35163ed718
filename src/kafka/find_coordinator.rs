//! FindCoordinator handler: this broker coordinates every group (key type
//! 0) and every transactional id (key type 1).

use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::find_coordinator::{
    Coordinator, FindCoordinatorRequest, FindCoordinatorResponse,
};
use rokka_protocols::kafka::Writer;

use super::dispatch::{CloseReason, Request};
use super::metadata::advertised;
use super::KafkaContext;

/// Handles FindCoordinator v0–6.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let f = FindCoordinatorRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let (host, port) = advertised(ctx, req.conn);
    let coordinators = f
        .keys
        .into_iter()
        .map(|key| Coordinator {
            error_code: if key.is_empty() {
                error_code::INVALID_GROUP_ID
            } else if !matches!(f.key_type, 0 | 1) {
                error_code::INVALID_REQUEST
            } else {
                error_code::NONE
            },
            key,
            node_id: ctx.node_id(),
            host: host.clone(),
            port,
        })
        .collect();
    let mut w = req.writer();
    FindCoordinatorResponse { coordinators }.encode(&mut w, req.version());
    Ok(w)
}
