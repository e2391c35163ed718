//! `__consumer_offsets`: the log of every committed offset and group change
//! of both ecosystems, in Kafka's own record format (ADR 011), so tools that
//! read the topic from offset 0 (Burrow, `kafka-console-consumer` with the
//! offsets formatter) see every group.
//!
//! The shared offset table (`config/consumerOffset.json`) stays the source
//! of truth while running. Every change of it reaches this module through
//! the store's offset observer, in order per key; it becomes a record of the
//! group's partition (`Utils.abs(group.hashCode()) % partitions`) and a
//! writer task appends the records as v2 batches. At start-up
//! [`recovery::reconcile`] makes the table and the topic agree again.
//!
//! ```text
//! OffsetCommit / UPDATE_CONSUMER_OFFSET / pull commit / delete
//!   -> ConsumerOffsets (table, under the entry lock) -> Observer::on_event
//!   -> channel -> writer task -> Store::append(__consumer_offsets, partition)
//! ```

pub mod recovery;
#[cfg(test)]
mod tests;

use bytes::Bytes;
use rokka_protocols::kafka::offsets_topic::{
    GroupMetadataValue, OffsetCommitValue, OffsetsKey, OFFSETS_TOPIC,
};
use rokka_protocols::kafka::records::{build_v2_batch, Record};
use rokka_store::offsets::{CommittedOffset, OffsetEvent, OffsetObserver};
use rokka_store::topics::TopicConfig;
use rokka_store::{java_string_hash, AppendPayload, AppendRequest, KafkaBatch, Store, StoreError};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::broker::{Broker, DELAY_PROGRESS_GROUP};

/// An unchanged commit is recorded again at most this often (ms); RocketMQ
/// consumers repeat their offsets every 5 s and with every pull.
pub const UNCHANGED_REFRESH_MS: i64 = 5_000;

/// Most records appended as one batch.
const MAX_BATCH_RECORDS: usize = 500;

/// Topic permission bits: read only, so RocketMQ producers cannot write.
const PERM_READ: u32 = 4;

/// The offsets-topic partition of `group` among `partitions`: Kafka's
/// `Utils.abs(groupId.hashCode) % partitions` (`hash & 0x7fffffff`).
pub fn partition_for(group: &str, partitions: u32) -> u32 {
    let h = (java_string_hash(group) & 0x7fff_ffff) as u32;
    h % partitions.max(1)
}

/// Groups that are broker bookkeeping, never written to the topic.
pub fn is_bookkeeping_group(group: &str) -> bool {
    group == DELAY_PROGRESS_GROUP
}

/// One record on its way to the topic.
#[derive(Debug)]
struct PendingRecord {
    partition: u32,
    timestamp: i64,
    key: Bytes,
    value: Option<Bytes>,
}

/// What the writer task receives, in order.
#[derive(Debug)]
enum Msg {
    Record(PendingRecord),
    /// Answered once every record sent before it is appended.
    Barrier(oneshot::Sender<()>),
}

/// The sending side of the writer: cheap to clone.
#[derive(Debug, Clone)]
pub struct OffsetsLog {
    tx: mpsc::UnboundedSender<Msg>,
    partitions: u32,
}

impl OffsetsLog {
    fn push(&self, group: &str, rec: PendingRecord) {
        if is_bookkeeping_group(group) {
            return;
        }
        // Fails only once the writer has stopped (shutdown); recovery
        // appends what the topic misses at the next start.
        let _ = self.tx.send(Msg::Record(rec));
    }

    /// Resolves once every record sent before this call is in the store
    /// (or the writer has stopped): a commit acknowledged after it survives
    /// a crash in the topic even if the table file missed it.
    pub async fn written(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Barrier(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Records a commit as `OffsetCommitKey` v1 / `OffsetCommitValue` v3.
    pub fn offset_committed(&self, group: &str, topic: &str, partition: u32, v: &CommittedOffset) {
        let rec = commit_record(self.partitions, group, topic, partition, v);
        self.push(group, rec);
    }

    /// Records the removal of one offset (a tombstone).
    pub fn offset_deleted(&self, group: &str, topic: &str, partition: u32) {
        let rec = tombstone_record(self.partitions, group, topic, partition);
        self.push(group, rec);
    }

    /// Records the removal of a group (a `GroupMetadataKey` tombstone).
    pub fn group_deleted(&self, group: &str) {
        self.push(group, group_record(self.partitions, group, None));
    }

    /// Records a group's membership (`GroupMetadataKey` v2 /
    /// `GroupMetadataValue` v1).
    pub fn group_metadata(&self, group: &str, value: &GroupMetadataValue) {
        let rec = group_record(self.partitions, group, Some(value.encode()));
        self.push(group, rec);
    }
}

fn offset_key(group: &str, topic: &str, partition: u32) -> Bytes {
    OffsetsKey::Offset {
        group: group.to_string(),
        topic: topic.to_string(),
        partition: i32::try_from(partition).unwrap_or(i32::MAX),
    }
    .encode()
}

/// The record of a commit.
fn commit_record(
    partitions: u32,
    group: &str,
    topic: &str,
    partition: u32,
    v: &CommittedOffset,
) -> PendingRecord {
    let value = OffsetCommitValue {
        offset: v.offset,
        leader_epoch: -1,
        metadata: v.metadata.clone(),
        commit_timestamp: v.commit_timestamp,
    };
    PendingRecord {
        partition: partition_for(group, partitions),
        timestamp: v.commit_timestamp,
        key: offset_key(group, topic, partition),
        value: Some(value.encode()),
    }
}

/// The tombstone of one offset.
fn tombstone_record(partitions: u32, group: &str, topic: &str, partition: u32) -> PendingRecord {
    PendingRecord {
        partition: partition_for(group, partitions),
        timestamp: now_ms(),
        key: offset_key(group, topic, partition),
        value: None,
    }
}

/// A group's metadata record (a tombstone when `value` is none).
fn group_record(partitions: u32, group: &str, value: Option<Bytes>) -> PendingRecord {
    let key = OffsetsKey::Group {
        group: group.to_string(),
    };
    PendingRecord {
        partition: partition_for(group, partitions),
        timestamp: now_ms(),
        key: key.encode(),
        value,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Turns the offset table's changes into records.
#[derive(Debug)]
struct Observer(OffsetsLog);

impl OffsetObserver for Observer {
    fn on_event(&self, event: OffsetEvent<'_>) {
        match event {
            OffsetEvent::Committed {
                group,
                topic,
                queue_id,
                value,
            } => self.0.offset_committed(group, topic, queue_id, value),
            OffsetEvent::Deleted {
                group,
                topic,
                queue_id,
            } => self.0.offset_deleted(group, topic, queue_id),
            OffsetEvent::GroupDeleted { group } => self.0.group_deleted(group),
        }
    }
}

/// Deletes every committed offset of `group` and records the tombstones
/// (each offset, then the group). For DeleteGroups and admin tools.
pub fn record_group_deleted(store: &Store, group: &str) {
    store.offsets().delete(group, None);
}

/// Deletes one committed offset and records its tombstone. For
/// OffsetDelete and admin tools.
pub fn record_offset_deleted(store: &Store, group: &str, topic: &str, partition: u32) {
    store.offsets().delete_queue(group, topic, partition);
}

/// Creates `__consumer_offsets` if missing (`offsets.topic.num.partitions`
/// partitions, compacted, read-only for RocketMQ producers); an existing one
/// keeps its partition count, as in Kafka. Returns the partition count.
pub fn ensure_topic(broker: &Broker) -> Result<u32, StoreError> {
    let topics = broker.store.topics();
    let mut t = match topics.get(OFFSETS_TOPIC) {
        Some(t) => t,
        None => {
            let t = TopicConfig::new(OFFSETS_TOPIC, broker.config.offsets_topic_partitions);
            info!(
                topic = OFFSETS_TOPIC,
                partitions = t.write_queue_nums,
                "created the offsets topic"
            );
            t
        }
    };
    let n = crate::broker::topics::partition_count(&t).max(1);
    if n != broker.config.offsets_topic_partitions {
        warn!(
            partitions = n,
            configured = broker.config.offsets_topic_partitions,
            "__consumer_offsets keeps its existing partition count"
        );
    }
    let wanted = Some("compact");
    if t.attributes.get("cleanup.policy").map(String::as_str) != wanted || t.perm != PERM_READ {
        t.attributes
            .insert("cleanup.policy".to_string(), "compact".to_string());
        t.perm = PERM_READ;
        topics.put(t)?;
    }
    Ok(n)
}

/// Creates the topic, reconciles it with the offset table, installs the
/// observer and starts the writer; the task ends at shutdown after writing
/// what was queued.
pub async fn start(broker: &Broker) -> Result<(OffsetsLog, JoinHandle<()>), StoreError> {
    let partitions = ensure_topic(broker)?;
    let report = match recovery::reconcile(&broker.store, partitions).await {
        Ok(r) => r,
        // Cluster mode: a node starts read-only; it reconciles when promoted.
        Err(StoreError::SlaveReadOnly) => {
            info!("offsets topic: read-only until this node is master");
            recovery::ReconcileReport::default()
        }
        Err(e) => return Err(e),
    };
    info!(
        records = report.records_read,
        undecodable = report.undecodable,
        restored = report.restored,
        removed = report.removed,
        appended = report.appended,
        "offsets topic reconciled with the offset table"
    );
    let (tx, rx) = mpsc::unbounded_channel();
    let log = OffsetsLog { tx, partitions };
    broker
        .store
        .offsets()
        .set_observer(Box::new(Observer(log.clone())), UNCHANGED_REFRESH_MS);
    let task = match &broker.cluster {
        Some(c) => {
            let (broker, c) = (broker.clone(), c.clone());
            tokio::spawn(async move {
                tokio::join!(
                    run_writer(broker.clone(), rx),
                    reconcile_on_promotion(broker, c, partitions)
                );
            })
        }
        None => tokio::spawn(run_writer(broker.clone(), rx)),
    };
    Ok((log, task))
}

/// How often a slave applies the replicated offsets topic to its table.
const SLAVE_REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// Cluster mode: the offsets topic replicated with the CommitLog is the
/// offset table's source on a new master (ADR 015). Each promotion restores
/// the table from it, so consumer groups resume from their commits on the
/// master that saw them. A slave applies it to its table every
/// [`SLAVE_REFRESH`] ([`recovery::SlaveMirror`]), so offset queries and
/// pulls on a slave start from the committed offsets while the master is down.
async fn reconcile_on_promotion(
    broker: Broker,
    cluster: std::sync::Arc<crate::cluster::Cluster>,
    partitions: u32,
) {
    use crate::cluster::Local;
    let mut roles = cluster.subscribe();
    let mut done = None;
    let mut mirror = recovery::SlaveMirror::default();
    let mut tick = tokio::time::interval(SLAVE_REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let role = *roles.borrow_and_update();
        if let Local::Slave { .. } = role {
            let store = broker.store.clone();
            let m = std::mem::take(&mut mirror);
            mirror = match tokio::task::spawn_blocking(move || {
                let mut m = m;
                let changed = m.refresh(&store);
                (m, changed)
            })
            .await
            {
                Ok((m, changed)) => {
                    if changed > 0 {
                        tracing::debug!(
                            changed,
                            "offsets: slave table refreshed from the replicated topic"
                        );
                    }
                    m
                }
                Err(e) => {
                    warn!(error = %e, "offsets: slave refresh failed");
                    recovery::SlaveMirror::default()
                }
            };
        }
        if let Local::Master {
            epoch,
            fenced: false,
        } = role
        {
            if done != Some(epoch) {
                match recovery::reconcile(&broker.store, partitions).await {
                    Ok(r) => {
                        info!(
                            epoch,
                            restored = r.restored,
                            appended = r.appended,
                            "offsets topic reconciled on promotion"
                        );
                        done = Some(epoch);
                    }
                    Err(e) => warn!(error = %e, "offsets topic not reconciled on promotion"),
                }
            }
        }
        tokio::select! {
            r = roles.changed() => if r.is_err() { return },
            _ = tick.tick() => {}
            () = broker.shutdown_signal() => return,
        }
    }
}

async fn run_writer(broker: Broker, mut rx: mpsc::UnboundedReceiver<Msg>) {
    let mut msgs = Vec::new();
    loop {
        tokio::select! {
            n = rx.recv_many(&mut msgs, MAX_BATCH_RECORDS) => {
                if n == 0 {
                    return;
                }
                write_all(&broker.store, &mut msgs).await;
            }
            () = broker.shutdown_signal() => {
                while let Ok(m) = rx.try_recv() {
                    msgs.push(m);
                }
                write_all(&broker.store, &mut msgs).await;
                return;
            }
        }
    }
}

/// Appends the records of `msgs` in order, answering each barrier once
/// the records before it are appended. A failed append is logged; recovery
/// appends it at the next start.
async fn write_all(store: &Store, msgs: &mut Vec<Msg>) {
    let mut recs = Vec::new();
    for m in msgs.drain(..) {
        match m {
            Msg::Record(r) => recs.push(r),
            Msg::Barrier(done) => {
                append_runs(store, std::mem::take(&mut recs)).await;
                let _ = done.send(());
            }
        }
    }
    append_runs(store, recs).await;
}

async fn append_runs(store: &Store, recs: Vec<PendingRecord>) {
    for (partition, run) in runs(recs) {
        if let Err(e) = append_records(store, partition, run).await {
            warn!(error = %e, partition, "cannot append to __consumer_offsets; the next start appends what is missing");
        }
    }
}

/// Splits `recs` into runs of consecutive records of one partition, at
/// most [`MAX_BATCH_RECORDS`] each, keeping their order.
fn runs(recs: Vec<PendingRecord>) -> Vec<(u32, Vec<PendingRecord>)> {
    let mut out: Vec<(u32, Vec<PendingRecord>)> = Vec::new();
    for r in recs {
        match out.last_mut() {
            Some((p, run)) if *p == r.partition && run.len() < MAX_BATCH_RECORDS => run.push(r),
            _ => out.push((r.partition, vec![r])),
        }
    }
    out
}

/// Appends records to one partition as a single v2 batch (magic 2, CRC32C).
async fn append_records(
    store: &Store,
    partition: u32,
    run: Vec<PendingRecord>,
) -> Result<(), StoreError> {
    let req = batch_request(partition, run);
    store.append(req).await.map(|_| ())
}

fn batch_request(partition: u32, run: Vec<PendingRecord>) -> AppendRequest {
    let records: Vec<Record> = run
        .into_iter()
        .map(|r| Record {
            timestamp: r.timestamp,
            key: Some(r.key),
            value: r.value,
            headers: Vec::new(),
        })
        .collect();
    AppendRequest {
        topic: Bytes::from_static(OFFSETS_TOPIC.as_bytes()),
        queue_id: partition,
        payload: AppendPayload::Kafka(KafkaBatch {
            batch: build_v2_batch(0, &records),
            index_keys: Vec::new(),
            tags_codes: Vec::new(),
        }),
    }
}
