//! ASYNC_FLUSH appends on the caller's thread (ADR 022).
//!
//! With ASYNC_FLUSH an append is acknowledged once it is in the mapped log
//! and its queue entries are written; nothing waits for a sync. Handing it
//! to the writer thread and waiting for the answer cost two thread wake-ups
//! per request, most of the broker's CPU per message. Instead the caller
//! takes the writer's lock, runs the same `Writer::append` the writer thread
//! runs (encode, dispatch to the ConsumeQueue and IndexFile), publishes, and
//! returns. The lock is a blocking mutex held for the copy into the mapped
//! segment and the queue entries only — never across an `.await` — so a
//! tokio worker blocks at most for one other append (or one round of the
//! writer thread: a cleaner copy, a replicated chunk, a truncation).
//! SYNC_FLUSH keeps the writer thread and group commit.

use super::Store;
use crate::entry::{AppendRequest, AppendResult};
use crate::error::{Result, StoreError};
use std::sync::atomic::Ordering;

impl Store {
    /// Appends on the calling thread under the writer lock and publishes.
    pub(super) fn append_inline(&self, req: &AppendRequest) -> Result<AppendResult> {
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
        w.prefault_ahead();
        drop(w);
        if let Err(e) = &r {
            inner.shared.metrics.record_refused(e);
        }
        r
    }
}
