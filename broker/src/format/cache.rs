//! Kafka batches converted for RocketMQ readers, kept for a while. A pull
//! returns at most `maxMsgNums` records (32 by default), so a batch of a
//! thousand records is read by ~30 consecutive pulls; without this cache each
//! of them would decompress and convert the whole batch again.
//!
//! Keyed by the batch's CommitLog offset, which is never reused while the
//! process runs (the log only grows; recovery cuts happen before start-up).
//! Bounded by the bytes of the converted messages; the oldest batch inserted
//! is evicted first.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rokka_store::StoredEntry;

use super::to_rocketmq::{kafka_entry_to_messages, Converted};
use super::FormatError;

/// Default budget: converted messages of this many bytes are kept.
pub const DEFAULT_BUDGET: usize = 64 << 20;

#[derive(Debug, Default)]
struct Inner {
    batches: HashMap<u64, Arc<[Converted]>>,
    order: VecDeque<(u64, usize)>,
    bytes: usize,
}

/// The cache; one per broker, shared by every connection.
#[derive(Debug)]
pub struct ConvertedBatches {
    inner: Mutex<Inner>,
    budget: usize,
}

impl Default for ConvertedBatches {
    fn default() -> Self {
        ConvertedBatches::new(DEFAULT_BUDGET)
    }
}

impl ConvertedBatches {
    /// A cache that keeps at most `budget` bytes of converted messages.
    pub fn new(budget: usize) -> ConvertedBatches {
        ConvertedBatches {
            inner: Mutex::new(Inner::default()),
            budget,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The records of the Kafka batch entry `e` as RocketMQ stored messages,
    /// converted at most once while they stay cached.
    pub fn messages(
        &self,
        e: &StoredEntry,
        store_host: SocketAddr,
    ) -> Result<Arc<[Converted]>, FormatError> {
        if let Some(hit) = self.lock().batches.get(&e.phy_offset) {
            return Ok(Arc::clone(hit));
        }
        // Convert outside the lock: other readers are not held up by it.
        let msgs: Arc<[Converted]> = kafka_entry_to_messages(e, store_host)?.into();
        let size: usize = msgs.iter().map(|m| m.bytes.len()).sum();
        if size <= self.budget {
            let mut inner = self.lock();
            if !inner.batches.contains_key(&e.phy_offset) {
                while inner.bytes + size > self.budget {
                    let Some((old, n)) = inner.order.pop_front() else {
                        break;
                    };
                    inner.batches.remove(&old);
                    inner.bytes -= n;
                }
                inner.batches.insert(e.phy_offset, Arc::clone(&msgs));
                inner.order.push_back((e.phy_offset, size));
                inner.bytes += size;
            }
        }
        Ok(msgs)
    }

    /// Bytes of converted messages held now.
    pub fn held_bytes(&self) -> usize {
        self.lock().bytes
    }
}
