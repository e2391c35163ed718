//! The log cleaner: keeps the latest record per key of topics whose
//! `cleanup.policy` includes `compact` (ADR 010).
//!
//! The CommitLog is shared by every topic, so nothing is rewritten in place.
//! A pass, per compacted (topic, queue), over the cleanable range (from the
//! queue's start to the first entry younger than `min.compaction.lag.ms`):
//!
//! 1. reads every entry and finds the latest offset of each key;
//! 2. decides per entry: keep it where it is, copy it (it lies in a segment
//!    retention is about to delete), rebuild it (a Kafka batch losing some
//!    records; survivors keep their offsets) or drop it;
//! 3. appends the copies and rebuilt batches through the writer (they keep
//!    their queue offsets and store times) and syncs them;
//! 4. writes the new ConsumeQueue entries of the range to a journal, syncs
//!    it, applies them in place, syncs the queue, deletes the journal. A
//!    removed offset becomes a hole: its entry points at the entry holding the
//!    next surviving offset, so readers of both protocols jump over it.
//!
//! A crash anywhere leaves a readable queue: before step 4 the queue still
//! points at the old entries (recovery may point some at the copies, which
//! hold the same records); during step 4 the journal is replayed at open.
//! Afterwards the old entries are unreferenced and retention reclaims their
//! segments; [`Shared::compaction_pin`] stops retention from deleting a
//! segment a compacted queue still points into.

mod journal;
pub(crate) mod records;
mod thread;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use prometheus::{IntCounter, Opts, Registry};

use crate::consume_queue::{ConsumeQueue, CqEntry};
use crate::entry::{kafka, rocketmq, scan, EntryKind, KafkaBatch, Scanned};
use crate::error::Result;
use crate::store::StoredEntry;
use crate::topics::{TopicConfig, TopicConfigs};
use crate::writer::Shared;

pub(crate) use journal::replay as replay_journal;
pub(crate) use thread::spawn;

/// Decompresses a Kafka batch's records section: `(codec id, bytes)` to the
/// plain bytes, `None` if it cannot. Installed by the broker, which knows
/// the codecs ([`crate::Store::set_kafka_decompressor`]).
pub type Decompress = Arc<dyn Fn(u8, &[u8]) -> Option<Vec<u8>> + Send + Sync>;

/// Topic attribute naming the cleanup policy (Kafka `cleanup.policy`).
pub const CLEANUP_POLICY: &str = "cleanup.policy";
/// Topic attribute: how long tombstones are kept (Kafka `delete.retention.ms`).
pub const DELETE_RETENTION_MS: &str = "delete.retention.ms";
/// Topic attribute: records younger than this are not cleaned (Kafka `min.compaction.lag.ms`).
pub const MIN_COMPACTION_LAG_MS: &str = "min.compaction.lag.ms";
/// Kafka's default `delete.retention.ms`: one day.
pub const DEFAULT_DELETE_RETENTION_MS: i64 = 86_400_000;

/// How a compacted topic is cleaned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Tombstones older than this (store time) are removed.
    pub delete_retention_ms: i64,
    /// Records younger than this (store time) are left alone.
    pub min_lag_ms: i64,
}

impl Policy {
    /// The policy of a topic whose `cleanup.policy` lists `compact`.
    pub fn of(cfg: &TopicConfig) -> Option<Policy> {
        let p = cfg.attributes.get(CLEANUP_POLICY)?;
        if !p.split(',').any(|w| w.trim() == "compact") {
            return None;
        }
        let num = |k: &str, d: i64| {
            cfg.attributes
                .get(k)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|v| *v >= 0)
                .unwrap_or(d)
        };
        Some(Policy {
            delete_retention_ms: num(DELETE_RETENTION_MS, DEFAULT_DELETE_RETENTION_MS),
            min_lag_ms: num(MIN_COMPACTION_LAG_MS, 0),
        })
    }
}

/// Steps of a pass at which a test can stop it as a crash would: the pass
/// returns [`crate::StoreError::Interrupted`] there, or, when the
/// environment variable `ROKKA_COMPACTION_ABORT_AT` names the step
/// (`after-copies`, `after-journal`, `mid-rewrite`), the process aborts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// The copies are appended and synced; no queue entry changed yet.
    AfterCopies,
    /// The journal is written; no queue entry changed yet.
    AfterJournal,
    /// Half of the queue entries are rewritten.
    MidRewrite,
}

impl CrashPoint {
    fn name(self) -> &'static str {
        match self {
            CrashPoint::AfterCopies => "after-copies",
            CrashPoint::AfterJournal => "after-journal",
            CrashPoint::MidRewrite => "mid-rewrite",
        }
    }
}

/// Stops the pass at `here` if asked to (see [`CrashPoint`]).
fn check(at: Option<CrashPoint>, here: CrashPoint) -> Result<()> {
    if std::env::var("ROKKA_COMPACTION_ABORT_AT").is_ok_and(|v| v == here.name()) {
        tracing::error!(
            step = here.name(),
            "ROKKA_COMPACTION_ABORT_AT: aborting the process"
        );
        std::process::abort();
    }
    if at == Some(here) {
        return Err(crate::StoreError::Interrupted(here.name()));
    }
    Ok(())
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Compacted queues looked at.
    pub queues: u32,
    /// Queues whose ConsumeQueue was rewritten.
    pub queues_rewritten: u32,
    /// Bytes of log entries read in cleanable ranges.
    pub bytes_cleaned: u64,
    /// Bytes appended as copies and rebuilt batches.
    pub bytes_copied: u64,
    /// Records (and RocketMQ messages) removed.
    pub records_removed: u64,
    /// ConsumeQueue entries rewritten.
    pub queue_entries_rewritten: u64,
}

/// Metrics of the cleaner.
#[derive(Debug, Clone)]
struct Metrics {
    passes: IntCounter,
    bytes_cleaned: IntCounter,
    bytes_copied: IntCounter,
    records_removed: IntCounter,
    failures: IntCounter,
}

impl Metrics {
    fn new(r: &Registry) -> prometheus::Result<Metrics> {
        let c = |name: &str, help: &str| -> prometheus::Result<IntCounter> {
            let m = IntCounter::with_opts(Opts::new(name, help))?;
            r.register(Box::new(m.clone()))?;
            Ok(m)
        };
        Ok(Metrics {
            passes: c(
                "rokka_store_compaction_passes_total",
                "Log cleaner passes run",
            )?,
            bytes_cleaned: c(
                "rokka_store_compaction_bytes_cleaned_total",
                "Bytes of compacted topics' log entries read by the cleaner",
            )?,
            bytes_copied: c(
                "rokka_store_compaction_bytes_copied_total",
                "Bytes the cleaner re-appended (survivors moved or rebuilt)",
            )?,
            records_removed: c(
                "rokka_store_compaction_records_removed_total",
                "Records removed by the cleaner (superseded keys, expired tombstones)",
            )?,
            failures: c(
                "rokka_store_compaction_failures_total",
                "Cleaner passes that failed",
            )?,
        })
    }
}

/// Per-queue memory between passes.
#[derive(Debug, Clone, Copy)]
struct QueueState {
    /// End offset at the last pass.
    max: u64,
    /// Tombstones were kept (they may expire) or young records were left
    /// alone (they will age): look again even without new records.
    pending: bool,
    /// Relocation boundary of the last pass.
    relocate_below: u64,
    /// Lowest CommitLog offset the queue pointed at after the last pass.
    pin: u64,
}

/// The cleaner's state, one per store.
pub(crate) struct Compactor {
    metrics: Metrics,
    state: Mutex<HashMap<(String, u32), QueueState>>,
    decompress: RwLock<Option<Decompress>>,
}

impl std::fmt::Debug for Compactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compactor").finish_non_exhaustive()
    }
}

/// Appends copies through the writer; returns their CommitLog offsets.
pub(crate) type CopyFn<'a> = &'a dyn Fn(Vec<Vec<u8>>) -> Result<Vec<u64>>;

impl Compactor {
    pub(crate) fn new(registry: &Registry) -> prometheus::Result<Compactor> {
        Ok(Compactor {
            metrics: Metrics::new(registry)?,
            state: Mutex::new(HashMap::new()),
            decompress: RwLock::new(None),
        })
    }

    pub(crate) fn set_decompressor(&self, d: Decompress) {
        *self.decompress.write().unwrap_or_else(|e| e.into_inner()) = Some(d);
    }

    /// One pass over every compacted queue at time `now`. Passes never
    /// overlap (the state lock is held throughout).
    pub(crate) fn run_pass(
        &self,
        shared: &Shared,
        topics: &TopicConfigs,
        copy: CopyFn<'_>,
        now: SystemTime,
        crash: Option<CrashPoint>,
    ) -> Result<CompactionReport> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let r = self.pass_locked(shared, topics, copy, now, crash, &mut state);
        match &r {
            Ok(rep) => {
                self.metrics.passes.inc();
                self.metrics.bytes_cleaned.inc_by(rep.bytes_cleaned);
                self.metrics.bytes_copied.inc_by(rep.bytes_copied);
                self.metrics.records_removed.inc_by(rep.records_removed);
            }
            Err(_) => self.metrics.failures.inc(),
        }
        r
    }

    fn pass_locked(
        &self,
        shared: &Shared,
        topics: &TopicConfigs,
        copy: CopyFn<'_>,
        now: SystemTime,
        crash: Option<CrashPoint>,
        state: &mut HashMap<(String, u32), QueueState>,
    ) -> Result<CompactionReport> {
        let now_ms = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let relocate_below = relocation_boundary(shared, now);
        let decompress = self
            .decompress
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut report = CompactionReport::default();
        let mut pin = u64::MAX;
        let log_end = shared.commit_log.max_offset();
        let mut seen = Vec::new();
        for cfg in topics.list() {
            let Some(policy) = Policy::of(&cfg) else {
                continue;
            };
            // What compacted topics append after this pass lies above it.
            pin = pin.min(log_end);
            for cq in shared.cqs.queues_of(&cfg.topic_name) {
                report.queues += 1;
                let key = (cfg.topic_name.clone(), cq.queue_id());
                let prev = state.get(&key).copied();
                let unchanged = prev.is_some_and(|p| {
                    p.max == cq.max_offset() && !p.pending && p.relocate_below >= relocate_below
                });
                let st = if unchanged {
                    prev.unwrap_or(QueueState {
                        max: 0,
                        pending: false,
                        relocate_below,
                        pin: 0,
                    })
                } else {
                    let ctx = Ctx {
                        shared,
                        cq: &cq,
                        policy,
                        now_ms,
                        relocate_below,
                        decompress: decompress.as_ref(),
                        crash,
                    };
                    let pending = clean_queue(&ctx, copy, &mut report)?;
                    QueueState {
                        max: cq.max_offset(),
                        pending,
                        relocate_below,
                        pin: lowest_pointer(shared, &cq),
                    }
                };
                pin = pin.min(st.pin);
                seen.push(key.clone());
                state.insert(key, st);
            }
        }
        state.retain(|k, _| seen.contains(k));
        shared.compaction_pin.store(pin, Ordering::Release);
        if report.queues_rewritten > 0 {
            tracing::info!(?report, "log cleaner pass");
        }
        Ok(report)
    }
}

/// The lowest CommitLog offset any compacted queue points at (what
/// retention must keep), computed without cleaning: for store open.
pub(crate) fn compute_pin(shared: &Shared, topics: &TopicConfigs) -> u64 {
    let compacted: Vec<_> = topics
        .list()
        .into_iter()
        .filter(|t| Policy::of(t).is_some())
        .collect();
    if compacted.is_empty() {
        return u64::MAX;
    }
    compacted
        .iter()
        .flat_map(|t| shared.cqs.queues_of(&t.topic_name))
        .map(|cq| lowest_pointer(shared, &cq))
        .fold(shared.commit_log.max_offset(), u64::min)
}

fn lowest_pointer(shared: &Shared, cq: &ConsumeQueue) -> u64 {
    let log_min = shared.commit_log.min_offset();
    (cq.min_offset()..cq.max_offset())
        .filter_map(|o| cq.get(o))
        .map(|e| e.phy_offset)
        .filter(|p| *p >= log_min)
        .min()
        .unwrap_or(u64::MAX)
}

/// Survivors below this CommitLog offset are copied: the end of the leading
/// run of non-active segments retention may delete (expired, or the oldest
/// one under disk pressure).
fn relocation_boundary(shared: &Shared, now: SystemTime) -> u64 {
    let cfg = &shared.config;
    let reserved = Duration::from_secs(u64::from(cfg.file_reserved_hours) * 3600);
    let pressure = shared.disk_ratio() >= cfg.disk_max_used_space_ratio;
    let segs = shared.commit_log.segments();
    let mut below = 0;
    for (i, seg) in segs.iter().enumerate().take(segs.len().saturating_sub(1)) {
        let expired = std::fs::metadata(seg.path())
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= reserved);
        if expired || (i == 0 && pressure) {
            below = seg.base() + seg.size();
        } else {
            break;
        }
    }
    below
}

/// What a pass over one queue works with.
struct Ctx<'a> {
    shared: &'a Shared,
    cq: &'a ConsumeQueue,
    policy: Policy,
    now_ms: i64,
    relocate_below: u64,
    decompress: Option<&'a Decompress>,
    crash: Option<CrashPoint>,
}

/// One record (or RocketMQ message) of a unit.
struct Rec {
    offset: u64,
    key: Option<Bytes>,
    tombstone: bool,
}

/// One stored entry in the cleanable range.
struct Unit {
    entry: StoredEntry,
    recs: Vec<Rec>,
    decoded: Option<records::Decoded>,
}

/// What happens to a unit.
enum Action {
    Keep,
    Copy(Vec<u8>),
    Drop,
}

/// Reads the units of the cleanable range `[min, end)`; returns them and `end`.
fn read_units(ctx: &Ctx<'_>) -> (Vec<Unit>, u64) {
    let (min, max) = (ctx.cq.min_offset(), ctx.cq.max_offset());
    let lag_limit = ctx.now_ms.saturating_sub(ctx.policy.min_lag_ms);
    let log_min = ctx.shared.commit_log.min_offset();
    let mut units = Vec::new();
    let mut off = min;
    while off < max {
        let Some(e) = ctx.cq.get(off) else { break };
        if e.phy_offset < log_min {
            off += 1;
            continue;
        }
        let Some(se) = read_entry(ctx.shared, e.phy_offset) else {
            // Unreadable: stop here; what follows is left for a later pass.
            break;
        };
        if se.queue_offset > off {
            // A hole from an earlier pass: jump to the entry it points at.
            off = se.queue_offset;
            continue;
        }
        let span_end = se.queue_offset + u64::from(se.count);
        if span_end <= off {
            off += 1;
            continue;
        }
        if se.store_timestamp > lag_limit {
            break;
        }
        let (recs, decoded) = unit_records(ctx, &se);
        units.push(Unit {
            entry: se,
            recs,
            decoded,
        });
        off = span_end;
    }
    (units, off.min(max))
}

fn read_entry(shared: &Shared, phy: u64) -> Option<StoredEntry> {
    let (seg, pos, size) = shared.commit_log.entry_at(phy)?;
    let buf = seg.slice(pos, size as usize)?;
    let meta = scan(buf, phy).ok()?.meta()?;
    Some(StoredEntry {
        kind: meta.kind,
        phy_offset: phy,
        queue_offset: meta.queue_offset,
        count: meta.count,
        tags_code: 0,
        store_timestamp: meta.store_timestamp,
        bytes: seg.bytes(pos, size as usize)?,
    })
}

/// The records of an entry. An entry the cleaner cannot read (compressed
/// without a decompressor, malformed, a control batch) is kept whole: its
/// records get no key.
fn unit_records(ctx: &Ctx<'_>, se: &StoredEntry) -> (Vec<Rec>, Option<records::Decoded>) {
    let whole = |n: u32| {
        (0..u64::from(n))
            .map(|i| Rec {
                offset: se.queue_offset + i,
                key: None,
                tombstone: false,
            })
            .collect()
    };
    match se.kind {
        EntryKind::RocketMq => {
            let Ok(Scanned::RocketMq(m)) = scan(&se.bytes, se.phy_offset) else {
                return (whole(1), None);
            };
            let key = m
                .property("KEYS")
                .and_then(|k| k.split(|b| *b == b' ').find(|w| !w.is_empty()))
                .map(|k| {
                    let at = k.as_ptr() as usize - se.bytes.as_ptr() as usize;
                    se.bytes.slice(at..at + k.len())
                });
            let rec = Rec {
                offset: se.queue_offset,
                tombstone: key.is_some() && m.body().is_empty(),
                key,
            };
            (vec![rec], None)
        }
        EntryKind::KafkaBatch => {
            let Some(r) = kafka::batch_range(&se.bytes) else {
                return (whole(se.count), None);
            };
            let batch = se.bytes.slice(r);
            match records::decode(&batch, ctx.decompress) {
                Some(d) if !d.control => {
                    let recs = d
                        .records
                        .iter()
                        .map(|r| Rec {
                            offset: se.queue_offset + u64::from(r.delta),
                            key: r.key.clone(),
                            tombstone: r.tombstone,
                        })
                        .collect();
                    (recs, Some(d))
                }
                Some(d) => {
                    let recs = d
                        .records
                        .iter()
                        .map(|r| Rec {
                            offset: se.queue_offset + u64::from(r.delta),
                            key: None,
                            tombstone: false,
                        })
                        .collect();
                    (recs, None)
                }
                None => {
                    tracing::warn!(
                        topic = ctx.cq.topic(),
                        phy = se.phy_offset,
                        "log cleaner cannot read a batch; keeping it whole"
                    );
                    (whole(se.count), None)
                }
            }
        }
    }
}

/// Cleans one queue; returns whether a later pass may find more to do
/// without new records (tombstones kept, young records left alone).
fn clean_queue(ctx: &Ctx<'_>, copy: CopyFn<'_>, report: &mut CompactionReport) -> Result<bool> {
    let (units, end) = read_units(ctx);
    let young = end < ctx.cq.max_offset();
    if units.is_empty() {
        return Ok(young);
    }
    report.bytes_cleaned += units
        .iter()
        .map(|u| u.entry.bytes.len() as u64)
        .sum::<u64>();
    // 1. The latest offset of each key.
    let mut latest: HashMap<&Bytes, u64> = HashMap::new();
    for r in units.iter().flat_map(|u| &u.recs) {
        if let Some(k) = &r.key {
            latest.insert(k, r.offset);
        }
    }
    // 2. Which records survive. The last record of the range always does, so
    //    every removed offset has a survivor after it to point at.
    let horizon = ctx.now_ms.saturating_sub(ctx.policy.delete_retention_ms);
    let mut keep: Vec<Vec<bool>> = units
        .iter()
        .map(|u| {
            u.recs
                .iter()
                .map(|r| match &r.key {
                    None => true,
                    Some(k) => {
                        latest.get(k) == Some(&r.offset)
                            && !(r.tombstone && u.entry.store_timestamp <= horizon)
                    }
                })
                .collect()
        })
        .collect();
    'tail: for (u, k) in units.iter().zip(keep.iter_mut()).rev() {
        for (_, kept) in u.recs.iter().zip(k.iter_mut()).rev() {
            if *kept {
                break 'tail;
            }
            *kept = true;
        }
    }
    let mut tombstones = false;
    // 3. What happens to each unit.
    let mut actions = Vec::with_capacity(units.len());
    for (u, k) in units.iter().zip(&keep) {
        let kept = k.iter().filter(|x| **x).count();
        report.records_removed += (k.len() - kept) as u64;
        tombstones |= u.recs.iter().zip(k).any(|(r, x)| *x && r.tombstone);
        let a = if kept == 0 {
            Action::Drop
        } else if kept == k.len() {
            if u.entry.phy_offset < ctx.relocate_below {
                Action::Copy(u.entry.bytes.to_vec())
            } else {
                Action::Keep
            }
        } else {
            match rebuilt_entry(ctx, u, k) {
                Some(b) => Action::Copy(b),
                None => {
                    // Cannot rebuild: keep every record of it.
                    report.records_removed -= (k.len() - kept) as u64;
                    Action::Keep
                }
            }
        };
        actions.push(a);
    }
    // A unit kept where it is keeps all its records.
    for (k, a) in keep.iter_mut().zip(&actions) {
        if matches!(a, Action::Keep) {
            k.iter_mut().for_each(|x| *x = true);
        }
    }
    // 4. Append the copies.
    let mut bodies = Vec::new();
    for a in actions.iter_mut() {
        if let Action::Copy(b) = a {
            bodies.push(std::mem::take(b));
        }
    }
    let copied_bytes: u64 = bodies.iter().map(|b| b.len() as u64).sum();
    let mut phys: Vec<(u64, u32)> = if bodies.is_empty() {
        Vec::new()
    } else {
        let sizes: Vec<u32> = bodies.iter().map(|b| b.len() as u32).collect();
        let p = copy(bodies)?;
        let top = p
            .iter()
            .zip(&sizes)
            .map(|(p, s)| p + u64::from(*s))
            .max()
            .unwrap_or(0);
        ctx.shared
            .commit_log
            .flush(top)
            .map_err(|e| crate::error::StoreError::Io {
                path: ctx.shared.config.commit_log_dir.clone(),
                source: e,
            })?;
        p.into_iter().zip(sizes).collect()
    };
    check(ctx.crash, CrashPoint::AfterCopies)?;
    report.bytes_copied += copied_bytes;
    phys.reverse();
    // 5. Where each unit's survivors are now.
    let locs: Vec<Option<(u64, u32)>> = actions
        .iter()
        .zip(&units)
        .map(|(a, u)| match a {
            Action::Keep => Some((u.entry.phy_offset, u.entry.bytes.len() as u32)),
            Action::Copy(_) => phys.pop(),
            Action::Drop => None,
        })
        .collect();
    // 6. The queue entries of the range, from the end: a survivor points at
    //    its unit, a removed offset at the next survivor.
    let min = ctx.cq.min_offset();
    let mut kept_at: HashMap<u64, usize> = HashMap::new();
    for (i, (u, k)) in units.iter().zip(&keep).enumerate() {
        for (r, x) in u.recs.iter().zip(k) {
            if *x && locs[i].is_some() {
                kept_at.insert(r.offset, i);
            }
        }
    }
    let mut updates = Vec::new();
    let mut next: Option<CqEntry> = None;
    for off in (min..end).rev() {
        let cur = ctx.cq.get(off);
        let want = match kept_at.get(&off).and_then(|i| locs[*i]) {
            Some((phy, size)) => {
                let e = CqEntry {
                    phy_offset: phy,
                    size,
                    tags_code: cur.map_or(0, |c| c.tags_code),
                };
                next = Some(e);
                Some(e)
            }
            None => next,
        };
        if let Some(w) = want {
            if cur != Some(w) {
                updates.push((off, w));
            }
        }
    }
    if updates.is_empty() {
        return Ok(tombstones || young);
    }
    report.queues_rewritten += 1;
    report.queue_entries_rewritten += updates.len() as u64;
    journal::apply(ctx.shared, ctx.cq, &updates, ctx.crash)?;
    Ok(tombstones || young)
}

/// A Kafka batch entry holding only the kept records of `u`, same queue
/// offset and store time; its header's record count spans the kept
/// offsets (first to last), so recovery dispatches them all to it.
fn rebuilt_entry(ctx: &Ctx<'_>, u: &Unit, keep: &[bool]) -> Option<Vec<u8>> {
    let d = u.decoded.as_ref()?;
    let idx: Vec<usize> = keep
        .iter()
        .enumerate()
        .filter_map(|(i, k)| k.then_some(i))
        .collect();
    let range = kafka::batch_range(&u.entry.bytes)?;
    let batch = records::rebuild(&u.entry.bytes[range], d, &idx)?;
    let span = d.records.get(*idx.last()?)?.delta + 1;
    let index_keys = idx
        .iter()
        .filter_map(|i| Some((d.records[*i].delta, d.records[*i].key.clone()?)))
        .filter(|(_, k)| !k.is_empty() && k.len() <= i16::MAX as usize)
        .collect();
    let tags_codes = (0..u64::from(span))
        .map(|i| {
            ctx.cq
                .get(u.entry.queue_offset + i)
                .map_or(0, |e| e.tags_code)
        })
        .collect::<Vec<_>>();
    let kb = KafkaBatch {
        batch: Bytes::from(batch),
        index_keys,
        tags_codes: if tags_codes.iter().all(|t| *t == 0) {
            Vec::new()
        } else {
            tags_codes
        },
    };
    let topic = ctx.cq.topic();
    let mut out = vec![0u8; kafka::encoded_len(&kb, topic.len())];
    let p = rocketmq::Placement {
        topic: topic.as_bytes(),
        queue_id: ctx.cq.queue_id(),
        queue_offset: u.entry.queue_offset,
        phy_offset: 0,
        store_timestamp: u.entry.store_timestamp,
        store_host: ctx.shared.config.store_host,
    };
    kafka::encode(&mut out, &kb, &p, span);
    Some(out)
}

/// Sets the physical offset of an entry the writer is re-appending at
/// `phy` (and the CRC that covers it, for a Kafka batch entry).
pub(crate) fn place(buf: &mut [u8], phy: u64) {
    let magic = buf
        .get(4..8)
        .map(|m| i32::from_be_bytes([m[0], m[1], m[2], m[3]]));
    match magic {
        Some(kafka::MAGIC) if buf.len() > 32 => {
            buf[24..32].copy_from_slice(&(phy as i64).to_be_bytes());
            let crc = crc32c::crc32c(&buf[12..]);
            buf[8..12].copy_from_slice(&crc.to_be_bytes());
        }
        Some(rocketmq::MAGIC_V1) if buf.len() > rocketmq::OFF_PHY_OFFSET + 8 => {
            let at = rocketmq::OFF_PHY_OFFSET;
            buf[at..at + 8].copy_from_slice(&(phy as i64).to_be_bytes());
        }
        _ => {}
    }
}
