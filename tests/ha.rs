//! HA service over loopback: a slave ends with the master's bytes and the
//! same physical and queue offsets; `wait_acked` waits for the slave's ack;
//! a late slave catches up from zero; an old master with a divergent tail
//! truncates when it follows a newer master, and only then serves slave
//! reads (`Ha::log_agrees`).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use rokka::ha::{Ha, Role};
use rokka_store::{AppendPayload, AppendRequest, MessageToStore, Store, StoreConfig};

const WAIT: Duration = Duration::from_secs(20);

fn open(dir: &Path) -> Store {
    let mut c = StoreConfig::for_tests(dir);
    c.commit_log_segment_size = 64 * 1024;
    c.max_message_size = 16 * 1024;
    c.consume_queue_entries_per_file = 64;
    Store::open(c, &prometheus::Registry::new()).expect("open store")
}

fn request(queue_id: u32, seed: u64, i: u64) -> AppendRequest {
    let len = 1 + ((seed * 7919 + i * 104_729) % 3000) as usize;
    let body: Vec<u8> = (0..len).map(|k| (k as u64 ^ seed ^ i) as u8).collect();
    AppendRequest {
        topic: Bytes::from_static(b"th"),
        queue_id,
        payload: AppendPayload::Message(MessageToStore {
            flag: 0,
            body: Bytes::from(body),
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "127.0.0.1:40000".parse().unwrap(),
            reconsume_times: 0,
            prepared_tx_offset: 0,
            properties: Bytes::from_static(b"KEYS\x01k\x02"),
        }),
    }
}

async fn fill(s: &Store, seed: u64, n: u64) {
    for i in 0..n {
        s.append(request((i % 3) as u32, seed, i)).await.unwrap();
    }
}

/// A master `Ha` serving on an ephemeral loopback port.
async fn master(store: Store, epoch: u64) -> (Ha, SocketAddr) {
    let ha = Ha::new(store, &prometheus::Registry::new());
    ha.set_role(Role::Master { epoch }).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = ha.clone();
    tokio::spawn(async move { server.serve(listener).await });
    (ha, addr)
}

async fn wait_for_end(s: &Store, end: u64) {
    let t = tokio::time::Instant::now();
    while s.log_end() != end {
        assert!(t.elapsed() < WAIT, "slave stuck at {} < {end}", s.log_end());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn assert_identical(a: &Store, b: &Store) {
    assert_eq!(a.commit_log_bounds(), b.commit_log_bounds());
    for q in 0..3 {
        assert_eq!(a.max_offset("th", q), b.max_offset("th", q), "queue {q}");
        let ra = a.get_messages("th", q, 0, 100_000, usize::MAX, None);
        let rb = b.get_messages("th", q, 0, 100_000, usize::MAX, None);
        assert!(!ra.entries.is_empty());
        assert_eq!(ra.entries.len(), rb.entries.len());
        for (x, y) in ra.entries.iter().zip(&rb.entries) {
            assert_eq!(
                (x.phy_offset, x.queue_offset, &x.bytes),
                (y.phy_offset, y.queue_offset, &y.bytes)
            );
        }
    }
}

#[tokio::test]
async fn slave_follows_master_and_acks() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ms, ss) = (open(d1.path()), open(d2.path()));
    let (m, addr) = master(ms.clone(), 1).await;
    fill(&ms, 1, 50).await;
    let end = ms.log_end();
    // No slave yet: nobody acks.
    assert!(!m.wait_acked(end, 1, Duration::from_millis(200)).await);

    let s = Ha::new(ss.clone(), &prometheus::Registry::new());
    s.set_role(Role::Slave {
        epoch: 1,
        master: addr,
    })
    .unwrap();
    s.set_role(Role::Slave {
        epoch: 1,
        master: addr,
    })
    .unwrap();
    assert!(ss.is_read_only());
    assert!(m.wait_acked(end, 1, WAIT).await);
    // The ack means the bytes are on the slave.
    assert!(ss.log_end() >= end);

    // Writes across several segments while the slave follows.
    fill(&ms, 2, 200).await;
    let end = ms.log_end();
    assert!(end > 3 * 64 * 1024);
    assert!(m.wait_acked(end, 1, WAIT).await);
    assert!(!m.wait_acked(end, 2, Duration::from_millis(100)).await);
    assert_identical(&ms, &ss);
    let states = m.replica_states();
    assert_eq!(states.len(), 1);
    assert_eq!((states[0].acked, states[0].lag_bytes), (end, 0));
    assert!(states[0].last_ack_age < WAIT);
}

#[tokio::test]
async fn late_slave_catches_up_from_zero() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ms, ss) = (open(d1.path()), open(d2.path()));
    let (m, addr) = master(ms.clone(), 4).await;
    fill(&ms, 3, 150).await;
    let end = ms.log_end();
    assert_eq!(ss.log_end(), 0);
    let s = Ha::new(ss.clone(), &prometheus::Registry::new());
    s.set_role(Role::Slave {
        epoch: 4,
        master: addr,
    })
    .unwrap();
    assert!(m.wait_acked(end, 1, WAIT).await);
    wait_for_end(&ss, end).await;
    assert_identical(&ms, &ss);
}

#[tokio::test]
async fn old_master_truncates_divergent_tail() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (s1, s2) = (open(d1.path()), open(d2.path()));
    // Term 1: store 1 is master, store 2 follows.
    let (a, addr1) = master(s1.clone(), 1).await;
    let b = Ha::new(s2.clone(), &prometheus::Registry::new());
    b.set_role(Role::Slave {
        epoch: 1,
        master: addr1,
    })
    .unwrap();
    fill(&s1, 5, 60).await;
    let common = s1.log_end();
    assert!(a.wait_acked(common, 1, WAIT).await);
    // Slave reads: a follower's log agrees with the master's once it has
    // hand-shaken; a master's own log is not "agreed" for slave reads.
    assert!(b.log_agrees() && !a.log_agrees());

    // Store 2 stops following; store 1 writes a tail nobody saw.
    b.set_role(Role::Standalone).unwrap();
    fill(&s1, 6, 40).await;
    assert!(s1.log_end() > common);

    // Term 2: store 2 becomes master and writes its own, different tail.
    b.set_role(Role::Master { epoch: 2 }).unwrap();
    assert!(!s2.is_read_only());
    assert!(
        !b.log_agrees(),
        "a master's tail may be one the next master lacks"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr2 = listener.local_addr().unwrap();
    let server = b.clone();
    tokio::spawn(async move { server.serve(listener).await });
    fill(&s2, 7, 30).await;
    assert!(s2.log_end() > common);
    // The two logs really diverge right after the common prefix.
    assert_ne!(
        s1.read_replica_chunk(common, 1 << 20).unwrap(),
        s2.read_replica_chunk(common, 1 << 20).unwrap()
    );

    // Store 1 follows store 2: it cuts its tail and ends byte-identical.
    a.set_role(Role::Slave {
        epoch: 2,
        master: addr2,
    })
    .unwrap();
    // Demoted, before its handshake: its divergent tail is still there.
    assert!(!a.log_agrees());
    let end = s2.log_end();
    assert!(b.wait_acked(end, 1, WAIT).await);
    wait_for_end(&s1, end).await;
    assert!(a.log_agrees(), "truncated and following: slave reads again");
    assert_identical(&s2, &s1);
    let mut p = s1.commit_log_bounds().0;
    while p < end {
        let x = s1.read_replica_chunk(p, 1 << 20).unwrap();
        assert_eq!(x, s2.read_replica_chunk(p, 1 << 20).unwrap(), "at {p}");
        p += x.len() as u64;
        if s1.read_at(p).is_none() && p < end {
            p = p.next_multiple_of(64 * 1024);
        }
    }
}

#[tokio::test]
async fn roles_refuse_older_epochs_and_serve_only_as_master() {
    let d = tempfile::tempdir().unwrap();
    let st = open(d.path());
    let registry = prometheus::Registry::new();
    let ha = Ha::new(st.clone(), &registry);
    ha.set_role(Role::Master { epoch: 5 }).unwrap();
    let gauge = |name: &str| {
        registry
            .gather()
            .iter()
            .find(|f| f.name() == name)
            .map(|f| f.get_metric()[0].get_gauge().get_value())
    };
    assert_eq!(gauge("rokka_ha_role"), Some(1.0));
    assert_eq!(gauge("rokka_ha_epoch"), Some(5.0));
    assert!(ha.set_role(Role::Master { epoch: 3 }).is_err());
    assert_eq!(ha.role(), Role::Master { epoch: 5 });
    ha.set_role(Role::Standalone).unwrap();
    // A standalone store closes HA connections: a slave never gets acked.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = ha.clone();
    tokio::spawn(async move { server.serve(listener).await });
    fill(&st, 8, 5).await;
    let d2 = tempfile::tempdir().unwrap();
    let other = open(d2.path());
    let s = Ha::new(other.clone(), &prometheus::Registry::new());
    s.set_role(Role::Slave {
        epoch: 5,
        master: addr,
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(other.log_end(), 0);
    assert!(ha.replica_states().is_empty());
}

/// A promotion stops following first: once `stop_following` returns, no
/// chunk of the old master lands any more (issue 12, run 7: a chunk in
/// flight when the slave task was aborted was written after the new master
/// had rebuilt its producer table and recorded its term's start). Taking
/// the slave role again resumes following.
#[tokio::test]
async fn a_stopped_slave_log_no_longer_moves_and_resumes_on_request() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ms, ss) = (open(d1.path()), open(d2.path()));
    let (m, addr) = master(ms.clone(), 1).await;
    let s = Ha::new(ss.clone(), &prometheus::Registry::new());
    let slave = Role::Slave {
        epoch: 1,
        master: addr,
    };
    s.set_role(slave).unwrap();
    // The master keeps writing while the slave is stopped mid-stream.
    let writer = {
        let ms = ms.clone();
        tokio::spawn(async move { fill(&ms, 11, 400).await })
    };
    let t = tokio::time::Instant::now();
    while ss.log_end() < 64 * 1024 {
        assert!(t.elapsed() < WAIT, "slave never received data");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    s.stop_following().await.unwrap();
    let stopped_at = ss.log_end();
    writer.await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ss.log_end(), stopped_at, "a chunk landed after the stop");
    assert!(stopped_at < ms.log_end());
    // Taking the same role again follows the master to its end.
    s.set_role(slave).unwrap();
    let end = ms.log_end();
    assert!(m.wait_acked(end, 1, WAIT).await);
    wait_for_end(&ss, end).await;
    assert_identical(&ms, &ss);
}

/// Acks count only from sessions of the master's current term: a session
/// of an earlier term may report bytes its slave has since truncated.
#[tokio::test]
async fn acks_of_an_earlier_term_do_not_count() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (ms, ss) = (open(d1.path()), open(d2.path()));
    let (m, addr) = master(ms.clone(), 1).await;
    fill(&ms, 12, 20).await;
    let end = ms.log_end();
    let s = Ha::new(ss.clone(), &prometheus::Registry::new());
    s.set_node_id(2);
    s.set_role(Role::Slave {
        epoch: 1,
        master: addr,
    })
    .unwrap();
    assert!(m.wait_acked(end, 1, WAIT).await);
    assert_eq!(m.acked_by_node().get(&2), Some(&end));
    // A new term: the epoch-1 session is not evidence any more, even while
    // it is still in the table.
    m.set_role(Role::Master { epoch: 2 }).unwrap();
    assert!(m.acked_by_node().is_empty());
    assert!(!m.wait_acked(end, 1, Duration::from_millis(1)).await);
    // The slave reconnects in the new term and acks again.
    s.set_role(Role::Slave {
        epoch: 2,
        master: addr,
    })
    .unwrap();
    assert!(m.wait_acked(end, 1, WAIT).await);
    assert_eq!(m.acked_by_node().get(&2), Some(&end));
}
