//! Prometheus metrics of the `rokka` binary (the store registers its own in
//! `rokka-store`'s `metrics.rs`). Everything registers against a `Registry`
//! passed in, so tests get a fresh one; `/metrics` in `http.rs` encodes it.

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

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
}
