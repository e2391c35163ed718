//! The background flusher: every `flush_interval` it syncs the CommitLog (the
//! ASYNC_FLUSH durability point), the ConsumeQueues and the IndexFile, then
//! writes the checkpoint, and persists consumer offsets. A plain thread: fsync
//! never runs on an async worker.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::error::{Result, StoreError};
use crate::offsets::ConsumerOffsets;
use crate::writer::Shared;

/// Flushes everything published so far and writes the checkpoint.
pub(crate) fn flush_all(
    shared: &Shared,
    checkpoint: &std::path::Path,
    offsets: &ConsumerOffsets,
) -> Result<()> {
    let end = shared.commit_log.max_offset();
    let started = std::time::Instant::now();
    if let Err(e) = shared.commit_log.flush(end) {
        tracing::error!(error = %e, "commit log flush failed; refusing further writes");
        shared.poisoned.store(true, Ordering::Release);
        return Err(StoreError::Poisoned);
    }
    shared
        .metrics
        .fsync_seconds
        .observe(started.elapsed().as_secs_f64());
    for cq in shared.cqs.all() {
        cq.flush().map_err(|source| StoreError::Io {
            path: shared.config.consume_queue_dir(),
            source,
        })?;
    }
    shared.index.flush().map_err(|source| StoreError::Io {
        path: shared.config.index_dir(),
        source,
    })?;
    if crate::recovery::read_checkpoint(checkpoint) != Some(end) {
        crate::recovery::write_checkpoint(checkpoint, end)?;
    }
    shared
        .metrics
        .unflushed_bytes
        .set((shared.commit_log.max_offset() - shared.commit_log.flushed_offset()) as i64);
    offsets.persist()
}

/// The flusher loop; returns when `stop` is set.
pub(crate) fn run(
    shared: Arc<Shared>,
    checkpoint: PathBuf,
    offsets: Arc<ConsumerOffsets>,
    stop: Arc<crate::store::Stop>,
) {
    let interval = shared.config.flush_interval;
    while !stop.wait(interval) {
        if let Err(e) = flush_all(&shared, &checkpoint, &offsets) {
            tracing::error!(error = %e, "periodic flush failed");
        }
    }
}
