//! The gRPC front-end of the RocketMQ 5.x SDKs in a cluster of real rokka
//! processes (ADR 021, ADR 024): QueryRoute and QueryAssignment name each
//! broker group holding a topic with its master's gRPC address from
//! whichever node is asked, with the group's local queue ids and read-only
//! queues for a drained range; sends to a node that is not the master of a
//! group holding the topic are refused (FORBIDDEN); a receive on a node
//! holding none of the topic is TOPIC_NOT_FOUND; a failover moves the
//! route. Groups ga = {1, 2} and gb = {3}. Every wait is bounded.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use rokka::grpc::pb::*;
use support::cluster::{await_that, Cluster};
use support::grpc::{client, res};

const TOPIC: &str = "grpc-spread";
const GROUP: &str = "g-cluster-grpc";

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The endpoints a client of `addr` asks with.
fn asked(addr: SocketAddr) -> Option<Endpoints> {
    Some(Endpoints {
        scheme: AddressScheme::IPv4 as i32,
        addresses: vec![Address {
            host: addr.ip().to_string(),
            port: i32::from(addr.port()),
        }],
    })
}

/// One broker of a route: its gRPC endpoint and (queue id, permission) list.
type Brokers = BTreeMap<String, (String, Vec<(i32, i32)>)>;

/// QueryRoute of `TOPIC` on `addr`: (status code, brokers by name).
fn route(addr: SocketAddr) -> (i32, Brokers) {
    let r = block_on(async {
        client(addr)
            .await
            .query_route(QueryRouteRequest {
                topic: res(TOPIC),
                endpoints: asked(addr),
            })
            .await
            .unwrap()
            .into_inner()
    });
    let mut out = Brokers::new();
    for q in &r.message_queues {
        let b = q.broker.as_ref().expect("a broker per queue");
        assert_eq!(b.id, 0, "the master's id: {q:?}");
        let e = b.endpoints.as_ref().expect("endpoints");
        let ep = format!("{}:{}", e.addresses[0].host, e.addresses[0].port);
        let entry = out
            .entry(b.name.clone())
            .or_insert((ep.clone(), Vec::new()));
        assert_eq!(entry.0, ep, "one endpoint per broker");
        entry.1.push((q.id, q.permission));
    }
    (r.status.map_or(0, |s| s.code), out)
}

/// QueryAssignment of `TOPIC` on `addr`: (broker name, endpoint, id) each.
fn assignments(addr: SocketAddr) -> Vec<(String, String, i32)> {
    let r = block_on(async {
        client(addr)
            .await
            .query_assignment(QueryAssignmentRequest {
                topic: res(TOPIC),
                group: res(GROUP),
                endpoints: asked(addr),
            })
            .await
            .unwrap()
            .into_inner()
    });
    let mut out: Vec<_> = r
        .assignments
        .iter()
        .filter_map(|a| {
            let q = a.message_queue.as_ref()?;
            let b = q.broker.as_ref()?;
            let e = b.endpoints.as_ref()?.addresses.first()?;
            Some((b.name.clone(), format!("{}:{}", e.host, e.port), q.id))
        })
        .collect();
    out.sort();
    out
}

/// Sends one normal message to `addr`: (status code, message).
fn send(addr: SocketAddr, id: &str) -> (i32, String) {
    let m = Message {
        topic: res(TOPIC),
        user_properties: Default::default(),
        system_properties: Some(SystemProperties {
            message_id: id.into(),
            message_type: MessageType::Normal as i32,
            ..Default::default()
        }),
        body: id.as_bytes().to_vec(),
    };
    let r = block_on(async {
        client(addr)
            .await
            .send_message(SendMessageRequest { messages: vec![m] })
            .await
            .unwrap()
            .into_inner()
    });
    let s = r.status.unwrap_or_default();
    (s.code, s.message)
}

/// One ReceiveMessage of `TOPIC` on `addr` (1 s long poll): (status code,
/// message, bodies).
fn receive(addr: SocketAddr) -> (i32, String, Vec<String>) {
    let (status, msgs) = block_on(async {
        support::grpc::receive(&mut client(addr).await, GROUP, TOPIC, 30_000, 1_000).await
    });
    let bodies = msgs
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    (status.code, status.message, bodies)
}

const OK: i32 = Code::Ok as i32;
const RW: i32 = Permission::ReadWrite as i32;
const READ: i32 = Permission::Read as i32;

/// The route's queues of `name`, with every permission `perm` and ids
/// `0..count`: the broker's endpoint.
fn group_of(r: &Brokers, name: &str, count: usize, perm: i32) -> Option<String> {
    let (ep, qs) = r.get(name)?;
    let ids: Vec<i32> = qs.iter().map(|q| q.0).collect();
    let want: Vec<i32> = (0..count as i32).collect();
    (ids == want && qs.iter().all(|q| q.1 == perm)).then(|| ep.clone())
}

#[test]
fn grpc_routes_name_each_groups_master_and_other_nodes_refuse_sends() {
    let mut c = Cluster::build_groups(0, false, &["ga", "ga", "gb"]);
    let ga = c.await_ga_master();
    let slave = 1 - ga;
    let addrs: Vec<SocketAddr> = (0..3).map(|i| c.proc(i).grpc).collect();
    let grpc = |i: usize| addrs[i];
    let ep = |i: usize| grpc(i).to_string();

    // Created by ga's master (auto-creation, as a remoting send): placed on
    // ga. Wait until gb's node routes it there (remoting, which never
    // auto-creates) before asking it over gRPC.
    let (code, first) = await_that("the topic created on ga", || route(grpc(ga)), |r| r.0 == OK);
    let n = first["ga"].1.len();
    assert!(n > 0, "{first:?}");
    await_that(
        "gb's node routes the topic to ga",
        || {
            let mut rc = support::remoting::Conn::open(c.proc(2).namesrv);
            let r = support::remoting::route(&mut rc, TOPIC);
            (
                r.code,
                String::from_utf8_lossy(&r.body).contains("\"brokerName\":\"ga\""),
            )
        },
        |r| *r == (0, true),
    );
    assert_eq!(code, OK);

    // Every node names ga with its master's gRPC address, whichever node
    // (and endpoint) the client used (once it applied the placement).
    for i in 0..3 {
        let r = await_that(
            "the route on every node",
            || route(grpc(i)),
            |(code, r)| *code == OK && r.len() == 1,
        )
        .1;
        assert_eq!(group_of(&r, "ga", n, RW), Some(ep(ga)), "node {i}: {r:?}");
        assert_eq!(
            assignments(grpc(i)),
            [("ga".to_owned(), ep(ga), -1)],
            "node {i}"
        );
    }

    // Only ga's master stores a send: ga's slave and gb's node refuse it.
    let (code, msg) = send(grpc(slave), "s1");
    assert_eq!(code, Code::Forbidden as i32, "ga's slave: {msg}");
    assert!(msg.contains("not the writable master"), "{msg}");
    let (code, msg) = send(grpc(2), "s2");
    assert_eq!(code, Code::Forbidden as i32, "gb's node: {msg}");
    assert!(msg.contains("no queues on broker group gb"), "{msg}");
    await_that(
        "ga's master stores a send",
        || send(grpc(ga), "a1"),
        |r| r.0 == OK,
    );
    // A receive on a node holding none of the topic says so.
    let (code, msg, _) = receive(grpc(2));
    assert_eq!(code, Code::TopicNotFound as i32, "{msg}");
    assert!(msg.contains("its queues are on ga"), "{msg}");

    // Two queues on gb: the route lists both groups, gb with its own ids.
    await_that(
        "add-queues accepted",
        || c.admin(2, &["cluster", "add-queues", TOPIC, "gb", "2"]),
        |(ok, _)| *ok,
    );
    for i in 0..3 {
        let r = await_that(
            "both groups in the route",
            || route(grpc(i)),
            |(code, r)| *code == OK && r.len() == 2,
        )
        .1;
        assert_eq!(group_of(&r, "ga", n, RW), Some(ep(ga)), "node {i}: {r:?}");
        assert_eq!(group_of(&r, "gb", 2, RW), Some(ep(2)), "node {i}: {r:?}");
        assert_eq!(
            assignments(grpc(i)),
            [("ga".to_owned(), ep(ga), -1), ("gb".to_owned(), ep(2), -1)],
            "node {i}"
        );
    }
    // gb's master stores a send now (gb has no slave: stored, then
    // HA_NOT_AVAILABLE under SYNC_MASTER, as upstream's SLAVE_NOT_AVAILABLE)
    // and a receive there gets it; ga's message is received on ga's master.
    // (FORBIDDEN until node 3 adopted its range's config.)
    let (code, msg) = await_that(
        "gb's master takes its range",
        || send(grpc(2), "b1"),
        |r| r.0 != Code::Forbidden as i32,
    );
    assert!(
        code == OK || code == Code::HaNotAvailable as i32,
        "gb's master: {code} {msg}"
    );
    let (code, msg, bodies) = await_that(
        "the message on gb",
        || receive(grpc(2)),
        |r| !r.2.is_empty(),
    );
    assert_eq!((code, bodies), (OK, vec!["b1".to_owned()]), "{msg}");
    // (Copies of a1 when a first try answered HA_NOT_AVAILABLE: stored.)
    let (_, _, bodies) = await_that(
        "the message on ga",
        || receive(grpc(ga)),
        |r| !r.2.is_empty(),
    );
    assert!(bodies.iter().all(|b| b == "a1"), "{bodies:?}");

    // Drained: gb's queues are read-only in every route, its sends refused.
    let (ok, out) = c.admin(0, &["cluster", "drain", TOPIC, "gb"]);
    assert!(ok, "drain: {out}");
    for i in 0..3 {
        let r = await_that(
            "gb read-only in the route",
            || route(grpc(i)).1,
            |r| group_of(r, "gb", 2, READ).is_some(),
        );
        assert_eq!(group_of(&r, "ga", n, RW), Some(ep(ga)), "node {i}: {r:?}");
    }
    let (code, msg) = send(grpc(2), "b2");
    assert_eq!(code, Code::Forbidden as i32, "drained: {msg}");

    // ga's master dies: every route names the new one.
    c.kill(ga);
    let r = await_that(
        "the new master of ga in gb's route",
        || route(grpc(2)).1,
        |r| group_of(r, "ga", n, RW) == Some(ep(slave)),
    );
    assert_eq!(group_of(&r, "gb", 2, READ), Some(ep(2)));
    await_that(
        "the new master stores a send",
        || send(grpc(slave), "a2"),
        |r| r.0 == OK || r.0 == Code::HaNotAvailable as i32,
    );
}
