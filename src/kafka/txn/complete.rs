//! Completing a transaction: persist PrepareCommit/PrepareAbort, write a
//! control batch into each partition (the normal append path), record
//! aborts in the aborted index (memory and `__transaction_state`), apply
//! the pending offsets on commit (and queue those of partitions on another
//! broker group for its master), persist CompleteCommit/CompleteAbort.
//! A failed marker append leaves the transaction prepared; the timer
//! retries (markers written twice are harmless: readers act on the first).

use bytes::Bytes;
use rokka_protocols::kafka::error_code as ec;
use rokka_protocols::kafka::txn_log::{control_batch, TxnStateValue, TxnStatus};
use rokka_store::{AppendPayload, AppendRequest, KafkaBatch};
use tracing::warn;

use super::log::{self, now_ms};
use super::TxnCoordinator;

/// Coordinator epoch written in markers: one coordinator, never moved.
const COORDINATOR_EPOCH: i32 = 0;

impl TxnCoordinator {
    /// Ends the open transaction `s` of `id` (the caller holds `write`);
    /// returns the completed state.
    pub(super) async fn complete(
        &self,
        id: &str,
        mut s: TxnStateValue,
        commit: bool,
    ) -> Result<TxnStateValue, i16> {
        s.status = if commit {
            TxnStatus::PrepareCommit
        } else {
            TxnStatus::PrepareAbort
        };
        s.last_update_ms = now_ms();
        self.put(id, s.clone()).await?;
        {
            // No transactional append of this producer passes its check
            // from here on (the state is prepared); wait for those in flight.
            let _m = self.markers.write().await;
            for (topic, p, start) in &s.partitions {
                let Ok(q) = u32::try_from(*p) else { continue };
                let marker = control_batch(
                    s.producer_id,
                    s.producer_epoch,
                    commit,
                    COORDINATOR_EPOCH,
                    now_ms(),
                );
                let req = AppendRequest {
                    topic: Bytes::copy_from_slice(topic.as_bytes()),
                    queue_id: q,
                    payload: AppendPayload::Kafka(KafkaBatch {
                        batch: marker,
                        index_keys: Vec::new(),
                        tags_codes: Vec::new(),
                    }),
                };
                let off = match self.broker.store.append(req).await {
                    Ok(r) => r.queue_offset as i64,
                    Err(e) => {
                        warn!(transactional_id = id, topic = %topic, partition = p, error = %e, "cannot write transaction marker");
                        return Err(ec::COORDINATOR_NOT_AVAILABLE);
                    }
                };
                let aborted = self
                    .broker
                    .txns
                    .end(topic, q, s.producer_id, off, !commit, *start);
                if let Some(a) = aborted {
                    if let Err(e) =
                        log::append_aborted(&self.broker.store, self.partitions, id, topic, q, a)
                            .await
                    {
                        warn!(transactional_id = id, error = %e, "cannot persist an aborted-transaction entry");
                    }
                }
            }
        }
        if commit && !s.pending_offsets.is_empty() {
            let offsets = self.broker.store.offsets();
            for o in &s.pending_offsets {
                if let Ok(q) = u32::try_from(o.partition) {
                    offsets.commit(
                        &o.group,
                        &o.topic,
                        q,
                        o.offset,
                        o.metadata.as_deref().unwrap_or(""),
                    );
                }
            }
            // Partitions on another broker group: their master gets the
            // offset too (ADR 024 decision 5).
            if let Some(cluster) = &self.broker.cluster {
                for o in &s.pending_offsets {
                    cluster.forward_kafka_commits(&o.group, &o.topic, &[(o.partition, o.offset)]);
                }
            }
            let log = self
                .offsets_log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(log) = log {
                log.written().await;
            }
        }
        s.status = if commit {
            TxnStatus::CompleteCommit
        } else {
            TxnStatus::CompleteAbort
        };
        s.partitions.clear();
        s.groups.clear();
        s.pending_offsets.clear();
        s.last_update_ms = now_ms();
        self.put(id, s.clone()).await?;
        Ok(s)
    }
}
