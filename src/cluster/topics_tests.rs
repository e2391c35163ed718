use super::*;

fn state(topics: &[&TopicConfig]) -> State {
    topics
        .iter()
        .map(|t| (t.topic_name.clone(), encode(t)))
        .collect()
}

fn names(n: &[&str]) -> BTreeSet<String> {
    n.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_new_master_adopts_the_state_and_keeps_its_own_topics() {
    // Term start: the state lacks "mine" (pushed too late by the previous
    // master, or auto-created here) and has "theirs" the table lacks.
    let mine = TopicConfig::new("mine", 4);
    let theirs = TopicConfig::new("theirs", 2);
    let sync = master_sync(
        std::slice::from_ref(&mine),
        &state(&[&theirs]),
        &BTreeSet::new(),
    );
    assert_eq!(sync.adopt, vec![theirs]);
    assert!(sync.drop.is_empty());
    assert_eq!(sync.propose, vec![put(&mine)]);
}

#[test]
fn a_master_deletes_from_the_state_only_what_it_deleted_itself() {
    let kept = TopicConfig::new("kept", 1);
    let gone = TopicConfig::new("gone", 1);
    let proposed_elsewhere = TopicConfig::new("elsewhere", 1);
    // "gone" was in the table at the previous sync and is not any more.
    let sync = master_sync(
        std::slice::from_ref(&kept),
        &state(&[&kept, &gone, &proposed_elsewhere]),
        &names(&["kept", "gone"]),
    );
    assert_eq!(
        sync.propose,
        vec![Command::DeleteTopic {
            topic: "gone".into()
        }]
    );
    assert_eq!(sync.adopt, vec![proposed_elsewhere]);
}

#[test]
fn a_master_pushes_its_changes_and_takes_the_state_for_new_names() {
    let mut changed = TopicConfig::new("changed", 4);
    let old = changed.clone();
    changed
        .attributes
        .insert("retention.ms".into(), "1000".into());
    let mut fresh_here = TopicConfig::new("fresh", 8);
    let fresh_there = TopicConfig::new("fresh", 2);
    fresh_here.perm = 6;
    let sync = master_sync(
        &[changed.clone(), fresh_here],
        &state(&[&old, &fresh_there]),
        &names(&["changed"]),
    );
    assert_eq!(sync.propose, vec![put(&changed)]);
    assert_eq!(sync.adopt, vec![fresh_there]);
}

#[test]
fn a_slave_mirrors_but_drops_only_what_left_the_state() {
    let a = TopicConfig::new("a", 4);
    let b = TopicConfig::new("b", 4);
    let local_only = TopicConfig::new("local", 1);
    // First sync (e.g. Raft still replaying): nothing is removed.
    let first = slave_sync(
        &[a.clone(), local_only.clone()],
        &state(&[&b]),
        &BTreeSet::new(),
    );
    assert_eq!(first.adopt, vec![b.clone()]);
    assert!(first.drop.is_empty());
    // "a" was in the state at the previous sync and left it: deleted.
    let later = slave_sync(
        &[a.clone(), b.clone(), local_only],
        &state(&[&b]),
        &names(&["a", "b"]),
    );
    assert!(later.adopt.is_empty());
    assert_eq!(later.drop, vec!["a".to_string()]);
}

#[test]
fn undecodable_entries_are_ignored() {
    let mut st = State::new();
    st.insert(
        "bad".into(),
        BTreeMap::from([(JSON_KEY.into(), "{".into())]),
    );
    assert_eq!(master_sync(&[], &st, &BTreeSet::new()), Sync::default());
    assert_eq!(slave_sync(&[], &st, &BTreeSet::new()), Sync::default());
    assert_eq!(
        decode(&encode(&TopicConfig::new("x", 1))),
        Some(TopicConfig::new("x", 1))
    );
}

#[test]
fn topics_with_data_but_no_config_get_one() {
    use bytes::Bytes;
    use rokka_store::{AppendPayload, AppendRequest, MessageToStore, StoreConfig};

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        StoreConfig::for_tests(dir.path()),
        &prometheus::Registry::new(),
    )
    .unwrap();
    store
        .topics()
        .put(TopicConfig::new("configured", 1))
        .unwrap();
    let sent = [("configured", 0), ("orphan", 5), ("SCHEDULE_TOPIC_XXXX", 2)];
    for (topic, qid) in sent {
        let message = MessageToStore {
            flag: 0,
            body: Bytes::from_static(b"x"),
            sys_flag: 0,
            born_timestamp: 0,
            born_host: "127.0.0.1:1".parse().unwrap(),
            reconsume_times: 0,
            prepared_tx_offset: 0,
            properties: Bytes::new(),
        };
        let req = AppendRequest {
            topic: Bytes::from(topic),
            queue_id: qid,
            payload: AppendPayload::Message(message),
        };
        store.append_blocking(req).unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sent.iter().any(|(t, q)| store.max_offset(t, *q) < 1) {
        assert!(
            std::time::Instant::now() < deadline,
            "dispatch did not catch up"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Queue 5 has data: six queues, more than the default four.
    assert_eq!(orphans(&store, 4), vec![TopicConfig::new("orphan", 6)]);
    assert_eq!(orphans(&store, 8), vec![TopicConfig::new("orphan", 8)]);
}

/// Two groups `ga` {1} and `gb` {2}, each with its master.
/// Node 1 registered in group `ga`, no master yet.
fn one_group() -> ClusterState {
    let mut s = ClusterState::default();
    s.apply(&register(1, "ga")).unwrap();
    s
}

fn register(id: u64, group: &str) -> Command {
    Command::RegisterNode {
        info: rokka_cluster::NodeInfo {
            id,
            addrs: Default::default(),
            group: Some(group.into()),
        },
    }
}

fn two_groups() -> ClusterState {
    let mut s = ClusterState::default();
    for (id, g) in [(1, "ga"), (2, "gb")] {
        s.apply(&register(id, g)).unwrap();
        s.apply(&Command::ElectMaster {
            group: g.into(),
            node: id,
            epoch: 1,
            start_offset: 0,
            unclean: false,
        })
        .unwrap();
    }
    s
}

#[test]
fn a_group_holds_its_own_topics_and_unplaced_ones() {
    let mut s = two_groups();
    for t in ["a", "b", "%RETRY%cg", "free"] {
        s.apply(&put(&TopicConfig::new(t, 2))).unwrap();
    }
    for (t, g) in [("a", "ga"), ("b", "gb")] {
        s.apply(&placement(&TopicConfig::new(t, 2), g).unwrap())
            .unwrap();
    }
    // Retry, DLQ, system and `__` topics are held by every group.
    assert!(placement(&TopicConfig::new("%RETRY%cg", 1), "ga").is_none());
    assert!(placement(&TopicConfig::new(OFFSETS_TOPIC, 50), "ga").is_none());
    assert!(placement(&TopicConfig::new("TBW102", 8), "ga").is_none());
    let held = |g| held_by(&s, g).into_keys().collect::<Vec<_>>();
    assert_eq!(held("ga"), ["%RETRY%cg", "a", "free"]);
    assert_eq!(held("gb"), ["%RETRY%cg", "b", "free"]);
}

#[test]
fn a_range_on_another_group_is_held_there_with_its_own_queue_count() {
    let mut s = two_groups();
    let home = TopicConfig::new("a", 4);
    s.apply(&put(&home)).unwrap();
    s.apply(&placement(&home, "ga").unwrap()).unwrap();
    // add-queues: 2 more queues on gb (global ids 4 and 5).
    s.apply(&Command::PutPlacement {
        topic: "a".into(),
        queues: (4..6).map(|q| (q, "gb".to_string())).collect(),
    })
    .unwrap();
    let on = |g| decode(&held_by(&s, g)["a"]).unwrap();
    assert_eq!(on("ga"), home);
    let b = on("gb");
    assert_eq!((b.read_queue_nums, b.write_queue_nums), (2, 2));
    assert_eq!(
        TopicConfig {
            read_queue_nums: 4,
            write_queue_nums: 4,
            ..b
        },
        home
    );
    // The home master pushes; gb's master, whose table matches, proposes nothing.
    let gb_state = held_by(&s, "gb");
    let sync = master_sync(&[on("gb")], &gb_state, &BTreeSet::from(["a".to_string()]));
    assert_eq!(sync, Sync::default());
}

#[test]
fn offsets_placement_waits_for_several_groups_with_masters_and_is_made_once() {
    let one = one_group();
    // A single group keeps today's rule: no placement at all.
    assert_eq!(offsets_placement(&one, 50), None);
    let mut s = two_groups();
    let cmd = offsets_placement(&s, 4).unwrap();
    s.apply(&cmd).unwrap();
    let placed: Vec<&str> = (0..4)
        .map(|q| s.placed_on(OFFSETS_TOPIC, q).unwrap())
        .collect();
    assert_eq!(placed, ["ga", "gb", "ga", "gb"]);
    assert_eq!(offsets_placement(&s, 4), None);
    // The coordinator of a key is the group of its partition.
    assert_eq!(
        crate::cluster::coordinator_group(
            &rokka_cluster::ClusterView {
                state: s.clone(),
                ..Default::default()
            },
            "gb",
            2
        )
        .as_deref(),
        Some("ga")
    );
}

#[test]
fn every_group_holds_all_of_the_offsets_topic_after_its_placement() {
    let mut s = two_groups();
    let offsets = TopicConfig::new(OFFSETS_TOPIC, 4);
    s.apply(&put(&offsets)).unwrap();
    let seen = names(&[OFFSETS_TOPIC]);
    s.apply(&offsets_placement(&s, 4).unwrap()).unwrap();
    for g in ["ga", "gb"] {
        let held = held_by(&s, g);
        assert_eq!(decode(&held[OFFSETS_TOPIC]), Some(offsets.clone()), "{g}");
        // A slave that saw the topic before the placement keeps it.
        assert_eq!(
            slave_sync(std::slice::from_ref(&offsets), &held, &seen),
            Sync::default(),
            "{g}"
        );
    }
}

#[test]
fn coordinator_group_before_the_offsets_placement() {
    let view = |state| rokka_cluster::ClusterView {
        state,
        ..Default::default()
    };
    // One group: this group, as before placement existed.
    let one = one_group();
    assert_eq!(
        crate::cluster::coordinator_group(&view(one), "ga", 7).as_deref(),
        Some("ga")
    );
    // Several groups, no placement yet: not available.
    assert_eq!(
        crate::cluster::coordinator_group(&view(two_groups()), "ga", 7),
        None
    );
}
