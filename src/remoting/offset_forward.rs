//! Cluster mode (ADR 015): RocketMQ consumer offsets committed on a node that
//! is not the group's writable master reach the master.
//!
//! A RocketMQ consumer commits to the master of a broker group, or to a
//! slave while the route names no master (`findBrokerAddressInSubscribe`
//! with `onlyThisBroker=false`). The slave keeps the commit in its own table,
//! so its pulls resume there, and queues it for the master
//! (`cluster/offset_forward.rs` sends it as UPDATE_CONSUMER_OFFSET as soon as
//! the view names one). The master's commit then replicates back through
//! `__consumer_offsets` like any other. Without this a commit made on a
//! slave that is not the one promoted was lost, and the group re-read those
//! messages after the failover.
//!
//! The master takes a forwarded commit only if it moves the offset forward:
//! the consumer may have committed newer ones to the master directly while
//! the forward waited (the slave did not know the new master yet, or could
//! not reach it). rocketmq-client-rust persists a queue's offset only when
//! it changed, so a regressed offset of an idle queue would stay.

use super::context::Ctx;

/// Commits a RocketMQ consumer offset to this node's table; on a cluster
/// node that is not the writable master, also queues it for the master.
pub(crate) fn commit(ctx: &Ctx, group: &str, topic: &str, queue_id: u32, offset: i64) {
    ctx.broker
        .store
        .offsets()
        .commit(group, topic, queue_id, offset, "");
    forward_unless_master(ctx, group, topic, queue_id, offset);
}

/// A commit another node forwarded (it was taken on a slave, maybe before
/// newer ones reached this node): recorded only if it moves the offset
/// forward, and passed on if this node is not the writable master either.
pub(crate) fn advance(ctx: &Ctx, group: &str, topic: &str, queue_id: u32, offset: i64) {
    let offsets = ctx.broker.store.offsets();
    if offsets.advance(group, topic, queue_id, offset) {
        forward_unless_master(ctx, group, topic, queue_id, offset);
    }
}

fn forward_unless_master(ctx: &Ctx, group: &str, topic: &str, queue_id: u32, offset: i64) {
    if let Some(c) = &ctx.broker.cluster {
        if !c.is_writable_master() {
            c.forward_to_master(group, topic, queue_id, offset);
        }
    }
}
