//! Conformance scenarios for rokka's RocketMQ front-end, driven by the
//! unmodified crates.io `rocketmq-client-rust` 1.0.0.
//!
//! Usage: `rokka-rocketmq-conformance <namesrv addr> [bench | acl | acl-white | lag … | migrate … | cross … |
//! read-load … | read-drain … | cluster-load … | cluster-consume … | cluster-dump …]`
//! (the `cluster-*` modes are described in `cluster.rs`). Each scenario prints
//! `PASS <name>` or `FAIL <name>: <why>`; the exit code is non-zero when any
//! scenario failed. Every wait is bounded.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocketmq_client_rust::{
    ClientConfig, ClientResult, ClientRuntime, ClientRuntimeConfig, ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus, MessageListenerConcurrently,
};
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

mod acl;
mod basic;
mod bench;
mod cluster;
mod cross;
mod groups;
mod lag;
mod migrate;
mod pop;
mod readbench;
mod sql;
mod timer;
mod tls;

use basic::{consume_all, produce, query_and_view, restart_resumes, tag_filter};
use groups::{delay, lite_pull, orderly, retry_dlq, two_consumers};

pub(crate) type Failures = Vec<String>;

/// What a consumer saw: body → (tags, keys, user property `scen`), and the count.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) by_body: BTreeMap<String, (Option<String>, Option<String>, Option<String>)>,
    pub(crate) deliveries: usize,
}

pub(crate) struct Collector(pub(crate) Arc<Mutex<Seen>>);

impl MessageListenerConcurrently for Collector {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _ctx: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        let mut seen = self.0.lock().unwrap();
        for m in msgs {
            let inner = m.message_inner();
            let body = String::from_utf8_lossy(inner.body_slice()).into_owned();
            let tags = inner.tags().map(str::to_owned);
            let keys = inner.keys().map(|k| k.join(" "));
            let scen = inner.property("scen").map(str::to_owned);
            seen.deliveries += 1;
            seen.by_body.insert(body, (tags, keys, scen));
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

pub(crate) fn config(namesrv: &str) -> ClientConfig {
    ClientConfig {
        namesrv_addr: Some(namesrv.to_owned().into()),
        vip_channel_enabled: false,
        ..Default::default()
    }
}

pub(crate) fn message(topic: &str, tag: &str, i: usize, prefix: &str) -> Message {
    Message::builder()
        .topic(topic)
        .tags(tag)
        .key(format!("{prefix}-key-{i}"))
        .body_slice(format!("{prefix}-{i}").as_bytes())
        .raw_property("scen", format!("{prefix}:{i}"))
        .expect("user property")
        .build_unchecked()
}

pub(crate) async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    done()
}

/// Expected body → (tag, key, scen) of everything the producer scenario sends.
pub(crate) type Expected = BTreeMap<String, (String, String, String)>;

async fn run(rt: Arc<ClientRuntime>, ns: String) -> Failures {
    let mut fails = Failures::new();
    let topic = "ConfTopic";
    let (expected, mut producer) = produce(&rt, &ns, topic, &mut fails).await;
    consume_all(&rt, &ns, topic, &expected, &mut fails).await;
    restart_resumes(&rt, &ns, &producer, topic, &mut fails).await;
    tag_filter(&rt, &ns, &producer, &mut fails).await;
    sql::sql_filter(&rt, &ns, &producer, &mut fails).await;
    query_and_view(&mut producer, topic, &mut fails).await;
    orderly(&rt, &ns, &producer, &mut fails).await;
    lite_pull(&rt, &ns, &producer, &mut fails).await;
    two_consumers(&rt, &ns, &producer, &mut fails).await;
    delay(&rt, &ns, &producer, &mut fails).await;
    timer::timer(&rt, &ns, &producer, &mut fails).await;
    retry_dlq(&rt, &ns, &producer, &mut fails).await;
    pop::pop(&rt, &ns, &producer, &mut fails).await;
    producer.shutdown().await;
    fails
}

/// `read-load <topic> <n>` / `read-drain <topic> <group> <n>`, if asked.
async fn readbench_mode(
    args: &[String],
    rt: &Arc<ClientRuntime>,
    ns: &str,
) -> Option<Result<(), String>> {
    let num = |i: usize| {
        args.get(i)
            .and_then(|a| a.parse::<usize>().ok())
            .unwrap_or(0)
    };
    let arg = |i: usize| args.get(i).map_or("", String::as_str);
    match arg(2) {
        "read-load" => Some(readbench::load(rt.clone(), ns, arg(3), num(4)).await),
        "read-drain" => Some(readbench::drain(rt.clone(), ns, arg(3), arg(4), num(5)).await),
        _ => None,
    }
}

#[tokio::main]
async fn main() {
    let ns = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9876".to_owned());
    let owner = RuntimeOwner::plan(RuntimeConfig {
        thread_name: "conformance".to_owned(),
        ..Default::default()
    })
    .expect("runtime plan")
    .build()
    .expect("runtime");
    let telemetry = rocketmq_observability::install_global(
        &rocketmq_observability::TelemetryBootstrapConfig::default(),
    )
    .expect("telemetry");
    let client_rt = ClientRuntime::try_new(
        owner.root_context().component("client"),
        ClientRuntimeConfig::default(),
        telemetry.handle(),
    )
    .expect("client runtime");
    lag::dispatch(client_rt.clone(), &ns).await;
    let args: Vec<String> = std::env::args().collect();
    if let Some(result) = readbench_mode(&args, &client_rt, &ns).await {
        let _ = tokio::time::timeout(Duration::from_secs(10), client_rt.shutdown()).await;
        std::process::exit(i32::from(
            result.map_err(|e| println!("BENCH FAILED: {e}")).is_err(),
        ));
    }
    if args.get(2).is_some_and(|m| m.starts_with("cluster-")) {
        let code = cluster::main(client_rt.clone(), ns, args[2..].to_vec()).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), client_rt.shutdown()).await;
        std::process::exit(code);
    }
    if args.get(2).is_some_and(|m| m == "tls") {
        let code = tls::main(client_rt.clone(), ns).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), client_rt.shutdown()).await;
        std::process::exit(code);
    }
    if let Some(mode) = args.get(2).filter(|m| m.starts_with("acl")) {
        let code = acl::main(client_rt.clone(), ns, mode).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), client_rt.shutdown()).await;
        std::process::exit(code);
    }
    if std::env::args().nth(2).as_deref() == Some("migrate") {
        std::process::exit(migrate::run(client_rt, ns).await);
    }
    if std::env::args().nth(2).as_deref() == Some("cross") {
        std::process::exit(cross::main(client_rt, ns, std::env::args().skip(3).collect()).await);
    }
    if std::env::args().nth(2).as_deref() == Some("bench") {
        let result = bench::run(client_rt.clone(), ns).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), client_rt.shutdown()).await;
        match result {
            Ok(()) => std::process::exit(0),
            Err(e) => {
                println!("BENCH FAILED: {e}");
                std::process::exit(1);
            }
        }
    }
    let fails =
        match tokio::time::timeout(Duration::from_secs(300), run(client_rt.clone(), ns)).await {
            Ok(f) => f,
            Err(_) => vec!["the scenarios did not finish within 300 s".to_owned()],
        };
    let _ = tokio::time::timeout(Duration::from_secs(10), client_rt.shutdown()).await;
    if fails.is_empty() {
        println!("CONFORMANCE OK");
        std::process::exit(0);
    } else {
        println!("CONFORMANCE FAILED: {fails:?}");
        std::process::exit(1);
    }
}
