//! `read-load` and `read-drain` modes for the cross-protocol read benchmark
//! (`conformance/cross/bench.sh`):
//! - `read-load <topic> <n>`: n async sends (64 in flight) of 1 KiB bodies;
//! - `read-drain <topic> <group> <n>`: a push consumer from the first offset
//!   until n messages arrived, timed from the first delivery to the n-th so
//!   client start-up and the first rebalance are not counted.
//!
//! Each prints one `BENCH <name> <msgs> msgs in <secs> s = <rate> msg/s` line.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocketmq_client_rust::{
    ClientError, ClientResult, ClientRuntime, ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    MessageListenerConcurrently,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;

use crate::{config, wait_until};

fn report(name: &str, n: usize, took: Duration) {
    let secs = took.as_secs_f64();
    println!(
        "BENCH {name} {n} msgs in {secs:.3} s = {:.0} msg/s",
        n as f64 / secs.max(1e-9)
    );
}

/// Sends `n` 1 KiB messages to `topic` with 64 in flight.
pub(crate) async fn load(
    rt: Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    n: usize,
) -> Result<(), String> {
    let mut producer = DefaultMQProducer::builder(rt)
        .client_config(config(ns))
        .producer_group("readbench_pg")
        .build();
    producer.start().await.map_err(|e| e.to_string())?;
    let acked = Arc::new(AtomicUsize::new(0));
    let in_flight = 64;
    let issued = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let t0 = Instant::now();
    for _ in 0..n {
        let Ok(permit) = issued.clone().acquire_owned().await else {
            break;
        };
        let acked = acked.clone();
        let permit = Arc::new(Mutex::new(Some(permit)));
        let cb = move |r: Option<&rocketmq_model::result::SendResult>, e: Option<&ClientError>| {
            if r.is_some() && e.is_none() {
                acked.fetch_add(1, Ordering::Relaxed);
            }
            permit.lock().map(|mut p| p.take()).ok();
        };
        let msg = Message::builder()
            .topic(topic)
            .tags("TagB")
            .body_slice(&[b'r'; 1024])
            .build_unchecked();
        let _ = producer.send_with_callback(msg, cb).await;
    }
    let _ = tokio::time::timeout(
        Duration::from_secs(60),
        issued.acquire_many(in_flight as u32),
    )
    .await;
    let got = acked.load(Ordering::Relaxed);
    report(&format!("load-{topic}"), got, t0.elapsed());
    producer.shutdown().await;
    if got == n {
        Ok(())
    } else {
        Err(format!("acked {got} of {n}"))
    }
}

/// Counts deliveries and notes when the first one and the `n`-th arrived.
struct Timed {
    n: usize,
    seen: Arc<AtomicUsize>,
    first: Arc<Mutex<Option<Instant>>>,
    last: Arc<Mutex<Option<Instant>>>,
}

impl MessageListenerConcurrently for Timed {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _ctx: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        if let Ok(mut f) = self.first.lock() {
            f.get_or_insert_with(Instant::now);
        }
        let total = self.seen.fetch_add(msgs.len(), Ordering::Relaxed) + msgs.len();
        if total >= self.n {
            if let Ok(mut l) = self.last.lock() {
                l.get_or_insert_with(Instant::now);
            }
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

/// Drains `n` messages of `topic` with a new push consumer group.
pub(crate) async fn drain(
    rt: Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    group: &str,
    n: usize,
) -> Result<(), String> {
    let seen = Arc::new(AtomicUsize::new(0));
    let first = Arc::new(Mutex::new(None));
    let last = Arc::new(Mutex::new(None));
    let mut consumer = DefaultMQPushConsumer::builder(rt)
        .client_config(config(ns))
        .consumer_group(group)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .consume_message_batch_max_size(32)
        .build();
    consumer
        .subscribe(topic, "*")
        .await
        .map_err(|e| e.to_string())?;
    consumer.register_message_listener_concurrently(Timed {
        n,
        seen: seen.clone(),
        first: first.clone(),
        last: last.clone(),
    });
    consumer.start().await.map_err(|e| e.to_string())?;
    let done = wait_until(Duration::from_secs(300), || {
        seen.load(Ordering::Relaxed) >= n
    })
    .await;
    let got = seen.load(Ordering::Relaxed);
    let end = last
        .lock()
        .ok()
        .and_then(|l| *l)
        .unwrap_or_else(Instant::now);
    let start = first.lock().ok().and_then(|f| *f).unwrap_or(end);
    report(&format!("drain-{topic}"), got, end - start);
    consumer.shutdown().await;
    if done {
        Ok(())
    } else {
        Err(format!("consumed {got} of {n}"))
    }
}
