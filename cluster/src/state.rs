//! The replicated cluster state and its commands.
//!
//! Every command is applied by every node in the same order (the Raft log order), so
//! [`ClusterState::apply`] must be deterministic: it reads nothing but the state and the
//! command (no clock, no randomness, no I/O). A command that breaks a rule (a stale epoch,
//! a master outside the in-sync set, ...) is refused with a [`CommandError`] and leaves the
//! state unchanged; the refusal itself is part of the log and is the same on every node.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A node's id: Kafka `node.id`, the number before `@` in `controller.quorum.voters`.
pub type NodeId = u64;

/// The addresses a node advertises to clients and to its peers (`host:port` each).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddrs {
    /// Kafka listener.
    pub kafka: String,
    /// RocketMQ remoting listener (broker and embedded NameServer).
    pub remoting: String,
    /// CommitLog replication (HA) listener.
    pub ha: String,
    /// HTTP (metrics, health) listener.
    pub http: String,
    /// Raft / cluster RPC listener.
    pub raft: String,
    /// gRPC listener of the RocketMQ 5.x SDKs (empty in registrations from
    /// before it was advertised: snapshots and logs of older nodes load).
    #[serde(default)]
    pub grpc: String,
}

/// A registered node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's id.
    pub id: NodeId,
    /// Its advertised addresses.
    pub addrs: NodeAddrs,
    /// The broker group (RocketMQ `brokerName`) it belongs to, if any.
    pub group: Option<String>,
}

/// One entry of a group's epoch history: master term `epoch` began at CommitLog offset
/// `start_offset` (RocketMQ 5 epoch file, Kafka leader epochs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochEntry {
    /// The master epoch.
    pub epoch: u64,
    /// First CommitLog offset written in that epoch.
    pub start_offset: u64,
    /// The master of that epoch.
    pub master: NodeId,
}

/// A broker group (RocketMQ `brokerName`): members, master, epoch and in-sync set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// Member nodes.
    pub members: BTreeSet<NodeId>,
    /// The current master, if one has been elected.
    pub master: Option<NodeId>,
    /// The current master epoch; 0 before the first election.
    pub epoch: u64,
    /// In-sync replicas (RocketMQ SyncStateSet, Kafka ISR); always contains the master.
    pub isr: BTreeSet<NodeId>,
    /// (epoch, start offset) history, oldest first.
    pub epochs: Vec<EpochEntry>,
}

/// The whole replicated state machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// Registered nodes by id.
    pub nodes: BTreeMap<NodeId, NodeInfo>,
    /// Broker groups by name.
    pub groups: BTreeMap<String, GroupState>,
    /// Topic configs by topic name (free-form key/value for now).
    pub topics: BTreeMap<String, BTreeMap<String, String>>,
    /// Queue placement: topic → queue id → group name.
    pub placement: BTreeMap<String, BTreeMap<u32, String>>,
    /// Drained ranges (ADR 024): topic → groups whose queues of the topic
    /// take no more writes (`rokka admin cluster drain`); reads go on.
    #[serde(default)]
    pub drained: BTreeMap<String, BTreeSet<String>>,
    /// Number of master elections that replaced a previous master.
    pub failovers: u64,
}

/// A change to the cluster state, proposed through Raft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Add or update a node; joins its group when `info.group` is set.
    RegisterNode {
        /// The node.
        info: NodeInfo,
    },
    /// Make `node` master of `group` at `epoch` (must be current + 1), starting at
    /// CommitLog offset `start_offset`.
    ElectMaster {
        /// Group name.
        group: String,
        /// New master.
        node: NodeId,
        /// New epoch: the group's current epoch + 1.
        epoch: u64,
        /// The new master's CommitLog end offset: the start of its epoch.
        start_offset: u64,
        /// Allow a master outside the in-sync set (may lose acknowledged messages).
        unclean: bool,
    },
    /// Replace a group's in-sync set; `epoch` must be the current epoch.
    AlterSyncStateSet {
        /// Group name.
        group: String,
        /// The epoch the proposer believes current.
        epoch: u64,
        /// New in-sync set; must contain the master.
        isr: BTreeSet<NodeId>,
    },
    /// Create or replace a topic's config.
    PutTopic {
        /// Topic name.
        topic: String,
        /// Config entries.
        config: BTreeMap<String, String>,
    },
    /// Remove a node (`rokka admin cluster remove-node`): it leaves the node table, its
    /// group's members and in-sync set. Refused while it is its group's master.
    RemoveNode {
        /// Node id.
        node: NodeId,
    },
    /// Remove a topic and its placement.
    DeleteTopic {
        /// Topic name.
        topic: String,
    },
    /// Place a topic's queues (queue id → group). Never moves a queue: ids
    /// already placed must name the group they have (else the command is
    /// refused); new ids are added.
    PutPlacement {
        /// Topic name.
        topic: String,
        /// Queue id → group name.
        queues: BTreeMap<u32, String>,
    },
    /// Make a group's queues of a placed topic read-only (`drained`) or
    /// writable again. Refused when the group holds no queue of the topic.
    SetDrained {
        /// Topic name.
        topic: String,
        /// Group name.
        group: String,
        /// True: no more writes; false: writable again.
        drained: bool,
    },
}

/// The queues of a topic one broker group holds (ADR 024): global queue ids
/// `base..base + count`, which that group stores as local ids `0..count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRange {
    /// The group.
    pub group: String,
    /// The first global queue id (the Kafka partition of local queue 0).
    pub base: u32,
    /// How many queues.
    pub count: u32,
    /// No more writes (`rokka admin cluster drain`).
    pub drained: bool,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum CommandError {
    /// The group does not exist.
    #[error("unknown group {0}")]
    UnknownGroup(String),
    /// The node is not a member of the group.
    #[error("node {node} is not a member of group {group}")]
    NotAMember {
        /// Group name.
        group: String,
        /// Node id.
        node: NodeId,
    },
    /// The epoch in the command is not the one expected.
    #[error("stale epoch {got} for group {group}: expected {expected}")]
    StaleEpoch {
        /// Group name.
        group: String,
        /// Epoch in the command.
        got: u64,
        /// Epoch the state expects.
        expected: u64,
    },
    /// Clean election of a node outside the in-sync set.
    #[error("node {node} is not in the in-sync set of group {group}")]
    NotInSync {
        /// Group name.
        group: String,
        /// Node id.
        node: NodeId,
    },
    /// An in-sync set without the current master.
    #[error("in-sync set of group {group} must contain the master {master:?}")]
    IsrWithoutMaster {
        /// Group name.
        group: String,
        /// Current master.
        master: Option<NodeId>,
    },
    /// Removing a node that is its group's master (fail over first).
    #[error(
        "node {node} is the master of group {group}: stop it and let a new master be elected first"
    )]
    RemoveMaster {
        /// Group name.
        group: String,
        /// Node id.
        node: NodeId,
    },
    /// Removing a node that is not registered.
    #[error("unknown node {0}")]
    UnknownNode(NodeId),
    /// Placement on a group that does not exist.
    #[error("placement of topic {topic} names unknown group {group}")]
    PlacementUnknownGroup {
        /// Topic name.
        topic: String,
        /// Group name.
        group: String,
    },
    /// Placement that would move an already placed queue to another group.
    #[error("queue {queue} of topic {topic} is already placed on group {placed}, not {group}")]
    PlacementConflict {
        /// Topic name.
        topic: String,
        /// Queue id.
        queue: u32,
        /// The group it is placed on.
        placed: String,
        /// The group the command names.
        group: String,
    },
    /// Placement that would leave a group's queues of a topic not
    /// contiguous (each group stores one range under local ids 0..k-1).
    #[error("queue {queue} of topic {topic} on group {group} would split that group's range")]
    PlacementNotContiguous {
        /// Topic name.
        topic: String,
        /// Queue id.
        queue: u32,
        /// The group.
        group: String,
    },
    /// A drain of a group that holds no queue of the topic.
    #[error("group {group} holds no queue of topic {topic}")]
    NotPlaced {
        /// Topic name.
        topic: String,
        /// The group.
        group: String,
    },
    /// The command could not be delivered to the Raft leader or committed.
    #[error("not committed: {0}")]
    NotCommitted(String),
}

/// The result of applying one log entry.
pub type CommandResult = Result<(), CommandError>;

/// A round-robin placement of `queues` queue ids over `groups` (queue `i`
/// on the `i % n`-th group in name order): how `__consumer_offsets`, and
/// with it the group coordinators, spread over the broker groups (ADR 024).
pub fn round_robin(groups: &BTreeSet<String>, queues: u32) -> BTreeMap<u32, String> {
    let names: Vec<&String> = groups.iter().collect();
    if names.is_empty() {
        return BTreeMap::new();
    }
    (0..queues)
        .map(|q| (q, names[q as usize % names.len()].clone()))
        .collect()
}

/// The first queue (and its group) that starts a second range of a group
/// already seen, or a gap: `None` when every group's ids are contiguous
/// and the ids start at 0 without holes.
fn split_range(placed: &BTreeMap<u32, String>) -> Option<(u32, String)> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut prev: Option<&str> = None;
    for (i, (q, g)) in placed.iter().enumerate() {
        let fresh = prev != Some(g.as_str());
        if *q as usize != i || (fresh && !seen.insert(g.as_str())) {
            return Some((*q, g.clone()));
        }
        prev = Some(g.as_str());
    }
    None
}

impl ClusterState {
    /// The group a topic's queue `queue` is placed on (`None`: not placed,
    /// e.g. state from before placement, or a topic every group holds).
    pub fn placed_on(&self, topic: &str, queue: u32) -> Option<&str> {
        self.placement.get(topic)?.get(&queue).map(String::as_str)
    }

    /// The ranges of a placed topic in queue id order, one per group
    /// (empty when the topic is not placed). Only topics placed by range
    /// (not `__` topics, which every group holds whole) have meaningful
    /// ranges.
    pub fn ranges(&self, topic: &str) -> Vec<QueueRange> {
        let Some(placed) = self.placement.get(topic) else {
            return Vec::new();
        };
        let drained = self.drained.get(topic);
        let mut out: Vec<QueueRange> = Vec::new();
        for (q, g) in placed {
            match out.last_mut() {
                Some(r) if r.group == *g && r.base + r.count == *q => r.count += 1,
                _ => out.push(QueueRange {
                    group: g.clone(),
                    base: *q,
                    count: 1,
                    drained: drained.is_some_and(|d| d.contains(g)),
                }),
            }
        }
        out
    }

    /// Applies `cmd`; on error the state is unchanged.
    pub fn apply(&mut self, cmd: &Command) -> CommandResult {
        match cmd {
            Command::RegisterNode { info } => {
                if let Some(old) = self.nodes.get(&info.id) {
                    if old.group != info.group {
                        if let Some(g) = old.group.as_ref().and_then(|g| self.groups.get_mut(g)) {
                            // A node that moves groups leaves the old one; it stays master
                            // there until a new election replaces it.
                            if g.master != Some(info.id) {
                                g.members.remove(&info.id);
                                g.isr.remove(&info.id);
                            }
                        }
                    }
                }
                if let Some(group) = &info.group {
                    self.groups
                        .entry(group.clone())
                        .or_default()
                        .members
                        .insert(info.id);
                }
                self.nodes.insert(info.id, info.clone());
                Ok(())
            }
            Command::RemoveNode { node } => {
                let info = self
                    .nodes
                    .get(node)
                    .ok_or(CommandError::UnknownNode(*node))?;
                if let Some(name) = &info.group {
                    if let Some(g) = self.groups.get_mut(name) {
                        if g.master == Some(*node) {
                            return Err(CommandError::RemoveMaster {
                                group: name.clone(),
                                node: *node,
                            });
                        }
                        g.members.remove(node);
                        g.isr.remove(node);
                    }
                }
                self.nodes.remove(node);
                Ok(())
            }
            Command::ElectMaster {
                group,
                node,
                epoch,
                start_offset,
                unclean,
            } => {
                let g = self
                    .groups
                    .get_mut(group)
                    .ok_or_else(|| CommandError::UnknownGroup(group.clone()))?;
                if !g.members.contains(node) {
                    return Err(CommandError::NotAMember {
                        group: group.clone(),
                        node: *node,
                    });
                }
                if *epoch != g.epoch + 1 {
                    return Err(CommandError::StaleEpoch {
                        group: group.clone(),
                        got: *epoch,
                        expected: g.epoch + 1,
                    });
                }
                // The first master of a group (epoch 0, empty in-sync set) has nothing to
                // lose; afterwards a clean election picks only from the in-sync set.
                let first = g.epoch == 0 && g.isr.is_empty();
                let in_sync = g.isr.contains(node);
                if !first && !in_sync && !unclean {
                    return Err(CommandError::NotInSync {
                        group: group.clone(),
                        node: *node,
                    });
                }
                let old_master = g.master;
                if !first && !in_sync {
                    // Unclean: nobody else is known to have what the new master has.
                    g.isr.clear();
                } else if let Some(old) = old_master {
                    if old != *node {
                        g.isr.remove(&old);
                    }
                }
                g.isr.insert(*node);
                g.master = Some(*node);
                g.epoch = *epoch;
                g.epochs.push(EpochEntry {
                    epoch: *epoch,
                    start_offset: *start_offset,
                    master: *node,
                });
                if old_master.is_some_and(|o| o != *node) {
                    self.failovers += 1;
                }
                Ok(())
            }
            Command::AlterSyncStateSet { group, epoch, isr } => {
                let g = self
                    .groups
                    .get_mut(group)
                    .ok_or_else(|| CommandError::UnknownGroup(group.clone()))?;
                if *epoch != g.epoch {
                    return Err(CommandError::StaleEpoch {
                        group: group.clone(),
                        got: *epoch,
                        expected: g.epoch,
                    });
                }
                match g.master {
                    Some(m) if isr.contains(&m) => {}
                    master => {
                        return Err(CommandError::IsrWithoutMaster {
                            group: group.clone(),
                            master,
                        })
                    }
                }
                if let Some(n) = isr.iter().find(|n| !g.members.contains(n)) {
                    return Err(CommandError::NotAMember {
                        group: group.clone(),
                        node: *n,
                    });
                }
                g.isr = isr.clone();
                Ok(())
            }
            Command::PutTopic { topic, config } => {
                self.topics.insert(topic.clone(), config.clone());
                Ok(())
            }
            Command::DeleteTopic { topic } => {
                self.topics.remove(topic);
                self.placement.remove(topic);
                self.drained.remove(topic);
                Ok(())
            }
            Command::PutPlacement { topic, queues } => {
                if let Some(group) = queues.values().find(|g| !self.groups.contains_key(*g)) {
                    return Err(CommandError::PlacementUnknownGroup {
                        topic: topic.clone(),
                        group: group.clone(),
                    });
                }
                let placed = self.placement.get(topic);
                if let Some((queue, placed, group)) = queues.iter().find_map(|(q, g)| {
                    let p = placed?.get(q)?;
                    (p != g).then(|| (*q, p.clone(), g.clone()))
                }) {
                    return Err(CommandError::PlacementConflict {
                        topic: topic.clone(),
                        queue,
                        placed,
                        group,
                    });
                }
                let mut merged = placed.cloned().unwrap_or_default();
                merged.extend(queues.iter().map(|(q, g)| (*q, g.clone())));
                // `__` topics are held whole by every group and placed
                // round-robin; any other topic keeps one range per group.
                if !topic.starts_with("__") {
                    if let Some((queue, group)) = split_range(&merged) {
                        return Err(CommandError::PlacementNotContiguous {
                            topic: topic.clone(),
                            queue,
                            group,
                        });
                    }
                }
                self.placement.insert(topic.clone(), merged);
                Ok(())
            }
            Command::SetDrained {
                topic,
                group,
                drained,
            } => {
                let holds = self
                    .placement
                    .get(topic)
                    .is_some_and(|p| p.values().any(|g| g == group));
                if !holds {
                    return Err(CommandError::NotPlaced {
                        topic: topic.clone(),
                        group: group.clone(),
                    });
                }
                let set = self.drained.entry(topic.clone()).or_default();
                if *drained {
                    set.insert(group.clone());
                } else {
                    set.remove(group);
                    if set.is_empty() {
                        self.drained.remove(topic);
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: NodeId, group: &str) -> Command {
        Command::RegisterNode {
            info: NodeInfo {
                id,
                addrs: NodeAddrs::default(),
                group: Some(group.into()),
            },
        }
    }

    fn elect(node: NodeId, epoch: u64, unclean: bool) -> Command {
        Command::ElectMaster {
            group: "g".into(),
            node,
            epoch,
            start_offset: epoch * 100,
            unclean,
        }
    }

    fn isr(epoch: u64, ids: &[NodeId]) -> Command {
        Command::AlterSyncStateSet {
            group: "g".into(),
            epoch,
            isr: ids.iter().copied().collect(),
        }
    }

    /// Three members, node 1 master at epoch 1, ISR {1,2}.
    fn three() -> ClusterState {
        let mut s = ClusterState::default();
        for id in 1..=3 {
            s.apply(&node(id, "g")).unwrap();
        }
        s.apply(&elect(1, 1, false)).unwrap();
        s.apply(&isr(1, &[1, 2])).unwrap();
        s
    }

    #[test]
    fn register_node_joins_group() {
        let mut s = ClusterState::default();
        s.apply(&node(7, "g")).unwrap();
        assert_eq!(s.groups["g"].members, BTreeSet::from([7]));
        assert_eq!(s.nodes[&7].group.as_deref(), Some("g"));
        // Moving to another group leaves the first one.
        s.apply(&node(7, "h")).unwrap();
        assert!(s.groups["g"].members.is_empty());
        assert_eq!(s.groups["h"].members, BTreeSet::from([7]));
    }

    #[test]
    fn remove_node_leaves_group_and_isr_but_never_the_master() {
        let mut s = three();
        let refused = s.apply(&Command::RemoveNode { node: 1 });
        assert!(matches!(
            refused,
            Err(CommandError::RemoveMaster { node: 1, .. })
        ));
        s.apply(&Command::RemoveNode { node: 2 }).unwrap();
        let g = &s.groups["g"];
        assert_eq!(g.members, BTreeSet::from([1, 3]));
        assert_eq!(g.isr, BTreeSet::from([1]));
        assert!(!s.nodes.contains_key(&2));
        assert_eq!(
            s.apply(&Command::RemoveNode { node: 2 }),
            Err(CommandError::UnknownNode(2))
        );
    }

    #[test]
    fn first_election_needs_no_isr() {
        let s = three();
        let g = &s.groups["g"];
        assert_eq!((g.master, g.epoch), (Some(1), 1));
        assert_eq!(
            g.epochs,
            vec![EpochEntry {
                epoch: 1,
                start_offset: 100,
                master: 1
            }]
        );
        assert_eq!(s.failovers, 0);
    }

    #[test]
    fn failover_from_isr_bumps_epoch_and_drops_old_master() {
        let mut s = three();
        s.apply(&elect(2, 2, false)).unwrap();
        let g = &s.groups["g"];
        assert_eq!((g.master, g.epoch), (Some(2), 2));
        assert_eq!(g.isr, BTreeSet::from([2]));
        assert_eq!(
            g.epochs.last(),
            Some(&EpochEntry {
                epoch: 2,
                start_offset: 200,
                master: 2
            })
        );
        assert_eq!(s.failovers, 1);
    }

    #[test]
    fn stale_or_skipping_epoch_refused() {
        let mut s = three();
        let before = s.clone();
        assert!(matches!(
            s.apply(&elect(2, 1, false)),
            Err(CommandError::StaleEpoch { .. })
        ));
        assert!(matches!(
            s.apply(&elect(2, 3, false)),
            Err(CommandError::StaleEpoch { .. })
        ));
        assert!(matches!(
            s.apply(&isr(0, &[1])),
            Err(CommandError::StaleEpoch { .. })
        ));
        assert_eq!(s, before);
    }

    #[test]
    fn master_only_from_isr_unless_unclean() {
        let mut s = three();
        let before = s.clone();
        assert!(matches!(
            s.apply(&elect(3, 2, false)),
            Err(CommandError::NotInSync { .. })
        ));
        assert_eq!(s, before);
        s.apply(&elect(3, 2, true)).unwrap();
        let g = &s.groups["g"];
        assert_eq!((g.master, g.epoch), (Some(3), 2));
        assert_eq!(g.isr, BTreeSet::from([3]));
    }

    #[test]
    fn elect_refuses_non_members_and_unknown_groups() {
        let mut s = three();
        assert!(matches!(
            s.apply(&elect(9, 2, true)),
            Err(CommandError::NotAMember { .. })
        ));
        let other = Command::ElectMaster {
            group: "nope".into(),
            node: 1,
            epoch: 1,
            start_offset: 0,
            unclean: false,
        };
        assert!(matches!(
            s.apply(&other),
            Err(CommandError::UnknownGroup(_))
        ));
    }

    #[test]
    fn isr_must_contain_master_and_only_members() {
        let mut s = three();
        let before = s.clone();
        assert!(matches!(
            s.apply(&isr(1, &[2, 3])),
            Err(CommandError::IsrWithoutMaster { .. })
        ));
        assert!(matches!(
            s.apply(&isr(1, &[1, 9])),
            Err(CommandError::NotAMember { .. })
        ));
        assert_eq!(s, before);
        s.apply(&isr(1, &[1, 2, 3])).unwrap();
        assert_eq!(s.groups["g"].isr, BTreeSet::from([1, 2, 3]));
    }

    #[test]
    fn isr_change_before_any_master_refused() {
        let mut s = ClusterState::default();
        s.apply(&node(1, "g")).unwrap();
        assert!(matches!(
            s.apply(&isr(0, &[1])),
            Err(CommandError::IsrWithoutMaster { .. })
        ));
    }

    #[test]
    fn topics_and_placement() {
        let mut s = three();
        let cfg = BTreeMap::from([("queues".to_string(), "8".to_string())]);
        s.apply(&Command::PutTopic {
            topic: "t".into(),
            config: cfg.clone(),
        })
        .unwrap();
        assert_eq!(s.topics["t"], cfg);
        let bad = BTreeMap::from([(0, "nope".to_string())]);
        assert!(s
            .apply(&Command::PutPlacement {
                topic: "t".into(),
                queues: bad
            })
            .is_err());
        let good = BTreeMap::from([(0, "g".to_string()), (1, "g".to_string())]);
        s.apply(&Command::PutPlacement {
            topic: "t".into(),
            queues: good.clone(),
        })
        .unwrap();
        assert_eq!(s.placement["t"], good);
        s.apply(&Command::DeleteTopic { topic: "t".into() })
            .unwrap();
        assert!(!s.topics.contains_key("t") && !s.placement.contains_key("t"));
    }

    /// Queue ids `ids` on group `g`.
    fn on(g: &str, ids: std::ops::Range<u32>) -> BTreeMap<u32, String> {
        ids.map(|q| (q, g.to_string())).collect()
    }

    /// A placement of topic `t`.
    fn put(queues: BTreeMap<u32, String>) -> Command {
        Command::PutPlacement {
            topic: "t".into(),
            queues,
        }
    }

    #[test]
    fn placement_never_moves_a_queue() {
        let mut s = three();
        s.apply(&node(4, "h")).unwrap();
        s.apply(&put(on("g", 0..2))).unwrap();
        // A second placement on another group (a racing proposal) is refused
        // and changes nothing.
        let before = s.clone();
        assert!(matches!(
            s.apply(&put(on("h", 0..4))),
            Err(CommandError::PlacementConflict { queue: 0, .. })
        ));
        assert_eq!(s, before);
        // The same placement again is a no-op; more queues on the same
        // group are added.
        s.apply(&put(on("g", 0..2))).unwrap();
        assert_eq!(s, before);
        s.apply(&put(on("g", 0..4))).unwrap();
        assert_eq!(s.placement["t"], on("g", 0..4));
        assert_eq!(s.placed_on("t", 3), Some("g"));
        assert_eq!(s.placed_on("t", 4), None);
        assert_eq!(s.placed_on("u", 0), None);
    }

    #[test]
    fn ranges_stay_contiguous_per_group_and_drain_per_group() {
        let mut s = three();
        s.apply(&node(4, "b")).unwrap();
        s.apply(&put(on("g", 0..4))).unwrap();
        // add-queues: a range on group b after g's.
        s.apply(&put(on("b", 4..6))).unwrap();
        // g growing after b's range would split g's ids; a hole is refused too.
        assert!(matches!(
            s.apply(&put(on("g", 6..7))),
            Err(CommandError::PlacementNotContiguous { queue: 6, .. })
        ));
        assert!(matches!(
            s.apply(&put(on("b", 7..8))),
            Err(CommandError::PlacementNotContiguous { queue: 7, .. })
        ));
        // The last range may grow.
        s.apply(&put(on("b", 6..8))).unwrap();
        let r = s.ranges("t");
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].group.as_str(), r[0].base, r[0].count), ("g", 0, 4));
        assert_eq!((r[1].group.as_str(), r[1].base, r[1].count), ("b", 4, 4));
        assert!(!r[0].drained && !r[1].drained);
        let drain = |group: &str, drained| Command::SetDrained {
            topic: "t".into(),
            group: group.into(),
            drained,
        };
        s.apply(&drain("g", true)).unwrap();
        assert!(s.ranges("t")[0].drained && !s.ranges("t")[1].drained);
        assert!(matches!(
            s.apply(&drain("c", true)),
            Err(CommandError::NotPlaced { .. })
        ));
        s.apply(&drain("g", false)).unwrap();
        assert!(s.drained.is_empty());
        // `__` topics keep their round-robin placement.
        s.apply(&Command::PutPlacement {
            topic: "__consumer_offsets".into(),
            queues: round_robin(&["b".to_string(), "g".to_string()].into(), 4),
        })
        .unwrap();
        s.apply(&drain("g", true)).unwrap();
        s.apply(&Command::DeleteTopic { topic: "t".into() })
            .unwrap();
        assert!(s.ranges("t").is_empty() && s.drained.is_empty());
    }

    #[test]
    fn round_robin_spreads_over_groups_in_name_order() {
        let groups = BTreeSet::from(["gb".to_string(), "ga".to_string()]);
        let p = round_robin(&groups, 5);
        let names: Vec<&str> = p.values().map(String::as_str).collect();
        assert_eq!(names, ["ga", "gb", "ga", "gb", "ga"]);
        assert!(round_robin(&BTreeSet::new(), 5).is_empty());
    }

    #[test]
    fn replay_is_deterministic() {
        let cmds = [
            node(1, "g"),
            node(2, "g"),
            elect(1, 1, false),
            isr(1, &[1, 2]),
            elect(2, 2, false),
        ];
        let (mut a, mut b) = (ClusterState::default(), ClusterState::default());
        let ra: Vec<_> = cmds.iter().map(|c| a.apply(c)).collect();
        let rb: Vec<_> = cmds.iter().map(|c| b.apply(c)).collect();
        assert_eq!((a, ra), (b, rb));
    }

    #[test]
    fn registration_without_grpc_address_loads() {
        // A RegisterNode logged by a node from before the gRPC address.
        let old = r#"{"RegisterNode":{"info":{"id":1,"addrs":{"kafka":"k:9092",
            "remoting":"r:10911","ha":"h:10912","http":"w:8080","raft":"c:9093"},
            "group":"g"}}}"#;
        let cmd: Command = serde_json::from_str(old).unwrap();
        let Command::RegisterNode { info } = cmd else {
            panic!("not a registration: {cmd:?}");
        };
        assert_eq!(info.addrs.grpc, "");
        assert_eq!(info.addrs.remoting, "r:10911");
    }
}
