//! Telemetry (the client's bidirectional settings stream), Heartbeat.
//! A client opens Telemetry and sends its Settings; the broker answers with
//! its own: for producers the publishing limits, for consumers the
//! subscription (FIFO when the group is `consumeMessageOrderly`), the
//! retry policy (`retryMaxTimes` attempts; exponential backoff for FIFO
//! groups, upstream's customized steps otherwise) and the long-polling
//! timeout. The stream stays open until the client closes it.

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::Streaming;

use super::message::duration;
use super::pb::{self, telemetry_command::Command};
use super::service::{BoxStream, Service};
use super::{ok, MAX_MESSAGE_SIZE};
use crate::broker::pop::DEFAULT_MAX_ATTEMPTS;

/// Upstream's default retry steps for non-FIFO groups, in seconds.
const STEPS: [i64; 16] = [
    1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800,
];

/// Heartbeat: the client is alive (clients are tracked by their streams).
pub(crate) fn heartbeat(_req: &pb::HeartbeatRequest) -> pb::HeartbeatResponse {
    pb::HeartbeatResponse { status: ok() }
}

/// Whether `group` consumes FIFO (`consumeMessageOrderly`).
pub(crate) fn fifo(svc: &Service, group: &str) -> bool {
    svc.ctx
        .broker
        .store
        .subscription_groups()
        .get(group)
        .is_some_and(|g| g.consume_message_orderly)
}

fn retry_policy(svc: &Service, group: &str, fifo: bool) -> pb::RetryPolicy {
    let max = crate::broker::pop::revive::max_attempts(&svc.ctx.broker.store, group);
    let max = if max == 0 { DEFAULT_MAX_ATTEMPTS } else { max };
    let strategy = if fifo {
        pb::retry_policy::Strategy::ExponentialBackoff(pb::ExponentialBackoff {
            initial: Some(duration(1000)),
            max: Some(duration(60_000)),
            multiplier: 2.0,
        })
    } else {
        pb::retry_policy::Strategy::CustomizedBackoff(pb::CustomizedBackoff {
            next: STEPS.iter().map(|s| duration(s * 1000)).collect(),
        })
    };
    pb::RetryPolicy {
        max_attempts: max as i32,
        strategy: Some(strategy),
    }
}

/// The broker's answer to a client's Settings.
fn settings(svc: &Service, client: pb::Settings) -> pb::Settings {
    let pub_sub = match client.pub_sub {
        Some(pb::settings::PubSub::Publishing(p)) => {
            Some(pb::settings::PubSub::Publishing(pb::Publishing {
                topics: p.topics,
                max_body_size: (MAX_MESSAGE_SIZE - 1024 * 1024) as i32,
                validate_message_type: false,
            }))
        }
        Some(pb::settings::PubSub::Subscription(s)) => {
            let group = s.group.as_ref().map(|g| g.name.clone()).unwrap_or_default();
            let fifo = fifo(svc, &group);
            return pb::Settings {
                backoff_policy: Some(retry_policy(svc, &group, fifo)),
                pub_sub: Some(pb::settings::PubSub::Subscription(pb::Subscription {
                    group: s.group,
                    subscriptions: s.subscriptions,
                    fifo: Some(fifo),
                    receive_batch_size: Some(32),
                    long_polling_timeout: Some(duration(20_000)),
                })),
                metric: Some(pb::Metric {
                    on: false,
                    endpoints: None,
                }),
                ..client
            };
        }
        None => None,
    };
    pb::Settings {
        backoff_policy: Some(pb::RetryPolicy {
            max_attempts: 3,
            strategy: Some(pb::retry_policy::Strategy::ExponentialBackoff(
                pb::ExponentialBackoff {
                    initial: Some(duration(100)),
                    max: Some(duration(5000)),
                    multiplier: 2.0,
                },
            )),
        }),
        pub_sub,
        metric: Some(pb::Metric {
            on: false,
            endpoints: None,
        }),
        ..client
    }
}

/// Telemetry: answers every Settings; ignores the other client commands
/// (stack traces and verification results the broker never asked for).
pub(crate) fn telemetry(
    svc: &Service,
    mut inbound: Streaming<pb::TelemetryCommand>,
) -> BoxStream<pb::TelemetryCommand> {
    let (tx, rx) = mpsc::channel(16);
    let svc = svc.clone();
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                n = inbound.next() => n,
                () = svc.ctx.broker.shutdown_signal() => None,
            };
            let cmd = match next {
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    let _ = tx.send(Err(e)).await;
                    break;
                }
                None => break,
            };
            if let Some(Command::Settings(s)) = cmd.command {
                if let Some(pb::settings::PubSub::Publishing(p)) = &s.pub_sub {
                    let topics = p.topics.iter().map(|t| t.name.clone()).collect();
                    svc.producers.register(topics, &tx);
                }
                let answer = pb::TelemetryCommand {
                    status: ok(),
                    command: Some(Command::Settings(settings(&svc, s))),
                };
                if tx.send(Ok(answer)).await.is_err() {
                    break;
                }
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}
