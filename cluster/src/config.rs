//! Cluster configuration and parsing of Kafka's `controller.quorum.voters`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::state::{NodeAddrs, NodeId};
use crate::ClusterError;

/// How to start a [`crate::ClusterNode`].
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// This node's id (Kafka `node.id`).
    pub node_id: NodeId,
    /// The Raft voters, id → cluster RPC address (`controller.quorum.voters`). A node whose
    /// id is not here joins as a non-voting learner.
    pub voters: BTreeMap<NodeId, String>,
    /// Address to listen on for cluster RPCs (usually this node's entry in `voters`).
    pub listen: String,
    /// Directory for the Raft log, vote and snapshot.
    pub data_dir: PathBuf,
    /// Addresses this node advertises; `addrs.raft` is what peers dial.
    pub addrs: NodeAddrs,
    /// The broker group (RocketMQ `brokerName`) this node serves, if any.
    pub group: Option<String>,
    /// How often this node sends a heartbeat to the Raft leader (default 300 ms).
    pub heartbeat_interval: Duration,
    /// A master silent this long is replaced (default 1.5 s).
    pub master_timeout: Duration,
    /// Raft leader heartbeat interval (default 100 ms).
    pub raft_heartbeat: Duration,
    /// Raft election timeout, lower bound; the upper bound (and openraft's leader lease) is
    /// twice this, so a dead leader is replaced after 3–4 times this (default 250 ms).
    pub raft_election_timeout: Duration,
    /// Allow electing a master outside the in-sync set when no in-sync member is alive
    /// (RocketMQ `enableElectUncleanMaster`, Kafka `unclean.leader.election.enable`);
    /// may lose acknowledged messages. Default false.
    pub unclean_election: bool,
    /// `min.insync.replicas` (RocketMQ `inSyncReplicas`), master included: an
    /// acknowledged write is on the master and this many minus one slaves, so a clean
    /// election waits until it has fresh offsets from enough in-sync members that one
    /// of them holds every such write. Default 1 (any live in-sync member).
    pub min_insync_replicas: usize,
}

impl ClusterConfig {
    /// A config with the defaults above.
    pub fn new(node_id: NodeId, voters: BTreeMap<NodeId, String>, data_dir: PathBuf) -> Self {
        let listen = voters
            .get(&node_id)
            .cloned()
            .unwrap_or_else(|| "0.0.0.0:9093".into());
        Self {
            node_id,
            addrs: NodeAddrs {
                raft: listen.clone(),
                ..NodeAddrs::default()
            },
            voters,
            listen,
            data_dir,
            group: None,
            heartbeat_interval: Duration::from_millis(300),
            master_timeout: Duration::from_millis(1500),
            raft_heartbeat: Duration::from_millis(100),
            raft_election_timeout: Duration::from_millis(250),
            unclean_election: false,
            min_insync_replicas: 1,
        }
    }
}

/// Parses `controller.quorum.voters`: `1@host:port,2@host:port,3@host:port`.
pub fn parse_voters(s: &str) -> Result<BTreeMap<NodeId, String>, ClusterError> {
    let bad = |why: &str| ClusterError::Config(format!("controller.quorum.voters {s:?}: {why}"));
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = part
            .split_once('@')
            .ok_or_else(|| bad("expected id@host:port"))?;
        let id: NodeId = id
            .trim()
            .parse()
            .map_err(|_| bad("node id is not a number"))?;
        let addr = addr.trim();
        if addr
            .rsplit_once(':')
            .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
        {
            return Err(bad("address is not host:port"));
        }
        if out.insert(id, addr.to_string()).is_some() {
            return Err(bad("duplicate node id"));
        }
    }
    if out.is_empty() {
        return Err(bad("no voters"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kafka_voters() {
        let v = parse_voters("1@127.0.0.1:9093, 2@h2:9093,3@[::1]:9093").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[&2], "h2:9093");
        assert_eq!(v[&3], "[::1]:9093");
    }

    #[test]
    fn rejects_bad_voters() {
        for s in ["", "1@", "x@h:1", "1@h", "1@h:1,1@h:2", "1@:9", "1@h:99999"] {
            assert!(parse_voters(s).is_err(), "{s}");
        }
    }
}
