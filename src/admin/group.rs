//! `rokka admin group`: consumer groups of either ecosystem (they share one
//! offset table). Lists subscription group records (201) and every group
//! with offsets on a topic (300), describes a group's offsets and lag
//! (GET_CONSUME_STATS, 208) and resets them through
//! INVOKE_BROKER_TO_RESET_OFFSET (222), so live RocketMQ consumers are told
//! and Kafka consumers read the new offsets.

use std::collections::BTreeMap;

use serde_json::Value;

use super::time::parse_datetime;
use super::{body_json, ext, Admin, AdminError, Client, Report};

/// Group commands.
#[derive(Debug, clap::Subcommand)]
pub enum GroupCommand {
    /// Every consumer group: subscription group records and groups with offsets
    List,
    /// Offsets and lag of a group per queue
    Describe {
        /// Group name
        group: String,
        /// Only this topic
        #[arg(long, short = 't')]
        topic: Option<String>,
    },
    /// Total lag of a group per topic
    Lag {
        /// Group name
        group: String,
        /// Only this topic
        #[arg(long, short = 't')]
        topic: Option<String>,
    },
    /// Move a group's offsets on a topic (the group should be stopped for
    /// Kafka; live RocketMQ consumers are told)
    Reset {
        /// Group name
        group: String,
        /// Topic
        #[arg(long, short = 't')]
        topic: String,
        #[command(flatten)]
        to: ResetTo,
    },
}

/// Where a reset goes (exactly one).
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct ResetTo {
    /// The first message stored at or after this time: epoch ms,
    /// 2026-05-01T12:00:00[.123][Z|+02:00] (UTC without a zone) or
    /// yyyy-MM-dd#HH:mm:ss:SSS
    #[arg(long)]
    to_datetime: Option<String>,
    /// The oldest message still kept
    #[arg(long)]
    to_earliest: bool,
    /// The end of each queue (skip everything)
    #[arg(long)]
    to_latest: bool,
    /// Move by N messages (negative: back), within each queue's bounds
    #[arg(long, allow_hyphen_values = true)]
    shift_by: Option<i64>,
}

/// Runs a group command.
pub fn run(a: &Admin, cmd: GroupCommand) -> Result<Report, AdminError> {
    match cmd {
        GroupCommand::List => list(a),
        GroupCommand::Describe { group, topic } => {
            let rows = consume_stats(&mut a.broker()?, &group, topic.as_deref())?;
            let mut r = Report::new(&[
                "group",
                "topic",
                "queue",
                "broker_offset",
                "consumer_offset",
                "lag",
                "last_consumed_ms",
            ]);
            for q in rows {
                r.row(vec![
                    Value::from(group.as_str()),
                    Value::from(q.topic),
                    Value::from(q.queue),
                    Value::from(q.broker_offset),
                    Value::from(q.consumer_offset),
                    Value::from((q.broker_offset - q.consumer_offset).max(0)),
                    Value::from(q.last_timestamp),
                ]);
            }
            Ok(r)
        }
        GroupCommand::Lag { group, topic } => {
            let mut per_topic: BTreeMap<String, i64> = BTreeMap::new();
            for q in consume_stats(&mut a.broker()?, &group, topic.as_deref())? {
                *per_topic.entry(q.topic).or_default() +=
                    (q.broker_offset - q.consumer_offset).max(0);
            }
            let mut r = Report::new(&["group", "topic", "lag"]);
            for (t, lag) in per_topic {
                r.row(vec![
                    Value::from(group.as_str()),
                    Value::from(t),
                    Value::from(lag),
                ]);
            }
            Ok(r)
        }
        GroupCommand::Reset { group, topic, to } => reset(a, &group, &topic, &to),
    }
}

fn list(a: &Admin) -> Result<Report, AdminError> {
    let mut c = a.broker()?;
    let records = body_json(&c.call_ok(201, &[], Vec::new())?)?;
    // group → (record's consumeEnable, topics with offsets)
    let mut groups: BTreeMap<String, (Option<bool>, Vec<String>)> = BTreeMap::new();
    if let Some(t) = records["subscriptionGroupTable"].as_object() {
        for (name, g) in t {
            groups.entry(name.clone()).or_default().0 = g["consumeEnable"].as_bool();
        }
    }
    let topics = body_json(&c.call_ok(21, &[], Vec::new())?)?;
    let names: Vec<String> = topics["topicConfigTable"]
        .as_object()
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    for topic in names {
        let who = body_json(&c.call_ok(300, &[("topic", topic.clone())], Vec::new())?)?;
        for g in who["groupList"].as_array().into_iter().flatten() {
            if let Some(g) = g.as_str() {
                groups
                    .entry(g.to_owned())
                    .or_default()
                    .1
                    .push(topic.clone());
            }
        }
    }
    let mut r = Report::new(&["group", "consume_enable", "topics"]);
    for (name, (enabled, topics)) in groups {
        r.row(vec![
            Value::from(name),
            enabled.map_or(Value::Null, Value::from),
            Value::from(topics.join(",")),
        ]);
    }
    Ok(r)
}

/// One queue of GET_CONSUME_STATS.
struct QueueStats {
    topic: String,
    queue: i64,
    broker_offset: i64,
    consumer_offset: i64,
    last_timestamp: i64,
}

fn consume_stats(
    c: &mut Client,
    group: &str,
    topic: Option<&str>,
) -> Result<Vec<QueueStats>, AdminError> {
    let mut e = vec![("consumerGroup", group.to_owned())];
    if let Some(t) = topic {
        e.push(("topic", t.to_owned()));
    }
    let v = body_json(&c.call_ok(208, &e, Vec::new())?)?;
    let mut out: Vec<QueueStats> = v["offsetTable"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| QueueStats {
            topic: p[0]["topic"].as_str().unwrap_or_default().to_owned(),
            queue: p[0]["queueId"].as_i64().unwrap_or(0),
            broker_offset: p[1]["brokerOffset"].as_i64().unwrap_or(0),
            consumer_offset: p[1]["consumerOffset"].as_i64().unwrap_or(0),
            last_timestamp: p[1]["lastTimestamp"].as_i64().unwrap_or(0),
        })
        .collect();
    if out.is_empty() {
        return Err(AdminError::Refused {
            code: 26,
            remark: format!(
                "group {group} has no offsets{}",
                topic.map(|t| format!(" on topic {t}")).unwrap_or_default()
            ),
        });
    }
    out.sort_by(|a, b| (&a.topic, a.queue).cmp(&(&b.topic, b.queue)));
    Ok(out)
}

/// (queue, min, max) of every queue of `topic`.
fn queue_bounds(c: &mut Client, topic: &str) -> Result<Vec<(i64, i64, i64)>, AdminError> {
    let v = body_json(&c.call_ok(202, &[("topic", topic.to_owned())], Vec::new())?)?;
    let mut out: Vec<(i64, i64, i64)> = v["offsetTable"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p[0]["queueId"].as_i64().unwrap_or(0),
                p[1]["minOffset"].as_i64().unwrap_or(0),
                p[1]["maxOffset"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    out.sort();
    Ok(out)
}

fn reset(a: &Admin, group: &str, topic: &str, to: &ResetTo) -> Result<Report, AdminError> {
    // A bad date is a usage error before anything is sent.
    let timestamp = to
        .to_datetime
        .as_deref()
        .map(parse_datetime)
        .transpose()
        .map_err(AdminError::Usage)?;
    let mut c = a.broker()?;
    let base = |ts: i64| {
        vec![
            ("topic", topic.to_owned()),
            ("group", group.to_owned()),
            ("timestamp", ts.to_string()),
            ("isForce", "true".to_owned()),
        ]
    };
    let mut answers = Vec::new();
    if let Some(ts) = timestamp {
        answers.push(c.call_ok(222, &base(ts), Vec::new())?);
    } else if to.to_latest {
        answers.push(c.call_ok(222, &base(-1), Vec::new())?);
    } else {
        // Per queue, to an exact offset (the 5.x form of 222).
        for (q, min, max) in queue_bounds(&mut c, topic)? {
            let target = match to.shift_by {
                Some(n) => {
                    let q14 = c.call(
                        14,
                        &[
                            ("consumerGroup", group.to_owned()),
                            ("topic", topic.to_owned()),
                            ("queueId", q.to_string()),
                        ],
                        Vec::new(),
                    )?;
                    let cur = if q14.code == 0 {
                        ext(&q14, "offset")?.parse().unwrap_or(min)
                    } else {
                        min
                    };
                    cur.saturating_add(n).clamp(min, max)
                }
                None => min,
            };
            let mut e = base(-1);
            e.push(("queueId", q.to_string()));
            e.push(("offset", target.to_string()));
            answers.push(c.call_ok(222, &e, Vec::new())?);
        }
    }
    let mut r = Report::new(&["group", "topic", "queue", "new_offset"]);
    for answer in answers {
        for p in body_json(&answer)?["offsetTable"]
            .as_array()
            .into_iter()
            .flatten()
        {
            r.row(vec![
                Value::from(group),
                Value::from(topic),
                p[0]["queueId"].clone(),
                p[1].clone(),
            ]);
        }
    }
    Ok(r)
}
