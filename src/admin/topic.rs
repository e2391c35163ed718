//! `rokka admin topic`: GET_ALL_TOPIC_CONFIG (21), UPDATE_AND_CREATE_TOPIC
//! (17), GET_TOPIC_CONFIG (351) + GET_TOPIC_STATS_INFO (202),
//! DELETE_TOPIC_IN_BROKER (215) + DELETE_TOPIC_IN_NAMESRV (216): the codes
//! mqadmin's topicList / updateTopic / topicStatus / deleteTopic send.

use serde_json::Value;

use super::{body_json, Admin, AdminError, Report};

/// Topic commands.
#[derive(Debug, clap::Subcommand)]
pub enum TopicCommand {
    /// Every topic with its queue counts and permission
    List,
    /// Create a topic
    Create {
        /// Topic name
        topic: String,
        /// Read and write queues (Kafka partitions) [default: the broker's defaultTopicQueueNums]
        #[arg(long, short = 'q')]
        queues: Option<u32>,
        /// Permission: 6 read-write, 4 read-only, 2 write-only
        #[arg(long, default_value = "6")]
        perm: u32,
        /// Orderly topic
        #[arg(long)]
        order: bool,
    },
    /// Queues of a topic with their offsets and last store time
    Describe {
        /// Topic name
        topic: String,
    },
    /// Change queue counts or permission (queues can only grow)
    Alter {
        /// Topic name
        topic: String,
        /// New read and write queue count
        #[arg(long, short = 'q')]
        queues: Option<u32>,
        /// New permission
        #[arg(long)]
        perm: Option<u32>,
    },
    /// Delete a topic from the broker and the NameServer
    Delete {
        /// Topic name
        topic: String,
    },
}

/// Runs a topic command.
pub fn run(a: &Admin, cmd: TopicCommand) -> Result<Report, AdminError> {
    match cmd {
        TopicCommand::List => list(a),
        TopicCommand::Create {
            topic,
            queues,
            perm,
            order,
        } => {
            let mut ext = vec![
                ("topic", topic.clone()),
                ("perm", perm.to_string()),
                ("order", order.to_string()),
                ("defaultTopic", "TBW102".to_owned()),
            ];
            if let Some(q) = queues {
                ext.push(("readQueueNums", q.to_string()));
                ext.push(("writeQueueNums", q.to_string()));
            }
            a.broker()?.call_ok(17, &ext, Vec::new())?;
            done(&topic, "created")
        }
        TopicCommand::Describe { topic } => describe(a, &topic),
        TopicCommand::Alter {
            topic,
            queues,
            perm,
        } => {
            let mut c = a.broker()?;
            let cfg = body_json(&c.call_ok(351, &[("topic", topic.clone())], Vec::new())?)?;
            let field = |k: &str| cfg[k].as_u64().unwrap_or(0).to_string();
            let (read, write) = match queues {
                Some(q) => (q.to_string(), q.to_string()),
                None => (field("readQueueNums"), field("writeQueueNums")),
            };
            let ext = vec![
                ("topic", topic.clone()),
                ("readQueueNums", read),
                ("writeQueueNums", write),
                (
                    "perm",
                    perm.map_or_else(|| field("perm"), |p| p.to_string()),
                ),
                ("order", cfg["order"].as_bool().unwrap_or(false).to_string()),
            ];
            c.call_ok(17, &ext, Vec::new())?;
            done(&topic, "altered")
        }
        TopicCommand::Delete { topic } => {
            let mut c = a.broker()?;
            // Refuse an unknown topic rather than "deleting" nothing.
            c.call_ok(351, &[("topic", topic.clone())], Vec::new())?;
            c.call_ok(215, &[("topic", topic.clone())], Vec::new())?;
            a.namesrv()?
                .call_ok(216, &[("topic", topic.clone())], Vec::new())?;
            done(&topic, "deleted")
        }
    }
}

fn done(topic: &str, what: &str) -> Result<Report, AdminError> {
    let mut r = Report::new(&["topic", "result"]);
    r.row(vec![Value::from(topic), Value::from(what)]);
    Ok(r)
}

fn list(a: &Admin) -> Result<Report, AdminError> {
    let v = body_json(&a.broker()?.call_ok(21, &[], Vec::new())?)?;
    let mut r = Report::new(&["topic", "read_queues", "write_queues", "perm", "order"]);
    if let Some(table) = v["topicConfigTable"].as_object() {
        for (name, t) in table {
            r.row(vec![
                Value::from(name.as_str()),
                t["readQueueNums"].clone(),
                t["writeQueueNums"].clone(),
                t["perm"].clone(),
                t["order"].clone(),
            ]);
        }
    }
    Ok(r)
}

fn describe(a: &Admin, topic: &str) -> Result<Report, AdminError> {
    let mut c = a.broker()?;
    let stats = body_json(&c.call_ok(202, &[("topic", topic.to_owned())], Vec::new())?)?;
    let mut r = Report::new(&[
        "topic",
        "queue",
        "min_offset",
        "max_offset",
        "last_store_ms",
    ]);
    let mut queues: Vec<&Value> = stats["offsetTable"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    queues.sort_by_key(|p| p[0]["queueId"].as_i64());
    for pair in queues {
        let (mq, s) = (&pair[0], &pair[1]);
        r.row(vec![
            Value::from(topic),
            mq["queueId"].clone(),
            s["minOffset"].clone(),
            s["maxOffset"].clone(),
            s["lastUpdateTimestamp"].clone(),
        ]);
    }
    Ok(r)
}
