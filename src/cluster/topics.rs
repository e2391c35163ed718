//! Topic configs through the Raft state (ADR 012's `PutTopic` / `DeleteTopic`).
//!
//! Topic configs live in `config/topics.json` of each store; the replicated
//! state holds every topic's config as JSON. Each member syncs its table with
//! the state on every view change and every [`TICK`]:
//!
//! - the writable **master** pushes what changed in its table (`PutTopic`)
//!   and adopts topics the state has and it lacks (a previous master's table,
//!   or a topic another member proposed). It never drops a topic it has:
//!   a name in the state but not in its table is deleted from the state only
//!   if the master had it at its previous sync of the same term (an explicit
//!   delete on this node). At the start of a term it also gives a config to
//!   every topic whose queues it holds without one (data replicated before
//!   the previous master pushed the config), so no replicated record becomes
//!   unreachable;
//! - a **slave** mirrors the state, and drops a topic only when it sees it
//!   leave the state (a state that lags, e.g. while Raft replays its log
//!   after a restart, never removes anything).
//!
//! "Previous sync" is remembered per role; it starts empty on each role
//! change, so the first sync of a role only adds.
//!
//! Several broker groups (ADR 024, part 1): a topic is placed on the group
//! of the master that first pushes it (`PutPlacement` of all its queues,
//! committed before its `PutTopic`), and each group syncs only the topics
//! placed on it or not placed at all (system, retry and `__` topics, which
//! every group holds, and state from before placement). A writable master
//! also places `__consumer_offsets` round-robin over the groups once there
//! are several, each with a master: that spreads the Kafka coordinators.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rokka_cluster::{ClusterState, Command};
use rokka_store::topics::TopicConfig;
use rokka_store::Store;
use tracing::{debug, info, warn};

use super::{Cluster, Local};

/// How often the table is compared with the replicated state (besides view changes).
const TICK: Duration = Duration::from_millis(200);
/// The one key of a topic's entry in the replicated state: its config as JSON.
const JSON_KEY: &str = "json";

/// Kafka's offsets topic: every group holds all its partitions and writes
/// those placed on it.
pub(crate) const OFFSETS_TOPIC: &str = rokka_protocols::kafka::offsets_topic::OFFSETS_TOPIC;

/// True for topics that are placed on one group; system, retry, DLQ and
/// `__` topics are held by every group (as RocketMQ creates them on every
/// broker).
pub(super) fn placeable(name: &str) -> bool {
    !name.starts_with("__")
        && !name.starts_with('%')
        && crate::metrics::topic_traffic::is_system(name, "") == "false"
}

/// The placement of a new topic on `group`: all its queues (`None` for
/// topics every group holds).
pub(super) fn placement(t: &TopicConfig, group: &str) -> Option<Command> {
    placeable(&t.topic_name).then(|| Command::PutPlacement {
        topic: t.topic_name.clone(),
        queues: (0..crate::broker::topics::partition_count(t))
            .map(|q| (q, group.to_string()))
            .collect(),
    })
}

/// The part of the replicated topic table `group` holds: topics placed on
/// it or not placed. A topic whose home range is on another group comes with
/// this group's range as its queue count (ADR 024).
pub(super) fn held_by(state: &ClusterState, group: &str) -> State {
    state
        .topics
        .iter()
        .filter_map(|(name, entry)| match state.placed_on(name, 0) {
            // Every group holds all of `__consumer_offsets` (and the other
            // unplaceable topics), whatever its placement says about who
            // writes which partition: without this a slave of any group
            // but the one of partition 0 saw the config leave the state,
            // dropped it, and lost the offsets and groups it replicates.
            _ if !placeable(name) => Some((name.clone(), entry.clone())),
            None => Some((name.clone(), entry.clone())),
            Some(g) if g == group => Some((name.clone(), entry.clone())),
            Some(_) => {
                let r = super::ranges::ranges_of(state, name)
                    .into_iter()
                    .find(|r| r.group == group)?;
                let cfg = super::ranges::config_for(decode(entry)?, &r);
                Some((name.clone(), encode(&cfg)))
            }
        })
        .collect()
}

/// The round-robin placement of `__consumer_offsets` (`partitions`), when
/// it has none yet and there are several groups, each with a master.
pub(super) fn offsets_placement(state: &ClusterState, partitions: u32) -> Option<Command> {
    let ready = state.groups.len() > 1 && state.groups.values().all(|g| g.master.is_some());
    (ready && partitions > 0 && !state.placement.contains_key(OFFSETS_TOPIC)).then(|| {
        Command::PutPlacement {
            topic: OFFSETS_TOPIC.to_string(),
            queues: rokka_cluster::round_robin(&state.groups.keys().cloned().collect(), partitions),
        }
    })
}

/// The replicated topic table: name -> entry.
pub(super) type State = BTreeMap<String, BTreeMap<String, String>>;

/// A topic config as the replicated state holds it.
pub(super) fn encode(t: &TopicConfig) -> BTreeMap<String, String> {
    let json = serde_json::to_string(t).unwrap_or_default();
    BTreeMap::from([(JSON_KEY.to_string(), json)])
}

/// The topic config of a replicated entry (`None` if it does not decode).
pub(super) fn decode(entry: &BTreeMap<String, String>) -> Option<TopicConfig> {
    serde_json::from_str(entry.get(JSON_KEY)?).ok()
}

/// What one sync changes: configs to write into the local table, names to
/// remove from it, commands to propose.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Sync {
    pub adopt: Vec<TopicConfig>,
    pub drop: Vec<String>,
    pub propose: Vec<Command>,
}

/// The master's sync. `known`: the names its table had at its previous sync
/// in this term (empty at the start of a term).
pub(super) fn master_sync(local: &[TopicConfig], state: &State, known: &BTreeSet<String>) -> Sync {
    let mut out = Sync::default();
    for (name, entry) in state {
        let Some(cfg) = decode(entry) else { continue };
        match local.iter().find(|t| &t.topic_name == name) {
            // Deleted here since the previous sync.
            None if known.contains(name) => out.propose.push(Command::DeleteTopic {
                topic: name.clone(),
            }),
            None => out.adopt.push(cfg),
            Some(l) if *l == cfg => {}
            Some(l) if known.contains(name) => out.propose.push(put(l)),
            // New here and in the state at once: the state wins.
            Some(_) => out.adopt.push(cfg),
        }
    }
    for t in local.iter().filter(|t| !state.contains_key(&t.topic_name)) {
        out.propose.push(put(t));
    }
    out
}

/// A slave's sync. `seen`: the names the state had at its previous sync.
pub(super) fn slave_sync(local: &[TopicConfig], state: &State, seen: &BTreeSet<String>) -> Sync {
    let mut out = Sync::default();
    for entry in state.values() {
        let Some(cfg) = decode(entry) else { continue };
        if !local.contains(&cfg) {
            out.adopt.push(cfg);
        }
    }
    out.drop = local
        .iter()
        .map(|t| &t.topic_name)
        .filter(|n| seen.contains(*n) && !state.contains_key(*n))
        .cloned()
        .collect();
    out
}

pub(super) fn put(t: &TopicConfig) -> Command {
    Command::PutTopic {
        topic: t.topic_name.clone(),
        config: encode(t),
    }
}

/// Configs for the topics whose queues `store` holds without a config
/// (`queues` read/write queues at least, more if a higher queue id has data).
/// Topics the broker creates on demand with a fixed layout are left alone.
pub(super) fn orphans(store: &Store, queues: u32) -> Vec<TopicConfig> {
    let topics = store.topics();
    let mut found: BTreeMap<String, u32> = BTreeMap::new();
    for q in store.consume_queues() {
        let n = found.entry(q.topic().to_string()).or_default();
        *n = (*n).max(q.queue_id() + 1);
    }
    found
        .into_iter()
        .filter(|(name, _)| {
            topics.get(name).is_none()
                && !name.starts_with("__")
                && crate::metrics::topic_traffic::is_system(name, "") == "false"
        })
        .map(|(name, n)| TopicConfig::new(&name, n.max(queues).max(1)))
        .collect()
}

/// Before a topic's first push (or a push with more queues): its placement
/// on this group. `Ok(false)`: the topic is placed on another group, so it
/// is not pushed from here.
async fn place_first(
    c: &Cluster,
    store: &Store,
    placed: &ClusterState,
    cmd: &Command,
) -> Result<bool, rokka_cluster::ClusterError> {
    let Command::PutTopic { topic, .. } = cmd else {
        return Ok(true);
    };
    if placed.placed_on(topic, 0).is_some_and(|g| g != c.group) {
        return Ok(false);
    }
    let place = store
        .topics()
        .get(topic)
        .and_then(|t| placement(&t, &c.group))
        .filter(|p| !covers(placed, p));
    match place {
        None => Ok(true),
        Some(p) => match c.node.propose(p).await {
            Ok(()) => Ok(true),
            Err(rokka_cluster::ClusterError::Refused(e)) => {
                debug!(topic = %topic, error = %e, "topic placed on another group: not pushed");
                Ok(false)
            }
            Err(e) => Err(e),
        },
    }
}

/// True when the state already has every queue of `place` on its group.
fn covers(state: &ClusterState, place: &Command) -> bool {
    let Command::PutPlacement { topic, queues } = place else {
        return true;
    };
    queues
        .iter()
        .all(|(q, g)| state.placed_on(topic, *q) == Some(g.as_str()))
}

/// Writes the adopted configs and removals into the store's table.
fn apply_local(store: &Store, sync: &Sync) {
    let topics = store.topics();
    for t in &sync.adopt {
        if let Err(e) = topics.put(t.clone()) {
            warn!(topic = %t.topic_name, error = %e, "cluster: cannot adopt a topic config");
        }
    }
    for name in &sync.drop {
        info!(topic = %name, "cluster: topic deleted through the cluster state");
        if let Err(e) = topics.remove(name) {
            warn!(topic = %name, error = %e, "cluster: cannot drop a topic config");
        }
    }
}

/// The sync loop's memory between ticks.
#[derive(Default)]
struct Memory {
    /// The role (and term) the memory belongs to.
    role: Option<Local>,
    /// Master: local names at the previous sync; slave: state names.
    names: BTreeSet<String>,
}

pub(super) async fn run(c: Arc<Cluster>) {
    let mut views = c.node.subscribe();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut mem = Memory::default();
    loop {
        tokio::select! {
            r = views.changed() => if r.is_err() { return },
            _ = tick.tick() => {}
        }
        let view = c.view();
        let state = held_by(&view.state, &c.group);
        let store = c.store().clone();
        match c.local() {
            Local::Master {
                epoch,
                fenced: false,
            } => {
                let role = Local::Master {
                    epoch,
                    fenced: false,
                };
                // Fencing pauses the pushes but keeps the term's memory.
                let new_term =
                    !matches!(mem.role, Some(Local::Master { epoch: e, .. }) if e == epoch);
                if new_term {
                    mem = Memory {
                        role: Some(role),
                        names: BTreeSet::new(),
                    };
                    let queues = c.default_queues;
                    let s = store.clone();
                    let made = tokio::task::spawn_blocking(move || {
                        let made = orphans(&s, queues);
                        apply_local(
                            &s,
                            &Sync {
                                adopt: made.clone(),
                                ..Sync::default()
                            },
                        );
                        made
                    })
                    .await
                    .unwrap_or_default();
                    for t in made {
                        info!(topic = %t.topic_name, queues = t.write_queue_nums, "cluster: topic with replicated data but no config; created");
                    }
                }
                master_tick(&c, &store, &state, &mut mem).await;
                let offsets = store
                    .topics()
                    .get(OFFSETS_TOPIC)
                    .map_or(0, |t| t.write_queue_nums);
                if let Some(cmd) = offsets_placement(&view.state, offsets) {
                    match c.node.propose(cmd).await {
                        Ok(()) => info!("cluster: __consumer_offsets placed over the groups"),
                        Err(e) => debug!(error = %e, "__consumer_offsets placement not committed"),
                    }
                }
            }
            Local::Master { .. } => {}
            role @ Local::Slave { .. } => {
                if mem.role != Some(role) {
                    mem = Memory {
                        role: Some(role),
                        names: BTreeSet::new(),
                    };
                }
                let sync = slave_sync(&store.topics().list(), &state, &mem.names);
                mem.names = state.keys().cloned().collect();
                if sync != Sync::default() {
                    let _ = tokio::task::spawn_blocking(move || apply_local(&store, &sync)).await;
                }
            }
            Local::None => mem = Memory::default(),
        }
    }
}

async fn master_tick(c: &Cluster, store: &Store, state: &State, mem: &mut Memory) {
    let sync = master_sync(&store.topics().list(), state, &mem.names);
    let mut names: BTreeSet<String> = store
        .topics()
        .list()
        .into_iter()
        .map(|t| t.topic_name)
        .chain(sync.adopt.iter().map(|t| t.topic_name.clone()))
        .collect();
    let placed = c.view().state;
    for (i, cmd) in sync.propose.iter().enumerate() {
        let r = match place_first(c, store, &placed, cmd).await {
            Ok(true) => c.node.propose(cmd.clone()).await,
            Ok(false) => continue,
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            debug!(error = %e, "topic config not replicated yet");
            // Retried on the next tick; the deletes stay remembered until then.
            for cmd in &sync.propose[i..] {
                if let Command::DeleteTopic { topic } = cmd {
                    names.insert(topic.clone());
                }
            }
            break;
        }
    }
    mem.names = names;
    if !sync.adopt.is_empty() {
        let store = store.clone();
        let _ = tokio::task::spawn_blocking(move || apply_local(&store, &sync)).await;
    }
}

#[cfg(test)]
#[path = "topics_tests.rs"]
mod tests;
