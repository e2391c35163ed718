//! Which ecosystem a consumer group is live in (ADR 006).
//!
//! Kafka groups and RocketMQ consumer groups of the same name share one
//! committed-offset table, so a group may be *live* (have members) in at
//! most one ecosystem at a time: the first ecosystem with live members owns
//! it, and the other one is refused until the owner's members are gone.
//!
//! Each front-end publishes its member count per group here whenever its
//! membership changes (the Kafka group coordinator on join, leave, session
//! expiry and rebalance; the RocketMQ client table on heartbeat, unregister,
//! channel close and expiry). [`GroupRegistry::claim`] checks the other
//! ecosystem and publishes the new count under one lock, so two newcomers
//! from different ecosystems cannot both get in. The registry also counts
//! refusals for `rokka_consumergroup_refused_total` (`metrics/groups.rs`).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The ecosystem a group member speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// A Kafka classic-group member (JoinGroup).
    Kafka,
    /// A RocketMQ consumer channel registered by HEART_BEAT.
    Remoting,
}

impl Protocol {
    /// Both protocols, in label order.
    pub const ALL: [Protocol; 2] = [Protocol::Kafka, Protocol::Remoting];

    /// The metric label value (`kafka`, `remoting`).
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Kafka => "kafka",
            Protocol::Remoting => "remoting",
        }
    }

    /// How the members of this protocol are called in messages.
    fn members_noun(self) -> &'static str {
        match self {
            Protocol::Kafka => "Kafka consumer(s)",
            Protocol::Remoting => "RocketMQ consumer(s)",
        }
    }

    fn other(self) -> Protocol {
        match self {
            Protocol::Kafka => Protocol::Remoting,
            Protocol::Remoting => Protocol::Kafka,
        }
    }

    fn index(self) -> usize {
        match self {
            Protocol::Kafka => 0,
            Protocol::Remoting => 1,
        }
    }
}

/// The kind of request that was refused (label `request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupRequest {
    /// Kafka JoinGroup.
    Join,
    /// RocketMQ HEART_BEAT carrying consumer data for the group.
    Heartbeat,
    /// Kafka OffsetCommit or RocketMQ UPDATE_CONSUMER_OFFSET.
    Commit,
}

impl GroupRequest {
    /// The metric label value.
    pub fn label(self) -> &'static str {
        match self {
            GroupRequest::Join => "join",
            GroupRequest::Heartbeat => "heartbeat",
            GroupRequest::Commit => "commit",
        }
    }

    fn index(self) -> usize {
        match self {
            GroupRequest::Join => 0,
            GroupRequest::Heartbeat => 1,
            GroupRequest::Commit => 2,
        }
    }

    /// The (protocol, request) pairs that can be refused: what
    /// `rokka_consumergroup_refused_total` always exports.
    pub const REFUSABLE: [(Protocol, GroupRequest); 4] = [
        (Protocol::Kafka, GroupRequest::Join),
        (Protocol::Kafka, GroupRequest::Commit),
        (Protocol::Remoting, GroupRequest::Heartbeat),
        (Protocol::Remoting, GroupRequest::Commit),
    ];
}

/// Why a request was refused: the group is owned by the other ecosystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The group.
    pub group: String,
    /// The ecosystem that owns it.
    pub owner: Protocol,
    /// How many live members the owner has.
    pub members: usize,
    /// True if this (group, protocol, request) was already refused since
    /// the owner took the group: log it at debug level only.
    pub repeated: bool,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let newcomers = match self.owner.other() {
            Protocol::Kafka => "Kafka consumers",
            Protocol::Remoting => "RocketMQ consumers",
        };
        write!(
            f,
            "consumer group {} is in use by {} {}; {newcomers} can join when they leave",
            self.group,
            self.members,
            self.owner.members_noun(),
        )
    }
}

/// Live members of one group, per ecosystem (one is always 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMembers {
    /// The group.
    pub group: String,
    /// The Kafka group state (`Empty`, `PreparingRebalance`,
    /// `CompletingRebalance`, `Stable`) while Kafka members are live.
    pub kafka_state: Option<&'static str>,
    /// Live Kafka members.
    pub kafka: usize,
    /// Live RocketMQ consumer channels.
    pub remoting: usize,
}

impl GroupMembers {
    /// The count of `protocol`.
    pub fn of(&self, protocol: Protocol) -> usize {
        match protocol {
            Protocol::Kafka => self.kafka,
            Protocol::Remoting => self.remoting,
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    members: [usize; 2],
    /// The Kafka coordinator's state name while it has the group.
    kafka_state: Option<&'static str>,
    /// Bit `protocol * 3 + request`: already refused (and logged at warn).
    refused: u8,
}

/// Live members per group and ecosystem; shared by both front-ends.
#[derive(Debug, Default)]
pub struct GroupRegistry {
    groups: Mutex<HashMap<String, Entry>>,
    refused: [AtomicU64; 6],
}

impl GroupRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes that `group` has `members` live members in `protocol`
    /// (0 when they are all gone, which frees the group at once).
    pub fn set_members(&self, group: &str, protocol: Protocol, members: usize) {
        let mut groups = self.lock();
        if members == 0 {
            let Some(e) = groups.get_mut(group) else {
                return;
            };
            e.members[protocol.index()] = 0;
            if e.members == [0, 0] {
                groups.remove(group);
            }
        } else {
            groups.entry(group.to_owned()).or_default().members[protocol.index()] = members;
        }
    }

    /// Publishes the Kafka coordinator's state of `group` (kept while the
    /// group has live members; see [`GroupMembers::kafka_state`]).
    pub fn set_kafka_state(&self, group: &str, state: &'static str) {
        if let Some(e) = self.lock().get_mut(group) {
            e.kafka_state = Some(state);
        }
    }

    /// Lets `protocol` have `members` live members in `group` unless the
    /// other ecosystem has live members there; checks and publishes under one
    /// lock. A refusal is counted under `request`.
    pub fn claim(
        &self,
        group: &str,
        protocol: Protocol,
        members: usize,
        request: GroupRequest,
    ) -> Result<(), Refusal> {
        let mut groups = self.lock();
        if let Some(r) = self.refusal(&mut groups, group, protocol, request) {
            return Err(r);
        }
        if members > 0 {
            groups.entry(group.to_owned()).or_default().members[protocol.index()] = members;
        } else if let Some(e) = groups.get_mut(group) {
            e.members[protocol.index()] = 0;
            if e.members == [0, 0] {
                groups.remove(group);
            }
        }
        Ok(())
    }

    /// Whether `protocol` may write committed offsets of `group`: refused
    /// (and counted as a commit refusal) while the other ecosystem has live
    /// members.
    pub fn may_commit(&self, group: &str, protocol: Protocol) -> Result<(), Refusal> {
        let mut groups = self.lock();
        match self.refusal(&mut groups, group, protocol, GroupRequest::Commit) {
            Some(r) => Err(r),
            None => Ok(()),
        }
    }

    fn refusal(
        &self,
        groups: &mut HashMap<String, Entry>,
        group: &str,
        protocol: Protocol,
        request: GroupRequest,
    ) -> Option<Refusal> {
        let e = groups.get_mut(group)?;
        let owner = protocol.other();
        let members = e.members[owner.index()];
        if members == 0 {
            return None;
        }
        let bit = 1u8 << (protocol.index() * 3 + request.index());
        let repeated = e.refused & bit != 0;
        e.refused |= bit;
        self.refused[protocol.index() * 3 + request.index()].fetch_add(1, Ordering::Relaxed);
        Some(Refusal {
            group: group.to_owned(),
            owner,
            members,
            repeated,
        })
    }

    /// The ecosystem with live members in `group` and how many it has.
    pub fn owner(&self, group: &str) -> Option<(Protocol, usize)> {
        let groups = self.lock();
        let e = groups.get(group)?;
        Protocol::ALL
            .into_iter()
            .map(|p| (p, e.members[p.index()]))
            .find(|(_, n)| *n > 0)
    }

    /// Every group with live members, sorted by name.
    pub fn snapshot(&self) -> Vec<GroupMembers> {
        let mut out: Vec<GroupMembers> = self
            .lock()
            .iter()
            .map(|(g, e)| GroupMembers {
                group: g.clone(),
                kafka_state: e
                    .kafka_state
                    .filter(|_| e.members[Protocol::Kafka.index()] > 0),
                kafka: e.members[Protocol::Kafka.index()],
                remoting: e.members[Protocol::Remoting.index()],
            })
            .collect();
        out.sort_by(|a, b| a.group.cmp(&b.group));
        out
    }

    /// How many requests of (`protocol`, `request`) were refused so far.
    pub fn refused_total(&self, protocol: Protocol, request: GroupRequest) -> u64 {
        self.refused[protocol.index() * 3 + request.index()].load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_ecosystem_owns_the_group() {
        let r = GroupRegistry::default();
        assert_eq!(r.owner("g"), None);
        r.claim("g", Protocol::Remoting, 2, GroupRequest::Heartbeat)
            .unwrap();
        assert_eq!(r.owner("g"), Some((Protocol::Remoting, 2)));
        let refused = r
            .claim("g", Protocol::Kafka, 1, GroupRequest::Join)
            .unwrap_err();
        assert_eq!(refused.owner, Protocol::Remoting);
        assert_eq!(refused.members, 2);
        assert!(!refused.repeated);
        assert_eq!(
            refused.to_string(),
            "consumer group g is in use by 2 RocketMQ consumer(s); \
             Kafka consumers can join when they leave"
        );
        // The refused newcomer did not become a member.
        assert_eq!(r.owner("g"), Some((Protocol::Remoting, 2)));
        let again = r
            .claim("g", Protocol::Kafka, 1, GroupRequest::Join)
            .unwrap_err();
        assert!(again.repeated);
        assert_eq!(r.refused_total(Protocol::Kafka, GroupRequest::Join), 2);
        assert_eq!(r.refused_total(Protocol::Kafka, GroupRequest::Commit), 0);
        // Other groups are independent.
        r.claim("h", Protocol::Kafka, 1, GroupRequest::Join)
            .unwrap();
        assert_eq!(r.owner("h"), Some((Protocol::Kafka, 1)));
    }

    #[test]
    fn group_is_free_once_the_owner_is_gone() {
        let r = GroupRegistry::default();
        r.set_members("g", Protocol::Kafka, 3);
        assert!(r.may_commit("g", Protocol::Remoting).is_err());
        assert!(r.may_commit("g", Protocol::Kafka).is_ok());
        assert!(r
            .claim("g", Protocol::Remoting, 1, GroupRequest::Heartbeat)
            .is_err());
        r.set_members("g", Protocol::Kafka, 1);
        assert_eq!(r.owner("g"), Some((Protocol::Kafka, 1)));
        r.set_members("g", Protocol::Kafka, 0);
        assert_eq!(r.owner("g"), None);
        assert!(r.snapshot().is_empty());
        assert!(r.may_commit("g", Protocol::Remoting).is_ok());
        r.claim("g", Protocol::Remoting, 1, GroupRequest::Heartbeat)
            .unwrap();
        // A new ownership logs its first refusal at warn again.
        let refused = r
            .claim("g", Protocol::Kafka, 1, GroupRequest::Join)
            .unwrap_err();
        assert!(!refused.repeated);
        assert_eq!(
            r.refused_total(Protocol::Remoting, GroupRequest::Heartbeat),
            1
        );
        assert_eq!(r.refused_total(Protocol::Remoting, GroupRequest::Commit), 1);
    }

    #[test]
    fn claim_with_zero_checks_without_publishing() {
        let r = GroupRegistry::default();
        r.claim("g", Protocol::Kafka, 0, GroupRequest::Join)
            .unwrap();
        assert_eq!(r.owner("g"), None);
        r.set_members("g", Protocol::Remoting, 1);
        assert!(r
            .claim("g", Protocol::Kafka, 0, GroupRequest::Join)
            .is_err());
        // Removing a group nobody published is a no-op.
        r.set_members("x", Protocol::Kafka, 0);
        assert_eq!(
            r.snapshot(),
            vec![GroupMembers {
                group: "g".into(),
                kafka_state: None,
                kafka: 0,
                remoting: 1
            }]
        );
        // The Kafka state is shown while Kafka members are live.
        r.set_members("g", Protocol::Remoting, 0);
        r.set_members("g", Protocol::Kafka, 2);
        r.set_kafka_state("g", "Stable");
        assert_eq!(r.snapshot()[0].kafka_state, Some("Stable"));
        r.set_members("g", Protocol::Kafka, 0);
        assert!(r.snapshot().is_empty());
    }
}
