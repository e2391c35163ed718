//! Consumer offsets across broker groups (ADR 024 decision 5), with real
//! rokka processes: ga = {1, 2}, gb = {3}. A topic's home range is on ga
//! and `add-queues` gives it two partitions on gb (gb's local queues 0 and
//! 1); the Kafka coordinator of the groups used here is ga's master, so
//! those two partitions live on the group it is not on. Every wait is
//! bounded.

mod support;

use support::cluster::{await_that, find_coordinator, Cluster};
use support::kafka::{metadata, offset_commit, offset_fetch};
use support::remoting::{heartbeat, query_offset, update_offset};

const TOPIC: &str = "spread";

/// QUERY_CONSUMER_OFFSET on node `i`'s broker port: (code, offset).
fn rocketmq_offset(c: &Cluster, i: usize, group: &str, queue: u32) -> (i32, Option<i64>) {
    let mut rc = support::remoting::Conn::open(c.proc(i).broker);
    let r = rc.call(query_offset(group, TOPIC, queue));
    let offset = r.ext("offset").and_then(|o| o.parse().ok());
    (r.code, offset)
}

#[test]
fn offsets_cross_broker_groups_both_ways() {
    let c = Cluster::build_groups(0, false, &["ga", "ga", "gb"]);
    let ga = c.await_ga_master();
    // The topic on ga (auto-created by ga's master), then two queues on gb.
    let n = await_that(
        "the topic created on ga",
        || metadata(&mut c.kafka(ga), TOPIC),
        |md| md.topics.first().is_some_and(|t| t.error == 0),
    )
    .topics[0]
        .partitions as i32;
    await_that(
        "add-queues accepted",
        || c.admin(2, &["cluster", "add-queues", TOPIC, "gb", "2"]),
        |(ok, out)| *ok || !out.contains("not placed"),
    );
    await_that(
        "the coordinator's node sees gb's partitions",
        || metadata(&mut c.kafka(ga), TOPIC),
        |md| {
            md.topics
                .first()
                .is_some_and(|t| t.partitions == n as usize + 2)
        },
    );
    // Three group ids coordinated by ga's master.
    let ga_id = (ga + 1) as i32;
    let keys: Vec<String> = (0..40).map(|k| format!("xoff-{k}")).collect();
    let coords: Vec<(i16, i32)> = await_that(
        "every coordinator known",
        || {
            keys.iter()
                .map(|k| find_coordinator(&mut c.kafka(2), k))
                .collect::<Vec<_>>()
        },
        |v| v.iter().all(|(e, _)| *e == 0),
    );
    let on_ga: Vec<String> = keys
        .iter()
        .zip(&coords)
        .filter(|(_, (_, n))| *n == ga_id)
        .map(|(k, _)| k.clone())
        .take(3)
        .collect();
    let [kafka_first, rocketmq_first, held] = &on_ga[..] else {
        panic!("fewer than three of {keys:?} coordinated by ga: {coords:?}");
    };

    // Kafka -> RocketMQ: a commit of partition n + 1 through the coordinator
    // reaches gb's master as its local queue 1.
    let codes = offset_commit(
        &mut c.kafka(ga),
        kafka_first,
        -1,
        "",
        TOPIC,
        &[(n + 1, 5, "")],
    );
    assert_eq!(codes, vec![vec![0]]);
    assert_eq!(
        offset_fetch(&mut c.kafka(ga), kafka_first, TOPIC, &[n + 1])[0][0].0,
        5
    );
    await_that(
        "the commit at gb's master",
        || rocketmq_offset(&c, 2, kafka_first, 1),
        |r| *r == (0, Some(5)),
    );

    // RocketMQ -> Kafka: a commit of gb's local queue 0 answers OffsetFetch
    // of partition n at the coordinator, for a group with no Kafka commit.
    let mut rc = support::remoting::Conn::open(c.proc(2).broker);
    let r = rc.call(update_offset(rocketmq_first, TOPIC, 0, 7));
    assert_eq!(r.code, 0, "{:?}", r.remark);
    let got = await_that(
        "gb's offset through the coordinator",
        || offset_fetch(&mut c.kafka(ga), rocketmq_first, TOPIC, &[0, n, n + 1]),
        |got| got[0][1].0 == 7,
    );
    // No commit anywhere: -1 (Kafka's answer), on either group.
    assert_eq!(got[0][0].0, -1);
    assert_eq!(got[0][2].0, -1);
    // A Kafka commit wins over gb's afterwards (the Kafka source of truth).
    let codes = offset_commit(
        &mut c.kafka(ga),
        rocketmq_first,
        -1,
        "",
        TOPIC,
        &[(n, 9, "")],
    );
    assert_eq!(codes, vec![vec![0]]);
    assert_eq!(
        offset_fetch(&mut c.kafka(ga), rocketmq_first, TOPIC, &[n])[0][0].0,
        9
    );
    await_that(
        "the later Kafka commit at gb's master",
        || rocketmq_offset(&c, 2, rocketmq_first, 0),
        |r| *r == (0, Some(9)),
    );

    // ADR 006 at gb: while a RocketMQ consumer of the group is live there,
    // the forwarded Kafka commit is refused (counted) and gb's offset stays.
    let mut live = support::remoting::Conn::open(c.proc(2).broker);
    let hb = heartbeat(
        &mut live,
        "10.0.0.9@rmq",
        &[held],
        TOPIC,
        "CONSUME_FROM_LAST_OFFSET",
    );
    assert_eq!(hb.code, 0, "{:?}", hb.remark);
    assert_eq!(live.call(update_offset(held, TOPIC, 0, 3)).code, 0);
    let codes = offset_commit(&mut c.kafka(ga), held, -1, "", TOPIC, &[(n, 11, "")]);
    assert_eq!(codes, vec![vec![0]]);
    await_that(
        "the forward refused at gb",
        || refused_forwards(&c.proc(ga).metrics()),
        |v| *v >= 1.0,
    );
    assert_eq!(rocketmq_offset(&c, 2, held, 0), (0, Some(3)));
}

/// `rokka_cluster_offset_forwards_total{path="coordinator",outcome="refused"}`
/// in a metrics scrape (0 when absent).
fn refused_forwards(text: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("rokka_cluster_offset_forwards_total{"))
        .filter(|l| l.contains(r#"path="coordinator""#) && l.contains(r#"outcome="refused""#))
        .find_map(|l| l.rsplit_once(' ')?.1.parse().ok())
        .unwrap_or(0.0)
}
