//! SQL92 filter scenario (rokka runs with `enablePropertyFilter=true`): a
//! producer sets user properties `a` (a number) and `region`, some messages
//! carry neither; a push consumer subscribed with
//! `MessageSelector::by_sql` receives exactly the matching ones.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocketmq_client_rust::{
    ClientRuntime, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer, MessageSelector,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_single::Message;

use crate::{config, wait_until, Collector, Failures, Seen};

const SELECTOR: &str = "(a >= 10 AND region IN ('eu', 'us')) OR TAGS = 'Vip'";
const REGIONS: [&str; 3] = ["eu", "us", "ap"];

/// Builds message `i` and says whether SELECTOR keeps it.
fn sql_message(topic: &str, i: usize) -> (Message, bool) {
    let region = REGIONS[i % 3];
    let tag = if i % 7 == 0 { "Vip" } else { "Plain" };
    let mut b = Message::builder()
        .topic(topic)
        .tags(tag)
        .body_slice(format!("sql-{i}").as_bytes());
    // Every fifth message has no properties: NULL never matches.
    let with_props = i % 5 != 4;
    if with_props {
        b = b
            .raw_property("a", i.to_string())
            .expect("property a")
            .raw_property("region", region)
            .expect("property region");
    }
    let keep = (with_props && i >= 10 && region != "ap") || tag == "Vip";
    (b.build_unchecked(), keep)
}

pub(crate) async fn sql_filter(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    producer: &DefaultMQProducer,
    fails: &mut Failures,
) {
    let topic = "ConfSqlTopic";
    let mut want = BTreeSet::new();
    for i in 0..40 {
        let (m, keep) = sql_message(topic, i);
        if let Err(e) = producer.send_with_timeout(m, 5000).await {
            fails.push(format!("sql send: {e}"));
        }
        if keep {
            want.insert(format!("sql-{i}"));
        }
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(ns))
        .consumer_group("conf_cg_sql")
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    let selector = Some(MessageSelector::by_sql(SELECTOR));
    if let Err(e) = consumer.subscribe_with_selector(topic, selector).await {
        fails.push(format!("sql subscribe: {e}"));
        return;
    }
    consumer.register_message_listener_concurrently(Collector(seen.clone()));
    if let Err(e) = consumer.start().await {
        fails.push(format!("sql consumer start: {e}"));
        return;
    }
    let ok = wait_until(Duration::from_secs(60), || {
        seen.lock().unwrap().by_body.len() >= want.len()
    })
    .await;
    // Anything that should not arrive has had time to.
    tokio::time::sleep(Duration::from_secs(2)).await;
    consumer.shutdown().await;
    let seen = seen.lock().unwrap();
    let got: BTreeSet<String> = seen.by_body.keys().cloned().collect();
    if ok && got == want {
        println!(
            "PASS sql92-filter ({} of 40 delivered: {SELECTOR})",
            got.len()
        );
    } else {
        let extra: Vec<_> = got.difference(&want).collect();
        let missing: Vec<_> = want.difference(&got).collect();
        println!("FAIL sql92-filter: extra {extra:?}, missing {missing:?}");
        fails.push("sql92 filter".into());
    }
}
