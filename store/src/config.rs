//! Store configuration: sizes, flush policy, retention and disk limits. The
//! binary fills it from flags and `broker.conf`; tests build it directly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Result, StoreError};

/// When an append is acknowledged relative to fsync (RocketMQ `flushDiskType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushDiskType {
    /// Acknowledge once the bytes are in the page cache; flush periodically.
    AsyncFlush,
    /// Acknowledge only after the bytes are synced to disk (group commit).
    SyncFlush,
}

/// All store settings. `StoreConfig::new(root)` gives RocketMQ's defaults.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Root of the store (RocketMQ `storePathRootDir`).
    pub root_dir: PathBuf,
    /// CommitLog directory (RocketMQ `storePathCommitLog`); `root/commitlog` by default.
    pub commit_log_dir: PathBuf,
    /// Size of one CommitLog segment in bytes (`mapedFileSizeCommitLog`).
    pub commit_log_segment_size: u64,
    /// Flush policy (`flushDiskType`).
    pub flush_disk_type: FlushDiskType,
    /// Period of the background flush and checkpoint.
    pub flush_interval: Duration,
    /// ConsumeQueue entries per file (RocketMQ 300000).
    pub consume_queue_entries_per_file: u32,
    /// Hash slots per IndexFile (RocketMQ 5000000).
    pub index_hash_slots: u32,
    /// Entries per IndexFile (RocketMQ 20000000).
    pub index_max_entries: u32,
    /// Hours a CommitLog segment is kept (`fileReservedTime`).
    pub file_reserved_hours: u32,
    /// Hours of the day at which expired segments are deleted (`deleteWhen`, "04").
    pub delete_when: Vec<u8>,
    /// Above this used ratio expired segments are deleted at any hour (`diskMaxUsedSpaceRatio`, 75%).
    pub disk_max_used_space_ratio: f64,
    /// Above this used ratio the oldest segments are deleted even if not
    /// expired (RocketMQ `diskSpaceCleanForciblyRatio`); must lie above
    /// `disk_refuse_ratio`, so writes stop before unexpired data goes.
    pub disk_clean_forcibly_ratio: f64,
    /// Whether forced deletion of unexpired segments happens at all
    /// (RocketMQ `cleanFileForciblyEnable`).
    pub disk_clean_forcibly_enable: bool,
    /// At or above this used ratio appends are refused (`DiskFull`).
    pub disk_refuse_ratio: f64,
    /// Period of the retention pass and disk-usage refresh.
    pub clean_interval: Duration,
    /// Period of the log cleaner of compacted topics (ADR 010).
    pub compaction_interval: Duration,
    /// Largest accepted entry (RocketMQ `maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// Bytes of appends accepted but not yet stored (and synced, with
    /// SYNC_FLUSH) before further appenders wait: backpressure, so producers
    /// faster than the disk slow down instead of growing the writer's queue.
    pub max_pending_append_bytes: usize,
    /// Address written as storeHost into RocketMQ entries (the broker's client address).
    pub store_host: SocketAddr,
}

impl StoreConfig {
    /// RocketMQ defaults with the store rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root_dir = root.into();
        StoreConfig {
            commit_log_dir: root_dir.join("commitlog"),
            root_dir,
            commit_log_segment_size: 1 << 30,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval: Duration::from_millis(500),
            consume_queue_entries_per_file: 300_000,
            index_hash_slots: 5_000_000,
            index_max_entries: 20_000_000,
            file_reserved_hours: 72,
            delete_when: vec![4],
            disk_max_used_space_ratio: 0.75,
            disk_clean_forcibly_ratio: 0.95,
            disk_clean_forcibly_enable: true,
            disk_refuse_ratio: 0.90,
            clean_interval: Duration::from_secs(1),
            compaction_interval: Duration::from_secs(15),
            max_message_size: 4 * 1024 * 1024,
            max_pending_append_bytes: 256 << 20,
            store_host: SocketAddr::from(([127, 0, 0, 1], 10911)),
        }
    }

    /// Small files for tests: 1 MiB segments (messages up to 256 KiB),
    /// 1000-entry queues, a tiny index.
    pub fn for_tests(root: impl Into<PathBuf>) -> Self {
        StoreConfig {
            commit_log_segment_size: 1 << 20,
            max_message_size: 256 * 1024,
            consume_queue_entries_per_file: 1000,
            index_hash_slots: 1024,
            index_max_entries: 4096,
            flush_interval: Duration::from_millis(50),
            ..StoreConfig::new(root)
        }
    }

    /// Checks ranges that would otherwise fail later in odd ways.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(StoreError::Config(m.to_string()));
        if self.commit_log_segment_size < 64 * 1024 {
            return bad("commit log segment size must be at least 64 KiB");
        }
        if self.commit_log_segment_size > (1 << 40) {
            return bad("commit log segment size must be at most 1 TiB");
        }
        if (self.max_message_size as u64) + 1024 > self.commit_log_segment_size {
            return bad("max message size must be smaller than a commit log segment");
        }
        if self.consume_queue_entries_per_file == 0 {
            return bad("consume queue entries per file must be positive");
        }
        if self.index_hash_slots == 0 || self.index_max_entries < 2 {
            return bad("index hash slots and entries must be positive");
        }
        for r in [
            self.disk_max_used_space_ratio,
            self.disk_clean_forcibly_ratio,
            self.disk_refuse_ratio,
        ] {
            if !(0.0..=1.0).contains(&r) {
                return bad("disk ratios must lie between 0 and 1");
            }
        }
        if self.disk_clean_forcibly_enable
            && self.disk_refuse_ratio >= self.disk_clean_forcibly_ratio
        {
            return bad(
                "the refuse ratio (rokka.diskRefuseRatio) must lie below the forced-clean ratio \
                 (rokka.diskCleanForciblyRatio), so that writes stop before unexpired data is \
                 deleted; or set cleanFileForciblyEnable=false",
            );
        }
        if self.delete_when.iter().any(|h| *h > 23) {
            return bad("deleteWhen hours must lie between 00 and 23");
        }
        if self.flush_interval.is_zero()
            || self.clean_interval.is_zero()
            || self.compaction_interval.is_zero()
        {
            return bad("flush, clean and compaction intervals must be positive");
        }
        Ok(())
    }

    /// Directory of the ConsumeQueues.
    pub fn consume_queue_dir(&self) -> PathBuf {
        self.root_dir.join("consumequeue")
    }
    /// Directory of the IndexFiles.
    pub fn index_dir(&self) -> PathBuf {
        self.root_dir.join("index")
    }
    /// Directory of offsets and topic configs.
    pub fn config_dir(&self) -> PathBuf {
        self.root_dir.join("config")
    }
}
