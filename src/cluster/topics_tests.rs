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
