//! Topic configs through the Raft state (ADR 012's `PutTopic` / `DeleteTopic`).
//!
//! Topic configs live in `config/topics.json` of each store. The writable
//! master pushes its table: every second it proposes the topics whose config
//! differs from the replicated state (and deletes the ones it no longer has).
//! Every other member adopts the replicated state into its own table, so its
//! NameServer routes and Kafka Metadata list the same topics. A master adopts
//! the state once when promoted, before it starts pushing, so a table that
//! was behind does not delete what the previous master created.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rokka_cluster::Command;
use rokka_store::topics::TopicConfig;
use rokka_store::Store;
use tracing::{debug, warn};

use super::{Cluster, Local};

/// How often the table is compared with the replicated state.
const TICK: Duration = Duration::from_secs(1);
/// The one key of a topic's entry in the replicated state: its config as JSON.
const JSON_KEY: &str = "json";

/// A topic config as the replicated state holds it.
pub(super) fn encode(t: &TopicConfig) -> BTreeMap<String, String> {
    let json = serde_json::to_string(t).unwrap_or_default();
    BTreeMap::from([(JSON_KEY.to_string(), json)])
}

/// The topic config of a replicated entry (`None` if it does not decode).
pub(super) fn decode(entry: &BTreeMap<String, String>) -> Option<TopicConfig> {
    serde_json::from_str(entry.get(JSON_KEY)?).ok()
}

/// The commands that make the replicated `state` equal `local`.
pub(super) fn diff(
    local: &[TopicConfig],
    state: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<Command> {
    let mut out = Vec::new();
    for t in local {
        let same = state
            .get(&t.topic_name)
            .and_then(decode)
            .is_some_and(|s| s == *t);
        if !same {
            out.push(Command::PutTopic {
                topic: t.topic_name.clone(),
                config: encode(t),
            });
        }
    }
    for name in state.keys() {
        if !local.iter().any(|t| &t.topic_name == name) {
            out.push(Command::DeleteTopic {
                topic: name.clone(),
            });
        }
    }
    out
}

/// Makes the store's table equal the replicated `state`.
pub(super) fn adopt(store: &Store, state: &BTreeMap<String, BTreeMap<String, String>>) {
    let topics = store.topics();
    for entry in state.values() {
        let Some(t) = decode(entry) else { continue };
        if topics.get(&t.topic_name).as_ref() != Some(&t) {
            if let Err(e) = topics.put(t) {
                warn!(error = %e, "cluster: cannot adopt a topic config");
            }
        }
    }
    for t in topics.list() {
        if !state.contains_key(&t.topic_name) {
            if let Err(e) = topics.remove(&t.topic_name) {
                warn!(error = %e, "cluster: cannot drop a topic config");
            }
        }
    }
}

pub(super) async fn run(c: Arc<Cluster>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pushing_epoch = None;
    loop {
        tick.tick().await;
        let view = c.view();
        let state = view.state.topics.clone();
        let store = c.store().clone();
        match c.local() {
            Local::Master {
                epoch,
                fenced: false,
            } => {
                if pushing_epoch != Some(epoch) {
                    // First tick of a term: take what the previous master pushed.
                    if !state.is_empty() {
                        let _ = tokio::task::spawn_blocking(move || adopt(&store, &state)).await;
                    }
                    pushing_epoch = Some(epoch);
                    continue;
                }
                for cmd in diff(&c.store().topics().list(), &state) {
                    if let Err(e) = c.node.propose(cmd).await {
                        debug!(error = %e, "topic config not replicated yet");
                        break;
                    }
                }
            }
            Local::Slave { .. } if !state.is_empty() => {
                pushing_epoch = None;
                let _ = tokio::task::spawn_blocking(move || adopt(&store, &state)).await;
            }
            _ => pushing_epoch = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_puts_changed_and_deletes_missing_topics() {
        let a = TopicConfig::new("a", 4);
        let mut b = TopicConfig::new("b", 8);
        let mut state = BTreeMap::new();
        state.insert("a".to_string(), encode(&a));
        state.insert("gone".to_string(), encode(&TopicConfig::new("gone", 1)));
        assert_eq!(decode(&encode(&a)), Some(a.clone()));
        b.attributes.insert("retention.ms".into(), "1000".into());
        let cmds = diff(&[a, b.clone()], &state);
        assert_eq!(
            cmds,
            vec![
                Command::PutTopic {
                    topic: "b".into(),
                    config: encode(&b)
                },
                Command::DeleteTopic {
                    topic: "gone".into()
                }
            ]
        );
    }
}
