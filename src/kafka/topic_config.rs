//! The Kafka topic configs rokka knows (ADR 009): their types, checks,
//! documentation and broker-level synonyms, and the effective value of
//! each for a topic. A topic's overrides live in its store attributes under
//! the Kafka names (`attributes["retention.ms"] = "60000"`); anything not
//! overridden falls back to a dynamic broker config (`broker_config.rs`),
//! then to the static broker configuration.
//!
//! ```text
//! enforced  retention.ms, retention.bytes   per-topic retention pass (broker/topic_retention.rs)
//!           max.message.bytes               Produce (MESSAGE_TOO_LARGE)
//!           message.timestamp.type          Produce (LogAppendTime stamps the batch)
//!           cleanup.policy, delete.retention.ms, min.compaction.lag.ms  the compaction cleaner
//! stored    every other Kafka topic config name (accepted, described, not acted on)
//! ```

use std::collections::BTreeMap;

use rokka_protocols::kafka::describe_configs::{
    ConfigEntry, SOURCE_DEFAULT, SOURCE_DYNAMIC_BROKER, SOURCE_DYNAMIC_DEFAULT_BROKER,
    SOURCE_STATIC_BROKER, SOURCE_TOPIC,
};
use rokka_store::topics::TopicConfig;

use super::KafkaContext;

/// Kafka `ConfigType` of a boolean.
pub const BOOLEAN: i8 = 1;
/// A string.
pub const STRING: i8 = 2;
/// An int.
pub const INT: i8 = 3;
/// A long.
pub const LONG: i8 = 5;
/// A list.
pub const LIST: i8 = 7;

/// What values a config takes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// An integer at least `min`.
    Num(i64),
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A comma-separated list of these words.
    ListOf(&'static [&'static str]),
    /// true or false.
    Bool,
    /// Anything.
    Text,
}

/// One known topic config.
#[derive(Debug)]
pub struct TopicConfigDef {
    /// Kafka name.
    pub name: &'static str,
    /// Kafka `ConfigType`.
    pub config_type: i8,
    kind: Kind,
    /// The broker config that supplies the default (Kafka's synonym).
    pub broker_name: Option<&'static str>,
    /// What it does in rokka.
    pub doc: &'static str,
}

const fn def(
    name: &'static str,
    config_type: i8,
    kind: Kind,
    broker_name: Option<&'static str>,
    doc: &'static str,
) -> TopicConfigDef {
    TopicConfigDef {
        name,
        config_type,
        kind,
        broker_name,
        doc,
    }
}

const STORED: &str = "Accepted and shown; rokka does not act on it.";

/// Every topic config name Kafka 3.x defines, sorted by name.
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def(
        "cleanup.policy",
        LIST,
        Kind::ListOf(&["delete", "compact"]),
        Some("log.cleanup.policy"),
        "delete: old data goes by retention; compact: the cleaner keeps the latest record per key.",
    ),
    def(
        "compression.type",
        STRING,
        Kind::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        Some("compression.type"),
        "Batches are kept as the producer compressed them (producer).",
    ),
    def(
        "delete.retention.ms",
        LONG,
        Kind::Num(0),
        Some("log.cleaner.delete.retention.ms"),
        "How long the compaction cleaner keeps tombstones, ms.",
    ),
    def(
        "file.delete.delay.ms",
        LONG,
        Kind::Num(0),
        Some("log.segment.delete.delay.ms"),
        STORED,
    ),
    def(
        "flush.messages",
        LONG,
        Kind::Num(1),
        Some("log.flush.interval.messages"),
        STORED,
    ),
    def(
        "flush.ms",
        LONG,
        Kind::Num(0),
        Some("log.flush.interval.ms"),
        STORED,
    ),
    def(
        "follower.replication.throttled.replicas",
        LIST,
        Kind::Text,
        None,
        STORED,
    ),
    def(
        "index.interval.bytes",
        INT,
        Kind::Num(0),
        Some("log.index.interval.bytes"),
        STORED,
    ),
    def(
        "leader.replication.throttled.replicas",
        LIST,
        Kind::Text,
        None,
        STORED,
    ),
    def(
        "local.retention.bytes",
        LONG,
        Kind::Num(-2),
        Some("log.local.retention.bytes"),
        STORED,
    ),
    def(
        "local.retention.ms",
        LONG,
        Kind::Num(-2),
        Some("log.local.retention.ms"),
        STORED,
    ),
    def(
        "max.compaction.lag.ms",
        LONG,
        Kind::Num(1),
        Some("log.cleaner.max.compaction.lag.ms"),
        STORED,
    ),
    def(
        "max.message.bytes",
        INT,
        Kind::Num(0),
        Some("message.max.bytes"),
        "Largest record batch a producer may append; larger ones get MESSAGE_TOO_LARGE.",
    ),
    def(
        "message.downconversion.enable",
        BOOLEAN,
        Kind::Bool,
        Some("log.message.downconversion.enable"),
        STORED,
    ),
    def(
        "message.format.version",
        STRING,
        Kind::Text,
        Some("log.message.format.version"),
        STORED,
    ),
    def(
        "message.timestamp.after.max.ms",
        LONG,
        Kind::Num(0),
        Some("log.message.timestamp.after.max.ms"),
        STORED,
    ),
    def(
        "message.timestamp.before.max.ms",
        LONG,
        Kind::Num(0),
        Some("log.message.timestamp.before.max.ms"),
        STORED,
    ),
    def(
        "message.timestamp.difference.max.ms",
        LONG,
        Kind::Num(0),
        Some("log.message.timestamp.difference.max.ms"),
        STORED,
    ),
    def(
        "message.timestamp.type",
        STRING,
        Kind::OneOf(&["CreateTime", "LogAppendTime"]),
        Some("log.message.timestamp.type"),
        "CreateTime keeps the producer's timestamps; LogAppendTime stamps each batch with the \
         broker's append time.",
    ),
    def(
        "min.cleanable.dirty.ratio",
        6,
        Kind::Text,
        Some("log.cleaner.min.cleanable.ratio"),
        STORED,
    ),
    def(
        "min.compaction.lag.ms",
        LONG,
        Kind::Num(0),
        Some("log.cleaner.min.compaction.lag.ms"),
        "Records younger than this are never compacted, ms.",
    ),
    def(
        "min.insync.replicas",
        INT,
        Kind::Num(1),
        Some("min.insync.replicas"),
        STORED,
    ),
    def(
        "preallocate",
        BOOLEAN,
        Kind::Bool,
        Some("log.preallocate"),
        STORED,
    ),
    def("remote.storage.enable", BOOLEAN, Kind::Bool, None, STORED),
    def(
        "retention.bytes",
        LONG,
        Kind::Num(-1),
        Some("log.retention.bytes"),
        "Most bytes kept per partition; older records become unreadable (-1 = no limit).",
    ),
    def(
        "retention.ms",
        LONG,
        Kind::Num(-1),
        Some("log.retention.ms"),
        "Records older than this become unreadable, ms (-1 = forever).",
    ),
    def(
        "segment.bytes",
        INT,
        Kind::Num(14),
        Some("log.segment.bytes"),
        "CommitLog segment size; the log is shared by every topic, so this is the broker's.",
    ),
    def(
        "segment.index.bytes",
        INT,
        Kind::Num(4),
        Some("log.index.size.max.bytes"),
        STORED,
    ),
    def(
        "segment.jitter.ms",
        LONG,
        Kind::Num(0),
        Some("log.roll.jitter.ms"),
        STORED,
    ),
    def(
        "segment.ms",
        LONG,
        Kind::Num(1),
        Some("log.roll.ms"),
        "Segments are rolled by size on the shared CommitLog; accepted and shown.",
    ),
    def(
        "unclean.leader.election.enable",
        BOOLEAN,
        Kind::Bool,
        Some("unclean.leader.election.enable"),
        STORED,
    ),
];

/// The definition of topic config `name`.
pub fn find(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// The topic config whose broker synonym is `broker_name`.
pub fn by_broker_name(broker_name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS
        .iter()
        .find(|d| d.broker_name == Some(broker_name))
}

/// Checks `value` for topic config `name`; the error is Kafka's wording.
pub fn validate(name: &str, value: &str) -> Result<(), String> {
    let Some(d) = find(name) else {
        return Err(format!("Unknown topic config name: {name}"));
    };
    check_kind(d, value)
}

fn check_kind(d: &TopicConfigDef, value: &str) -> Result<(), String> {
    let bad = || format!("Invalid value {value} for configuration {}", d.name);
    match d.kind {
        Kind::Num(min) => match value.trim().parse::<i64>() {
            Ok(n) if n >= min => {
                if d.config_type == INT && i32::try_from(n).is_err() {
                    return Err(bad());
                }
                Ok(())
            }
            _ => Err(bad()),
        },
        Kind::OneOf(words) => words.contains(&value.trim()).then_some(()).ok_or_else(bad),
        Kind::ListOf(words) => {
            let parts: Vec<&str> = value.split(',').map(str::trim).collect();
            parts
                .iter()
                .all(|p| words.contains(p))
                .then_some(())
                .ok_or_else(bad)
        }
        Kind::Bool => matches!(value.trim(), "true" | "false")
            .then_some(())
            .ok_or_else(bad),
        Kind::Text => Ok(()),
    }
}

/// The static broker default of each topic config rokka derives from its
/// own configuration (the rest have Kafka's defaults).
fn static_default(ctx: &KafkaContext, name: &str) -> Option<(String, i8)> {
    let store = ctx.broker.store.config();
    let retention_ms = if store.file_reserved_hours == u32::MAX {
        -1
    } else {
        i64::from(store.file_reserved_hours) * 3_600_000
    };
    let configured = |v: String| Some((v, SOURCE_STATIC_BROKER));
    let builtin = |v: &str| Some((v.to_string(), SOURCE_DEFAULT));
    match name {
        "retention.ms" => configured(retention_ms.to_string()),
        "max.message.bytes" => configured(store.max_message_size.to_string()),
        "segment.bytes" => configured(store.commit_log_segment_size.to_string()),
        "cleanup.policy" => builtin("delete"),
        "compression.type" => builtin("producer"),
        "delete.retention.ms" => builtin("86400000"),
        "file.delete.delay.ms" => builtin("60000"),
        "flush.messages" => builtin("9223372036854775807"),
        "flush.ms" => builtin("9223372036854775807"),
        "follower.replication.throttled.replicas" => builtin(""),
        "index.interval.bytes" => builtin("4096"),
        "leader.replication.throttled.replicas" => builtin(""),
        "local.retention.bytes" => builtin("-2"),
        "local.retention.ms" => builtin("-2"),
        "max.compaction.lag.ms" => builtin("9223372036854775807"),
        "message.downconversion.enable" => builtin("true"),
        "message.format.version" => builtin("3.0-IV1"),
        "message.timestamp.after.max.ms" => builtin("9223372036854775807"),
        "message.timestamp.before.max.ms" => builtin("9223372036854775807"),
        "message.timestamp.difference.max.ms" => builtin("9223372036854775807"),
        "message.timestamp.type" => builtin("CreateTime"),
        "min.cleanable.dirty.ratio" => builtin("0.5"),
        "min.compaction.lag.ms" => builtin("0"),
        "min.insync.replicas" => builtin("1"),
        "preallocate" => builtin("false"),
        "remote.storage.enable" => builtin("false"),
        "retention.bytes" => builtin("-1"),
        "segment.index.bytes" => builtin("10485760"),
        "segment.jitter.ms" => builtin("0"),
        "segment.ms" => builtin("604800000"),
        "unclean.leader.election.enable" => builtin("false"),
        _ => None,
    }
}

/// Where the value of topic config `d` comes from for `topic`, most
/// specific first: (name, value, source). Never empty.
fn chain(
    ctx: &KafkaContext,
    attrs: &BTreeMap<String, String>,
    d: &TopicConfigDef,
) -> Vec<(String, Option<String>, i8)> {
    let mut out = Vec::new();
    if let Some(v) = attrs.get(d.name) {
        out.push((d.name.to_string(), Some(v.clone()), SOURCE_TOPIC));
    }
    if let Some(b) = d.broker_name {
        for (v, source) in ctx.broker_configs.lookup(b) {
            out.push((b.to_string(), Some(v), source));
        }
    }
    let (v, source) = static_default(ctx, d.name).unwrap_or_default();
    let name = match (source, d.broker_name) {
        (SOURCE_STATIC_BROKER, Some(b)) => b.to_string(),
        _ => d.name.to_string(),
    };
    out.push((name, Some(v), source));
    out
}

/// The effective value of topic config `name` for `topic` (None if unknown).
/// The first entry of the synonym chain, found without building the chain:
/// Produce asks for it on every request.
pub fn effective(ctx: &KafkaContext, topic: &TopicConfig, name: &str) -> Option<String> {
    let d = find(name)?;
    if let Some(v) = topic.attributes.get(d.name) {
        return Some(v.clone());
    }
    if let Some((v, _)) = d
        .broker_name
        .and_then(|b| ctx.broker_configs.lookup(b).into_iter().next())
    {
        return Some(v);
    }
    Some(static_default(ctx, d.name).unwrap_or_default().0)
}

/// `name` of `topic` as a number, if set to one.
pub fn effective_i64(ctx: &KafkaContext, topic: &TopicConfig, name: &str) -> Option<i64> {
    effective(ctx, topic, name).and_then(|v| v.trim().parse().ok())
}

/// Every topic config of `topic` as DescribeConfigs entries (synonyms and
/// documentation filled in; the encoder drops them for versions without).
pub fn describe(ctx: &KafkaContext, topic: &TopicConfig) -> Vec<ConfigEntry> {
    TOPIC_CONFIGS
        .iter()
        .map(|d| {
            let synonyms = chain(ctx, &topic.attributes, d);
            let (_, value, source) = synonyms[0].clone();
            ConfigEntry {
                name: d.name.to_string(),
                value,
                source,
                config_type: d.config_type,
                read_only: false,
                synonyms,
                documentation: Some(d.doc.to_string()),
            }
        })
        .collect()
}

/// Checks dynamic broker config `name` (a synonym of a topic config).
pub fn validate_broker(name: &str, value: &str) -> Result<(), String> {
    match by_broker_name(name) {
        Some(d) => check_kind(d, value).map_err(|e| e.replace(d.name, name)),
        None => Err(format!("Cannot update these configs dynamically: {name}")),
    }
}

/// Source number of a dynamic broker config set for one broker (`per_broker`)
/// or as the cluster default.
pub fn dynamic_source(per_broker: bool) -> i8 {
    if per_broker {
        SOURCE_DYNAMIC_BROKER
    } else {
        SOURCE_DYNAMIC_DEFAULT_BROKER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_checks_values() {
        assert!(TOPIC_CONFIGS.windows(2).all(|w| w[0].name < w[1].name));
        assert!(validate("retention.ms", "-1").is_ok());
        assert!(validate("retention.ms", "-2").is_err());
        assert!(validate("retention.ms", "abc").is_err());
        assert!(validate("max.message.bytes", "99999999999").is_err());
        assert!(validate("cleanup.policy", "compact,delete").is_ok());
        assert!(validate("cleanup.policy", "compact, delete").is_ok());
        assert!(validate("cleanup.policy", "shred").is_err());
        assert!(validate("message.timestamp.type", "LogAppendTime").is_ok());
        assert!(validate("message.timestamp.type", "logappendtime").is_err());
        assert_eq!(
            validate("no.such.config", "1").unwrap_err(),
            "Unknown topic config name: no.such.config"
        );
        assert!(validate_broker("log.retention.ms", "1000").is_ok());
        assert!(validate_broker("log.retention.ms", "x").is_err());
        assert!(validate_broker("broker.id", "3").is_err());
    }
}
