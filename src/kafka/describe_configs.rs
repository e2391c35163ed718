//! DescribeConfigs handler: every Kafka topic config with the value in
//! force for the topic (`topic_config.rs`: topic override, dynamic broker
//! config, static configuration, built-in default), its synonyms and
//! documentation when asked; the broker's static and dynamic configs.

use rokka_protocols::kafka::describe_configs::{
    self, ConfigEntry, ConfigResult, DescribeConfigsRequest, RESOURCE_BROKER, RESOURCE_TOPIC,
    SOURCE_DEFAULT, SOURCE_STATIC_BROKER,
};
use rokka_protocols::kafka::{error_code, Writer};

use super::request::{CloseReason, Request};
use super::topic_config::{self, BOOLEAN, INT};
use super::KafkaContext;
use crate::security::acl::op;

/// `Some(per_broker)` if `name` names this broker ("<id>") or the cluster
/// default (""); `None` for another broker.
pub fn broker_resource(ctx: &KafkaContext, name: &str) -> Option<bool> {
    if name.is_empty() {
        Some(false)
    } else {
        (name.trim() == ctx.node_id().to_string()).then_some(true)
    }
}

fn entry(name: &str, value: String, source: i8, config_type: i8) -> ConfigEntry {
    ConfigEntry {
        name: name.to_string(),
        value: Some(value),
        source,
        config_type,
        read_only: true,
        synonyms: Vec::new(),
        documentation: None,
    }
}

/// The broker's configs: its static settings (read-only) and every dynamic
/// synonym of a topic config, with the value in force.
fn broker_configs(ctx: &KafkaContext, per_broker: bool) -> Vec<ConfigEntry> {
    let c = &ctx.broker.config;
    let store = ctx.broker.store.config();
    let mut out = vec![
        entry(
            "auto.create.topics.enable",
            // The value in force: RocketMQ UPDATE_BROKER_CONFIG changes it (ADR 017).
            ctx.broker.dynamic.auto_create_topic_enable().to_string(),
            SOURCE_STATIC_BROKER,
            BOOLEAN,
        ),
        entry(
            "broker.id",
            c.broker_id.to_string(),
            SOURCE_STATIC_BROKER,
            INT,
        ),
        entry(
            "default.replication.factor",
            "1".into(),
            SOURCE_DEFAULT,
            INT,
        ),
        entry(
            "log.retention.hours",
            store.file_reserved_hours.to_string(),
            SOURCE_STATIC_BROKER,
            INT,
        ),
        entry(
            "num.partitions",
            ctx.broker.dynamic.default_topic_queue_nums().to_string(),
            SOURCE_STATIC_BROKER,
            INT,
        ),
        entry(
            "offsets.topic.replication.factor",
            "1".into(),
            SOURCE_DEFAULT,
            4,
        ),
    ];
    // A dummy topic with no overrides: its chain is the broker's.
    let none = rokka_store::topics::TopicConfig::new("", 1);
    for d in topic_config::TOPIC_CONFIGS {
        let Some(b) = d.broker_name else { continue };
        if out.iter().any(|e| e.name == b) {
            continue;
        }
        let mut e = topic_config::describe(ctx, &none)
            .into_iter()
            .find(|e| e.name == d.name)
            .unwrap_or_else(|| entry(b, String::new(), SOURCE_DEFAULT, d.config_type));
        e.name = b.to_string();
        if !per_broker {
            // The cluster-default resource shows only what is set there.
            e.synonyms
                .retain(|s| s.2 == topic_config::dynamic_source(false));
            let Some(first) = e.synonyms.first() else {
                continue;
            };
            (e.value, e.source) = (first.1.clone(), first.2);
        } else {
            (e.value, e.source) = (e.synonyms[0].1.clone(), e.synonyms[0].2);
        }
        for s in &mut e.synonyms {
            if s.0 == d.name {
                s.0 = b.to_string();
            }
        }
        out.push(e);
    }
    out
}

/// Handles DescribeConfigs v0–4.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let d = DescribeConfigsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let results: Vec<ConfigResult> = d
        .resources
        .iter()
        .map(|r| {
            let mut out = ConfigResult {
                error_code: error_code::NONE,
                error_message: None,
                resource_type: r.resource_type,
                resource_name: r.resource_name.clone(),
                configs: Vec::new(),
            };
            let denied = super::acls::config_refusal(
                ctx,
                req,
                op::DESCRIBE_CONFIGS,
                r.resource_type,
                &r.resource_name,
            );
            let mut configs = match r.resource_type {
                _ if denied.is_some() => {
                    (out.error_code, out.error_message) = denied
                        .clone()
                        .map(|(c, m)| (c, Some(m)))
                        .unwrap_or_default();
                    Vec::new()
                }
                RESOURCE_TOPIC => match ctx.broker.topic(&r.resource_name) {
                    Some(t) => topic_config::describe(ctx, &t),
                    None => {
                        out.error_code = error_code::UNKNOWN_TOPIC_OR_PARTITION;
                        out.error_message =
                            Some(format!("Topic {} does not exist", r.resource_name));
                        Vec::new()
                    }
                },
                RESOURCE_BROKER if broker_resource(ctx, &r.resource_name).is_some() => {
                    broker_configs(ctx, !r.resource_name.is_empty())
                }
                RESOURCE_BROKER => {
                    out.error_code = error_code::INVALID_REQUEST;
                    out.error_message = Some(format!("no broker {}", r.resource_name));
                    Vec::new()
                }
                _ => {
                    out.error_code = error_code::INVALID_REQUEST;
                    out.error_message = Some("unsupported resource type".into());
                    Vec::new()
                }
            };
            if let Some(keys) = &r.configuration_keys {
                configs.retain(|c| keys.contains(&c.name));
            }
            configs.sort_by(|a, b| a.name.cmp(&b.name));
            for c in &mut configs {
                if !d.include_synonyms {
                    c.synonyms.clear();
                }
                if !d.include_documentation {
                    c.documentation = None;
                }
            }
            out.configs = configs;
            out
        })
        .collect();
    let mut w = req.writer();
    describe_configs::encode_response(&mut w, req.version(), &results);
    Ok(w)
}
