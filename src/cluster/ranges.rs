//! A topic's queues over several broker groups (ADR 024, decisions 2 and 6).
//!
//! A placed topic has one contiguous range of global queue ids per group
//! that holds it (`rokka admin cluster add-queues` appends a range on
//! another group). A group stores its range under local ids `0..count`:
//! those are the RocketMQ queue ids in that group's `QueueData`, and the
//! Kafka partition of local queue `q` is `base + q`. The first range (queue
//! 0) is the topic's home: its master pushes the topic config; the other
//! groups adopt that config with their own queue count. A drained range
//! (`rokka admin cluster drain`) takes no more writes; it is still read.

use rokka_cluster::{ClusterState, Command, QueueRange};
use rokka_store::topics::TopicConfig;

use super::{topics, Cluster};

/// Where this node stands on a topic's Kafka partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Kafka partitions over the whole cluster.
    pub partitions: u32,
    /// This group's range: first global id and count (`None`: none here).
    pub local: Option<(u32, u32)>,
    /// This group's range takes no writes.
    pub drained: bool,
}

/// What a Kafka partition is on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Held here as local queue id.
    Local(u32),
    /// Held by another group (NOT_LEADER_OR_FOLLOWER).
    Elsewhere,
    /// Not a partition of the topic.
    Unknown,
}

impl Layout {
    /// A topic held here whole (single node, or not placed): `count` queues.
    pub fn whole(count: u32) -> Layout {
        Layout {
            partitions: count,
            local: Some((0, count)),
            drained: false,
        }
    }

    /// The local queue of Kafka partition `p`.
    pub fn route(&self, p: i32) -> Route {
        match u32::try_from(p) {
            Ok(p) if p < self.partitions => match self.local {
                Some((base, count)) if p >= base && p - base < count => Route::Local(p - base),
                _ => Route::Elsewhere,
            },
            _ => Route::Unknown,
        }
    }

    /// The Kafka partition of local queue `q`.
    pub fn partition(&self, q: u32) -> u32 {
        self.local.map_or(q, |(base, _)| base + q)
    }
}

/// The ranges of a topic placed by range (`__` topics are held whole by
/// every group, whatever their placement says).
pub(crate) fn ranges_of(state: &ClusterState, topic: &str) -> Vec<QueueRange> {
    if topics::placeable(topic) {
        state.ranges(topic)
    } else {
        Vec::new()
    }
}

/// The group other than `mine` holding Kafka partition `p` of a topic
/// with `ranges`, and its local queue id there (`p - base`); `None` when
/// `mine` holds it, or it is no partition of the ranges.
pub(crate) fn elsewhere<'a>(
    ranges: &'a [QueueRange],
    mine: &str,
    p: i32,
) -> Option<(&'a str, u32)> {
    let p = u32::try_from(p).ok()?;
    let r = ranges
        .iter()
        .find(|r| p >= r.base && p - r.base < r.count)?;
    (r.group != mine).then(|| (r.group.as_str(), p - r.base))
}

/// The config `group` holds for a topic whose home config is `home`:
/// the home config with the group's range as its queue count.
pub fn config_for(home: TopicConfig, r: &QueueRange) -> TopicConfig {
    TopicConfig {
        read_queue_nums: r.count,
        write_queue_nums: r.count,
        ..home
    }
}

impl Cluster {
    /// The layout of `topic` with this node's `local` queue count (what its
    /// table has); `None` when the topic is not placed by range.
    pub fn layout(&self, topic: &str, local: u32) -> Option<Layout> {
        if !topics::placeable(topic) {
            return None;
        }
        // Read in place: this runs per topic of every Produce and Fetch.
        self.node.with_view(|v| {
            let placed = v.state.placement.get(topic)?;
            let partitions = placed.keys().next_back()? + 1;
            let mut mine = placed
                .iter()
                .filter(|(_, g)| **g == self.group)
                .map(|(q, _)| *q);
            let local = mine.next().map(|base| {
                let count = 1 + u32::try_from(mine.count()).unwrap_or(u32::MAX - 1);
                (base, count.min(local))
            });
            let drained = local.is_some()
                && v.state
                    .drained
                    .get(topic)
                    .is_some_and(|d| d.contains(&self.group));
            Some(Layout {
                partitions,
                local,
                drained,
            })
        })
    }

    /// The ranges of `topic` (empty when not placed by range).
    pub fn ranges(&self, topic: &str) -> Vec<QueueRange> {
        self.node.with_view(|v| ranges_of(&v.state, topic))
    }

    /// The topic config the replicated state holds (its home group's).
    pub fn home_config(&self, topic: &str) -> Option<TopicConfig> {
        self.node
            .with_view(|v| topics::decode(v.state.topics.get(topic)?))
    }

    /// True when this group's range of `topic` is drained (no writes).
    pub fn drained_here(&self, topic: &str) -> bool {
        self.node.with_view(|v| {
            v.state
                .drained
                .get(topic)
                .is_some_and(|d| d.contains(&self.group))
        })
    }

    /// `rokka admin cluster add-queues TOPIC GROUP N`
    /// (`POST /cluster/add-queues/TOPIC/GROUP/N`): appends `n` queues of a
    /// placed topic on `group` after its last range (growing that range when
    /// it is already `group`'s). Refused for a topic every group holds, an
    /// unknown group, or when `group` already has an earlier range.
    pub async fn add_queues(&self, spec: &str) -> Result<String, String> {
        let mut parts = spec.splitn(3, '/');
        let (Some(topic), Some(group), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("expected TOPIC/GROUP/N, got {spec:?}"));
        };
        let n: u32 = n
            .parse()
            .ok()
            .filter(|n| (1..=1024).contains(n))
            .ok_or_else(|| format!("expected a queue count in 1..=1024, got {n:?}"))?;
        let view = self.view();
        if !topics::placeable(topic) {
            return Err(format!("{topic} is held by every group; it has no ranges"));
        }
        if !view.state.groups.contains_key(group) {
            return Err(format!("unknown group {group}"));
        }
        let ranges = ranges_of(&view.state, topic);
        let Some(last) = ranges.last() else {
            return Err(format!(
                "topic {topic} is not placed on a group (unknown, or created before placement)"
            ));
        };
        let start = last.base + last.count;
        self.node
            .propose(Command::PutPlacement {
                topic: topic.to_string(),
                queues: (start..start + n).map(|q| (q, group.to_string())).collect(),
            })
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(
            topic,
            group,
            queues = n,
            first = start,
            "cluster: queues added"
        );
        Ok(format!("{topic}: queues {start}..{} on {group}", start + n))
    }

    /// `rokka admin cluster drain TOPIC GROUP [--undo]`
    /// (`POST /cluster/drain/TOPIC/GROUP` or `/cluster/undrain/...`).
    pub async fn set_drained(&self, spec: &str, drained: bool) -> Result<String, String> {
        let Some((topic, group)) = spec.split_once('/') else {
            return Err(format!("expected TOPIC/GROUP, got {spec:?}"));
        };
        self.node
            .propose(Command::SetDrained {
                topic: topic.to_string(),
                group: group.to_string(),
                drained,
            })
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(topic, group, drained, "cluster: drain changed");
        Ok(format!(
            "{topic} on {group}: {}",
            if drained { "drained" } else { "writable" }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_partitions_to_local_ids() {
        let l = Layout {
            partitions: 8,
            local: Some((4, 4)),
            drained: false,
        };
        assert_eq!(l.route(0), Route::Elsewhere);
        assert_eq!(l.route(4), Route::Local(0));
        assert_eq!(l.route(7), Route::Local(3));
        assert_eq!(l.route(8), Route::Unknown);
        assert_eq!(l.route(-1), Route::Unknown);
        assert_eq!(l.partition(2), 6);
        // A range not adopted locally yet is not served here.
        let early = Layout {
            local: Some((4, 0)),
            ..l
        };
        assert_eq!(early.route(4), Route::Elsewhere);
        assert_eq!(Layout::whole(3).route(2), Route::Local(2));
        assert_eq!(Layout::whole(3).route(3), Route::Unknown);
    }

    #[test]
    fn finds_the_other_group_and_its_local_queue() {
        let r = |group: &str, base, count| QueueRange {
            group: group.into(),
            base,
            count,
            drained: false,
        };
        let ranges = [r("ga", 0, 4), r("gb", 4, 2)];
        assert_eq!(elsewhere(&ranges, "ga", 5), Some(("gb", 1)));
        assert_eq!(elsewhere(&ranges, "ga", 4), Some(("gb", 0)));
        assert_eq!(elsewhere(&ranges, "gb", 3), Some(("ga", 3)));
        assert_eq!(elsewhere(&ranges, "ga", 3), None, "held here");
        assert_eq!(elsewhere(&ranges, "ga", 6), None, "no such partition");
        assert_eq!(elsewhere(&ranges, "ga", -1), None);
        assert_eq!(
            elsewhere(&[], "ga", 0),
            None,
            "not placed: held by every group"
        );
    }
}
