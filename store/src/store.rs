//! The store façade: open (lock, recover, start threads), append, read, wait,
//! look up, shut down. Cheap to clone; all clones share one store.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::commit_log::CommitLog;
use crate::config::StoreConfig;
use crate::consume_queue::{ConsumeQueue, ConsumeQueues};
use crate::entry::{scan, AppendPayload, AppendRequest, AppendResult, EntryKind, Scanned};
use crate::error::{IoContext, Result, StoreError};
use crate::index_file::IndexService;
use crate::metrics::StoreMetrics;
use crate::offsets::ConsumerOffsets;
pub use crate::recovery::RecoveryReport;
use crate::topics::TopicConfigs;
use crate::writer::{Cmd, Shared, Writer};

mod damaged;
mod inline;
use damaged::{push_gap, stored_entry};
use inline::Appended;

/// A stop flag that sleeping threads can wait on.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl Stop {
    /// Sleeps up to `d`; true once stop was requested.
    pub(crate) fn wait(&self, d: Duration) -> bool {
        let g = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        if *g {
            return true;
        }
        let (g, _) = self
            .cv
            .wait_timeout(g, d)
            .unwrap_or_else(|e| e.into_inner());
        *g
    }
    fn set(&self) {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }
}

/// Candidate entry starts [`Store::read_enclosing`] validates at most.
const MAX_ENCLOSING_CHECKS: usize = 8;

/// One stored entry handed to a reader: zero-copy bytes of the mapped log.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// Layout of `bytes`.
    pub kind: EntryKind,
    /// CommitLog offset.
    pub phy_offset: u64,
    /// Logical offset of the entry's first message/record.
    pub queue_offset: u64,
    /// Messages/records in the entry.
    pub count: u32,
    /// Tags code of the first record the read matched.
    pub tags_code: i64,
    /// Store timestamp, ms.
    pub store_timestamp: i64,
    /// The whole entry (RocketMQ: exactly what a pull returns).
    pub bytes: Bytes,
}

/// Outcome of a read, with RocketMQ's `GetMessageStatus` meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetStatus {
    /// Entries returned.
    Found,
    /// The filter matched nothing in the scanned range.
    NoMatchedMessage,
    /// The queue does not exist.
    NoMatchedLogicQueue,
    /// The queue is empty.
    NoMessageInQueue,
    /// Offset below the queue's minimum.
    OffsetTooSmall,
    /// Offset equals the queue's end: nothing new yet.
    OffsetOverflowOne,
    /// Offset beyond the queue's end.
    OffsetOverflowBadly,
    /// Queue entries point at data that retention removed.
    OffsetFoundNull,
}

/// A read's entries and the queue's bounds.
#[derive(Debug, Clone)]
pub struct GetResult {
    /// What happened.
    pub status: GetStatus,
    /// The entries, in offset order.
    pub entries: Vec<StoredEntry>,
    /// Where the next read should start.
    pub next_offset: u64,
    /// The queue's minimum offset.
    pub min_offset: u64,
    /// The queue's end offset.
    pub max_offset: u64,
    /// Offsets skipped because their entry is damaged (ADR 007), in order.
    pub skipped: Vec<std::ops::Range<u64>>,
}

struct Inner {
    shared: Arc<Shared>,
    offsets: Arc<ConsumerOffsets>,
    topics: TopicConfigs,
    subscription_groups: crate::subscription_groups::SubscriptionGroups,
    tx: Mutex<Option<Sender<Cmd>>>,
    /// The writer's state; the writer thread and inline appends lock it.
    writer: Arc<Mutex<Writer>>,
    /// SYNC_FLUSH: inline appends wait here for their sync.
    group_commit: Arc<crate::group_commit::GroupCommit>,
    /// flushDiskType is SYNC_FLUSH: an append is answered after its sync.
    sync: bool,
    /// Permits of 1 KiB for the bytes of appends in flight.
    pending: tokio::sync::Semaphore,
    pending_kib: u32,
    threads: Mutex<Vec<JoinHandle<()>>>,
    stop: Arc<Stop>,
    report: RecoveryReport,
    checkpoint: PathBuf,
    abort: PathBuf,
    closed: AtomicBool,
    compactor: crate::compaction::Compactor,
    /// Set on a slave replica: client appends are refused.
    read_only: AtomicBool,
    _lock: File,
}

/// Opens the files and builds the state shared by the store's threads.
pub(crate) fn open_shared(
    config: StoreConfig,
    registry: &prometheus::Registry,
) -> Result<Arc<Shared>> {
    let metrics = StoreMetrics::new(registry).map_err(|e| StoreError::Config(e.to_string()))?;
    let shared = Arc::new(Shared {
        commit_log: CommitLog::open(&config.commit_log_dir, config.commit_log_segment_size)?,
        cqs: ConsumeQueues::open(
            &config.consume_queue_dir(),
            config.consume_queue_entries_per_file,
        )?,
        index: IndexService::open(
            &config.index_dir(),
            config.index_hash_slots,
            config.index_max_entries,
        )?,
        metrics,
        disk_ratio: AtomicU64::new(0f64.to_bits()),
        poisoned: AtomicBool::new(false),
        short_of_room: std::sync::Mutex::new(None),
        store_host: std::sync::RwLock::new(config.store_host),
        corrupt: Default::default(),
        compaction_pin: AtomicU64::new(u64::MAX),
        config,
    });
    crate::disk::refresh(&shared);
    Ok(shared)
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A store dropped without shutdown() behaves like a crash: threads stop,
        // the abort marker stays, the next open recovers.
        self.stop.set();
        self.group_commit.stop();
    }
}

/// The store. Clone it freely.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("root", &self.inner.shared.config.root_dir)
            .finish()
    }
}

impl Store {
    /// Opens the store at `config.root_dir`: takes the lock, recovers, and
    /// starts the writer, flusher and cleaner threads. Blocking.
    pub fn open(config: StoreConfig, registry: &prometheus::Registry) -> Result<Store> {
        config.validate()?;
        let root = config.root_dir.clone();
        std::fs::create_dir_all(&root).at(&root)?;
        crate::disk::check_fits(&config)?;
        let lock = crate::util::lock_data_dir(&root)?;
        let config_dir = config.config_dir();
        std::fs::create_dir_all(&config_dir).at(&config_dir)?;
        let abort = root.join("abort");
        let unclean = abort.exists();
        let checkpoint_path = root.join("checkpoint");
        let checkpoint = crate::recovery::read_checkpoint(&checkpoint_path);
        let shared = open_shared(config, registry)?;
        let mut writer = Writer::new(Arc::clone(&shared));
        let report = crate::recovery::recover(&mut writer, checkpoint, unclean)?;
        crate::compaction::replay_journal(&shared)?;
        if unclean {
            tracing::warn!(?report, "recovered after an unclean stop");
        } else {
            tracing::info!(?report, "store opened");
        }
        // Everything recovered is durable before we claim a new checkpoint.
        let offsets = Arc::new(ConsumerOffsets::open(&config_dir)?);
        crate::flush::flush_all(&shared, &checkpoint_path, &offsets)?;
        File::create(&abort).at(&abort)?;
        crate::util::sync_dir(&root)?;
        let topics = TopicConfigs::open(&config_dir)?;
        let subscription_groups =
            crate::subscription_groups::SubscriptionGroups::open(&config_dir)?;
        shared.compaction_pin.store(
            crate::compaction::compute_pin(&shared, &topics),
            Ordering::Release,
        );
        let compactor = crate::compaction::Compactor::new(registry)
            .map_err(|e| StoreError::Config(e.to_string()))?;

        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(Stop::default());
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(f)
                .map_err(|e| StoreError::Io {
                    path: root.clone(),
                    source: e,
                })
        };
        let writer = Arc::new(Mutex::new(writer));
        let sync = shared.config.flush_disk_type == crate::config::FlushDiskType::SyncFlush;
        let group_commit = Arc::new(crate::group_commit::GroupCommit::new());
        let mut threads = vec![
            {
                let w = Arc::clone(&writer);
                spawn("rokka-writer", Box::new(move || crate::writer::run(&w, rx)))?
            },
            {
                let (s, c, o, st) = (
                    Arc::clone(&shared),
                    checkpoint_path.clone(),
                    Arc::clone(&offsets),
                    Arc::clone(&stop),
                );
                spawn(
                    "rokka-flusher",
                    Box::new(move || crate::flush::run(s, c, o, st)),
                )?
            },
            {
                let (s, st) = (Arc::clone(&shared), Arc::clone(&stop));
                spawn(
                    "rokka-cleaner",
                    Box::new(move || crate::retention::run(s, st)),
                )?
            },
        ];
        if sync {
            group_commit.start();
            let (gc, s) = (Arc::clone(&group_commit), Arc::clone(&shared));
            match spawn("rokka-group-commit", Box::new(move || gc.run(&s))) {
                Ok(t) => threads.push(t),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the group-commit thread; syncing inline");
                    group_commit.stop();
                }
            }
        }
        let pending_kib = u32::try_from(shared.config.max_pending_append_bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, tokio::sync::Semaphore::MAX_PERMITS as u32);
        let store = Store {
            inner: Arc::new(Inner {
                shared,
                offsets,
                topics,
                subscription_groups,
                tx: Mutex::new(Some(tx)),
                writer,
                group_commit,
                sync,
                pending: tokio::sync::Semaphore::new(pending_kib as usize),
                pending_kib,
                threads: Mutex::new(threads),
                stop,
                report,
                checkpoint: checkpoint_path,
                abort,
                closed: AtomicBool::new(false),
                compactor,
                read_only: AtomicBool::new(false),
                _lock: lock,
            }),
        };
        let cleaner =
            crate::compaction::spawn(Arc::downgrade(&store.inner), |i| Store { inner: i })?;
        store
            .inner
            .threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cleaner);
        Ok(store)
    }

    /// The stop flag of the store's threads.
    pub(crate) fn stopping(&self) -> Arc<Stop> {
        Arc::clone(&self.inner.stop)
    }

    /// Runs one log cleaner pass over the compacted topics now (tests, the
    /// admin endpoint; the cleaner thread runs one every
    /// `compaction_interval`). Blocking; call it off any async runtime.
    pub fn compact_now(&self) -> Result<crate::CompactionReport> {
        self.compact_at(std::time::SystemTime::now(), None)
    }

    /// A cleaner pass as if at `now`, stopped at `crash` as a crash would
    /// stop it (crash-recovery tests).
    pub fn compact_at(
        &self,
        now: std::time::SystemTime,
        crash: Option<crate::CrashPoint>,
    ) -> Result<crate::CompactionReport> {
        let copy = |entries: Vec<Vec<u8>>| -> Result<Vec<u64>> {
            let (tx, rx) = oneshot::channel();
            {
                let guard = self.inner.tx.lock().unwrap_or_else(|e| e.into_inner());
                let sender = guard.as_ref().ok_or(StoreError::Closed)?;
                sender
                    .send(Cmd::Copy(entries, tx))
                    .map_err(|_| StoreError::Closed)?;
            }
            rx.blocking_recv().map_err(|_| StoreError::Closed)?
        };
        self.inner
            .compactor
            .run_pass(&self.inner.shared, &self.inner.topics, &copy, now, crash)
    }

    /// Lets the log cleaner read compressed Kafka batches (the store knows
    /// no codec; the broker does). Without it such batches are kept whole.
    pub fn set_kafka_decompressor(&self, d: crate::compaction::Decompress) {
        self.inner.compactor.set_decompressor(d);
    }

    /// What recovery did at open.
    pub fn recovery_report(&self) -> RecoveryReport {
        self.inner.report.clone()
    }

    /// The broker address written into new RocketMQ entries (storeHost) and
    /// so into offset message ids.
    pub fn store_host(&self) -> std::net::SocketAddr {
        *self
            .inner
            .shared
            .store_host
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the storeHost of entries appended from now on: for a broker
    /// whose listener was bound to port 0 and learned its address afterwards.
    pub fn set_store_host(&self, addr: std::net::SocketAddr) {
        *self
            .inner
            .shared
            .store_host
            .write()
            .unwrap_or_else(|e| e.into_inner()) = addr;
    }

    /// The configuration in force.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.shared.config
    }

    /// Hands a command to the writer thread.
    pub(crate) fn send_cmd(&self, cmd: Cmd) -> Result<()> {
        let guard = self.inner.tx.lock().unwrap_or_else(|e| e.into_inner());
        let sender = guard.as_ref().ok_or(StoreError::Closed)?;
        sender.send(cmd).map_err(|_| StoreError::Closed)
    }

    /// State shared with the writer (for `replica.rs`).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    /// Slave mode: while on, client appends fail with
    /// [`StoreError::SlaveReadOnly`]; only replication writes.
    pub fn set_read_only(&self, on: bool) {
        self.inner.read_only.store(on, Ordering::Release);
        if on {
            // Wait out an inline append already past its check (ADR 022).
            drop(self.inner.writer.lock());
        }
    }

    /// True while client appends are refused (slave mode).
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only.load(Ordering::Acquire)
    }

    /// 1 KiB permits an append holds while in flight; a request larger than
    /// the whole budget takes all of it, so it waits for the others but
    /// never forever.
    fn permits_for(&self, req: &AppendRequest) -> u32 {
        let bytes = req.topic.len()
            + match &req.payload {
                AppendPayload::Message(m) => m.body.len() + m.properties.len(),
                AppendPayload::Messages(ms) => {
                    ms.iter().map(|m| m.body.len() + m.properties.len()).sum()
                }
                AppendPayload::Kafka(b) => b.batch.len(),
            };
        u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.inner.pending_kib)
    }

    /// Appends; completes when stored (and synced, with SYNC_FLUSH). Waits
    /// first while `max_pending_append_bytes` of appends are in flight.
    pub async fn append(&self, req: AppendRequest) -> Result<AppendResult> {
        let n = self.permits_for(&req);
        let _in_flight = match self.inner.pending.try_acquire_many(n) {
            Ok(p) => p,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(StoreError::Closed),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                self.inner.shared.metrics.append_waits.inc();
                self.inner
                    .pending
                    .acquire_many(n)
                    .await
                    .map_err(|_| StoreError::Closed)?
            }
        };
        match self.append_inline(&req)? {
            Appended::Done(r) => Ok(r),
            Appended::Syncing(rx) => rx.await.map_err(|_| StoreError::Closed)?,
        }
    }

    /// `append` for threads outside a runtime.
    pub fn append_blocking(&self, req: AppendRequest) -> Result<AppendResult> {
        let n = self.permits_for(&req);
        let mut waited = false;
        let _in_flight = loop {
            match self.inner.pending.try_acquire_many(n) {
                Ok(p) => break p,
                Err(tokio::sync::TryAcquireError::Closed) => return Err(StoreError::Closed),
                Err(tokio::sync::TryAcquireError::NoPermits) => {
                    if !waited {
                        self.inner.shared.metrics.append_waits.inc();
                        waited = true;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
            }
        };
        match self.append_inline(&req)? {
            Appended::Done(r) => Ok(r),
            Appended::Syncing(rx) => rx.blocking_recv().map_err(|_| StoreError::Closed)?,
        }
    }

    /// Bytes of appends in flight now (rounded up to KiB per append).
    pub fn pending_append_bytes(&self) -> u64 {
        let free = self.inner.pending.available_permits() as u64;
        u64::from(self.inner.pending_kib).saturating_sub(free) * 1024
    }

    /// The ConsumeQueue of (topic, queue id), if it exists.
    pub fn consume_queue(&self, topic: &str, queue_id: u32) -> Option<Arc<ConsumeQueue>> {
        self.inner.shared.cqs.get(topic, queue_id)
    }

    /// Every ConsumeQueue.
    pub fn consume_queues(&self) -> Vec<Arc<ConsumeQueue>> {
        self.inner.shared.cqs.all()
    }

    /// Minimum offset of a queue (0 if it does not exist).
    pub fn min_offset(&self, topic: &str, queue_id: u32) -> u64 {
        self.consume_queue(topic, queue_id)
            .map_or(0, |q| q.min_offset())
    }

    /// End offset of a queue (0 if it does not exist).
    pub fn max_offset(&self, topic: &str, queue_id: u32) -> u64 {
        self.consume_queue(topic, queue_id)
            .map_or(0, |q| q.max_offset())
    }

    /// End offset of a queue counting only entries that start below
    /// CommitLog offset `phy` (0 if the queue does not exist).
    pub fn max_offset_below(&self, topic: &str, queue_id: u32, phy: u64) -> u64 {
        self.consume_queue(topic, queue_id)
            .map_or(0, |q| q.first_at_or_after(phy))
    }

    /// Makes offsets below `offset` of a queue unreadable (Kafka
    /// DeleteRecords); the space is reclaimed by retention. Returns the new
    /// minimum offset (the low watermark). `None` if the queue does not exist.
    pub fn delete_records(&self, topic: &str, queue_id: u32, offset: u64) -> Option<Result<u64>> {
        self.consume_queue(topic, queue_id)
            .map(|q| q.delete_before(offset))
    }

    /// The CommitLog's oldest and end offsets.
    pub fn commit_log_bounds(&self) -> (u64, u64) {
        let l = &self.inner.shared.commit_log;
        (l.min_offset(), l.max_offset())
    }

    /// The entry at CommitLog offset `phy` (view by offset message id).
    pub fn read_at(&self, phy: u64) -> Option<StoredEntry> {
        let (seg, pos, size) = self.inner.shared.commit_log.entry_at(phy)?;
        let buf = seg.slice(pos, size as usize)?;
        let e = scan(buf, phy).ok()?;
        stored_entry(&e, phy, |len| seg.bytes(pos, len))
    }

    /// The entry that contains CommitLog offset `phy`: the entry starting
    /// there, else the Kafka batch entry whose bytes cover `phy`. Record `i`
    /// of a batch at `P` is addressed as `P + i` (its offset message id), so
    /// the caller checks `phy - entry.phy_offset` against `entry.count`.
    ///
    /// The search walks back from `phy` within its segment, at most the
    /// largest entry the store accepts (`max_message_size`), and takes the
    /// nearest start that validates like [`Store::read_at`] (length, magic,
    /// CRC, offset field). At most `MAX_ENCLOSING_CHECKS` (8) candidates are
    /// validated, so the work stays bounded whatever the bytes hold.
    pub fn read_enclosing(&self, phy: u64) -> Option<StoredEntry> {
        if let Some(e) = self.read_at(phy) {
            return Some(e);
        }
        let max_entry = self.inner.shared.config.max_message_size as u64;
        self.inner
            .shared
            .commit_log
            .kafka_candidates(phy, max_entry)
            .take(MAX_ENCLOSING_CHECKS)
            .filter_map(|q| self.read_at(q))
            .find(|e| e.kind == EntryKind::KafkaBatch && e.phy_offset + e.bytes.len() as u64 > phy)
    }

    /// Reads from `offset` up to `max_count` messages/records or `max_bytes`
    /// (at least one entry), skipping entries whose tags code `filter` rejects.
    /// A Kafka batch is returned whole, even if `offset` lies inside it.
    pub fn get_messages(
        &self,
        topic: &str,
        queue_id: u32,
        offset: u64,
        max_count: u32,
        max_bytes: usize,
        filter: Option<&dyn Fn(i64) -> bool>,
    ) -> GetResult {
        let Some(cq) = self.consume_queue(topic, queue_id) else {
            return GetResult {
                status: GetStatus::NoMatchedLogicQueue,
                entries: Vec::new(),
                next_offset: 0,
                min_offset: 0,
                max_offset: 0,
                skipped: Vec::new(),
            };
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        let result = |status, entries, next_offset| GetResult {
            status,
            entries,
            next_offset,
            min_offset: min,
            max_offset: max,
            skipped: Vec::new(),
        };
        if max == min {
            return result(GetStatus::NoMessageInQueue, Vec::new(), max);
        }
        if offset < min {
            return result(GetStatus::OffsetTooSmall, Vec::new(), min);
        }
        if offset == max {
            return result(GetStatus::OffsetOverflowOne, Vec::new(), offset);
        }
        if offset > max {
            return result(GetStatus::OffsetOverflowBadly, Vec::new(), max);
        }
        let log = &self.inner.shared.commit_log;
        let log_min = log.min_offset();
        let mut entries: Vec<StoredEntry> = Vec::with_capacity(max_count.clamp(1, 64) as usize);
        let mut skipped: Vec<std::ops::Range<u64>> = Vec::new();
        let mut view = None;
        let (mut count, mut bytes, mut next, mut filtered) = (0u32, 0usize, offset, false);
        // Scan at most a bounded window so a selective filter cannot stall a reader.
        let scan_limit = offset
            .saturating_add(max_count.max(1) as u64 * 4 + 1000)
            .min(max);
        while next < scan_limit && count < max_count.max(1) {
            let Some(e) = cq.get(next) else {
                // A hole below the end: queue damage recovery could not fill.
                self.report_damage(&cq, next, None, "empty queue entry");
                push_gap(&mut skipped, next..next + 1);
                next += 1;
                continue;
            };
            if e.phy_offset < log_min {
                next += 1;
                continue;
            }
            if entries.last().is_some_and(|l| l.phy_offset == e.phy_offset) {
                next += 1;
                continue;
            }
            if filter.is_some_and(|f| !f(e.tags_code)) {
                filtered = true;
                next += 1;
                continue;
            }
            if !entries.is_empty() && bytes + e.size as usize > max_bytes {
                break;
            }
            // The log cleaner may be rewriting this queue entry: a failed
            // read is retried once with the entry as it is now.
            let first = self.read_for_queue(&cq, next, &e, &mut view);
            let first = match first {
                Err(_) => match cq.get(next) {
                    Some(again) if again != e => self.read_for_queue(&cq, next, &again, &mut view),
                    _ => first,
                },
                ok => ok,
            };
            let se = match first {
                Ok(Some(se)) => se,
                Ok(None) => break,
                Err(why) => {
                    // Skip every offset of the damaged entry (ADR 007).
                    self.report_damage(&cq, next, Some(e.phy_offset), why);
                    let mut to = next + 1;
                    while to < max && cq.get(to).is_some_and(|x| x.phy_offset == e.phy_offset) {
                        to += 1;
                    }
                    push_gap(&mut skipped, next..to);
                    next = to;
                    continue;
                }
            };
            let end = se.queue_offset + se.count as u64;
            count += end.saturating_sub(next) as u32;
            bytes += se.bytes.len();
            next = end.max(next + 1);
            entries.push(StoredEntry {
                tags_code: e.tags_code,
                ..se
            });
        }
        let status = if !entries.is_empty() {
            GetStatus::Found
        } else if filtered {
            GetStatus::NoMatchedMessage
        } else {
            GetStatus::OffsetFoundNull
        };
        GetResult {
            skipped,
            ..result(status, entries, next)
        }
    }

    /// First offset of the queue whose store time is at or after `ts_ms`;
    /// the end offset if every message is older. O(log n) reads.
    pub fn offset_for_timestamp(&self, topic: &str, queue_id: u32, ts_ms: i64) -> u64 {
        let Some(cq) = self.consume_queue(topic, queue_id) else {
            return 0;
        };
        let (mut lo, mut hi) = (cq.min_offset(), cq.max_offset());
        let log_min = self.inner.shared.commit_log.min_offset();
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let ts = cq
                .get(mid)
                .filter(|e| e.phy_offset >= log_min)
                .and_then(|e| self.read_at(e.phy_offset))
                .map_or(i64::MIN, |e| e.store_timestamp);
            if ts >= ts_ms {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    /// Store time of the message at `offset`, if readable.
    pub fn store_time_at(&self, topic: &str, queue_id: u32, offset: u64) -> Option<i64> {
        let e = self.consume_queue(topic, queue_id)?.get(offset)?;
        self.read_at(e.phy_offset).map(|e| e.store_timestamp)
    }

    /// Entries of `topic` indexed under `key` and stored within
    /// `[begin_ms, end_ms]`, newest first, at most `max`. Each candidate is
    /// checked against its stored keys, so hash collisions never leak.
    pub fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        begin_ms: i64,
        end_ms: i64,
        max: usize,
    ) -> Vec<StoredEntry> {
        self.query_index(topic, key, begin_ms, end_ms, max, |e| match e {
            Scanned::RocketMq(m) => m.index_keys().any(|k| k == key.as_bytes()),
            Scanned::Kafka(b) => b.index_keys().any(|(_, k)| k == key.as_bytes()),
            Scanned::Blank => false,
        })
    }

    /// The message of `topic` whose unique id (the producer's UNIQ_KEY) is
    /// `id`, stored within `[begin_ms, end_ms]` (QUERY_MESSAGE with the
    /// unique-key flag).
    pub fn query_by_unique_id(
        &self,
        topic: &str,
        id: &str,
        begin_ms: i64,
        end_ms: i64,
    ) -> Option<StoredEntry> {
        self.query_index(topic, id, begin_ms, end_ms, 1, |e| match e {
            Scanned::RocketMq(m) => m.property("UNIQ_KEY") == Some(id.as_bytes()),
            _ => false,
        })
        .pop()
    }

    fn query_index(
        &self,
        topic: &str,
        key: &str,
        begin_ms: i64,
        end_ms: i64,
        max: usize,
        matches: impl Fn(&Scanned<'_>) -> bool,
    ) -> Vec<StoredEntry> {
        let want = max.saturating_mul(2).max(16);
        let cands = self
            .inner
            .shared
            .index
            .query(topic, key.as_bytes(), begin_ms, end_ms, want);
        let mut out = Vec::new();
        for phy in cands {
            if out.len() >= max {
                break;
            }
            let Some(e) = self.read_at(phy) else { continue };
            let ok = match scan(&e.bytes, phy) {
                Ok(s @ Scanned::RocketMq(m)) => m.topic() == topic && matches(&s),
                Ok(s @ Scanned::Kafka(b)) => b.topic() == topic && matches(&s),
                _ => false,
            };
            if ok
                && e.store_timestamp >= begin_ms.saturating_sub(1000)
                && e.store_timestamp <= end_ms
            {
                out.push(e);
            }
        }
        out
    }

    /// Waits until the queue has data at or past `offset` (its end offset
    /// exceeds it), or `timeout` passes. True if data is there.
    pub async fn wait_for_data(
        &self,
        topic: &str,
        queue_id: u32,
        offset: u64,
        timeout: Duration,
    ) -> bool {
        let Ok(cq) = self.inner.shared.cqs.get_or_open(topic, queue_id) else {
            return false;
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = cq.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cq.max_offset() > self.past_known_damage(&cq, offset) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return cq.max_offset() > self.past_known_damage(&cq, offset);
            }
        }
    }

    /// The consumer offset table.
    pub fn offsets(&self) -> &ConsumerOffsets {
        &self.inner.offsets
    }

    /// The topic config table.
    pub fn topics(&self) -> &TopicConfigs {
        &self.inner.topics
    }

    /// The subscription group table (RocketMQ `SubscriptionGroupConfig`s).
    pub fn subscription_groups(&self) -> &crate::subscription_groups::SubscriptionGroups {
        &self.inner.subscription_groups
    }

    /// Syncs everything now and writes the checkpoint.
    pub fn flush(&self) -> Result<()> {
        crate::flush::flush_all(
            &self.inner.shared,
            &self.inner.checkpoint,
            &self.inner.offsets,
        )
    }

    /// Runs one retention pass as if at `now`, local hour `hour` (tests, admin).
    pub fn run_retention(&self, now: std::time::SystemTime, hour: u8) -> Result<u32> {
        crate::retention::clean_once(&self.inner.shared, now, hour)
    }

    /// Stops the writer (after what is queued), flushes, writes the checkpoint,
    /// removes the abort marker. Blocking; later calls do nothing.
    pub fn shutdown(&self) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        if let Some(tx) = self
            .inner
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = tx.send(Cmd::Stop);
        }
        // An inline append that took the writer lock before `closed` was set
        // finishes (waiting for the lock lets it; it is flushed below); later
        // ones see `closed`. The group-commit thread answers what is queued
        // and returns; an append that hands in after that syncs on its own
        // thread.
        drop(self.inner.writer.lock().unwrap_or_else(|e| e.into_inner()));
        self.inner.group_commit.stop();
        self.inner.stop.set();
        let threads: Vec<_> = self
            .inner
            .threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect();
        for t in threads {
            let _ = t.join();
        }
        self.flush()?;
        if self.inner.shared.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        std::fs::remove_file(&self.inner.abort).at(&self.inner.abort)?;
        crate::util::sync_dir(&self.inner.shared.config.root_dir)?;
        let _ = self.inner._lock.unlock();
        tracing::info!(
            log_end = self.inner.shared.commit_log.max_offset(),
            "store shut down cleanly"
        );
        Ok(())
    }
}
