//! `rokka admin cluster status`: the NameServer's GET_BROKER_CLUSTER_INFO
//! (106), then each broker's GET_BROKER_RUNTIME_INFO (28), as mqadmin's
//! clusterList does. A broker that cannot be reached is shown as such.
//! `add-node` / `remove-node` change the Raft membership and `add-queues` /
//! `drain` a topic's placement over broker groups (cluster mode, ADR 024):
//! RocketMQ's remoting has no request for them, so they POST to any node's
//! HTTP port (`--http`), which forwards to the Raft leader.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs};

use serde_json::Value;

use super::{body_json, Admin, AdminError, Client, Report};

/// Cluster commands.
#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Brokers per cluster with their address, version and CommitLog range
    Status,
    /// Make a running node a Raft voter (it joined as a learner, started with
    /// rokka.clusterListen); ID@HOST:PORT is its node.id and cluster address
    AddNode {
        /// NODE_ID@HOST:PORT
        node: String,
    },
    /// Remove a node from its broker group and the Raft membership (refused
    /// while it is the master)
    RemoveNode {
        /// The node.id
        id: u64,
    },
    /// Scale a topic out onto a broker group (ADR 024): N more queues after
    /// its last one, held by GROUP (Kafka sees new partitions; RocketMQ a
    /// route entry for GROUP). No data moves.
    AddQueues {
        /// The topic (already placed on a group)
        topic: String,
        /// The broker group (brokerName) that takes the new queues
        group: String,
        /// How many queues
        count: u32,
    },
    /// Make GROUP's queues of a topic read-only until consumers pass their
    /// end (RocketMQ perm 4; Kafka produce answers POLICY_VIOLATION);
    /// --undo makes them writable again
    Drain {
        /// The topic
        topic: String,
        /// The broker group (brokerName)
        group: String,
        /// Writable again
        #[arg(long)]
        undo: bool,
    },
}

/// Runs a cluster command.
pub fn run(a: &Admin, cmd: ClusterCommand) -> Result<Report, AdminError> {
    let path = match cmd {
        ClusterCommand::Status => return status(a),
        ClusterCommand::AddNode { node } => format!("/cluster/add-node/{node}"),
        ClusterCommand::RemoveNode { id } => format!("/cluster/remove-node/{id}"),
        ClusterCommand::AddQueues {
            topic,
            group,
            count,
        } => format!("/cluster/add-queues/{topic}/{group}/{count}"),
        ClusterCommand::Drain { topic, group, undo } => {
            let verb = if undo { "undrain" } else { "drain" };
            format!("/cluster/{verb}/{topic}/{group}")
        }
    };
    let answer = post(a, &path)?;
    let mut r = Report::new(&["request", "result"]);
    r.row(vec![Value::from(path), Value::from(answer)]);
    Ok(r)
}

/// POSTs to `path` on `--http`; the body of a 200, else the refusal.
fn post(a: &Admin, path: &str) -> Result<String, AdminError> {
    let down = |reason: String| AdminError::Unreachable {
        addr: a.http.clone(),
        reason,
    };
    let addr = a
        .http
        .to_socket_addrs()
        .map_err(|e| down(e.to_string()))?
        .next()
        .ok_or_else(|| down("no address".into()))?;
    // A membership change waits for a learner to catch up: at least 35 s.
    let wait = a.timeout.max(std::time::Duration::from_secs(35));
    let mut s = TcpStream::connect_timeout(&addr, a.timeout).map_err(|e| down(e.to_string()))?;
    s.set_read_timeout(Some(wait))
        .map_err(|e| down(e.to_string()))?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        a.http
    )
    .map_err(|e| down(e.to_string()))?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)
        .map_err(|e| down(e.to_string()))?;
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .ok_or_else(|| AdminError::Protocol(format!("not an HTTP answer: {reply:?}")))?;
    let code: i32 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| AdminError::Protocol(format!("bad status line: {head:?}")))?;
    let body = body.trim().to_string();
    if code == 200 {
        Ok(body)
    } else {
        Err(AdminError::Refused { code, remark: body })
    }
}

fn status(a: &Admin) -> Result<Report, AdminError> {
    let info = body_json(&a.namesrv()?.call_ok(106, &[], Vec::new())?)?;
    let mut r = Report::new(&[
        "cluster",
        "broker",
        "id",
        "address",
        "version",
        "commitlog_min",
        "commitlog_max",
        "state",
    ]);
    let clusters = info["clusterAddrTable"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (cluster, names) in clusters {
        for name in names
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let addrs = info["brokerAddrTable"][name]["brokerAddrs"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (id, addr) in addrs {
                let addr = addr.as_str().unwrap_or_default();
                let runtime = Client::connect(addr, a.timeout)
                    .and_then(|mut c| c.call_ok(28, &[], Vec::new()))
                    .and_then(|resp| body_json(&resp));
                let (version, min, max, state) = match runtime {
                    Ok(v) => {
                        let t = &v["table"];
                        (
                            t["brokerVersionDesc"].clone(),
                            t["commitLogMinOffset"].clone(),
                            t["commitLogMaxOffset"].clone(),
                            Value::from("up"),
                        )
                    }
                    Err(e) => (
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        Value::from(e.to_string()),
                    ),
                };
                r.row(vec![
                    Value::from(cluster.as_str()),
                    Value::from(name),
                    Value::from(id),
                    Value::from(addr),
                    version,
                    min,
                    max,
                    state,
                ]);
            }
        }
    }
    Ok(r)
}
