//! Coordinator tests for the one-ecosystem-per-live-group rule (ADR 006).

use super::*;

fn join_req(group: &str, member_id: &str) -> JoinGroupRequest {
    JoinGroupRequest {
        group_id: group.to_string(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 1_000,
        member_id: member_id.to_string(),
        group_instance_id: None,
        protocol_type: "consumer".to_string(),
        protocols: vec![("range".to_string(), Bytes::new())],
    }
}

fn now<T: std::fmt::Debug>(o: Outcome<T>) -> T {
    match o {
        Outcome::Now(t) => t,
        Outcome::Wait(_) => panic!("expected an immediate answer"),
    }
}

#[test]
fn join_is_refused_while_rocketmq_consumers_hold_the_group() {
    let registry = Arc::new(GroupRegistry::default());
    let c = GroupCoordinator::new(Arc::clone(&registry));
    registry.set_members("g", Protocol::Remoting, 2);
    // v4+ first join: refused before a member id is handed out.
    let r = now(c.join(join_req("g", ""), 5, "cli", "/127.0.0.1"));
    assert_eq!(r.error_code, error_code::INCONSISTENT_GROUP_PROTOCOL);
    assert_eq!(r.member_id, "");
    assert_eq!(r.generation_id, -1);
    // v0 join (the coordinator would assign an id at once): refused too.
    let r = now(c.join(join_req("g", ""), 0, "cli", "/127.0.0.1"));
    assert_eq!(r.error_code, error_code::INCONSISTENT_GROUP_PROTOCOL);
    assert_eq!(c.state("g"), None, "no group was created");
    assert_eq!(registry.owner("g"), Some((Protocol::Remoting, 2)));
    assert_eq!(
        registry.refused_total(Protocol::Kafka, GroupRequest::Join),
        2
    );
    // Another group is not affected.
    let r = now(c.join(join_req("other", ""), 5, "cli", "/127.0.0.1"));
    assert_eq!(r.error_code, error_code::MEMBER_ID_REQUIRED);
}

#[test]
fn members_are_published_and_leaving_frees_the_group() {
    let registry = Arc::new(GroupRegistry::default());
    let c = GroupCoordinator::new(Arc::clone(&registry));
    let first = now(c.join(join_req("g", ""), 5, "cli", "/127.0.0.1"));
    assert_eq!(first.error_code, error_code::MEMBER_ID_REQUIRED);
    // MEMBER_ID_REQUIRED does not make a member yet.
    assert_eq!(registry.owner("g"), None);
    let Outcome::Wait(_pending) = c.join(join_req("g", &first.member_id), 5, "cli", "/h") else {
        panic!("the join should wait for the rebalance");
    };
    assert_eq!(registry.owner("g"), Some((Protocol::Kafka, 1)));
    // A RocketMQ newcomer is refused now.
    assert!(registry
        .claim("g", Protocol::Remoting, 1, GroupRequest::Heartbeat)
        .is_err());
    let left = c.leave("g", std::slice::from_ref(&first.member_id));
    assert_eq!(left, vec![(first.member_id.clone(), error_code::NONE)]);
    assert_eq!(registry.owner("g"), None);
    registry
        .claim("g", Protocol::Remoting, 1, GroupRequest::Heartbeat)
        .unwrap();
}

#[test]
fn session_expiry_frees_the_group() {
    let registry = Arc::new(GroupRegistry::default());
    let c = GroupCoordinator::new(Arc::clone(&registry));
    let mut req = join_req("g", "m-1");
    req.session_timeout_ms = 1_000;
    req.rebalance_timeout_ms = 0;
    let Outcome::Wait(rx) = c.join(req, 0, "cli", "/h") else {
        panic!("the join should wait for the rebalance");
    };
    // The initial delay passes, the tick completes the rebalance.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut rx = rx;
    let joined = loop {
        c.tick();
        match rx.try_recv() {
            Ok(r) => break r,
            Err(_) => {
                assert!(Instant::now() < deadline, "rebalance did not complete");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    assert_eq!(joined.error_code, error_code::NONE);
    assert_eq!(registry.owner("g"), Some((Protocol::Kafka, 1)));
    // No heartbeat for longer than the session timeout.
    let deadline = Instant::now() + Duration::from_secs(5);
    while registry.owner("g").is_some() {
        assert!(Instant::now() < deadline, "the member did not expire");
        std::thread::sleep(Duration::from_millis(100));
        c.tick();
    }
    assert_eq!(c.state("g"), None);
}

#[test]
fn a_restored_stable_group_keeps_its_members_and_generation() {
    use rokka_protocols::kafka::offsets_topic::GroupMember;
    let registry = Arc::new(GroupRegistry::default());
    let c = GroupCoordinator::new(Arc::clone(&registry));
    // A group left in memory from an earlier term, which the log does not have.
    let _pending = c.join(join_req("stale", ""), 0, "cli", "/h");
    assert!(c.state("stale").is_some());
    let stable = GroupMetadataValue {
        protocol_type: "consumer".into(),
        generation: 7,
        protocol: Some("range".into()),
        leader: Some("m1".into()),
        members: vec![GroupMember {
            member_id: "m1".into(),
            client_id: "cli".into(),
            client_host: "/h".into(),
            rebalance_timeout: 1_000,
            session_timeout: 10_000,
            subscription: Bytes::from_static(b"sub"),
            assignment: Bytes::from_static(b"asg"),
        }],
    };
    let empty = GroupMetadataValue {
        protocol_type: "consumer".into(),
        generation: 3,
        ..GroupMetadataValue::default()
    };
    let recorded = HashMap::from([("g".to_string(), stable), ("e".to_string(), empty)]);
    assert_eq!(c.restore(recorded), 1);
    // Its member heartbeats on with the same generation: no rebalance.
    assert_eq!(c.heartbeat("g", 7, "m1"), error_code::NONE);
    assert_eq!(c.heartbeat("g", 6, "m1"), error_code::ILLEGAL_GENERATION);
    assert_eq!(c.heartbeat("g", 7, "m2"), error_code::UNKNOWN_MEMBER_ID);
    assert_eq!(c.check_commit("g", 7, "m1"), error_code::NONE);
    assert_eq!(c.state("g"), Some((GroupState::Stable, 7, 1)));
    assert_eq!(c.state("e"), Some((GroupState::Empty, 3, 0)));
    assert_eq!(c.state("stale"), None);
    assert_eq!(registry.owner("g"), Some((Protocol::Kafka, 1)));
    assert_eq!(registry.owner("stale"), None);
}
