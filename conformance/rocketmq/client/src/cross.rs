//! `cross` mode, driven by `conformance/cross/data.sh`: the RocketMQ side of
//! the cross-protocol data-path scenarios. It writes JSON lines and leaves
//! the comparison to `conformance/cross/check.py`.
//!
//! * `cross produce <topic> <manifest>`: 10,000 messages over 4 queues (one
//!   sequential sender per queue), with keys (some several space-separated
//!   words, some none), tags (some none), user properties, text and binary
//!   bodies, ~5% of 5–20 KiB so the client zlib-compresses them. One manifest
//!   line per message: queue, queue offset, KEYS, TAGS, properties, UNIQ_KEY,
//!   the send window (born timestamp bounds) and the body in hex.
//! * `cross consume <topic> <outdir> <want all> <want tagged> <tag expr>
//!   <query words,...>`: a push consumer and a lite pull consumer on `*`,
//!   both again on the tag expression, then query-by-key for each word and
//!   view-by-id of every message the lite pull consumer got. One file per
//!   reader.
//!
//! Every wait is bounded; the exit code is non-zero on a client error.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rocketmq_client_rust::{
    ClientResult, ClientRuntime, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus,
    DefaultLitePullConsumer, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    MessageListenerConcurrently,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message;

use crate::{config, wait_until};

/// Messages sent by `produce`.
const TOTAL: usize = 10_000;
/// Queues of the produced topic (the auto-created default).
const QUEUES: usize = 4;

/// Entry point: `args` are the words after `cross`. Returns the exit code.
pub(crate) async fn main(rt: Arc<ClientRuntime>, ns: String, args: Vec<String>) -> i32 {
    let result = match args.first().map(String::as_str) {
        Some("produce") if args.len() == 3 => tokio::time::timeout(
            Duration::from_secs(240),
            produce(&rt, &ns, &args[1], &args[2]),
        )
        .await
        .unwrap_or_else(|_| Err("produce did not finish within 240 s".into())),
        Some("consume") if args.len() == 7 => {
            tokio::time::timeout(Duration::from_secs(240), consume(&rt, &ns, &args[1..]))
                .await
                .unwrap_or_else(|_| Err("consume did not finish within 240 s".into()))
        }
        _ => Err(format!("bad cross arguments {args:?}")),
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), rt.shutdown()).await;
    match result {
        Ok(()) => 0,
        Err(e) => {
            println!("FAIL cross: {e}");
            1
        }
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// JSON string literal for `s`.
fn js(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn hex(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(out, "{x:02x}");
    }
    out
}

fn js_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_owned(), js)
}

/// JSON object of `props`, names sorted.
fn js_props<'a>(props: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let sorted: BTreeMap<&str, &str> = props.collect();
    let fields: Vec<String> = sorted
        .iter()
        .map(|(k, v)| format!("{}:{}", js(k), js(v)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// xorshift64*: deterministic bodies without a `rand` dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What message `i` carries: (keys, tags, user properties, body).
type Spec = (
    Option<Vec<String>>,
    Option<&'static str>,
    Vec<(String, String)>,
    Vec<u8>,
);

fn spec(i: usize) -> Spec {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1));
    let keys = match i % 5 {
        0 => None,
        1 => Some(vec![
            format!("k{i}"),
            format!("grp{}", i % 50),
            "multi".to_owned(),
        ]),
        _ => Some(vec![format!("k{i}")]),
    };
    let tags = match i % 4 {
        3 => None,
        n => Some(["TagA", "TagB", "TagC"][n]),
    };
    let mut props = vec![
        ("seq".to_owned(), i.to_string()),
        ("src".to_owned(), "rocketmq-rust".to_owned()),
    ];
    if i.is_multiple_of(3) {
        props.push(("note".to_owned(), format!("unicode ü 日本 a=b {i}")));
    }
    let body = if i % 20 == 7 {
        // 5–20 KiB: above the client's 4 KiB compression threshold.
        let len = 5 * 1024 + rng.below(15 * 1024) as usize;
        let mut b = Vec::with_capacity(len);
        if i % 40 == 7 {
            // Random bytes: compressed by the client all the same.
            while b.len() < len {
                b.extend_from_slice(&rng.next().to_le_bytes());
            }
            b.truncate(len);
        } else {
            let words = ["alpha ", "beta ", "gamma ", "delta ", "\u{e9}t\u{e9} "];
            while b.len() < len {
                b.extend_from_slice(words[rng.below(5) as usize].as_bytes());
            }
            b.truncate(len);
        }
        b
    } else if i % 10 == 3 {
        // Binary: not UTF-8 in general, NUL and 0xff bytes included.
        let len = 1 + rng.below(200) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        b[0] = 0xff;
        b
    } else {
        let len = rng.below(200) as usize;
        let mut b = format!("rmq-{i}-").into_bytes();
        b.extend((0..len).map(|_| b'a' + rng.below(26) as u8));
        b
    };
    (keys, tags, props, body)
}

fn build(topic: &str, spec: &Spec) -> ClientResult<Message> {
    let (keys, tags, props, body) = spec;
    let mut b = Message::builder().topic(topic).body_slice(body);
    if let Some(keys) = keys {
        b = b.keys(keys.clone());
    }
    if let Some(tags) = tags {
        b = b.tags(*tags);
    }
    for (k, v) in props {
        b = b.raw_property(k.as_str(), v.as_str())?;
    }
    Ok(b.build_unchecked())
}

/// Sends message `i` to queue `q` and returns its manifest line.
async fn send_one(
    p: &DefaultMQProducer,
    topic: &str,
    i: usize,
    q: usize,
) -> Result<String, String> {
    let s = spec(i);
    let msg = build(topic, &s).map_err(|e| format!("message {i}: {e}"))?;
    let select = |mqs: &[MessageQueue], _m: &Message, q: &usize| {
        mqs.iter().find(|m| m.queue_id() as usize == *q).cloned()
    };
    let t0 = now_ms();
    let r = p
        .send_with_selector(msg, select, q)
        .await
        .map_err(|e| format!("send {i}: {e}"))?
        .ok_or_else(|| format!("send {i}: no result"))?;
    let t1 = now_ms();
    let queue = r.message_queue.as_ref().map_or(-1, |m| m.queue_id());
    if queue != q as i32 {
        return Err(format!("send {i}: went to queue {queue}, not {q}"));
    }
    let (keys, tags, props, body) = &s;
    let keys = keys.as_ref().map(|k| k.join(" "));
    Ok(format!(
        "{{\"i\":{i},\"queue\":{q},\"offset\":{},\"keys\":{},\"tags\":{},\"props\":{},\"uniq\":{},\"offset_msg_id\":{},\"t0\":{t0},\"t1\":{t1},\"body_hex\":\"{}\"}}",
        r.queue_offset,
        js_opt(keys.as_deref()),
        js_opt(*tags),
        js_props(props.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        js_opt(r.msg_id.as_deref()),
        js_opt(r.offset_msg_id.as_deref()),
        hex(body),
    ))
}

async fn produce(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    manifest: &str,
) -> Result<(), String> {
    let mut producer = DefaultMQProducer::builder(rt.clone())
        .client_config(config(ns))
        .producer_group("cross_pg")
        .build();
    producer
        .start()
        .await
        .map_err(|e| format!("producer start: {e}"))?;
    let started = std::time::Instant::now();
    // Message 0 alone first: it creates the topic (4 queues) for the others.
    let mut lines = vec![send_one(&producer, topic, 0, 0).await?];
    let producer = Arc::new(producer);
    let mut tasks = Vec::new();
    for q in 0..QUEUES {
        let (p, topic) = (producer.clone(), topic.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (q..TOTAL).step_by(QUEUES).filter(|i| *i != 0) {
                out.push(send_one(&p, &topic, i, q).await?);
            }
            Ok::<_, String>(out)
        }));
    }
    for t in tasks {
        lines.extend(t.await.map_err(|e| format!("sender task: {e}"))??);
    }
    let took = started.elapsed();
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(manifest, text).map_err(|e| format!("write {manifest}: {e}"))?;
    println!(
        "PASS rmq-produce ({} messages over {QUEUES} queues in {took:.2?})",
        lines.len()
    );
    // Was a large body stored compressed? View message 27 (a 5–20 KiB text
    // body) by its offset id: sysFlag bit 0, and the entry is smaller than
    // the body.
    let mut producer = Arc::try_unwrap(producer).map_err(|_| "producer still shared".to_owned())?;
    let line27 = lines
        .iter()
        .find(|l| l.starts_with("{\"i\":27,"))
        .ok_or("no manifest line for message 27")?;
    let id27 = line27
        .split("\"offset_msg_id\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .ok_or("no offset msg id for message 27")?
        .to_owned();
    let viewed = producer
        .view_message(topic, &id27)
        .await
        .map_err(|e| format!("view message 27: {e}"))?;
    let body_len = viewed.message_inner().body_slice().len();
    let flag = viewed.sys_flag();
    let store_size = viewed.store_size() as usize;
    producer.shutdown().await;
    if flag & 1 == 1 && store_size < body_len {
        println!("PASS rmq-compressed (message 27: sysFlag {flag:#x}, stored entry {store_size} bytes, body {body_len} bytes)");
        Ok(())
    } else {
        Err(format!(
            "message 27 was not stored compressed: sysFlag {flag:#x}, entry {store_size} bytes, body {body_len} bytes"
        ))
    }
}

/// One JSON line for a consumed or viewed message.
fn record_line(m: &MessageExt) -> String {
    let props = m.properties().iter().map(|(k, v)| (k.as_str(), v.as_str()));
    format!(
        "{{\"topic\":{},\"queue\":{},\"offset\":{},\"msg_id\":{},\"reconsume\":{},\"born\":{},\"sys_flag\":{},\"props\":{},\"body_hex\":\"{}\"}}",
        js(m.topic().as_str()),
        m.queue_id(),
        m.queue_offset(),
        js(m.msg_id().as_str()),
        m.reconsume_times(),
        m.born_timestamp(),
        m.sys_flag(),
        js_props(props),
        hex(m.message_inner().body_slice()),
    )
}

/// What one reader got: every delivery as a line, the distinct records (by
/// identity: the `cid` property of Kafka records from confluent-kafka and
/// sarama, else the body) and the message id of each first delivery.
#[derive(Default)]
struct Got {
    records: HashSet<String>,
    ids: BTreeMap<(i32, i64), String>,
    lines: Vec<String>,
}

impl Got {
    fn add(&mut self, m: &MessageExt) {
        let inner = m.message_inner();
        let identity = match inner.property("cid") {
            Some(cid) => format!("cid:{cid}"),
            None => format!("body:{}", hex(inner.body_slice())),
        };
        self.records.insert(identity);
        if m.reconsume_times() == 0 {
            self.ids
                .insert((m.queue_id(), m.queue_offset()), m.msg_id().to_string());
        }
        self.lines.push(record_line(m));
    }
}

struct Listener(Arc<Mutex<Got>>);

impl MessageListenerConcurrently for Listener {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _ctx: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        if let Ok(mut got) = self.0.lock() {
            for m in msgs {
                got.add(m);
            }
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

fn write_lines(path: &str, lines: &[String]) -> Result<(), String> {
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| format!("write {path}: {e}"))
}

/// Push consumer (own group) on `expr`: waits for `want` distinct messages,
/// then 2 s more for any extra ones; writes every delivery to `path`.
async fn push(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    group: &str,
    expr: &str,
    want: usize,
    path: &str,
) -> Result<(), String> {
    let got = Arc::new(Mutex::new(Got::default()));
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(ns))
        .consumer_group(group)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .consume_message_batch_max_size(32)
        .build();
    consumer
        .subscribe(topic, expr)
        .await
        .map_err(|e| format!("{group} subscribe: {e}"))?;
    consumer.register_message_listener_concurrently(Listener(got.clone()));
    consumer
        .start()
        .await
        .map_err(|e| format!("{group} start: {e}"))?;
    let count = || got.lock().map(|g| g.records.len()).unwrap_or(0);
    wait_until(Duration::from_secs(60), || count() >= want).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    consumer.shutdown().await;
    let got = got.lock().map_err(|_| "poisoned")?;
    write_lines(path, &got.lines)?;
    println!(
        "{group}: {} distinct, {} deliveries",
        got.records.len(),
        got.lines.len()
    );
    Ok(())
}

/// Lite pull consumer (subscribe mode, own group) on `expr`, polled until
/// `want` distinct messages arrived and then 2 s more. Returns the message
/// id of every record (a lite pull consumer never redelivers).
async fn lite(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    group: &str,
    expr: &str,
    want: usize,
    path: &str,
) -> Result<BTreeMap<(i32, i64), String>, String> {
    let consumer = DefaultLitePullConsumer::builder(rt.clone())
        .name_server_addr(ns.to_owned())
        .consumer_group(group)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        // Short long-polls: shutdown waits for the pulls in flight.
        .broker_suspend_max_time_millis(1000)
        .consumer_timeout_millis_when_suspend(3000)
        .build()
        .map_err(|e| format!("{group} build: {e}"))?;
    consumer
        .subscribe_with_expression(topic, expr)
        .await
        .map_err(|e| format!("{group} subscribe: {e}"))?;
    consumer
        .start()
        .await
        .map_err(|e| format!("{group} start: {e}"))?;
    let mut got = Got::default();
    let started = std::time::Instant::now();
    let deadline = started + Duration::from_secs(60);
    let mut grace: Option<std::time::Instant> = None;
    while std::time::Instant::now() < deadline {
        for m in consumer.poll_with_timeout(500).await {
            got.add(&m);
        }
        if got.records.len() >= want {
            let until =
                *grace.get_or_insert_with(|| std::time::Instant::now() + Duration::from_secs(2));
            if std::time::Instant::now() >= until {
                break;
            }
        }
    }
    let polled = started.elapsed();
    consumer.shutdown().await;
    write_lines(path, &got.lines)?;
    println!(
        "{group}: {} distinct, {} deliveries, polled {polled:.1?}, shut down after {:.1?}",
        got.records.len(),
        got.lines.len(),
        started.elapsed()
    );
    Ok(got.ids)
}

async fn consume(rt: &Arc<ClientRuntime>, ns: &str, args: &[String]) -> Result<(), String> {
    let (topic, dir) = (args[0].as_str(), args[1].as_str());
    let want_all: usize = args[2].parse().map_err(|_| "bad want-all count")?;
    let want_tag: usize = args[3].parse().map_err(|_| "bad want-tagged count")?;
    let expr = args[4].as_str();
    let words: Vec<&str> = args[5].split(',').filter(|w| !w.is_empty()).collect();
    push(
        rt,
        ns,
        topic,
        "cross_push_all",
        "*",
        want_all,
        &format!("{dir}/push.jsonl"),
    )
    .await?;
    let ids = lite(
        rt,
        ns,
        topic,
        "cross_lite_all",
        "*",
        want_all,
        &format!("{dir}/lite.jsonl"),
    )
    .await?;
    push(
        rt,
        ns,
        topic,
        "cross_push_tag",
        expr,
        want_tag,
        &format!("{dir}/push-tag.jsonl"),
    )
    .await?;
    lite(
        rt,
        ns,
        topic,
        "cross_lite_tag",
        expr,
        want_tag,
        &format!("{dir}/lite-tag.jsonl"),
    )
    .await?;

    let mut producer = DefaultMQProducer::builder(rt.clone())
        .client_config(config(ns))
        .producer_group("cross_query_pg")
        .build();
    producer
        .start()
        .await
        .map_err(|e| format!("query producer start: {e}"))?;
    let end = now_ms() as u64 + 60_000;
    let mut query_lines = Vec::new();
    for w in &words {
        match producer.query_message(topic, w, 64, 0, end).await {
            Ok(r) => {
                let found: Vec<String> = r.message_list().iter().map(record_line).collect();
                query_lines.push(format!(
                    "{{\"word\":{},\"results\":[{}]}}",
                    js(w),
                    found.join(",")
                ));
            }
            Err(e) => query_lines.push(format!(
                "{{\"word\":{},\"error\":{}}}",
                js(w),
                js(&e.to_string())
            )),
        }
    }
    write_lines(&format!("{dir}/query.jsonl"), &query_lines)?;
    // View by id every message the lite pull consumer got, by the id it carried.
    let mut view_lines = Vec::new();
    for ((q, o), id) in &ids {
        let line = match producer.view_message(topic, id).await {
            Ok(m) => format!(
                "{{\"id\":{},\"queue\":{q},\"offset\":{o},\"viewed\":{}}}",
                js(id),
                record_line(&m)
            ),
            Err(e) => format!(
                "{{\"id\":{},\"queue\":{q},\"offset\":{o},\"error\":{}}}",
                js(id),
                js(&e.to_string())
            ),
        };
        view_lines.push(line);
    }
    write_lines(&format!("{dir}/view.jsonl"), &view_lines)?;
    producer.shutdown().await;
    Ok(())
}
