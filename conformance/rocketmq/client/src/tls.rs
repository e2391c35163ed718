//! `tls`: every connection over TLS (NameServer and broker), the server
//! certificate verified against the CA in `ROKKA_TLS_CA` (the client's
//! `tls.client.trustCertPath`). Expects a broker in
//! `tls.server.mode=enforcing`: 5 sync sends, then a push consumer reads
//! them. Prints `PASS`/`FAIL <name>`; returns the exit code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocketmq_client_rust::{
    ClientConfig, ClientRuntime, DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;

use crate::{config, message, wait_until, Collector, Seen};

const TOPIC: &str = "tls-topic";

fn tls_config(ns: &str) -> Result<ClientConfig, String> {
    let ca = std::env::var("ROKKA_TLS_CA").map_err(|_| "ROKKA_TLS_CA is not set".to_owned())?;
    let mut c = config(ns);
    c.tls_config.client.trust_cert_path = Some(ca);
    c.tls_config.client.auth_server = true;
    c.set_use_tls(true);
    Ok(c)
}

async fn send(rt: &Arc<ClientRuntime>, ns: &str, n: usize) -> Result<(), String> {
    let mut producer = DefaultMQProducer::builder(rt.clone())
        .client_config(tls_config(ns)?)
        .producer_group("tls_pg")
        .use_tls(true)
        .build();
    producer.start().await.map_err(|e| format!("start: {e}"))?;
    let mut result = Ok(());
    for i in 0..n {
        if let Err(e) = producer.send(message(TOPIC, "T", i, "tls")).await {
            result = Err(e.to_string());
            break;
        }
    }
    producer.shutdown().await;
    result
}

async fn consume(rt: &Arc<ClientRuntime>, ns: &str, n: usize) -> Result<usize, String> {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut consumer = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(tls_config(ns)?)
        .consumer_group("tls_cg")
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .build();
    consumer.set_use_tls(true);
    consumer
        .subscribe(TOPIC, "*")
        .await
        .map_err(|e| format!("subscribe: {e}"))?;
    consumer.register_message_listener_concurrently(Collector(seen.clone()));
    consumer.start().await.map_err(|e| format!("start: {e}"))?;
    wait_until(Duration::from_secs(30), || {
        seen.lock().unwrap().by_body.len() >= n
    })
    .await;
    consumer.shutdown().await;
    let got = seen.lock().unwrap().by_body.len();
    Ok(got)
}

pub(crate) async fn main(rt: Arc<ClientRuntime>, ns: String) -> i32 {
    let mut fails = 0;
    let r = send(&rt, &ns, 5).await;
    match &r {
        Ok(()) => println!("PASS tls-send (5 sync sends)"),
        Err(e) => {
            println!("FAIL tls-send: {e}");
            fails += 1;
        }
    }
    let r = consume(&rt, &ns, 5).await;
    if r == Ok(5) {
        println!("PASS tls-consume (5 of 5)");
    } else {
        println!("FAIL tls-consume: {r:?} of 5");
        fails += 1;
    }
    i32::from(fails > 0)
}
