//! Prometheus metrics of the store, registered against a registry passed in
//! (tests get a fresh one). Names: `rokka_store_<what>_<unit>`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use crate::entry::EntryKind;
use crate::error::StoreError;

/// The store's metric handles.
#[derive(Debug, Clone)]
pub struct StoreMetrics {
    /// Entries appended, by kind.
    pub appended_messages: IntCounterVec,
    /// Resolved children of the two counter families, per kind (no label
    /// look-up on the append path): [remoting, kafka] × [messages, bytes].
    by_kind: [[IntCounter; 2]; 2],
    /// Bytes appended to the CommitLog, by kind.
    pub appended_bytes: IntCounterVec,
    /// Appends refused, by reason.
    pub refused: IntCounterVec,
    /// Seconds per CommitLog sync.
    pub fsync_seconds: Histogram,
    /// SYNC_FLUSH appends answered per group-commit sync (group commit size).
    pub group_size: Histogram,
    /// Used fraction of the file system of each store directory, by `dir`.
    pub disk_used_ratio: prometheus::GaugeVec,
    /// Bytes of CommitLog segment files.
    pub commit_log_size: IntGauge,
    /// Bytes published but not yet synced.
    pub unflushed_bytes: IntGauge,
    /// Segments removed by retention.
    pub segments_deleted: IntCounter,
    /// Entries replayed by the last recovery.
    pub recovered_entries: IntGauge,
    /// Appends that waited for room under `max_pending_append_bytes`.
    pub append_waits: IntCounter,
    /// Damaged CommitLog entries readers skipped (each counted once).
    pub corrupt_entries: IntCounter,
    /// ConsumeQueue entries recovery dropped or rebuilt after damage.
    pub queue_entries_repaired: IntCounterVec,
}

impl StoreMetrics {
    /// Creates the metrics and registers them with `registry`.
    pub fn new(registry: &Registry) -> prometheus::Result<StoreMetrics> {
        let appended_messages = IntCounterVec::new(
            Opts::new(
                "rokka_store_appended_messages_total",
                "Messages and records appended to the commit log",
            ),
            &["kind"],
        )?;
        let appended_bytes = IntCounterVec::new(
            Opts::new(
                "rokka_store_appended_bytes_total",
                "Bytes appended to the commit log",
            ),
            &["kind"],
        )?;
        let child = |k| {
            [
                appended_messages.with_label_values(&[k]),
                appended_bytes.with_label_values(&[k]),
            ]
        };
        let by_kind = [
            child(kind_label(EntryKind::RocketMq)),
            child(kind_label(EntryKind::KafkaBatch)),
        ];
        let m = StoreMetrics {
            by_kind,
            appended_messages,
            appended_bytes,
            refused: IntCounterVec::new(
                Opts::new(
                    "rokka_store_appends_refused_total",
                    "Appends refused by the store, by reason",
                ),
                &["reason"],
            )?,
            fsync_seconds: Histogram::with_opts(
                HistogramOpts::new("rokka_store_fsync_seconds", "Duration of commit log syncs")
                    .buckets(vec![
                        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                        0.25, 1.0,
                    ]),
            )?,
            group_size: Histogram::with_opts(
                HistogramOpts::new(
                    "rokka_store_group_commit_size",
                    "SYNC_FLUSH append requests answered per group-commit sync",
                )
                .buckets(vec![
                    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0,
                ]),
            )?,
            disk_used_ratio: prometheus::GaugeVec::new(
                Opts::new(
                    "rokka_store_disk_used_ratio",
                    "Used fraction (statvfs, as df) of the file system holding each store directory",
                ),
                &["dir"],
            )?,
            commit_log_size: IntGauge::new(
                "rokka_store_commit_log_size_bytes",
                "Bytes of commit log segment files",
            )?,
            unflushed_bytes: IntGauge::new(
                "rokka_store_unflushed_bytes",
                "Commit log bytes appended but not yet synced to disk",
            )?,
            segments_deleted: IntCounter::new(
                "rokka_store_segments_deleted_total",
                "Commit log segments deleted by retention",
            )?,
            recovered_entries: IntGauge::new(
                "rokka_store_recovered_entries",
                "Entries replayed from the commit log by the last recovery",
            )?,
            append_waits: IntCounter::new(
                "rokka_store_append_backpressure_waits_total",
                "Appends that waited because max_pending_append_bytes of appends were in flight",
            )?,
            corrupt_entries: IntCounter::new(
                "rokka_store_corrupt_entries_total",
                "Damaged commit log entries met by readers and skipped (each counted once)",
            )?,
            queue_entries_repaired: IntCounterVec::new(
                Opts::new(
                    "rokka_store_queue_entries_repaired_total",
                    "ConsumeQueue entries recovery dropped or rebuilt from the commit log",
                ),
                &["action"],
            )?,
        };
        registry.register(Box::new(m.appended_messages.clone()))?;
        registry.register(Box::new(m.appended_bytes.clone()))?;
        registry.register(Box::new(m.refused.clone()))?;
        registry.register(Box::new(m.fsync_seconds.clone()))?;
        registry.register(Box::new(m.group_size.clone()))?;
        registry.register(Box::new(m.disk_used_ratio.clone()))?;
        registry.register(Box::new(m.commit_log_size.clone()))?;
        registry.register(Box::new(m.unflushed_bytes.clone()))?;
        registry.register(Box::new(m.segments_deleted.clone()))?;
        registry.register(Box::new(m.recovered_entries.clone()))?;
        registry.register(Box::new(m.append_waits.clone()))?;
        registry.register(Box::new(m.corrupt_entries.clone()))?;
        registry.register(Box::new(m.queue_entries_repaired.clone()))?;
        Ok(m)
    }

    pub(crate) fn record_append(&self, kind: EntryKind, count: u32, bytes: usize) {
        let [messages, bytes_total] = &self.by_kind[kind as usize];
        messages.inc_by(count as u64);
        bytes_total.inc_by(bytes as u64);
    }

    pub(crate) fn record_refused(&self, e: &StoreError) {
        let reason = match e {
            StoreError::DiskFull { .. } => "disk_full",
            StoreError::NoSpace { .. } => "no_space",
            StoreError::MessageTooLarge { .. } => "too_large",
            StoreError::InvalidAppend { .. } => "invalid",
            StoreError::Poisoned => "poisoned",
            StoreError::Closed => "closed",
            _ => "io",
        };
        self.refused.with_label_values(&[reason]).inc();
    }
}

fn kind_label(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::RocketMq => "remoting",
        EntryKind::KafkaBatch => "kafka",
    }
}
