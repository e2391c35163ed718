//! SQL92 selectors on POP (ADR 018, ADR 020): the engine pops by tags code
//! (the ConsumeQueue has no properties), then [`sift`] evaluates the
//! selector on each popped message's properties. Used by remoting
//! POP_MESSAGE and gRPC ReceiveMessage alike.

use rokka_protocols::remoting::message::decode_message;

use super::state::QueueKey;
use super::{PopBatch, PopEngine};
use crate::filter::MessageFilter;

/// A SQL92 filter is evaluated on the popped messages' properties: those
/// it rejects are acked at once and not delivered (as upstream's broker
/// does for POP), so the batch may be smaller than asked.
pub fn sift(
    engine: &PopEngine,
    group: &str,
    mut batch: PopBatch,
    filter: &MessageFilter,
) -> std::io::Result<PopBatch> {
    if !filter.needs_properties() {
        return Ok(batch);
    }
    for q in &mut batch.queues {
        let key = QueueKey::new(group, &q.topic, q.queue);
        let mut kept = Vec::with_capacity(q.msgs.len());
        for m in q.msgs.drain(..) {
            let props = decode_message(&m.2)
                .map(|(x, _)| x.properties)
                .unwrap_or_default();
            if filter.matches(0, &props) {
                kept.push(m);
            } else {
                engine.ack(&key, m.0, batch.pop_time)?;
            }
        }
        q.msgs = kept;
    }
    batch.queues.retain(|q| !q.msgs.is_empty());
    Ok(batch)
}
