//! The master-election controller that runs on the Raft leader.
//!
//! Like RocketMQ 5's controller, liveness is soft state kept only by the leader: every node
//! sends a [`Heartbeat`] every ~300 ms, and the leader remembers the last one per node. It
//! is never written to the Raft log (a heartbeat per node per 300 ms would flood it); a new
//! leader starts empty and waits one master timeout before judging anybody dead.
//!
//! [`decide`] is the pure part: from the replicated state and the heartbeats it returns the
//! `ElectMaster` commands to propose.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::state::{ClusterState, Command, NodeId};

/// A node's role in its broker group, as the node itself reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Accepts writes for the group.
    Master,
    /// Replicates from the master.
    Slave,
    /// Not (yet) serving the group.
    None,
}

/// A node's liveness report to the Raft leader (soft state, never logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The reporting node.
    pub node: NodeId,
    /// Its broker group, if any.
    pub group: Option<String>,
    /// The role it is playing.
    pub role: Role,
    /// The master epoch it follows.
    pub epoch: u64,
    /// Its CommitLog max (end) offset.
    pub max_offset: u64,
}

/// The last heartbeat of one node and when it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) at: Instant,
    pub(crate) hb: Heartbeat,
}

/// The leader's soft state.
#[derive(Debug, Default)]
pub(crate) struct SoftState {
    /// When this node last became leader (None while not leader).
    pub(crate) leader_since: Option<Instant>,
    /// Last heartbeat per node.
    pub(crate) seen: HashMap<NodeId, Seen>,
}

impl SoftState {
    /// Records a heartbeat received now.
    pub(crate) fn record(&mut self, hb: Heartbeat, now: Instant) {
        self.seen.insert(hb.node, Seen { at: now, hb });
    }

    /// Tracks leadership changes: a new term of leadership starts with no soft state.
    pub(crate) fn set_leader(&mut self, leader: bool, now: Instant) {
        match (leader, self.leader_since) {
            (true, None) => {
                self.leader_since = Some(now);
                self.seen.clear();
            }
            (false, Some(_)) => {
                self.leader_since = None;
                self.seen.clear();
            }
            _ => {}
        }
    }
}

/// Election policy knobs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// A master silent this long is dead.
    pub(crate) master_timeout: Duration,
    /// Elect outside the in-sync set when no in-sync member is alive.
    pub(crate) unclean: bool,
    /// How long a new leader waits for heartbeats before judging masters.
    pub(crate) new_leader_grace: Duration,
    /// `min.insync.replicas`, master included (see [`heard_enough`]).
    pub(crate) min_insync: usize,
}

impl Policy {
    /// The grace of a new leader: the master timeout less `leader_silence`, the time a
    /// new Raft leader has certainly not heard from the previous one (openraft elects only
    /// after the leader lease plus an election timeout), so a master that was also the
    /// previous leader is judged after the same total silence as any other; but never
    /// under two heartbeat rounds plus one Raft heartbeat, the time a live node needs to
    /// find the new leader and report to it.
    pub(crate) fn new(
        master_timeout: Duration,
        unclean: bool,
        leader_silence: Duration,
        heartbeat_interval: Duration,
        raft_heartbeat: Duration,
    ) -> Self {
        let floor = heartbeat_interval * 2 + raft_heartbeat;
        let new_leader_grace = master_timeout.saturating_sub(leader_silence).max(floor);
        Self {
            master_timeout,
            unclean,
            new_leader_grace,
            min_insync: 1,
        }
    }
}

/// The elections to propose now: for each group whose master is missing or silent for
/// `master_timeout`, the live candidate with the highest reported CommitLog offset
/// (lowest node id on a tie), from the in-sync set unless `unclean` allows otherwise.
pub(crate) fn decide(
    state: &ClusterState,
    soft: &SoftState,
    policy: Policy,
    now: Instant,
) -> Vec<Command> {
    let Some(since) = soft.leader_since else {
        return Vec::new();
    };
    let alive = |n: &NodeId| {
        soft.seen
            .get(n)
            .filter(|s| now.saturating_duration_since(s.at) < policy.master_timeout)
    };
    let mut out = Vec::new();
    for (name, g) in &state.groups {
        let first = g.epoch == 0 && g.isr.is_empty();
        let mut unclean = false;
        let candidates: Vec<NodeId> = match g.master {
            None if first => g.members.iter().copied().collect(),
            None => g.isr.iter().copied().collect(),
            Some(m) => {
                // Give every node time to reach a new leader before judging it.
                if now.saturating_duration_since(since) < policy.new_leader_grace
                    || alive(&m).is_some()
                {
                    continue;
                }
                let in_sync: Vec<NodeId> = g.isr.iter().copied().filter(|n| *n != m).collect();
                // A live member's last heartbeat is newer than the dead
                // master's, so its offset includes all the master sent it.
                let heard = in_sync.iter().filter(|n| alive(n).is_some()).count();
                if heard > 0 && !heard_enough(in_sync.len(), heard, policy.min_insync) {
                    // An in-sync member not heard from may hold the newest
                    // acknowledged write: wait for it (never elect past it).
                    continue;
                }
                if heard > 0 || !policy.unclean {
                    in_sync
                } else {
                    unclean = true;
                    g.members.iter().copied().filter(|n| *n != m).collect()
                }
            }
        };
        let best = candidates
            .iter()
            .filter_map(|n| alive(n).map(|s| (*n, s.hb.max_offset)))
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
        if let Some((node, offset)) = best {
            out.push(Command::ElectMaster {
                group: name.clone(),
                node,
                epoch: g.epoch + 1,
                start_offset: offset,
                unclean,
            });
        }
    }
    out
}

/// Whether fresh offsets from `heard` of the `in_sync` surviving in-sync members are
/// enough to elect the one with the most data without losing an acknowledged write. Such
/// a write is on the dead master and at least `min_insync - 1` of the survivors; hearing
/// from all but `min_insync - 2` of them guarantees one holds it. With
/// `min_insync <= 1` a write may be on the master alone: any survivor will do.
pub(crate) fn heard_enough(in_sync: usize, heard: usize, min_insync: usize) -> bool {
    if min_insync <= 1 {
        return heard > 0;
    }
    heard >= in_sync.saturating_sub(min_insync - 2).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{NodeAddrs, NodeInfo};

    const T: Duration = Duration::from_millis(1500);

    fn policy(unclean: bool) -> Policy {
        let ms = Duration::from_millis;
        Policy::new(T, unclean, ms(750), ms(300), ms(100))
    }

    #[test]
    fn new_leader_grace_has_a_floor() {
        let ms = Duration::from_millis;
        assert_eq!(policy(false).new_leader_grace, ms(750));
        assert_eq!(
            Policy::new(ms(600), false, ms(500), ms(300), ms(100)).new_leader_grace,
            ms(700)
        );
    }

    fn hb(node: NodeId, off: u64) -> Heartbeat {
        Heartbeat {
            node,
            group: Some("g".into()),
            role: Role::Slave,
            epoch: 1,
            max_offset: off,
        }
    }

    fn group_of_three(master: Option<NodeId>, isr: &[NodeId]) -> ClusterState {
        let mut s = ClusterState::default();
        for id in 1..=3 {
            let info = NodeInfo {
                id,
                addrs: NodeAddrs::default(),
                group: Some("g".into()),
            };
            s.apply(&Command::RegisterNode { info }).unwrap();
        }
        if let Some(m) = master {
            let e = Command::ElectMaster {
                group: "g".into(),
                node: m,
                epoch: 1,
                start_offset: 0,
                unclean: false,
            };
            s.apply(&e).unwrap();
            let isr = isr.iter().copied().collect();
            s.apply(&Command::AlterSyncStateSet {
                group: "g".into(),
                epoch: 1,
                isr,
            })
            .unwrap();
        }
        s
    }

    /// Leader for 10 s; heartbeats from `fresh` now and from `stale` 2 s ago.
    fn soft(now: Instant, fresh: &[(NodeId, u64)], stale: &[NodeId]) -> SoftState {
        let mut s = SoftState {
            leader_since: Some(now - Duration::from_secs(10)),
            ..Default::default()
        };
        for (n, off) in fresh {
            s.record(hb(*n, *off), now);
        }
        for n in stale {
            s.record(hb(*n, 0), now - Duration::from_secs(2));
        }
        s
    }

    fn elected(cmds: &[Command]) -> Vec<(NodeId, u64, u64, bool)> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::ElectMaster {
                    node,
                    epoch,
                    start_offset,
                    unclean,
                    ..
                } => Some((*node, *epoch, *start_offset, *unclean)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn live_master_keeps_its_place() {
        let now = Instant::now();
        let s = group_of_three(Some(1), &[1, 2, 3]);
        assert!(decide(&s, &soft(now, &[(1, 5), (2, 9)], &[]), policy(false), now).is_empty());
    }

    #[test]
    fn dead_master_replaced_by_highest_offset_in_sync_member() {
        let now = Instant::now();
        let s = group_of_three(Some(1), &[1, 2, 3]);
        let cmds = decide(
            &s,
            &soft(now, &[(2, 50), (3, 70)], &[1]),
            policy(false),
            now,
        );
        assert_eq!(elected(&cmds), vec![(3, 2, 70, false)]);
    }

    #[test]
    fn an_election_waits_for_the_in_sync_member_that_may_hold_the_newest_write() {
        let now = Instant::now();
        let s = group_of_three(Some(1), &[1, 2, 3]);
        let mut p = policy(false);
        p.min_insync = 2;
        // Node 3 (not heard yet, e.g. just restarted) may be the only slave
        // that acknowledged the last write: no election on node 2's word alone.
        assert!(decide(&s, &soft(now, &[(2, 50)], &[1]), p, now).is_empty());
        let cmds = decide(&s, &soft(now, &[(2, 50), (3, 70)], &[1]), p, now);
        assert_eq!(elected(&cmds), vec![(3, 2, 70, false)]);
        // min.insync.replicas=1: a write may be on the master alone anyway.
        p.min_insync = 1;
        let cmds = decide(&s, &soft(now, &[(2, 50)], &[1]), p, now);
        assert_eq!(elected(&cmds), vec![(2, 2, 50, false)]);
    }

    #[test]
    fn enough_in_sync_members_heard() {
        // (surviving in-sync members, heard, min.insync.replicas) -> enough
        for (k, heard, min, ok) in [
            (2, 1, 2, false),
            (2, 2, 2, true),
            (2, 1, 3, true),
            (4, 2, 3, false),
            (4, 3, 3, true),
            (2, 1, 1, true),
            (1, 1, 2, true),
            (2, 0, 1, false),
        ] {
            assert_eq!(heard_enough(k, heard, min), ok, "{k} {heard} {min}");
        }
    }

    #[test]
    fn out_of_sync_member_not_chosen_even_if_ahead() {
        let now = Instant::now();
        let s = group_of_three(Some(1), &[1, 2]);
        let cmds = decide(
            &s,
            &soft(now, &[(2, 50), (3, 90)], &[1]),
            policy(false),
            now,
        );
        assert_eq!(elected(&cmds), vec![(2, 2, 50, false)]);
    }

    #[test]
    fn no_live_in_sync_member_means_no_election_unless_unclean() {
        let now = Instant::now();
        let s = group_of_three(Some(1), &[1, 2]);
        let soft = soft(now, &[(3, 90)], &[1, 2]);
        assert!(decide(&s, &soft, policy(false), now).is_empty());
        assert_eq!(
            elected(&decide(&s, &soft, policy(true), now)),
            vec![(3, 2, 90, true)]
        );
    }

    #[test]
    fn new_leader_waits_its_grace() {
        let now = Instant::now();
        let s = group_of_three(Some(1), &[1, 2, 3]);
        let mut soft = soft(now, &[(2, 50)], &[]);
        soft.leader_since = Some(now - Duration::from_millis(100));
        assert!(decide(&s, &soft, policy(false), now).is_empty());
    }

    #[test]
    fn first_master_is_any_live_member() {
        let now = Instant::now();
        let s = group_of_three(None, &[]);
        let cmds = decide(&s, &soft(now, &[(2, 0), (3, 0)], &[]), policy(false), now);
        assert_eq!(elected(&cmds), vec![(2, 1, 0, false)]);
    }

    #[test]
    fn not_leader_decides_nothing() {
        let now = Instant::now();
        let s = group_of_three(None, &[]);
        let mut soft = soft(now, &[(2, 0)], &[]);
        soft.set_leader(false, now);
        assert!(decide(&s, &soft, policy(false), now).is_empty());
    }
}
