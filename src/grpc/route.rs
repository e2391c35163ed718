//! QueryRoute and QueryAssignment. On a single node every queue of a topic
//! is served by this broker at the endpoints the client used (or this
//! broker's gRPC address): the SDKs then send and receive over the
//! connection they already have. In cluster mode each broker group holding
//! the topic is named with its master's gRPC address (`groups.rs`).
//! An assignment is one pseudo-queue (id -1) per broker, as upstream's
//! proxy does for POP consumption: ReceiveMessage pops from every queue.

use rokka_store::topics::TopicConfig;

use super::groups::{self, GroupQueues};
use super::pb::{self, Code};
use super::service::Service;
use super::{name, ok, Failure};

/// The topic, auto-created like a remoting send would (autoCreateTopicEnable).
pub(crate) fn topic(svc: &Service, name: &str) -> Result<TopicConfig, Failure> {
    crate::remoting::send::validate_topic(name)
        .map_err(|e| Failure::new(Code::IllegalTopic, e.remark))?;
    if let Some(t) = svc.ctx.broker.topic(name) {
        return Ok(t);
    }
    svc.ctx
        .broker
        .topic_or_auto_create(name, None)
        .map_err(|e| Failure::new(Code::InternalServerError, e.to_string()))?
        .ok_or_else(|| Failure::new(Code::TopicNotFound, format!("topic {name} does not exist")))
}

fn endpoints(svc: &Service, asked: Option<&pb::Endpoints>) -> pb::Endpoints {
    if let Some(e) = asked.filter(|e| !e.addresses.is_empty()) {
        return e.clone();
    }
    let ip = svc.endpoint.ip();
    pb::Endpoints {
        scheme: if ip.is_ipv4() {
            pb::AddressScheme::IPv4
        } else {
            pb::AddressScheme::IPv6
        } as i32,
        addresses: vec![pb::Address {
            host: ip.to_string(),
            port: i32::from(svc.endpoint.port()),
        }],
    }
}

fn queue(topic: &str, id: i32, perm: pb::Permission, broker: &pb::Broker) -> pb::MessageQueue {
    pb::MessageQueue {
        topic: Some(pb::Resource {
            resource_namespace: String::new(),
            name: topic.to_owned(),
        }),
        id,
        permission: perm as i32,
        broker: Some(broker.clone()),
        accept_message_types: vec![
            pb::MessageType::Normal as i32,
            pb::MessageType::Fifo as i32,
            pb::MessageType::Delay as i32,
            pb::MessageType::Transaction as i32,
        ],
    }
}

/// This broker at `ep` (single-node mode).
fn this_broker(svc: &Service, ep: pb::Endpoints) -> pb::Broker {
    pb::Broker {
        name: svc.ctx.broker.config.broker_name.clone(),
        id: 0,
        endpoints: Some(ep),
    }
}

fn permission(read: bool, write: bool) -> pb::Permission {
    match (read, write) {
        (true, true) => pb::Permission::ReadWrite,
        (true, false) => pb::Permission::Read,
        (false, true) => pb::Permission::Write,
        (false, false) => pb::Permission::None,
    }
}

/// The queues of one broker: ids below `max(read, write)`, each readable
/// below the read count and writable below the write count (as the perm
/// allows).
fn queues_of(
    topic: &str,
    (read, write): (u32, u32),
    perm: u32,
    broker: &pb::Broker,
) -> Vec<pb::MessageQueue> {
    let (can_read, can_write) = (perm & 4 != 0, perm & 2 != 0);
    (0..read.max(write))
        .map(|i| {
            let p = permission(can_read && i < read, can_write && i < write);
            queue(topic, i as i32, p, broker)
        })
        .collect()
}

/// In cluster mode the groups holding `topic` (auto-created here first
/// when it is held by every group and missing); `None` on a single node.
fn cluster_groups(svc: &Service, topic: &str) -> Result<Option<Vec<GroupQueues>>, Failure> {
    if let Some(placed) = groups::placed(svc, topic)? {
        return Ok(Some(placed));
    }
    if svc.ctx.broker.cluster.is_none() {
        return Ok(None);
    }
    self::topic(svc, topic)?;
    groups::local(svc, topic)
}

/// QueryRoute.
pub(crate) fn query_route(svc: &Service, req: &pb::QueryRouteRequest) -> pb::QueryRouteResponse {
    let routed: Result<Vec<_>, Failure> = (|| {
        let name = name(req.topic.as_ref())?;
        crate::remoting::send::validate_topic(name)
            .map_err(|e| Failure::new(Code::IllegalTopic, e.remark))?;
        if let Some(gs) = cluster_groups(svc, name)? {
            return Ok(gs
                .iter()
                .flat_map(|g| {
                    let q = &g.queues;
                    let counts = (q.read_queue_nums, q.write_queue_nums);
                    queues_of(name, counts, q.perm, &g.broker)
                })
                .collect());
        }
        let t = topic(svc, name)?;
        let broker = this_broker(svc, endpoints(svc, req.endpoints.as_ref()));
        let counts = (t.read_queue_nums, t.write_queue_nums);
        Ok(queues_of(&t.topic_name, counts, t.perm, &broker))
    })();
    match routed {
        Ok(message_queues) => pb::QueryRouteResponse {
            status: ok(),
            message_queues,
        },
        Err(f) => pb::QueryRouteResponse {
            status: f.status(),
            message_queues: Vec::new(),
        },
    }
}

/// QueryAssignment.
pub(crate) fn query_assignment(
    svc: &Service,
    req: &pb::QueryAssignmentRequest,
) -> pb::QueryAssignmentResponse {
    let assigned: Result<Vec<_>, Failure> = (|| {
        name(req.group.as_ref())?;
        let name = name(req.topic.as_ref())?;
        crate::remoting::send::validate_topic(name)
            .map_err(|e| Failure::new(Code::IllegalTopic, e.remark))?;
        if let Some(gs) = cluster_groups(svc, name)? {
            // As upstream's proxy: a pseudo-queue per readable group.
            let out: Vec<_> = gs
                .iter()
                .filter(|g| g.queues.perm & 4 != 0 && g.queues.read_queue_nums > 0)
                .map(|g| {
                    let p = permission(true, g.queues.perm & 2 != 0);
                    pb::Assignment {
                        message_queue: Some(queue(name, -1, p, &g.broker)),
                    }
                })
                .collect();
            if out.is_empty() {
                return Err(Failure::new(Code::Forbidden, "no readable queue"));
            }
            return Ok(out);
        }
        let t = topic(svc, name)?;
        let broker = this_broker(svc, endpoints(svc, req.endpoints.as_ref()));
        Ok(vec![pb::Assignment {
            message_queue: Some(queue(&t.topic_name, -1, pb::Permission::ReadWrite, &broker)),
        }])
    })();
    match assigned {
        Ok(assignments) => pb::QueryAssignmentResponse {
            status: ok(),
            assignments,
        },
        Err(f) => pb::QueryAssignmentResponse {
            status: f.status(),
            assignments: Vec::new(),
        },
    }
}
