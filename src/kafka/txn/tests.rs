//! The coordinator's state machine on a real store: producer ids and epochs,
//! fencing, the errors of each state, produce checks, timeouts, and the
//! state read back from `__transaction_state` by a second coordinator.

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use prometheus::Registry;
use rokka_protocols::kafka::error_code as ec;
use rokka_protocols::kafka::txn_log::TxnStatus;
use rokka_store::topics::TopicConfig;
use rokka_store::Store;

use super::*;
use crate::config::{BrokerConfig, Overrides};

fn broker(dir: &std::path::Path) -> Broker {
    let overrides = Overrides {
        data_dir: Some(dir.to_path_buf()),
        properties: vec!["mappedFileSizeCommitLog=8388608".to_string()],
        ..Overrides::default()
    };
    let config = BrokerConfig::load(&overrides).unwrap();
    let registry = Registry::new();
    let store = Store::open(config.store.clone(), &registry).unwrap();
    store.topics().put(TopicConfig::new("t", 2)).unwrap();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    Broker::new(Arc::new(config), store, registry, rx)
}

fn coordinator(b: &Broker) -> TxnCoordinator {
    TxnCoordinator::open(b, Arc::new(AtomicI64::new(1000))).unwrap()
}

fn status(c: &TxnCoordinator, id: &str) -> TxnStatus {
    c.get(id).unwrap().status
}

#[tokio::test]
async fn state_machine_errors_and_fencing() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    let c = coordinator(&b);
    assert_eq!(
        c.init("a", 0, (-1, -1), 4).await.0,
        ec::INVALID_TRANSACTION_TIMEOUT
    );
    assert_eq!(
        c.init("a", 900_001, (-1, -1), 4).await.0,
        ec::INVALID_TRANSACTION_TIMEOUT
    );
    let (e, pid, epoch) = c.init("a", 60_000, (-1, -1), 4).await;
    assert_eq!((e, pid, epoch), (0, 1000, 0));
    assert_eq!(
        c.end("a", pid, 0, true, 3).await,
        ec::INVALID_TXN_STATE,
        "Empty"
    );
    assert_eq!(
        c.end("b", pid, 0, true, 3).await,
        ec::INVALID_PRODUCER_ID_MAPPING
    );
    let parts = [("t".to_string(), 0u32), ("t".to_string(), 1)];
    assert_eq!(c.add("a", pid, 1, &parts, None, 90).await, Err(90));
    assert_eq!(
        c.add("a", pid + 1, 0, &parts, None, 90).await,
        Err(ec::INVALID_PRODUCER_ID_MAPPING)
    );
    assert_eq!(
        c.check_produce("t", 0, pid, 0),
        Err(ec::INVALID_TXN_STATE),
        "not added"
    );
    assert_eq!(c.add("a", pid, 0, &parts[..1], None, 90).await, Ok(()));
    assert_eq!(status(&c, "a"), TxnStatus::Ongoing);
    assert_eq!(
        c.check_produce("t", 1, pid, 0),
        Err(ec::INVALID_TXN_STATE),
        "other partition"
    );
    assert_eq!(
        c.check_produce("t", 0, pid, 1),
        Err(ec::INVALID_PRODUCER_EPOCH)
    );
    assert_eq!(c.check_produce("t", 0, pid, 0), Ok(()));
    assert_eq!(b.txns.lso("t", 0, 5), 0, "open from the log end (0)");
    assert_eq!(c.end("a", pid, 0, true, 3).await, ec::NONE);
    assert_eq!(status(&c, "a"), TxnStatus::CompleteCommit);
    assert_eq!(b.store.max_offset("t", 0), 1, "one COMMIT marker");
    assert_eq!(b.txns.lso("t", 0, 1), 1);
    assert_eq!(c.end("a", pid, 0, true, 3).await, ec::NONE, "a retry");
    assert_eq!(c.end("a", pid, 0, false, 3).await, ec::INVALID_TXN_STATE);
    // v3+ with the wrong current epoch: fenced (47 before v4).
    assert_eq!(
        c.init("a", 60_000, (pid, 7), 4).await.0,
        ec::PRODUCER_FENCED
    );
    assert_eq!(
        c.init("a", 60_000, (pid, 7), 3).await.0,
        ec::INVALID_PRODUCER_EPOCH
    );
    assert_eq!(c.init("a", 60_000, (pid, 0), 4).await, (0, pid, 1));
    // An open transaction is aborted by the next init, with two bumps.
    assert_eq!(c.add("a", pid, 1, &parts, None, 90).await, Ok(()));
    assert_eq!(c.check_produce("t", 1, pid, 1), Ok(()));
    assert_eq!(c.init("a", 60_000, (-1, -1), 4).await, (0, pid, 3));
    assert_eq!(b.txns.aborted_between("t", 1, 0, 10).len(), 1);
    assert_eq!(b.txns.lso("t", 1, 1), 1);
}

#[tokio::test]
async fn timeouts_abort_and_state_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    let c = coordinator(&b);
    let (_, pid, _) = c.init("slow", 1_000, (-1, -1), 4).await;
    let parts = [("t".to_string(), 0u32)];
    assert_eq!(c.add("slow", pid, 0, &parts, Some("g"), 90).await, Ok(()));
    assert_eq!(c.check_produce("t", 0, pid, 0), Ok(()));
    let start = c.get("slow").unwrap().start_ms;
    c.expire(start + 500).await;
    assert_eq!(status(&c, "slow"), TxnStatus::Ongoing, "not yet due");
    // A second coordinator on the same store sees the open transaction.
    let c2 = coordinator(&b);
    assert_eq!(c2.get("slow").unwrap().groups, vec!["g".to_string()]);
    c2.expire(start + 1_001).await;
    let s = c2.get("slow").unwrap();
    assert_eq!(
        (s.status, s.producer_epoch),
        (TxnStatus::CompleteAbort, 1),
        "fenced"
    );
    assert_eq!(c2.end("slow", pid, 0, true, 3).await, ec::PRODUCER_FENCED);
    // The aborted index is read back from __transaction_state.
    let b2 = Broker::new(
        Arc::clone(&b.config),
        b.store.clone(),
        Registry::new(),
        tokio::sync::watch::channel(false).1,
    );
    let c3 = coordinator(&b2);
    assert_eq!(status(&c3, "slow"), TxnStatus::CompleteAbort);
    let a = b2.txns.aborted_between("t", 0, 0, 10);
    assert_eq!((a.len(), a[0].producer_id, a[0].last_offset), (1, pid, 0));
    let (_, pid2, _) = c3.init("next", 60_000, (-1, -1), 4).await;
    assert!(
        pid2 > pid,
        "persisted producer ids are not handed out again"
    );
}
