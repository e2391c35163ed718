//! `bench` mode: end-to-end throughput over loopback with 1 KiB messages —
//! sync sends with 16 and 64 concurrent senders, async sends (callbacks)
//! with 16 and 64 in flight, then a push consumer draining the topic.
//! Prints one `BENCH <name> <msgs> msgs in <secs> s = <rate> msg/s` line each.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
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

const TOPIC: &str = "BenchTopic";

fn report(name: &str, n: usize, took: Duration) {
    let secs = took.as_secs_f64();
    println!(
        "BENCH {name} {n} msgs in {secs:.2} s = {:.0} msg/s",
        n as f64 / secs.max(1e-9)
    );
}

fn payload() -> Message {
    Message::builder()
        .topic(TOPIC)
        .tags("TagB")
        .body_slice(&[b'x'; 1024])
        .build_unchecked()
}

async fn sync_sends(producer: &Arc<DefaultMQProducer>, senders: usize, per: usize) -> usize {
    let ok = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let (p, ok) = (producer.clone(), ok.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..per {
                if matches!(p.send_with_timeout(payload(), 10_000).await, Ok(Some(_))) {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    ok.load(Ordering::Relaxed)
}

async fn async_sends(producer: &Arc<DefaultMQProducer>, in_flight: usize, total: usize) -> usize {
    let acked = Arc::new(AtomicUsize::new(0));
    let issued = Arc::new(tokio::sync::Semaphore::new(in_flight));
    for _ in 0..total {
        let Ok(permit) = issued.clone().acquire_owned().await else {
            break;
        };
        let acked = acked.clone();
        let permit = Arc::new(std::sync::Mutex::new(Some(permit)));
        let cb = move |r: Option<&rocketmq_model::result::SendResult>, e: Option<&ClientError>| {
            if r.is_some() && e.is_none() {
                acked.fetch_add(1, Ordering::Relaxed);
            }
            permit.lock().unwrap().take();
        };
        let _ = producer.send_with_callback(payload(), cb).await;
    }
    let _ = tokio::time::timeout(
        Duration::from_secs(60),
        issued.acquire_many(in_flight as u32),
    )
    .await;
    acked.load(Ordering::Relaxed)
}

struct Count(Arc<AtomicUsize>);

impl MessageListenerConcurrently for Count {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _ctx: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        self.0.fetch_add(msgs.len(), Ordering::Relaxed);
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

/// Runs the benchmark; returns an error text on failure.
pub(crate) async fn run(rt: Arc<ClientRuntime>, ns: String) -> Result<(), String> {
    let mut producer = DefaultMQProducer::builder(rt.clone())
        .client_config(config(&ns))
        .producer_group("bench_pg")
        .build();
    producer.start().await.map_err(|e| e.to_string())?;
    let producer = Arc::new(producer);
    // Warm-up creates the topic and the connections.
    sync_sends(&producer, 4, 50).await;
    let mut total = 200;
    for senders in [16, 64] {
        let per = 20_000 / senders;
        let t0 = Instant::now();
        let n = sync_sends(&producer, senders, per).await;
        report(&format!("sync-send-{senders}"), n, t0.elapsed());
        total += n;
    }
    for in_flight in [16, 64] {
        let t0 = Instant::now();
        let n = async_sends(&producer, in_flight, 20_000).await;
        report(&format!("async-send-{in_flight}"), n, t0.elapsed());
        total += n;
    }
    println!("BENCH loaded");
    let seen = Arc::new(AtomicUsize::new(0));
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(&ns))
        .consumer_group("bench_cg")
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .consume_message_batch_max_size(32)
        .build();
    consumer
        .subscribe(TOPIC, "*")
        .await
        .map_err(|e| e.to_string())?;
    consumer.register_message_listener_concurrently(Count(seen.clone()));
    let t0 = Instant::now();
    consumer.start().await.map_err(|e| e.to_string())?;
    let done = wait_until(Duration::from_secs(180), || {
        seen.load(Ordering::Relaxed) >= total
    })
    .await;
    report("push-consume", seen.load(Ordering::Relaxed), t0.elapsed());
    consumer.shutdown().await;
    if done {
        Ok(())
    } else {
        Err(format!(
            "consumed {} of {total}",
            seen.load(Ordering::Relaxed)
        ))
    }
}
