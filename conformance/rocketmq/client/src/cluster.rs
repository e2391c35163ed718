//! Modes for the cluster suite (`conformance/cluster/`), where three rokka
//! nodes form one broker group and the master is killed under load:
//!
//! - `cluster-load <topic> <stop file> <max secs> <prefix> <senders> [pause ms]`:
//!   that many tasks send sync messages, each pausing `pause ms` (0) between
//!   sends, until the stop file appears (or max secs pass). Each message has key = body = `<prefix>-<task>-<n>`.
//!   A send that fails (error, or a status other than SEND_OK) is retried with
//!   the same key after 100 ms, for up to 60 s, as an application would; so a
//!   key may be stored twice (RocketMQ sync send is at-least-once). Prints
//!   `ACK <key> <queue> <queue offset> <msg id> <sent ms> <acked ms> <broker>` per
//!   SEND_OK and `NACK <key> <ms> <why>` per failed attempt, then
//!   `LOAD DONE acked=<n> gave_up=<n>`.
//! - `cluster-consume <topic> <group> <stop file> <max secs> <idle secs>`: a
//!   push consumer (clustering, from the first offset when the group is new,
//!   offsets persisted every second) printing `GOT <ms> <queue> <offset>
//!   <body>` per delivery until the stop file appears, max secs pass, or (idle
//!   secs > 0) nothing arrived for idle secs. Then stops pulling, lets the
//!   batches in flight finish, and shuts down, which persists the offsets.
//! - `cluster-dump <topic> <group> <n> <max secs>`: a new group from the first
//!   offset until at least n deliveries arrived (n = the records stored) and
//!   nothing more for 3 s, or max secs passed; same `GOT` lines, then
//!   `DUMP DONE deliveries=<n> distinct=<n>`.
//!
//! Clients poll the NameServers every 10 s (the client's minimum), so a
//! producer finds the new master at the next route refresh at the latest.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rocketmq_client_rust::{
    ClientConfig, ClientResult, ClientRuntime, ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    MessageListenerConcurrently,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::result::SendStatus;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn cluster_config(ns: &str) -> ClientConfig {
    ClientConfig {
        namesrv_addr: Some(ns.to_owned().into()),
        vip_channel_enabled: false,
        poll_name_server_interval: 10_000,
        persist_consumer_offset_interval: 1_000,
        ..Default::default()
    }
}

/// Runs the mode named by `args[0]`; returns the process exit code.
pub(crate) async fn main(rt: Arc<ClientRuntime>, ns: String, args: Vec<String>) -> i32 {
    let arg = |i: usize| args.get(i).map_or("", String::as_str);
    let num = |i: usize| arg(i).parse::<u64>().unwrap_or(0);
    let result = match arg(0) {
        "cluster-load" => {
            let pacing = Pacing {
                senders: num(5),
                pause: Duration::from_millis(num(6)),
            };
            load(rt, &ns, arg(1), arg(2), num(3), arg(4), pacing).await
        }
        "cluster-consume" => consume(rt, &ns, arg(1), arg(2), arg(3), num(4), num(5)).await,
        "cluster-dump" => dump(rt, &ns, arg(1), arg(2), num(3), num(4)).await,
        other => Err(format!("unknown cluster mode {other:?}")),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            println!("CLUSTER FAILED: {e}");
            1
        }
    }
}

/// How many sync senders, and their pause between two sends.
struct Pacing {
    senders: u64,
    pause: Duration,
}

async fn load(
    rt: Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    stop: &str,
    max_secs: u64,
    prefix: &str,
    pacing: Pacing,
) -> Result<(), String> {
    let mut producer = DefaultMQProducer::builder(rt)
        .client_config(cluster_config(ns))
        .producer_group(format!("{prefix}_pg"))
        .build();
    producer.start().await.map_err(|e| e.to_string())?;
    let producer = Arc::new(producer);
    let deadline = Instant::now() + Duration::from_secs(max_secs);
    let (acked, gave_up) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut tasks = Vec::new();
    for task in 0..pacing.senders.max(1) {
        let (p, topic, stop, prefix) = (
            producer.clone(),
            topic.to_owned(),
            stop.to_owned(),
            prefix.to_owned(),
        );
        let (acked, gave_up, pause) = (acked.clone(), gave_up.clone(), pacing.pause);
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline && !Path::new(&stop).exists() {
                let key = format!("{prefix}-{task}-{n:08}");
                n += 1;
                if send_until_ok(&p, &topic, &key).await {
                    acked.fetch_add(1, Ordering::Relaxed);
                } else {
                    gave_up.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(pause).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    println!(
        "LOAD DONE acked={} gave_up={}",
        acked.load(Ordering::Relaxed),
        gave_up.load(Ordering::Relaxed)
    );
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut p = Arc::try_unwrap(producer).ok()?;
        p.shutdown().await;
        Some(())
    })
    .await;
    Ok(())
}

/// Sends one message until SEND_OK, for at most 60 s; true when acknowledged.
async fn send_until_ok(p: &DefaultMQProducer, topic: &str, key: &str) -> bool {
    let give_up = Instant::now() + Duration::from_secs(60);
    while Instant::now() < give_up {
        let msg = Message::builder()
            .topic(topic)
            .tags("TagC")
            .key(key)
            .body_slice(key.as_bytes())
            .build_unchecked();
        let sent = now_ms();
        match p.send_with_timeout(msg, 3000).await {
            Ok(Some(r)) if r.send_status == SendStatus::SendOk => {
                let (queue, offset) = (
                    r.message_queue.as_ref().map_or(-1, |q| q.queue_id()),
                    r.queue_offset,
                );
                let broker = r
                    .message_queue
                    .as_ref()
                    .map_or("-", |q| q.broker_name().as_str());
                let id = r.msg_id.as_ref().map_or("-", |m| m.as_str());
                println!(
                    "ACK {key} {queue} {offset} {id} {sent} {} {broker}",
                    now_ms()
                );
                return true;
            }
            Ok(Some(r)) => println!("NACK {key} {} status {:?}", now_ms(), r.send_status),
            Ok(None) => println!("NACK {key} {} no result", now_ms()),
            Err(e) => {
                let why = e.to_string().replace('\n', " ");
                println!("NACK {key} {} {why}", now_ms());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Prints each delivery and remembers the distinct bodies and the last time.
struct Printer {
    bodies: Arc<Mutex<BTreeSet<String>>>,
    last_ms: Arc<AtomicU64>,
    deliveries: Arc<AtomicU64>,
}

impl MessageListenerConcurrently for Printer {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _ctx: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        let mut bodies = self.bodies.lock().unwrap();
        let t = now_ms();
        for m in msgs {
            let body = String::from_utf8_lossy(m.message_inner().body_slice()).into_owned();
            println!("GOT {t} {} {} {body}", m.queue_id(), m.queue_offset());
            bodies.insert(body);
        }
        self.deliveries
            .fetch_add(msgs.len() as u64, Ordering::Relaxed);
        self.last_ms.store(t, Ordering::Relaxed);
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

async fn start_consumer(
    rt: Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    group: &str,
    printer: Printer,
) -> Result<DefaultMQPushConsumer, String> {
    let mut consumer = DefaultMQPushConsumer::builder(rt)
        .client_config(cluster_config(ns))
        .consumer_group(group)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .consume_message_batch_max_size(32)
        // With the client's default (0) its shutdown aborts the consume
        // tasks in flight: a batch the listener already printed may never
        // get its offset updated, and the group's next consumer receives it
        // again (FINDINGS, run 20). Let them finish before the final persist.
        .await_termination_millis_when_shutdown(10_000)
        .build();
    consumer
        .subscribe(topic, "*")
        .await
        .map_err(|e| e.to_string())?;
    consumer.register_message_listener_concurrently(printer);
    consumer.start().await.map_err(|e| e.to_string())?;
    Ok(consumer)
}

async fn consume(
    rt: Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    group: &str,
    stop: &str,
    max_secs: u64,
    idle_secs: u64,
) -> Result<(), String> {
    let bodies = Arc::new(Mutex::new(BTreeSet::new()));
    let last_ms = Arc::new(AtomicU64::new(now_ms()));
    let printer = Printer {
        bodies: bodies.clone(),
        last_ms: last_ms.clone(),
        deliveries: Arc::new(AtomicU64::new(0)),
    };
    let mut consumer = start_consumer(rt, ns, topic, group, printer).await?;
    let deadline = Instant::now() + Duration::from_secs(max_secs);
    while Instant::now() < deadline && !Path::new(stop).exists() {
        let idle = now_ms().saturating_sub(last_ms.load(Ordering::Relaxed));
        if idle_secs > 0 && idle > idle_secs * 1000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    quiesce(&consumer, &last_ms).await;
    let _ = tokio::time::timeout(Duration::from_secs(20), consumer.shutdown()).await;
    println!("CONSUME DONE distinct={}", bodies.lock().unwrap().len());
    Ok(())
}

/// Stops pulling and waits (at most 5 s) until nothing has been delivered
/// for 1.5 s, so every batch pulled before the stop is consumed and its
/// offset is in the store the shutdown persists.
async fn quiesce(consumer: &DefaultMQPushConsumer, last_ms: &AtomicU64) {
    consumer.suspend().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline
        && now_ms().saturating_sub(last_ms.load(Ordering::Relaxed)) < 1500
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn dump(
    rt: Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    group: &str,
    n: u64,
    max_secs: u64,
) -> Result<(), String> {
    let bodies = Arc::new(Mutex::new(BTreeSet::new()));
    let last_ms = Arc::new(AtomicU64::new(now_ms()));
    let deliveries = Arc::new(AtomicU64::new(0));
    let printer = Printer {
        bodies: bodies.clone(),
        last_ms: last_ms.clone(),
        deliveries: deliveries.clone(),
    };
    let mut consumer = start_consumer(rt, ns, topic, group, printer).await?;
    let deadline = Instant::now() + Duration::from_secs(max_secs);
    while Instant::now() < deadline {
        let idle = now_ms().saturating_sub(last_ms.load(Ordering::Relaxed));
        if deliveries.load(Ordering::Relaxed) >= n && idle > 3000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(20), consumer.shutdown()).await;
    let got = deliveries.load(Ordering::Relaxed);
    println!(
        "DUMP DONE deliveries={got} distinct={}",
        bodies.lock().unwrap().len()
    );
    if got < n {
        return Err(format!("{got} of {n} deliveries within {max_secs} s"));
    }
    Ok(())
}
