//! Prometheus metrics of the Kafka front-end.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

/// Counters of the Kafka front-end.
#[derive(Debug, Clone)]
pub struct KafkaMetrics {
    /// `rokka_kafka_requests_total{api}`.
    pub requests_total: IntCounterVec,
    /// `rokka_kafka_bad_requests_total{reason}`: frames that closed the
    /// connection or records refused as corrupt.
    pub bad_requests_total: IntCounterVec,
    /// `rokka_kafka_connections_total`.
    pub connections_total: IntCounter,
}

impl KafkaMetrics {
    /// Creates the metrics and registers them with `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests_total = IntCounterVec::new(
            Opts::new(
                "rokka_kafka_requests_total",
                "Kafka requests handled, by API key.",
            ),
            &["api"],
        )?;
        let bad_requests_total = IntCounterVec::new(
            Opts::new(
                "rokka_kafka_bad_requests_total",
                "Kafka frames or record sets refused, by reason.",
            ),
            &["reason"],
        )?;
        let connections_total = IntCounter::new(
            "rokka_kafka_connections_total",
            "Kafka connections accepted.",
        )?;
        registry.register(Box::new(requests_total.clone()))?;
        registry.register(Box::new(bad_requests_total.clone()))?;
        registry.register(Box::new(connections_total.clone()))?;
        Ok(KafkaMetrics {
            requests_total,
            bad_requests_total,
            connections_total,
        })
    }
}
