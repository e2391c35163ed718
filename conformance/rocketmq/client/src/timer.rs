//! `timer` scenario (ADR 019): timer messages sent with the client's own
//! `set_delay_time_ms` (TIMER_DELAY_MS, 1 s) and `set_deliver_time_ms`
//! (TIMER_DELIVER_MS, 5 s) reach a push consumer no earlier than their due
//! time; prints the lateness (broker: store time − due time; consumer:
//! arrival − due time) of each.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rocketmq_client_rust::{
    ClientResult, ClientRuntime, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus,
    DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer, MessageListenerConcurrently,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::common::message::MessageTrait;

use crate::{config, wait_until, Failures};

/// Broker-side lateness above this fails the scenario (issue 14: 200 ms).
const BROKER_BOUND_MS: i64 = 200;
/// Consumer-side bound: adds the push consumer's pull round trip.
const CONSUMER_BOUND_MS: i64 = 1500;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// body → (due ms, store ms, arrival ms).
type Arrivals = Arc<Mutex<BTreeMap<String, (i64, i64, i64)>>>;

struct Timed(Arrivals);

impl MessageListenerConcurrently for Timed {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _ctx: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        let now = now_ms();
        let mut seen = self.0.lock().unwrap();
        for m in msgs {
            let inner = m.message_inner();
            let body = String::from_utf8_lossy(inner.body_slice()).into_owned();
            let due = inner
                .property("TIMER_OUT_MS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            seen.insert(body, (due, m.store_timestamp(), now));
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

fn timed_message(topic: &str, body: &str) -> Message {
    Message::builder()
        .topic(topic)
        .tags("TagT")
        .body_slice(body.as_bytes())
        .build_unchecked()
}

pub(crate) async fn timer(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    producer: &DefaultMQProducer,
    fails: &mut Failures,
) {
    let topic = "ConfTimerTopic";
    let seen: Arrivals = Arc::default();
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(ns))
        .consumer_group("conf_cg_timer")
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    if let Err(e) = producer
        .send_with_timeout(timed_message(topic, "warm"), 5000)
        .await
    {
        fails.push(format!("timer warm-up send: {e}"));
        return;
    }
    if consumer.subscribe(topic, "*").await.is_err() || {
        consumer.register_message_listener_concurrently(Timed(seen.clone()));
        consumer.start().await.is_err()
    } {
        fails.push("timer consumer start".into());
        return;
    }
    let warm = wait_until(Duration::from_secs(30), || {
        seen.lock().unwrap().contains_key("warm")
    })
    .await;
    let mut sent = BTreeMap::new();
    for i in 0..3 {
        let mut one = timed_message(topic, &format!("t1s-{i}"));
        one.set_delay_time_ms(1000);
        let mut five = timed_message(topic, &format!("t5s-{i}"));
        five.set_deliver_time_ms((now_ms() + 5000) as u64);
        for m in [one, five] {
            let body = String::from_utf8_lossy(m.body_slice()).into_owned();
            let at = now_ms();
            match producer.send_with_timeout(m, 5000).await {
                Ok(_) => {
                    sent.insert(body, at);
                }
                Err(e) => fails.push(format!("timer send {body}: {e}")),
            }
        }
    }
    let all = wait_until(Duration::from_secs(30), || {
        let s = seen.lock().unwrap();
        sent.keys().all(|b| s.contains_key(b))
    })
    .await;
    consumer.shutdown().await;
    let s = seen.lock().unwrap();
    let mut problems = Vec::new();
    let mut report = Vec::new();
    for (body, sent_at) in &sent {
        let Some(&(due, stored, arrived)) = s.get(body) else {
            problems.push(format!("{body} never arrived"));
            continue;
        };
        let (broker, client) = (stored - due, arrived - due);
        report.push(format!(
            "{body} due+{}ms broker {broker}ms consumer {client}ms",
            due - sent_at
        ));
        if due <= *sent_at || broker < 0 || client < 0 {
            problems.push(format!(
                "{body} early (due {due}, stored {stored}, arrived {arrived})"
            ));
        }
        if broker > BROKER_BOUND_MS || client > CONSUMER_BOUND_MS {
            problems.push(format!(
                "{body} late: broker {broker} ms, consumer {client} ms"
            ));
        }
    }
    println!("timer lateness: {}", report.join("; "));
    if warm && all && problems.is_empty() {
        println!(
            "PASS timer (1 s and 5 s timers, none early, broker lateness ≤ {BROKER_BOUND_MS} ms)"
        );
    } else {
        println!(
            "FAIL timer: warm {warm}, all {all}: {}",
            problems.join("; ")
        );
        fails.push("timer".into());
    }
}
