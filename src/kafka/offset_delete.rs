//! OffsetDelete handler (v0): removes a group's committed offsets of some
//! partitions. As Kafka: an unknown group is GROUP_ID_NOT_FOUND; a
//! partition of a topic the group's live members subscribe to is
//! GROUP_SUBSCRIBED_TO_TOPIC (a group held by RocketMQ consumers is taken
//! as subscribed to everything, ADR 006).

use rokka_protocols::kafka::offset_delete::{self, OffsetDeleteRequest, OffsetDeleteTopicResult};
use rokka_protocols::kafka::{error_code, Writer};
use tracing::info;

use super::delete_groups::group_status;
use super::request::{CloseReason, Request};
use super::KafkaContext;
use crate::broker::groups::Protocol;
use crate::security::acl::op;

/// Topics named in a consumer-protocol subscription (`version i16,
/// topics [str], ...`); empty if the bytes are not one.
fn subscribed_topics(metadata: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let Some(n) = metadata.get(2..6) else {
        return out;
    };
    let n = i32::from_be_bytes([n[0], n[1], n[2], n[3]]).max(0);
    let mut at = 6;
    for _ in 0..n {
        let Some(l) = metadata.get(at..at + 2) else {
            break;
        };
        let l = i16::from_be_bytes([l[0], l[1]]).max(0) as usize;
        let Some(name) = metadata.get(at + 2..at + 2 + l) else {
            break;
        };
        out.push(String::from_utf8_lossy(name).into_owned());
        at += 2 + l;
    }
    out
}

/// Handles OffsetDelete v0.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let d = OffsetDeleteRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let (live, known) = group_status(ctx, &d.group_id);
    let mut w = req.writer();
    if let Some(code) = super::acls::group_refusal(ctx, req, op::DELETE, &d.group_id) {
        offset_delete::encode_response(&mut w, req.version(), code, &[]);
        return Ok(w);
    }
    if d.group_id.is_empty() || !known {
        let code = if d.group_id.is_empty() {
            error_code::INVALID_GROUP_ID
        } else {
            error_code::GROUP_ID_NOT_FOUND
        };
        offset_delete::encode_response(&mut w, req.version(), code, &[]);
        return Ok(w);
    }
    let rocketmq_owned = matches!(
        ctx.broker.groups.owner(&d.group_id),
        Some((Protocol::Remoting, _))
    );
    let subscribed: Vec<String> = ctx
        .groups
        .describe(&d.group_id)
        .map(|g| {
            g.members
                .iter()
                .flat_map(|m| subscribed_topics(&m.member_metadata))
                .collect()
        })
        .unwrap_or_default();
    let offsets = ctx.broker.store.offsets();
    let topics: Vec<OffsetDeleteTopicResult> = d
        .topics
        .iter()
        .map(|t| {
            let queues = ctx.broker.partitions(&t.name);
            let busy = live && (rocketmq_owned || subscribed.contains(&t.name));
            let denied = super::acls::topic_refusal(ctx, req, op::READ, &t.name);
            let partitions = t
                .partitions
                .iter()
                .map(|&p| {
                    let code = match u32::try_from(p) {
                        _ if denied.is_some() => denied.unwrap_or_default(),
                        Ok(q) if q < queues => {
                            if busy {
                                error_code::GROUP_SUBSCRIBED_TO_TOPIC
                            } else {
                                offsets.delete_queue(&d.group_id, &t.name, q);
                                error_code::NONE
                            }
                        }
                        _ => error_code::UNKNOWN_TOPIC_OR_PARTITION,
                    };
                    (p, code)
                })
                .collect();
            OffsetDeleteTopicResult {
                name: t.name.clone(),
                partitions,
            }
        })
        .collect();
    info!(group = %d.group_id, topics = topics.len(), "offset delete");
    offset_delete::encode_response(&mut w, req.version(), error_code::NONE, &topics);
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::subscribed_topics;

    #[test]
    fn reads_subscription_topics() {
        let mut m = vec![0, 1, 0, 0, 0, 2];
        for t in ["a", "bc"] {
            m.extend((t.len() as i16).to_be_bytes());
            m.extend(t.as_bytes());
        }
        m.extend([0, 0, 0, 0]);
        assert_eq!(subscribed_topics(&m), ["a", "bc"]);
        assert!(subscribed_topics(&[0, 1]).is_empty());
        assert_eq!(
            subscribed_topics(&[0, 1, 0, 0, 0, 5, 0, 9, b'x']),
            Vec::<String>::new()
        );
    }
}
