//! End-to-end tests of the embedded NameServer and the client/admin codes
//! against the real `rokka` executable: routes (TBW102, TOPIC_NOT_EXIST),
//! KV config, unknown codes, binary headers, heartbeats and NOTIFY, consumer
//! lists, locks, and the mqadmin look-ups.

mod support;

use rokka_protocols::remoting::body::{ConsumerListBody, TopicRouteData};
use rokka_protocols::remoting::{RemotingCommand, SerializeType};
use support::remoting::*;
use support::Rokka;

#[test]
fn route_unknown_topic_is_not_exist_and_tbw102_resolves() {
    let r = Rokka::start();
    let mut ns = Conn::open(r.namesrv);
    let resp = route(&mut ns, "NoSuchTopic");
    assert_eq!(resp.code, 17);
    assert!(resp.remark.unwrap().contains("NoSuchTopic"));
    let resp = route(&mut ns, "TBW102");
    assert_eq!(resp.code, 0);
    let body = std::str::from_utf8(&resp.body).unwrap();
    assert!(body.contains("\"enableActingMaster\":false"), "{body}");
    assert!(body.contains("\"filterServerTable\":{}"), "{body}");
    assert!(!body.contains(' '), "compact JSON: {body}");
    let route: TopicRouteData = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(
        route.broker_datas[0].broker_addrs["0"],
        r.broker.to_string()
    );
    assert_eq!(route.queue_datas[0].perm, 7);
    // The NameServer does not serve broker codes.
    assert_eq!(ns.call(request(34, &[], b"{}")).code, 3);
}

/// HEART_BEAT registering `client` as a consumer of G1 (topic T6).
fn consumer_heartbeat(c: &mut Conn, client: &str) -> RemotingCommand {
    heartbeat(c, client, &["G1"], "T6", "CONSUME_FROM_FIRST_OFFSET")
}

fn expect_notify(c: &mut Conn) {
    let n = c
        .pending
        .pop_front()
        .or_else(|| c.read())
        .expect("NOTIFY expected");
    assert_eq!((n.code, n.flag), (40, 2));
    assert_eq!(n.ext("consumerGroup"), Some("G1"));
    assert_eq!(n.serialize_type, SerializeType::Json);
}

#[test]
fn heartbeat_registers_members_and_notifies() {
    let r = Rokka::start();
    let mut a = Conn::open(r.broker);
    let op = a.send(request(34, &[], b"not json"));
    let bad = a.read().unwrap();
    assert_eq!((bad.opaque, bad.code), (op, 1));
    assert_eq!(consumer_heartbeat(&mut a, "10.0.0.1@a").code, 0);
    let list = a.call(request(38, &[("consumerGroup", "G1")], b""));
    let ids: ConsumerListBody = serde_json::from_slice(&list.body).unwrap();
    assert_eq!(ids.consumer_id_list, vec!["10.0.0.1@a"]);
    expect_notify(&mut a);
    let mut b = Conn::open(r.broker);
    assert_eq!(consumer_heartbeat(&mut b, "10.0.0.2@b").code, 0);
    expect_notify(&mut a);
    let list = a.call(request(38, &[("consumerGroup", "G1")], b""));
    let ids: ConsumerListBody = serde_json::from_slice(&list.body).unwrap();
    assert_eq!(ids.consumer_id_list.len(), 2);
    // The retry topic exists now.
    let mut ns = Conn::open(r.namesrv);
    assert_eq!(route(&mut ns, "%RETRY%G1").code, 0);
    // b leaves: a is told.
    let un = b.call(request(
        35,
        &[("clientID", "10.0.0.2@b"), ("consumerGroup", "G1")],
        b"",
    ));
    assert_eq!(un.code, 0);
    expect_notify(&mut a);
    assert_eq!(
        a.call(request(38, &[("consumerGroup", "nobody")], b""))
            .code,
        1
    );
}

#[test]
fn kv_config_and_unknown_codes() {
    let r = Rokka::start();
    let mut ns = Conn::open(r.namesrv);
    let kv = &[("namespace", "ORDER_TOPIC_CONFIG"), ("key", "T8")];
    assert_eq!(ns.call(request(101, kv, b"")).code, 22);
    let put = ns.call(request(
        100,
        &[
            ("namespace", "ORDER_TOPIC_CONFIG"),
            ("key", "T8"),
            ("value", "broker-a:4"),
        ],
        b"",
    ));
    assert_eq!(put.code, 0);
    assert_eq!(
        ns.call(request(101, kv, b"")).ext("value"),
        Some("broker-a:4")
    );
    let resp = ns.call(request(9999, &[], b""));
    assert_eq!(resp.code, 3);
    assert!(resp.remark.unwrap().contains("9999"));
    // A oneway unknown request gets nothing: the next answer is for the next call.
    let mut ow = request(9999, &[], b"");
    ow.flag = 2;
    ns.send(ow);
    let list = ns.call(request(206, &[], b""));
    assert_eq!(list.code, 0);
    assert!(std::str::from_utf8(&list.body).unwrap().contains("TBW102"));
    let cl = ns.call(request(106, &[], b""));
    assert!(std::str::from_utf8(&cl.body)
        .unwrap()
        .contains("\"clusterAddrTable\":{\"DefaultCluster\":[\"broker-a\"]}"));
}

#[test]
fn binary_header_request_gets_binary_response() {
    let r = Rokka::start();
    let mut ns = Conn::open(r.namesrv);
    let mut req = request(105, &[("topic", "TBW102")], b"");
    req.serialize_type = SerializeType::RocketMq;
    let resp = ns.call(req);
    assert_eq!(resp.serialize_type, SerializeType::RocketMq);
    assert_eq!(resp.code, 0);
}

#[test]
fn lock_batch_grants_one_owner() {
    let r = Rokka::start();
    let mut c = Conn::open(r.broker);
    let body = |client: &str| {
        format!(
            r#"{{"clientId":"{client}","consumerGroup":"g","mqSet":[{{"brokerName":"broker-a","queueId":0,"topic":"T"}}]}}"#
        )
    };
    let a = c.call(request(41, &[], body("A").as_bytes()));
    assert!(std::str::from_utf8(&a.body)
        .unwrap()
        .contains("\"queueId\":0"));
    let b = c.call(request(41, &[], body("B").as_bytes()));
    assert_eq!(
        std::str::from_utf8(&b.body).unwrap(),
        r#"{"lockOKMQSet":[]}"#
    );
    assert_eq!(c.call(request(42, &[], body("A").as_bytes())).code, 0);
    let b = c.call(request(41, &[], body("B").as_bytes()));
    assert!(std::str::from_utf8(&b.body)
        .unwrap()
        .contains("\"queueId\":0"));
}

#[test]
fn admin_stats_in_the_fastjson_form() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    for _ in 0..3 {
        assert_eq!(send_v2(&mut b, "TS", 1, "", b"s").code, 0);
    }
    assert_eq!(b.call(update_offset("gs", "TS", 1, 2)).code, 0);
    let stats = b.call(request(202, &[("topic", "TS")], b""));
    assert_eq!(stats.code, 0);
    let body = std::str::from_utf8(&stats.body).unwrap();
    assert!(body.starts_with(r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"TS"}:{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0},{"brokerName":"broker-a","queueId":1,"topic":"TS"}:{"lastUpdateTimestamp":"#), "{body}");
    assert!(body.contains(r#","maxOffset":3,"minOffset":0}"#), "{body}");
    let cs = b.call(request(208, &[("consumerGroup", "gs")], b""));
    let body = std::str::from_utf8(&cs.body).unwrap();
    assert!(
        body.starts_with(r#"{"consumeTps":0.0,"offsetTable":{"#),
        "{body}"
    );
    assert!(body.contains(r#"{"brokerName":"broker-a","queueId":1,"topic":"TS"}:{"brokerOffset":3,"consumerOffset":2,"lastTimestamp":"#), "{body}");
    let rt = b.call(request(28, &[], b""));
    let v: serde_json::Value = serde_json::from_slice(&rt.body).unwrap();
    assert_eq!(v["table"]["brokerVersionDesc"], "V4_9_7");
    assert_eq!(b.call(request(202, &[("topic", "Nope")], b"")).code, 17);
    assert_eq!(b.call(request(215, &[("topic", "TS")], b"")).code, 0);
    let mut ns = Conn::open(r.namesrv);
    assert_eq!(route(&mut ns, "TS").code, 17);
}
