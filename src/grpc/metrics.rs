//! `rokka_grpc_requests_total{method,code}`: every gRPC call by method and
//! the API code it was answered with (`OK`, `TOPIC_NOT_FOUND`, ...).

use prometheus::{IntCounterVec, Opts, Registry};

use super::pb;

/// The gRPC front-end's counters.
#[derive(Debug, Clone)]
pub(crate) struct GrpcMetrics {
    requests: IntCounterVec,
}

impl GrpcMetrics {
    pub(crate) fn register(reg: &Registry) -> prometheus::Result<GrpcMetrics> {
        let requests = IntCounterVec::new(
            Opts::new(
                "rokka_grpc_requests_total",
                "gRPC calls of the RocketMQ 5.x SDKs by method and answered API code",
            ),
            &["method", "code"],
        )?;
        reg.register(Box::new(requests.clone()))?;
        Ok(GrpcMetrics { requests })
    }

    /// Counts one call answered with `status` (None: OK).
    pub(crate) fn count(&self, method: &str, status: Option<&pb::Status>) {
        let code = status
            .and_then(|s| pb::Code::try_from(s.code).ok())
            .unwrap_or(pb::Code::Ok);
        self.requests
            .with_label_values(&[method, code.as_str_name()])
            .inc();
    }
}
