//! RocketMQ ACL 1.0 scenarios (conformance/security), with the client's own
//! `AclClientRPCHook` signing every request.
//!
//! `acl` expects a broker whose `plain_acl.yml` has `rmq-writer`
//! (`writer-secret`, PUB|SUB on `acl-topic`, groups SUB by default) and
//! `rmq-reader` (`reader-secret`, SUB on `acl-topic`, SUB on group
//! `acl-group` only); `acl-white` expects 127.0.0.1 to be globally
//! white-listed. Prints `PASS`/`FAIL <name>`; returns the exit code. The
//! client redacts the broker's remark from its errors, so a refusal is
//! recognised here as a broker answer (not a timeout); the remark texts are
//! checked in rokka's log by `rocketmq_acl.sh` and over raw frames by
//! `rmq_admin.py`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rocketmq_client_rust::{
    AclClientRPCHook, ClientRuntime, DefaultLitePullConsumer, DefaultMQProducer, SessionCredentials,
};

use crate::{config, message};

const TOPIC: &str = "acl-topic";

fn hook(ak: &str, sk: &str) -> Arc<AclClientRPCHook> {
    Arc::new(AclClientRPCHook::new(SessionCredentials::with_keys(
        ak.to_owned(),
        sk.to_owned(),
    )))
}

/// Sends `n` messages to queue 0; `Err` is the first error's text.
async fn send(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    keys: Option<(&str, &str)>,
    n: usize,
) -> Result<(), String> {
    let mut b = DefaultMQProducer::builder(rt.clone())
        .client_config(config(ns))
        .producer_group("acl_pg")
        .retry_times_when_send_failed(0);
    if let Some((ak, sk)) = keys {
        b = b.rpc_hook(hook(ak, sk));
    }
    let mut producer = b.build();
    producer.start().await.map_err(|e| format!("start: {e}"))?;
    let mut result = Ok(());
    for i in 0..n {
        let msg = message(TOPIC, "T", i, "acl");
        let sent = producer
            .send_with_selector_timeout(
                msg,
                |mqs, _m, _a: &usize| Some(mqs[0].clone()),
                0usize,
                3000,
            )
            .await;
        if let Err(e) = sent {
            result = Err(e.to_string());
            break;
        }
    }
    producer.shutdown().await;
    result
}

/// Pulls queue 0 from the start as `group`; the number of messages read
/// within `wait`.
async fn pull(
    rt: &Arc<ClientRuntime>,
    ns: &str,
    ak: &str,
    sk: &str,
    group: &str,
    wait: Duration,
) -> Result<usize, String> {
    let consumer = DefaultLitePullConsumer::builder(rt.clone())
        .name_server_addr(ns.to_owned())
        .consumer_group(group)
        .auto_commit(false)
        .rpc_hook(hook(ak, sk))
        .build()
        .map_err(|e| format!("build: {e}"))?;
    consumer.start().await.map_err(|e| format!("start: {e}"))?;
    let queues = consumer
        .fetch_message_queues(TOPIC)
        .await
        .map_err(|e| format!("queues: {e}"))?;
    let q0 = queues
        .iter()
        .find(|q| q.queue_id() == 0)
        .cloned()
        .ok_or("no queue 0")?;
    consumer
        .assign(vec![q0.clone()])
        .await
        .map_err(|e| e.to_string())?;
    consumer.seek(&q0, 0).await.map_err(|e| e.to_string())?;
    let mut got = 0;
    let deadline = Instant::now() + wait;
    while got < 5 && Instant::now() < deadline {
        got += consumer.poll_with_timeout(500).await.len();
    }
    consumer.shutdown().await;
    Ok(got)
}

fn verdict(name: &str, ok: bool, detail: String, fails: &mut usize) {
    if ok {
        println!("PASS {name} ({detail})");
    } else {
        println!("FAIL {name}: {detail}");
        *fails += 1;
    }
}

pub(crate) async fn main(rt: Arc<ClientRuntime>, ns: String, mode: &str) -> i32 {
    let mut fails = 0;
    if mode == "acl-white" {
        let r = send(&rt, &ns, None, 1).await;
        verdict(
            "acl-white-listed-address",
            r.is_ok(),
            format!("{r:?}"),
            &mut fails,
        );
        return i32::from(fails > 0);
    }
    let r = send(&rt, &ns, Some(("rmq-writer", "writer-secret")), 5).await;
    verdict("acl-allowed-send", r.is_ok(), format!("{r:?}"), &mut fails);
    let r = send(&rt, &ns, Some(("rmq-reader", "reader-secret")), 1).await;
    let denied = r
        .as_ref()
        .is_err_and(|e| e.contains("broker.operation.failed"));
    verdict("acl-denied-send", denied, format!("{r:?}"), &mut fails);
    let r = send(&rt, &ns, Some(("rmq-writer", "not-the-secret")), 1).await;
    let refused = r
        .as_ref()
        .is_err_and(|e| e.contains("broker.operation.failed"));
    verdict("acl-wrong-secret", refused, format!("{r:?}"), &mut fails);
    let r = send(&rt, &ns, None, 1).await;
    let refused = r
        .as_ref()
        .is_err_and(|e| e.contains("broker.operation.failed"));
    verdict("acl-unsigned", refused, format!("{r:?}"), &mut fails);
    let r = pull(
        &rt,
        &ns,
        "rmq-reader",
        "reader-secret",
        "acl-group",
        Duration::from_secs(15),
    )
    .await;
    verdict(
        "acl-allowed-pull",
        r == Ok(5),
        format!("read {r:?} of 5"),
        &mut fails,
    );
    let r = pull(
        &rt,
        &ns,
        "rmq-reader",
        "reader-secret",
        "acl-other-group",
        Duration::from_secs(3),
    )
    .await;
    verdict(
        "acl-denied-pull",
        r == Ok(0),
        format!("read {r:?}, group not granted"),
        &mut fails,
    );
    i32::from(fails > 0)
}
