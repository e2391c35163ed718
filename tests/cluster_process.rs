//! Three real rokka processes in cluster mode (issue 12, ADR 015): election,
//! acks=all through the Kafka protocol, SIGKILL of the master (and of the
//! node that is both master and Raft leader), the old master rejoining as a
//! slave after cutting its divergent tail. Every wait is bounded.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use rokka_protocols::kafka::metadata::MetadataResponse;
use rokka_protocols::kafka::records::{build_v2_batch, Record};
use rokka_protocols::kafka::Reader;
use support::cluster::{await_that, find_coordinator, Cluster, ELECTION};
use support::kafka::{
    all_records, create_topic, epoch_end, fetch, heartbeat, init_producer_id, join, leave,
    offset_commit, offset_fetch, produce, sync_group, Conn,
};
use support::Rokka;

const TOPIC: &str = "replicated";

impl Cluster {
    /// Waits until node `i` knows the topic (configs replicate through Raft).
    fn await_topic(&self, i: usize) -> MetadataResponse {
        let deadline = Instant::now() + ELECTION;
        loop {
            let md = metadata(&mut self.kafka(i));
            if md.topics.first().is_some_and(|t| t.error_code == 0) {
                return md;
            }
            assert!(
                Instant::now() < deadline,
                "topic config never reached node {i}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn batch(n: usize) -> Bytes {
    let rec = Record {
        timestamp: 1_700_000_000_000,
        key: Some(Bytes::from(format!("k{n}"))),
        value: Some(Bytes::from(format!("v{n}"))),
        headers: Vec::new(),
    };
    build_v2_batch(0, &[rec])
}

fn metadata(c: &mut Conn) -> MetadataResponse {
    // v8: the newest non-flexible version, with leader epochs.
    let b = c.call(3, 8, |w| {
        w.array(&[TOPIC], |w, t| w.str(t));
        w.bool(true);
        w.bool(false);
        w.bool(false);
    });
    MetadataResponse::decode(&mut Reader::new(&b, 0, false), 8).unwrap()
}

/// Produces acks=all until `count` batches are acknowledged; returns their values.
fn produce_acked(c: &mut Conn, from: usize, count: usize) -> Vec<String> {
    let mut acked = Vec::new();
    let deadline = Instant::now() + ELECTION;
    let mut n = from;
    while acked.len() < count {
        let (err, _) = produce(c, TOPIC, 0, batch(n), -1);
        if err == 0 {
            acked.push(format!("v{n}"));
        }
        n += 1;
        assert!(
            Instant::now() < deadline,
            "acks=all produce kept failing ({err})"
        );
    }
    acked
}

/// Every value stored in partition 0 of the topic on node `i` (the master).
fn stored_values(c: &mut Conn) -> Vec<String> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let (err, hw, records) = fetch(c, TOPIC, 0, offset, 0);
        assert_eq!(err, 0, "fetch from the master");
        let recs = all_records(&records);
        if recs.is_empty() || offset >= hw {
            return out;
        }
        offset += recs.len() as i64;
        out.extend(recs.iter().filter_map(|r| {
            r.value
                .as_ref()
                .map(|v| String::from_utf8_lossy(v).into_owned())
        }));
    }
}

/// The value of the sample `name{labels}` in a Prometheus text scrape (the
/// labels given must all match; others are ignored).
fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
        let all = labels
            .iter()
            .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        (n == name && all).then(|| value.parse().ok())?
    })
}

impl Cluster {
    /// Waits until node `i` reports `name{labels}` and `ok` holds for it.
    fn await_metric(
        &self,
        i: usize,
        name: &str,
        labels: &[(&str, &str)],
        ok: impl Fn(f64) -> bool,
    ) {
        let deadline = Instant::now() + ELECTION;
        loop {
            let text = self.proc(i).metrics();
            if metric(&text, name, labels).is_some_and(&ok) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {i}: {name}{labels:?} never as expected: {:?}",
                text.lines()
                    .filter(|l| l.starts_with(name))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The cluster metrics of a healthy group of three with master `m` at
    /// `epoch`: every role, the master's view of each slave, Raft agreement.
    fn assert_cluster_metrics(&self, m: usize, epoch: u64) {
        let g = [("group", "broker-a")];
        let master_id = (m + 1) as f64;
        for i in 0..3 {
            self.await_metric(i, "rokka_cluster_role", &g, |v| {
                v == if i == m { 2.0 } else { 1.0 }
            });
            let text = self.proc(i).metrics();
            let at = |name: &str| metric(&text, name, &g);
            assert_eq!(at("rokka_cluster_epoch"), Some(epoch as f64), "node {i}");
            assert_eq!(at("rokka_cluster_master_id"), Some(master_id), "node {i}");
            assert_eq!(at("rokka_cluster_members"), Some(3.0), "node {i}");
            assert_eq!(at("rokka_cluster_fenced"), Some(0.0), "node {i}");
            if i != m {
                // Per-slave series exist on the master only.
                assert_eq!(metric(&text, "rokka_cluster_replica_lag_bytes", &[]), None);
            }
        }
        for s in (0..3).filter(|s| *s != m) {
            let r = (s + 1).to_string();
            let slave = [("group", "broker-a"), ("replica", r.as_str())];
            self.await_metric(m, "rokka_cluster_replica_in_sync", &slave, |v| v == 1.0);
            self.await_metric(m, "rokka_cluster_replica_lag_bytes", &slave, |v| v == 0.0);
            self.await_metric(m, "rokka_cluster_replica_lag_seconds", &slave, |v| v == 0.0);
        }
        self.await_metric(m, "rokka_cluster_isr_size", &g, |v| v == 3.0);
        self.await_metric(m, "rokka_cluster_unreplicated_bytes", &g, |v| v == 0.0);
        // Raft: one leader, every node names it and is in the same term.
        let deadline = Instant::now() + ELECTION;
        loop {
            let texts: Vec<String> = (0..3).map(|i| self.proc(i).metrics()).collect();
            let of = |name: &str| -> Vec<Option<f64>> {
                texts.iter().map(|t| metric(t, name, &[])).collect()
            };
            let (leaders, ids, terms) = (
                of("rokka_cluster_raft_is_leader"),
                of("rokka_cluster_raft_leader_id"),
                of("rokka_cluster_raft_term"),
            );
            let one_leader = leaders.iter().filter(|v| **v == Some(1.0)).count() == 1;
            let leader_id = leaders
                .iter()
                .position(|v| *v == Some(1.0))
                .map(|i| (i + 1) as f64);
            if one_leader
                && ids.iter().all(|v| *v == leader_id)
                && terms
                    .iter()
                    .all(|t| *t == terms[0] && t.is_some_and(|t| t >= 1.0))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Raft metrics disagree: leaders {leaders:?} ids {ids:?} terms {terms:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn assert_all_present(acked: &[String], stored: &[String]) {
    for v in acked {
        assert!(
            stored.contains(v),
            "acknowledged {v} missing after failover"
        );
    }
}

#[test]
fn three_nodes_fail_over_without_losing_acknowledged_records() {
    let mut cl = Cluster::new();
    let (m, epoch) = cl.await_master(None, 3);

    // Topic created on the master; Metadata on every node names the master.
    let mut mc = cl.kafka(m);
    let md = metadata(&mut mc);
    let mut acked = produce_acked(&mut mc, 0, 20);
    let slave = (m + 1) % 3;
    let smd = cl.await_topic(slave);
    for r in [&md, &smd] {
        assert_eq!(r.brokers.len(), 3, "{r:?}");
        let p = &r.topics[0].partitions[0];
        assert_eq!(p.leader_id, (m + 1) as i32);
        assert_eq!(p.leader_epoch, epoch as i32);
        assert_eq!(p.replica_nodes, vec![1, 2, 3]);
    }
    // A slave serves RocketMQ pulls of what it holds (slave reads while a
    // master is down), without waiting for replica acks it never gets.
    let mut rc = support::remoting::Conn::open(
        format!("127.0.0.1:{}", cl.nodes[slave].listen)
            .parse()
            .unwrap(),
    );
    let pulled = support::remoting::wait_for(&mut rc, TOPIC, 0, ELECTION);
    assert!(!pulled.is_empty(), "a pull on a slave returned nothing");
    // Past its end a slave (maybe lagging) never moves the consumer's offset
    // (upstream's slave, offsetCheckInSlave off); the master does.
    let past = |c: &mut support::remoting::Conn| {
        let r = support::remoting::pull(c, TOPIC, 0, 1_000, 4, "*", 0);
        (r.code, r.ext("nextBeginOffset").map(str::to_owned))
    };
    assert_eq!(
        past(&mut rc),
        (19, Some("1000".into())),
        "slave past its end"
    );
    let mut mr0 =
        support::remoting::Conn::open(format!("127.0.0.1:{}", cl.nodes[m].listen).parse().unwrap());
    let (code, next) = past(&mut mr0);
    let next: u64 = next.unwrap().parse().unwrap();
    assert!(
        code == 21 && next < 1_000,
        "master past its end: {code} {next}"
    );
    // POP is the master's: a slave refuses it (SERVICE_NOT_AVAILABLE).
    let p = rc.call(support::remoting::pop_request("pg", TOPIC, 0));
    assert_eq!(p.code, 14, "POP on a slave: {:?}", p.remark);
    // A RocketMQ consumer commits to a slave (the route named no master):
    // the slave keeps the commit and forwards it to the master.
    let commit = rc.call(support::remoting::update_offset("rg", TOPIC, 0, 3));
    assert_eq!(commit.code, 0, "{:?}", commit.remark);
    let mut mr =
        support::remoting::Conn::open(format!("127.0.0.1:{}", cl.nodes[m].listen).parse().unwrap());
    let deadline = Instant::now() + ELECTION;
    loop {
        let q = mr.call(support::remoting::query_offset("rg", TOPIC, 0));
        if q.code == 0 && q.ext("offset") == Some("3") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the master never got the offset committed on a slave: {q:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let q = rc.call(support::remoting::query_offset("rg", TOPIC, 0));
    assert_eq!(q.ext("offset"), Some("3"), "the slave keeps its commit");
    // A forward that arrives after the consumer committed a newer offset
    // to the master directly never moves the master's offset back.
    let forwarded = |cl: &Cluster| {
        metric(
            &cl.proc(slave).metrics(),
            "rokka_cluster_offset_forwards_total",
            &[("path", "slave"), ("outcome", "ok")],
        )
        .unwrap_or(0.0)
    };
    let before = forwarded(&cl);
    let direct = mr.call(support::remoting::update_offset("rg", TOPIC, 0, 9));
    assert_eq!(direct.code, 0, "{:?}", direct.remark);
    let stale = rc.call(support::remoting::update_offset("rg", TOPIC, 0, 5));
    assert_eq!(stale.code, 0, "{:?}", stale.remark);
    await_that(
        "the stale commit forwarded",
        || forwarded(&cl),
        |n| *n > before,
    );
    let q = mr.call(support::remoting::query_offset("rg", TOPIC, 0));
    assert_eq!(
        q.ext("offset"),
        Some("9"),
        "a late forward moved the master's offset back"
    );
    // A slave refuses writes with NOT_LEADER_OR_FOLLOWER.
    assert_eq!(produce(&mut cl.kafka(slave), TOPIC, 0, batch(999), -1).0, 6);
    // Group requests on a slave: NOT_COORDINATOR (16), the client looks the
    // coordinator up again; on the master a commit is acknowledged once
    // replicated, and the new master serves it after the failover.
    let mut sc = cl.kafka(slave);
    assert_eq!(join(&mut sc, 5, "g1", "").error, 16);
    assert_eq!(
        offset_commit(&mut sc, "g1", -1, "", TOPIC, &[(0, 7, "s")]),
        vec![vec![16]]
    );
    assert_eq!(leave(&mut sc, "g1", "m"), 16);
    assert_eq!(
        offset_commit(&mut mc, "g1", -1, "", TOPIC, &[(0, 11, "m")]),
        vec![vec![0]]
    );
    assert_eq!(
        offset_fetch(&mut mc, "g1", TOPIC, &[0]),
        vec![vec![(11, Some("m".to_string()))]]
    );
    // A stable consumer group (its metadata recorded in
    // `__consumer_offsets`): its member heartbeats on after the failover.
    let j = await_that(
        "a joined group",
        || join(&mut mc, 0, "gm", ""),
        |j| j.error == 0,
    );
    let (e, _) = sync_group(
        &mut mc,
        "gm",
        j.generation,
        &j.member,
        &[(&j.member, b"p0")],
    );
    assert_eq!(e, 0);
    cl.assert_cluster_metrics(m, epoch);
    // Acknowledged just before the kill: on the in-sync replicas already.
    assert_eq!(
        offset_commit(&mut mc, "g1", -1, "", TOPIC, &[(0, 12, "last")]),
        vec![vec![0]]
    );

    // 1. SIGKILL the master: a new one from the in-sync set, every
    // acknowledged record on it.
    let killed = Instant::now();
    cl.kill(m);
    let (m2, epoch2) = cl.await_master(Some(m), 2);
    let mut c2 = cl.kafka(m2);
    acked.extend(produce_acked(&mut c2, 100, 10));
    let failover = killed.elapsed();
    assert!(epoch2 > epoch);
    assert_all_present(&acked, &stored_values(&mut c2));
    assert_eq!(
        offset_fetch(&mut c2, "g1", TOPIC, &[0]),
        vec![vec![(12, Some("last".to_string()))]],
        "the committed offset on the new master"
    );
    assert_eq!(
        heartbeat(&mut c2, "gm", j.generation, &j.member),
        0,
        "the group's member on the new coordinator (no rebalance)"
    );
    eprintln!("failover: kill to first acks=all produce on the new master in {failover:?}");
    // A consumer validating its position after the leader change (KIP-320):
    // the new master answers with its log end; a stale or future leader
    // epoch is fenced, and the surviving slave does not answer.
    let end = stored_values(&mut c2).len() as i64;
    let (e2, old) = (epoch2 as i32, epoch as i32);
    assert_eq!(epoch_end(&mut c2, TOPIC, 0, e2, 0), (0, 0, end));
    assert_eq!(epoch_end(&mut c2, TOPIC, 0, -1, e2 + 5), (0, e2, end));
    assert_eq!(epoch_end(&mut c2, TOPIC, 0, old, 0).0, 74);
    assert_eq!(epoch_end(&mut c2, TOPIC, 0, e2 + 1, 0).0, 75);
    let other = 3 - m - m2;
    assert_eq!(epoch_end(&mut cl.kafka(other), TOPIC, 0, e2, 0).0, 6);
    let g = [("group", "broker-a")];
    let survivors = cl.proc(m2).metrics();
    assert_eq!(
        metric(&survivors, "rokka_cluster_promotions_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        metric(&survivors, "rokka_cluster_epoch", &g),
        Some(epoch2 as f64)
    );
    // The dead master is out of the in-sync set; the new master counts the failover.
    cl.await_metric(m2, "rokka_cluster_isr_size", &g, |v| v == 2.0);
    cl.await_metric(m2, "rokka_cluster_failovers_total", &[], |v| v >= 1.0);
    let dead = (m + 1).to_string();
    cl.await_metric(
        m2,
        "rokka_cluster_replica_in_sync",
        &[("group", "broker-a"), ("replica", dead.as_str())],
        |v| v == 0.0,
    );

    // 2. The old master returns as a slave and catches up (back in the ISR).
    cl.start(m);
    let (m3, _) = cl.await_master(None, 3);
    assert_eq!(m3, m2);
    cl.proc(m)
        .logged(&["cluster: node", "is slave of broker-a"]);
    cl.assert_cluster_metrics(m2, epoch2);

    // 3. Kill the node that is both master and Raft leader. Until they are
    // the same node, kill the Raft leader (not the master) and bring it back:
    // each round the leadership moves, half the time to the master.
    let mut round = 0;
    let (master, leader) = loop {
        let (mi, _) = cl.await_master(None, 3);
        match cl.raft_leader(mi) {
            Some(l) if l == mi => break (mi, l),
            Some(l) => {
                round += 1;
                assert!(round <= 12, "the Raft leader never landed on the master");
                cl.kill(l);
                let deadline = Instant::now() + ELECTION;
                while cl.raft_leader(mi).is_none_or(|x| x == l) {
                    assert!(Instant::now() < deadline, "no new Raft leader");
                    std::thread::sleep(Duration::from_millis(100));
                }
                cl.start(l);
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    assert_eq!(master, leader);
    let mut c = cl.kafka(master);
    acked.extend(produce_acked(&mut c, 200, 10));
    let killed = Instant::now();
    cl.kill(master);
    let (m4, _) = cl.await_master(Some(master), 2);
    let mut c4 = cl.kafka(m4);
    acked.extend(produce_acked(&mut c4, 300, 5));
    eprintln!(
        "master + Raft leader killed: first acks=all produce on the new master after {:?}",
        killed.elapsed()
    );
    assert_all_present(&acked, &stored_values(&mut c4));
    cl.start(master);
    cl.await_master(None, 3);
}

#[test]
fn an_isolated_old_master_cuts_its_divergent_tail_and_rejoins() {
    let mut cl = Cluster::new();
    let (m, _) = cl.await_master(None, 3);
    let mut mc = cl.kafka(m);
    metadata(&mut mc);
    let mut acked = produce_acked(&mut mc, 0, 10);
    let slaves: Vec<usize> = (0..3).filter(|i| *i != m).collect();
    for s in &slaves {
        cl.await_topic(*s);
    }
    let j = await_that(
        "a joined group",
        || join(&mut mc, 0, "iso", ""),
        |j| j.error == 0,
    );
    // Both slaves die; the master takes acks=1 writes alone until it notices
    // it lost the majority (then it refuses): its divergent tail.
    for s in &slaves {
        cl.kill(*s);
    }
    let mut tail = 0;
    for n in 500..520 {
        if produce(&mut mc, TOPIC, 0, batch(n), 1).0 == 0 {
            tail += 1;
        }
    }
    assert!(tail > 0, "the isolated master took no write at all");
    // POP reads stop at the high watermark too, as pulls do (once the node
    // has fenced itself it refuses POP as a non-master: 14).
    let mut rc =
        support::remoting::Conn::open(format!("127.0.0.1:{}", cl.nodes[m].listen).parse().unwrap());
    let p = rc.call(support::remoting::pop_request("iso-pop", TOPIC, 0));
    let popped: Vec<String> = support::remoting::found(&p)
        .iter()
        .map(|x| String::from_utf8_lossy(&x.body).into_owned())
        .collect();
    assert!(
        (p.code == 0 && popped.contains(&"v0".to_owned())) || p.code == 14,
        "POP on the isolated master: {} {:?} {popped:?}",
        p.code,
        p.remark
    );
    assert!(
        !popped
            .iter()
            .any(|v| (500..520).any(|n| *v == format!("v{n}"))),
        "POP served records past the high watermark: {popped:?}"
    );
    // The group coordinator acknowledges nothing no in-sync replica holds:
    // a SyncGroup and an OffsetCommit get COORDINATOR_NOT_AVAILABLE (15) —
    // or NOT_COORDINATOR (16) once the master has fenced itself — never 0.
    // Nor does the transaction coordinator (`__transaction_state`). Sent
    // side by side, so that none waits for another's answer.
    let (mut mc2, mut mc3) = (cl.kafka(m), cl.kafka(m));
    let (sync, commit, txn) = std::thread::scope(|s| {
        let sync = s.spawn(|| {
            let assignment: &[(&str, &[u8])] = &[(&j.member, b"p")];
            sync_group(&mut mc, "iso", j.generation, &j.member, assignment).0
        });
        let txn = s.spawn(|| init_producer_id(&mut mc3, "iso-txn", 60_000).0);
        let commit = offset_commit(&mut mc2, "iso-commits", -1, "", TOPIC, &[(0, 5, "")]);
        (sync.join().unwrap(), commit[0][0], txn.join().unwrap())
    });
    for (what, e) in [
        ("SyncGroup", sync),
        ("OffsetCommit", commit),
        ("InitProducerId", txn),
    ] {
        assert!([15, 16].contains(&e), "{what} on the isolated master: {e}");
    }
    // It fences itself: NOT_LEADER_OR_FOLLOWER within the master timeout.
    let deadline = Instant::now() + ELECTION;
    while produce(&mut mc, TOPIC, 0, batch(599), 1).0 != 6 {
        assert!(
            Instant::now() < deadline,
            "the isolated master kept taking writes"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Its readers never saw the tail: the high watermark stays at what the
    // (dead) in-sync slaves acknowledged, and the set cannot shrink without
    // the Raft majority.
    let seen = stored_values(&mut mc);
    assert!(
        acked.iter().all(|v| seen.contains(v)) && !seen.iter().any(|v| v == "v500"),
        "the isolated master served records past the high watermark: {seen:?}"
    );
    cl.kill(m);
    // The slaves come back and elect one of themselves.
    for s in &slaves {
        cl.start(*s);
    }
    let (m2, _) = cl.await_master(Some(m), 2);
    let mut c2 = cl.kafka(m2);
    acked.extend(produce_acked(&mut c2, 600, 5));
    // The old master returns: it truncates its tail and follows. Until its
    // handshake has cut that tail it serves no RocketMQ slave reads: a
    // consumer whose route still names it would read records no master
    // has, then skip what the new master stores at those offsets.
    cl.start(m);
    let mut rc =
        support::remoting::Conn::open(format!("127.0.0.1:{}", cl.nodes[m].listen).parse().unwrap());
    let deadline = Instant::now() + ELECTION;
    loop {
        let got = support::remoting::pull_all(&mut rc, TOPIC, 0);
        let values: Vec<String> = got
            .iter()
            .map(|x| String::from_utf8_lossy(&x.body).into_owned())
            .collect();
        assert!(
            !values
                .iter()
                .any(|v| (500..520).any(|n| *v == format!("v{n}"))),
            "the returning old master served its divergent tail: {values:?}"
        );
        if values.iter().any(|v| v == "v600") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the returning old master never served the new master's records: {values:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    cl.await_master(None, 3);
    cl.proc(m).logged(&["HA truncating a divergent log tail"]);
    let stored = stored_values(&mut c2);
    assert_all_present(&acked, &stored);
    assert!(
        !stored.iter().any(|v| v == "v500"),
        "the isolated master's acks=1 tail reached the new master"
    );
}

#[test]
fn a_fourth_node_catches_up_becomes_a_voter_and_is_removed() {
    let mut cl = Cluster::with_spares(1);
    let (m, _) = cl.await_master(None, 3);
    let mut mc = cl.kafka(m);
    metadata(&mut mc);
    produce_acked(&mut mc, 0, 50);

    // An empty node with rokka.clusterListen joins as a Raft learner,
    // replicates the whole group and enters the in-sync set.
    cl.start(3);
    let (m2, _) = cl.await_master(None, 4);
    assert_eq!(m2, m, "adding a node moved the master");
    let ids = |v: &serde_json::Value| -> Vec<u64> {
        v.as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect())
            .unwrap_or_default()
    };
    let st = cl.status(m);
    assert_eq!(ids(&st["groups"]["broker-a"]["members"]), [1, 2, 3, 4]);
    assert_eq!(ids(&st["raft_learners"]), [4]);
    let replica = [("group", "broker-a"), ("replica", "4")];
    cl.await_metric(m, "rokka_cluster_replica_lag_bytes", &replica, |v| v == 0.0);
    cl.await_metric(m, "rokka_cluster_replica_in_sync", &replica, |v| v == 1.0);

    // `rokka admin cluster add-node` (through a slave: forwarded to the Raft
    // leader) makes it a voter.
    let spec = format!("4@127.0.0.1:{}", cl.nodes[3].raft);
    let slave = (m + 1) % 3;
    let (ok, out) = cl.admin(slave, &["cluster", "add-node", &spec]);
    assert!(ok, "add-node: {out}");
    cl.await_status(m, "4 voters", |st| {
        ids(&st["raft_voters"]) == [1, 2, 3, 4] && ids(&st["raft_learners"]).is_empty()
    });
    cl.await_status(3, "a slave", |st| st["role"] == "slave");
    // Kafka Metadata on the new node lists it as a replica and in the ISR.
    let md = cl.await_topic(3);
    let p = &md.topics[0].partitions[0];
    assert_eq!(p.replica_nodes, [1, 2, 3, 4]);
    assert_eq!(p.isr_nodes, [1, 2, 3, 4]);
    assert_eq!(p.leader_id, (m + 1) as i32);
    assert_eq!(md.brokers.len(), 4);

    // The master cannot be removed (fail over first).
    let (ok, out) = cl.admin(slave, &["cluster", "remove-node", &(m + 1).to_string()]);
    assert!(
        !ok && out.contains("master"),
        "remove-node of the master: {out}"
    );

    // Stop the fourth node and remove it: out of the group, the ISR and Raft;
    // acks=all goes on with the three.
    cl.kill(3);
    let (ok, out) = cl.admin(m, &["cluster", "remove-node", "4"]);
    assert!(ok, "remove-node: {out}");
    cl.await_status(m, "3 members and 3 voters", |st| {
        ids(&st["groups"]["broker-a"]["members"]) == [1, 2, 3]
            && ids(&st["groups"]["broker-a"]["isr"]) == [1, 2, 3]
            && ids(&st["raft_voters"]) == [1, 2, 3]
            && ids(&st["raft_learners"]).is_empty()
    });
    let md = metadata(&mut mc);
    assert_eq!(md.topics[0].partitions[0].replica_nodes, [1, 2, 3]);
    produce_acked(&mut mc, 100, 5);
}

/// `brokerAddrs` of broker-a (id → address) in GET_BROKER_CLUSTER_INFO (106).
fn registered_addrs(ns: &Rokka) -> std::collections::BTreeMap<String, String> {
    let mut c = support::remoting::Conn::open(ns.namesrv);
    let reply = c.call(support::remoting::request(106, &[], &[]));
    let info = rokka_protocols::remoting::fastjson::parse_fastjson(&reply.body).unwrap();
    info["brokerAddrTable"]["broker-a"]["brokerAddrs"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the external NameServer's broker-a registrations satisfy `ok`.
fn await_registered(
    ns: &Rokka,
    what: &str,
    ok: impl Fn(&std::collections::BTreeMap<String, String>) -> bool,
) {
    let deadline = Instant::now() + ELECTION;
    loop {
        let now = registered_addrs(ns);
        if ok(&now) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "registrations {now:?}, want {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_external_nameserver_sees_the_master_as_id_0_and_follows_a_failover() {
    let mut cl = Cluster::build(0, true);
    let addrs: Vec<String> = (0..3)
        .map(|i| format!("127.0.0.1:{}", cl.nodes[i].listen))
        .collect();
    let addr = |i: usize| addrs[i].clone();
    let expect = |master: usize| {
        (0..3)
            .map(|i| {
                let id = if i == master { 0 } else { i + 1 };
                (id.to_string(), addr(i))
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    // Master as brokerId 0, slaves as their node.id: RocketMQ's layout.
    let (m, _) = cl.await_master(None, 3);
    let want = expect(m);
    await_registered(
        cl.external_ns.as_ref().unwrap(),
        &format!("{want:?}"),
        |r| *r == want,
    );

    // SIGKILL the master: the new one re-registers as 0 at once and its
    // slave id disappears (one id per address).
    cl.kill(m);
    let (m2, _) = cl.await_master(Some(m), 2);
    let slave_id = (m2 + 1).to_string();
    await_registered(
        cl.external_ns.as_ref().unwrap(),
        "the new master as 0",
        |r| r.get("0") == Some(&addr(m2)) && !r.contains_key(&slave_id),
    );

    // The old master returns as a slave under its node.id.
    cl.start(m);
    cl.await_master(None, 3);
    let want = expect(m2);
    await_registered(
        cl.external_ns.as_ref().unwrap(),
        &format!("{want:?}"),
        |r| *r == want,
    );
}

#[test]
fn two_broker_groups_split_topics_and_coordinators() {
    // ga = {1, 2}, gb = {3}: three Raft voters, two broker groups (ADR 024).
    let mut c = Cluster::build_groups(0, false, &["ga", "ga", "gb"]);
    let ga = c.await_ga_master();
    // Created through ga's master: placed on ga, led by ga's master everywhere.
    let md = await_that(
        "the topic created on ga",
        || metadata(&mut c.kafka(ga)),
        |md| md.topics.first().is_some_and(|t| t.error_code == 0),
    );
    assert_eq!(md.brokers.len(), 3, "every node of every group: {md:?}");
    for i in 0..3 {
        let md = await_that(
            "the topic's leader known",
            || metadata(&mut c.kafka(i)),
            |md| {
                md.topics.first().is_some_and(|t| {
                    t.error_code == 0 && t.partitions[0].leader_id == (ga + 1) as i32
                })
            },
        );
        let replicas = &md.topics[0].partitions[0].replica_nodes;
        assert_eq!(replicas, &vec![1, 2], "node {i}: ga's members");
    }
    // gb's node does not take the topic's writes; ga's master does.
    assert_eq!(produce(&mut c.kafka(2), TOPIC, 0, batch(0), 1).0, 6);
    assert_eq!(produce(&mut c.kafka(ga), TOPIC, 0, batch(1), 1).0, 0);
    // CreateTopics takes the group's replication factor or less (Kafka
    // tools pass --replication-factor): ga has two members, gb one.
    assert_eq!(create_topic(&mut c.kafka(ga), "rf-ga", 2, 2), 0);
    assert_eq!(create_topic(&mut c.kafka(ga), "rf-ga3", 2, 3), 38);
    assert_eq!(create_topic(&mut c.kafka(2), "rf-gb", 2, 2), 38);
    assert_eq!(create_topic(&mut c.kafka(2), "rf-gb", 2, -1), 0);
    // Metadata names each node's group master as controller, so an
    // AdminClient's CreateTopics lands on the group of the node it asked;
    // a slave refuses topic admin with NOT_CONTROLLER (41).
    let ga_slave = 1 - ga;
    for (i, want) in [(ga, ga + 1), (ga_slave, ga + 1), (2, 3)] {
        assert_eq!(
            metadata(&mut c.kafka(i)).controller_id,
            want as i32,
            "node {i}"
        );
    }
    assert_eq!(create_topic(&mut c.kafka(ga_slave), "on-slave", 1, -1), 41);
    // The RocketMQ route names ga only, on every node.
    for i in 0..3 {
        let mut rc = support::remoting::Conn::open(c.proc(i).namesrv);
        let r = support::remoting::route(&mut rc, TOPIC);
        assert_eq!(r.code, 0, "node {i}: route");
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let names: Vec<&str> = body["brokerDatas"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["brokerName"].as_str())
            .collect();
        assert_eq!(names, ["ga"], "node {i}: {body}");
    }
    // Coordinators spread over both groups' masters.
    let keys: Vec<String> = (0..20).map(|n| format!("group-{n}")).collect();
    let coords: Vec<i32> = await_that(
        "coordinators on both masters",
        || {
            keys.iter()
                .map(|k| find_coordinator(&mut c.kafka(2), k))
                .map(|(e, n)| if e == 0 { n } else { -1 })
                .collect::<Vec<i32>>()
        },
        |v| v.iter().all(|n| *n > 0),
    );
    let ga_id = (ga + 1) as i32;
    assert!(coords.contains(&ga_id) && coords.contains(&3), "{coords:?}");
    let on_gb = keys[coords.iter().position(|n| *n == 3).unwrap()].clone();
    let on_ga = keys[coords.iter().position(|n| *n == ga_id).unwrap()].clone();
    // A commit through the named coordinator (gb's master, for a topic on
    // ga) reads back there; ga's master is not that group's coordinator.
    let codes = offset_commit(&mut c.kafka(2), &on_gb, -1, "", TOPIC, &[(0, 1, "m")]);
    assert_eq!(codes, vec![vec![0]]);
    let got = offset_fetch(&mut c.kafka(2), &on_gb, TOPIC, &[0]);
    assert_eq!(got[0][0].0, 1);
    let refused = offset_commit(&mut c.kafka(ga), &on_gb, -1, "", TOPIC, &[(0, 1, "m")]);
    assert_eq!(refused, vec![vec![16]], "NOT_COORDINATOR");
    assert_eq!(
        offset_commit(&mut c.kafka(ga), &on_ga, -1, "", TOPIC, &[(0, 1, "m")]),
        vec![vec![0]]
    );
    // ga's master dies: the other ga member takes the topic and
    // ga's coordinators.
    let other = 1 - ga;
    c.kill(ga);
    await_that(
        "a new master of ga",
        || c.status(2)["groups"]["ga"]["master"].as_u64(),
        |m| *m == Some((other + 1) as u64),
    );
    await_that(
        "the leader moved",
        || metadata(&mut c.kafka(2)),
        |md| md.topics[0].partitions[0].leader_id == (other + 1) as i32,
    );
    await_that(
        "the coordinator moved",
        || find_coordinator(&mut c.kafka(2), &on_ga),
        |r| *r == (0, (other + 1) as i32),
    );
}

/// The route of `TOPIC` on node `i`: (brokerName, writeQueueNums, perm) per
/// QueueData.
fn queue_datas(c: &Cluster, i: usize) -> Vec<(String, u64, u64)> {
    let mut rc = support::remoting::Conn::open(c.proc(i).namesrv);
    let r = support::remoting::route(&mut rc, TOPIC);
    assert_eq!(r.code, 0, "node {i}: route");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let mut out: Vec<(String, u64, u64)> = body["queueDatas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["brokerName"].as_str().unwrap_or_default().to_string(),
                q["writeQueueNums"].as_u64().unwrap_or_default(),
                q["perm"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn add_queues_spreads_a_topic_over_two_groups_and_drain_stops_its_writes() {
    // ga = {1, 2}, gb = {3} (ADR 024, decisions 2 and 6).
    let c = Cluster::build_groups(0, false, &["ga", "ga", "gb"]);
    let ga = c.await_ga_master();
    let md = await_that(
        "the topic created on ga",
        || metadata(&mut c.kafka(ga)),
        |md| md.topics.first().is_some_and(|t| t.error_code == 0),
    );
    let n = md.topics[0].partitions.len() as i32;
    // Refusals are clear and change nothing.
    let (ok, out) = c.admin(2, &["cluster", "add-queues", TOPIC, "nope", "2"]);
    assert!(!ok && out.contains("unknown group"), "{out}");
    let (ok, out) = c.admin(
        2,
        &["cluster", "add-queues", "__consumer_offsets", "gb", "2"],
    );
    assert!(!ok && out.contains("every group"), "{out}");
    // Two more queues on gb, through gb's node (forwarded to the Raft
    // leader), once ga's master placed the topic.
    await_that(
        "add-queues accepted",
        || c.admin(2, &["cluster", "add-queues", TOPIC, "gb", "2"]),
        |(ok, out)| *ok || !out.contains("not placed"),
    );
    // Every node's Metadata: partitions 0..n led by ga's master, n..n+2 by node 3.
    for i in 0..3 {
        await_that(
            "the new partitions in Metadata",
            || metadata(&mut c.kafka(i)),
            |md| {
                md.topics.first().is_some_and(|t| {
                    let leaders: Vec<i32> = t.partitions.iter().map(|p| p.leader_id).collect();
                    leaders.len() == n as usize + 2
                        && leaders[..n as usize].iter().all(|l| *l == (ga + 1) as i32)
                        && leaders[n as usize..] == [3, 3]
                        && t.partitions[n as usize].replica_nodes == [3]
                })
            },
        );
    }
    // Kafka partition n is gb's local queue 0: written and read on node 3 only.
    let (err, base) = await_that(
        "gb's master takes partition n",
        || produce(&mut c.kafka(2), TOPIC, n, batch(7), 1),
        |r| r.0 == 0,
    );
    assert_eq!((err, base), (0, 0));
    assert_eq!(produce(&mut c.kafka(2), TOPIC, 0, batch(8), 1).0, 6);
    assert_eq!(produce(&mut c.kafka(ga), TOPIC, n, batch(8), 1).0, 6);
    assert_eq!(produce(&mut c.kafka(2), TOPIC, n + 2, batch(8), 1).0, 3);
    let (err, _, records) = fetch(&mut c.kafka(2), TOPIC, n, 0, 0);
    assert_eq!(err, 0);
    let values: Vec<_> = all_records(&records)
        .into_iter()
        .filter_map(|r| r.value)
        .collect();
    assert_eq!(values, [Bytes::from("v7")]);
    // A Kafka group commits partition n through its coordinator, whichever
    // group that is.
    let (_, coord) = await_that(
        "a coordinator",
        || find_coordinator(&mut c.kafka(2), "ranged-group"),
        |r| r.0 == 0,
    );
    let mut cc = c.kafka(coord as usize - 1);
    let codes = offset_commit(&mut cc, "ranged-group", -1, "", TOPIC, &[(n, 1, "m")]);
    assert_eq!(codes, vec![vec![0]]);
    assert_eq!(
        offset_fetch(&mut cc, "ranged-group", TOPIC, &[n])[0][0].0,
        1
    );
    // RocketMQ: the route lists both groups, gb with its own queue ids 0..2,
    // and queue 0 of gb holds the record Kafka wrote to partition n.
    for i in 0..3 {
        let q = queue_datas(&c, i);
        assert_eq!(q.len(), 2, "node {i}: {q:?}");
        assert_eq!((q[0].0.as_str(), q[0].1), ("ga", n as u64));
        assert_eq!((q[1].0.as_str(), q[1].1, q[1].2 & 2), ("gb", 2, 2));
    }
    let mut rc = support::remoting::Conn::open(c.proc(2).broker);
    let got = support::remoting::pull_all(&mut rc, TOPIC, 0);
    assert_eq!(got.len(), 1, "gb queue 0 over remoting");
    // gb has no slave: its SYNC_MASTER stores the message and answers
    // SLAVE_NOT_AVAILABLE (11), as upstream does.
    let sent = support::remoting::send_v2(&mut rc, TOPIC, 1, "", b"r1").code;
    assert!(
        sent == 0 || sent == 11,
        "RocketMQ send to gb's queue 1: {sent}"
    );
    let got = support::remoting::pull_all(&mut rc, TOPIC, 1);
    assert_eq!(got.len(), 1, "gb queue 1 holds the RocketMQ message");
    // Drain gb: read-only for both ecosystems, still readable.
    let (ok, out) = c.admin(0, &["cluster", "drain", TOPIC, "gb"]);
    assert!(ok, "drain: {out}");
    await_that(
        "the drained route",
        || queue_datas(&c, 0),
        |q| q.len() == 2 && q[1].2 & 2 == 0 && q[0].2 & 2 == 2,
    );
    await_that(
        "Kafka produce refused on the drained range",
        || produce(&mut c.kafka(2), TOPIC, n, batch(9), 1).0,
        |e| *e == 44,
    );
    assert_eq!(
        support::remoting::send_v2(&mut rc, TOPIC, 1, "", b"r2").code,
        16
    );
    assert_eq!(
        fetch(&mut c.kafka(2), TOPIC, n, 0, 0).0,
        0,
        "drained, still read"
    );
    assert_eq!(
        produce(&mut c.kafka(ga), TOPIC, 0, batch(10), 1).0,
        0,
        "ga still writable"
    );
    let (ok, out) = c.admin(0, &["cluster", "drain", "--undo", TOPIC, "gb"]);
    assert!(ok, "undrain: {out}");
    await_that(
        "writable again",
        || produce(&mut c.kafka(2), TOPIC, n, batch(11), 1).0,
        |e| *e == 0,
    );
}
