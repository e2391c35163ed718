//! Consumer-group membership, read at scrape time from the broker's group
//! registry (ADR 006) and the shared offset table:
//!
//! - `rokka_consumergroup_members{group, protocol}`: live members per
//!   ecosystem (`kafka`, `remoting`), both series for every group that has
//!   members or committed offsets; a group with neither disappears.
//! - `rokka_consumergroup_state{group, protocol, state}`: 1 for the current
//!   state (Kafka: the coordinator's; RocketMQ: Stable with consumers, else
//!   Empty).
//! - `rokka_consumergroup_refused_total{protocol, request}`: requests refused
//!   because the other ecosystem holds the group (the four refusable pairs
//!   are always exported, starting at 0).
//! - with compatibility on, kafka_exporter's
//!   `kafka_consumergroup_members{consumergroup}`: the group's live members
//!   whichever ecosystem holds it, as rokka's other `kafka_consumergroup_*`
//!   families also cover RocketMQ groups.
//!
//! Labels are group names and fixed values only, never client ids.

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounterVec, IntGaugeVec, Opts};
use rokka_store::Store;

use crate::broker::groups::{GroupRegistry, GroupRequest, Protocol};

/// The scrape-time collector of group membership.
#[derive(Debug)]
pub struct GroupsCollector {
    registry: Arc<GroupRegistry>,
    store: Store,
    compat: bool,
    descs: Vec<Desc>,
}

struct Families {
    members: IntGaugeVec,
    state: IntGaugeVec,
    refused: IntCounterVec,
    compat_members: Option<IntGaugeVec>,
}

impl Families {
    fn new(compat: bool) -> Families {
        Families {
            members: IntGaugeVec::new(
                Opts::new(
                    "rokka_consumergroup_members",
                    "Live members of a consumer group per protocol (Kafka group members, \
                     RocketMQ consumer channels); a group is live in one protocol at a time.",
                ),
                &["group", "protocol"],
            )
            .expect("valid metric definition"),
            state: IntGaugeVec::new(
                Opts::new(
                    "rokka_consumergroup_state",
                    "1 for the consumer group's current state per protocol: Kafka's group \
                     state (Empty, PreparingRebalance, CompletingRebalance, Stable); for \
                     RocketMQ, Stable with live consumers and Empty without.",
                ),
                &["group", "protocol", "state"],
            )
            .expect("valid metric definition"),
            refused: IntCounterVec::new(
                Opts::new(
                    "rokka_consumergroup_refused_total",
                    "Requests refused because the consumer group is live in the other protocol.",
                ),
                &["protocol", "request"],
            )
            .expect("valid metric definition"),
            compat_members: compat.then(|| {
                IntGaugeVec::new(
                    Opts::new(
                        "kafka_consumergroup_members",
                        "Amount of members in a consumer group",
                    ),
                    &["consumergroup"],
                )
                .expect("valid metric definition")
            }),
        }
    }

    fn collectors(&self) -> Vec<&dyn Collector> {
        let mut v: Vec<&dyn Collector> = vec![&self.members, &self.state, &self.refused];
        if let Some(c) = &self.compat_members {
            v.push(c);
        }
        v
    }
}

impl GroupsCollector {
    /// A collector over `registry` and the offset table of `store`;
    /// `compat` adds `kafka_consumergroup_members`.
    pub fn new(registry: Arc<GroupRegistry>, store: Store, compat: bool) -> GroupsCollector {
        let descs = Families::new(compat)
            .collectors()
            .iter()
            .flat_map(|c| c.desc().into_iter().cloned())
            .collect();
        GroupsCollector {
            registry,
            store,
            compat,
            descs,
        }
    }

    fn fill(&self, f: &Families) {
        // Groups with committed offsets and no members are listed with 0.
        let mut states: BTreeMap<String, &'static str> = BTreeMap::new();
        let mut groups: BTreeMap<String, [i64; 2]> = crate::broker::consumer_groups(&self.store)
            .into_iter()
            .map(|g| (g, [0, 0]))
            .collect();
        for m in self.registry.snapshot() {
            let n = |p| i64::try_from(m.of(p)).unwrap_or(i64::MAX);
            groups.insert(m.group.clone(), [n(Protocol::Kafka), n(Protocol::Remoting)]);
            if let Some(state) = m.kafka_state {
                states.insert(m.group.clone(), state);
            }
        }
        for (group, counts) in &groups {
            for (p, n) in Protocol::ALL.into_iter().zip(counts) {
                f.members.with_label_values(&[group, p.label()]).set(*n);
                let state = match p {
                    Protocol::Kafka => states.get(group).copied().unwrap_or("Empty"),
                    Protocol::Remoting if *n > 0 => "Stable",
                    Protocol::Remoting => "Empty",
                };
                f.state.with_label_values(&[group, p.label(), state]).set(1);
            }
            if let Some(c) = &f.compat_members {
                c.with_label_values(&[group]).set(counts.iter().sum());
            }
        }
        for (p, r) in GroupRequest::REFUSABLE {
            f.refused
                .with_label_values(&[p.label(), r.label()])
                .inc_by(self.registry.refused_total(p, r));
        }
    }
}

impl Collector for GroupsCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let f = Families::new(self.compat);
        self.fill(&f);
        f.collectors().iter().flat_map(|c| c.collect()).collect()
    }
}

#[cfg(test)]
mod tests {
    use prometheus::{Registry, TextEncoder};
    use rokka_store::StoreConfig;

    use super::*;

    fn scrape(groups: &Arc<GroupRegistry>, store: &Store, compat: bool) -> String {
        let registry = Registry::new();
        registry
            .register(Box::new(GroupsCollector::new(
                Arc::clone(groups),
                store.clone(),
                compat,
            )))
            .unwrap();
        TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap()
    }

    fn has(text: &str, line: &str) {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in\n{text}"
        );
    }

    fn lacks(text: &str, needle: &str) {
        assert!(!text.contains(needle), "unexpected `{needle}` in\n{text}");
    }

    #[test]
    fn members_per_protocol_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::for_tests(dir.path()), &Registry::new()).unwrap();
        let groups = Arc::new(GroupRegistry::default());
        groups.set_members("live", Protocol::Remoting, 2);
        assert!(groups
            .claim("live", Protocol::Kafka, 1, GroupRequest::Join)
            .is_err());
        assert!(groups.may_commit("live", Protocol::Kafka).is_err());
        store.offsets().commit("idle", "T", 0, 5, "");
        // The scheduler's bookkeeping group is not a consumer group.
        store.offsets().commit(
            crate::broker::DELAY_PROGRESS_GROUP,
            "SCHEDULE_TOPIC_XXXX",
            0,
            3,
            "",
        );

        let text = scrape(&groups, &store, true);
        has(
            &text,
            r#"rokka_consumergroup_members{group="live",protocol="remoting"} 2"#,
        );
        has(
            &text,
            r#"rokka_consumergroup_state{group="live",protocol="remoting",state="Stable"} 1"#,
        );
        has(
            &text,
            r#"rokka_consumergroup_state{group="idle",protocol="kafka",state="Empty"} 1"#,
        );
        has(
            &text,
            r#"rokka_consumergroup_members{group="live",protocol="kafka"} 0"#,
        );
        has(
            &text,
            r#"rokka_consumergroup_members{group="idle",protocol="kafka"} 0"#,
        );
        has(
            &text,
            r#"kafka_consumergroup_members{consumergroup="live"} 2"#,
        );
        has(
            &text,
            r#"kafka_consumergroup_members{consumergroup="idle"} 0"#,
        );
        has(
            &text,
            r#"rokka_consumergroup_refused_total{protocol="kafka",request="join"} 1"#,
        );
        has(
            &text,
            r#"rokka_consumergroup_refused_total{protocol="kafka",request="commit"} 1"#,
        );
        has(
            &text,
            r#"rokka_consumergroup_refused_total{protocol="remoting",request="heartbeat"} 0"#,
        );
        lacks(&text, r#"protocol="kafka",request="heartbeat""#);

        // Members gone and no offsets: the group's series disappear.
        groups.set_members("live", Protocol::Remoting, 0);
        let text = scrape(&groups, &store, false);
        lacks(&text, r#"group="live""#);
        lacks(&text, "kafka_consumergroup_members");
        has(
            &text,
            r#"rokka_consumergroup_members{group="idle",protocol="remoting"} 0"#,
        );
        // Counters keep counting after the group is gone.
        has(
            &text,
            r#"rokka_consumergroup_refused_total{protocol="kafka",request="join"} 1"#,
        );
        lacks(&text, crate::broker::DELAY_PROGRESS_GROUP);
    }
}
