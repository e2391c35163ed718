//! The RocketMQ 5.x Rust SDK (crate `rocketmq` 5.0.0, apache/rocketmq-clients)
//! against a real rokka gRPC endpoint. Usage: `rokka-grpc-rust-conformance HOST:PORT`.
//!
//! Every scenario uses its own topic and consumer group (suffixed with this
//! run's id) and asserts what came back: bodies, keys, tags, properties,
//! message ids, delivery attempts, order and counts. Prints one
//! `PASS name` / `FAIL name: detail` line per check and exits non-zero if
//! any failed. Version 5.0.0 of the SDK has a Producer (normal, FIFO,
//! delay, transactional with a checker) and a SimpleConsumer (receive, ack);
//! it has no PushConsumer, no ChangeInvisibleDuration and no nack.
//!
//! Group `gRustFifo` must be `consumeMessageOrderly` and group `gRustDlq`
//! have `retryMaxTimes` 1 in the broker's subscription groups (run.sh).
//!
//! `rokka-grpc-rust-conformance cluster HOST:PORT TOPIC COUNT GROUP` runs the
//! cluster scenario of `cluster.rs` instead (`cluster.sh`).

mod cluster;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rocketmq::conf::{ClientOption, ProducerOption, SimpleConsumerOption};
use rocketmq::error::ClientError;
use rocketmq::model::common::{FilterExpression, FilterType};
use rocketmq::model::message::{Message, MessageBuilder, MessageView};
use rocketmq::model::transaction::{Transaction, TransactionResolution};
use rocketmq::{Producer, SimpleConsumer};

type Res<T> = Result<T, String>;

struct Report {
    passed: u32,
    failed: u32,
}

impl Report {
    fn check(&mut self, name: &str, ok: bool, detail: impl std::fmt::Debug) {
        if ok {
            self.passed += 1;
            println!("PASS {name}");
        } else {
            self.failed += 1;
            println!("FAIL {name}: {detail:?}");
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn client_option(addr: &str) -> ClientOption {
    let mut o = ClientOption::default();
    o.set_access_url(addr);
    o.set_enable_tls(false);
    o.set_timeout(Duration::from_secs(5));
    // Short long polls: the scenarios poll in loops with their own deadlines.
    o.set_long_polling_timeout(Duration::from_secs(2));
    o
}

fn err(what: &str) -> impl Fn(ClientError) -> String + '_ {
    move |e| format!("{what}: {e:?}")
}

async fn consumer(addr: &str, group: &str, topic: &str) -> Res<SimpleConsumer> {
    let mut o = SimpleConsumerOption::default();
    o.set_consumer_group(group);
    o.set_topics(vec![topic]);
    let mut c = SimpleConsumer::new(o, client_option(addr)).map_err(err("consumer"))?;
    c.start().await.map_err(err("consumer start"))?;
    Ok(c)
}

fn all() -> FilterExpression {
    FilterExpression::new(FilterType::Tag, "*")
}

/// Receives until `want` messages came or `deadline_s` passed, with an
/// invisible time of `invisible_s`; acks them if `ack`.
async fn receive(
    c: &SimpleConsumer,
    topic: &str,
    want: usize,
    invisible_s: u64,
    deadline_s: u64,
    ack: bool,
) -> Res<Vec<MessageView>> {
    let invisible = Duration::from_secs(invisible_s);
    let end = Instant::now() + Duration::from_secs(deadline_s);
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < end {
        let batch = c
            .receive_with(topic, &all(), 32, invisible)
            .await
            .map_err(err("receive"))?;
        for m in batch {
            if ack {
                c.ack(&m).await.map_err(err("ack"))?;
            }
            got.push(m);
        }
    }
    Ok(got)
}

/// Receives and acks `want` messages within `deadline_s`, then 2 s more:
/// long enough for one that should not come to show up.
async fn settle(
    c: &SimpleConsumer,
    topic: &str,
    want: usize,
    deadline_s: u64,
) -> Res<Vec<MessageView>> {
    let mut got = receive(c, topic, want, 30, deadline_s, true).await?;
    got.extend(receive(c, topic, 1, 30, 2, true).await?);
    Ok(got)
}

/// Checks that nothing is delivered within 4 s.
async fn nothing_left(c: &SimpleConsumer, topic: &str, r: &mut Report, name: &str) -> Res<()> {
    let after = receive(c, topic, 1, 20, 4, true).await?;
    r.check(name, after.is_empty(), bodies(&after));
    Ok(())
}

fn bodies(ms: &[MessageView]) -> Vec<String> {
    let mut v: Vec<String> = ms
        .iter()
        .map(|m| String::from_utf8_lossy(m.body()).into_owned())
        .collect();
    v.sort();
    v
}

struct Ctx {
    addr: String,
    run: String,
    producer: Producer,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Ctx {
    fn topic(&self, what: &str) -> String {
        format!("rs{what}{}", self.run)
    }

    /// Sends a built message; its message id.
    async fn send(&self, m: Result<impl Message, ClientError>) -> Res<String> {
        let m = m.map_err(err("build"))?;
        let receipt = self.producer.send(m).await.map_err(err("send"))?;
        Ok(receipt.message_id().to_string())
    }
}

const TOPICS: [&str; 6] = ["Normal", "Redeliver", "Fifo", "Delay", "Tx", "Dlq"];

async fn normal(cx: &Ctx, r: &mut Report) -> Res<()> {
    let t = cx.topic("Normal");
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = MessageBuilder::builder()
            .set_topic(&t)
            .set_body(format!("n{i}").into_bytes())
            .set_tag("TagA")
            .set_keys(vec![format!("key{i}")])
            .set_properties(HashMap::from([("color".to_string(), "red".to_string())]))
            .build();
        ids.push(cx.send(m).await?);
    }
    r.check(
        "normal: sends answered with distinct message ids",
        ids.iter().all(|i| !i.is_empty())
            && ids.iter().collect::<std::collections::HashSet<_>>().len() == 5,
        &ids,
    );
    let c = consumer(&cx.addr, &format!("gRustNormal{}", cx.run), &t).await?;
    let got = receive(&c, &t, 5, 20, 20, true).await?;
    r.check(
        "normal: the 5 bodies received",
        bodies(&got) == ["n0", "n1", "n2", "n3", "n4"],
        bodies(&got),
    );
    let mut got_ids: Vec<String> = got.iter().map(|m| m.message_id().to_string()).collect();
    got_ids.sort();
    ids.sort();
    r.check(
        "normal: ids match the send receipts",
        got_ids == ids,
        (&got_ids, &ids),
    );
    let meta_ok = got.iter().all(|m| {
        let i = String::from_utf8_lossy(m.body())
            .trim_start_matches('n')
            .to_string();
        m.tag() == Some("TagA")
            && m.keys() == [format!("key{i}")]
            && m.properties().get("color").map(String::as_str) == Some("red")
            && m.topic() == t
            && m.delivery_attempt() == 1
    });
    r.check(
        "normal: tag, keys, user property, topic, attempt 1 kept",
        meta_ok,
        got.iter()
            .map(|m| {
                (
                    m.tag(),
                    m.keys().to_vec(),
                    m.properties().clone(),
                    m.delivery_attempt(),
                )
            })
            .collect::<Vec<_>>(),
    );
    nothing_left(&c, &t, r, "normal: nothing left after the acks").await?;
    c.shutdown().await.map_err(err("shutdown"))
}

async fn redeliver(cx: &Ctx, r: &mut Report) -> Res<()> {
    let t = cx.topic("Redeliver");
    let m = MessageBuilder::builder()
        .set_topic(&t)
        .set_body(b"again".to_vec())
        .build();
    let id = cx.send(m).await?;
    let c = consumer(&cx.addr, &format!("gRustRedeliver{}", cx.run), &t).await?;
    let first = receive(&c, &t, 1, 2, 10, false).await?;
    let t0 = Instant::now();
    let again = receive(&c, &t, 1, 20, 15, false).await?;
    let waited = t0.elapsed();
    r.check(
        "redeliver: the unacked message comes back",
        first.len() == 1 && again.len() == 1 && again[0].message_id() == id,
        (bodies(&first), bodies(&again)),
    );
    r.check(
        "redeliver: not before the 2 s invisible time",
        waited >= Duration::from_millis(1500),
        waited,
    );
    r.check(
        "redeliver: delivery attempt 2, same body",
        again
            .first()
            .map(|m| (m.delivery_attempt(), m.body().to_vec()))
            == Some((2, b"again".to_vec())),
        again.first().map(MessageView::delivery_attempt),
    );
    for m in &again {
        c.ack(m).await.map_err(err("ack"))?;
    }
    nothing_left(&c, &t, r, "redeliver: acked redelivery is gone").await?;
    c.shutdown().await.map_err(err("shutdown"))
}

async fn fifo(cx: &Ctx, r: &mut Report) -> Res<()> {
    let t = cx.topic("Fifo");
    for i in 0..10 {
        let m = MessageBuilder::fifo_message_builder(
            &t,
            format!("{}-{i}", i % 2).into_bytes(),
            format!("G{}", i % 2),
        )
        .build();
        cx.send(m).await?;
    }
    let c = consumer(&cx.addr, "gRustFifo", &t).await?;
    let mut seen: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let end = Instant::now() + Duration::from_secs(20);
    let mut n = 0;
    while n < 10 && Instant::now() < end {
        let batch = c
            .receive_with(&t, &all(), 32, Duration::from_secs(20))
            .await
            .map_err(err("receive"))?;
        for m in batch {
            let body = String::from_utf8_lossy(m.body()).into_owned();
            let i = body
                .split('-')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(99);
            seen.entry(m.message_group().unwrap_or("-").to_string())
                .or_default()
                .push(i);
            c.ack(&m).await.map_err(err("ack"))?;
            n += 1;
        }
    }
    let want = BTreeMap::from([
        ("G0".to_string(), vec![0, 2, 4, 6, 8]),
        ("G1".to_string(), vec![1, 3, 5, 7, 9]),
    ]);
    r.check(
        "fifo: every message once, in send order per message group",
        seen == want,
        &seen,
    );
    c.shutdown().await.map_err(err("shutdown"))
}

async fn delay(cx: &Ctx, r: &mut Report) -> Res<()> {
    let t = cx.topic("Delay");
    // The SDK sends the delivery time in whole seconds.
    let due_s = now_ms() / 1000 + 2;
    let m = MessageBuilder::delay_message_builder(&t, b"delayed".to_vec(), due_s).build();
    cx.send(m).await?;
    let c = consumer(&cx.addr, &format!("gRustDelay{}", cx.run), &t).await?;
    let got = receive(&c, &t, 1, 20, 20, true).await?;
    let at = now_ms();
    r.check(
        "delay: delivered once, not before its delivery time",
        bodies(&got) == ["delayed"] && at >= due_s * 1000,
        (bodies(&got), at, due_s * 1000),
    );
    r.check(
        "delay: delivery timestamp reported",
        got.first()
            .and_then(MessageView::delivery_timestamp)
            .is_some(),
        got.first().and_then(MessageView::delivery_timestamp),
    );
    c.shutdown().await.map_err(err("shutdown"))
}

async fn transactions(cx: &Ctx, r: &mut Report) -> Res<()> {
    let t = cx.topic("Tx");
    let tx_send = |body: &str| {
        MessageBuilder::transaction_message_builder(&t, body.as_bytes().to_vec())
            .build()
            .map_err(err("build"))
    };
    let tx = cx
        .producer
        .send_transaction_message(tx_send("committed")?)
        .await
        .map_err(err("send tx"))?;
    let ids_ok = !tx.transaction_id().is_empty() && !tx.message_id().is_empty();
    tx.commit().await.map_err(err("commit"))?;
    let tx = cx
        .producer
        .send_transaction_message(tx_send("rolled-back")?)
        .await
        .map_err(err("send tx"))?;
    tx.rollback().await.map_err(err("rollback"))?;
    r.check("transaction: ids returned", ids_ok, ());
    let c = consumer(&cx.addr, &format!("gRustTx{}", cx.run), &t).await?;
    let got = settle(&c, &t, 1, 10).await?;
    r.check(
        "transaction: only the committed message delivered",
        bodies(&got) == ["committed"],
        bodies(&got),
    );
    // Left open: the broker asks this producer through Telemetry
    // (transactionTimeOut 1 s); the checker commits one, rolls back the other.
    for body in ["check-commit", "check-rollback"] {
        let tx = cx
            .producer
            .send_transaction_message(tx_send(body)?)
            .await
            .map_err(err("send tx"))?;
        drop(tx);
    }
    let got = settle(&c, &t, 1, 15).await?;
    let mut asked = cx.asked.lock().map(|a| a.clone()).unwrap_or_default();
    asked.sort();
    asked.dedup();
    r.check(
        "transaction back-check: the checker was asked about both",
        asked == ["check-commit", "check-rollback"],
        &asked,
    );
    r.check(
        "transaction back-check: only the committed one delivered",
        bodies(&got) == ["check-commit"],
        bodies(&got),
    );
    c.shutdown().await.map_err(err("shutdown"))
}

async fn dlq(cx: &Ctx, r: &mut Report) -> Res<()> {
    let t = cx.topic("Dlq");
    let m = MessageBuilder::builder()
        .set_topic(&t)
        .set_body(b"poison".to_vec())
        .set_keys(vec!["poison-key"])
        .build();
    let id = cx.send(m).await?;
    // gRustDlq has retryMaxTimes 1: two deliveries, then the DLQ.
    let c = consumer(&cx.addr, "gRustDlq", &t).await?;
    let mut attempts = Vec::new();
    let end = Instant::now() + Duration::from_secs(25);
    while Instant::now() < end && attempts.len() < 3 {
        for m in c
            .receive_with(&t, &all(), 32, Duration::from_secs(1))
            .await
            .map_err(err("receive"))?
        {
            attempts.push(m.delivery_attempt());
        }
        if attempts.len() >= 2 {
            // Long enough for a third delivery, were there one.
            let more = receive(&c, &t, 1, 1, 4, false).await?;
            attempts.extend(more.iter().map(MessageView::delivery_attempt));
            break;
        }
    }
    r.check(
        "retry: delivered twice (attempts 1, 2), then no more",
        attempts == [1, 2],
        &attempts,
    );
    c.shutdown().await.map_err(err("shutdown"))?;
    let dlq_topic = "%DLQ%gRustDlq";
    let d = consumer(&cx.addr, &format!("gRustDlqReader{}", cx.run), dlq_topic).await?;
    let got = receive(&d, dlq_topic, 1, 20, 15, true).await?;
    r.check(
        "dlq: the message is in %DLQ%<group> with its body, keys and id",
        got.len() == 1
            && got[0].body() == b"poison"
            && got[0].keys() == ["poison-key"]
            && got[0].message_id() == id,
        got.iter()
            .map(|m| {
                (
                    m.body().to_vec(),
                    m.keys().to_vec(),
                    m.message_id().to_string(),
                )
            })
            .collect::<Vec<_>>(),
    );
    d.shutdown().await.map_err(err("shutdown"))
}

async fn run(addr: String, r: &mut Report) -> Res<()> {
    let run = format!("{}", now_ms() % 1_000_000_000);
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let mut po = ProducerOption::default();
    po.set_topics(TOPICS.iter().map(|w| format!("rs{w}{run}")).collect());
    let mut producer = Producer::new_transaction_producer(
        po,
        client_option(&addr),
        Box::new(move |_txid, m: MessageView| {
            let body = String::from_utf8_lossy(m.body()).into_owned();
            let commit = body == "check-commit";
            if let Ok(mut a) = seen.lock() {
                a.push(body);
            }
            if commit {
                TransactionResolution::COMMIT
            } else {
                TransactionResolution::ROLLBACK
            }
        }),
    )
    .map_err(err("producer"))?;
    producer.start().await.map_err(err("producer start"))?;
    let cx = Ctx {
        addr,
        run,
        producer,
        asked,
    };
    let filter = std::env::args().nth(2).unwrap_or_default();
    macro_rules! scenario {
        ($name:literal, $f:ident) => {
            if filter.is_empty() || filter.split(',').any(|s| s == $name) {
                let t0 = Instant::now();
                if let Err(e) = $f(&cx, r).await {
                    r.check(concat!($name, ": ran to the end"), false, e);
                }
                eprintln!("{} took {:?}", $name, t0.elapsed());
            }
        };
    }
    scenario!("normal", normal);
    scenario!("redeliver", redeliver);
    scenario!("fifo", fifo);
    scenario!("delay", delay);
    scenario!("transaction", transactions);
    scenario!("dlq", dlq);
    cx.producer
        .shutdown()
        .await
        .map_err(err("producer shutdown"))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(addr) = args.first().cloned() else {
        eprintln!("usage: rokka-grpc-rust-conformance HOST:PORT [scenario,...]");
        eprintln!("       rokka-grpc-rust-conformance cluster HOST:PORT TOPIC COUNT GROUP");
        std::process::exit(2);
    };
    let mut r = Report {
        passed: 0,
        failed: 0,
    };
    let suite = async {
        match args.as_slice() {
            [c, addr, topic, count, group] if c == "cluster" => {
                let count = count.parse().map_err(|e| format!("COUNT {count:?}: {e}"))?;
                cluster::spread(addr, topic, count, group, &mut r).await
            }
            _ => run(addr, &mut r).await,
        }
    };
    let outcome = tokio::time::timeout(Duration::from_secs(150), suite).await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => r.check("suite ran to the end", false, e),
        Err(_) => r.check("suite finished within 150 s", false, ()),
    }
    println!("{} passed, {} failed", r.passed, r.failed);
    std::process::exit(i32::from(r.failed > 0));
}
