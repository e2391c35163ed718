//! DescribeConfigs handler: real values for the topic and broker configs
//! clients ask about, from the broker and store configuration; topic
//! attributes set at CreateTopics time override the broker defaults.

use rokka_protocols::kafka::describe_configs::{
    self, ConfigEntry, ConfigResult, DescribeConfigsRequest, RESOURCE_BROKER, RESOURCE_TOPIC,
    SOURCE_DEFAULT, SOURCE_STATIC_BROKER, SOURCE_TOPIC,
};
use rokka_protocols::kafka::{error_code, Writer};

use super::dispatch::{CloseReason, Request};
use super::KafkaContext;

const BOOLEAN: i8 = 1;
const STRING: i8 = 2;
const INT: i8 = 3;
const LONG: i8 = 5;

fn entry(name: &str, value: String, source: i8, config_type: i8) -> ConfigEntry {
    ConfigEntry {
        name: name.to_string(),
        value: Some(value),
        source,
        config_type,
    }
}

/// The topic configs rokka reports, with broker-derived defaults.
fn topic_defaults(ctx: &KafkaContext) -> Vec<ConfigEntry> {
    let store = &ctx.broker.store.config();
    let retention_ms = i64::from(store.file_reserved_hours) * 3_600_000;
    vec![
        entry("cleanup.policy", "delete".into(), SOURCE_DEFAULT, 7),
        entry(
            "compression.type",
            "producer".into(),
            SOURCE_DEFAULT,
            STRING,
        ),
        entry(
            "max.message.bytes",
            store.max_message_size.to_string(),
            SOURCE_STATIC_BROKER,
            INT,
        ),
        entry(
            "message.timestamp.type",
            "CreateTime".into(),
            SOURCE_DEFAULT,
            STRING,
        ),
        entry("min.insync.replicas", "1".into(), SOURCE_DEFAULT, INT),
        entry("retention.bytes", "-1".into(), SOURCE_DEFAULT, LONG),
        entry(
            "retention.ms",
            retention_ms.to_string(),
            SOURCE_STATIC_BROKER,
            LONG,
        ),
        entry(
            "segment.bytes",
            store.commit_log_segment_size.to_string(),
            SOURCE_STATIC_BROKER,
            INT,
        ),
    ]
}

fn broker_configs(ctx: &KafkaContext) -> Vec<ConfigEntry> {
    let c = &ctx.broker.config;
    let store = ctx.broker.store.config();
    vec![
        entry(
            "auto.create.topics.enable",
            c.auto_create_topic_enable.to_string(),
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
            "log.segment.bytes",
            store.commit_log_segment_size.to_string(),
            SOURCE_STATIC_BROKER,
            INT,
        ),
        entry(
            "message.max.bytes",
            store.max_message_size.to_string(),
            SOURCE_STATIC_BROKER,
            INT,
        ),
        entry(
            "num.partitions",
            c.default_topic_queue_nums.to_string(),
            SOURCE_STATIC_BROKER,
            INT,
        ),
        entry(
            "offsets.topic.replication.factor",
            "1".into(),
            SOURCE_DEFAULT,
            4,
        ),
    ]
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
            let mut configs = match r.resource_type {
                RESOURCE_TOPIC => match ctx.broker.topic(&r.resource_name) {
                    Some(t) => {
                        let mut c = topic_defaults(ctx);
                        for (k, v) in &t.attributes {
                            c.retain(|e| e.name != *k);
                            c.push(entry(k, v.clone(), SOURCE_TOPIC, STRING));
                        }
                        c
                    }
                    None => {
                        out.error_code = error_code::UNKNOWN_TOPIC_OR_PARTITION;
                        Vec::new()
                    }
                },
                RESOURCE_BROKER => broker_configs(ctx),
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
            out.configs = configs;
            out
        })
        .collect();
    let mut w = req.writer();
    describe_configs::encode_response(&mut w, req.version(), &results);
    Ok(w)
}
