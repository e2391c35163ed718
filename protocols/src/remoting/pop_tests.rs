//! Round trips of the POP headers and bodies, and the text formats against
//! strings shaped as upstream's ExtraInfoUtil builds them.

use super::*;

#[test]
fn headers_round_trip() {
    let pop = PopMessageRequest {
        consumer_group: "g".into(),
        topic: "t".into(),
        queue_id: -1,
        max_msg_nums: 32,
        invisible_time: 60_000,
        poll_time: 20_000,
        born_time: 1_700_000_000_000,
        init_mode: 0,
        exp_type: Some("TAG".into()),
        exp: Some("a || b".into()),
        order: true,
        attempt_id: None,
    };
    assert_eq!(PopMessageRequest::from_ext(&pop.to_ext()).unwrap(), pop);
    let resp = PopMessageResponse {
        pop_time: 5,
        invisible_time: 6,
        revive_qid: 999,
        rest_num: 7,
        start_offset_info: Some("0 1 10".into()),
        msg_offset_info: Some("0 1 10,11".into()),
        order_count_info: None,
    };
    assert_eq!(PopMessageResponse::from_ext(&resp.to_ext()).unwrap(), resp);
    let ack = AckRequest {
        consumer_group: "g".into(),
        topic: "t".into(),
        queue_id: 1,
        extra_info: "10 5 6 0 0 broker-a 1 11".into(),
        offset: 11,
        invisible_time: Some(3000),
    };
    assert_eq!(AckRequest::from_ext(&ack.to_ext(), true).unwrap(), ack);
    let plain = AckRequest {
        invisible_time: None,
        ..ack.clone()
    };
    assert_eq!(AckRequest::from_ext(&plain.to_ext(), false).unwrap(), plain);
    let n = NotificationRequest {
        consumer_group: "g".into(),
        topic: "t".into(),
        queue_id: 2,
        poll_time: 100,
        born_time: 200,
        order: false,
    };
    assert_eq!(
        NotificationRequest::from_ext(&n.to_ext(), false).unwrap(),
        n
    );
    // A missing required field names itself.
    let mut e = pop.to_ext();
    e.0.retain(|(k, _)| k != "invisibleTime");
    assert_eq!(
        PopMessageRequest::from_ext(&e),
        Err(DecodeError::Truncated("invisibleTime"))
    );
    e.insert("invisibleTime", "soon");
    assert_eq!(
        PopMessageRequest::from_ext(&e),
        Err(DecodeError::Invalid("invisibleTime"))
    );
}

#[test]
fn extra_info_both_forms() {
    let s = "10 1700000000000 60000 0 1 broker-a 3 12";
    let x = ExtraInfo::parse(s).unwrap();
    assert_eq!(
        (x.ck_offset, x.revive_qid, x.queue_id, x.queue_offset),
        (10, 0, 3, Some(12))
    );
    assert_eq!(x.to_string(), s);
    assert_eq!(x.real_topic("t", "g"), "%RETRY%g_t");
    assert_eq!(x.real_topic("%RETRY%g_t", "g"), "%RETRY%g_t");
    let seven = ExtraInfo::parse("10 5 6 999 0 b 0").unwrap();
    assert_eq!(seven.queue_offset, None);
    assert_eq!(seven.real_topic("t", "g"), "t");
    for bad in [
        "",
        "1 2 3",
        "a 2 3 4 0 b 0",
        "1 2 3 4 0 b 0 9 9",
        "1 2 3 4 0 b x",
    ] {
        assert!(ExtraInfo::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn offset_infos_round_trip() {
    let entries = vec![
        OffsetInfoEntry {
            retry: "1".into(),
            queue: "0".into(),
            values: vec![4, 5],
        },
        OffsetInfoEntry {
            retry: "0".into(),
            queue: "qo2%7".into(),
            values: vec![3],
        },
    ];
    let s = encode_offset_info(&entries);
    assert_eq!(s, "1 0 4,5;0 qo2%7 3");
    assert_eq!(parse_offset_info(&s).unwrap(), entries);
    assert!(parse_offset_info("0 1").is_err());
    assert!(parse_offset_info("0 1 x").is_err());
}

#[test]
fn batch_ack_bitset_is_javas_byte_array() {
    // Java: BitSet with bits 0, 2 and 9 → toByteArray [0x05, 0x02] → base64 "BQI=".
    let json = r#"{"brokerName":"b","acks":[{"c":"g","t":"t","r":"0","so":100,"q":1,"rq":0,"pt":5,"it":6,"b":"BQI="}]}"#;
    let body: BatchAckBody = serde_json::from_str(json).unwrap();
    assert_eq!(body.acks[0].offsets(), vec![100, 102, 109]);
    let mut again = BatchAck {
        start_offset: 100,
        ..body.acks[0].clone()
    };
    again.bit_set.clear();
    again.set_offsets(&[100, 102, 109]);
    assert_eq!(again, body.acks[0]);
    let round: BatchAckBody = serde_json::from_slice(&serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(round, body);
    // Long field names are accepted too.
    let long = r#"{"acks":[{"consumerGroup":"g","topic":"t","startOffset":1,"bitSet":"AQ=="}]}"#;
    let body: BatchAckBody = serde_json::from_str(long).unwrap();
    assert_eq!(body.acks[0].offsets(), vec![1]);
}

#[test]
fn assignment_bodies() {
    let req: QueryAssignmentRequest = serde_json::from_str(
        r#"{"clientId":"c1","consumerGroup":"g","messageModel":"CLUSTERING","strategyName":"AVG","topic":"t"}"#,
    )
    .unwrap();
    assert_eq!(req.message_model.as_deref(), Some("CLUSTERING"));
    let resp = QueryAssignmentResponse {
        message_queue_assignments: vec![QueueAssignment {
            message_queue: crate::remoting::body::MessageQueue {
                broker_name: "b".into(),
                queue_id: -1,
                topic: "t".into(),
            },
            mode: "POP".into(),
            attachments: None,
        }],
    };
    let json = serde_json::to_string(&resp).unwrap();
    assert_eq!(
        json,
        r#"{"messageQueueAssignments":[{"messageQueue":{"brokerName":"b","queueId":-1,"topic":"t"},"mode":"POP"}]}"#
    );
    let mode: SetRequestMode = serde_json::from_str(
        r#"{"consumerGroup":"g","mode":"POP","popShareQueueNum":0,"topic":"t"}"#,
    )
    .unwrap();
    assert_eq!(mode.mode, "POP");
    assert_eq!(SetRequestMode::default().mode, "PULL");
}
