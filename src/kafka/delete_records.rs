//! DeleteRecords handler (v0–2): moves a partition's start offset (low
//! watermark) up in the shared store. Records below it become unreadable at
//! once for both protocols; their bytes are reclaimed by retention, segment by
//! segment, as Kafka reclaims whole log segments.

use rokka_protocols::kafka::delete_records::{
    self, DeleteRecordsRequest, DeleteRecordsTopicResult,
};
use rokka_protocols::kafka::{error_code, Writer};
use tracing::info;

use super::errors::store_error_code;
use super::request::{CloseReason, Request};
use super::KafkaContext;

/// Handles DeleteRecords v0–2. Offset -1 means the high watermark; an offset
/// past it is OFFSET_OUT_OF_RANGE, as Kafka answers.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let d = DeleteRecordsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let store = &ctx.broker.store;
    let results: Vec<DeleteRecordsTopicResult> = d
        .topics
        .into_iter()
        .map(|t| {
            let layout = super::replication::layout(ctx, &t.name);
            let partitions = t
                .partitions
                .iter()
                .map(|&(p, offset)| {
                    let q = match super::replication::queue_of(&layout, p) {
                        Ok(q) => q,
                        Err(code) => return (p, -1, code),
                    };
                    let high = store.max_offset(&t.name, q);
                    let target = match offset {
                        -1 => high,
                        o if o < 0 || o as u64 > high => return (p, -1, error_code::OFFSET_OUT_OF_RANGE),
                        o => o as u64,
                    };
                    match store.delete_records(&t.name, q, target) {
                        // A partition that never had data: nothing to delete.
                        None => (p, 0, error_code::NONE),
                        Some(Ok(low)) => {
                            info!(topic = %t.name, partition = p, low_watermark = low, "deleted records");
                            (p, low as i64, error_code::NONE)
                        }
                        Some(Err(e)) => (p, -1, store_error_code(&e)),
                    }
                })
                .collect();
            DeleteRecordsTopicResult { name: t.name, partitions }
        })
        .collect();
    let mut w = req.writer();
    delete_records::encode_response(&mut w, req.version(), &results);
    Ok(w)
}
