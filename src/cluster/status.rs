//! `GET /cluster` and the role / replica-lag metrics of this node.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use prometheus::{GaugeVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};
use rokka_cluster::NodeId;
use serde_json::{json, Value};

use super::{Cluster, Local};
use crate::ha::ReplicaState;

/// The node-local cluster metrics (the replicated ones, epoch, in-sync set
/// size, members, master and failovers, come from `rokka-cluster`). Updated
/// by the follow loop and every in-sync tick (250 ms), never per message.
#[derive(Debug)]
pub(super) struct Metrics {
    role: IntGauge,
    fenced: IntGauge,
    unreplicated: IntGauge,
    promotions: IntCounter,
    lag_bytes: IntGaugeVec,
    lag_seconds: GaugeVec,
    in_sync: IntGaugeVec,
    group: String,
}

/// What the master knows of its slaves at one in-sync tick.
pub(super) struct ReplicaSample<'a> {
    /// The connected slaves.
    pub(super) replicas: &'a [ReplicaState],
    /// When each slave last caught up with the log end (this term).
    pub(super) caught_up: Option<&'a HashMap<NodeId, Instant>>,
    /// The group's members other than this node, and the in-sync set.
    pub(super) members: BTreeSet<NodeId>,
    pub(super) isr: BTreeSet<NodeId>,
    /// Log end minus high watermark (bytes readers cannot see yet).
    pub(super) unreplicated: u64,
    pub(super) now: Instant,
}

impl Metrics {
    pub(super) fn register(registry: &Registry, group: &str) -> prometheus::Result<Metrics> {
        let gauge = |name: &str, help: &str| IntGaugeVec::new(Opts::new(name, help), &["group"]);
        let role = gauge(
            "rokka_cluster_role",
            "Role of this node in its broker group: 2 master, 1 slave, 0 none",
        )?;
        let fenced = gauge(
            "rokka_cluster_fenced",
            "1 while this node is a master cut off from the Raft majority (refuses writes)",
        )?;
        let unreplicated = gauge(
            "rokka_cluster_unreplicated_bytes",
            "On the master: CommitLog bytes above the high watermark (not yet on every in-sync slave)",
        )?;
        let promotions = IntCounter::new(
            "rokka_cluster_promotions_total",
            "Times this node became master",
        )?;
        let per_replica = ["group", "replica"];
        let lag_bytes = IntGaugeVec::new(
            Opts::new(
                "rokka_cluster_replica_lag_bytes",
                "On the master: bytes a connected slave is behind the CommitLog end",
            ),
            &per_replica,
        )?;
        let lag_seconds = GaugeVec::new(
            Opts::new(
                "rokka_cluster_replica_lag_seconds",
                "On the master: seconds since a connected slave last caught up with the \
                 CommitLog end (0 while caught up; compare replica.lag.time.max.ms)",
            ),
            &per_replica,
        )?;
        let in_sync = IntGaugeVec::new(
            Opts::new(
                "rokka_cluster_replica_in_sync",
                "On the master: 1 if the slave is in the in-sync set, 0 if not",
            ),
            &per_replica,
        )?;
        registry.register(Box::new(role.clone()))?;
        registry.register(Box::new(fenced.clone()))?;
        registry.register(Box::new(unreplicated.clone()))?;
        registry.register(Box::new(promotions.clone()))?;
        registry.register(Box::new(lag_bytes.clone()))?;
        registry.register(Box::new(lag_seconds.clone()))?;
        registry.register(Box::new(in_sync.clone()))?;
        Ok(Metrics {
            role: role.with_label_values(&[group]),
            fenced: fenced.with_label_values(&[group]),
            unreplicated: unreplicated.with_label_values(&[group]),
            promotions,
            lag_bytes,
            lag_seconds,
            in_sync,
            group: group.to_string(),
        })
    }

    pub(super) fn observe(&self, local: &Local) {
        self.role.set(match local {
            Local::Master { .. } => 2,
            Local::Slave { .. } => 1,
            Local::None => 0,
        });
        self.fenced.set(i64::from(matches!(
            local,
            Local::Master { fenced: true, .. }
        )));
    }

    pub(super) fn promoted(&self) {
        self.promotions.inc();
    }

    /// Sets the per-slave series (cleared first: gone slaves vanish). `None`
    /// when this node is not an unfenced master: no per-slave series then.
    pub(super) fn replicas(&self, sample: Option<ReplicaSample<'_>>) {
        self.lag_bytes.reset();
        self.lag_seconds.reset();
        self.in_sync.reset();
        let Some(s) = sample else {
            self.unreplicated.set(0);
            return;
        };
        self.unreplicated.set(s.unreplicated as i64);
        for m in &s.members {
            let node = m.to_string();
            self.in_sync
                .with_label_values(&[self.group.as_str(), node.as_str()])
                .set(i64::from(s.isr.contains(m)));
        }
        for r in s.replicas {
            let node = r.node.to_string();
            let labels = [self.group.as_str(), node.as_str()];
            self.lag_bytes
                .with_label_values(&labels)
                .set(r.lag_bytes as i64);
            let behind = match s.caught_up.and_then(|c| c.get(&r.node)) {
                _ if r.lag_bytes == 0 => 0.0,
                Some(at) => s.now.saturating_duration_since(*at).as_secs_f64(),
                None => r.last_ack_age.as_secs_f64(),
            };
            self.lag_seconds.with_label_values(&labels).set(behind);
        }
    }
}

/// The `GET /cluster` document.
pub(super) fn json(c: &Cluster) -> Value {
    let view = c.view();
    let local = c.local();
    let (voters, learners) = c.node.raft_membership();
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
        "raft_voters": voters,
        "raft_learners": learners,
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
