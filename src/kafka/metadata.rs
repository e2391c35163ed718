//! Metadata handler (v0–12): this broker as the only broker and controller, with
//! the advertised address of the listener the client used (in cluster mode:
//! every node of every broker group, the master of a topic's group as its
//! partitions' leader, that group's members as replicas, its in-sync set as
//! ISR, its master epoch as leader epoch and the master of the answering
//! node's group as controller; ADR 015, ADR 024); topics
//! auto-created when the request allows it and `auto.create.topics.enable`
//! is on (kafka-subset.md §0.5).

use rokka_protocols::kafka::describe_cluster::{
    DescribeClusterRequest, DescribeClusterResponse, ENDPOINT_BROKERS,
};
use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::metadata::{
    MetadataBroker, MetadataPartition, MetadataRequest, MetadataResponse, MetadataTopic,
};
use rokka_protocols::kafka::Writer;
use tracing::warn;

use crate::broker::topics::partition_count;

use super::conn::ConnInfo;
use super::request::{CloseReason, Request};
use super::KafkaContext;

/// TOPIC_AUTHORIZATION_FAILED.
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;

/// Host and port clients should use to reach this broker on `conn`.
pub fn advertised(ctx: &KafkaContext, conn: &ConnInfo) -> (String, i32) {
    // The primary listener keeps `advertised.listeners`' first entry as before.
    let primary = (conn.listener.label == "kafka")
        .then_some(ctx.broker.config.kafka_advertised.as_ref())
        .flatten();
    match conn.listener.config.advertised.as_ref().or(primary) {
        Some(a) => (a.host.clone(), i32::from(a.port)),
        None => (conn.local.ip().to_string(), i32::from(conn.local.port())),
    }
}

/// True for names Kafka accepts: 1..=249 of `[a-zA-Z0-9._-]`.
pub fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A stable, non-zero topic id derived from the name (FNV-1a, two seeds).
/// Ids are reported from Metadata v10 and resolved for v12 look-ups.
pub fn topic_id(name: &str) -> [u8; 16] {
    let fnv = |seed: u64| {
        name.bytes().fold(seed, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&fnv(0xcbf2_9ce4_8422_2325).to_be_bytes());
    id[8..].copy_from_slice(&fnv(0x6c62_272e_07bb_0142).to_be_bytes());
    id[0] |= 1;
    id
}

/// Who leads every partition: in cluster mode the group's master, its
/// members and in-sync set; else this node alone.
#[derive(Debug, Clone)]
struct Leadership {
    leader: i32,
    epoch: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
}

fn id(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(-1)
}

/// The leadership of this node's group (`None`), or of `group` (a topic
/// placed on another broker group, ADR 024).
fn leadership(ctx: &KafkaContext, group: Option<&str>) -> Leadership {
    let Some(c) = &ctx.broker.cluster else {
        let me = ctx.node_id();
        return Leadership {
            leader: me,
            epoch: 0,
            replicas: vec![me],
            isr: vec![me],
        };
    };
    let view = c.view();
    let group = view.group(group.unwrap_or(c.group()));
    Leadership {
        // -1: no leader yet (clients retry on LEADER_NOT_AVAILABLE).
        leader: group.and_then(|g| g.master).map_or(-1, id),
        epoch: group.map_or(0, |g| i32::try_from(g.epoch).unwrap_or(i32::MAX)),
        replicas: group.map_or_else(Vec::new, |g| g.members.iter().map(|n| id(*n)).collect()),
        isr: group.map_or_else(Vec::new, |g| g.isr.iter().map(|n| id(*n)).collect()),
    }
}

/// The metadata of topic `name` with `count` partitions here (`lead`: this
/// node's group). A topic placed over broker groups (ADR 024) gets, per
/// range, the leadership of the range's group and its partition count.
fn topic_entry(ctx: &KafkaContext, lead: &Leadership, name: &str, count: u32) -> MetadataTopic {
    let ranges = ctx
        .broker
        .cluster
        .as_ref()
        .map(|c| c.ranges(name))
        .unwrap_or_default();
    let segments: Vec<(Leadership, u32)> = if ranges.is_empty() {
        vec![(lead.clone(), count)]
    } else {
        ranges
            .iter()
            .map(|r| (leadership(ctx, Some(&r.group)), r.count))
            .collect()
    };
    let leaders = segments
        .iter()
        .flat_map(|(l, n)| std::iter::repeat_n(l, *n as usize));
    MetadataTopic {
        error_code: error_code::NONE,
        name: Some(name.to_string()),
        topic_id: topic_id(name),
        partitions: leaders
            .enumerate()
            .map(|(p, lead)| MetadataPartition {
                error_code: if lead.leader < 0 {
                    error_code::LEADER_NOT_AVAILABLE
                } else {
                    error_code::NONE
                },
                partition_index: i32::try_from(p).unwrap_or(i32::MAX),
                leader_id: lead.leader,
                leader_epoch: lead.epoch,
                replica_nodes: lead.replicas.clone(),
                isr_nodes: lead.isr.clone(),
                offline_replicas: Vec::new(),
            })
            .collect(),
    }
}

/// The brokers of the response: every node of every broker group in
/// cluster mode (its advertised Kafka address), else this node on the
/// client's listener.
fn brokers(ctx: &KafkaContext, conn: &ConnInfo) -> Vec<MetadataBroker> {
    if let Some(c) = &ctx.broker.cluster {
        let view = c.view();
        let nodes: Vec<MetadataBroker> = view
            .state
            .nodes
            .values()
            .filter(|n| n.group.is_some())
            .filter_map(endpoint)
            .collect();
        if !nodes.is_empty() {
            return nodes;
        }
    }
    let (host, port) = advertised(ctx, conn);
    vec![MetadataBroker {
        node_id: ctx.node_id(),
        host,
        port,
    }]
}

/// A cluster node's advertised Kafka endpoint.
pub fn endpoint(n: &rokka_cluster::NodeInfo) -> Option<MetadataBroker> {
    let (host, port) = n.addrs.kafka.rsplit_once(':')?;
    Some(MetadataBroker {
        node_id: i32::try_from(n.id).ok()?,
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port: port.parse().ok()?,
    })
}

/// The controller id of the response. In cluster mode, the master of this
/// node's broker group (as a KRaft broker names any live broker, which
/// forwards to the quorum): a Kafka AdminClient's CreateTopics then lands on
/// the group of the node it asked, and never on a slave. Before the group
/// has a master, the Raft leader.
fn controller(ctx: &KafkaContext) -> i32 {
    let Some(c) = &ctx.broker.cluster else {
        return ctx.node_id();
    };
    let view = c.view();
    view.master_of(c.group())
        .map(|(m, _)| m)
        .or(view.leader)
        .map_or_else(|| ctx.node_id(), id)
}

fn error_entry(name: Option<&str>, code: i16) -> MetadataTopic {
    MetadataTopic {
        error_code: code,
        name: name.map(str::to_string),
        topic_id: [0; 16],
        partitions: Vec::new(),
    }
}

/// Handles Metadata v0–12.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let m =
        MetadataRequest::decode(&mut req.reader(), req.version()).map_err(|e| req.bad_body(e))?;
    let lead = leadership(ctx, None);
    // Topics placed wholly on other broker groups (ADR 024).
    let remote: Vec<rokka_store::topics::TopicConfig> = ctx
        .broker
        .cluster
        .as_ref()
        .map(|c| c.remote_topics())
        .unwrap_or_default()
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    let remote_entry = |name: &str| {
        remote
            .iter()
            .find(|t| t.topic_name == name)
            .map(|t| topic_entry(ctx, &lead, name, partition_count(t)))
    };
    let topics = match m.topics {
        None => {
            let mut all: Vec<rokka_store::topics::TopicConfig> = ctx
                .broker
                .store
                .topics()
                .list()
                .into_iter()
                .chain(remote.iter().cloned())
                .collect();
            all.sort_by(|a, b| a.topic_name.cmp(&b.topic_name));
            all.dedup_by(|a, b| a.topic_name == b.topic_name);
            all.iter()
                .filter(|t| valid_topic_name(&t.topic_name))
                // Topics the principal may not describe are left out (ADR 016).
                .filter(|t| super::acls::may_describe_topic(ctx, req, &t.topic_name))
                .map(|t| topic_entry(ctx, &lead, &t.topic_name, partition_count(t)))
                .collect()
        }
        Some(asked) => asked
            .iter()
            .map(|t| {
                let Some(name) = t.name.as_deref() else {
                    // v12 look-up by id.
                    return ctx
                        .broker
                        .store
                        .topics()
                        .list()
                        .into_iter()
                        .find(|c| topic_id(&c.topic_name) == t.topic_id)
                        .map(|c| topic_entry(ctx, &lead, &c.topic_name, partition_count(&c)))
                        .or_else(|| {
                            remote
                                .iter()
                                .find(|c| topic_id(&c.topic_name) == t.topic_id)
                                .and_then(|c| remote_entry(&c.topic_name))
                        })
                        .unwrap_or_else(|| error_entry(None, error_code::UNKNOWN_TOPIC_ID));
                };
                if !valid_topic_name(name) {
                    return error_entry(Some(name), error_code::INVALID_TOPIC_EXCEPTION);
                }
                if !super::acls::allowed(
                    ctx,
                    req,
                    crate::security::acl::op::DESCRIBE,
                    crate::security::acl::resource::TOPIC,
                    name,
                ) {
                    return error_entry(Some(name), TOPIC_AUTHORIZATION_FAILED);
                }
                if let Some(entry) = remote_entry(name) {
                    return entry;
                }
                // Names starting with `__` are Kafka's reserved prefix:
                // never auto-created as ordinary topics.
                let found = if m.allow_auto_topic_creation && !name.starts_with("__") {
                    ctx.broker.topic_or_auto_create(name, None)
                } else {
                    Ok(ctx.broker.topic(name))
                };
                match found {
                    Ok(Some(c)) => topic_entry(ctx, &lead, name, partition_count(&c)),
                    // Proposed to the cluster's master: retriable, as Kafka
                    // answers while an auto-created topic gets its leader.
                    Ok(None) if m.allow_auto_topic_creation && ctx.broker.creating_elsewhere() => {
                        error_entry(Some(name), error_code::LEADER_NOT_AVAILABLE)
                    }
                    Ok(None) => error_entry(Some(name), error_code::UNKNOWN_TOPIC_OR_PARTITION),
                    Err(e) => {
                        warn!(topic = %name, error = %e, "topic auto-creation failed");
                        error_entry(Some(name), super::errors::store_error_code(&e))
                    }
                }
            })
            .collect(),
    };
    let resp = MetadataResponse {
        brokers: brokers(ctx, req.conn),
        cluster_id: ctx.cluster_id(),
        controller_id: controller(ctx),
        topics,
    };
    let mut w = req.writer();
    resp.encode(&mut w, req.version());
    Ok(w)
}

/// Handles DescribeCluster v0–1: the same single broker as Metadata.
pub fn describe_cluster(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let d = DescribeClusterRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let resp = DescribeClusterResponse {
        error_code: if d.endpoint_type == ENDPOINT_BROKERS {
            error_code::NONE
        } else {
            // No separate controller endpoints (KRaft-only request).
            error_code::UNSUPPORTED_ENDPOINT_TYPE
        },
        endpoint_type: d.endpoint_type,
        cluster_id: ctx.cluster_id(),
        controller_id: controller(ctx),
        brokers: brokers(ctx, req.conn)
            .into_iter()
            .map(|b| (b.node_id, b.host, b.port))
            .collect(),
    };
    let mut w = req.writer();
    resp.encode(&mut w, req.version());
    Ok(w)
}
