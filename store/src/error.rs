//! Errors of the store layer. The front-ends map them to wire codes at their
//! handler boundary; the store never sees a Kafka or RocketMQ response code.

use std::path::PathBuf;

/// Everything that can go wrong in `rokka-store`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O call failed; `path` names the file or directory involved.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Another process holds the data directory's lock file.
    #[error("data directory {path} is in use by another process (lock file held)")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// Appends are refused because the disk holding the CommitLog is too full.
    #[error("disk full: {used_ratio:.3} of the disk used, appends refused from {limit:.3}")]
    DiskFull {
        /// Used fraction of the file system, 0..=1.
        used_ratio: f64,
        /// The configured refusal threshold.
        limit: f64,
    },
    /// A new file (segment, queue or index file) cannot be preallocated: its
    /// file system has less room than the file needs, below the refusal
    /// ratio or at all (ENOSPC for this file; the used ratio is measured
    /// separately).
    #[error("disk full: a new file of {needed} bytes is needed in {}, only {available} bytes are free below the refuse ratio", .path.display())]
    NoSpace {
        /// The file that could not be created.
        path: PathBuf,
        /// Its size.
        needed: u64,
        /// Bytes available on its file system when it was tried.
        available: u64,
    },
    /// A message or batch is larger than the configured maximum.
    #[error("message of {size} bytes exceeds the maximum of {max} bytes")]
    MessageTooLarge {
        /// Encoded size of the entry.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The request cannot be stored as given (bad topic name, bad batch, ...).
    #[error("invalid append: {reason}")]
    InvalidAppend {
        /// What is wrong.
        reason: &'static str,
    },
    /// An fsync failed earlier; the log refuses writes until restarted.
    #[error("the commit log is poisoned after a failed flush; restart the broker")]
    Poisoned,
    /// The store is shutting down or shut down.
    #[error("the store is shut down")]
    Closed,
    /// A configuration value is out of range.
    /// A log cleaner pass stopped at a test's crash point (see `Store::compact_now`).
    #[error("log cleaner pass interrupted at {0}")]
    Interrupted(&'static str),
    #[error("invalid store configuration: {0}")]
    Config(String),
    /// A persisted metadata file (offsets, topics, checkpoint) cannot be parsed.
    #[error("corrupt metadata file {path}: {reason}")]
    CorruptMetadata {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// Result alias of the store layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Adds the path to an `io::Error`.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| StoreError::Io {
            path: path.into(),
            source,
        })
    }
}
