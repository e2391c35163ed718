//! Group and delivery scenarios: orderly consumption, lite pull with assign
//! and seek, long polling, two consumers sharing a group (and takeover),
//! delay levels, retry → DLQ.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocketmq_client_rust::{
    ClientResult, ClientRuntime, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus,
    ConsumeOrderlyContext, ConsumeOrderlyStatus, DefaultMQProducer, DefaultMQPushConsumer,
    MQPushConsumer, MessageListenerConcurrently, MessageListenerOrderly,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;

use crate::{config, message, wait_until, Collector, Failures, Seen};

/// Orderly listener: records (order id, seq) per delivery in arrival order.
struct OrderRecorder(Arc<Mutex<Vec<(usize, usize)>>>);

impl MessageListenerOrderly for OrderRecorder {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        ctx: &mut ConsumeOrderlyContext,
    ) -> ClientResult<ConsumeOrderlyStatus> {
        ctx.set_auto_commit(true);
        let mut v = self.0.lock().unwrap();
        for m in msgs {
            let body = String::from_utf8_lossy(m.message_inner().body_slice()).into_owned();
            // body = "order-<id>-<seq>"
            let mut it = body.trim_start_matches("order-").split('-');
            if let (Some(Ok(o)), Some(Ok(q))) =
                (it.next().map(str::parse), it.next().map(str::parse))
            {
                v.push((o, q));
            }
        }
        Ok(ConsumeOrderlyStatus::Success)
    }
}

pub(crate) async fn orderly(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    producer: &DefaultMQProducer,
    fails: &mut Failures,
) {
    let topic = "ConfOrderTopic";
    let (orders, per_order) = (8usize, 10usize);
    for seq in 0..per_order {
        for order in 0..orders {
            let msg = Message::builder()
                .topic(topic)
                .tags("TagO")
                .body_slice(format!("order-{order}-{seq}").as_bytes())
                .build_unchecked();
            let sent = producer
                .send_with_selector(
                    msg,
                    |mqs, _m, arg: &usize| Some(mqs[arg % mqs.len()].clone()),
                    order,
                )
                .await;
            if let Err(e) = sent {
                fails.push(format!("orderly send: {e}"));
                return;
            }
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(ns))
        .consumer_group("conf_cg_order")
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    if let Err(e) = consumer.subscribe(topic, "*").await {
        fails.push(format!("orderly subscribe: {e}"));
        return;
    }
    consumer.register_message_listener_orderly(OrderRecorder(seen.clone()));
    if let Err(e) = consumer.start().await {
        fails.push(format!("orderly consumer start: {e}"));
        return;
    }
    let total = orders * per_order;
    let ok = wait_until(Duration::from_secs(60), || {
        seen.lock().unwrap().len() >= total
    })
    .await;
    consumer.shutdown().await;
    let seen = seen.lock().unwrap();
    let mut next = vec![0usize; orders];
    let mut out_of_order = 0;
    for (o, q) in seen.iter() {
        if *q != next[*o] {
            out_of_order += 1;
        }
        next[*o] = q + 1;
    }
    if ok && out_of_order == 0 && next.iter().all(|n| *n == per_order) {
        println!("PASS orderly ({total} messages, every order in send order)");
    } else {
        println!(
            "FAIL orderly: {} delivered, {out_of_order} out of order",
            seen.len()
        );
        fails.push("orderly".into());
    }
}

/// Fails every delivery: with max reconsume 1 the message goes retry → DLQ.
struct AlwaysFail(Arc<Mutex<Vec<i32>>>);

impl MessageListenerConcurrently for AlwaysFail {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _ctx: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        let mut v = self.0.lock().unwrap();
        for m in msgs {
            v.push(m.reconsume_times());
        }
        Ok(ConsumeConcurrentlyStatus::ReconsumeLater)
    }
}

pub(crate) async fn retry_dlq(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    producer: &DefaultMQProducer,
    fails: &mut Failures,
) {
    let topic = "ConfRetryTopic";
    let group = "conf_cg_retry";
    if let Err(e) = producer
        .send_with_timeout(message(topic, "TagR", 0, "retry"), 5000)
        .await
    {
        fails.push(format!("retry send: {e}"));
        return;
    }
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(ns))
        .consumer_group(group)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .max_reconsume_times(1)
        .build();
    if let Err(e) = consumer.subscribe(topic, "*").await {
        fails.push(format!("retry subscribe: {e}"));
        return;
    }
    consumer.register_message_listener_concurrently(AlwaysFail(attempts.clone()));
    if let Err(e) = consumer.start().await {
        fails.push(format!("retry consumer start: {e}"));
        return;
    }
    // First failure → %RETRY% after level 3 (10 s); second → %DLQ%.
    let ok = wait_until(Duration::from_secs(60), || {
        attempts.lock().unwrap().len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    consumer.shutdown().await;
    let dlq_seen = Arc::new(Mutex::new(Seen::default()));
    let mut dlq = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(ns))
        .consumer_group("conf_cg_dlq_reader")
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    let dlq_topic = format!("%DLQ%{group}");
    let started = match dlq.subscribe(&dlq_topic, "*").await {
        Ok(()) => {
            dlq.register_message_listener_concurrently(Collector(dlq_seen.clone()));
            dlq.start().await.is_ok()
        }
        Err(_) => false,
    };
    let in_dlq = started
        && wait_until(Duration::from_secs(40), || {
            dlq_seen.lock().unwrap().by_body.contains_key("retry-0")
        })
        .await;
    dlq.shutdown().await;
    let attempts = attempts.lock().unwrap().clone();
    if ok && in_dlq && attempts.first() == Some(&0) && attempts.get(1) == Some(&1) {
        println!("PASS retry-dlq (reconsume times {attempts:?}, then in {dlq_topic})");
    } else {
        println!("FAIL retry-dlq: attempts {attempts:?}, in DLQ: {in_dlq}");
        fails.push("retry dlq".into());
    }
}

pub(crate) async fn delay(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    producer: &DefaultMQProducer,
    fails: &mut Failures,
) {
    let topic = "ConfDelayTopic";
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(ns))
        .consumer_group("conf_cg_delay")
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    // Create the topic first so the consumer is running before the send.
    if let Err(e) = producer
        .send_with_timeout(message(topic, "TagD", 0, "plain"), 5000)
        .await
    {
        fails.push(format!("delay warm-up send: {e}"));
        return;
    }
    if consumer.subscribe(topic, "*").await.is_err() {
        fails.push("delay subscribe".into());
        return;
    }
    consumer.register_message_listener_concurrently(Collector(seen.clone()));
    if consumer.start().await.is_err() {
        fails.push("delay consumer start".into());
        return;
    }
    let warm = wait_until(Duration::from_secs(30), || {
        seen.lock().unwrap().by_body.contains_key("plain-0")
    })
    .await;
    let msg = Message::builder()
        .topic(topic)
        .tags("TagD")
        .body_slice(b"delayed-0")
        .delay_level(2)
        .build_unchecked();
    let sent_at = Instant::now();
    if let Err(e) = producer.send_with_timeout(msg, 5000).await {
        fails.push(format!("delay send: {e}"));
    }
    let arrived = wait_until(Duration::from_secs(30), || {
        seen.lock().unwrap().by_body.contains_key("delayed-0")
    })
    .await;
    let took = sent_at.elapsed();
    consumer.shutdown().await;
    if warm && arrived && took >= Duration::from_millis(4500) {
        println!("PASS delay-level (level 2 = 5 s, arrived after {took:?})");
    } else {
        println!("FAIL delay-level: warm {warm}, arrived {arrived} after {took:?}");
        fails.push("delay level".into());
    }
}

pub(crate) async fn two_consumers(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    producer: &DefaultMQProducer,
    fails: &mut Failures,
) {
    let topic = "ConfShareTopic";
    let group = "conf_cg_share";
    // Create the topic (4 queues) before the consumers start.
    if let Err(e) = producer
        .send_with_timeout(message(topic, "TagS", 0, "share"), 5000)
        .await
    {
        fails.push(format!("share send: {e}"));
        return;
    }
    let mut consumers = Vec::new();
    let mut seens = Vec::new();
    for _ in 0..2 {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut c = DefaultMQPushConsumer::builder(rt.clone())
            .client_config(config(ns))
            .consumer_group(group)
            .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
            .build();
        if c.subscribe(topic, "*").await.is_err() {
            fails.push("share subscribe".into());
            return;
        }
        c.register_message_listener_concurrently(Collector(seen.clone()));
        if c.start().await.is_err() {
            fails.push("share consumer start".into());
            return;
        }
        consumers.push(c);
        seens.push(seen);
    }
    // Let both rebalance before sending the rest.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for i in 1..100 {
        if let Err(e) = producer
            .send_with_timeout(message(topic, "TagS", i, "share"), 5000)
            .await
        {
            fails.push(format!("share send: {e}"));
        }
    }
    let total = |s: &Vec<Arc<Mutex<Seen>>>| {
        let mut all = BTreeSet::new();
        for x in s {
            all.extend(x.lock().unwrap().by_body.keys().cloned());
        }
        all.len()
    };
    let ok = wait_until(Duration::from_secs(60), || total(&seens) >= 100).await;
    // Stop the second consumer: the first takes over its queues.
    if let Some(mut second) = consumers.pop() {
        second.shutdown().await;
    }
    for i in 0..20 {
        if let Err(e) = producer
            .send_with_timeout(message(topic, "TagS", i, "takeover"), 5000)
            .await
        {
            fails.push(format!("takeover send: {e}"));
        }
    }
    let first = seens[0].clone();
    let took_over = wait_until(Duration::from_secs(60), || {
        let s = first.lock().unwrap();
        (0..20).all(|i| s.by_body.contains_key(&format!("takeover-{i}")))
    })
    .await;
    for c in consumers.iter_mut() {
        c.shutdown().await;
    }
    if took_over {
        println!("PASS consumer-takeover (the remaining consumer got all 20 later messages)");
    } else {
        println!("FAIL consumer-takeover");
        fails.push("consumer takeover".into());
    }
    let counts: Vec<usize> = seens.iter().map(|s| s.lock().unwrap().deliveries).collect();
    let overlap = {
        let a = seens[0].lock().unwrap();
        let b = seens[1].lock().unwrap();
        a.by_body
            .keys()
            .filter(|k| b.by_body.contains_key(*k))
            .count()
    };
    if ok && counts.iter().all(|c| *c > 0) {
        println!("PASS two-consumers-one-group (deliveries {counts:?}, {overlap} seen by both during rebalance)");
    } else {
        println!(
            "FAIL two-consumers-one-group: {} of 100, deliveries {counts:?}",
            total(&seens)
        );
        fails.push("two consumers".into());
    }
}

pub(crate) async fn lite_pull(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    producer: &DefaultMQProducer,
    fails: &mut Failures,
) {
    let topic = "ConfLiteTopic";
    for i in 0..10 {
        let msg = message(topic, "TagL", i, "lite");
        let sent = producer
            .send_with_selector(msg, |mqs, _m, _arg: &usize| Some(mqs[0].clone()), 0usize)
            .await;
        if let Err(e) = sent {
            fails.push(format!("lite send: {e}"));
            return;
        }
    }
    let consumer = match rocketmq_client_rust::DefaultLitePullConsumer::builder(rt.clone())
        .name_server_addr(ns.to_owned())
        .consumer_group("conf_cg_lite")
        .auto_commit(false)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            fails.push(format!("lite build: {e}"));
            return;
        }
    };
    if let Err(e) = consumer.start().await {
        fails.push(format!("lite start: {e}"));
        return;
    }
    let queues = match consumer.fetch_message_queues(topic).await {
        Ok(q) => q,
        Err(e) => {
            println!("FAIL lite-pull: fetch queues: {e}");
            fails.push("lite pull".into());
            consumer.shutdown().await;
            return;
        }
    };
    let Some(q0) = queues.iter().find(|q| q.queue_id() == 0).cloned() else {
        fails.push("lite pull: no queue 0".into());
        consumer.shutdown().await;
        return;
    };
    let mut ok = consumer.assign(vec![q0.clone()]).await.is_ok();
    ok &= consumer.seek(&q0, 4).await.is_ok();
    let mut bodies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while bodies.len() < 6 && Instant::now() < deadline {
        for m in consumer.poll_with_timeout(1000).await {
            bodies.push(String::from_utf8_lossy(m.message_inner().body_slice()).into_owned());
        }
    }
    let want: Vec<String> = (4..10).map(|i| format!("lite-{i}")).collect();
    // Long polling: an empty queue answers within moments of a send.
    let sent_at = Instant::now();
    let waiter = async {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let got = consumer.poll_with_timeout(5000).await;
            if !got.is_empty() {
                return Some(sent_at.elapsed());
            }
        }
        None
    };
    let send = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let msg = message(topic, "TagL", 99, "lite");
        let _ = producer
            .send_with_selector(msg, |mqs, _m, _arg: &usize| Some(mqs[0].clone()), 0usize)
            .await;
    };
    let (latency, ()) = tokio::join!(waiter, send);
    consumer.shutdown().await;
    if ok && bodies == want {
        println!("PASS lite-pull-assign-seek (offsets 4..10 after seek)");
    } else {
        println!("FAIL lite-pull-assign-seek: got {bodies:?}");
        fails.push("lite pull".into());
    }
    match latency {
        Some(t) if t < Duration::from_secs(3) => {
            println!("PASS long-poll (message seen {t:?} after the send started)")
        }
        other => {
            println!("FAIL long-poll: {other:?}");
            fails.push("long poll".into());
        }
    }
}
