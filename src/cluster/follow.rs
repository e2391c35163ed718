//! The follow loop: turns each cluster view into this node's role.
//!
//! [`target`] is the pure part: from the replicated state, what this node
//! should be. The loop applies it through the HA service (master: the store
//! takes writes and a new term is recorded in the epoch file; slave: the
//! store is read-only and the HA client follows the master, truncating a
//! divergent tail at the handshake), and fences a master that lost the Raft
//! majority: no contact for longer than the master timeout makes its store
//! read-only until contact returns, because the majority may already have
//! elected someone else.
//!
//! Nothing here blocks the runtime: promotion hooks run on blocking threads,
//! and a failing step is retried on the next tick.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rokka_cluster::{ClusterView, NodeId};
use tracing::{info, warn};

use super::{Cluster, Local};
use crate::ha::Role as HaRole;

/// How often the loop re-checks even without a new view (fencing, offsets).
const TICK: Duration = Duration::from_millis(100);

/// What this node should be according to a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// No master (or no usable master address) yet.
    Wait,
    /// Master of term `epoch`.
    Master {
        /// The term.
        epoch: u64,
    },
    /// Slave of `master` (HA address `ha`) in term `epoch`.
    Slave {
        /// The term.
        epoch: u64,
        /// The master's node id.
        master: NodeId,
        /// The master's HA address.
        ha: SocketAddr,
    },
}

/// This node's target role in `group` according to `view`.
pub fn target(view: &ClusterView, me: NodeId, group: &str) -> Target {
    let Some((master, epoch)) = view.master_of(group) else {
        return Target::Wait;
    };
    if master == me {
        return Target::Master { epoch };
    }
    let ha = view
        .state
        .nodes
        .get(&master)
        .and_then(|n| n.addrs.ha.parse::<SocketAddr>().ok());
    match ha {
        Some(ha) => Target::Slave { epoch, master, ha },
        None => Target::Wait,
    }
}

/// True once this process has heard from a current Raft leader: a leader is
/// known and the majority confirmed contact (the leader accepted this node's
/// heartbeat, or a quorum confirmed this node's leadership) since start. Until
/// then the applied state may be a stale term's, in which this node may
/// still look like the master (ADR 015: read-only at start-up).
pub fn heard_from_leader(view: &ClusterView, contact_age: Option<Duration>) -> bool {
    view.leader.is_some() && contact_age.is_some()
}

/// True when contact with the Raft majority is older than `limit` (or never was).
pub fn cut_off(contact_age: Option<Duration>, limit: Duration) -> bool {
    contact_age.is_none_or(|age| age > limit)
}

pub(super) async fn run(c: Arc<Cluster>) {
    let mut views = c.node.subscribe();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = false;
    loop {
        tokio::select! {
            r = views.changed() => if r.is_err() { return },
            _ = tick.tick() => {}
        }
        c.node.set_commitlog_max_offset(c.store().log_end());
        let view = c.node.view();
        let contact = c.node.majority_contact_age();
        if !heard && heard_from_leader(&view, contact) {
            heard = true;
            info!(
                "cluster: node {} heard from Raft leader {:?}; following the view",
                c.node_id, view.leader
            );
        }
        // Neither master nor slave (read-only, no promotion hooks) before
        // the first contact with a current leader.
        let t = if heard {
            target(&view, c.node_id, &c.group)
        } else {
            Target::Wait
        };
        let fenced = cut_off(contact, c.master_timeout);
        if let Err(e) = apply(&c, t, fenced).await {
            crate::net::log_limit::warn(|suppressed| {
                warn!(error = %e, suppressed, "cluster: role change failed; retrying");
            });
        }
        c.metrics.observe(&c.local());
    }
}

async fn apply(c: &Cluster, t: Target, fenced: bool) -> Result<(), String> {
    let now = c.local();
    let me = c.node_id;
    match t {
        Target::Wait => {
            if now != Local::None {
                c.store().set_read_only(true);
                info!(
                    "cluster: node {me} has no master for {} yet; read-only",
                    c.group
                );
                c.local.send_replace(Local::None);
            }
        }
        Target::Master { epoch } => {
            let same_term = matches!(now, Local::Master { epoch: e, .. } if e == epoch);
            if !same_term {
                c.store().set_read_only(true);
                // The log must be final before the hooks read it and the
                // term's start is recorded at its end: a slave task still
                // appending the old master's chunks would add entries the
                // rebuilt producer table lacks (issue 12, run 7).
                c.ha.stop_following().await.map_err(|e| e.to_string())?;
                run_hooks(c).await;
                c.ha.set_role(HaRole::Master { epoch })
                    .map_err(|e| e.to_string())?;
                c.metrics.promoted();
                info!(
                    "cluster: node {me} is master of {} at epoch {epoch}",
                    c.group
                );
            }
            let was_fenced = matches!(now, Local::Master { fenced: true, .. });
            if !same_term || was_fenced != fenced {
                c.store().set_read_only(fenced);
                if fenced {
                    warn!("cluster: node {me} lost contact with the Raft majority; master of {} refuses writes", c.group);
                } else if same_term {
                    info!("cluster: node {me} is in contact with the Raft majority again; master of {} takes writes", c.group);
                }
                c.local.send_replace(Local::Master { epoch, fenced });
            }
        }
        Target::Slave { epoch, master, ha } => {
            let want = Local::Slave { epoch, master };
            // Also restarts a slave task that a failed promotion stopped.
            c.ha.set_role(HaRole::Slave { epoch, master: ha })
                .map_err(|e| e.to_string())?;
            if now != want {
                info!(
                    "cluster: node {me} is slave of {} (master {master}, epoch {epoch})",
                    c.group
                );
                c.local.send_replace(want);
            }
        }
    }
    Ok(())
}

/// Runs the promotion hooks on blocking threads, one after another.
async fn run_hooks(c: &Cluster) {
    let hooks: Vec<_> = super::lock(&c.hooks).clone();
    for h in hooks {
        if let Err(e) = tokio::task::spawn_blocking(move || h()).await {
            warn!(error = %e, "cluster: a promotion hook failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use rokka_cluster::{GroupState, NodeAddrs, NodeInfo};

    use super::*;

    fn view(master: Option<NodeId>, epoch: u64) -> ClusterView {
        let mut v = ClusterView::default();
        for id in 1..=3u64 {
            v.state.nodes.insert(
                id,
                NodeInfo {
                    id,
                    addrs: NodeAddrs {
                        ha: format!("127.0.0.1:{}", 20000 + id),
                        ..NodeAddrs::default()
                    },
                    group: Some("g".into()),
                },
            );
        }
        v.state.groups.insert(
            "g".into(),
            GroupState {
                members: BTreeSet::from([1, 2, 3]),
                master,
                epoch,
                isr: master.into_iter().collect(),
                epochs: Vec::new(),
            },
        );
        v
    }

    #[test]
    fn no_master_means_wait() {
        assert_eq!(target(&view(None, 0), 1, "g"), Target::Wait);
        assert_eq!(target(&view(Some(1), 1), 1, "other"), Target::Wait);
    }

    #[test]
    fn the_master_and_its_slaves() {
        let v = view(Some(2), 4);
        assert_eq!(target(&v, 2, "g"), Target::Master { epoch: 4 });
        assert_eq!(
            target(&v, 3, "g"),
            Target::Slave {
                epoch: 4,
                master: 2,
                ha: "127.0.0.1:20002".parse().unwrap()
            }
        );
    }

    #[test]
    fn a_master_without_a_usable_ha_address_is_not_followed() {
        let mut v = view(Some(2), 1);
        v.state.nodes.get_mut(&2).unwrap().addrs.ha = "nowhere".into();
        assert_eq!(target(&v, 3, "g"), Target::Wait);
    }

    #[test]
    fn a_restarted_node_waits_for_a_current_leader() {
        // The persisted state still names this node master of its old term.
        let mut v = view(Some(1), 4);
        let contact = Some(Duration::from_millis(10));
        assert!(!heard_from_leader(&v, contact), "no leader known yet");
        v.leader = Some(2);
        assert!(!heard_from_leader(&v, None), "no contact since start");
        assert!(heard_from_leader(&v, contact));
    }

    #[test]
    fn fencing_after_the_master_timeout() {
        let limit = Duration::from_millis(1500);
        assert!(cut_off(None, limit));
        assert!(!cut_off(Some(Duration::from_millis(200)), limit));
        assert!(cut_off(Some(Duration::from_millis(1600)), limit));
    }
}
