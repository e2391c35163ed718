//! End-to-end tests of the RocketMQ broker path against the real `rokka`
//! executable: send/pull round trips with content checks, batch send, tag
//! filtering, pull status codes, long polling, offsets, delay levels,
//! send-back → retry → DLQ, and bad input (the connection is closed or an
//! error answered, never a panic; malformed frames are counted).

mod support;

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rokka_protocols::remoting::body::TopicRouteData;
use rokka_protocols::remoting::message::{
    create_message_id, decode_message_id, decode_messages, decode_properties, encode_batch,
    BatchMessage,
};
use rokka_protocols::remoting::RemotingCommand;
use support::remoting::*;
use support::Rokka;

#[test]
fn send_auto_creates_and_pull_returns_the_same_message() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    let props = "TAGS\u{1}TagA\u{2}KEYS\u{1}k1 k2\u{2}UNIQ_KEY\u{1}ABCDEF\u{2}WAIT\u{1}true\u{2}color\u{1}blue\u{2}";
    let resp = send_v2(&mut b, "T1", 2, props, b"hello rokka");
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    for k in ["msgId", "queueId", "queueOffset", "MSG_REGION", "TRACE_ON"] {
        assert!(resp.ext(k).is_some(), "{k}");
    }
    assert_eq!(resp.ext("queueId"), Some("2"));
    assert_eq!(resp.ext("queueOffset"), Some("0"));
    let (host, phy) = decode_message_id(resp.ext("msgId").unwrap()).unwrap();
    assert_eq!(host, r.broker);

    // The topic now has its own route: 4 queues, perm 6.
    let mut ns = Conn::open(r.namesrv);
    let rt: TopicRouteData = serde_json::from_slice(&route(&mut ns, "T1").body).unwrap();
    assert_eq!(
        (rt.queue_datas[0].perm, rt.queue_datas[0].write_queue_nums),
        (6, 4)
    );

    let p = pull(&mut b, "T1", 2, 0, 4, "*", 0);
    assert_eq!(p.code, 0, "{:?}", p.remark);
    assert_eq!(p.ext("nextBeginOffset"), Some("1"));
    assert_eq!(p.ext("maxOffset"), Some("1"));
    assert_eq!(p.ext("suggestWhichBrokerId"), Some("0"));
    let msgs = decode_messages(&p.body).unwrap();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(&m.body[..], b"hello rokka");
    assert_eq!(
        (m.topic.as_str(), m.queue_id, m.flag, m.physical_offset),
        ("T1", 2, 7, phy)
    );
    assert_eq!(m.born_timestamp, 1716800000000);
    assert_eq!(m.store_host, r.broker, "storeHost is the bound address");
    let props = decode_properties(&m.properties);
    assert!(props.contains(&("TAGS", "TagA")));
    assert!(props.contains(&("KEYS", "k1 k2")));
    assert!(props.contains(&("UNIQ_KEY", "ABCDEF")));
    assert!(props.contains(&("color", "blue")));
    assert!(props.contains(&("CLUSTER", "DefaultCluster")), "{props:?}");
    assert!(!props.iter().any(|(k, _)| *k == "WAIT"));

    // Query by key and view by offset id find the same record.
    let q = b.call(query_message("T1", "k2", Some(false)));
    assert_eq!(q.code, 0, "{:?}", q.remark);
    assert_eq!(decode_messages(&q.body).unwrap()[0].body, m.body);
    let q = b.call(query_message("T1", "nokey", Some(false)));
    assert_eq!(q.code, 22);
    let v = b.call(request(33, &[("offset", &phy.to_string())], b""));
    assert_eq!(v.code, 0);
    assert_eq!(decode_messages(&v.body).unwrap()[0], *m);
}

#[test]
fn pull_status_codes_carry_the_offsets() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    assert_eq!(send_v2(&mut b, "T2", 0, "", b"x").code, 0);
    let cases = [(1u32, 0u64, 19), (0, 1, 19), (0, 5, 21), (1, 3, 21)];
    for (q, off, code) in cases {
        let p = pull(&mut b, "T2", q, off, 0, "*", 0);
        assert_eq!(p.code, code, "queue {q} offset {off}");
        for k in [
            "suggestWhichBrokerId",
            "nextBeginOffset",
            "minOffset",
            "maxOffset",
        ] {
            assert!(p.ext(k).is_some(), "{k}");
        }
    }
    let p = pull(&mut b, "T2", 0, 5, 0, "*", 0);
    assert_eq!(p.ext("nextBeginOffset"), Some("1"));
    // Queue id out of range, unknown topic.
    assert_eq!(pull(&mut b, "T2", 9, 0, 0, "*", 0).code, 1);
    assert_eq!(pull(&mut b, "Nope", 0, 0, 0, "*", 0).code, 17);
}

#[test]
fn tag_filter_skips_other_tags() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    for tag in ["TagA", "TagB", "TagC", "TagA"] {
        let props = format!("TAGS\u{1}{tag}");
        assert_eq!(send_v2(&mut b, "T3", 0, &props, tag.as_bytes()).code, 0);
    }
    let p = pull(&mut b, "T3", 0, 0, 4, "TagA || TagB", 0);
    assert_eq!(p.code, 0);
    let bodies: Vec<_> = decode_messages(&p.body)
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, vec!["TagA", "TagB", "TagA"]);
    assert_eq!(p.ext("nextBeginOffset"), Some("4"));
    let p = pull(&mut b, "T3", 0, 0, 4, "TagZ", 0);
    assert_eq!(p.code, 20);
}

#[test]
fn batch_send_stores_consecutive_records() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    let msgs: Vec<BatchMessage> = (0..3)
        .map(|i| BatchMessage {
            flag: 0,
            body: Bytes::from(format!("batch-{i}")),
            properties: format!("UNIQ_KEY\u{1}U{i}\u{2}KEYS\u{1}bk-{i}\u{2}WAIT\u{1}true\u{2}"),
        })
        .collect();
    let mut body = BytesMut::new();
    encode_batch(&msgs, &mut body);
    let req = request(
        320,
        &[
            ("a", "pg"),
            ("b", "T4"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "1"),
            ("f", "0"),
            ("g", "0"),
            ("h", "0"),
            ("i", "UNIQ_KEY\u{1}BATCH\u{2}WAIT\u{1}true"),
            ("j", "0"),
            ("k", "false"),
            ("m", "true"),
        ],
        &body,
    );
    let resp = b.call(req);
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    let ids: Vec<_> = resp.ext("msgId").unwrap().split(',').collect();
    assert_eq!(ids.len(), 3);
    let p = pull(&mut b, "T4", 1, 0, 4, "*", 0);
    let got = decode_messages(&p.body).unwrap();
    assert_eq!(got.len(), 3);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.body, format!("batch-{i}"));
        assert_eq!(m.queue_offset, i as i64);
        assert_eq!(m.property("UNIQ_KEY"), Some(format!("U{i}").as_str()));
        assert_eq!(decode_message_id(ids[i]).unwrap().1, m.physical_offset);
    }
}

#[test]
fn long_poll_returns_soon_after_a_send() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    assert_eq!(send_v2(&mut b, "T5", 0, "", b"first").code, 0);
    let addr = r.broker;
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(500));
        let mut c = Conn::open(addr);
        assert_eq!(send_v2(&mut c, "T5", 0, "", b"second").code, 0);
    });
    let t0 = Instant::now();
    let p = pull(&mut b, "T5", 0, 1, 2, "*", 10_000);
    let took = t0.elapsed();
    sender.join().unwrap();
    assert_eq!(p.code, 0, "{:?}", p.remark);
    assert_eq!(decode_messages(&p.body).unwrap()[0].body, "second");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // Nothing arrives: the parked pull answers 19 after its timeout.
    let t0 = Instant::now();
    let p = pull(&mut b, "T5", 0, 2, 2, "*", 300);
    assert_eq!(p.code, 19);
    assert!(t0.elapsed() >= Duration::from_millis(250));
}

#[test]
fn consumer_offsets_and_queue_offsets() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    for i in 0..3 {
        assert_eq!(
            send_v2(&mut b, "T7", 0, "", format!("m{i}").as_bytes()).code,
            0
        );
    }
    let resp = b.call(query_offset("g7", "T7", 0));
    assert_eq!((resp.code, resp.ext("offset")), (0, Some("0")));
    let mut upd = update_offset("g7", "T7", 0, 2);
    upd.flag = 2;
    b.send(upd);
    // Oneway: no answer; the next call's answer is its own.
    let resp = b.call(query_offset("g7", "T7", 0));
    assert_eq!(resp.ext("offset"), Some("2"));
    let tq = &[("topic", "T7"), ("queueId", "0")];
    assert_eq!(b.call(request(30, tq, b"")).ext("offset"), Some("3"));
    assert_eq!(b.call(request(31, tq, b"")).ext("offset"), Some("0"));
    let ts = b
        .call(request(32, tq, b""))
        .ext("timestamp")
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert!(ts > 0);
    let s = b.call(request(
        29,
        &[("topic", "T7"), ("queueId", "0"), ("timestamp", "0")],
        b"",
    ));
    assert_eq!(s.ext("offset"), Some("0"));
    let s = b.call(request(
        29,
        &[
            ("topic", "T7"),
            ("queueId", "0"),
            ("timestamp", &i64::MAX.to_string()),
        ],
        b"",
    ));
    assert_eq!(s.ext("offset"), Some("3"));
}

#[test]
fn bad_input_closes_or_answers_never_panics() {
    let r = Rokka::start();
    // Oversized frame length.
    let mut c = Conn::open(r.broker);
    c.s.write_all(&(64 * 1024 * 1024u32).to_be_bytes()).unwrap();
    assert!(c.read().is_none());
    // Negative frame length.
    let mut c = Conn::open(r.broker);
    c.s.write_all(&(-5i32).to_be_bytes()).unwrap();
    assert!(c.read().is_none());
    // Header length past the frame.
    let mut c = Conn::open(r.broker);
    c.s.write_all(&[0, 0, 0, 8, 0, 0, 0, 200, 1, 2, 3, 4])
        .unwrap();
    assert!(c.read().is_none());
    // Invalid JSON header.
    let mut c = Conn::open(r.broker);
    let h = b"{\"code\":";
    let mut f = Vec::new();
    f.extend_from_slice(&((4 + h.len()) as u32).to_be_bytes());
    f.extend_from_slice(&(h.len() as u32).to_be_bytes());
    f.extend_from_slice(h);
    c.s.write_all(&f).unwrap();
    assert!(c.read().is_none());
    // Unknown serialize type.
    let mut c = Conn::open(r.broker);
    c.s.write_all(&[0, 0, 0, 4, 7, 0, 0, 0]).unwrap();
    assert!(c.read().is_none());
    // Header OK, fields missing or wrong: an error response, connection kept.
    let mut c = Conn::open(r.broker);
    assert_eq!(c.call(request(310, &[("a", "pg")], b"x")).code, 1);
    assert_eq!(c.call(request(11, &[("topic", "T")], b"")).code, 1);
    let bad_q = c.call(request(
        310,
        &[("a", "pg"), ("b", "T9"), ("e", "notanumber")],
        b"x",
    ));
    assert_eq!(bad_q.code, 1);
    assert_eq!(send_v2(&mut c, "bad topic!", 0, "", b"x").code, 13);
    assert_eq!(send_v2(&mut c, "SCHEDULE_TOPIC_XXXX", 0, "", b"x").code, 16);
    assert_eq!(send_v2(&mut c, "T9", 99, "", b"x").code, 1);
    assert_eq!(
        c.call(request(
            320,
            &[("a", "pg"), ("b", "T9"), ("e", "0")],
            b"\x00\x00\x00\x05junk"
        ))
        .code,
        13
    );
    assert_eq!(c.call(request(41, &[], b"[1,2")).code, 1);
    assert_eq!(c.call(request(33, &[("offset", "999999999")], b"")).code, 1);
    // Too large a message: MESSAGE_ILLEGAL.
    let big = vec![b'x'; 5 * 1024 * 1024];
    assert_eq!(send_v2(&mut c, "T9", 0, "", &big).code, 13);
    // The broker still serves.
    assert_eq!(send_v2(&mut c, "T9", 0, "", b"ok").code, 0);
    // Each malformed frame was counted.
    let metrics = r.http_get("/metrics");
    assert!(
        metrics.contains("rokka_remoting_malformed_frames_total 5"),
        "{metrics}"
    );
    assert!(metrics.contains("rokka_remoting_requests_total{code=\"310\"}"));
}

#[test]
fn delay_level_delivers_after_its_delay() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    assert_eq!(send_v2(&mut b, "TD", 1, "", b"warm-up").code, 0);
    let t0 = Instant::now();
    let resp = send_v2(&mut b, "TD", 2, "DELAY\u{1}1\u{2}TAGS\u{1}late", b"later");
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    assert_eq!(resp.ext("queueId"), Some("2"));
    assert!(
        pull_all(&mut b, "TD", 2).is_empty(),
        "delivered before its delay"
    );
    let got = wait_for(&mut b, "TD", 2, Duration::from_secs(10));
    let took = t0.elapsed();
    assert_eq!(got.len(), 1);
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert_eq!(got[0].body, "later");
    assert_eq!(got[0].property("TAGS"), Some("late"));
    assert_eq!(got[0].property("REAL_TOPIC"), None);
    assert_eq!(got[0].property("DELAY"), None);
}

#[test]
fn send_back_goes_to_retry_then_dlq() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    let resp = send_v2(&mut b, "TR", 0, "KEYS\u{1}rk", b"fail me");
    let (_, phy) = decode_message_id(resp.ext("msgId").unwrap()).unwrap();
    let back = send_back(&mut b, phy, "gr", 1, 1);
    assert_eq!(back.code, 0, "{:?}", back.remark);
    let retry = wait_for(&mut b, "%RETRY%gr", 0, Duration::from_secs(10));
    assert_eq!(retry.len(), 1);
    let m = &retry[0];
    assert_eq!((m.body.as_ref(), m.reconsume_times), (&b"fail me"[..], 1));
    assert_eq!(m.property("RETRY_TOPIC"), Some("TR"));
    assert!(m.property("ORIGIN_MESSAGE_ID").is_some());
    // Its reconsume count reached the maximum: the next send-back is a DLQ copy.
    let back = send_back(&mut b, m.physical_offset, "gr", 0, 1);
    assert_eq!(back.code, 0);
    let dlq = wait_for(&mut b, "%DLQ%gr", 0, Duration::from_secs(5));
    assert_eq!(dlq.len(), 1);
    assert_eq!(dlq[0].body, "fail me");
}

fn send_half(c: &mut Conn, topic: &str, body: &[u8]) -> RemotingCommand {
    let req = request(
        310,
        &[
            ("a", "txpg"),
            ("b", topic),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "0"),
            ("f", "4"),
            ("g", "0"),
            ("h", "0"),
            (
                "i",
                "TRAN_MSG\u{1}true\u{2}PGROUP\u{1}txpg\u{2}UNIQ_KEY\u{1}TX1",
            ),
        ],
        body,
    );
    c.call(req)
}

fn end_tx(c: &mut Conn, half: &RemotingCommand, state: &str) -> RemotingCommand {
    let (_, phy) = decode_message_id(half.ext("msgId").unwrap()).unwrap();
    let phy = phy.to_string();
    let req = request(
        37,
        &[
            ("producerGroup", "txpg"),
            ("tranStateTableOffset", half.ext("queueOffset").unwrap()),
            ("commitLogOffset", &phy),
            ("commitOrRollback", state),
            ("fromTransactionCheck", "false"),
            ("msgId", "TX1"),
        ],
        b"",
    );
    c.call(req)
}

#[test]
fn transaction_commit_publishes_and_rollback_hides() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    let committed = send_half(&mut b, "TX", b"commit me");
    assert_eq!(committed.code, 0, "{:?}", committed.remark);
    let rolled = send_half(&mut b, "TX", b"roll me back");
    assert_eq!(rolled.code, 0);
    assert!(
        pull_all(&mut b, "TX", 0).is_empty(),
        "half messages are invisible"
    );
    assert_eq!(end_tx(&mut b, &committed, "8").code, 0);
    assert_eq!(
        end_tx(&mut b, &committed, "8").code,
        0,
        "a repeated commit is a no-op"
    );
    assert_eq!(end_tx(&mut b, &rolled, "12").code, 0);
    let got = pull_all(&mut b, "TX", 0);
    assert_eq!(got.len(), 1);
    let (_, half_phy) = decode_message_id(committed.ext("msgId").unwrap()).unwrap();
    assert_eq!(got[0].body, "commit me");
    assert_eq!(got[0].sys_flag & 0xC, 0x8);
    assert_eq!(got[0].prepared_transaction_offset, half_phy);
    assert_eq!(got[0].property("UNIQ_KEY"), Some("TX1"));
    assert_eq!(got[0].property("REAL_TOPIC"), None);
    // A wrong producer group or offset is refused.
    let mut bad = request(
        37,
        &[
            ("producerGroup", "other"),
            ("commitLogOffset", "0"),
            ("commitOrRollback", "8"),
        ],
        b"",
    );
    bad.flag = 0;
    assert_eq!(b.call(bad).code, 1);
}

/// Every broker code is served on the VIP port (listen port − 2) too.
#[test]
fn vip_port_serves_broker_codes() {
    // A main port whose VIP port is free as well.
    let port = (0..50)
        .find_map(|_| {
            let main = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
            let p = main.local_addr().ok()?.port();
            let vip = std::net::TcpListener::bind(("127.0.0.1", p.checked_sub(2)?)).ok()?;
            drop((main, vip));
            Some(p)
        })
        .expect("a free port pair");
    let r = Rokka::start_on_listen_port(port);
    assert_eq!(r.broker.port(), port);
    let mut vip = Conn::open(std::net::SocketAddr::from(([127, 0, 0, 1], port - 2)));
    let resp = send_v2(&mut vip, "VipTopic", 1, "KEYS\u{1}vk\u{2}", b"via vip");
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    let got = pull_all(&mut vip, "VipTopic", 1);
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].body[..], b"via vip");
    // The main port sees the same queue.
    let mut main = Conn::open(r.broker);
    assert_eq!(pull_all(&mut main, "VipTopic", 1).len(), 1);
}

/// The next CHECK_TRANSACTION_STATE the broker sent on `c`, within `limit`.
fn next_check(c: &mut Conn, limit: Duration) -> Option<RemotingCommand> {
    let deadline = Instant::now() + limit;
    c.s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let found = loop {
        if let Some(i) = c.pending.iter().position(|f| f.code == 39) {
            break c.pending.remove(i);
        }
        if Instant::now() > deadline {
            break None;
        }
        let mut chunk = [0u8; 65536];
        match std::io::Read::read(&mut c.s, &mut chunk) {
            Ok(0) => break None,
            Ok(n) => c.buf.extend_from_slice(&chunk[..n]),
            Err(_) => {}
        }
        while let Some(f) = rokka_protocols::remoting::split_frame(
            &mut c.buf,
            rokka_protocols::remoting::DEFAULT_MAX_FRAME,
        )
        .unwrap()
        {
            c.pending
                .push_back(rokka_protocols::remoting::decode_frame(&f).unwrap());
        }
    };
    c.s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    found
}

#[test]
fn unresolved_transactions_are_checked_then_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "transactionTimeOut=300\ntransactionCheckInterval=200\ntransactionCheckMax=2\n",
    )
    .unwrap();
    let r = Rokka::start_with(0, &["-c", conf.to_str().unwrap()]);
    let mut p = Conn::open(r.broker);
    let hb =
        r#"{"clientID":"txclient","consumerDataSet":[],"producerDataSet":[{"groupName":"txpg"}]}"#;
    assert_eq!(p.call(request(34, &[], hb.as_bytes())).code, 0);
    let commit_me = send_half(&mut p, "TXC", b"check me");
    let ignore_me = send_half(&mut p, "TXD", b"never answered");
    assert_eq!((commit_me.code, ignore_me.code), (0, 0));
    let half_q = |h: &RemotingCommand| h.ext("queueOffset").unwrap().to_owned();
    let (commit_q, ignore_q) = (half_q(&commit_me), half_q(&ignore_me));

    // Checks arrive for both; the first is answered COMMIT, the other
    // "unknown" (0) until the broker gives up on it.
    let mut ignored_checks = 0;
    let mut committed = false;
    // Once both are settled, one more second shows no further check comes.
    let wait = |done: bool| Duration::from_secs(if done { 1 } else { 5 });
    while let Some(check) = next_check(&mut p, wait(committed && ignored_checks >= 2)) {
        let q = check.ext("tranStateTableOffset").unwrap().to_owned();
        let msgs = decode_messages(&Bytes::from(check.body.to_vec())).unwrap();
        assert_eq!(msgs.len(), 1);
        let m = &msgs[0];
        assert_eq!(check.ext("msgId"), Some("TX1"));
        assert_eq!(check.ext("transactionId"), Some("TX1"));
        assert_eq!(check.ext("bname"), Some("broker-a"));
        assert_eq!(
            check.ext("offsetMsgId"),
            Some(create_message_id(r.broker, m.physical_offset).as_str())
        );
        assert_eq!(
            check.ext("commitLogOffset").unwrap(),
            m.physical_offset.to_string()
        );
        assert_eq!(m.queue_offset.to_string(), q);
        let answer = if q == commit_q {
            assert_eq!((m.topic.as_str(), &m.body[..]), ("TXC", &b"check me"[..]));
            assert_eq!(check.ext("topic"), Some("TXC"));
            committed = true;
            "8"
        } else {
            assert_eq!(q, ignore_q);
            assert_eq!(
                (m.topic.as_str(), &m.body[..]),
                ("TXD", &b"never answered"[..])
            );
            ignored_checks += 1;
            "0"
        };
        let phy = check.ext("commitLogOffset").unwrap().to_owned();
        let mut end = request(
            37,
            &[
                ("producerGroup", "txpg"),
                ("tranStateTableOffset", &q),
                ("commitLogOffset", &phy),
                ("commitOrRollback", answer),
                ("fromTransactionCheck", "true"),
                ("msgId", "TX1"),
            ],
            b"",
        );
        end.flag = 2; // oneway, as clients answer checks
        p.send(end);
    }
    assert!(committed, "the first half message was checked");
    assert_eq!(ignored_checks, 2, "checked transactionCheckMax times");
    let got = wait_for(&mut p, "TXC", 0, Duration::from_secs(5));
    assert_eq!(got.len(), 1);
    assert_eq!(&got[0].body[..], b"check me");
    // Discarded: a late commit does nothing, and it was counted.
    assert_eq!(end_tx(&mut p, &ignore_me, "8").code, 0);
    assert!(pull_all(&mut p, "TXD", 0).is_empty());
    let m = r.metrics();
    assert!(
        m.lines()
            .any(|l| l == r#"rokka_remoting_transaction_checks_total{outcome="discarded"} 1"#),
        "{m}"
    );
    assert!(m
        .lines()
        .any(|l| l == r#"rokka_remoting_transaction_checks_total{outcome="sent"} 3"#));
}
