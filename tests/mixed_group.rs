//! One consumer group, one ecosystem at a time (ADR 006), end to end against
//! the real `rokka` binary: while RocketMQ consumers hold a group, Kafka
//! JoinGroup gets INCONSISTENT_GROUP_PROTOCOL and OffsetCommit
//! UNKNOWN_MEMBER_ID; while Kafka members hold it, RocketMQ HEART_BEAT does
//! not register the consumer and UPDATE_CONSUMER_OFFSET is refused; as soon
//! as the owner's members are gone the other ecosystem joins and resumes
//! from the shared committed offsets. Raw TCP with the in-repo codecs;
//! every wait is bounded.

mod support;

use std::time::{Duration, Instant};

use rokka_protocols::remoting::RemotingCommand;
use support::kafka::{self, leave, metadata, offset_commit, Conn as KConn};
use support::remoting::{query_offset, request, update_offset, Conn};
use support::{Rokka, WAIT};

/// Asserts that each of `lines` is a whole line of `text`.
fn has_all(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(
            text.lines().any(|l| l == *line),
            "missing `{line}` in\n{text}"
        );
    }
}

/// JoinGroup v0 or v5; returns (error, generation, member id).
fn join(c: &mut KConn, version: i16, group: &str, member: &str) -> (i16, i32, String) {
    let j = kafka::join(c, version, group, member);
    (j.error, j.generation, j.member)
}

/// OffsetCommit v2 of partition 0 of `topic`; returns its error code.
fn commit(
    c: &mut KConn,
    group: &str,
    generation: i32,
    member: &str,
    topic: &str,
    offset: i64,
) -> i16 {
    offset_commit(c, group, generation, member, topic, &[(0, offset, "")])[0][0]
}

/// HEART_BEAT registering `client` as a consumer of each of `groups`.
fn heartbeat(c: &mut Conn, client: &str, groups: &[&str]) -> RemotingCommand {
    support::remoting::heartbeat(c, client, groups, "MG", "CONSUME_FROM_LAST_OFFSET")
}

/// GET_CONSUMER_LIST_BY_GROUP: the listed client ids, or the error code.
fn consumer_list(c: &mut Conn, group: &str) -> Result<Vec<String>, i32> {
    let r = c.call(request(38, &[("consumerGroup", group)], b""));
    if r.code != 0 {
        return Err(r.code);
    }
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    Ok(v["consumerIdList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect())
}

/// UPDATE_CONSUMER_OFFSET (two-way here, to see the answer).
fn rmq_commit(c: &mut Conn, group: &str, offset: i64) -> RemotingCommand {
    c.call(update_offset(group, "MG", 0, offset))
}

/// QUERY_CONSUMER_OFFSET of queue 0.
fn rmq_offset(c: &mut Conn, group: &str) -> Option<String> {
    let r = c.call(query_offset(group, "MG", 0));
    assert_eq!(r.code, 0);
    r.ext("offset").map(str::to_string)
}

/// Joins `group` as a new Kafka member (v5: MEMBER_ID_REQUIRED first).
fn kafka_member(c: &mut KConn, group: &str) -> (i32, String) {
    let (e, _, id) = join(c, 5, group, "");
    assert_eq!(e, 79, "MEMBER_ID_REQUIRED");
    let (e, generation, me) = join(c, 5, group, &id);
    assert_eq!(e, 0);
    assert_eq!(me, id);
    (generation, me)
}

#[test]
fn group_is_live_in_one_ecosystem_at_a_time() {
    let r = Rokka::start_capturing_log();
    let mut kc = KConn::open(r.kafka);
    metadata(&mut kc, "MG");
    let mut rmq = Conn::open(r.broker);
    // Nobody live yet: either ecosystem may write the shared offsets.
    assert_eq!(rmq_commit(&mut rmq, "G", 5).code, 0);

    // Before: a group with offsets only is Empty to Kafka tools.
    assert_eq!(kafka_view(&mut kc, "G"), ("".into(), "Empty".into()));

    // A RocketMQ consumer takes the group.
    assert_eq!(heartbeat(&mut rmq, "10.0.0.1@rmq", &["G"]).code, 0);
    assert_eq!(
        consumer_list(&mut rmq, "G"),
        Ok(vec!["10.0.0.1@rmq".into()])
    );
    // Kafka tools see it as an active consumer group (so an offset reset
    // waits for it), although no Kafka member is in it.
    assert_eq!(
        kafka_view(&mut kc, "G"),
        ("consumer".into(), "Stable".into())
    );

    // Kafka JoinGroup: 23 and no member id, in v5 and v0.
    assert_eq!(join(&mut kc, 5, "G", ""), (23, -1, String::new()));
    assert_eq!(join(&mut kc, 0, "G", ""), (23, -1, String::new()));
    let line = r.logged(&["JoinGroup refused", "group=G"]);
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("in use by 1 RocketMQ consumer(s)"), "{line}");
    // Kafka OffsetCommit (simple commit, no generation): UNKNOWN_MEMBER_ID.
    assert_eq!(commit(&mut kc, "G", -1, "", "MG", 99), 25);
    assert_eq!(rmq_offset(&mut rmq, "G").as_deref(), Some("5"));
    // Another group is not affected.
    let (_, other) = kafka_member(&mut kc, "H");
    assert_eq!(leave(&mut kc, "H", &other), 0);

    let m = r.metrics();
    has_all(
        &m,
        &[
            r#"rokka_consumergroup_members{group="G",protocol="remoting"} 1"#,
            r#"rokka_consumergroup_members{group="G",protocol="kafka"} 0"#,
            r#"kafka_consumergroup_members{consumergroup="G"} 1"#,
            r#"rokka_consumergroup_refused_total{protocol="kafka",request="join"} 2"#,
            r#"rokka_consumergroup_refused_total{protocol="kafka",request="commit"} 1"#,
        ],
    );

    // The RocketMQ consumer leaves: the group is free at once.
    let un = rmq.call(request(
        35,
        &[("clientID", "10.0.0.1@rmq"), ("consumerGroup", "G")],
        b"",
    ));
    assert_eq!(un.code, 0);
    let (generation, me) = kafka_member(&mut kc, "G");
    // It resumes from the shared committed offset and commits as a member.
    assert_eq!(commit(&mut kc, "G", generation, &me, "MG", 7), 0);

    // Now a RocketMQ newcomer is refused; its other group still registers.
    let mut rmq2 = Conn::open(r.broker);
    let hb = heartbeat(&mut rmq2, "10.0.0.2@rmq", &["G", "G2"]);
    assert_eq!(hb.code, 1, "SYSTEM_ERROR");
    let remark = hb.remark.clone().unwrap_or_default();
    assert!(
        remark.contains("consumer group G is in use by 1 Kafka consumer(s)"),
        "{remark}"
    );
    assert!(consumer_list(&mut rmq2, "G").is_err());
    assert_eq!(
        consumer_list(&mut rmq2, "G2"),
        Ok(vec!["10.0.0.2@rmq".into()])
    );
    let up = rmq_commit(&mut rmq2, "G", 50);
    assert_eq!(up.code, 1);
    assert!(
        up.remark.unwrap_or_default().contains("Kafka consumer(s)"),
        "UPDATE_CONSUMER_OFFSET remark"
    );
    assert_eq!(rmq_offset(&mut rmq2, "G").as_deref(), Some("7"));
    let m = r.metrics();
    has_all(
        &m,
        &[
            r#"rokka_consumergroup_members{group="G",protocol="kafka"} 1"#,
            r#"rokka_consumergroup_members{group="G",protocol="remoting"} 0"#,
            r#"rokka_consumergroup_members{group="G2",protocol="remoting"} 1"#,
            r#"rokka_consumergroup_refused_total{protocol="remoting",request="heartbeat"} 1"#,
            r#"rokka_consumergroup_refused_total{protocol="remoting",request="commit"} 1"#,
        ],
    );

    // The Kafka member leaves: the next heartbeat registers the consumer,
    // which resumes from the offset the Kafka member committed.
    assert_eq!(leave(&mut kc, "G", &me), 0);
    assert_eq!(heartbeat(&mut rmq2, "10.0.0.2@rmq", &["G", "G2"]).code, 0);
    assert_eq!(
        consumer_list(&mut rmq2, "G"),
        Ok(vec!["10.0.0.2@rmq".into()])
    );
    assert_eq!(rmq_offset(&mut rmq2, "G").as_deref(), Some("7"));
    assert_eq!(rmq_commit(&mut rmq2, "G", 8).code, 0);
    let m = r.metrics();
    has_all(
        &m,
        &[
            r#"rokka_consumergroup_members{group="G",protocol="remoting"} 1"#,
            r#"rokka_consumergroup_members{group="G",protocol="kafka"} 0"#,
        ],
    );
}

#[test]
fn closing_the_rocketmq_connection_frees_the_group() {
    let r = Rokka::start();
    let mut kc = KConn::open(r.kafka);
    metadata(&mut kc, "MG");
    let mut rmq = Conn::open(r.broker);
    assert_eq!(heartbeat(&mut rmq, "10.0.0.3@rmq", &["C"]).code, 0);
    assert_eq!(join(&mut kc, 5, "C", "").0, 23);
    drop(rmq);
    // The close is noticed by the connection task; retry like a client would.
    let deadline = Instant::now() + WAIT;
    loop {
        let (e, _, _) = join(&mut kc, 5, "C", "");
        if e == 79 {
            break;
        }
        assert_eq!(e, 23);
        assert!(Instant::now() < deadline, "the group was never freed");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, me) = kafka_member(&mut kc, "C");
    assert!(!me.is_empty());
    let m = r.metrics();
    has_all(
        &m,
        &[r#"rokka_consumergroup_members{group="C",protocol="kafka"} 1"#],
    );
}

/// How Kafka tools see `group`: (protocol type from ListGroups v2, state
/// from DescribeGroups v0).
fn kafka_view(c: &mut KConn, group: &str) -> (String, String) {
    use rokka_protocols::kafka::list_groups::{decode_response, ListGroupsRequest};
    use rokka_protocols::kafka::Reader;
    let b = c.call(16, 2, |w| ListGroupsRequest::default().encode(w, 2));
    let listed = decode_response(&mut Reader::new(&b, 0, false), 2).unwrap();
    let protocol_type = listed
        .into_iter()
        .find(|g| g.group_id == group)
        .map(|g| g.protocol_type)
        .unwrap_or_else(|| panic!("{group} not listed"));
    let b = c.call(15, 0, |w| w.array(&[group], |w, g| w.str(g)));
    let mut r = Reader::new(&b, 0, false);
    let states = r
        .array("groups", |r| {
            r.i16("error")?;
            r.str("id")?;
            let state = r.str("state")?;
            r.str("protocol_type")?;
            r.str("protocol")?;
            r.array("members", |r| {
                r.str("member")?;
                r.str("client")?;
                r.str("host")?;
                r.bytes("metadata")?;
                r.bytes("assignment")
            })?;
            Ok(state)
        })
        .unwrap();
    (protocol_type, states[0].clone())
}
