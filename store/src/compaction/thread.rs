//! The log cleaner's background thread.

use std::sync::Arc;

use crate::error::Result;

/// Starts the cleaner thread: a pass every `compaction_interval` until the
/// store stops or goes away (it holds the store only during a pass).
pub(crate) fn spawn<T: Send + Sync + 'static>(
    store: std::sync::Weak<T>,
    make: impl Fn(Arc<T>) -> crate::Store + Send + 'static,
) -> Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("rokka-log-cleaner".into())
        .spawn(move || loop {
            let Some((stop, every)) = store.upgrade().map(|s| {
                let s = make(s);
                (s.stopping(), s.config().compaction_interval)
            }) else {
                return;
            };
            if stop.wait(every) {
                return;
            }
            let Some(s) = store.upgrade().map(&make) else {
                return;
            };
            if let Err(e) = s.compact_now() {
                tracing::warn!(error = %e, "log cleaner pass failed");
            }
        })
        .map_err(|source| crate::StoreError::Io {
            path: std::path::PathBuf::from("rokka-log-cleaner"),
            source,
        })
}
