//! `<namesrv> lag <topic> <group> <N> <M>`: sends N messages to queue 0 of `topic`,
//! then a lite pull consumer of `group` (assign + seek, no auto-commit) polls
//! until it has M of them and commits offset M for queue 0 to the broker,
//! and stops. The group then lags N − M on that queue, which the
//! observability suite reads from `/metrics` through Prometheus.
//!
//! Prints `LAG OK ...` and returns `Ok` when N sends succeeded, M messages
//! were polled and the broker reports committed offset M; every wait is
//! bounded.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocketmq_client_rust::{ClientRuntime, DefaultLitePullConsumer, DefaultMQProducer};

use crate::{config, message};

/// If the arguments are `<namesrv> lag <topic> <group> <N> <M>`, runs the
/// scenario and exits the process (0 on success); otherwise returns.
pub(crate) async fn dispatch(rt: Arc<ClientRuntime>, ns: &str) {
    let args: Vec<String> = std::env::args().collect();
    if args.get(2).map(String::as_str) != Some("lag") {
        return;
    }
    let result = match &args[..] {
        [_, _, _, topic, group, n, m] => match (n.parse(), m.parse()) {
            (Ok(n), Ok(m)) => {
                let scenario = run(
                    rt.clone(),
                    ns.to_owned(),
                    topic.clone(),
                    group.clone(),
                    n,
                    m,
                );
                tokio::time::timeout(Duration::from_secs(180), scenario)
                    .await
                    .unwrap_or_else(|_| Err("not finished within 180 s".to_owned()))
            }
            _ => Err("N and M must be numbers".to_owned()),
        },
        _ => Err("usage: <namesrv> lag <topic> <group> <N> <M>".to_owned()),
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), rt.shutdown()).await;
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            println!("LAG FAILED: {e}");
            std::process::exit(1);
        }
    }
}

/// Runs the scenario; the error says which step failed.
async fn run(
    rt: Arc<ClientRuntime>,
    ns: String,
    topic: String,
    group: String,
    n: usize,
    m: usize,
) -> Result<(), String> {
    if m > n {
        return Err(format!("M ({m}) must not exceed N ({n})"));
    }
    let mut producer = DefaultMQProducer::builder(rt.clone())
        .client_config(config(&ns))
        .producer_group("obs_lag_pg")
        .build();
    producer
        .start()
        .await
        .map_err(|e| format!("producer start: {e}"))?;
    let mut sent = 0;
    for i in 0..n {
        let msg = message(&topic, "TagLag", i, "lag");
        let r = producer
            .send_with_selector(msg, |mqs, _m, _arg: &usize| Some(mqs[0].clone()), 0usize)
            .await;
        match r {
            Ok(_) => sent += 1,
            Err(e) => return Err(format!("send {i}: {e}")),
        }
    }
    producer.shutdown().await;

    let consumer = DefaultLitePullConsumer::builder(rt)
        .name_server_addr(ns)
        .consumer_group(group.as_str())
        .auto_commit(false)
        .build()
        .map_err(|e| format!("consumer build: {e}"))?;
    consumer
        .start()
        .await
        .map_err(|e| format!("consumer start: {e}"))?;
    let result = consume(&consumer, &topic, m).await;
    consumer.shutdown().await;
    let committed = result?;
    println!("LAG OK topic {topic} group {group}: sent {sent}, committed {committed}");
    Ok(())
}

/// Polls queue 0 from offset 0 until M messages arrived, commits M and
/// returns the offset the broker then reports.
async fn consume(consumer: &DefaultLitePullConsumer, topic: &str, m: usize) -> Result<i64, String> {
    let queues = consumer
        .fetch_message_queues(topic)
        .await
        .map_err(|e| format!("fetch queues: {e}"))?;
    let q0 = queues
        .iter()
        .find(|q| q.queue_id() == 0)
        .cloned()
        .ok_or("no queue 0")?;
    consumer
        .assign(vec![q0.clone()])
        .await
        .map_err(|e| format!("assign: {e}"))?;
    consumer
        .seek(&q0, 0)
        .await
        .map_err(|e| format!("seek: {e}"))?;
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while got < m && Instant::now() < deadline {
        got += consumer.poll_with_timeout(1000).await.len();
    }
    if got < m {
        return Err(format!("polled {got} messages within 60 s, want {m}"));
    }
    let want = m as i64;
    consumer
        .commit_with_map(HashMap::from([(q0.clone(), want)]), true)
        .await;
    // The commit goes out as UPDATE_CONSUMER_OFFSET; wait until the broker
    // answers QUERY_CONSUMER_OFFSET with it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let committed = consumer.committed(&q0).await.unwrap_or(-1);
        if committed == want {
            return Ok(committed);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "broker reports committed offset {committed}, want {want}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
