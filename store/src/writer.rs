//! The one writer of the CommitLog, behind a mutex. Client appends run
//! `Writer::append` on the caller's thread under the lock (`store/inline.rs`,
//! ADR 022): it encodes each entry into a reused buffer, writes it to the
//! segment file with `pwrite` (ADR 028) and dispatches it to the
//! ConsumeQueue and IndexFile; the caller then
//! publishes the new end and — with SYNC_FLUSH — waits for the group-commit
//! thread's next sync (`group_commit.rs`). The writer thread serves the log
//! cleaner's copies, replication, truncation and shutdown. The steady-state
//! path allocates nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::commit_log::CommitLog;
use crate::config::StoreConfig;
use crate::consume_queue::{ConsumeQueue, ConsumeQueues, CqEntry};
use crate::entry::rocketmq::{self, Placement};
use crate::entry::{
    kafka, AppendPayload, AppendRequest, AppendResult, Scanned, BLANK_MAGIC, BLANK_MIN_LEN,
};
use crate::error::{Result, StoreError};
use crate::index_file::IndexService;
use crate::mapped_file::MappedFile;
use crate::metrics::StoreMetrics;

/// State shared by the writer, the flusher, the cleaner and readers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: StoreConfig,
    pub commit_log: CommitLog,
    pub cqs: ConsumeQueues,
    pub index: IndexService,
    pub metrics: StoreMetrics,
    /// Disk used ratio as f64 bits, refreshed by the cleaner.
    pub disk_ratio: AtomicU64,
    /// Set after a failed fsync: writes are refused until restart.
    pub poisoned: AtomicBool,
    /// A directory short of room for its next file: `(dir, needed, available)`,
    /// refreshed with the disk ratio (`disk.rs`); appends are refused meanwhile.
    pub short_of_room: std::sync::Mutex<Option<(std::path::PathBuf, u64, u64)>>,
    /// storeHost written into RocketMQ entries; starts as `config.store_host`
    /// and follows `Store::set_store_host` (a listener bound to port 0).
    pub store_host: std::sync::RwLock<std::net::SocketAddr>,
    /// Damaged entries readers have reported (each logged once).
    pub corrupt: crate::integrity::CorruptSeen,
    /// Lowest CommitLog offset a compacted topic's live entry points at
    /// (retention keeps that segment); see `compaction`.
    pub compaction_pin: AtomicU64,
}

impl Shared {
    pub(crate) fn disk_ratio(&self) -> f64 {
        f64::from_bits(self.disk_ratio.load(Ordering::Relaxed))
    }
    pub(crate) fn set_disk_ratio(&self, r: f64) {
        self.disk_ratio.store(r.to_bits(), Ordering::Relaxed);
    }
}

/// Messages to the writer thread.
pub(crate) enum Cmd {
    /// Re-append entries the log cleaner rewrote (see `compaction`).
    Copy(Vec<Vec<u8>>, oneshot::Sender<Result<Vec<u64>>>),
    /// Replicated entries to write verbatim at `from` (see `replica.rs`).
    Replicate(u64, bytes::Bytes, oneshot::Sender<Result<u64>>),
    /// Cut the log and its queues at an offset (see `replica.rs`).
    Truncate(u64, oneshot::Sender<Result<u64>>),
    /// Answers once every command queued before it is applied (see `replica.rs`).
    Barrier(oneshot::Sender<()>),
    /// Finish what is queued, sync, and exit.
    Stop,
}

/// The writer's own state: the append position and queue look-up cache.
pub(crate) struct Writer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) write_pos: u64,
    pub(crate) segment: Option<Arc<MappedFile>>,
    last_ts: i64,
    cache: HashMap<String, Vec<Option<Arc<ConsumeQueue>>>>,
    touched: Vec<Arc<ConsumeQueue>>,
    /// Where an append's entries are encoded before their `pwrite`; only
    /// grows, so the steady state allocates nothing.
    scratch: Vec<u8>,
}

/// Initial capacity of the writer's encoding buffer (one 1 KiB message
/// or a small Kafka batch fit; larger entries grow it once).
const SCRATCH_START: usize = 64 << 10;

/// Writes `data` at `pos` of a CommitLog segment (`pwrite`). A failure is
/// an I/O error of the log, handled as a failed sync is: logged, the store
/// poisoned (writes refused until restart), `Poisoned` returned.
pub(crate) fn write_log(shared: &Shared, seg: &MappedFile, pos: u64, data: &[u8]) -> Result<()> {
    seg.pwrite(pos, data).map_err(|e| {
        tracing::error!(error = %e, path = %seg.path().display(), "commit log write failed; refusing further writes");
        shared.poisoned.store(true, Ordering::Release);
        StoreError::Poisoned
    })
}

impl Writer {
    pub(crate) fn new(shared: Arc<Shared>) -> Writer {
        Writer {
            shared,
            write_pos: 0,
            segment: None,
            last_ts: 0,
            cache: HashMap::new(),
            touched: Vec::with_capacity(64),
            scratch: Vec::with_capacity(SCRATCH_START),
        }
    }

    /// Sets the append position after recovery.
    pub(crate) fn set_write_pos(&mut self, pos: u64) {
        self.write_pos = pos;
        self.segment = self.shared.commit_log.segment_for(pos);
    }

    fn cq(&mut self, topic: &str, queue_id: u32) -> Result<Arc<ConsumeQueue>> {
        if let Some(Some(q)) = self.cache.get(topic).and_then(|v| v.get(queue_id as usize)) {
            return Ok(Arc::clone(q));
        }
        let q = self.shared.cqs.get_or_open(topic, queue_id)?;
        let v = self.cache.entry(topic.to_string()).or_default();
        if v.len() <= queue_id as usize {
            v.resize(queue_id as usize + 1, None);
        }
        v[queue_id as usize] = Some(Arc::clone(&q));
        Ok(q)
    }

    fn next_timestamp(&mut self) -> i64 {
        // Store timestamps never go backwards: time look-ups binary-search them.
        self.last_ts = crate::util::now_ms().max(self.last_ts);
        self.last_ts
    }

    /// Makes room for `len` bytes at the append position: fills the segment's
    /// tail with a blank entry and opens the next segment when needed.
    fn reserve(&mut self, len: u64) -> Result<(Arc<MappedFile>, u64)> {
        let seg_size = self.shared.commit_log.segment_size();
        let in_seg = self.write_pos % seg_size;
        if in_seg + len + BLANK_MIN_LEN > seg_size {
            if let Some(seg) = self
                .segment
                .as_ref()
                .filter(|s| s.base() + in_seg == self.write_pos && in_seg > 0)
            {
                let rest = seg_size - in_seg;
                let mut blank = [0u8; 8];
                blank[..4].copy_from_slice(&(rest as i32).to_be_bytes());
                blank[4..].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
                write_log(&self.shared, seg, in_seg, &blank)?;
                self.write_pos += rest;
            }
        }
        let needs_segment = self
            .segment
            .as_ref()
            .is_none_or(|s| self.write_pos >= s.base() + s.size());
        if needs_segment {
            crate::disk::refresh(&self.shared);
            self.check_disk()?;
            crate::disk::check_new_file(
                &self.shared,
                &self.shared.config.commit_log_dir,
                seg_size,
            )?;
            let seg = self.shared.commit_log.create_segment(self.write_pos)?;
            self.segment = Some(seg);
        }
        let seg = self.segment.clone().ok_or(StoreError::Closed)?;
        Ok((seg, self.write_pos))
    }

    pub(crate) fn check_disk(&self) -> Result<()> {
        let (ratio, limit) = (
            self.shared.disk_ratio(),
            self.shared.config.disk_refuse_ratio,
        );
        if ratio >= limit {
            return Err(StoreError::DiskFull {
                used_ratio: ratio,
                limit,
            });
        }
        crate::disk::room_error(&self.shared).map_or(Ok(()), Err)
    }

    /// Appends one request: checks, encodes into the log, dispatches. Does not
    /// publish or sync; `finish_round` does that for the whole group.
    pub(crate) fn append(&mut self, req: &AppendRequest) -> Result<AppendResult> {
        // The buffer is moved out for the append, so that the entries
        // encoded in it can be dispatched (`&mut self`) while borrowed.
        let mut scratch = std::mem::take(&mut self.scratch);
        let r = self.append_with(req, &mut scratch);
        self.scratch = scratch;
        r
    }

    fn append_with(&mut self, req: &AppendRequest, scratch: &mut Vec<u8>) -> Result<AppendResult> {
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        self.check_disk()?;
        let topic = crate::entry::check_topic(&req.topic)
            .map_err(|reason| StoreError::InvalidAppend { reason })?;
        let max = self.shared.config.max_message_size;
        let host = *self
            .shared
            .store_host
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let store_ts = self.next_timestamp();
        let cq = self.cq(topic, req.queue_id)?;
        let first_qoff = cq.next_offset();
        let mut res = AppendResult {
            phy_offset: 0,
            queue_offset: first_qoff,
            count: 0,
            store_timestamp: store_ts,
            bytes: 0,
        };
        let msgs: &[crate::entry::MessageToStore] = match &req.payload {
            AppendPayload::Message(m) => std::slice::from_ref(m),
            AppendPayload::Messages(v) => v,
            AppendPayload::Kafka(b) => {
                let count =
                    kafka::check_batch(b).map_err(|reason| StoreError::InvalidAppend { reason })?;
                let len = kafka::encoded_len(b, topic.len());
                if len > max {
                    return Err(StoreError::MessageTooLarge { size: len, max });
                }
                let (seg, phy) = self.reserve(len as u64)?;
                let out = buffer(scratch, len);
                let p = Placement {
                    topic: topic.as_bytes(),
                    queue_id: req.queue_id,
                    queue_offset: first_qoff,
                    phy_offset: phy,
                    store_timestamp: store_ts,
                    store_host: host,
                };
                kafka::encode(out, b, &p, count);
                write_log(&self.shared, &seg, phy - seg.base(), out)?;
                let stored = kafka::StoredBatch::parse_trusted(out);
                self.write_pos += len as u64;
                self.dispatch(&Scanned::Kafka(stored), phy)?;
                res.phy_offset = phy;
                res.count = count;
                res.bytes = len as u32;
                self.shared
                    .metrics
                    .record_append(crate::EntryKind::KafkaBatch, count, len);
                return Ok(res);
            }
        };
        if msgs.is_empty() {
            return Err(StoreError::InvalidAppend {
                reason: "empty batch",
            });
        }
        // Check every message before writing any, so a batch is all or nothing.
        for m in msgs {
            let len = rocketmq::encoded_len(m, topic.len(), &host);
            if len > max {
                return Err(StoreError::MessageTooLarge { size: len, max });
            }
            if m.properties.len() > i16::MAX as usize {
                return Err(StoreError::InvalidAppend {
                    reason: "properties longer than 32767 bytes",
                });
            }
        }
        let (start_pos, start_seg) = (self.write_pos, self.segment.clone());
        for (i, m) in msgs.iter().enumerate() {
            let len = rocketmq::encoded_len(m, topic.len(), &host);
            let (seg, phy) = match self.reserve(len as u64) {
                Ok(r) => r,
                Err(e) => {
                    // Nothing of this batch was published: rewind so that it is
                    // not published later either (all or nothing).
                    self.write_pos = start_pos;
                    self.segment = start_seg;
                    cq.rewind(first_qoff);
                    return Err(e);
                }
            };
            let p = Placement {
                topic: topic.as_bytes(),
                queue_id: req.queue_id,
                queue_offset: first_qoff + i as u64,
                phy_offset: phy,
                store_timestamp: store_ts,
                store_host: host,
            };
            let out = buffer(scratch, len);
            rocketmq::encode(out, m, &p);
            if let Err(e) = write_log(&self.shared, &seg, phy - seg.base(), out) {
                self.write_pos = start_pos;
                self.segment = start_seg;
                cq.rewind(first_qoff);
                return Err(e);
            }
            let stored = rocketmq::StoredMessage::parse_trusted(out);
            self.write_pos += len as u64;
            self.dispatch(&Scanned::RocketMq(stored), phy)?;
            if i == 0 {
                res.phy_offset = phy;
            }
            res.count += 1;
            res.bytes += len as u32;
            self.shared
                .metrics
                .record_append(crate::EntryKind::RocketMq, 1, len);
        }
        Ok(res)
    }

    /// Appends entries the log cleaner built (each complete but for its
    /// physical offset and CRC, which `compaction::place` sets), indexes
    /// their keys and publishes them in the log, without ConsumeQueue
    /// entries: the cleaner points its queue at them. Returns their offsets.
    pub(crate) fn copy_entries(&mut self, entries: Vec<Vec<u8>>) -> Result<Vec<u64>> {
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned);
        }
        self.check_disk()?;
        let mut out = Vec::with_capacity(entries.len());
        for mut e in entries {
            let (seg, phy) = self.reserve(e.len() as u64)?;
            crate::compaction::place(&mut e, phy);
            write_log(&self.shared, &seg, phy - seg.base(), &e)?;
            self.write_pos += e.len() as u64;
            match crate::entry::scan(&e, phy) {
                Ok(Scanned::Kafka(b)) => {
                    for (_, key) in b.index_keys() {
                        self.shared
                            .index
                            .put(b.topic(), key, phy, b.store_timestamp())?;
                    }
                }
                Ok(Scanned::RocketMq(m)) => {
                    for key in m.index_keys() {
                        self.shared
                            .index
                            .put(m.topic(), key, phy, m.store_timestamp())?;
                    }
                }
                _ => {}
            }
            out.push(phy);
        }
        self.shared.commit_log.publish(self.write_pos);
        Ok(out)
    }

    /// Writes the ConsumeQueue and IndexFile entries of a stored entry. Shared
    /// by appends and recovery, so both build the same entries.
    pub(crate) fn dispatch(&mut self, e: &Scanned<'_>, phy: u64) -> Result<()> {
        self.dispatch_to(e, phy, true)
    }

    /// Writes only the ConsumeQueue entries of a stored entry (recovery's
    /// rebuild of a damaged queue: its IndexFile entries are already there).
    pub(crate) fn dispatch_queue_only(&mut self, e: &Scanned<'_>, phy: u64) -> Result<()> {
        self.dispatch_to(e, phy, false)
    }

    fn dispatch_to(&mut self, e: &Scanned<'_>, phy: u64, index: bool) -> Result<()> {
        let Some(meta) = e.meta() else { return Ok(()) };
        let (topic, queue_id) = match e {
            Scanned::RocketMq(m) => (m.topic(), m.queue_id()),
            Scanned::Kafka(b) => (b.topic(), b.queue_id()),
            Scanned::Blank => return Ok(()),
        };
        let cq = self.cq(topic, queue_id)?;
        match e {
            Scanned::RocketMq(m) => {
                let entry = CqEntry {
                    phy_offset: phy,
                    size: meta.total_size,
                    tags_code: m.tags_code(),
                };
                cq.put(meta.queue_offset, entry)?;
                for key in m.index_keys().filter(|_| index) {
                    self.shared
                        .index
                        .put(topic, key, phy, meta.store_timestamp)?;
                }
            }
            Scanned::Kafka(b) => {
                let mut tags = b.tags_codes();
                for i in 0..meta.count as u64 {
                    let entry = CqEntry {
                        phy_offset: phy,
                        size: meta.total_size,
                        tags_code: tags.next().unwrap_or(0),
                    };
                    cq.put(meta.queue_offset + i, entry)?;
                }
                for (_, key) in b.index_keys().filter(|_| index) {
                    self.shared
                        .index
                        .put(topic, key, phy, meta.store_timestamp)?;
                }
            }
            Scanned::Blank => {}
        }
        if !self.touched.iter().any(|t| Arc::ptr_eq(t, &cq)) {
            self.touched.push(cq);
        }
        Ok(())
    }

    /// Publishes the round's entries and wakes the waiters of the queues that grew.
    pub(crate) fn publish(&mut self) {
        self.shared.commit_log.publish(self.write_pos);
        for cq in self.touched.drain(..) {
            if cq.publish() {
                cq.notify.notify_waiters();
            }
        }
    }
}

/// The first `len` bytes of `scratch`, grown (never shrunk) to hold them.
/// Encoders write every byte, so stale contents never leak.
fn buffer(scratch: &mut Vec<u8>, len: usize) -> &mut [u8] {
    if scratch.len() < len {
        scratch.resize(len, 0);
    }
    &mut scratch[..len]
}

/// Runs the writer loop until `Stop` or until every sender is gone. Client
/// appends do not come here: they run inline under the same lock (see
/// `inline.rs`, ADR 022); the loop serves the cleaner's copies, replication,
/// barriers and shutdown. The lock is held for one round of commands, never
/// while waiting for the next command.
pub(crate) fn run(writer: &Mutex<Writer>, rx: Receiver<Cmd>) {
    let mut stop = false;
    while !stop {
        let first = match rx.recv() {
            Ok(c) => c,
            Err(_) => break,
        };
        // A panic under the lock (an inline append) leaves the writer's
        // state unknown: stop writing, as a dead writer thread would.
        let Ok(mut w) = writer.lock() else {
            refuse(first);
            break;
        };
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            match cmd {
                Cmd::Copy(entries, tx) => {
                    let _ = tx.send(w.copy_entries(entries));
                }
                Cmd::Replicate(from, bytes, tx) => {
                    let r = crate::replica::apply(&mut w, from, &bytes);
                    w.publish();
                    let _ = tx.send(r);
                }
                Cmd::Truncate(end, tx) => {
                    let _ = tx.send(crate::replica::truncate(&mut w, end));
                }
                Cmd::Barrier(tx) => {
                    w.publish();
                    let _ = tx.send(());
                }
                Cmd::Stop => stop = true,
            }
            if !stop {
                next = match rx.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => None,
                };
            }
        }
        w.publish();
    }
    // Drain what arrived after Stop so nobody waits forever.
    drain(&rx);
}

/// Answers every queued command with `Closed`.
fn drain(rx: &Receiver<Cmd>) {
    while let Ok(cmd) = rx.try_recv() {
        refuse(cmd);
    }
}

/// Answers one command without applying it.
fn refuse(cmd: Cmd) {
    match cmd {
        Cmd::Copy(_, tx) => {
            let _ = tx.send(Err(StoreError::Closed));
        }
        Cmd::Replicate(_, _, tx) | Cmd::Truncate(_, tx) => {
            let _ = tx.send(Err(StoreError::Closed));
        }
        Cmd::Barrier(tx) => {
            let _ = tx.send(());
        }
        Cmd::Stop => {}
    }
}

/// Syncs the log up to `upto`; a failure poisons the log.
pub(crate) fn sync_log(shared: &Shared, upto: u64) -> Result<()> {
    let started = Instant::now();
    match shared.commit_log.flush(upto) {
        Ok(_) => {
            shared
                .metrics
                .fsync_seconds
                .observe(started.elapsed().as_secs_f64());
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "commit log fsync failed; refusing further writes");
            shared.poisoned.store(true, Ordering::Release);
            Err(StoreError::Poisoned)
        }
    }
}

/// The writer's synchronous core, for benches and the allocation test.
#[cfg(feature = "internals")]
pub mod internals {
    use super::*;

    /// A writer driven on the caller's thread (the store's thread is not started).
    #[allow(missing_debug_implementations)]
    pub struct SyncWriter(pub(crate) Writer);

    impl SyncWriter {
        /// Opens (and recovers) a store directory without starting its threads
        /// or taking its lock. The caller must be the only user of `config.root_dir`.
        pub fn open(config: StoreConfig) -> Result<SyncWriter> {
            config.validate()?;
            std::fs::create_dir_all(&config.root_dir).map_err(|source| StoreError::Io {
                path: config.root_dir.clone(),
                source,
            })?;
            let shared = crate::store::open_shared(config, &prometheus::Registry::new())?;
            let mut w = Writer::new(shared);
            crate::recovery::recover(&mut w, None, false)?;
            Ok(SyncWriter(w))
        }

        /// Appends one request (encode + dispatch), without publishing.
        pub fn append(&mut self, req: &AppendRequest) -> Result<AppendResult> {
            self.0.append(req)
        }
        /// Publishes everything appended so far.
        pub fn publish(&mut self) {
            self.0.publish();
        }

        /// Syncs the log up to the append position (what SYNC_FLUSH waits for).
        pub fn sync(&self) -> Result<()> {
            sync_log(&self.0.shared, self.0.write_pos)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::MessageToStore;
    use std::os::unix::io::AsRawFd;

    fn request() -> AppendRequest {
        AppendRequest {
            topic: bytes::Bytes::from_static(b"T"),
            queue_id: 0,
            payload: AppendPayload::Message(MessageToStore {
                flag: 0,
                body: bytes::Bytes::from_static(&[7; 1024]),
                sys_flag: 0,
                born_timestamp: 1_700_000_000_000,
                born_host: "127.0.0.1:40000".parse().unwrap(),
                reconsume_times: 0,
                prepared_tx_offset: 0,
                properties: bytes::Bytes::new(),
            }),
        }
    }

    /// A `pwrite` that fails (here EBADF: the segment's descriptor is
    /// swapped for a read-only one) is handled as a failed sync: the
    /// append fails with `Poisoned`, nothing of it is published, later
    /// appends and syncs are refused.
    #[test]
    fn failed_log_write_poisons_and_publishes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig::for_tests(dir.path());
        let shared = crate::store::open_shared(config, &prometheus::Registry::new()).unwrap();
        let mut w = Writer::new(shared);
        crate::recovery::recover(&mut w, None, false).unwrap();
        let first = w.append(&request()).unwrap();
        w.publish();
        sync_log(&w.shared, w.write_pos).unwrap();
        let end = w.write_pos;

        let seg = w.segment.clone().unwrap();
        let read_only = std::fs::File::open(seg.path()).unwrap();
        // SAFETY: replaces a descriptor this test's segment owns with a
        // read-only one on the same file; both stay open until dropped.
        assert!(unsafe { libc::dup2(read_only.as_raw_fd(), seg.raw_fd()) } >= 0);

        assert!(matches!(w.append(&request()), Err(StoreError::Poisoned)));
        w.publish();
        assert_eq!(w.write_pos, end);
        assert_eq!(w.shared.commit_log.max_offset(), end);
        assert!(w.shared.poisoned.load(Ordering::Acquire));
        assert!(matches!(w.append(&request()), Err(StoreError::Poisoned)));
        // A SYNC_FLUSH append waiting for its sync is answered `Poisoned`.
        let (tx, mut rx) = oneshot::channel();
        crate::group_commit::GroupCommit::new().submit(&w.shared, end, (tx, Ok(first)));
        assert!(matches!(rx.try_recv(), Ok(Err(StoreError::Poisoned))));
    }
}
