//! rokka's control plane: cluster membership, broker groups and master election on Raft.
//!
//! A [`ClusterNode`] runs one member of an openraft group whose voters come from Kafka's
//! `controller.quorum.voters`. The replicated [`ClusterState`] holds the nodes and their
//! addresses, broker groups with master, epoch, in-sync set and epoch history, topic configs
//! and queue placement. Liveness is soft state: nodes send heartbeats to the Raft leader,
//! whose controller elects a new master from the in-sync set when one falls silent. See
//! `docs/adr/012-cluster-control-plane-on-openraft.md`.
//!
//! This crate knows nothing of rokka's protocols or store; the broker feeds it CommitLog
//! offsets and reads [`ClusterView`]s back.

mod config;
mod controller;
mod metrics;
mod node;
mod raft;
mod state;
mod storage;

use std::collections::BTreeSet;

pub use config::{parse_voters, ClusterConfig};
pub use controller::{Heartbeat, Role};
pub use node::ClusterNode;
pub use state::round_robin;
pub use state::{
    ClusterState, Command, CommandError, CommandResult, EpochEntry, GroupState, NodeAddrs, NodeId,
    NodeInfo, QueueRange,
};

/// Errors of the cluster layer.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// Bad configuration.
    #[error("cluster config: {0}")]
    Config(String),
    /// Storage or socket failure.
    #[error("cluster I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Raft failed to start or stopped.
    #[error("raft: {0}")]
    Raft(String),
    /// No leader is known, or it could not be reached or did not commit in time.
    #[error("no leader reachable: {0}")]
    NoLeader(String),
    /// The state machine refused the command.
    #[error("refused: {0}")]
    Refused(#[from] CommandError),
    /// Metrics registration failed.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// A consistent snapshot of what this node knows of the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterView {
    /// This node's id.
    pub node_id: NodeId,
    /// The Raft leader this node currently follows, if any.
    pub leader: Option<NodeId>,
    /// This node's current Raft term.
    pub term: u64,
    /// The replicated state as applied on this node.
    pub state: ClusterState,
}

impl ClusterView {
    /// The group's state, if it exists.
    pub fn group(&self, name: &str) -> Option<&GroupState> {
        self.state.groups.get(name)
    }

    /// The group's master and epoch, if a master has been elected.
    pub fn master_of(&self, group: &str) -> Option<(NodeId, u64)> {
        self.group(group)
            .and_then(|g| g.master.map(|m| (m, g.epoch)))
    }

    /// The group's in-sync set (empty for an unknown group).
    pub fn isr_of(&self, group: &str) -> BTreeSet<NodeId> {
        self.group(group).map(|g| g.isr.clone()).unwrap_or_default()
    }

    /// The role `node` has in its group according to the replicated state.
    pub fn role_of(&self, node: NodeId) -> Role {
        let group = self.state.nodes.get(&node).and_then(|n| n.group.as_deref());
        match group.and_then(|g| self.group(g)) {
            Some(g) if g.master == Some(node) => Role::Master,
            Some(g) if g.members.contains(&node) => Role::Slave,
            _ => Role::None,
        }
    }
}
