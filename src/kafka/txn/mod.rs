//! The Kafka transaction coordinator (ADR 014): transactional id →
//! (producer id, epoch, state, partitions, groups, pending offsets,
//! timeout, start time), Kafka's `TransactionMetadata` state machine,
//! persisted in `__transaction_state` (`log.rs`) and completed by writing
//! COMMIT / ABORT control batches into every partition of the transaction
//! (`complete.rs`). One broker coordinates every transactional id.
//!
//! ```text
//! InitProducerId ─> Empty ─AddPartitions/AddOffsets─> Ongoing ─EndTxn─> PrepareCommit|PrepareAbort
//!   ─markers, offsets─> CompleteCommit|CompleteAbort ─AddPartitions─> Ongoing ...
//! ```
//! State changes are serialized by one async lock (`write`) and persisted
//! before the answer; transactional Produce reads the state under a plain
//! mutex and holds `markers` (shared) across its check and append, so no
//! batch of a transaction lands after that transaction's markers.

mod complete;
pub mod log;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rokka_protocols::kafka::error_code as ec;
use rokka_protocols::kafka::txn_log::{PendingOffset, TxnLogKey, TxnStateValue, TxnStatus};
use tokio::task::JoinHandle;
use tracing::warn;

use crate::broker::Broker;
use log::now_ms;

/// The coordinator.
#[derive(Debug)]
pub struct TxnCoordinator {
    broker: Broker,
    partitions: u32,
    txns: Mutex<HashMap<String, TxnStateValue>>,
    /// Producer id → transactional id.
    by_pid: Mutex<HashMap<i64, String>>,
    /// Serializes state changes with their persistence.
    write: tokio::sync::Mutex<()>,
    /// Shared by transactional appends, exclusive while markers are written.
    pub markers: tokio::sync::RwLock<()>,
    next_pid: Arc<AtomicI64>,
    offsets_log: Mutex<Option<crate::kafka::offsets_topic::OffsetsLog>>,
}

/// The persisted states by transactional id and the producer id → id map;
/// registers open transactions in the broker's index and moves `next_pid`
/// above every persisted producer id.
fn load(
    broker: &Broker,
    partitions: u32,
    next_pid: &AtomicI64,
) -> (HashMap<String, TxnStateValue>, HashMap<i64, String>) {
    let states = log::load(&broker.store, partitions, &broker.txns);
    let mut by_pid = HashMap::new();
    for (id, s) in &states {
        by_pid.insert(s.producer_id, id.clone());
        if matches!(
            s.status,
            TxnStatus::Ongoing | TxnStatus::PrepareCommit | TxnStatus::PrepareAbort
        ) {
            for (topic, p, start) in &s.partitions {
                if let Ok(q) = u32::try_from(*p) {
                    broker.txns.begin(topic, q, s.producer_id, *start);
                }
            }
        }
        next_pid.fetch_max(s.producer_id + 1, Ordering::Relaxed);
    }
    (states, by_pid)
}

/// PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH for request versions before
/// `fenced_since` (Kafka's conversion for older clients).
pub fn fenced(version: i16, fenced_since: i16) -> i16 {
    if version >= fenced_since {
        ec::PRODUCER_FENCED
    } else {
        ec::INVALID_PRODUCER_EPOCH
    }
}

impl TxnCoordinator {
    /// Loads the persisted state (registering open transactions in the
    /// broker's index) and returns the coordinator.
    pub fn open(
        broker: &Broker,
        next_pid: Arc<AtomicI64>,
    ) -> Result<TxnCoordinator, rokka_store::StoreError> {
        let partitions = log::ensure_topic(broker)?;
        let (states, by_pid) = load(broker, partitions, &next_pid);
        Ok(TxnCoordinator {
            broker: broker.clone(),
            partitions,
            txns: Mutex::new(states),
            by_pid: Mutex::new(by_pid),
            write: tokio::sync::Mutex::new(()),
            markers: tokio::sync::RwLock::new(()),
            next_pid,
            offsets_log: Mutex::new(None),
        })
    }

    /// Reads the state and the partitions' transaction index again from
    /// the log (a node promoted to master in cluster mode: what it
    /// replicated is now the truth). The next timer pass completes or
    /// expires what the old master left open.
    pub fn reload(&self) {
        self.broker.txns.clear();
        let (states, by_pid) = load(&self.broker, self.partitions, &self.next_pid);
        *self.txns() = states;
        *self.by_pid.lock().unwrap_or_else(|e| e.into_inner()) = by_pid;
    }

    /// Where committed transactional offsets are logged (ADR 011).
    pub fn set_offsets_log(&self, log: crate::kafka::offsets_topic::OffsetsLog) {
        *self.offsets_log.lock().unwrap_or_else(|e| e.into_inner()) = Some(log);
    }

    fn txns(&self) -> MutexGuard<'_, HashMap<String, TxnStateValue>> {
        self.txns.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, id: &str) -> Option<TxnStateValue> {
        self.txns().get(id).cloned()
    }

    /// Persists `s` as the state of `id`, then makes it current.
    async fn put(&self, id: &str, s: TxnStateValue) -> Result<(), i16> {
        let key = TxnLogKey::State(id.to_string());
        if let Err(e) = log::append(&self.broker.store, self.partitions, id, &key, s.encode()).await
        {
            crate::net::log_limit::warn(|suppressed| {
                warn!(transactional_id = id, error = %e, suppressed, "cannot persist transaction state");
            });
            return Err(ec::COORDINATOR_NOT_AVAILABLE);
        }
        // Cluster mode: answered once the in-sync replicas hold the state,
        // so a coordinator elected next continues the transaction (Kafka
        // writes `__transaction_state` with acks=all too).
        if let Some(c) = &self.broker.cluster {
            if !c.wait_in_sync(self.broker.store.log_end()).await {
                return Err(ec::COORDINATOR_NOT_AVAILABLE);
            }
        }
        self.by_pid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(s.producer_id, id.to_string());
        self.txns().insert(id.to_string(), s);
        Ok(())
    }

    /// True in cluster mode on a node that is not the writable master: the
    /// master coordinates (FindCoordinator names it); clients asking here
    /// get NOT_COORDINATOR and look it up again.
    fn elsewhere(&self) -> bool {
        self.broker
            .cluster
            .as_ref()
            .is_some_and(|c| !c.is_writable_master())
    }

    /// Checks producer id and epoch of a request against `s`.
    fn check_producer(
        s: &TxnStateValue,
        pid: i64,
        epoch: i16,
        fenced_code: i16,
    ) -> Result<(), i16> {
        if s.producer_id != pid {
            return Err(ec::INVALID_PRODUCER_ID_MAPPING);
        }
        if s.producer_epoch != epoch {
            return Err(fenced_code);
        }
        Ok(())
    }

    /// InitProducerId with a transactional id: (error, producer id, epoch).
    pub async fn init(
        &self,
        id: &str,
        timeout_ms: i32,
        expected: (i64, i16),
        version: i16,
    ) -> (i16, i64, i16) {
        if self.elsewhere() {
            return (ec::NOT_COORDINATOR, -1, -1);
        }
        let max = i32::try_from(self.broker.config.transaction_max_timeout_ms).unwrap_or(i32::MAX);
        if timeout_ms <= 0 || timeout_ms > max {
            return (ec::INVALID_TRANSACTION_TIMEOUT, -1, -1);
        }
        let _w = self.write.lock().await;
        let now = now_ms();
        let mut s = match self.get(id) {
            None => TxnStateValue {
                producer_id: self.next_pid.fetch_add(1, Ordering::Relaxed),
                producer_epoch: -1,
                timeout_ms,
                status: TxnStatus::Empty,
                partitions: Vec::new(),
                last_update_ms: now,
                start_ms: -1,
                groups: Vec::new(),
                pending_offsets: Vec::new(),
            },
            Some(s) => s,
        };
        if expected.0 >= 0 && (expected.0 != s.producer_id || expected.1 != s.producer_epoch) {
            return (fenced(version, 4), -1, -1);
        }
        match s.status {
            TxnStatus::PrepareCommit | TxnStatus::PrepareAbort => {
                return (ec::CONCURRENT_TRANSACTIONS, -1, -1)
            }
            TxnStatus::Ongoing => {
                // Fence the old producer: abort with a bumped epoch.
                s.producer_epoch = s.producer_epoch.saturating_add(1);
                match self.complete(id, s, false).await {
                    Ok(done) => s = done,
                    Err(code) => return (code, -1, -1),
                }
            }
            _ => {}
        }
        if s.producer_epoch >= i16::MAX - 1 {
            s.producer_id = self.next_pid.fetch_add(1, Ordering::Relaxed);
            s.producer_epoch = 0;
        } else {
            s.producer_epoch += 1;
        }
        s.timeout_ms = timeout_ms;
        s.status = TxnStatus::Empty;
        s.partitions.clear();
        s.groups.clear();
        s.pending_offsets.clear();
        s.start_ms = -1;
        s.last_update_ms = now;
        let (pid, epoch) = (s.producer_id, s.producer_epoch);
        match self.put(id, s).await {
            Ok(()) => (ec::NONE, pid, epoch),
            Err(code) => (code, -1, -1),
        }
    }

    /// Adds partitions (and/or a group) to the transaction, starting it if
    /// none is open. Errors apply to the whole request.
    pub async fn add(
        &self,
        id: &str,
        pid: i64,
        epoch: i16,
        partitions: &[(String, u32)],
        group: Option<&str>,
        fenced_code: i16,
    ) -> Result<(), i16> {
        if self.elsewhere() {
            return Err(ec::NOT_COORDINATOR);
        }
        let _w = self.write.lock().await;
        let mut s = self.get(id).ok_or(ec::INVALID_PRODUCER_ID_MAPPING)?;
        Self::check_producer(&s, pid, epoch, fenced_code)?;
        let mut changed = false;
        match s.status {
            TxnStatus::PrepareCommit | TxnStatus::PrepareAbort => {
                return Err(ec::CONCURRENT_TRANSACTIONS)
            }
            TxnStatus::Ongoing => {}
            _ => {
                s.status = TxnStatus::Ongoing;
                s.start_ms = now_ms();
                s.partitions.clear();
                s.groups.clear();
                s.pending_offsets.clear();
                changed = true;
            }
        }
        for (topic, q) in partitions {
            let p = i32::try_from(*q).unwrap_or(i32::MAX);
            if !s.partitions.iter().any(|(t, x, _)| t == topic && *x == p) {
                let start = self.broker.store.max_offset(topic, *q) as i64;
                s.partitions.push((topic.clone(), p, start));
                changed = true;
            }
        }
        if let Some(g) = group {
            if !s.groups.iter().any(|x| x == g) {
                s.groups.push(g.to_string());
                changed = true;
            }
        }
        if changed {
            s.last_update_ms = now_ms();
            self.put(id, s).await?;
        }
        Ok(())
    }

    /// TxnOffsetCommit: keeps the offsets (persisted with the state, so a
    /// crash before EndTxn loses nothing acknowledged) until the
    /// transaction ends.
    pub async fn add_offsets(
        &self,
        id: &str,
        pid: i64,
        epoch: i16,
        offsets: Vec<PendingOffset>,
    ) -> Result<(), i16> {
        if self.elsewhere() {
            return Err(ec::NOT_COORDINATOR);
        }
        let _w = self.write.lock().await;
        let mut s = self.get(id).ok_or(ec::INVALID_PRODUCER_ID_MAPPING)?;
        Self::check_producer(&s, pid, epoch, ec::INVALID_PRODUCER_EPOCH)?;
        if s.status != TxnStatus::Ongoing {
            return Err(ec::INVALID_TXN_STATE);
        }
        for o in offsets {
            s.pending_offsets.retain(|x| {
                !(x.group == o.group && x.topic == o.topic && x.partition == o.partition)
            });
            s.pending_offsets.push(o);
        }
        s.last_update_ms = now_ms();
        self.put(id, s).await
    }

    /// EndTxn.
    pub async fn end(&self, id: &str, pid: i64, epoch: i16, commit: bool, version: i16) -> i16 {
        if self.elsewhere() {
            return ec::NOT_COORDINATOR;
        }
        let _w = self.write.lock().await;
        let Some(s) = self.get(id) else {
            return ec::INVALID_PRODUCER_ID_MAPPING;
        };
        if let Err(code) = Self::check_producer(&s, pid, epoch, fenced(version, 2)) {
            return code;
        }
        match (s.status, commit) {
            (TxnStatus::Ongoing, _) => match self.complete(id, s, commit).await {
                Ok(_) => ec::NONE,
                Err(code) => code,
            },
            (TxnStatus::CompleteCommit, true) | (TxnStatus::CompleteAbort, false) => ec::NONE,
            (TxnStatus::PrepareCommit, true) | (TxnStatus::PrepareAbort, false) => {
                ec::CONCURRENT_TRANSACTIONS
            }
            _ => ec::INVALID_TXN_STATE,
        }
    }

    /// Checks a transactional batch of `pid`/`epoch` for `topic`/`queue`
    /// (call with `markers` held shared, then append); registers the
    /// partition's open transaction before the append.
    pub fn check_produce(&self, topic: &str, queue: u32, pid: i64, epoch: i16) -> Result<(), i16> {
        let id = self
            .by_pid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&pid)
            .cloned()
            .ok_or(ec::INVALID_PRODUCER_ID_MAPPING)?;
        let t = self.txns();
        let s = t.get(&id).ok_or(ec::INVALID_PRODUCER_ID_MAPPING)?;
        if s.producer_id != pid || epoch != s.producer_epoch {
            return Err(ec::INVALID_PRODUCER_EPOCH);
        }
        let p = i32::try_from(queue).unwrap_or(i32::MAX);
        if s.status != TxnStatus::Ongoing
            || !s.partitions.iter().any(|(n, x, _)| n == topic && *x == p)
        {
            return Err(ec::INVALID_TXN_STATE);
        }
        let end = self.broker.store.max_offset(topic, queue) as i64;
        self.broker.txns.begin(topic, queue, pid, end);
        Ok(())
    }

    /// Every transactional id and its state.
    pub fn snapshot(&self) -> Vec<(String, TxnStateValue)> {
        let mut v: Vec<_> = self
            .txns()
            .iter()
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// One pass of the timer: aborts (with an epoch bump, fencing the
    /// producer) every open transaction past its timeout, and completes
    /// transactions left prepared (a crash, or a failed marker append).
    pub async fn expire(&self, now: i64) {
        if self.elsewhere() {
            return;
        }
        for (id, s) in self.snapshot() {
            let due = match s.status {
                TxnStatus::Ongoing => now > s.start_ms.saturating_add(i64::from(s.timeout_ms)),
                TxnStatus::PrepareCommit | TxnStatus::PrepareAbort => true,
                _ => false,
            };
            if !due {
                continue;
            }
            let _w = self.write.lock().await;
            // Re-read under the lock: the client may have ended it meanwhile.
            let Some(mut s) = self.get(&id) else { continue };
            let r = match s.status {
                TxnStatus::Ongoing if now > s.start_ms.saturating_add(i64::from(s.timeout_ms)) => {
                    warn!(transactional_id = %id, producer_id = s.producer_id, "aborting a transaction past its timeout");
                    s.producer_epoch = s.producer_epoch.saturating_add(1);
                    self.complete(&id, s, false).await
                }
                TxnStatus::PrepareCommit => self.complete(&id, s, true).await,
                TxnStatus::PrepareAbort => self.complete(&id, s, false).await,
                _ => continue,
            };
            if let Err(code) = r {
                warn!(transactional_id = %id, code, "cannot complete transaction; retrying next pass");
            }
        }
    }
}

/// Runs [`TxnCoordinator::expire`] every `interval` until shutdown (once at
/// once, completing what a crash left prepared).
pub fn start_timer(txn: Arc<TxnCoordinator>, broker: Broker) -> JoinHandle<()> {
    let interval = broker.config.transaction_abort_interval;
    tokio::spawn(async move {
        loop {
            txn.expire(now_ms()).await;
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = broker.shutdown_signal() => return,
            }
        }
    })
}
