//! POP consumption through the crates.io client: `setConsumeMode` (the
//! admin's SET_MESSAGE_REQUEST_MODE) puts (topic, group) in POP mode; a push
//! consumer with `client_rebalance(false)` asks the broker for its queues
//! (QUERY_ASSIGNMENT), gets queue -1 in POP mode and pops. The listener
//! fails every fourth message once: the client moves its invisible time
//! (CHANGE_MESSAGE_INVISIBLETIME, 10 s for the first retry), rokka revives
//! it to the POP retry topic and it comes back with reconsume times 1;
//! acked messages must never come back.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocketmq_client_rust::{
    ClientResult, ClientRuntime, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus,
    DefaultMQAdminExt, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
    MessageListenerConcurrently, TopicAdmin,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_enum::MessageRequestMode;
use rocketmq_model::common::message::message_ext::MessageExt;

use crate::{config, message, wait_until, Failures};

const N: usize = 12;

/// body → reconsume times of every delivery; fails `pop-<4k>` on its first.
struct FailSome(Arc<Mutex<BTreeMap<String, Vec<i32>>>>);

impl MessageListenerConcurrently for FailSome {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _ctx: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        let mut fail = false;
        let mut seen = self.0.lock().unwrap();
        for m in msgs {
            let body = String::from_utf8_lossy(m.message_inner().body_slice()).into_owned();
            let i: usize = body.trim_start_matches("pop-").parse().unwrap_or(1);
            fail |= i % 4 == 0 && m.reconsume_times() == 0;
            seen.entry(body).or_default().push(m.reconsume_times());
        }
        Ok(if fail {
            ConsumeConcurrentlyStatus::ReconsumeLater
        } else {
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
    }
}

async fn set_pop_mode(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    group: &str,
) -> Result<(), String> {
    let mut admin = DefaultMQAdminExt::new(rt.clone());
    admin.set_namesrv_addr(ns);
    admin
        .start()
        .await
        .map_err(|e| format!("admin start: {e}"))?;
    let result = async {
        let route = admin
            .examine_topic_route_info(topic.into())
            .await
            .map_err(|e| format!("route: {e}"))?
            .ok_or("no route")?;
        let addr = route
            .broker_datas
            .first()
            .and_then(|b| b.broker_addrs().get(&0).cloned())
            .ok_or("no broker address")?;
        admin
            .set_message_request_mode(
                addr,
                topic.into(),
                group.into(),
                MessageRequestMode::Pop,
                0,
                5000,
            )
            .await
            .map_err(|e| format!("setConsumeMode: {e}"))
    }
    .await;
    admin.shutdown().await;
    result
}

pub(crate) async fn pop(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    producer: &DefaultMQProducer,
    fails: &mut Failures,
) {
    let (topic, group) = ("ConfPopTopic", "conf_cg_pop");
    for i in 0..N {
        if let Err(e) = producer
            .send_with_timeout(message(topic, "TagP", i, "pop"), 5000)
            .await
        {
            fails.push(format!("pop send: {e}"));
            return;
        }
    }
    if let Err(e) = set_pop_mode(rt, ns, topic, group).await {
        println!("FAIL pop: {e}");
        fails.push("pop".into());
        return;
    }
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(ns))
        .consumer_group(group)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .client_rebalance(false)
        .pop_invisible_time(20_000)
        .build();
    if let Err(e) = consumer.subscribe(topic, "*").await {
        fails.push(format!("pop subscribe: {e}"));
        return;
    }
    consumer.register_message_listener_concurrently(FailSome(seen.clone()));
    if let Err(e) = consumer.start().await {
        fails.push(format!("pop consumer start: {e}"));
        return;
    }
    let done = |s: &BTreeMap<String, Vec<i32>>| {
        (0..N).all(|i| {
            let d = s.get(&format!("pop-{i}"));
            if i % 4 == 0 {
                d.is_some_and(|d| d.contains(&1))
            } else {
                d.is_some()
            }
        })
    };
    let ok = wait_until(Duration::from_secs(60), || done(&seen.lock().unwrap())).await;
    // Acked messages must not come back: give a revive round time to act.
    tokio::time::sleep(Duration::from_secs(2)).await;
    consumer.shutdown().await;
    let s = seen.lock().unwrap();
    let twice: Vec<&String> = s
        .iter()
        .filter(|(b, d)| {
            let i: usize = b.trim_start_matches("pop-").parse().unwrap_or(0);
            d.len() != if i % 4 == 0 { 2 } else { 1 }
        })
        .map(|(b, _)| b)
        .collect();
    if ok && twice.is_empty() {
        println!(
            "PASS pop ({N} popped, {} acked once, {} failed once and came back with reconsume times 1)",
            N - N.div_ceil(4),
            N.div_ceil(4)
        );
    } else {
        println!("FAIL pop: all delivered={ok}, wrong delivery counts {twice:?}: {s:?}");
        fails.push("pop".into());
    }
}
