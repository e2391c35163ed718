//! Topics as both front-ends see them: look-up and auto-creation in the
//! store's topic table, and the one rule for how many Kafka partitions a
//! topic has (see [`partition_count`]).

use rokka_store::topics::TopicConfig;
use rokka_store::StoreError;

use super::Broker;

/// Kafka partitions of a topic: every RocketMQ queue that can hold
/// readable messages, i.e. `max(readQueueNums, writeQueueNums)`. RocketMQ
/// drains a queue by lowering `writeQueueNums` first; Kafka readers must
/// still see the queues being drained, so the count follows the larger one.
pub fn partition_count(t: &TopicConfig) -> u32 {
    t.read_queue_nums.max(t.write_queue_nums)
}

impl Broker {
    /// Kafka partitions of `name` (0 when the topic does not exist).
    pub fn partitions(&self, name: &str) -> u32 {
        self.topic(name).map_or(0, |t| partition_count(&t))
    }

    /// How Kafka partitions of `name` map to this node's queues, given the
    /// `local` queue count of its table: in cluster mode a topic placed by
    /// range over several broker groups (ADR 024) has partitions here and
    /// elsewhere; otherwise every partition is the local queue of its id.
    pub fn layout(&self, name: &str, local: u32) -> crate::cluster::Layout {
        self.cluster
            .as_ref()
            .and_then(|c| c.layout(name, local))
            .unwrap_or_else(|| crate::cluster::Layout::whole(local))
    }

    /// Kafka partitions of `name` over the whole cluster: in cluster mode a
    /// topic placed on other broker groups, wholly or by range, counts
    /// theirs too (ADR 024: a coordinator commits offsets of topics on other
    /// groups).
    pub fn cluster_partitions(&self, name: &str) -> u32 {
        let local = self.partitions(name);
        match self.cluster.as_ref().and_then(|c| c.layout(name, local)) {
            Some(l) => l.partitions,
            None if local > 0 => local,
            None => self
                .cluster
                .as_ref()
                .and_then(|c| c.remote_topic(name))
                .map_or(0, |(t, _)| partition_count(&t)),
        }
    }

    /// The topic's config, creating it with `queues` read/write queues when it
    /// is missing and auto-creation is on. `Ok(None)` when it is missing and
    /// auto-creation is off, or when this node is not the cluster's writable
    /// master: then the topic is proposed through the cluster state and
    /// appears here once the master adopted it ([`Broker::creating_elsewhere`]).
    pub fn topic_or_auto_create(
        &self,
        name: &str,
        queues: Option<u32>,
    ) -> Result<Option<TopicConfig>, StoreError> {
        if let Some(t) = self.topic(name) {
            return Ok(Some(t));
        }
        // Placed on another broker group (ADR 024): not created here.
        if !self.dynamic.auto_create_topic_enable()
            || self
                .cluster
                .as_ref()
                .is_some_and(|c| c.remote_topic(name).is_some())
        {
            return Ok(None);
        }
        let n = queues
            .unwrap_or(self.dynamic.default_topic_queue_nums())
            .max(1);
        if let Some(c) = self.cluster.as_ref().filter(|c| !c.is_writable_master()) {
            // Only the master writes the table; it adopts the proposal.
            c.request_topic(TopicConfig::new(name, n));
            return Ok(None);
        }
        let t = self
            .store
            .topics()
            .get_or_create(TopicConfig::new(name, n))?;
        tracing::info!(
            topic = name,
            queues = t.write_queue_nums,
            "auto-created topic"
        );
        Ok(Some(t))
    }

    /// True when a missing topic is being created through the cluster
    /// instead of here (auto-creation on, this node not the writable master).
    pub fn creating_elsewhere(&self) -> bool {
        self.config.auto_create_topic_enable
            && self
                .cluster
                .as_ref()
                .is_some_and(|c| !c.is_writable_master())
    }
}
