//! QueryRoute and QueryAssignment. Every queue of a topic is served by this
//! broker at the endpoints the client used (or this broker's gRPC address):
//! the SDKs then send and receive over the connection they already have.
//! An assignment is one pseudo-queue (id -1) per broker, as upstream's
//! proxy does for POP consumption: ReceiveMessage pops from every queue.

use rokka_store::topics::TopicConfig;

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

fn queue(
    svc: &Service,
    topic: &str,
    id: i32,
    perm: pb::Permission,
    ep: &pb::Endpoints,
) -> pb::MessageQueue {
    pb::MessageQueue {
        topic: Some(pb::Resource {
            resource_namespace: String::new(),
            name: topic.to_owned(),
        }),
        id,
        permission: perm as i32,
        broker: Some(pb::Broker {
            name: svc.ctx.broker.config.broker_name.clone(),
            id: 0,
            endpoints: Some(ep.clone()),
        }),
        accept_message_types: vec![
            pb::MessageType::Normal as i32,
            pb::MessageType::Fifo as i32,
            pb::MessageType::Delay as i32,
            pb::MessageType::Transaction as i32,
        ],
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

/// QueryRoute.
pub(crate) fn query_route(svc: &Service, req: &pb::QueryRouteRequest) -> pb::QueryRouteResponse {
    let routed: Result<Vec<_>, Failure> = (|| {
        let t = topic(svc, name(req.topic.as_ref())?)?;
        let ep = endpoints(svc, req.endpoints.as_ref());
        let (r, w) = (t.read_queue_nums, t.write_queue_nums);
        let (can_read, can_write) = (t.perm & 4 != 0, t.perm & 2 != 0);
        Ok((0..r.max(w))
            .map(|i| {
                let p = permission(can_read && i < r, can_write && i < w);
                queue(svc, &t.topic_name, i as i32, p, &ep)
            })
            .collect())
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
        let t = topic(svc, name(req.topic.as_ref())?)?;
        let ep = endpoints(svc, req.endpoints.as_ref());
        Ok(vec![pb::Assignment {
            message_queue: Some(queue(
                svc,
                &t.topic_name,
                -1,
                pb::Permission::ReadWrite,
                &ep,
            )),
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
