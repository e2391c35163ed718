//! Transactional messages (rocketmq-remoting §11): a PREPARED send (sysFlag
//! 0x4) is parked in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0 with
//! `REAL_TOPIC`/`REAL_QID` and is invisible to consumers; END_TRANSACTION
//! (37) COMMIT re-appends it to its real queue with sysFlag COMMIT (0x8) and
//! `preparedTxOffset` = the half record's offset; ROLLBACK drops it; "unknown"
//! leaves it parked for the back-check (`transaction_check.rs`). A half
//! message is resolved at most once: each resolution is recorded in
//! `RMQ_SYS_TRANS_OP_HALF_TOPIC` (body = the half queue offset, as RocketMQ's
//! op messages), which is read back at start-up.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use rokka_store::Store;
use tracing::warn;

use rokka_protocols::remoting::message::{decode_message, decode_properties, encode_properties};
use rokka_protocols::remoting::{RemotingCommand, ResponseCode};
use rokka_store::topics::TopicConfig;
use rokka_store::{AppendPayload, EntryKind, MessageToStore};

use super::context::{map_store_error, now_ms, Ctx, HResult, HandlerError};
use super::header::{opt, req, req_str};
use super::reply::ok;
use super::send::append;

/// The half-message topic.
pub(crate) const HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// sysFlag transaction-type mask and values.
pub(crate) const TX_MASK: i32 = 0xC;
/// PREPARED (half message).
pub(crate) const TX_PREPARED: i32 = 0x4;
const TX_COMMIT: i32 = 0x8;
const TX_ROLLBACK: i32 = 0xC;

/// The op topic: one message per resolved half message.
pub(crate) const OP_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";

/// Resolution state of the half messages, by half queue offset.
#[derive(Debug, Default)]
pub(crate) struct TxState {
    /// Every half message below this offset is resolved; the back-check
    /// starts here.
    progress: u64,
    /// Resolved ones at or above `progress` (committed, rolled back or
    /// discarded).
    done: HashSet<u64>,
    /// Back-checks sent so far for unresolved ones (reset by a restart).
    pub(crate) checks: HashMap<u64, u32>,
}

impl TxState {
    /// Whether half `q` is resolved.
    pub(crate) fn is_done(&self, q: u64) -> bool {
        q < self.progress || self.done.contains(&q)
    }

    /// Where the back-check starts: the first unresolved offset at or after
    /// `min` (the half queue's oldest), forgetting resolutions below it.
    pub(crate) fn advance(&mut self, min: u64) -> u64 {
        let mut p = self.progress.max(min);
        while self.done.contains(&p) {
            p += 1;
        }
        if p != self.progress {
            self.progress = p;
            self.done.retain(|q| *q >= p);
        }
        p
    }
}

/// The half messages' resolution state.
#[derive(Debug, Default)]
pub(crate) struct Transactions {
    state: Mutex<TxState>,
}

impl Transactions {
    /// Rebuilds the resolved set from the op topic.
    pub(crate) fn load(store: &Store) -> Transactions {
        let t = Transactions::default();
        let Some(cq) = store.consume_queue(OP_TOPIC, 0) else {
            return t;
        };
        let mut st = t.lock();
        for off in cq.min_offset()..cq.max_offset() {
            let resolved = cq
                .get(off)
                .and_then(|e| store.read_at(e.phy_offset))
                .and_then(|e| decode_message(&e.bytes).ok())
                .and_then(|(m, _)| std::str::from_utf8(&m.body).ok()?.parse::<u64>().ok());
            if let Some(q) = resolved {
                st.done.insert(q);
            }
        }
        drop(st);
        t
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, TxState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks half `q` resolved; false if it already was.
    pub(crate) fn resolve(&self, q: u64) -> bool {
        let mut st = self.lock();
        st.checks.remove(&q);
        !st.is_done(q) && st.done.insert(q)
    }

    /// Undoes [`Self::resolve`] after a commit that could not be stored.
    fn unresolve(&self, q: u64) {
        self.lock().done.remove(&q);
    }
}

/// Records in the op topic that half `q` was resolved (`how`: commit,
/// rollback or discard), so a restart does not check it again. A failed
/// append is logged; the resolution then holds until the next restart.
pub(crate) async fn record_op(ctx: &Ctx, q: u64, how: &str) {
    let created = ctx
        .broker
        .store
        .topics()
        .get_or_create(TopicConfig::new(OP_TOPIC, 1));
    let op = MessageToStore {
        flag: 0,
        body: Bytes::from(q.to_string()),
        sys_flag: 0,
        born_timestamp: now_ms(),
        born_host: ctx.advertised,
        reconsume_times: 0,
        prepared_tx_offset: 0,
        properties: encode_properties(vec![("TAGS", "d"), ("RESOLUTION", how)]).into(),
    };
    let appended = match created {
        Ok(_) => append(ctx, OP_TOPIC, 0, AppendPayload::Message(op))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = appended {
        warn!(half_offset = q, %e, "could not record a transaction resolution");
    }
}

/// Rewrites a PREPARED send for the half topic: (topic, queue, properties).
pub(crate) fn half(
    ctx: &Ctx,
    topic: &str,
    queue_id: u32,
    props: &str,
) -> Result<(String, u32, String), HandlerError> {
    ctx.broker
        .store
        .topics()
        .get_or_create(TopicConfig::new(HALF_TOPIC, 1))
        .map_err(|e| map_store_error(&e))?;
    let qid = queue_id.to_string();
    let mut pairs: Vec<(&str, &str)> = decode_properties(props)
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "REAL_TOPIC" | "REAL_QID" | "DELAY"))
        .collect();
    pairs.push(("REAL_TOPIC", topic));
    pairs.push(("REAL_QID", &qid));
    Ok((HALF_TOPIC.to_owned(), 0, encode_properties(pairs)))
}

fn illegal(remark: impl Into<String>) -> HandlerError {
    HandlerError::new(ResponseCode::SYSTEM_ERROR, remark)
}

/// END_TRANSACTION (37), usually oneway.
pub(crate) async fn end_transaction(ctx: &Ctx, cmd: &RemotingCommand) -> HResult {
    let group = req_str(cmd, "producerGroup")?;
    let state: i32 = req(cmd, "commitOrRollback")?;
    let offset: i64 = req(cmd, "commitLogOffset")?;
    let table_offset: Option<i64> = opt(cmd, "tranStateTableOffset")?;
    if state != TX_COMMIT && state != TX_ROLLBACK {
        return Ok(ok(cmd, &[]));
    }
    resolve_half(ctx, Some(group), offset, table_offset, state == TX_COMMIT).await?;
    Ok(ok(cmd, &[]))
}

/// Commits or rolls back the half message stored at CommitLog `offset`
/// (also the gRPC EndTransaction's path); a second resolution is a no-op.
pub(crate) async fn resolve_half(
    ctx: &Ctx,
    group: Option<&str>,
    offset: i64,
    table_offset: Option<i64>,
    commit: bool,
) -> Result<(), HandlerError> {
    let phy = u64::try_from(offset).map_err(|_| illegal("invalid commitLogOffset"))?;
    let entry = ctx
        .broker
        .store
        .read_at(phy)
        .filter(|e| e.kind == EntryKind::RocketMq)
        .ok_or_else(|| illegal(format!("no half message at offset {offset}")))?;
    let (m, _) = decode_message(&entry.bytes).map_err(|e| illegal(e.to_string()))?;
    if m.topic != HALF_TOPIC || table_offset.is_some_and(|t| t != m.queue_offset) {
        return Err(illegal("the offsets do not name a half message"));
    }
    if group.is_some_and(|group| m.property("PGROUP").is_some_and(|g| g != group)) {
        return Err(illegal(
            "the producer group does not match the half message",
        ));
    }
    let q = u64::try_from(m.queue_offset).map_err(|_| illegal("bad half queue offset"))?;
    // Reserved before the commit is stored, so two END_TRANSACTIONs for one
    // half message cannot both commit it.
    if !ctx.transactions.resolve(q) {
        return Ok(());
    }
    if !commit {
        record_op(ctx, q, "rollback").await;
        return Ok(());
    }
    let props = decode_properties(&m.properties);
    let topic = props
        .iter()
        .rev()
        .find(|(k, _)| *k == "REAL_TOPIC")
        .map(|(_, v)| (*v).to_owned())
        .ok_or_else(|| illegal("half message without REAL_TOPIC"))?;
    let qid: u32 = props
        .iter()
        .rev()
        .find(|(k, _)| *k == "REAL_QID")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let kept: Vec<(&str, &str)> = props
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "REAL_TOPIC" | "REAL_QID"))
        .collect();
    let msg = MessageToStore {
        flag: m.flag,
        body: m.body.clone(),
        sys_flag: (m.sys_flag & !TX_MASK & !0x30) | TX_COMMIT,
        born_timestamp: m.born_timestamp,
        born_host: m.born_host,
        reconsume_times: m.reconsume_times,
        prepared_tx_offset: offset,
        properties: encode_properties(kept).into(),
    };
    // Through broker::put: a committed timer message is parked until due.
    if let Err(e) = super::send::put(ctx, &topic, qid, AppendPayload::Message(msg)).await {
        // Let a retried END_TRANSACTION or the back-check try again.
        ctx.transactions.unresolve(q);
        return Err(e);
    }
    record_op(ctx, q, "commit").await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rokka_store::{AppendRequest, StoreConfig};

    use super::*;

    #[test]
    fn resolutions_are_read_back_from_the_op_topic() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = StoreConfig::for_tests(dir.path());
        cfg.max_message_size = 64 * 1024;
        let store = Store::open(cfg, &prometheus::Registry::new()).unwrap();
        for body in ["3", "7", "not a number", "3"] {
            let op = MessageToStore {
                flag: 0,
                body: Bytes::from(body),
                sys_flag: 0,
                born_timestamp: 0,
                born_host: "127.0.0.1:1".parse().unwrap(),
                reconsume_times: 0,
                prepared_tx_offset: 0,
                properties: Bytes::from_static(b"TAGS\x01d"),
            };
            store
                .append_blocking(AppendRequest {
                    topic: Bytes::from_static(OP_TOPIC.as_bytes()),
                    queue_id: 0,
                    payload: AppendPayload::Message(op),
                })
                .unwrap();
        }
        let t = Transactions::load(&store);
        let done: Vec<u64> = (0..10).filter(|q| t.lock().is_done(*q)).collect();
        assert_eq!(done, [3, 7]);
        assert!(!t.resolve(7), "already resolved");
        assert!(t.resolve(8));
        t.unresolve(8);
        assert!(!t.lock().is_done(8));
        assert!(Transactions::load(&store).lock().checks.is_empty());
        // The check starts at the first unresolved offset and forgets what
        // lies below it, which still counts as resolved.
        for q in [0, 1, 2] {
            assert!(t.resolve(q));
        }
        let mut st = t.lock();
        assert_eq!(st.advance(0), 4, "0..=3 resolved");
        assert_eq!(st.done.len(), 1, "only 7 is kept");
        assert!(st.is_done(1) && st.is_done(7) && !st.is_done(4));
        assert_eq!(st.advance(6), 6, "the queue's minimum moved up");
        drop(st);
        assert!(!t.resolve(2), "resolved before progress moved past it");
    }
}
