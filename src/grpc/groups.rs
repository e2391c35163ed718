//! Cluster mode (ADR 024) for the gRPC front-end: which broker groups hold
//! a topic's queues, where each group's master serves gRPC, and whether this
//! node may store a send.
//!
//! A route names, per group holding a range of the topic, a `Broker` with
//! the group's name, id 0 and the endpoints of the group's *master* (the
//! gRPC address it registered in the cluster state), so an SDK sends to and
//! receives from the node that takes the group's writes, whichever node it
//! asked. The queues are the group's local ids with the permission of the
//! remoting route's QueueData (read-only when the range is drained). Single
//! node mode keeps the endpoints the client used (`route.rs`).

use rokka_protocols::remoting::body::QueueData;

use super::pb::{self, Code};
use super::service::Service;
use super::Failure;
use crate::remoting::namesrv::{local_queue_data, ranged_queue_datas};

/// One group's share of a topic: its QueueData (broker name = group) and
/// the `Broker` SDKs address it by.
#[derive(Debug)]
pub(crate) struct GroupQueues {
    pub(crate) queues: QueueData,
    pub(crate) broker: pb::Broker,
}

/// The groups holding `topic` in cluster mode, `None` on a single node.
/// A topic placed by range lists every range's group; one held by every
/// group (not placed) lists this node's group. `Ok(None)` also when the
/// topic is not placed and missing here: the caller resolves (and perhaps
/// auto-creates) it as on a single node, then calls [`local`].
pub(crate) fn placed(svc: &Service, topic: &str) -> Result<Option<Vec<GroupQueues>>, Failure> {
    let Some(c) = &svc.ctx.broker.cluster else {
        return Ok(None);
    };
    match ranged_queue_datas(&svc.ctx, topic) {
        Some(qs) => with_masters(svc, qs).map(Some),
        // Placed before its home master pushed the config: not one to
        // auto-create here.
        None if svc.ctx.broker.topic(topic).is_none() && !c.ranges(topic).is_empty() => {
            Err(Failure::new(
                Code::TopicNotFound,
                format!(
                    "topic {topic} is being created on its broker group; query the route again"
                ),
            ))
        }
        None => Ok(None),
    }
}

/// This group's queues of a topic held by every group (or not placed yet),
/// at its master's endpoints; `None` on a single node.
pub(crate) fn local(svc: &Service, topic: &str) -> Result<Option<Vec<GroupQueues>>, Failure> {
    if svc.ctx.broker.cluster.is_none() {
        return Ok(None);
    }
    let q = local_queue_data(&svc.ctx, topic).ok_or_else(|| {
        Failure::new(Code::TopicNotFound, format!("topic {topic} does not exist"))
    })?;
    with_masters(svc, vec![q]).map(Some)
}

/// Pairs each group's QueueData with its master's `Broker`. A group with
/// no master elected is left out (nothing can be sent there, and a slave
/// keeps no POP state); none at all is HA_NOT_AVAILABLE, so SDKs keep the
/// route they have and ask again.
fn with_masters(svc: &Service, queues: Vec<QueueData>) -> Result<Vec<GroupQueues>, Failure> {
    let Some(c) = &svc.ctx.broker.cluster else {
        return Ok(Vec::new());
    };
    let view = c.view();
    let mut leaderless = Vec::new();
    let mut out = Vec::with_capacity(queues.len());
    for q in queues {
        let master = view
            .master_of(&q.broker_name)
            .and_then(|(id, _)| view.state.nodes.get(&id));
        let Some(node) = master else {
            leaderless.push(q.broker_name);
            continue;
        };
        let addr = if node.addrs.grpc.is_empty() {
            // Registered by a node from before the gRPC address was
            // advertised: its remoting host with this node's gRPC port, as
            // upstream's proxy in local mode derives a broker's endpoint.
            host_of(&node.addrs.remoting).map(|h| join(h, svc.endpoint.port()))
        } else {
            Some(node.addrs.grpc.clone())
        };
        let Some(endpoints) = addr.as_deref().and_then(endpoints) else {
            leaderless.push(q.broker_name);
            continue;
        };
        out.push(GroupQueues {
            broker: pb::Broker {
                name: q.broker_name.clone(),
                id: 0,
                endpoints: Some(endpoints),
            },
            queues: q,
        });
    }
    if out.is_empty() {
        return Err(Failure::new(
            Code::HaNotAvailable,
            format!(
                "no master with a gRPC address in broker group(s) {} yet; query the route again",
                leaderless.join(", ")
            ),
        ));
    }
    Ok(out)
}

fn host_of(addr: &str) -> Option<&str> {
    let (host, _) = addr.rsplit_once(':')?;
    Some(host.trim_start_matches('[').trim_end_matches(']'))
}

fn join(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `host:port` (an IP address or a domain name) as gRPC endpoints.
pub(crate) fn endpoints(addr: &str) -> Option<pb::Endpoints> {
    let (scheme, host, port) = match addr.parse::<std::net::SocketAddr>() {
        Ok(a) => (
            if a.is_ipv4() {
                pb::AddressScheme::IPv4
            } else {
                pb::AddressScheme::IPv6
            },
            a.ip().to_string(),
            a.port(),
        ),
        Err(_) => {
            let (host, port) = addr.rsplit_once(':')?;
            let port = port.parse::<u16>().ok()?;
            (pb::AddressScheme::DomainName, host.to_owned(), port)
        }
    };
    (!host.is_empty()).then(|| pb::Endpoints {
        scheme: scheme as i32,
        addresses: vec![pb::Address {
            host,
            port: i32::from(port),
        }],
    })
}

/// In cluster mode, refuses a send this node cannot store: the topic has no
/// queues on its group (placed elsewhere), or the node is not the group's
/// writable master (a slave, a fenced master, no master yet). FORBIDDEN, as
/// for a broker without write permission, with where to go instead; the
/// SDKs retry a refused send on another broker's queue (a drained range is
/// refused by the put path, also FORBIDDEN).
pub(crate) fn check_send(svc: &Service, topic: &str) -> Result<(), Failure> {
    let Some(c) = &svc.ctx.broker.cluster else {
        return Ok(());
    };
    let local = svc.ctx.broker.partitions(topic);
    let layout = c.layout(topic, local);
    if layout.is_some_and(|l| l.local.is_none_or(|(_, n)| n == 0)) {
        let held: Vec<String> = c.ranges(topic).into_iter().map(|r| r.group).collect();
        return Err(Failure::new(
            Code::Forbidden,
            format!(
                "topic {topic} has no queues on broker group {} (they are on {}); query the route again",
                c.group(),
                held.join(", ")
            ),
        ));
    }
    if !c.is_writable_master() {
        let master = c.master_label(|a| &a.grpc);
        return Err(Failure::new(
            Code::Forbidden,
            format!(
                "node {} is not the writable master of broker group {} (master: {master}); query the route again",
                c.node_id(),
                c.group()
            ),
        ));
    }
    Ok(())
}

/// In cluster mode, TOPIC_NOT_FOUND when this node's group holds no queue
/// of `topic` (as upstream's broker answers a POP or an ack of a topic it
/// does not have), naming the groups that hold it; `Ok` otherwise (and
/// always on a single node).
pub(crate) fn check_held(svc: &Service, topic: &str) -> Result<(), Failure> {
    let Some(c) = &svc.ctx.broker.cluster else {
        return Ok(());
    };
    if svc.ctx.broker.topic(topic).is_some() {
        return Ok(());
    }
    let held: Vec<String> = c.ranges(topic).into_iter().map(|r| r.group).collect();
    let there = if held.is_empty() {
        String::new()
    } else {
        format!(
            " (its queues are on {}; query the route again)",
            held.join(", ")
        )
    };
    Err(Failure::new(
        Code::TopicNotFound,
        format!(
            "topic {topic} has no queues on broker group {}{there}",
            c.group()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_of_addresses() {
        let e = endpoints("10.0.0.1:8081").unwrap();
        assert_eq!(e.scheme, pb::AddressScheme::IPv4 as i32);
        assert_eq!(
            (e.addresses[0].host.as_str(), e.addresses[0].port),
            ("10.0.0.1", 8081)
        );
        let e = endpoints("[::1]:8081").unwrap();
        assert_eq!(e.scheme, pb::AddressScheme::IPv6 as i32);
        assert_eq!(e.addresses[0].host, "::1");
        let e = endpoints("broker-a.example:8081").unwrap();
        assert_eq!(e.scheme, pb::AddressScheme::DomainName as i32);
        assert_eq!(e.addresses[0].host, "broker-a.example");
        assert!(endpoints("").is_none());
        assert!(endpoints("host:port").is_none());
        assert!(endpoints(":8081").is_none());
    }

    #[test]
    fn old_registrations_get_their_remoting_host() {
        assert_eq!(host_of("10.0.0.1:10911"), Some("10.0.0.1"));
        assert_eq!(host_of("[::1]:10911"), Some("::1"));
        assert_eq!(join("::1", 8081), "[::1]:8081");
        assert_eq!(join("10.0.0.1", 8081), "10.0.0.1:8081");
        assert_eq!(host_of("nohost"), None);
    }
}
