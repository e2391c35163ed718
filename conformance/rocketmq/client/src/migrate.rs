//! `migrate` mode: one cluster push consumer driven by an outside orchestrator
//! (`conformance/cross/groups.py`) for consumer-group migration tests.
//!
//! Usage: `rokka-rocketmq-conformance <namesrv> migrate <topic> <group>
//! <first|last> <stop file> [client-defaults]`. Prints one line `MIGRATE <json>` per event on
//! stdout (the client's own log lines share stdout, hence the prefix):
//! `{"ev":"started"}`, one `{"ev":"msg",...}` per delivery (queue, offset,
//! reconsume times, body), `{"ev":"stopping",...}` when SIGTERM arrives or the
//! stop file appears, and `{"ev":"stopped",...}` once `shutdown()` returned,
//! i.e. after the client persisted its offsets and sent UNREGISTER_CLIENT.
//!
//! Settings that make the uncommitted window exact (see
//! `conformance/cross/GROUPS-FINDINGS.md`): one consume worker, so the
//! deliveries of a queue are a prefix of its offsets; a 10 s graceful
//! shutdown wait, so a delivery in progress finishes and its offset is
//! stored before the final persist. Heartbeats run every 10 s (the client's
//! minimum) and offset persists every second (its minimum) instead of every
//! 30 s / 5 s so takeovers are quick; the rebalance
//! interval is read by the client from the environment variable
//! `rocketmq.client.rebalance.waitInterval` (set by the orchestrator).
//! With `client-defaults` the consume workers and the shutdown wait keep the
//! client's defaults (20 workers, no wait), to observe the window they give.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocketmq_client_rust::{
    ClientResult, ClientRuntime, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus,
    DefaultMQPushConsumer, MQPushConsumer, MessageListenerConcurrently,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;

use crate::config;

/// The longest a `migrate` consumer runs before it stops on its own.
const MAX_LIFETIME: Duration = Duration::from_secs(600);

/// Prints one `MIGRATE <json>` event line and flushes it.
fn emit(json: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "MIGRATE {json}");
    let _ = out.flush();
}

/// A JSON string literal for `s` (escapes quotes, backslashes and controls).
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Listener that reports every delivery and always acknowledges it.
struct Reporter;

impl MessageListenerConcurrently for Reporter {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _ctx: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        for m in msgs {
            let body = String::from_utf8_lossy(m.message_inner().body_slice());
            emit(&format!(
                "{{\"ev\":\"msg\",\"topic\":{},\"queue\":{},\"offset\":{},\"reconsume\":{},\"body\":{}}}",
                json_str(m.topic().as_str()),
                m.queue_id(),
                m.queue_offset(),
                m.reconsume_times(),
                json_str(&body)
            ));
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

/// The command line of `migrate` mode (after `<namesrv> migrate`).
struct Args {
    topic: String,
    group: String,
    from: ConsumeFromWhere,
    stop_file: PathBuf,
    /// Keep the client's default consume workers and shutdown wait.
    client_defaults: bool,
}

fn parse_args() -> Result<Args, String> {
    let rest: Vec<String> = std::env::args().skip(3).collect();
    let (topic, group, from, stop_file, client_defaults) = match rest.as_slice() {
        [t, g, f, s] => (t, g, f, s, false),
        [t, g, f, s, d] if d == "client-defaults" => (t, g, f, s, true),
        _ => {
            return Err(
                "usage: <namesrv> migrate <topic> <group> <first|last> <stop file> \
                 [client-defaults]"
                    .into(),
            )
        }
    };
    let from = match from.as_str() {
        "first" => ConsumeFromWhere::ConsumeFromFirstOffset,
        "last" => ConsumeFromWhere::ConsumeFromLastOffset,
        other => return Err(format!("consume-from must be first or last, not {other}")),
    };
    Ok(Args {
        topic: topic.clone(),
        group: group.clone(),
        from,
        stop_file: PathBuf::from(stop_file),
        client_defaults,
    })
}

/// Waits for SIGTERM, the stop file or [`MAX_LIFETIME`]; returns the reason.
async fn wait_for_stop(stop_file: &Path) -> &'static str {
    let deadline = Instant::now() + MAX_LIFETIME;
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("no SIGTERM handler ({e}); only the stop file stops this consumer");
            None
        }
    };
    loop {
        if stop_file.exists() {
            return "stopfile";
        }
        if Instant::now() >= deadline {
            return "lifetime";
        }
        let tick = tokio::time::sleep(Duration::from_millis(100));
        match term.as_mut() {
            Some(t) => tokio::select! {
                _ = t.recv() => return "sigterm",
                _ = tick => {}
            },
            None => tick.await,
        }
    }
}

/// Runs the consumer until told to stop; returns the process exit code.
pub(crate) async fn run(rt: Arc<ClientRuntime>, ns: String) -> i32 {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let mut client_config = config(&ns);
    client_config.heartbeat_broker_interval = 10_000;
    client_config.persist_consumer_offset_interval = 1000;
    let mut builder = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(client_config)
        .consumer_group(args.group.as_str())
        .consume_from_where(args.from)
        .consume_message_batch_max_size(1)
        .pull_batch_size(32);
    if !args.client_defaults {
        builder = builder
            .consume_thread_min(1)
            .consume_thread_max(1)
            .await_termination_millis_when_shutdown(10_000);
    }
    let mut consumer = builder.build();
    let code = match consumer.subscribe(args.topic.as_str(), "*").await {
        Err(e) => {
            eprintln!("subscribe: {e}");
            1
        }
        Ok(()) => {
            consumer.register_message_listener_concurrently(Reporter);
            match consumer.start().await {
                Err(e) => {
                    eprintln!("start: {e:?}");
                    1
                }
                Ok(()) => {
                    emit("{\"ev\":\"started\"}");
                    let reason = wait_for_stop(&args.stop_file).await;
                    emit(&format!("{{\"ev\":\"stopping\",\"reason\":\"{reason}\"}}"));
                    let t0 = Instant::now();
                    consumer.shutdown().await;
                    emit(&format!(
                        "{{\"ev\":\"stopped\",\"shutdown_ms\":{}}}",
                        t0.elapsed().as_millis()
                    ));
                    if reason == "lifetime" {
                        3
                    } else {
                        0
                    }
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), rt.shutdown()).await;
    code
}

#[cfg(test)]
mod tests {
    use super::json_str;

    #[test]
    fn json_str_escapes_quotes_backslashes_and_controls() {
        assert_eq!(json_str("a\"b\\c\nd"), "\"a\\\"b\\\\c\\u000ad\"");
        assert_eq!(json_str("seq-7"), "\"seq-7\"");
    }
}
