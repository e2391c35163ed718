//! The classic group coordinator (kafka-subset.md §4): member ids with
//! `MEMBER_ID_REQUIRED` (JoinGroup v4+ only), leader choice, protocol
//! selection, rebalance and session timeouts, static membership by
//! `group.instance.id`. State lives in one mutex, never held across an
//! await; waiting JoinGroup/SyncGroup requests hold a oneshot receiver.
//!
//! Every membership change is published to the broker's
//! [`GroupRegistry`]; a JoinGroup for a group with live RocketMQ consumers
//! is refused with `INCONSISTENT_GROUP_PROTOCOL` before any member id is
//! assigned (ADR 006).
//!
//! ```text
//! Empty --join--> PreparingRebalance --all joined / timeout--> CompletingRebalance
//!   ^                    ^                                           | leader SyncGroup
//!   +--last leaves-------+---- join, leave, session expiry ----- Stable
//! ```

pub mod handlers;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rokka_protocols::kafka::describe_groups::{DescribedGroup, DescribedMember};
use rokka_protocols::kafka::error_code;
use rokka_protocols::kafka::groups::join_group::{
    JoinGroupMember, JoinGroupRequest, JoinGroupResponse,
};
use rokka_protocols::kafka::groups::sync_group::SyncGroupResponse;
use rokka_protocols::kafka::list_groups::ListedGroup;
use rokka_protocols::kafka::offsets_topic::{GroupMember, GroupMetadataValue};
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use crate::broker::groups::{GroupRegistry, GroupRequest, Protocol, Refusal};
use crate::broker::Broker;

use super::offsets_topic::OffsetsLog;

/// How long a new group waits for more members before its first generation
/// (Kafka's `group.initial.rebalance.delay.ms`, shortened).
const INITIAL_DELAY: Duration = Duration::from_millis(500);
/// Timer period for session expiry and rebalance completion.
const TICK: Duration = Duration::from_millis(100);

/// Group states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members.
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Waiting for the leader's assignment.
    CompletingRebalance,
    /// Assigned.
    Stable,
}

impl GroupState {
    /// Kafka's name for the state (DescribeGroups, ListGroups v4).
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

#[derive(Debug)]
struct Member {
    instance_id: Option<String>,
    client_id: String,
    client_host: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    last_seen: Instant,
    join_waiter: Option<oneshot::Sender<JoinGroupResponse>>,
    sync_waiter: Option<oneshot::Sender<SyncGroupResponse>>,
}

#[derive(Debug)]
struct Group {
    state: GroupState,
    generation: i32,
    protocol_type: String,
    protocol: String,
    leader: String,
    members: BTreeMap<String, Member>,
    /// When the current rebalance gives up on members that did not rejoin.
    deadline: Instant,
    /// Not before this instant (initial delay of a new group).
    not_before: Instant,
    /// The state last published to the broker's group registry.
    published_state: GroupState,
}

impl Group {
    fn new() -> Group {
        let now = Instant::now();
        Group {
            state: GroupState::Empty,
            generation: 0,
            protocol_type: String::new(),
            protocol: String::new(),
            leader: String::new(),
            members: BTreeMap::new(),
            deadline: now,
            not_before: now,
            published_state: GroupState::Empty,
        }
    }

    /// The group as Kafka records it (`GroupMetadataValue`).
    fn metadata_value(&self) -> GroupMetadataValue {
        let stable = self.state == GroupState::Stable;
        GroupMetadataValue {
            protocol_type: self.protocol_type.clone(),
            generation: self.generation,
            protocol: stable.then(|| self.protocol.clone()),
            leader: stable.then(|| self.leader.clone()),
            members: self
                .members
                .iter()
                .map(|(id, m)| GroupMember {
                    member_id: id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: m.rebalance_timeout.as_millis() as i32,
                    session_timeout: m.session_timeout.as_millis() as i32,
                    subscription: m
                        .protocols
                        .iter()
                        .find(|(n, _)| *n == self.protocol)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// The group as a new coordinator loads it from its latest record
    /// (Kafka's group loading on a coordinator move): a stable group keeps
    /// its generation, leader, members and assignments, so its members go
    /// on heartbeating without a rebalance; each member gets a fresh
    /// session from `now`. Anything else is loaded empty.
    fn restored(v: GroupMetadataValue, now: Instant) -> Group {
        let ms = |t: i32| Duration::from_millis(u64::try_from(t).unwrap_or(0));
        let stable = v.protocol.is_some() && v.leader.is_some() && !v.members.is_empty();
        let protocol = v.protocol.unwrap_or_default();
        let members = if stable {
            v.members
                .into_iter()
                .map(|m| {
                    let member = Member {
                        instance_id: None,
                        client_id: m.client_id,
                        client_host: m.client_host,
                        session_timeout: ms(m.session_timeout),
                        rebalance_timeout: ms(m.rebalance_timeout),
                        protocols: vec![(protocol.clone(), m.subscription)],
                        assignment: m.assignment,
                        last_seen: now,
                        join_waiter: None,
                        sync_waiter: None,
                    };
                    (m.member_id, member)
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        let state = if stable {
            GroupState::Stable
        } else {
            GroupState::Empty
        };
        Group {
            state,
            generation: v.generation,
            protocol_type: v.protocol_type,
            protocol,
            leader: if stable {
                v.leader.unwrap_or_default()
            } else {
                String::new()
            },
            members,
            deadline: now,
            not_before: now,
            published_state: state,
        }
    }

    fn prepare_rebalance(&mut self) {
        let now = Instant::now();
        if self.state == GroupState::Empty {
            self.not_before = now + INITIAL_DELAY;
        }
        if self.state != GroupState::PreparingRebalance {
            let longest = self
                .members
                .values()
                .map(|m| m.rebalance_timeout)
                .max()
                .unwrap_or(Duration::ZERO);
            self.deadline = now + longest;
        }
        // Members waiting for an assignment must rejoin.
        for m in self.members.values_mut() {
            if let Some(tx) = m.sync_waiter.take() {
                let _ = tx.send(SyncGroupResponse {
                    error_code: error_code::REBALANCE_IN_PROGRESS,
                    ..SyncGroupResponse::default()
                });
            }
        }
        self.state = GroupState::PreparingRebalance;
    }

    /// Finishes the join phase if every member rejoined (or time is up).
    fn try_complete_join(&mut self, group_id: &str) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let now = Instant::now();
        if now < self.not_before {
            return;
        }
        let all_joined = self.members.values().all(|m| m.join_waiter.is_some());
        if !all_joined && now < self.deadline {
            return;
        }
        self.members.retain(|_, m| m.join_waiter.is_some());
        self.generation += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.leader.clear();
            return;
        }
        if !self.members.contains_key(&self.leader) {
            self.leader = self.members.keys().next().cloned().unwrap_or_default();
        }
        // The leader's first protocol that every member supports.
        let leader_protocols: Vec<String> = self
            .members
            .get(&self.leader)
            .map(|m| m.protocols.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default();
        let chosen = leader_protocols.into_iter().find(|p| {
            self.members
                .values()
                .all(|m| m.protocols.iter().any(|(n, _)| n == p))
        });
        let Some(protocol) = chosen else {
            for (_, m) in std::mem::take(&mut self.members) {
                if let Some(tx) = m.join_waiter {
                    let _ = tx.send(JoinGroupResponse {
                        error_code: error_code::INCONSISTENT_GROUP_PROTOCOL,
                        generation_id: -1,
                        ..JoinGroupResponse::default()
                    });
                }
            }
            self.state = GroupState::Empty;
            return;
        };
        self.protocol = protocol;
        self.state = GroupState::CompletingRebalance;
        let all: Vec<JoinGroupMember> = self
            .members
            .iter()
            .map(|(id, m)| JoinGroupMember {
                member_id: id.clone(),
                group_instance_id: m.instance_id.clone(),
                metadata: m
                    .protocols
                    .iter()
                    .find(|(n, _)| *n == self.protocol)
                    .map(|(_, md)| md.clone())
                    .unwrap_or_default(),
            })
            .collect();
        info!(
            group = group_id,
            generation = self.generation,
            members = self.members.len(),
            protocol = %self.protocol,
            "group rebalanced"
        );
        for (id, m) in self.members.iter_mut() {
            m.last_seen = now;
            if let Some(tx) = m.join_waiter.take() {
                let _ = tx.send(JoinGroupResponse {
                    error_code: error_code::NONE,
                    generation_id: self.generation,
                    protocol_type: Some(self.protocol_type.clone()),
                    protocol_name: self.protocol.clone(),
                    leader: self.leader.clone(),
                    member_id: id.clone(),
                    members: if *id == self.leader {
                        all.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
        }
    }

    fn sync_ok(&self, assignment: Bytes) -> SyncGroupResponse {
        SyncGroupResponse {
            error_code: error_code::NONE,
            protocol_type: Some(self.protocol_type.clone()),
            protocol_name: Some(self.protocol.clone()),
            assignment,
        }
    }

    fn remove_member(&mut self, id: &str) -> bool {
        let Some(m) = self.members.remove(id) else {
            return false;
        };
        if let Some(tx) = m.join_waiter {
            let _ = tx.send(JoinGroupResponse {
                error_code: error_code::UNKNOWN_MEMBER_ID,
                generation_id: -1,
                ..JoinGroupResponse::default()
            });
        }
        true
    }
}

/// What a JoinGroup or SyncGroup call produced.
#[derive(Debug)]
pub enum Outcome<T> {
    /// Answer now.
    Now(T),
    /// Answer when the rebalance step completes.
    Wait(oneshot::Receiver<T>),
}

/// Every classic group on this broker.
#[derive(Debug, Default)]
pub struct GroupCoordinator {
    groups: Mutex<HashMap<String, Group>>,
    next_member: AtomicU64,
    /// Where member counts are published and ownership is checked.
    registry: Arc<GroupRegistry>,
    /// Where membership changes are recorded (`__consumer_offsets`).
    offsets_log: std::sync::OnceLock<OffsetsLog>,
}

fn join_error(code: i16, member_id: &str) -> JoinGroupResponse {
    JoinGroupResponse {
        error_code: code,
        generation_id: -1,
        member_id: member_id.to_string(),
        ..JoinGroupResponse::default()
    }
}

/// Logs a refused JoinGroup: the first one of an ownership at warn level.
fn log_refused_join(r: &Refusal) {
    if r.repeated {
        debug!(group = %r.group, owner = r.owner.label(), members = r.members, "JoinGroup refused: {r}");
    } else {
        warn!(group = %r.group, owner = r.owner.label(), members = r.members, "JoinGroup refused: {r}");
    }
}

impl GroupCoordinator {
    /// A coordinator publishing its member counts to `registry`.
    pub fn new(registry: Arc<GroupRegistry>) -> GroupCoordinator {
        GroupCoordinator {
            registry,
            ..GroupCoordinator::default()
        }
    }

    /// The `__consumer_offsets` writer, once started.
    pub fn offsets_log(&self) -> Option<&OffsetsLog> {
        self.offsets_log.get()
    }

    /// Records membership changes in `__consumer_offsets` from now on.
    pub fn set_offsets_log(&self, log: OffsetsLog) {
        let _ = self.offsets_log.set(log);
    }

    /// Publishes the member count of `group_id` (0 frees the group); a
    /// group that became Stable or Empty is recorded in the offsets topic.
    fn publish(&self, group_id: &str, group: &mut Group) {
        if group.state != group.published_state
            && matches!(group.state, GroupState::Stable | GroupState::Empty)
        {
            if let Some(log) = self.offsets_log.get() {
                log.group_metadata(group_id, &group.metadata_value());
            }
        }
        self.registry
            .set_members(group_id, Protocol::Kafka, group.members.len());
        self.registry.set_kafka_state(group_id, group.state.name());
        group.published_state = group.state;
    }

    fn with_groups<T>(&self, f: impl FnOnce(&mut HashMap<String, Group>) -> T) -> T {
        let mut g = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    fn new_member_id(&self, client_id: &str) -> String {
        let n = self.next_member.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{client_id}-{t:x}-{n}")
    }

    /// JoinGroup.
    pub fn join(
        &self,
        req: JoinGroupRequest,
        version: i16,
        client_id: &str,
        client_host: &str,
    ) -> Outcome<JoinGroupResponse> {
        if req.group_id.is_empty() {
            return Outcome::Now(join_error(error_code::INVALID_GROUP_ID, &req.member_id));
        }
        if !(1000..=1_800_000).contains(&req.session_timeout_ms) {
            return Outcome::Now(join_error(
                error_code::INVALID_SESSION_TIMEOUT,
                &req.member_id,
            ));
        }
        if req.protocols.is_empty() || req.protocol_type.is_empty() {
            return Outcome::Now(join_error(
                error_code::INCONSISTENT_GROUP_PROTOCOL,
                &req.member_id,
            ));
        }
        let fresh_id = self.new_member_id(client_id);
        self.with_groups(|groups| {
            let (static_id, known, members) = match groups.get(&req.group_id) {
                Some(group) => {
                    // Static members keep their id across restarts.
                    let static_id = req.group_instance_id.as_ref().and_then(|iid| {
                        group
                            .members
                            .iter()
                            .find(|(_, m)| m.instance_id.as_ref() == Some(iid))
                            .map(|(id, _)| id.clone())
                    });
                    let known = static_id.is_some() || group.members.contains_key(&req.member_id);
                    (static_id, known, group.members.len())
                }
                None => (None, false, 0),
            };
            let needs_id = static_id.is_none()
                && req.member_id.is_empty()
                && version >= 4
                && req.group_instance_id.is_none();
            // Refused while RocketMQ consumers hold the group, before any
            // member id is handed out; otherwise the new count is published
            // under the registry's lock so a RocketMQ heartbeat racing this
            // join cannot get in too.
            let after = if needs_id || known {
                members
            } else {
                members + 1
            };
            if let Err(r) =
                self.registry
                    .claim(&req.group_id, Protocol::Kafka, after, GroupRequest::Join)
            {
                log_refused_join(&r);
                return Outcome::Now(join_error(error_code::INCONSISTENT_GROUP_PROTOCOL, ""));
            }
            let group = groups
                .entry(req.group_id.clone())
                .or_insert_with(Group::new);
            if group.state != GroupState::Empty
                && !group.members.is_empty()
                && group.protocol_type != req.protocol_type
            {
                self.publish(&req.group_id, group);
                return Outcome::Now(join_error(
                    error_code::INCONSISTENT_GROUP_PROTOCOL,
                    &req.member_id,
                ));
            }
            let member_id = if let Some(id) = static_id {
                id
            } else if req.member_id.is_empty() {
                if needs_id {
                    return Outcome::Now(join_error(error_code::MEMBER_ID_REQUIRED, &fresh_id));
                }
                fresh_id
            } else {
                req.member_id.clone()
            };
            let (tx, rx) = oneshot::channel();
            let member = Member {
                instance_id: req.group_instance_id.clone(),
                client_id: client_id.to_string(),
                client_host: client_host.to_string(),
                session_timeout: Duration::from_millis(req.session_timeout_ms as u64),
                rebalance_timeout: Duration::from_millis(req.rebalance_timeout_ms.max(0) as u64),
                protocols: req.protocols.clone(),
                assignment: Bytes::new(),
                last_seen: Instant::now(),
                join_waiter: Some(tx),
                sync_waiter: None,
            };
            if let Some(old) = group.members.insert(member_id.clone(), member) {
                if let Some(w) = old.join_waiter {
                    let _ = w.send(join_error(error_code::UNKNOWN_MEMBER_ID, &member_id));
                }
            }
            group.protocol_type = req.protocol_type.clone();
            group.prepare_rebalance();
            group.try_complete_join(&req.group_id);
            self.publish(&req.group_id, group);
            Outcome::Wait(rx)
        })
    }

    /// SyncGroup.
    pub fn sync(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        assignments: Vec<(String, Bytes)>,
    ) -> Outcome<SyncGroupResponse> {
        let err = |code| {
            Outcome::Now(SyncGroupResponse {
                error_code: code,
                ..SyncGroupResponse::default()
            })
        };
        self.with_groups(|groups| {
            let Some(group) = groups.get_mut(group_id) else {
                return err(error_code::UNKNOWN_MEMBER_ID);
            };
            if !group.members.contains_key(member_id) {
                return err(error_code::UNKNOWN_MEMBER_ID);
            }
            if generation != group.generation {
                return err(error_code::ILLEGAL_GENERATION);
            }
            match group.state {
                GroupState::Empty | GroupState::PreparingRebalance => {
                    err(error_code::REBALANCE_IN_PROGRESS)
                }
                GroupState::Stable => {
                    let a = group
                        .members
                        .get(member_id)
                        .map(|m| m.assignment.clone())
                        .unwrap_or_default();
                    Outcome::Now(group.sync_ok(a))
                }
                GroupState::CompletingRebalance => {
                    if member_id == group.leader {
                        let mut given: HashMap<String, Bytes> = assignments.into_iter().collect();
                        for (id, m) in group.members.iter_mut() {
                            m.assignment = given.remove(id).unwrap_or_default();
                            if let Some(tx) = m.sync_waiter.take() {
                                let _ = tx.send(SyncGroupResponse {
                                    error_code: error_code::NONE,
                                    protocol_type: Some(group.protocol_type.clone()),
                                    protocol_name: Some(group.protocol.clone()),
                                    assignment: m.assignment.clone(),
                                });
                            }
                        }
                        group.state = GroupState::Stable;
                        let a = group
                            .members
                            .get(member_id)
                            .map(|m| m.assignment.clone())
                            .unwrap_or_default();
                        return Outcome::Now(group.sync_ok(a));
                    }
                    let (tx, rx) = oneshot::channel();
                    if let Some(m) = group.members.get_mut(member_id) {
                        m.sync_waiter = Some(tx);
                    }
                    Outcome::Wait(rx)
                }
            }
        })
    }

    /// Replaces every group with the groups recorded in `__consumer_offsets`
    /// (the latest record of each): a node that becomes master, and with it
    /// the coordinator of the group ids whose offsets partitions its broker
    /// group holds, loads them as Kafka does, instead of keeping what it
    /// had in memory from an earlier term. Returns how many are stable.
    pub fn restore(&self, recorded: HashMap<String, GroupMetadataValue>) -> usize {
        let now = Instant::now();
        self.with_groups(|groups| {
            for (id, _) in groups.drain() {
                if !recorded.contains_key(&id) {
                    self.registry.set_members(&id, Protocol::Kafka, 0);
                    self.registry.set_kafka_state(&id, GroupState::Empty.name());
                }
            }
            let mut stable = 0;
            for (id, v) in recorded {
                let g = Group::restored(v, now);
                stable += usize::from(g.state == GroupState::Stable);
                self.registry
                    .set_members(&id, Protocol::Kafka, g.members.len());
                self.registry.set_kafka_state(&id, g.state.name());
                groups.insert(id, g);
            }
            stable
        })
    }

    /// Heartbeat; returns the error code.
    pub fn heartbeat(&self, group_id: &str, generation: i32, member_id: &str) -> i16 {
        self.with_groups(|groups| {
            let Some(group) = groups.get_mut(group_id) else {
                return error_code::UNKNOWN_MEMBER_ID;
            };
            let Some(m) = group.members.get_mut(member_id) else {
                return error_code::UNKNOWN_MEMBER_ID;
            };
            m.last_seen = Instant::now();
            if group.state == GroupState::PreparingRebalance {
                return error_code::REBALANCE_IN_PROGRESS;
            }
            if generation != group.generation {
                return error_code::ILLEGAL_GENERATION;
            }
            error_code::NONE
        })
    }

    /// LeaveGroup for each of `member_ids`; returns per-member error codes.
    pub fn leave(&self, group_id: &str, member_ids: &[String]) -> Vec<(String, i16)> {
        self.with_groups(|groups| {
            let Some(group) = groups.get_mut(group_id) else {
                return member_ids
                    .iter()
                    .map(|id| (id.clone(), error_code::UNKNOWN_MEMBER_ID))
                    .collect();
            };
            let out: Vec<(String, i16)> = member_ids
                .iter()
                .map(|id| {
                    let code = if group.remove_member(id) {
                        error_code::NONE
                    } else {
                        error_code::UNKNOWN_MEMBER_ID
                    };
                    (id.clone(), code)
                })
                .collect();
            if out.iter().any(|(_, c)| *c == error_code::NONE) {
                group.prepare_rebalance();
                group.try_complete_join(group_id);
            }
            self.publish(group_id, group);
            out
        })
    }

    /// Whether an OffsetCommit from (`generation`, `member_id`) may write.
    /// Commits with generation -1 are "simple" commits outside the protocol
    /// (admin tools resetting offsets): allowed only while the group has no
    /// members, else UNKNOWN_MEMBER_ID, as Kafka answers.
    pub fn check_commit(&self, group_id: &str, generation: i32, member_id: &str) -> i16 {
        self.with_groups(|groups| {
            let Some(group) = groups.get(group_id) else {
                return error_code::NONE;
            };
            if group.members.is_empty() {
                return error_code::NONE;
            }
            if generation < 0 {
                return error_code::UNKNOWN_MEMBER_ID;
            }
            if !group.members.contains_key(member_id) {
                return error_code::UNKNOWN_MEMBER_ID;
            }
            if generation != group.generation {
                return error_code::ILLEGAL_GENERATION;
            }
            if group.state == GroupState::PreparingRebalance {
                return error_code::REBALANCE_IN_PROGRESS;
            }
            error_code::NONE
        })
    }

    /// Expires silent members and completes due rebalances.
    pub fn tick(&self) {
        let now = Instant::now();
        self.with_groups(|groups| {
            for (gid, group) in groups.iter_mut() {
                let before = group.members.len();
                let expired: Vec<String> = group
                    .members
                    .iter()
                    .filter(|(_, m)| {
                        m.join_waiter.is_none()
                            && now.duration_since(m.last_seen) > m.session_timeout
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in &expired {
                    info!(group = %gid, member = %id, "member session expired");
                    group.remove_member(id);
                }
                if !expired.is_empty() {
                    group.prepare_rebalance();
                }
                group.try_complete_join(gid);
                if group.members.len() != before || group.state != group.published_state {
                    self.publish(gid, group);
                }
            }
            groups.retain(|_, g| g.state != GroupState::Empty || !g.members.is_empty());
        });
    }

    /// Every group the coordinator knows: (id, protocol type, state).
    pub fn list(&self) -> Vec<ListedGroup> {
        self.with_groups(|groups| {
            groups
                .iter()
                .map(|(id, g)| ListedGroup {
                    group_id: id.clone(),
                    protocol_type: g.protocol_type.clone(),
                    group_state: g.state.name().to_string(),
                })
                .collect()
        })
    }

    /// Describes `group_id`; `None` if the coordinator does not know it.
    pub fn describe(&self, group_id: &str) -> Option<DescribedGroup> {
        self.with_groups(|groups| {
            let g = groups.get(group_id)?;
            let stable = g.state == GroupState::Stable;
            Some(DescribedGroup {
                error_code: error_code::NONE,
                group_id: group_id.to_string(),
                group_state: g.state.name().to_string(),
                protocol_type: g.protocol_type.clone(),
                protocol_data: if stable {
                    g.protocol.clone()
                } else {
                    String::new()
                },
                members: g
                    .members
                    .iter()
                    .map(|(id, m)| DescribedMember {
                        member_id: id.clone(),
                        group_instance_id: m.instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        member_metadata: m
                            .protocols
                            .iter()
                            .find(|(n, _)| *n == g.protocol)
                            .map(|(_, md)| md.clone())
                            .unwrap_or_default(),
                        member_assignment: if stable {
                            m.assignment.clone()
                        } else {
                            Bytes::new()
                        },
                    })
                    .collect(),
            })
        })
    }

    /// The current state of `group_id` (for tests).
    pub fn state(&self, group_id: &str) -> Option<(GroupState, i32, usize)> {
        self.with_groups(|g| {
            g.get(group_id)
                .map(|g| (g.state, g.generation, g.members.len()))
        })
    }
}

/// Runs [`GroupCoordinator::tick`] until the broker shuts down.
pub async fn run_timer(groups: Arc<GroupCoordinator>, broker: Broker) {
    let ticking = async {
        let mut every = tokio::time::interval(TICK);
        loop {
            every.tick().await;
            groups.tick();
        }
    };
    tokio::select! {
        () = ticking => {}
        () = broker.shutdown_signal() => {}
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
