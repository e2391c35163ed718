//! Client appends on the caller's thread (ADR 022).
//!
//! Handing an append to the writer thread and waiting for the answer cost
//! two thread wake-ups per request, most of the broker's CPU per message.
//! Instead the caller takes the writer's lock, runs `Writer::append`
//! (encode, dispatch to the ConsumeQueue and IndexFile), publishes, and lets
//! go. The lock is a blocking mutex held for the encode and `pwrite` into
//! the CommitLog and the queue entries only — never across an `.await` — so a
//! tokio worker blocks at most for one other append (or one round of the
//! writer thread: a cleaner copy, a replicated chunk, a truncation).
//!
//! With ASYNC_FLUSH the append is acknowledged then: a killed process leaves
//! the written pages to the kernel. With SYNC_FLUSH the caller hands its log
//! end to the group-commit thread (`group_commit.rs`) and waits for the sync
//! that covers it before it is acknowledged.

use super::Store;
use crate::entry::{AppendRequest, AppendResult};
use crate::error::{Result, StoreError};
use std::sync::atomic::Ordering;
use tokio::sync::oneshot;

/// An inline append: answered, or waiting for its sync (SYNC_FLUSH).
pub(super) enum Appended {
    Done(AppendResult),
    Syncing(oneshot::Receiver<Result<AppendResult>>),
}

impl Store {
    /// Appends on the calling thread under the writer lock and publishes;
    /// with SYNC_FLUSH hands the append to the group commit.
    pub(super) fn append_inline(&self, req: &AppendRequest) -> Result<Appended> {
        let inner = &self.inner;
        // A poisoned lock means a panic mid-append: the writer's state is
        // unknown, so refuse as a dead writer thread would have.
        let mut w = inner.writer.lock().map_err(|_| StoreError::Closed)?;
        // Checked under the lock, so that once a shutdown or a switch to
        // slave mode has passed through the lock no client append follows.
        if inner.read_only.load(Ordering::Acquire) {
            return Err(StoreError::SlaveReadOnly);
        }
        if inner.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        let r = w.append(req);
        w.publish();
        let end = w.write_pos;
        drop(w);
        match r {
            Err(e) => {
                inner.shared.metrics.record_refused(&e);
                Err(e)
            }
            Ok(r) if !inner.sync => Ok(Appended::Done(r)),
            Ok(r) => {
                let (tx, rx) = oneshot::channel();
                inner.group_commit.submit(&inner.shared, end, (tx, Ok(r)));
                Ok(Appended::Syncing(rx))
            }
        }
    }
}
