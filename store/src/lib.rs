//! rokka-store: the RocketMQ-style storage engine shared by both front-ends.
//!
//! Layout of the crate, following an append from top to bottom:
//!
//! ```text
//! store.rs          Store: the façade (open/recover, append, read, wait, shutdown)
//!   store/damaged.rs  readers' checks: damaged entries skipped as recorded gaps
//!   store/inline.rs   appends on the caller's thread under the writer lock
//! writer.rs         the writer (behind a lock) and its thread: encode, dispatch
//! group_commit.rs   SYNC_FLUSH: the thread that syncs and answers waiting appends
//! entry/            the two stored entry layouts (RocketMQ message, Kafka batch) + the blank filler
//! commit_log.rs     fixed-size memory-mapped segments named by their 20-digit start offset
//! mapped_file.rs    one preallocated, memory-mapped file
//! consume_queue.rs  per (topic, queue) 20-byte entries: phy offset, size, tags code
//! index_file.rs     key → phy offset hash index with store times
//! recovery.rs       checkpoint + abort marker, re-scan, torn-tail cut
//! queue_check.rs    start-up check of ConsumeQueue tails against the log, rebuild
//! integrity.rs      entry-vs-queue checks, resync past damage, damaged-entry record
//! verify.rs         offline scan of a stopped data directory (`rokka verify`)
//! flush.rs          the periodic flusher and checkpoint writer
//! retention.rs      segment deletion by age and disk pressure, disk-full guard
//! compaction/       the log cleaner of `cleanup.policy=compact` topics (ADR 010)
//! replica.rs        replication: raw chunks out (master), verbatim appends and truncation in (slave)
//! epoch.rs          the (epoch, start offset) history of master terms
//! offsets.rs        consumer offsets, one table for both protocols
//! topics.rs         topic configs
//! subscription_groups.rs  RocketMQ subscription group configs
//! metrics.rs        Prometheus metrics of the store
//! ```
//!
//! The store knows neither wire protocol beyond the two entry layouts it stores.

pub mod commit_log;
pub mod compaction;
pub mod config;
pub mod consume_queue;
mod disk;
pub mod entry;
pub mod epoch;
pub mod error;
mod flush;
mod group_commit;
pub mod index_file;
mod integrity;
mod mapped_file;
pub mod metrics;
pub mod offsets;
mod queue_check;
mod recovery;
mod replica;
mod retention;
mod store;
pub mod subscription_groups;
pub mod topics;
mod util;
pub mod verify;
mod writer;

pub use compaction::{CompactionReport, CrashPoint};
pub use config::{FlushDiskType, StoreConfig};
pub use entry::{
    AppendPayload, AppendRequest, AppendResult, EntryKind, KafkaBatch, MessageToStore,
};
pub use error::{Result, StoreError};
pub use store::{GetResult, GetStatus, RecoveryReport, Store, StoredEntry};
pub use util::java_string_hash;
#[cfg(feature = "internals")]
pub use writer::internals;
