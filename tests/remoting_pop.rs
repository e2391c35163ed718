//! POP consumption end to end against the real `rokka` executable, speaking
//! remoting through the protocols crate the way the 5.x Java client does
//! (MQClientAPIImpl popMessageAsync / processPopResponse / ackMessageAsync
//! / batchAckMessageAsync / changeInvisibleTimeAsync): pop, ack some (one
//! by BATCH_ACK), change the invisible time of one, crash the broker,
//! check that only the un-acked message comes back (from the POP retry
//! topic, reconsume times 1) and acked ones never do; orderly POP locks
//! its queue; the request mode survives the restart; bad input is refused.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rokka_protocols::remoting::message::{decode_messages, MessageExt};
use rokka_protocols::remoting::pop::{
    parse_offset_info, BatchAck, BatchAckBody, ExtraInfo, PopMessageRequest, PopMessageResponse,
    QueryAssignmentResponse,
};
use rokka_protocols::remoting::RemotingCommand;
use support::remoting::*;
use support::Rokka;

const POP: i32 = 200_050;
const ACK: i32 = 200_051;
const CHANGE: i32 = 200_053;
const BATCH_ACK: i32 = 200_151;

fn pop_req(queue_id: i32, invisible: i64, poll: i64, order: bool) -> RemotingCommand {
    let h = PopMessageRequest {
        consumer_group: "g".into(),
        topic: "P".into(),
        queue_id,
        max_msg_nums: 32,
        invisible_time: invisible,
        poll_time: poll,
        born_time: 1,
        init_mode: 0,
        exp_type: Some("TAG".into()),
        exp: Some("*".into()),
        order,
        attempt_id: None,
    };
    let mut c = request(POP, &[], b"");
    c.ext_fields = Some(h.to_ext());
    c
}

/// The messages of a POP response with the extraInfo the client builds.
fn popped(resp: &RemotingCommand) -> Vec<(MessageExt, ExtraInfo)> {
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    let h = PopMessageResponse::from_ext(resp.ext_fields.as_ref().unwrap()).unwrap();
    let starts: HashMap<(String, String), i64> =
        parse_offset_info(h.start_offset_info.as_deref().unwrap())
            .unwrap()
            .into_iter()
            .map(|e| ((e.retry, e.queue), e.values[0]))
            .collect();
    let offsets = parse_offset_info(h.msg_offset_info.as_deref().unwrap()).unwrap();
    decode_messages(&resp.body)
        .unwrap()
        .into_iter()
        .map(|m| {
            let retry = if m.topic.starts_with("%RETRY%") {
                "1"
            } else {
                "0"
            };
            let key = (retry.to_owned(), m.queue_id.to_string());
            assert!(offsets
                .iter()
                .any(|e| (e.retry.as_str(), e.queue.as_str()) == (retry, &*key.1)
                    && e.values.contains(&m.queue_offset)));
            let x = ExtraInfo {
                ck_offset: starts[&key],
                pop_time: h.pop_time,
                invisible_time: h.invisible_time,
                revive_qid: h.revive_qid,
                retry: retry.to_owned(),
                broker_name: "broker-a".into(),
                queue_id: m.queue_id,
                queue_offset: Some(m.queue_offset),
            };
            (m, x)
        })
        .collect()
}

fn ack_req(code: i32, m: &MessageExt, x: &ExtraInfo, invisible: Option<i64>) -> RemotingCommand {
    let (q, o, xi) = (
        m.queue_id.to_string(),
        m.queue_offset.to_string(),
        x.to_string(),
    );
    let mut ext = vec![
        ("consumerGroup", "g"),
        ("topic", "P"),
        ("queueId", q.as_str()),
        ("extraInfo", xi.as_str()),
        ("offset", o.as_str()),
    ];
    let inv = invisible.map(|i| i.to_string());
    if let Some(i) = &inv {
        ext.push(("invisibleTime", i));
    }
    request(code, &ext, b"")
}

fn body_of(m: &MessageExt) -> String {
    String::from_utf8(m.body.to_vec()).unwrap()
}

#[test]
fn pop_ack_revive_across_a_crash() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    for (q, body) in [(0, "m0"), (0, "m1"), (1, "m2"), (1, "m3")] {
        assert_eq!(send_v2(&mut b, "P", q, "", body.as_bytes()).code, 0);
    }
    let set = br#"{"consumerGroup":"g","mode":"POP","popShareQueueNum":0,"topic":"P"}"#;
    assert_eq!(b.call(request(401, &[], set)).code, 0);

    let msgs = popped(&b.call(pop_req(-1, 60_000, 0, false)));
    let mut bodies: Vec<String> = msgs.iter().map(|(m, _)| body_of(m)).collect();
    bodies.sort();
    assert_eq!(bodies, ["m0", "m1", "m2", "m3"]);
    // Everything is invisible now.
    assert_eq!(b.call(pop_req(-1, 60_000, 0, false)).code, 210);
    let by_body = |s: &str| msgs.iter().find(|(m, _)| body_of(m) == s).unwrap();

    // m0, m1 acked one by one; m2 by BATCH_ACK; m3 gets 1 s.
    for s in ["m0", "m1"] {
        let (m, x) = by_body(s);
        assert_eq!(b.call(ack_req(ACK, m, x, None)).code, 0);
    }
    let (m2, x2) = by_body("m2");
    let mut ba = BatchAck {
        consumer_group: "g".into(),
        topic: "P".into(),
        retry: "0".into(),
        start_offset: x2.ck_offset,
        queue_id: m2.queue_id,
        pop_time: x2.pop_time,
        invisible_time: x2.invisible_time,
        ..BatchAck::default()
    };
    ba.set_offsets(&[m2.queue_offset]);
    let body = serde_json::to_vec(&BatchAckBody {
        broker_name: Some("broker-a".into()),
        acks: vec![ba],
    })
    .unwrap();
    assert_eq!(b.call(request(BATCH_ACK, &[], &body)).code, 0);
    let (m3, x3) = by_body("m3");
    let changed = b.call(ack_req(CHANGE, m3, x3, Some(1000)));
    assert_eq!(changed.code, 0, "{:?}", changed.remark);
    assert!(changed.ext("popTime").unwrap().parse::<i64>().unwrap() >= x3.pop_time);
    // The old extraInfo no longer names the delivery.
    assert_eq!(b.call(ack_req(CHANGE, m3, x3, Some(1000))).code, 208);

    // Crash (SIGKILL) and restart: the journal keeps the state.
    drop(b);
    let r = r.kill_then_restart(|_| {});
    let mut b = Conn::open(r.broker);
    let deadline = Instant::now() + Duration::from_secs(20);
    let again = loop {
        let resp = b.call(pop_req(-1, 60_000, 2000, false));
        if resp.code == 0 {
            break popped(&resp);
        }
        assert_eq!(resp.code, 210, "{:?}", resp.remark);
        assert!(Instant::now() < deadline, "m3 was not revived");
    };
    assert_eq!(again.len(), 1);
    let (m, x) = &again[0];
    assert_eq!(body_of(m), "m3");
    assert_eq!(m.reconsume_times, 1);
    assert_eq!(m.topic, "%RETRY%g_P");
    assert_eq!(x.real_topic("P", "g"), "%RETRY%g_P");
    assert_eq!(b.call(ack_req(ACK, m, x, None)).code, 0);
    // Acked messages never return.
    assert_eq!(b.call(pop_req(-1, 60_000, 500, false)).code, 210);

    // The mode survived: QUERY_ASSIGNMENT hands out queue -1 in POP mode.
    let q = br#"{"clientId":"c1","consumerGroup":"g","messageModel":"CLUSTERING","strategyName":"AVG","topic":"P"}"#;
    let resp = b.call(request(400, &[], q));
    assert_eq!(resp.code, 0, "{:?}", resp.remark);
    let a: QueryAssignmentResponse = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(a.message_queue_assignments.len(), 1);
    assert_eq!(a.message_queue_assignments[0].mode, "POP");
    assert_eq!(a.message_queue_assignments[0].message_queue.queue_id, -1);
}

#[test]
fn orderly_pop_locks_the_queue_and_bad_input_is_refused() {
    let r = Rokka::start();
    let mut b = Conn::open(r.broker);
    for body in ["o1", "o2"] {
        assert_eq!(send_v2(&mut b, "P", 2, "", body.as_bytes()).code, 0);
    }
    let first = popped(&b.call(pop_req(2, 60_000, 0, true)));
    assert_eq!(
        first.iter().map(|(m, _)| body_of(m)).collect::<Vec<_>>(),
        ["o1", "o2"]
    );
    assert_eq!(first[0].1.revive_qid, 999);
    assert_eq!(send_v2(&mut b, "P", 2, "", b"o3").code, 0);
    // Held by the invisible batch, even with o3 waiting.
    assert_eq!(b.call(pop_req(2, 60_000, 0, true)).code, 210);
    for (m, x) in &first {
        assert_eq!(b.call(ack_req(ACK, m, x, None)).code, 0);
    }
    let next = popped(&b.call(pop_req(2, 60_000, 0, true)));
    assert_eq!(body_of(&next[0].0), "o3");

    // Bad input: a clear error, the connection stays usable.
    let (m, x) = &next[0];
    let mut bad = ack_req(ACK, m, x, None);
    bad.ext_mut().insert("extraInfo", "not an extra info");
    assert_eq!(b.call(bad).code, 29);
    let mut big = pop_req(2, 60_000, 0, false);
    big.ext_mut().insert("maxMsgNums", "100");
    assert_eq!(b.call(big).code, 29);
    assert_eq!(b.call(pop_req(99, 60_000, 0, false)).code, 29);
    assert_eq!(b.call(request(BATCH_ACK, &[], b"{nope")).code, 29);
    let mut no_field = pop_req(2, 60_000, 0, false);
    no_field
        .ext_fields
        .as_mut()
        .unwrap()
        .0
        .retain(|(k, _)| k != "invisibleTime");
    let resp = b.call(no_field);
    assert_eq!(resp.code, 29);
    assert!(resp.remark.unwrap().contains("invisibleTime"));
    assert_eq!(b.call(ack_req(ACK, m, x, None)).code, 0);
}

/// POP with a SQL92 selector (`enablePropertyFilter=true`): only matching
/// messages are delivered, the others are consumed by the filter and never
/// come back; a selector that does not parse is SUBSCRIPTION_PARSE_FAILED,
/// and SQL92 with the property filter off is the pull's SYSTEM_ERROR.
#[test]
fn sql92_pop_delivers_only_matching_messages() {
    let r = Rokka::start_with(0, &["--override", "enablePropertyFilter=true"]);
    let mut b = Conn::open(r.broker);
    for (i, region) in ["eu", "us", "eu", "ap"].iter().enumerate() {
        let props = format!("region\u{1}{region}\u{2}idx\u{1}{i}\u{2}");
        assert_eq!(
            send_v2(&mut b, "P", 1, &props, format!("s{i}").as_bytes()).code,
            0
        );
    }
    let sql = |exp: &str| {
        let mut c = pop_req(1, 60_000, 0, false);
        c.ext_mut().insert("expType", "SQL92");
        c.ext_mut().insert("exp", exp);
        c
    };
    let got = popped(&b.call(sql("region = 'eu' AND idx >= 0")));
    assert_eq!(
        got.iter().map(|(m, _)| body_of(m)).collect::<Vec<_>>(),
        ["s0", "s2"]
    );
    // The non-matching ones were consumed by the filter; the matching ones
    // are invisible: nothing to pop, whatever the selector.
    assert_eq!(b.call(sql("region IS NOT NULL")).code, 210);
    assert_eq!(b.call(sql("region = ")).code, 23);
    drop(r);

    let off = Rokka::start();
    let mut b = Conn::open(off.broker);
    assert_eq!(send_v2(&mut b, "P", 1, "region\u{1}eu\u{2}", b"x").code, 0);
    let resp = b.call(sql("region = 'eu'"));
    assert_eq!(resp.code, 1);
    assert!(resp.remark.unwrap().contains("SQL92"));
}
