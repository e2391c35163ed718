//! Cluster mode (ADR 015): RocketMQ consumer offsets committed on a node that
//! is not the group's writable master reach the master.
//!
//! A RocketMQ consumer commits to the master of a broker group, or to a
//! slave while the route names no master (`findBrokerAddressInSubscribe`
//! with `onlyThisBroker=false`). The slave keeps the commit in its own table,
//! so its pulls resume there, and queues it here; this task sends the queued
//! commits to the master as UPDATE_CONSUMER_OFFSET as soon as the view names
//! one. The master's commit then replicates back through
//! `__consumer_offsets` like any other. Without this a commit made on a slave
//! that is not the one promoted was lost, and the group re-read those
//! messages after the failover.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{IntCounterVec, Opts};
use rokka_protocols::remoting::{ExtFields, RemotingCommand, RequestCode, ResponseCode};
use tracing::{debug, warn};

use super::context::Ctx;
use crate::cluster::Local;

/// How often queued commits are sent.
const FORWARD_INTERVAL: Duration = Duration::from_millis(500);
/// Most commits sent in one exchange.
const MAX_PER_EXCHANGE: usize = 256;

type Key = (String, String, u32);

/// Commits waiting for the master, and the forwarding counter.
#[derive(Debug)]
pub(crate) struct OffsetForward {
    pending: Mutex<HashMap<Key, i64>>,
    /// `rokka_cluster_offset_forwards_total{outcome}`.
    forwards: IntCounterVec,
}

impl OffsetForward {
    pub(crate) fn register(reg: &prometheus::Registry) -> Result<Self, prometheus::Error> {
        let forwards = IntCounterVec::new(
            Opts::new(
                "rokka_cluster_offset_forwards_total",
                "RocketMQ consumer offsets committed on a slave and sent to the group's master, \
                 by outcome (ok, refused, failed: the master was unreachable; retried)",
            ),
            &["outcome"],
        )?;
        for outcome in ["ok", "refused", "failed"] {
            forwards.with_label_values(&[outcome]);
        }
        reg.register(Box::new(forwards.clone()))?;
        Ok(OffsetForward {
            pending: Mutex::new(HashMap::new()),
            forwards,
        })
    }

    fn queue(&self, group: &str, topic: &str, queue_id: u32, offset: i64) {
        let key = (group.to_owned(), topic.to_owned(), queue_id);
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, offset);
    }

    fn snapshot(&self) -> Vec<(Key, i64)> {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .iter()
            .take(MAX_PER_EXCHANGE)
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Drops `key` unless a newer commit replaced `offset` meanwhile.
    fn done(&self, key: &Key, offset: i64) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.get(key) == Some(&offset) {
            pending.remove(key);
        }
    }

    fn clear(&self) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Commits queued for the master.
    pub(crate) fn len(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Commits a RocketMQ consumer offset to this node's table; on a cluster
/// node that is not the writable master, also queues it for the master.
pub(crate) fn commit(ctx: &Ctx, group: &str, topic: &str, queue_id: u32, offset: i64) {
    ctx.broker
        .store
        .offsets()
        .commit(group, topic, queue_id, offset, "");
    if let Some(c) = &ctx.broker.cluster {
        if !c.is_writable_master() {
            ctx.offset_forward.queue(group, topic, queue_id, offset);
        }
    }
}

fn update_request(key: &Key, offset: i64) -> RemotingCommand {
    let mut e = ExtFields::default();
    e.insert("consumerGroup", key.0.clone());
    e.insert("topic", key.1.clone());
    e.insert("queueId", key.2.to_string());
    e.insert("commitOffset", offset.to_string());
    RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET.0, e)
}

/// Sends queued commits to the master until shutdown (cluster mode only).
pub(crate) async fn run(ctx: Arc<Ctx>) {
    let Some(cluster) = ctx.broker.cluster.clone() else {
        return;
    };
    let mut tick = tokio::time::interval(FORWARD_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = ctx.broker.shutdown_signal() => return,
        }
        let fwd = &ctx.offset_forward;
        match cluster.local() {
            // Promoted: the queued commits are in this table, which the
            // promotion reconciled into `__consumer_offsets`.
            Local::Master { fenced: false, .. } => {
                fwd.clear();
                continue;
            }
            Local::Slave { .. } => {}
            _ => continue,
        }
        let batch = fwd.snapshot();
        if batch.is_empty() {
            continue;
        }
        let Some((master, _)) = cluster.master(&cluster.view()) else {
            continue;
        };
        let addr = master.addrs.remoting;
        let cmds = batch.iter().map(|(k, o)| update_request(k, *o)).collect();
        match super::peer::call_all(&addr, cmds).await {
            Ok(replies) => {
                failing = false;
                for ((key, offset), reply) in batch.iter().zip(replies) {
                    if reply.code == ResponseCode::SUCCESS.0 {
                        fwd.forwards.with_label_values(&["ok"]).inc();
                    } else {
                        // Refused for good (e.g. the group is held by Kafka
                        // members, ADR 006): the master's answer stands.
                        fwd.forwards.with_label_values(&["refused"]).inc();
                        debug!(
                            group = key.0,
                            topic = key.1,
                            queue = key.2,
                            code = reply.code,
                            remark = reply.remark.as_deref().unwrap_or(""),
                            "offset commit refused by the master"
                        );
                    }
                    fwd.done(key, *offset);
                }
            }
            Err(e) => {
                fwd.forwards.with_label_values(&["failed"]).inc();
                if !failing {
                    warn!(master = %addr, error = %e, pending = fwd.len(),
                        "cannot forward consumer offsets to the master; retrying");
                }
                failing = true;
            }
        }
    }
}
