//! Operators' RocketMQ codes against the real `rokka` executable, encoded
//! with our codec as mqadmin sends them: subscription groups (200, 201, 207,
//! 352) and their enforcement on pulls, broker and NameServer config
//! (25, 26, 318, 319), write permission (205, 327), offset resets (222 with
//! the 220 notification) seen by Kafka and the reverse, clone (314),
//! consume time span (303), requests relayed to a live client (307, 309,
//! 223 → 221) and the producer connection list (204).

mod support;

use support::kafka as k;
use support::remoting::*;
use support::Rokka;

fn create_topic(c: &mut Conn, topic: &str, queues: u32) {
    let q = queues.to_string();
    let r = c.call(request(
        17,
        &[
            ("topic", topic),
            ("readQueueNums", &q),
            ("writeQueueNums", &q),
        ],
        b"",
    ));
    assert_eq!(r.code, 0, "{:?}", r.remark);
}

fn remark(r: &rokka_protocols::remoting::RemotingCommand) -> String {
    r.remark.clone().unwrap_or_default()
}

#[test]
fn subscription_groups_are_managed_persisted_and_enforced() {
    let r = Rokka::start();
    let mut c = Conn::open(r.broker);
    create_topic(&mut c, "SG", 1);
    let body =
        br#"{"groupName":"GOFF","consumeEnable":false,"retryMaxTimes":2,"retryQueueNums":3}"#;
    assert_eq!(c.call(request(200, &[], body)).code, 0);
    // Bad names are refused as upstream.
    let bad = c.call(request(200, &[], br#"{"groupName":"a.b"}"#));
    assert_eq!(bad.code, 29, "{}", remark(&bad));
    // A disabled group cannot pull: NO_PERMISSION with upstream's remark.
    let p = c.call(
        Pull {
            group: "GOFF",
            ..Pull::new("SG", 0)
        }
        .request(),
    );
    assert_eq!(
        (p.code, remark(&p).as_str()),
        (16, "subscription group no permission, GOFF")
    );
    // Another group is auto-created on its first pull (autoCreateSubscriptionGroup).
    let p = c.call(
        Pull {
            group: "GNEW",
            ..Pull::new("SG", 0)
        }
        .request(),
    );
    assert_eq!(p.code, 19, "{}", remark(&p));
    let all = c.call(request(201, &[], b""));
    assert_eq!(all.code, 0);
    let v: serde_json::Value = serde_json::from_slice(&all.body).unwrap();
    let table = &v["subscriptionGroupTable"];
    assert_eq!(table["GOFF"]["consumeEnable"], false);
    assert_eq!(table["GOFF"]["retryQueueNums"], 3);
    assert_eq!(table["GNEW"]["consumeEnable"], true);
    assert_eq!(table["GNEW"]["retryMaxTimes"], 16);
    assert!(v["dataVersion"]["counter"].as_i64().unwrap() >= 2);
    // Persisted across a restart, in RocketMQ's file.
    let r = r.restart();
    assert!(r.data_dir().join("config/subscriptionGroup.json").exists());
    let mut c = Conn::open(r.broker);
    let one = c.call(request(352, &[("group", "GOFF")], b""));
    assert_eq!(one.code, 0, "{}", remark(&one));
    let g: serde_json::Value = serde_json::from_slice(&one.body).unwrap();
    assert_eq!(g["retryMaxTimes"], 2);
    // Delete; with autoCreateSubscriptionGroup off an unknown group is refused.
    let del = c.call(request(
        207,
        &[("groupName", "GOFF"), ("cleanOffset", "true")],
        b"",
    ));
    assert_eq!(del.code, 0);
    assert_eq!(c.call(request(352, &[("group", "GOFF")], b"")).code, 26);
    let up = c.call(request(25, &[], b"autoCreateSubscriptionGroup=false\n"));
    assert_eq!(up.code, 0, "{}", remark(&up));
    let p = c.call(
        Pull {
            group: "GOFF",
            ..Pull::new("SG", 0)
        }
        .request(),
    );
    assert_eq!(p.code, 26, "{}", remark(&p));
    assert!(remark(&p).contains("GOFF"));
}

#[test]
fn retry_max_times_of_the_group_sends_to_the_dlq() {
    let r = Rokka::start();
    let mut c = Conn::open(r.broker);
    create_topic(&mut c, "RT", 1);
    let body = br#"{"groupName":"GR","retryMaxTimes":0}"#;
    assert_eq!(c.call(request(200, &[], body)).code, 0);
    let sent = send_v2(&mut c, "RT", 0, "", b"m");
    assert_eq!(sent.code, 0);
    let m = &pull_all(&mut c, "RT", 0)[0];
    // No maxReconsumeTimes from the client: the group's 0 applies.
    let o = m.physical_offset.to_string();
    let back = c.call(request(
        36,
        &[("offset", &o), ("group", "GR"), ("delayLevel", "0")],
        b"",
    ));
    assert_eq!(back.code, 0, "{}", remark(&back));
    assert_eq!(pull_all(&mut c, "%DLQ%GR", 0).len(), 1);
}

#[test]
fn broker_config_is_read_updated_and_persisted() {
    let r = Rokka::start();
    let mut c = Conn::open(r.broker);
    let got = c.call(request(26, &[], b""));
    assert_eq!(got.code, 0);
    let text = String::from_utf8(got.body.to_vec()).unwrap();
    for line in [
        "brokerName=broker-a",
        "autoCreateTopicEnable=true",
        "brokerPermission=6",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in {text}");
    }
    assert!(got.ext("version").unwrap().contains("counter"));
    // A static key: refused, and nothing of the request applies.
    let st = c.call(request(
        25,
        &[],
        b"autoCreateTopicEnable=false\nlistenPort=1\n",
    ));
    assert_eq!(st.code, 29);
    assert!(remark(&st).contains("restart"), "{}", remark(&st));
    let bad = c.call(request(25, &[], b"defaultTopicQueueNums=zero\n"));
    assert_eq!(bad.code, 29, "{}", remark(&bad));
    // A dynamic key (by its Kafka name): effective at once.
    assert_eq!(
        c.call(request(25, &[], b"auto.create.topics.enable=false\n"))
            .code,
        0
    );
    let sent = send_v2(&mut c, "NeverCreated", -1, "", b"x");
    assert_eq!(sent.code, 17, "{}", remark(&sent));
    let mut ns = Conn::open(r.namesrv);
    assert_eq!(route(&mut ns, "TBW102").code, 17);
    // Persisted in the data directory, applied at the next start.
    let r = r.restart();
    let mut c = Conn::open(r.broker);
    let text = String::from_utf8(c.call(request(26, &[], b"")).body.to_vec()).unwrap();
    assert!(text.contains("autoCreateTopicEnable=false"), "{text}");
    // NameServer config: readable, nothing changes at run time.
    let mut ns = Conn::open(r.namesrv);
    let n = ns.call(request(319, &[], b""));
    assert_eq!(n.code, 0);
    assert!(String::from_utf8_lossy(&n.body).contains("listenPort="));
    let nu = ns.call(request(318, &[], b"orderMessageEnable=true\n"));
    assert_eq!(nu.code, 29);
    assert!(remark(&nu).contains("restart"));
}

#[test]
fn wiping_write_permission_stops_sends_until_added_back() {
    let r = Rokka::start();
    let mut c = Conn::open(r.broker);
    let mut ns = Conn::open(r.namesrv);
    create_topic(&mut c, "WP", 1);
    let w = ns.call(request(205, &[("brokerName", "broker-a")], b""));
    assert_eq!(w.code, 0);
    assert!(w.ext("wipeTopicCount").unwrap().parse::<u32>().unwrap() >= 1);
    let s = send_v2(&mut c, "WP", 0, "", b"x");
    assert_eq!(s.code, 16, "{}", remark(&s));
    let route: rokka_protocols::remoting::body::TopicRouteData =
        serde_json::from_slice(&route(&mut ns, "WP").body).unwrap();
    assert_eq!(route.queue_datas[0].perm, 4);
    // Reads go on.
    assert_eq!(c.call(Pull::new("WP", 0).request()).code, 19);
    let a = ns.call(request(327, &[("brokerName", "broker-a")], b""));
    assert_eq!(a.code, 0);
    assert_eq!(send_v2(&mut c, "WP", 0, "", b"x").code, 0);
}

#[test]
fn reset_by_time_is_seen_by_kafka_and_notifies_live_consumers() {
    let r = Rokka::start();
    let mut c = Conn::open(r.broker);
    create_topic(&mut c, "RS", 1);
    for i in 0..5 {
        assert_eq!(
            send_v2(&mut c, "RS", 0, "", format!("m{i}").as_bytes()).code,
            0
        );
    }
    assert_eq!(c.call(update_offset("GX", "RS", 0, 5)).code, 0);
    // A live RocketMQ consumer of the group on its own connection.
    let mut live = Conn::open(r.broker);
    assert_eq!(
        heartbeat(
            &mut live,
            "127.0.0.1@live",
            &["GX"],
            "RS",
            "CONSUME_FROM_LAST_OFFSET"
        )
        .code,
        0
    );
    // Unknown topic and group are refused.
    let t0 = [
        ("topic", "Nope"),
        ("group", "GX"),
        ("timestamp", "0"),
        ("isForce", "true"),
    ];
    assert_eq!(c.call(request(222, &t0, b"")).code, 17);
    let g0 = [
        ("topic", "RS"),
        ("group", "Nobody"),
        ("timestamp", "0"),
        ("isForce", "true"),
    ];
    assert_eq!(c.call(request(222, &g0, b"")).code, 26);
    // Rewind to the beginning (timestamp 0).
    let reset = c.call(request(
        222,
        &[
            ("topic", "RS"),
            ("group", "GX"),
            ("timestamp", "0"),
            ("isForce", "true"),
        ],
        b"",
    ));
    assert_eq!(reset.code, 0, "{}", remark(&reset));
    let body = String::from_utf8(reset.body.to_vec()).unwrap();
    assert_eq!(
        body,
        r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"RS"}:0}}"#
    );
    // The live consumer is told, oneway, with the same table.
    let n = (0..5)
        .find_map(|_| {
            live.pending
                .pop_front()
                .or_else(|| live.read())
                .filter(|m| m.code == 220)
        })
        .expect("RESET_CONSUMER_CLIENT_OFFSET");
    assert_eq!(
        (n.flag & 2, n.ext("group"), n.ext("topic")),
        (2, Some("GX"), Some("RS"))
    );
    assert_eq!(n.body, reset.body);
    // One offset table: Kafka's OffsetFetch sees the reset.
    let mut kc = k::Conn::open(r.kafka);
    assert_eq!(k::offset_fetch(&mut kc, "GX", "RS", &[0])[0][0].0, 0);
    // And a Kafka commit to an empty group (kafka-consumer-groups
    // --reset-offsets) is what RocketMQ consumers read.
    let un = live.call(request(
        35,
        &[("clientID", "127.0.0.1@live"), ("consumerGroup", "GX")],
        b"",
    ));
    assert_eq!(un.code, 0);
    let errs = k::offset_commit(&mut kc, "GX", -1, "", "RS", &[(0, 3, "")]);
    assert_eq!(errs, vec![vec![0]]);
    let q = c.call(query_offset("GX", "RS", 0));
    assert_eq!(q.ext("offset"), Some("3"));
    // Not forced: a later timestamp does not move it forward.
    let keep = c.call(request(
        222,
        &[
            ("topic", "RS"),
            ("group", "GX"),
            ("timestamp", "-1"),
            ("isForce", "false"),
        ],
        b"",
    ));
    assert_eq!(keep.code, 0);
    assert_eq!(c.call(query_offset("GX", "RS", 0)).ext("offset"), Some("3"));
    // 5.x: one queue to an exact offset; out of range is refused.
    let one = [
        ("topic", "RS"),
        ("group", "GX"),
        ("timestamp", "-1"),
        ("queueId", "0"),
        ("offset", "4"),
    ];
    assert_eq!(c.call(request(222, &one, b"")).code, 0);
    assert_eq!(c.call(query_offset("GX", "RS", 0)).ext("offset"), Some("4"));
    let far = [
        ("topic", "RS"),
        ("group", "GX"),
        ("timestamp", "-1"),
        ("queueId", "0"),
        ("offset", "99"),
    ];
    assert_eq!(c.call(request(222, &far, b"")).code, 1);
}

#[test]
fn clone_and_consume_time_span() {
    let r = Rokka::start();
    let mut c = Conn::open(r.broker);
    create_topic(&mut c, "CL", 2);
    for _ in 0..3 {
        assert_eq!(send_v2(&mut c, "CL", 1, "", b"x").code, 0);
    }
    assert_eq!(c.call(update_offset("SRC", "CL", 1, 2)).code, 0);
    let cl = c.call(request(
        314,
        &[
            ("srcGroup", "SRC"),
            ("destGroup", "DST"),
            ("topic", "CL"),
            ("offline", "true"),
        ],
        b"",
    ));
    assert_eq!(cl.code, 0);
    assert_eq!(
        c.call(query_offset("DST", "CL", 1)).ext("offset"),
        Some("2")
    );
    let span = c.call(request(303, &[("topic", "CL"), ("group", "DST")], b""));
    assert_eq!(span.code, 0);
    let v: serde_json::Value = serde_json::from_slice(&span.body).unwrap();
    let set = v["consumeTimeSpanSet"].as_array().unwrap();
    assert_eq!(set.len(), 2);
    let q1 = set
        .iter()
        .find(|s| s["messageQueue"]["queueId"] == 1)
        .unwrap();
    assert!(q1["maxTimeStamp"].as_i64().unwrap() >= q1["minTimeStamp"].as_i64().unwrap());
    assert!(q1["minTimeStamp"].as_i64().unwrap() > 0);
    assert!(q1["delayTime"].as_i64().unwrap() >= 0);
}

/// Answers the next broker-initiated request on `c` with `body`; returns it.
fn answer_next(c: &mut Conn, body: &[u8]) -> rokka_protocols::remoting::RemotingCommand {
    use std::io::Write as _;
    let got = c.pending.pop_front().or_else(|| c.read()).unwrap();
    let mut resp = got.response_to(0);
    resp.body = bytes::Bytes::copy_from_slice(body);
    let mut out = bytes::BytesMut::new();
    rokka_protocols::remoting::encode_frame(&resp, &mut out);
    c.s.write_all(&out).unwrap();
    got
}

#[test]
fn running_info_and_consume_directly_are_relayed_to_the_client() {
    let r = Rokka::start();
    let mut c = Conn::open(r.broker);
    create_topic(&mut c, "RL", 1);
    let sent = send_v2(&mut c, "RL", 0, "", b"direct");
    assert_eq!(sent.code, 0);
    let msg_id = sent.ext("msgId").unwrap().to_owned();
    let mut client = Conn::open(r.broker);
    assert_eq!(
        heartbeat(
            &mut client,
            "10.0.0.9@relay",
            &["GRL"],
            "RL",
            "CONSUME_FROM_FIRST_OFFSET"
        )
        .code,
        0
    );
    // NOTIFY_CONSUMER_IDS_CHANGED may come first: skip broker notifications.
    let broker = r.broker;
    let asker = std::thread::spawn(move || {
        let mut a = Conn::open(broker);
        let info = a.call(request(
            307,
            &[
                ("consumerGroup", "GRL"),
                ("clientId", "10.0.0.9@relay"),
                ("jstackEnable", "false"),
            ],
            b"",
        ));
        let id = msg_id.clone();
        let direct = a.call(request(
            309,
            &[
                ("consumerGroup", "GRL"),
                ("clientId", "10.0.0.9@relay"),
                ("msgId", &id),
            ],
            b"",
        ));
        let status = a.call(request(223, &[("topic", "RL"), ("group", "GRL")], b""));
        let gone = a.call(request(
            307,
            &[("consumerGroup", "GRL"), ("clientId", "nobody")],
            b"",
        ));
        (info, direct, status, gone)
    });
    let answers: [&[u8]; 3] = [
        br#"{"properties":{"consumeType":"CONSUME_PASSIVELY"}}"#,
        br#"{"consumeResult":"CR_SUCCESS"}"#,
        br#"{"messageQueueTable":{{"brokerName":"broker-a","queueId":0,"topic":"RL"}:3}}"#,
    ];
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let peek = client
            .pending
            .pop_front()
            .or_else(|| client.read())
            .unwrap();
        if peek.code == 40 {
            continue;
        }
        client.pending.push_front(peek);
        seen.push(answer_next(&mut client, answers[seen.len()]));
    }
    let (info, direct, status, gone) = asker.join().unwrap();
    assert_eq!(
        (seen[0].code, seen[0].ext("clientId")),
        (307, Some("10.0.0.9@relay"))
    );
    assert_eq!(info.code, 0);
    assert!(String::from_utf8_lossy(&info.body).contains("CONSUME_PASSIVELY"));
    // 309 carries the stored message and this broker's name.
    assert_eq!(
        (seen[1].code, seen[1].ext("brokerName")),
        (309, Some("broker-a"))
    );
    let (m, _) = rokka_protocols::remoting::message::decode_message(&seen[1].body).unwrap();
    assert_eq!(&m.body[..], b"direct");
    assert_eq!(direct.code, 0);
    assert!(String::from_utf8_lossy(&direct.body).contains("CR_SUCCESS"));
    // 223: each live consumer asked with 221, answers gathered per client.
    assert_eq!((seen[2].code, seen[2].ext("group")), (221, Some("GRL")));
    assert_eq!(status.code, 0, "{}", remark(&status));
    assert_eq!(
        String::from_utf8_lossy(&status.body),
        r#"{"consumerTable":{"10.0.0.9@relay":{{"brokerName":"broker-a","queueId":0,"topic":"RL"}:3}},"messageQueueTable":{}}"#
    );
    assert_eq!(gone.code, 1);
    assert!(remark(&gone).contains("not online"), "{}", remark(&gone));
    // The Dashboard's producer page: GET_PRODUCER_CONNECTION_LIST (204).
    let p = c.call(request(
        204,
        &[("producerGroup", "CLIENT_INNER_PRODUCER")],
        b"",
    ));
    assert_eq!(p.code, 0);
    let v: serde_json::Value = serde_json::from_slice(&p.body).unwrap();
    assert_eq!(v["connectionSet"][0]["clientId"], "10.0.0.9@relay");
    let none = c.call(request(204, &[("producerGroup", "nobody")], b""));
    assert_eq!(
        (none.code, remark(&none).as_str()),
        (1, "the producer group[nobody] not exist")
    );
}

#[test]
fn broadcast_refusal_and_deleting_a_group_with_its_offsets() {
    let r = Rokka::start();
    let mut c = Conn::open(r.broker);
    create_topic(&mut c, "BC", 1);
    let body = br#"{"groupName":"GB","consumeBroadcastEnable":false}"#;
    assert_eq!(c.call(request(200, &[], body)).code, 0);
    // A broadcasting consumer of GB registers, then its pulls are refused.
    let hb = r#"{"clientID":"10.0.0.7@b","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"GB","messageModel":"BROADCASTING","subscriptionDataSet":[],"unitMode":false}],"producerDataSet":[]}"#;
    assert_eq!(c.call(request(34, &[], hb.as_bytes())).code, 0);
    let p = c.call(
        Pull {
            group: "GB",
            ..Pull::new("BC", 0)
        }
        .request(),
    );
    assert_eq!(
        (p.code, remark(&p).as_str()),
        (
            16,
            "the consumer group[GB] can not consume by broadcast way"
        )
    );
    // Offsets committed through Kafka go with the group when cleanOffset is set.
    let mut kc = k::Conn::open(r.kafka);
    assert_eq!(
        k::offset_commit(&mut kc, "GK", -1, "", "BC", &[(0, 0, "")]),
        vec![vec![0]]
    );
    let del = [("groupName", "GK"), ("cleanOffset", "true")];
    assert_eq!(c.call(request(207, &del, b"")).code, 0);
    assert_eq!(k::offset_fetch(&mut kc, "GK", "BC", &[0])[0][0].0, -1);
}
