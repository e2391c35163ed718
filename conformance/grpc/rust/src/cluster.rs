//! `rokka-grpc-rust-conformance cluster HOST:PORT TOPIC COUNT GROUP`: the
//! SDK against a rokka cluster whose topic spans two broker groups
//! (`conformance/grpc/cluster.sh`). A producer started through HOST:PORT
//! sends COUNT messages (rocketmq 5.0.0 picks the route's queues round
//! robin, so they go to both groups' masters at the endpoints the route
//! names), then a SimpleConsumer of GROUP receives and acks until it has
//! every one (its receives alternate between the groups the same way).
//! Prints `PASS`/`FAIL` lines; the caller checks where the messages landed.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rocketmq::conf::ProducerOption;
use rocketmq::model::message::MessageBuilder;
use rocketmq::Producer;

use crate::{all, client_option, consumer, err, Report, Res};

/// Runs the scenario; `Err` when a client could not be set up.
pub(crate) async fn spread(
    addr: &str,
    topic: &str,
    count: usize,
    group: &str,
    r: &mut Report,
) -> Res<()> {
    let mut po = ProducerOption::default();
    po.set_topics(vec![topic]);
    let mut producer = Producer::new(po, client_option(addr)).map_err(err("producer"))?;
    producer.start().await.map_err(err("producer start"))?;
    let want: BTreeSet<String> = (0..count).map(|i| format!("spread-{i}")).collect();
    let mut failed = Vec::new();
    for body in &want {
        let m = MessageBuilder::builder()
            .set_topic(topic)
            .set_tag("spread")
            .set_keys(vec![body.clone()])
            .set_body(body.clone().into_bytes())
            .build()
            .map_err(err("message"))?;
        if let Err(e) = producer.send(m).await {
            failed.push(format!("{body}: {e:?}"));
        }
    }
    r.check(
        "cluster: every send acknowledged",
        failed.is_empty(),
        &failed,
    );

    let c = consumer(addr, group, topic).await?;
    let mut got = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < want.len() && Instant::now() < deadline {
        match c
            .receive_with(topic, &all(), 32, Duration::from_secs(20))
            .await
        {
            Ok(ms) => {
                for m in &ms {
                    got.insert(String::from_utf8_lossy(m.body()).into_owned());
                    c.ack(m).await.map_err(err("ack"))?;
                }
            }
            // A receive that found nothing in its long poll is not an error
            // in 5.0.0; anything else is retried until the deadline.
            Err(e) => eprintln!("receive: {e:?}"),
        }
    }
    let missing: Vec<_> = want.difference(&got).collect();
    r.check(
        "cluster: every message received",
        missing.is_empty(),
        &missing,
    );
    producer
        .shutdown()
        .await
        .map_err(err("producer shutdown"))?;
    c.shutdown().await.map_err(err("consumer shutdown"))
}
