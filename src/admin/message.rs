//! `rokka admin message`: VIEW_MESSAGE_BY_ID (33) for an offset message id,
//! PULL_MESSAGE (11, group `TOOLS_CONSUMER`, nothing committed) to walk a
//! queue from an offset (with a progress bar on a terminal), and
//! QUERY_MESSAGE (12) by key. Kafka records are shown the RocketMQ way
//! (docs/mapping.md): key = KEYS, headers = properties.

use indicatif::{ProgressBar, ProgressStyle};
use rokka_protocols::remoting::message::{
    decode_message, decode_message_id, decode_messages, MessageExt,
};
use serde_json::Value;

use super::{Admin, AdminError, Client, Report};

/// The group upstream's tools pull as; its pulls commit nothing.
const TOOLS_GROUP: &str = "TOOLS_CONSUMER";
/// Messages asked for per pull.
const PULL_BATCH: u64 = 32;

/// Message commands.
#[derive(Debug, clap::Subcommand)]
pub enum MessageCommand {
    /// One message by offset message id, or `--count` messages of a queue
    /// from `--offset`
    Get {
        /// Offset message id (32 hex digits), as producers and consumers log it
        #[arg(required_unless_present = "topic")]
        id: Option<String>,
        /// Topic (with --queue and --offset instead of an id)
        #[arg(long, short = 't', requires = "offset", conflicts_with = "id")]
        topic: Option<String>,
        /// Queue id (Kafka partition)
        #[arg(long, short = 'q', default_value = "0")]
        queue: u32,
        /// First queue offset
        #[arg(long)]
        offset: Option<u64>,
        /// How many messages at most
        #[arg(long, default_value = "1")]
        count: u64,
    },
    /// Messages of a topic whose key (KEYS / Kafka record key) is `key`
    Query {
        /// Topic
        #[arg(long, short = 't')]
        topic: String,
        /// Key
        #[arg(long, short = 'k')]
        key: String,
        /// At most this many
        #[arg(long, default_value = "64")]
        max: u32,
    },
}

/// Runs a message command.
pub fn run(a: &Admin, cmd: MessageCommand) -> Result<Report, AdminError> {
    let mut r = Report::new(&[
        "topic", "queue", "offset", "msg_id", "keys", "tags", "store_ms", "body",
    ]);
    match cmd {
        MessageCommand::Get { id: Some(id), .. } => {
            let (_, phy) = decode_message_id(&id)
                .map_err(|_| AdminError::Usage(format!("{id:?} is not an offset message id")))?;
            let resp = a
                .broker()?
                .call_ok(33, &[("offset", phy.to_string())], Vec::new())?;
            let (m, _) =
                decode_message(&resp.body).map_err(|e| AdminError::Protocol(e.to_string()))?;
            r.row(row(&m));
        }
        MessageCommand::Get {
            topic: Some(topic),
            queue,
            offset,
            count,
            ..
        } => {
            let mut c = a.broker()?;
            for m in walk(&mut c, &topic, queue, offset.unwrap_or(0), count)? {
                r.row(row(&m));
            }
        }
        MessageCommand::Get { .. } => {
            return Err(AdminError::Usage(
                "give a message id or --topic and --offset".into(),
            ))
        }
        MessageCommand::Query { topic, key, max } => {
            let resp = a.broker()?.call_ok(
                12,
                &[
                    ("topic", topic),
                    ("key", key),
                    ("maxNum", max.to_string()),
                    ("beginTimestamp", "0".into()),
                    ("endTimestamp", i64::MAX.to_string()),
                ],
                Vec::new(),
            )?;
            for m in decode_messages(&resp.body).map_err(|e| AdminError::Protocol(e.to_string()))? {
                r.row(row(&m));
            }
        }
    }
    Ok(r)
}

/// Up to `count` messages of one queue from `offset`, pulling in batches.
fn walk(
    c: &mut Client,
    topic: &str,
    queue: u32,
    mut offset: u64,
    count: u64,
) -> Result<Vec<MessageExt>, AdminError> {
    let bar = ProgressBar::new(count);
    if count > PULL_BATCH {
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} messages ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut out = Vec::new();
    while (out.len() as u64) < count {
        let want = (count - out.len() as u64).min(PULL_BATCH);
        let resp = c.call(
            11,
            &[
                ("consumerGroup", TOOLS_GROUP.to_owned()),
                ("topic", topic.to_owned()),
                ("queueId", queue.to_string()),
                ("queueOffset", offset.to_string()),
                ("maxMsgNums", want.to_string()),
                ("sysFlag", "0".into()),
                ("commitOffset", "0".into()),
                ("suspendTimeoutMillis", "0".into()),
                ("subVersion", "0".into()),
            ],
            Vec::new(),
        )?;
        match resp.code {
            0 => {}
            // Nothing (more) there, or the offset is out of the queue.
            19..=21 => break,
            code => {
                return Err(AdminError::Refused {
                    code,
                    remark: resp.remark.unwrap_or_default(),
                })
            }
        }
        let msgs = decode_messages(&resp.body).map_err(|e| AdminError::Protocol(e.to_string()))?;
        let next: u64 = resp
            .ext("nextBeginOffset")
            .and_then(|v| v.parse().ok())
            .unwrap_or(offset + msgs.len() as u64);
        if msgs.is_empty() || next <= offset {
            break;
        }
        bar.inc(msgs.len() as u64);
        out.extend(msgs.into_iter().take((count - out.len() as u64) as usize));
        offset = next;
    }
    bar.finish_and_clear();
    Ok(out)
}

fn row(m: &MessageExt) -> Vec<Value> {
    let body = m.uncompressed_body().unwrap_or_else(|_| m.body.clone());
    let mut text: String = String::from_utf8_lossy(&body).chars().take(200).collect();
    if body.len() > 200 {
        text.push('…');
    }
    vec![
        Value::from(m.topic.as_str()),
        Value::from(m.queue_id),
        Value::from(m.queue_offset),
        Value::from(m.offset_msg_id()),
        m.property("KEYS").map_or(Value::Null, Value::from),
        m.property("TAGS").map_or(Value::Null, Value::from),
        Value::from(m.store_timestamp),
        Value::from(text),
    ]
}
