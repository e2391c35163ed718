//! `GET /cluster` and the role / replica-lag metrics of this node.

use prometheus::{IntCounter, IntGauge, IntGaugeVec, Opts, Registry};
use serde_json::{json, Value};

use super::{Cluster, Local};
use crate::ha::ReplicaState;

/// The node-local cluster metrics (the replicated ones, epoch, in-sync set
/// size and failovers, come from `rokka-cluster`).
#[derive(Debug)]
pub(super) struct Metrics {
    role: IntGauge,
    promotions: IntCounter,
    lag_bytes: IntGaugeVec,
    lag_seconds: IntGaugeVec,
    group: String,
}

impl Metrics {
    pub(super) fn register(registry: &Registry, group: &str) -> prometheus::Result<Metrics> {
        let role = IntGaugeVec::new(
            Opts::new(
                "rokka_cluster_role",
                "Role of this node in its broker group: 2 master, 1 slave, 0 none",
            ),
            &["group"],
        )?;
        let promotions = IntCounter::new(
            "rokka_cluster_promotions_total",
            "Times this node became master",
        )?;
        let lag =
            |name: &str, help: &str| IntGaugeVec::new(Opts::new(name, help), &["group", "replica"]);
        let lag_bytes = lag(
            "rokka_cluster_replica_lag_bytes",
            "Bytes a connected slave is behind this master's CommitLog end",
        )?;
        let lag_seconds = lag(
            "rokka_cluster_replica_lag_seconds",
            "Seconds since a connected slave last acknowledged (0 while caught up)",
        )?;
        registry.register(Box::new(role.clone()))?;
        registry.register(Box::new(promotions.clone()))?;
        registry.register(Box::new(lag_bytes.clone()))?;
        registry.register(Box::new(lag_seconds.clone()))?;
        Ok(Metrics {
            role: role.with_label_values(&[group]),
            promotions,
            lag_bytes,
            lag_seconds,
            group: group.to_string(),
        })
    }

    pub(super) fn observe(&self, local: &Local) {
        self.role.set(match local {
            Local::Master { .. } => 2,
            Local::Slave { .. } => 1,
            Local::None => 0,
        });
    }

    pub(super) fn promoted(&self) {
        self.promotions.inc();
    }

    /// Sets the lag of each connected slave (cleared first: gone slaves vanish).
    pub(super) fn replicas(&self, replicas: &[ReplicaState]) {
        self.lag_bytes.reset();
        self.lag_seconds.reset();
        for r in replicas {
            let node = r.node.to_string();
            let labels = [self.group.as_str(), node.as_str()];
            self.lag_bytes
                .with_label_values(&labels)
                .set(r.lag_bytes as i64);
            let secs = if r.lag_bytes == 0 {
                0
            } else {
                r.last_ack_age.as_secs() as i64
            };
            self.lag_seconds.with_label_values(&labels).set(secs);
        }
    }
}

/// The `GET /cluster` document.
pub(super) fn json(c: &Cluster) -> Value {
    let view = c.view();
    let local = c.local();
    let groups: serde_json::Map<String, Value> = view
        .state
        .groups
        .iter()
        .map(|(name, g)| {
            (
                name.clone(),
                json!({
                    "master": g.master,
                    "epoch": g.epoch,
                    "members": g.members,
                    "isr": g.isr,
                }),
            )
        })
        .collect();
    json!({
        "node_id": c.node_id,
        "raft_leader": view.leader,
        "term": view.term,
        "role": match local {
            Local::Master { .. } => "master",
            Local::Slave { .. } => "slave",
            Local::None => "none",
        },
        "fenced": matches!(local, Local::Master { fenced: true, .. }),
        "group": c.group,
        "groups": groups,
    })
}
