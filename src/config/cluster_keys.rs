//! Config-file keys of cluster mode (issue 12, ADR 015). Cluster mode is on
//! when `controller.quorum.voters` is set; without it rokka is one node.
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `node.id` | this node's id (Kafka node id, Raft id); required with voters | `brokerId` |
//! | `controller.quorum.voters` | `1@host:port,2@host:port,3@host:port`: the Raft voters and their cluster ports; turns cluster mode on | none |
//! | `rokka.clusterListen` | `host:port` of this node's cluster port when its id is not among the voters (it then joins as a non-voting learner) | its voter address |
//! | `haListenPort` | CommitLog replication port | `listenPort + 1` |
//! | `min.insync.replicas` (or `inSyncReplicas`) | replicas (master included) that must hold a message before acks=all / SYNC_MASTER acknowledge it | 1 |
//! | `default.replication.factor` | informational: every member of a broker group holds the whole group; checked against the voter count | 1 |
//! | `replica.lag.time.max.ms` | a slave that has not caught up for this long leaves the in-sync set | 10000 |
//! | `rokka.replicaAckTimeoutMs` | longest wait for replicas before acks=all / SYNC_MASTER answer a timeout | 5000 |
//! | `rokka.masterTimeoutMs` | a master silent this long is replaced; a master cut off from the Raft majority this long stops acknowledging | 1500 |

use std::collections::BTreeMap;
use std::time::Duration;

use super::keys::{int, millis, Key};
use super::Draft;

/// Cluster settings while the sources are applied.
#[derive(Debug, Clone)]
pub(super) struct ClusterDraft {
    pub node_id: Option<u64>,
    pub voters: Option<BTreeMap<u64, String>>,
    pub listen: Option<String>,
    pub ha_port: Option<u16>,
    pub min_insync_replicas: u32,
    pub replication_factor: u32,
    pub replica_lag_time_max: Duration,
    pub ack_timeout: Duration,
    pub master_timeout: Duration,
}

impl Default for ClusterDraft {
    fn default() -> Self {
        ClusterDraft {
            node_id: None,
            voters: None,
            listen: None,
            ha_port: None,
            min_insync_replicas: 1,
            replication_factor: 1,
            replica_lag_time_max: Duration::from_secs(10),
            ack_timeout: Duration::from_secs(5),
            master_timeout: Duration::from_millis(1500),
        }
    }
}

/// The cluster keys.
pub(super) static CLUSTER_KEYS: &[Key] = &[
    Key {
        name: "node.id",
        apply: |d, v| {
            d.cluster.node_id = Some(int(v, 0, i32::MAX as u64)?);
            Ok(())
        },
    },
    Key {
        name: "controller.quorum.voters",
        apply: |d, v| {
            let voters = rokka_cluster::parse_voters(v).map_err(|e| match e {
                rokka_cluster::ClusterError::Config(m) => m,
                other => other.to_string(),
            })?;
            if let Some(id) = voters.keys().find(|id| **id > i32::MAX as u64) {
                return Err(format!("node id {id} is larger than {}", i32::MAX));
            }
            d.cluster.voters = Some(voters);
            Ok(())
        },
    },
    Key {
        name: "rokka.clusterListen",
        apply: |d, v| {
            d.cluster.listen = Some(host_port(v)?);
            Ok(())
        },
    },
    Key {
        name: "haListenPort",
        apply: |d, v| {
            d.cluster.ha_port = Some(int(v, 0, 65535)?);
            Ok(())
        },
    },
    Key {
        name: "min.insync.replicas",
        apply: set_min_isr,
    },
    Key {
        name: "inSyncReplicas",
        apply: set_min_isr,
    },
    Key {
        name: "default.replication.factor",
        apply: |d, v| {
            d.cluster.replication_factor = int(v, 1, 32767)?;
            Ok(())
        },
    },
    Key {
        name: "replica.lag.time.max.ms",
        apply: |d, v| {
            d.cluster.replica_lag_time_max = millis(v)?;
            Ok(())
        },
    },
    Key {
        name: "rokka.replicaAckTimeoutMs",
        apply: |d, v| {
            d.cluster.ack_timeout = millis(v)?;
            Ok(())
        },
    },
    Key {
        name: "rokka.masterTimeoutMs",
        apply: |d, v| {
            d.cluster.master_timeout = int(v, 300, 600_000).map(Duration::from_millis)?;
            Ok(())
        },
    },
];

fn set_min_isr(d: &mut Draft, v: &str) -> Result<(), String> {
    d.cluster.min_insync_replicas = int(v, 1, 32767)?;
    Ok(())
}

fn host_port(v: &str) -> Result<String, String> {
    match v.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() => Ok(v.to_string()),
        _ => Err("expected host:port".to_string()),
    }
}

/// Cluster mode settings, resolved (present only with `controller.quorum.voters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// `node.id`.
    pub node_id: u64,
    /// `controller.quorum.voters`: id → cluster (Raft) address.
    pub voters: BTreeMap<u64, String>,
    /// Where this node's cluster port listens (its voter address, or
    /// `rokka.clusterListen` for a learner).
    pub listen: String,
    /// `replica.lag.time.max.ms`.
    pub replica_lag_time_max: Duration,
    /// `rokka.masterTimeoutMs`.
    pub master_timeout: Duration,
}

impl ClusterDraft {
    /// Checks the combination and builds the settings; `None` without voters.
    pub(super) fn finish(&self) -> Result<Option<ClusterSettings>, String> {
        let Some(voters) = self.voters.clone() else {
            return Ok(None);
        };
        let node_id = self.node_id.ok_or_else(|| {
            "controller.quorum.voters is set but node.id is not: give every node its id".to_string()
        })?;
        let listen = match (&self.listen, voters.get(&node_id)) {
            (Some(l), _) => l.clone(),
            (None, Some(v)) => v.clone(),
            (None, None) => {
                return Err(format!(
                    "node.id {node_id} is not among controller.quorum.voters, so it joins as a \
                     learner and needs rokka.clusterListen=host:port for its cluster port"
                ))
            }
        };
        let members = voters.len() + usize::from(!voters.contains_key(&node_id));
        if self.min_insync_replicas as usize > members {
            return Err(format!(
                "min.insync.replicas={} is more than the {members} nodes of the cluster: \
                 acks=all could never succeed",
                self.min_insync_replicas
            ));
        }
        Ok(Some(ClusterSettings {
            node_id,
            voters,
            listen,
            replica_lag_time_max: self.replica_lag_time_max,
            master_timeout: self.master_timeout,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(pairs: &[(&str, &str)]) -> Result<Draft, String> {
        let mut d = Draft::default();
        for (k, v) in pairs {
            let key = CLUSTER_KEYS.iter().find(|c| c.name == *k).expect("key");
            (key.apply)(&mut d, v)?;
        }
        Ok(d)
    }

    const VOTERS: &str = "1@127.0.0.1:9301,2@127.0.0.1:9302,3@127.0.0.1:9303";

    #[test]
    fn no_voters_is_a_single_node() {
        let d = draft(&[("node.id", "4"), ("min.insync.replicas", "1")]).unwrap();
        assert_eq!(d.cluster.finish(), Ok(None));
    }

    #[test]
    fn voters_and_node_id_give_cluster_settings() {
        let d = draft(&[
            ("node.id", "2"),
            ("controller.quorum.voters", VOTERS),
            ("inSyncReplicas", "2"),
        ])
        .unwrap();
        let s = d.cluster.finish().unwrap().unwrap();
        assert_eq!(s.node_id, 2);
        assert_eq!(s.listen, "127.0.0.1:9302");
        assert_eq!(s.voters.len(), 3);
        assert_eq!(d.cluster.min_insync_replicas, 2);
    }

    #[test]
    fn voters_without_node_id_are_refused() {
        let d = draft(&[("controller.quorum.voters", VOTERS)]).unwrap();
        assert!(d.cluster.finish().unwrap_err().contains("node.id"));
    }

    #[test]
    fn a_learner_needs_its_cluster_port() {
        let d = draft(&[("node.id", "7"), ("controller.quorum.voters", VOTERS)]).unwrap();
        assert!(d
            .cluster
            .finish()
            .unwrap_err()
            .contains("rokka.clusterListen"));
        let d = draft(&[
            ("node.id", "7"),
            ("controller.quorum.voters", VOTERS),
            ("rokka.clusterListen", "127.0.0.1:9307"),
        ])
        .unwrap();
        assert_eq!(
            d.cluster.finish().unwrap().unwrap().listen,
            "127.0.0.1:9307"
        );
    }

    #[test]
    fn impossible_min_insync_is_refused() {
        let d = draft(&[
            ("node.id", "1"),
            ("controller.quorum.voters", VOTERS),
            ("min.insync.replicas", "4"),
        ])
        .unwrap();
        assert!(d
            .cluster
            .finish()
            .unwrap_err()
            .contains("min.insync.replicas=4"));
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(draft(&[("controller.quorum.voters", "1@h")]).is_err());
        assert!(draft(&[("controller.quorum.voters", "3000000000@h:1")]).is_err());
        assert!(draft(&[("min.insync.replicas", "0")]).is_err());
        assert!(draft(&[("haListenPort", "70000")]).is_err());
        assert!(draft(&[("rokka.clusterListen", "nohost")]).is_err());
        assert!(draft(&[("rokka.masterTimeoutMs", "10")]).is_err());
    }
}
