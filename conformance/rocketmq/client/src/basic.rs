//! Producer and plain consumer scenarios: sync/async/oneway/batch sends,
//! one push consumer receiving everything with content checks, restart
//! resuming from the committed offset, tag filtering, query by key, view by id.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocketmq_client_rust::{
    ClientError, ClientRuntime, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_single::Message;

use crate::{config, message, wait_until, Collector, Expected, Failures, Seen};

pub(crate) async fn produce(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    fails: &mut Failures,
) -> (Expected, DefaultMQProducer) {
    let mut expected = Expected::new();
    let mut producer = DefaultMQProducer::builder(rt.clone())
        .client_config(config(ns))
        .producer_group("conf_pg")
        .build();
    if let Err(e) = producer.start().await {
        fails.push(format!("producer start: {e}"));
        return (expected, producer);
    }
    let mut record = |prefix: &str, i: usize, tag: &str| {
        expected.insert(
            format!("{prefix}-{i}"),
            (
                tag.to_owned(),
                format!("{prefix}-key-{i}"),
                format!("{prefix}:{i}"),
            ),
        );
    };
    // Sync sends.
    let mut sync_ok = 0;
    for i in 0..100 {
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        match producer
            .send_with_timeout(message(topic, tag, i, "sync"), 5000)
            .await
        {
            Ok(Some(r)) if r.offset_msg_id.is_some() => {
                sync_ok += 1;
                record("sync", i, tag);
            }
            Ok(other) => fails.push(format!("sync send {i}: unexpected result {other:?}")),
            Err(e) => fails.push(format!("sync send {i}: {e}")),
        }
    }
    println!(
        "{} sync-send ({sync_ok}/100)",
        if sync_ok == 100 { "PASS" } else { "FAIL" }
    );
    // Async sends with callbacks.
    let acked = Arc::new(Mutex::new(0usize));
    for i in 0..50 {
        let acked = acked.clone();
        let cb = move |r: Option<&rocketmq_model::result::SendResult>, e: Option<&ClientError>| {
            if r.is_some() && e.is_none() {
                *acked.lock().unwrap() += 1;
            }
        };
        match producer
            .send_with_callback(message(topic, "TagA", i, "async"), cb)
            .await
        {
            Ok(()) => record("async", i, "TagA"),
            Err(e) => fails.push(format!("async send {i}: {e}")),
        }
    }
    let ok = wait_until(Duration::from_secs(20), || *acked.lock().unwrap() == 50).await;
    println!(
        "{} async-send ({}/50 callbacks)",
        if ok { "PASS" } else { "FAIL" },
        acked.lock().unwrap()
    );
    if !ok {
        fails.push("async send callbacks".into());
    }
    // Oneway sends.
    for i in 0..20 {
        match producer
            .send_oneway(message(topic, "TagB", i, "oneway"))
            .await
        {
            Ok(()) => record("oneway", i, "TagB"),
            Err(e) => fails.push(format!("oneway send {i}: {e}")),
        }
    }
    println!("PASS oneway-send (20 issued)");
    // Batch sends: 83 batches of 10, bringing the total to 1,000 messages.
    let mut batches_ok = 0;
    for b in 0..83 {
        let batch: Vec<Message> = (0..10)
            .map(|j| message(topic, "TagA", b * 10 + j, "batch"))
            .collect();
        match producer.send_batch(batch).await {
            Ok(_) => {
                batches_ok += 1;
                for j in 0..10 {
                    record("batch", b * 10 + j, "TagA");
                }
            }
            Err(e) => fails.push(format!("batch send {b}: {e}")),
        }
    }
    println!(
        "{} batch-send ({batches_ok}/83 batches of 10)",
        if batches_ok == 83 { "PASS" } else { "FAIL" }
    );
    (expected, producer)
}

pub(crate) async fn consume_all(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    topic: &str,
    expected: &Expected,
    fails: &mut Failures,
) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(ns))
        .consumer_group("conf_cg_all")
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    if let Err(e) = consumer.subscribe(topic, "*").await {
        fails.push(format!("subscribe: {e}"));
        return;
    }
    consumer.register_message_listener_concurrently(Collector(seen.clone()));
    if let Err(e) = consumer.start().await {
        fails.push(format!("push consumer start: {e}"));
        return;
    }
    let want = expected.len();
    let got_all = wait_until(Duration::from_secs(90), || {
        seen.lock().unwrap().by_body.len() >= want
    })
    .await;
    consumer.shutdown().await;
    let seen = seen.lock().unwrap();
    let mut bad = Vec::new();
    for (body, (tag, key, scen)) in expected {
        match seen.by_body.get(body) {
            None => bad.push(format!("missing {body}")),
            Some((t, k, s)) => {
                if t.as_deref() != Some(tag)
                    || k.as_deref() != Some(key)
                    || s.as_deref() != Some(scen)
                {
                    bad.push(format!("{body}: got tags {t:?} keys {k:?} scen {s:?}"));
                }
            }
        }
    }
    let extra: Vec<_> = seen
        .by_body
        .keys()
        .filter(|b| !expected.contains_key(*b))
        .collect();
    if got_all && bad.is_empty() && extra.is_empty() {
        println!(
            "PASS push-consume-all ({} distinct, {} deliveries)",
            seen.by_body.len(),
            seen.deliveries
        );
    } else {
        let first: Vec<_> = bad.iter().take(5).collect();
        println!(
            "FAIL push-consume-all: {} of {want} seen; problems {first:?}; extra {extra:?}",
            seen.by_body.len()
        );
        fails.push("push consume all".into());
    }
}

pub(crate) async fn tag_filter(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    producer: &DefaultMQProducer,
    fails: &mut Failures,
) {
    let topic = "ConfTagTopic";
    let mut want = BTreeSet::new();
    for (i, tag) in ["TagA", "TagB", "TagC"].iter().cycle().take(30).enumerate() {
        if let Err(e) = producer
            .send_with_timeout(message(topic, tag, i, "tag"), 5000)
            .await
        {
            fails.push(format!("tag send: {e}"));
        }
        if *tag != "TagC" {
            want.insert(format!("tag-{i}"));
        }
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(ns))
        .consumer_group("conf_cg_tag")
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    // Spaces around || on purpose: the broker rebuilds the tag set itself.
    if let Err(e) = consumer.subscribe(topic, "TagA || TagB").await {
        fails.push(format!("tag subscribe: {e}"));
        return;
    }
    consumer.register_message_listener_concurrently(Collector(seen.clone()));
    if let Err(e) = consumer.start().await {
        fails.push(format!("tag consumer start: {e}"));
        return;
    }
    let ok = wait_until(Duration::from_secs(60), || {
        seen.lock().unwrap().by_body.len() >= want.len()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    consumer.shutdown().await;
    let seen = seen.lock().unwrap();
    let got: BTreeSet<String> = seen.by_body.keys().cloned().collect();
    let wrong: Vec<_> = seen
        .by_body
        .iter()
        .filter(|(_, (t, _, _))| t.as_deref() == Some("TagC"))
        .map(|(b, _)| b.clone())
        .collect();
    if ok && got == want && wrong.is_empty() {
        println!("PASS tag-filter ({} of 30 delivered, no TagC)", got.len());
    } else {
        println!(
            "FAIL tag-filter: got {} want {}; TagC delivered {wrong:?}",
            got.len(),
            want.len()
        );
        fails.push("tag filter".into());
    }
}

pub(crate) async fn query_and_view(
    producer: &mut DefaultMQProducer,
    topic: &str,
    fails: &mut Failures,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    match producer
        .query_message(topic, "sync-key-7", 32, 0, now + 60_000)
        .await
    {
        Ok(r) => {
            let found = r
                .message_list()
                .iter()
                .any(|m| m.message_inner().body_slice() == b"sync-7");
            println!(
                "{} query-by-key ({} found)",
                if found { "PASS" } else { "FAIL" },
                r.message_list().len()
            );
            if !found {
                fails.push("query by key".into());
            }
        }
        Err(e) => {
            println!("FAIL query-by-key: {e}");
            fails.push(format!("query by key: {e}"));
        }
    }
    let sent = producer
        .send_with_timeout(message(topic, "TagA", 0, "view"), 5000)
        .await;
    match sent {
        Ok(Some(r)) => match r.offset_msg_id {
            Some(id) => match producer.view_message(topic, &id).await {
                Ok(m) if m.message_inner().body_slice() == b"view-0" => println!("PASS view-by-id"),
                Ok(_) => {
                    println!("FAIL view-by-id: wrong body");
                    fails.push("view by id".into());
                }
                Err(e) => {
                    println!("FAIL view-by-id: {e}");
                    fails.push(format!("view by id: {e}"));
                }
            },
            None => fails.push("no offset msg id".into()),
        },
        other => fails.push(format!("view send: {other:?}")),
    }
}

pub(crate) async fn restart_resumes(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    producer: &DefaultMQProducer,
    topic: &str,
    fails: &mut Failures,
) {
    for i in 0..10 {
        if let Err(e) = producer
            .send_with_timeout(message(topic, "TagA", i, "resume"), 5000)
            .await
        {
            fails.push(format!("resume send: {e}"));
        }
    }
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config(ns))
        .consumer_group("conf_cg_all")
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    if consumer.subscribe(topic, "*").await.is_err() {
        fails.push("resume subscribe".into());
        return;
    }
    consumer.register_message_listener_concurrently(Collector(seen.clone()));
    if consumer.start().await.is_err() {
        fails.push("resume consumer start".into());
        return;
    }
    let ok = wait_until(Duration::from_secs(60), || {
        let s = seen.lock().unwrap();
        (0..10).all(|i| s.by_body.contains_key(&format!("resume-{i}")))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    consumer.shutdown().await;
    let s = seen.lock().unwrap();
    let old: Vec<_> = s
        .by_body
        .keys()
        .filter(|b| !b.starts_with("resume-"))
        .cloned()
        .collect();
    if ok && old.is_empty() {
        println!("PASS restart-resumes (10 new messages, nothing re-delivered)");
    } else {
        println!(
            "FAIL restart-resumes: all new seen {ok}; re-delivered {} old: {:?}",
            old.len(),
            old.iter().take(5).collect::<Vec<_>>()
        );
        fails.push("restart resumes".into());
    }
}
