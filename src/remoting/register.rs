//! The broker's registration with the NameServers named in `namesrvAddr`:
//! REGISTER_BROKER (103) with its topic table (JSON body, CRC32) at start,
//! every 30 s, and at once when its topic table changes, as RocketMQ brokers
//! do; UNREGISTER_BROKER (104) on shutdown. A NameServer forgets a broker
//! 120 s after its last registration. The embedded NameServer reads this
//! broker live instead (ADR 002), so this path is for other NameServers —
//! another rokka's or Apache RocketMQ's — and for clusters of several brokers.
//!
//! In cluster mode (ADR 015) a node registers with its role: brokerId 0 while
//! it is the unfenced master, its `node.id` otherwise (a slave, a fenced
//! master, a node with no master yet), and at once when its role changes. A
//! NameServer keeps one id per address (RocketMQ's RouteInfoManager drops the
//! old id of an address that registers under a new one), so after a failover
//! id 0 names the new master and clients using that NameServer follow it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rokka_protocols::remoting::body::{RegisterBrokerBody, TopicConfigBody, TopicConfigWrapper};
use rokka_protocols::remoting::{ExtFields, RemotingCommand, RequestCode};
use tracing::{info, warn};

use super::context::Ctx;
use crate::cluster::Local;

/// RocketMQ's `registerBrokerAll` period.
const REGISTER_INTERVAL: Duration = Duration::from_secs(30);
/// How often the topic table is checked for changes between registrations.
const CHANGE_CHECK: Duration = Duration::from_secs(1);

/// Registers with every configured NameServer until shutdown, then unregisters.
pub(crate) async fn run(ctx: Arc<Ctx>) {
    let servers = ctx.broker.config.namesrv_addr.clone();
    if servers.is_empty() {
        return;
    }
    let mut last_topics = None;
    let mut last_id = None;
    let mut since = REGISTER_INTERVAL;
    let mut roles = ctx.broker.cluster.as_ref().map(|c| c.subscribe());
    loop {
        let topics = super::admin::topic_config_bodies(&ctx);
        let id = broker_id(&ctx);
        if since >= REGISTER_INTERVAL
            || last_topics.as_ref() != Some(&topics)
            || last_id != Some(id)
        {
            if last_id.is_some_and(|old| old != id) {
                info!(broker_id = id, "cluster role changed; registering again");
            }
            last_id = Some(id);
            let body = register_body(&topics);
            for ns in &servers {
                match super::peer::call(ns, register_request(&ctx, &body)).await {
                    Ok(r) if r.code == 0 => {
                        if last_topics.is_none() {
                            info!(namesrv = %ns, "registered with the NameServer");
                        }
                    }
                    Ok(r) => {
                        warn!(namesrv = %ns, code = r.code, remark = ?r.remark, "REGISTER_BROKER refused")
                    }
                    Err(e) => warn!(namesrv = %ns, error = %e, "REGISTER_BROKER failed"),
                }
            }
            last_topics = Some(topics);
            since = Duration::ZERO;
        }
        tokio::select! {
            _ = tokio::time::sleep(CHANGE_CHECK) => since += CHANGE_CHECK,
            gone = role_change(&mut roles) => if gone { roles = None },
            _ = ctx.broker.shutdown_signal() => break,
        }
    }
    for ns in &servers {
        match super::peer::call(ns, unregister_request(&ctx)).await {
            Ok(r) if r.code == 0 => info!(namesrv = %ns, "unregistered from the NameServer"),
            Ok(r) => warn!(namesrv = %ns, code = r.code, "UNREGISTER_BROKER refused"),
            Err(e) => warn!(namesrv = %ns, error = %e, "UNREGISTER_BROKER failed"),
        }
    }
}

/// Waits for a cluster role change (forever outside cluster mode); true
/// when the cluster stopped publishing roles.
async fn role_change(roles: &mut Option<tokio::sync::watch::Receiver<Local>>) -> bool {
    match roles {
        Some(r) => r.changed().await.is_err(),
        None => std::future::pending().await,
    }
}

/// The brokerId to register: `brokerId` on a single node; in cluster mode 0
/// for the unfenced master and `node.id` for every other role.
fn broker_id(ctx: &Ctx) -> u64 {
    match &ctx.broker.cluster {
        None => ctx.broker.config.broker_id,
        Some(c) => match c.local() {
            Local::Master { fenced: false, .. } => 0,
            _ => c.node_id(),
        },
    }
}

fn register_body(topics: &[TopicConfigBody]) -> Bytes {
    let body = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: TopicConfigWrapper {
            data_version: serde_json::json!({
                "counter": topics.len(),
                "timestamp": std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
            }),
            topic_config_table: topics
                .iter()
                .map(|t| (t.topic_name.clone(), t.clone()))
                .collect(),
        },
    };
    // Serializing plain structs to JSON cannot fail.
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

fn identity(ctx: &Ctx) -> ExtFields {
    let cfg = &ctx.broker.config;
    let mut e = ExtFields::default();
    e.insert("brokerName", cfg.broker_name.clone());
    e.insert("brokerAddr", ctx.advertised.to_string());
    e.insert("clusterName", cfg.broker_cluster_name.clone());
    e.insert("brokerId", broker_id(ctx).to_string());
    e
}

fn register_request(ctx: &Ctx, body: &Bytes) -> RemotingCommand {
    let mut e = identity(ctx);
    let ha_port = match ctx.broker.config.ha_listen.port() {
        0 => ctx.advertised.port().saturating_add(1),
        p => p,
    };
    let ha = std::net::SocketAddr::new(ctx.advertised.ip(), ha_port);
    e.insert("haServerAddr", ha.to_string());
    e.insert("compressed", "false");
    e.insert(
        "bodyCrc32",
        (crc32fast::hash(body) & 0x7FFF_FFFF).to_string(),
    );
    let mut cmd = RemotingCommand::request(RequestCode::REGISTER_BROKER.0, e);
    cmd.body = body.clone();
    cmd
}

fn unregister_request(ctx: &Ctx) -> RemotingCommand {
    RemotingCommand::request(RequestCode::UNREGISTER_BROKER.0, identity(ctx))
}
