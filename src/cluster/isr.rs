//! The master's in-sync set (RocketMQ SyncStateSet, Kafka ISR).
//!
//! Kafka's rule: a replica is in sync while it has caught up with the
//! master's log end at some moment within `replica.lag.time.max.ms`. Every
//! tick the master samples its log end and each connected slave's acked
//! offset; a slave whose ack reached the previous sample's end is caught up
//! now. Members in the set when the term began get one lag period of grace to
//! connect. A change is proposed through Raft (`AlterSyncStateSet`); the
//! controller elects only from this set.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rokka_cluster::NodeId;
use tracing::{debug, info};

use super::status::ReplicaSample;
use super::{Cluster, Local};

/// How often the master samples its slaves.
const TICK: Duration = Duration::from_millis(250);

/// The sampled catch-up times of one master term.
#[derive(Debug)]
pub(super) struct Tracker {
    epoch: u64,
    prev_end: u64,
    caught_up: HashMap<NodeId, Instant>,
}

impl Tracker {
    /// A term beginning `now` with `isr` as the replicated in-sync set.
    pub(super) fn new(epoch: u64, end: u64, isr: &BTreeSet<NodeId>, now: Instant) -> Tracker {
        Tracker {
            epoch,
            prev_end: end,
            caught_up: isr.iter().map(|n| (*n, now)).collect(),
        }
    }

    /// Records one sample: the log `end` now and each slave's acked offset.
    pub(super) fn observe(&mut self, now: Instant, end: u64, acked: &[(NodeId, u64)]) {
        for (node, a) in acked {
            if *a >= self.prev_end {
                self.caught_up.insert(*node, now);
            }
        }
        self.prev_end = end;
    }

    /// The in-sync set now: `me` and the members caught up within `lag_max`.
    pub(super) fn in_sync(
        &self,
        me: NodeId,
        members: &BTreeSet<NodeId>,
        now: Instant,
        lag_max: Duration,
    ) -> BTreeSet<NodeId> {
        let mut set: BTreeSet<NodeId> = members
            .iter()
            .filter(|n| {
                self.caught_up
                    .get(n)
                    .is_some_and(|at| now.saturating_duration_since(*at) < lag_max)
            })
            .copied()
            .collect();
        set.insert(me);
        set
    }
}

/// Kafka's acks=all rule: `end` is acknowledged when the in-sync set `isr`
/// has at least `min_isr` members (the master `me` included) and every
/// member other than `me` acknowledged at least `end` (`acked` by node id).
pub(super) fn acknowledged(
    isr: &BTreeSet<NodeId>,
    me: NodeId,
    min_isr: usize,
    acked: &HashMap<NodeId, u64>,
    end: u64,
) -> bool {
    isr.len() >= min_isr
        && isr
            .iter()
            .filter(|n| **n != me)
            .all(|n| acked.get(n).is_some_and(|a| *a >= end))
}

/// The high watermark: the CommitLog offset every member of `isr` other
/// than the master `me` acknowledged (a disconnected member holds it at 0),
/// at most the master's log `end`.
pub(super) fn high_watermark(
    isr: &BTreeSet<NodeId>,
    me: NodeId,
    acked: &HashMap<NodeId, u64>,
    end: u64,
) -> u64 {
    isr.iter()
        .filter(|n| **n != me)
        .map(|n| acked.get(n).copied().unwrap_or(0))
        .fold(end, u64::min)
}

/// True when every node of `joining` acknowledged at least `seen`.
fn holds_all(joining: &BTreeSet<NodeId>, acked: &[(NodeId, u64)], seen: u64) -> bool {
    joining
        .iter()
        .all(|n| acked.iter().any(|(m, a)| m == n && *a >= seen))
}

pub(super) async fn run(c: Arc<Cluster>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tracker: Option<Tracker> = None;
    loop {
        tick.tick().await;
        let now = Instant::now();
        let end = c.store().log_end();
        let replicas = c.ha.replica_states();
        // Keeps the term's high watermark current while no reader asks.
        let hw = c.high_watermark();
        let Local::Master {
            epoch,
            fenced: false,
        } = c.local()
        else {
            tracker = None;
            c.metrics.replicas(None);
            continue;
        };
        let view = c.view();
        let Some(group) = view.group(&c.group) else {
            c.metrics.replicas(None);
            continue;
        };
        c.metrics.replicas(Some(ReplicaSample {
            replicas: &replicas,
            caught_up: tracker
                .as_ref()
                .filter(|t| t.epoch == epoch)
                .map(|t| &t.caught_up),
            members: group
                .members
                .iter()
                .copied()
                .filter(|n| *n != c.node_id)
                .collect(),
            isr: group.isr.clone(),
            unreplicated: end.saturating_sub(hw),
            now,
        }));
        if group.epoch != epoch {
            continue;
        }
        let t = match &mut tracker {
            Some(t) if t.epoch == epoch => t,
            _ => tracker.insert(Tracker::new(epoch, end, &group.isr, now)),
        };
        let acked: Vec<(NodeId, u64)> = replicas.iter().map(|r| (r.node, r.acked)).collect();
        t.observe(now, end, &acked);
        let want = t.in_sync(c.node_id, &group.members, now, c.lag_max);
        if want == group.isr {
            super::lock(&c.isr_joining).clear();
            continue;
        }
        // A joining member counts for acks and for the high watermark
        // before the change is applied here: the controller may elect it as
        // soon as Raft commits it. Counting it stops the high watermark at
        // what readers already saw until the member holds that too; only
        // then is it proposed (Kafka's rule: a follower joins the ISR once
        // it reached the leader's high watermark). Otherwise a consumer
        // could be past the end of a master elected right after the join,
        // and reset its position (OFFSET_OUT_OF_RANGE).
        let joining: BTreeSet<NodeId> = want.difference(&group.isr).copied().collect();
        *super::lock(&c.isr_joining) = joining.clone();
        let seen = c.readers_high_watermark(epoch);
        if !holds_all(&joining, &acked, seen) {
            debug!(
                seen,
                "cluster: a joining replica has not reached the high watermark yet"
            );
            continue;
        }
        match c
            .node
            .propose_sync_state_set(&c.group, epoch, want.clone())
            .await
        {
            Ok(()) => info!(
                "cluster: in-sync set of {} at epoch {epoch} is now {want:?}",
                c.group
            ),
            Err(e) => {
                debug!(error = %e, "in-sync set change not committed");
                super::lock(&c.isr_joining).clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_wait_for_every_in_sync_member_not_just_min_insync() {
        let isr = BTreeSet::from([1, 2, 3]);
        let one_slave = HashMap::from([(2, 500), (3, 100)]);
        // min.insync.replicas = 2 is a floor, not a count of acks.
        assert!(!acknowledged(&isr, 1, 2, &one_slave, 500));
        assert!(acknowledged(&isr, 1, 2, &one_slave, 100));
        let both = HashMap::from([(2, 500), (3, 600)]);
        assert!(acknowledged(&isr, 1, 2, &both, 500));
        // A disconnected member blocks until Raft removes it from the set.
        assert!(!acknowledged(&isr, 1, 1, &HashMap::from([(2, 900)]), 500));
        let shrunk = BTreeSet::from([1, 2]);
        assert!(acknowledged(&shrunk, 1, 2, &HashMap::from([(2, 900)]), 500));
        // Below the floor nothing is acknowledged; the master alone is.
        assert!(!acknowledged(&BTreeSet::from([1]), 1, 2, &both, 1));
        assert!(acknowledged(&BTreeSet::from([1]), 1, 1, &HashMap::new(), 1));
    }

    #[test]
    fn the_high_watermark_is_what_every_in_sync_member_has() {
        let acked = HashMap::from([(2, 700), (3, 400)]);
        assert_eq!(
            high_watermark(&BTreeSet::from([1, 2, 3]), 1, &acked, 900),
            400
        );
        assert_eq!(high_watermark(&BTreeSet::from([1, 2]), 1, &acked, 900), 700);
        // The master alone: its own end.
        assert_eq!(high_watermark(&BTreeSet::from([1]), 1, &acked, 900), 900);
        // A member not connected yet holds it at 0.
        assert_eq!(high_watermark(&BTreeSet::from([1, 4]), 1, &acked, 900), 0);
    }

    #[test]
    fn a_slave_that_stops_catching_up_leaves_and_returns_when_caught_up() {
        let t0 = Instant::now();
        let lag = Duration::from_secs(10);
        let members = BTreeSet::from([1, 2, 3]);
        let mut t = Tracker::new(5, 100, &BTreeSet::from([1, 2, 3]), t0);
        // Both slaves reach the end: in sync.
        t.observe(t0 + Duration::from_secs(1), 200, &[(2, 100), (3, 100)]);
        assert_eq!(
            t.in_sync(1, &members, t0 + Duration::from_secs(1), lag),
            members
        );
        // Node 3 stalls at 150 while the log grows.
        for s in 2..=12 {
            t.observe(
                t0 + Duration::from_secs(s),
                200 + s * 100,
                &[(2, 200 + (s - 1) * 100), (3, 150)],
            );
        }
        let now = t0 + Duration::from_secs(12);
        assert_eq!(t.in_sync(1, &members, now, lag), BTreeSet::from([1, 2]));
        // It catches up with the previous sample's end: back in.
        t.observe(now + Duration::from_secs(1), 1500, &[(2, 1400), (3, 1400)]);
        assert_eq!(
            t.in_sync(1, &members, now + Duration::from_secs(1), lag),
            members
        );
    }

    #[test]
    fn members_outside_the_set_at_term_start_join_only_when_caught_up() {
        let t0 = Instant::now();
        let lag = Duration::from_secs(10);
        let members = BTreeSet::from([1, 2, 3]);
        let mut t = Tracker::new(2, 500, &BTreeSet::from([1, 2]), t0);
        assert_eq!(t.in_sync(1, &members, t0, lag), BTreeSet::from([1, 2]));
        t.observe(t0, 500, &[(3, 100)]);
        assert_eq!(t.in_sync(1, &members, t0, lag), BTreeSet::from([1, 2]));
        t.observe(t0, 600, &[(3, 500)]);
        assert_eq!(t.in_sync(1, &members, t0, lag), members);
        // Grace of the term start runs out for a slave that never connects.
        assert_eq!(
            t.in_sync(1, &members, t0 + Duration::from_secs(11), lag),
            BTreeSet::from([1])
        );
    }

    #[test]
    fn a_joining_member_must_hold_what_readers_saw() {
        let joining = BTreeSet::from([2]);
        // Caught up with the previous sample (400) but readers saw 600.
        assert!(!holds_all(&joining, &[(2, 400), (3, 900)], 600));
        assert!(holds_all(&joining, &[(2, 600)], 600));
        // Not connected: no ack at all.
        assert!(!holds_all(&joining, &[(3, 900)], 0));
        assert!(holds_all(&BTreeSet::new(), &[], 600));
    }
}
