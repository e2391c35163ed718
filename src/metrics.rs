//! Prometheus metrics of the `rokka` binary (the store registers its own in
//! `rokka-store`'s `metrics.rs`). Everything registers against a `Registry`
//! passed in, so tests get a fresh one; `/metrics` in `http.rs` encodes it.

pub mod collector;
pub mod groups;
pub mod topic_traffic;
pub mod traffic;

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

pub use collector::{Identity, OffsetsCollector, OnlineConsumers};
pub use traffic::traffic;

/// Registers the process collector (CPU, memory, open fds, start time; Linux
/// only) and `rokka_build_info`.
pub fn register_process_metrics(registry: &Registry) -> prometheus::Result<()> {
    #[cfg(target_os = "linux")]
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;
    let build_info = IntGaugeVec::new(
        Opts::new(
            "rokka_build_info",
            "Always 1; the labels describe the running rokka build.",
        ),
        &["version"],
    )?;
    build_info
        .with_label_values(&[env!("CARGO_PKG_VERSION")])
        .set(1);
    registry.register(Box::new(build_info))?;
    Ok(())
}

/// Registers the request/connection metrics and the scrape-time group
/// membership and offsets/lag collectors (with the compatibility families if
/// configured).
pub fn register_broker_metrics(broker: &crate::broker::Broker) -> prometheus::Result<()> {
    traffic::register(&broker.registry)?;
    crate::net::admission::register(&broker.registry)?;
    crate::net::log_limit::set_per_second(broker.config.net.rejected_logs_per_second);
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(crate::net::log_limit::report_suppressed());
    }
    let id = Identity {
        cluster: broker.config.broker_cluster_name.clone(),
        broker: broker.config.broker_name.clone(),
    };
    let compat = broker.config.compat_metrics;
    broker
        .registry
        .register(Box::new(groups::GroupsCollector::new(
            std::sync::Arc::clone(&broker.groups),
            broker.store.clone(),
            compat,
        )))?;
    broker
        .registry
        .register(Box::new(topic_traffic::TopicTrafficCollector::new(
            broker.store.clone(),
            id.clone(),
            compat,
        )))?;
    // rocketmq_group_diff's countOfOnlineConsumers: the live members of the
    // ecosystem that holds the group (ADR 006: one at a time).
    let groups = std::sync::Arc::clone(&broker.groups);
    let online = OnlineConsumers(std::sync::Arc::new(move |g: &str| {
        groups.owner(g).map_or(0, |(_, n)| n)
    }));
    broker.registry.register(Box::new(
        OffsetsCollector::new(broker.store.clone(), id, compat)
            .with_online_consumers(online)
            .with_txn_index(std::sync::Arc::clone(&broker.txns)),
    ))
}

/// Metrics of the HTTP endpoint.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    /// `rokka_http_requests_total{path, code}`; `path` is `/metrics`,
    /// `/healthz` or `other`, keeping the label set small.
    pub requests_total: IntCounterVec,
}

impl HttpMetrics {
    /// Creates the HTTP metrics and registers them with `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests_total = IntCounterVec::new(
            Opts::new(
                "rokka_http_requests_total",
                "HTTP requests answered, by path and status code.",
            ),
            &["path", "code"],
        )?;
        registry.register(Box::new(requests_total.clone()))?;
        Ok(HttpMetrics { requests_total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_once_per_registry() {
        let registry = Registry::new();
        register_process_metrics(&registry).unwrap();
        let http = HttpMetrics::register(&registry).unwrap();
        http.requests_total
            .with_label_values(&["/healthz", "200"])
            .inc();
        let names: Vec<String> = registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        assert!(names.contains(&"rokka_build_info".to_string()), "{names:?}");
        assert!(
            names.contains(&"rokka_http_requests_total".to_string()),
            "{names:?}"
        );
        assert!(HttpMetrics::register(&registry).is_err());
    }

    #[test]
    fn compat_metrics_flag_and_key() {
        use crate::config::{BrokerConfig, Overrides};
        let path = std::path::Path::new("broker.conf");
        let load = |file: &str, no_compat_metrics| {
            let o = Overrides {
                no_compat_metrics,
                ..Overrides::default()
            };
            BrokerConfig::from_sources(Some((path, file)), &o)
                .unwrap()
                .compat_metrics
        };
        assert!(load("", false));
        assert!(!load("rokka.compatMetrics=false\n", false));
        assert!(!load("rokka.compatMetrics=true\n", true));
    }
}
