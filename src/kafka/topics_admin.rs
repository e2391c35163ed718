//! CreateTopics, CreatePartitions and DeleteTopics handlers: topics of the shared store (queue
//! count = partition count). The replication factor is that of the broker
//! group the topic lands on (1 on a single node, the group's member count in
//! cluster mode): a request may ask for it or for less, never for more.
//! Deleting removes the topic's config; its stored data ages out with
//! retention.

use rokka_protocols::kafka::create_partitions::{self, CreatePartitionsRequest};
use rokka_protocols::kafka::create_topics::{
    self, CreateTopicResult, CreateTopicsRequest, CreatedTopicConfig,
};
use rokka_protocols::kafka::delete_topics::{self, DeleteTopicsRequest};
use rokka_protocols::kafka::offsets_topic::is_internal_topic;
use rokka_protocols::kafka::{error_code, Writer};
use rokka_store::topics::TopicConfig;
use tracing::{info, warn};

use crate::broker::topics::partition_count;
use crate::security::acl::op;

use super::errors::store_error_code;
use super::metadata::{topic_id, valid_topic_name};
use super::request::{CloseReason, Request};
use super::topic_config;
use super::KafkaContext;

/// Largest partition count accepted for one topic.
const MAX_PARTITIONS: i32 = 1024;

/// The replication factor of a topic created here: the number of members of
/// this node's broker group in cluster mode, else 1.
fn group_replicas(ctx: &KafkaContext) -> i16 {
    ctx.broker.cluster.as_ref().map_or(1, |c| {
        let n = c.members(&c.view()).len().max(1);
        i16::try_from(n).unwrap_or(i16::MAX)
    })
}

/// In cluster mode only a writable master changes the topic table (its
/// changes go through Raft, ADR 015): elsewhere topic admin requests answer
/// NOT_CONTROLLER, and clients ask Metadata for the controller again (this
/// node's group master, `metadata::controller`).
fn not_controller(ctx: &KafkaContext) -> bool {
    ctx.broker
        .cluster
        .as_ref()
        .is_some_and(|c| !c.is_writable_master())
}

/// Handles CreateTopics v0–7.
pub fn create(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let c = CreateTopicsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let default = i32::try_from(ctx.broker.config.default_topic_queue_nums).unwrap_or(8);
    let replicas = group_replicas(ctx);
    let too_many = format!("the broker group has {replicas} replica(s)");
    let results: Vec<CreateTopicResult> = c
        .topics
        .iter()
        .map(|t| {
            let partitions = if t.num_partitions == -1 {
                default
            } else {
                t.num_partitions
            };
            let (code, msg) = if !super::acls::may_create_topic(ctx, req, &t.name) {
                (
                    error_code::TOPIC_AUTHORIZATION_FAILED,
                    "Authorization failed.",
                )
            } else if not_controller(ctx) {
                (
                    error_code::NOT_CONTROLLER,
                    "this node is not its broker group's master",
                )
            } else if !valid_topic_name(&t.name) {
                (error_code::INVALID_TOPIC_EXCEPTION, "invalid topic name")
            } else if !(1..=MAX_PARTITIONS).contains(&partitions) {
                (
                    error_code::INVALID_PARTITIONS,
                    "partition count out of range",
                )
            } else if t.replication_factor != -1 && !(1..=replicas).contains(&t.replication_factor)
            {
                (error_code::INVALID_REPLICATION_FACTOR, too_many.as_str())
            } else if t.assignments > 0 {
                (
                    error_code::INVALID_REPLICA_ASSIGNMENT,
                    "manual assignment is not supported",
                )
            } else if ctx.broker.topic(&t.name).is_some() {
                (error_code::TOPIC_ALREADY_EXISTS, "topic already exists")
            } else {
                (error_code::NONE, "")
            };
            let mut code = code;
            let mut msg = msg.to_string();
            if code == error_code::NONE {
                if let Some(e) = bad_config(&t.configs) {
                    (code, msg) = (error_code::INVALID_CONFIG, e);
                }
            }
            let mut cfg = TopicConfig::new(&t.name, partitions.max(1) as u32);
            for (k, v) in &t.configs {
                if let Some(v) = v {
                    cfg.attributes.insert(k.clone(), v.trim().to_string());
                }
            }
            let ok = code == error_code::NONE;
            let configs = if ok {
                created_configs(ctx, &cfg)
            } else {
                Vec::new()
            };
            if ok && !c.validate_only {
                match ctx.broker.store.topics().put(cfg) {
                    Ok(()) => info!(topic = %t.name, partitions, "created topic"),
                    Err(e) => code = store_error_code(&e),
                }
            }
            CreateTopicResult {
                name: t.name.clone(),
                topic_id: if code == error_code::NONE {
                    topic_id(&t.name)
                } else {
                    [0; 16]
                },
                error_code: code,
                error_message: (code != error_code::NONE && !msg.is_empty()).then_some(msg),
                num_partitions: if code == error_code::NONE {
                    partitions
                } else {
                    -1
                },
                replication_factor: if code == error_code::NONE {
                    replicas
                } else {
                    -1
                },
                configs: if code == error_code::NONE {
                    configs
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let mut w = req.writer();
    create_topics::encode_response(&mut w, req.version(), &results);
    Ok(w)
}

/// The first refused config of a CreateTopics request, in Kafka's words.
fn bad_config(configs: &[(String, Option<String>)]) -> Option<String> {
    configs.iter().find_map(|(k, v)| match v {
        None => Some(format!("Null value not supported for topic config: {k}")),
        Some(v) => topic_config::validate(k, v.trim()).err(),
    })
}

/// The effective configs of a topic about to be created, as CreateTopics
/// v5+ returns them (the Java AdminClient reads them on success).
fn created_configs(ctx: &KafkaContext, cfg: &TopicConfig) -> Vec<CreatedTopicConfig> {
    topic_config::describe(ctx, cfg)
        .into_iter()
        .map(|e| CreatedTopicConfig {
            name: e.name,
            value: e.value,
            read_only: e.read_only,
            config_source: e.source,
            is_sensitive: false,
        })
        .collect()
}

/// Handles DeleteTopics v0–5.
pub fn delete(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let d = DeleteTopicsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let results: Vec<(String, i16)> = d
        .topic_names
        .into_iter()
        .map(|name| {
            if let Some(code) = super::acls::topic_refusal(ctx, req, op::DELETE, &name) {
                return (name, code);
            }
            if is_internal_topic(&name) {
                warn!(topic = %name, "refusing to delete an internal topic");
                return (name, error_code::INVALID_TOPIC_EXCEPTION);
            }
            if not_controller(ctx) {
                return (name, error_code::NOT_CONTROLLER);
            }
            let code = match ctx.broker.store.topics().remove(&name) {
                Ok(true) => {
                    info!(topic = %name, "deleted topic");
                    error_code::NONE
                }
                Ok(false) => error_code::UNKNOWN_TOPIC_OR_PARTITION,
                Err(e) => store_error_code(&e),
            };
            (name, code)
        })
        .collect();
    let mut w = req.writer();
    delete_topics::encode_response(&mut w, req.version(), &results);
    Ok(w)
}

/// Handles CreatePartitions v0–3: raises a topic's queue count.
pub fn create_partitions(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let c = CreatePartitionsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let results: Vec<(String, i16, Option<String>)> = c
        .topics
        .into_iter()
        .map(|t| {
            if not_controller(ctx) {
                return (t.name, error_code::NOT_CONTROLLER, None);
            }
            let Some(mut cfg) = ctx.broker.topic(&t.name) else {
                return (t.name, error_code::UNKNOWN_TOPIC_OR_PARTITION, None);
            };
            let current = i32::try_from(partition_count(&cfg)).unwrap_or(i32::MAX);
            let refuse = |why: &str| Some(why.to_string());
            if t.has_assignments {
                return (
                    t.name,
                    error_code::INVALID_REPLICA_ASSIGNMENT,
                    refuse("manual assignment is not supported"),
                );
            }
            // A topic spread over broker groups (ADR 024) grows by range.
            let layout = super::replication::layout(ctx, &t.name);
            if layout != crate::cluster::Layout::whole(current as u32) {
                return (
                    t.name,
                    error_code::INVALID_PARTITIONS,
                    refuse("the topic spans several broker groups: add partitions with `rokka admin cluster add-queues`"),
                );
            }
            if t.count <= current || t.count > MAX_PARTITIONS {
                return (
                    t.name,
                    error_code::INVALID_PARTITIONS,
                    refuse("the count must grow and stay within 1024"),
                );
            }
            if c.validate_only {
                return (t.name, error_code::NONE, None);
            }
            cfg.write_queue_nums = t.count as u32;
            cfg.read_queue_nums = t.count as u32;
            match ctx.broker.store.topics().put(cfg) {
                Ok(()) => {
                    info!(topic = %t.name, partitions = t.count, "added partitions");
                    (t.name, error_code::NONE, None)
                }
                Err(e) => (t.name, store_error_code(&e), None),
            }
        })
        .collect();
    let mut w = req.writer();
    create_partitions::encode_response(&mut w, req.version(), &results);
    Ok(w)
}
