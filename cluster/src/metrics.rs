//! Prometheus metrics of the cluster layer, updated from each new [`ClusterView`].

use std::collections::BTreeSet;
use std::sync::Mutex;

use prometheus::{IntCounter, IntGauge, IntGaugeVec, Opts, Registry};

use crate::ClusterView;

/// The cluster metrics of one node.
#[derive(Debug)]
pub(crate) struct Metrics {
    term: IntGauge,
    leader: IntGauge,
    is_leader: IntGauge,
    failovers: IntCounter,
    epoch: IntGaugeVec,
    isr_size: IntGaugeVec,
    members: IntGaugeVec,
    master: IntGaugeVec,
    groups_seen: Mutex<BTreeSet<String>>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let g = |n: &str, h: &str| IntGauge::with_opts(Opts::new(n, h)).expect("valid metric");
        let gv =
            |n: &str, h: &str| IntGaugeVec::new(Opts::new(n, h), &["group"]).expect("valid metric");
        Self {
            term: g("rokka_cluster_raft_term", "Current Raft term of this node"),
            leader: g(
                "rokka_cluster_raft_leader_id",
                "Raft leader this node follows (-1: none)",
            ),
            is_leader: g(
                "rokka_cluster_raft_is_leader",
                "1 while this node is the Raft leader (runs the controller)",
            ),
            failovers: IntCounter::with_opts(Opts::new(
                "rokka_cluster_failovers_total",
                "Master elections that replaced a previous master, cluster-wide",
            ))
            .expect("valid metric"),
            epoch: gv(
                "rokka_cluster_epoch",
                "Current master epoch per broker group",
            ),
            isr_size: gv(
                "rokka_cluster_isr_size",
                "In-sync set size per broker group",
            ),
            members: gv(
                "rokka_cluster_members",
                "Registered members per broker group",
            ),
            master: gv(
                "rokka_cluster_master_id",
                "Node id of the master per broker group (-1: none elected)",
            ),
            groups_seen: Mutex::new(BTreeSet::new()),
        }
    }

    /// Registers every metric into `registry`.
    pub(crate) fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.term.clone()))?;
        registry.register(Box::new(self.leader.clone()))?;
        registry.register(Box::new(self.is_leader.clone()))?;
        registry.register(Box::new(self.failovers.clone()))?;
        registry.register(Box::new(self.epoch.clone()))?;
        registry.register(Box::new(self.isr_size.clone()))?;
        registry.register(Box::new(self.members.clone()))?;
        registry.register(Box::new(self.master.clone()))?;
        Ok(())
    }

    pub(crate) fn update(&self, v: &ClusterView, is_leader: bool) {
        self.term.set(v.term as i64);
        self.is_leader.set(i64::from(is_leader));
        self.leader.set(v.leader.map(|l| l as i64).unwrap_or(-1));
        let have = self.failovers.get();
        if v.state.failovers > have {
            self.failovers.inc_by(v.state.failovers - have);
        }
        let mut seen = self.groups_seen.lock().unwrap_or_else(|e| e.into_inner());
        for gone in seen.iter().filter(|g| !v.state.groups.contains_key(*g)) {
            let _ = self.epoch.remove_label_values(&[gone]);
            let _ = self.isr_size.remove_label_values(&[gone]);
            let _ = self.members.remove_label_values(&[gone]);
            let _ = self.master.remove_label_values(&[gone]);
        }
        seen.clear();
        for (name, g) in &v.state.groups {
            self.epoch.with_label_values(&[name]).set(g.epoch as i64);
            self.isr_size
                .with_label_values(&[name])
                .set(g.isr.len() as i64);
            self.members
                .with_label_values(&[name])
                .set(g.members.len() as i64);
            self.master
                .with_label_values(&[name])
                .set(g.master.map_or(-1, |m| m as i64));
            seen.insert(name.clone());
        }
    }
}
