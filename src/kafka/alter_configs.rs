//! AlterConfigs (v0–2) and IncrementalAlterConfigs (v0–1) handlers for
//! topics (overrides in the topic's store attributes, `topics.json`) and
//! for the broker (dynamic synonyms of topic configs, `broker_config.rs`).
//! Every change is checked against `topic_config.rs` first; a resource
//! with one bad config changes nothing.

use std::collections::BTreeMap;

use rokka_protocols::kafka::alter_configs::{
    self, AlterConfigsRequest, AlterConfigsResource, AlterConfigsResult, AlterableConfig,
    OP_APPEND, OP_DELETE, OP_SET, OP_SUBTRACT,
};
use rokka_protocols::kafka::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use rokka_protocols::kafka::incremental_alter_configs::IncrementalAlterConfigsRequest;
use rokka_protocols::kafka::{error_code, Writer};
use tracing::info;

use super::describe_configs::broker_resource;
use super::errors::store_error_code;
use super::request::{CloseReason, Request};
use super::topic_config::{self, LIST};
use super::KafkaContext;
use crate::security::acl::op;

/// Handles AlterConfigs v0–2: each resource's overrides become exactly the
/// configs given.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let a = AlterConfigsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    respond(ctx, req, &a, false)
}

/// Handles IncrementalAlterConfigs v0–1: set, delete, append, subtract.
pub fn handle_incremental(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let a = IncrementalAlterConfigsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    respond(ctx, req, &a.0, true)
}

fn respond(
    ctx: &KafkaContext,
    req: &Request<'_>,
    a: &AlterConfigsRequest,
    incremental: bool,
) -> Result<Writer, CloseReason> {
    let results: Vec<AlterConfigsResult> = a
        .resources
        .iter()
        .map(|r| {
            let denied = super::acls::config_refusal(
                ctx,
                req,
                op::ALTER_CONFIGS,
                r.resource_type,
                &r.resource_name,
            );
            let outcome = match r.resource_type {
                _ if denied.is_some() => Err(denied.unwrap_or_default()),
                RESOURCE_TOPIC => alter_topic(ctx, r, incremental, a.validate_only),
                RESOURCE_BROKER => alter_broker(ctx, r, incremental, a.validate_only),
                t => Err((
                    error_code::INVALID_REQUEST,
                    format!("resource type {t} cannot be altered on rokka"),
                )),
            };
            let (error_code, error_message) = match outcome {
                Ok(()) => (error_code::NONE, None),
                Err((c, m)) => (c, Some(m)),
            };
            AlterConfigsResult {
                error_code,
                error_message,
                resource_type: r.resource_type,
                resource_name: r.resource_name.clone(),
            }
        })
        .collect();
    let mut w = req.writer();
    alter_configs::encode_response(&mut w, req.version(), &results);
    Ok(w)
}

type Refusal = (i16, String);

fn invalid(msg: String) -> Refusal {
    (error_code::INVALID_CONFIG, msg)
}

/// Applies `changes` to `current` (the overrides of one resource).
/// `is_list(name)` says whether APPEND/SUBTRACT apply; `check` validates a
/// resulting value.
fn apply(
    current: &BTreeMap<String, String>,
    changes: &[AlterableConfig],
    incremental: bool,
    is_list: impl Fn(&str) -> bool,
    check: impl Fn(&str, &str) -> Result<(), String>,
) -> Result<BTreeMap<String, String>, Refusal> {
    let mut next = if incremental {
        current.clone()
    } else {
        BTreeMap::new()
    };
    for c in changes {
        let value = c.value.clone().unwrap_or_default();
        match c.op {
            OP_SET => {
                if c.value.is_none() {
                    return Err(invalid(format!("Null value not supported for: {}", c.name)));
                }
                next.insert(c.name.clone(), value);
            }
            OP_DELETE => {
                next.remove(&c.name);
            }
            OP_APPEND | OP_SUBTRACT if is_list(&c.name) => {
                let mut items: Vec<String> = next
                    .get(&c.name)
                    .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
                    .unwrap_or_default();
                items.retain(|s| !s.is_empty());
                for v in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if c.op == OP_APPEND && !items.iter().any(|x| x == v) {
                        items.push(v.to_string());
                    } else if c.op == OP_SUBTRACT {
                        items.retain(|x| x != v);
                    }
                }
                next.insert(c.name.clone(), items.join(","));
            }
            OP_APPEND | OP_SUBTRACT => {
                return Err(invalid(format!(
                    "Config value append/subtract is not allowed for config key: {}",
                    c.name
                )))
            }
            op => {
                return Err((
                    error_code::INVALID_REQUEST,
                    format!("unknown config operation {op}"),
                ))
            }
        }
        if let Some(v) = next.get(&c.name) {
            // A list emptied by SUBTRACT is left for the check to judge.
            check(&c.name, v).map_err(invalid)?;
        }
    }
    Ok(next)
}

fn alter_topic(
    ctx: &KafkaContext,
    r: &AlterConfigsResource,
    incremental: bool,
    validate_only: bool,
) -> Result<(), Refusal> {
    let Some(mut cfg) = ctx.broker.topic(&r.resource_name) else {
        return Err((
            error_code::UNKNOWN_TOPIC_OR_PARTITION,
            format!("Topic {} does not exist", r.resource_name),
        ));
    };
    // Only Kafka topic configs are ours to replace; other attributes stay.
    let current: BTreeMap<String, String> = cfg
        .attributes
        .iter()
        .filter(|(k, _)| topic_config::find(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let is_list = |n: &str| topic_config::find(n).is_some_and(|d| d.config_type == LIST);
    let next = apply(
        &current,
        &r.configs,
        incremental,
        is_list,
        topic_config::validate,
    )?;
    if validate_only {
        return Ok(());
    }
    cfg.attributes
        .retain(|k, _| topic_config::find(k).is_none());
    cfg.attributes.extend(next);
    ctx.broker
        .store
        .topics()
        .put(cfg)
        .map_err(|e| (store_error_code(&e), e.to_string()))?;
    info!(topic = %r.resource_name, changes = r.configs.len(), "altered topic configs");
    Ok(())
}

fn alter_broker(
    ctx: &KafkaContext,
    r: &AlterConfigsResource,
    incremental: bool,
    validate_only: bool,
) -> Result<(), Refusal> {
    let Some(per_broker) = broker_resource(ctx, &r.resource_name) else {
        return Err((
            error_code::INVALID_REQUEST,
            format!("rokka is broker {}, not {}", ctx.node_id(), r.resource_name),
        ));
    };
    let current = ctx.broker_configs.all(per_broker);
    let is_list = |n: &str| topic_config::by_broker_name(n).is_some_and(|d| d.config_type == LIST);
    let next = apply(
        &current,
        &r.configs,
        incremental,
        is_list,
        topic_config::validate_broker,
    )?;
    if validate_only {
        return Ok(());
    }
    ctx.broker_configs
        .replace(per_broker, next)
        .map_err(|e| (error_code::KAFKA_STORAGE_ERROR, e.to_string()))?;
    info!(broker = %r.resource_name, changes = r.configs.len(), "altered dynamic broker configs");
    Ok(())
}
