//! The RocketMQ front-end: the embedded NameServer and the broker's remoting
//! listeners (main port and VIP port = main − 2).
//!
//! ```text
//! mod.rs         start(): bind, log, spawn accept loops (end on shutdown)
//! conn.rs        one connection: frame split → decode → spawn handler → writer task
//! context.rs     shared state: broker, advertised address, metrics, Reply, errors
//! header.rs      typed access to extFields (missing/invalid field → SYSTEM_ERROR)
//! namesrv.rs     NameServer codes (routes, cluster, register, topic lists, KV)
//! clients.rs     consumer/producer groups, HEART_BEAT/UNREGISTER/consumer list, NOTIFY
//! send.rs        SEND_MESSAGE / SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE
//! pull.rs        PULL_MESSAGE / LITE_PULL_MESSAGE with long polling
//! offsets.rs     consumer offsets and queue offset look-ups
//! offset_forward.rs  cluster: offsets committed on a slave, queued for the master
//! peer.rs        requests to other nodes (NameServers, groups' masters)
//! query.rs       QUERY_MESSAGE / VIEW_MESSAGE_BY_ID
//! admin.rs       topic admin, locks, CONSUMER_SEND_MSG_BACK
//! schedule.rs    delay levels: deliver from SCHEDULE_TOPIC_XXXX when due (parked by broker::put)
//! stats.rs       mqadmin look-ups: topic stats, consume stats, runtime info
//! transaction.rs half messages, END_TRANSACTION and the op topic
//! transaction_check.rs  CHECK_TRANSACTION_STATE back-checks of unresolved halves
//! sub_groups.rs  subscription group admin (200/201/207/352) and the pull check
//! broker_config.rs  broker and NameServer config (25/26, 318/319), write perm (205/327)
//! reset.rs       offset admin: reset by time (222 + 220 to live consumers), clone, time span
//! relay.rs       307/309/223 relayed to live consumers, their answers returned
//! dispatch.rs    the one list of served codes per listener
//! ```

pub(crate) mod acl;
mod acl_admin;
mod admin;
mod broker_config;
mod clients;
mod conn;
pub(crate) mod context;
mod dispatch;
mod header;
pub(crate) mod namesrv;
pub(crate) mod offset_forward;
pub(crate) mod offsets;
pub(crate) mod peer;
mod pop;
mod pop_ack;
mod pop_assign;
mod pull;
mod query;
mod register;
mod relay;
mod reply;
mod reset;
pub(crate) mod schedule;
pub(crate) mod send;
mod stats;
mod sub_groups;
pub(crate) mod transaction;
pub(crate) mod transaction_check;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::broker::Broker;
use crate::net::tls::ListenerTls;
use crate::startup::{bind, bound_addr, StartupError};
use context::{Ctx, Role};

/// Binds the RocketMQ listeners and spawns their accept loops, and serves the
/// gRPC front-end on `grpc` (bound by the caller); each loop ends when the
/// broker shuts down.
pub async fn start(
    broker: &Broker,
    grpc: TcpListener,
) -> Result<Vec<JoinHandle<()>>, StartupError> {
    let cfg = &broker.config;
    let ns = bind("namesrv", cfg.namesrv_listen).await?;
    let main = bind("remoting", cfg.broker_listen).await?;
    let main_addr = bound_addr(&main, "remoting", cfg.broker_listen)?;
    let ns_addr = bound_addr(&ns, "namesrv", cfg.namesrv_listen)?;
    // The VIP port is main − 2 on the same IP; with an ephemeral main port
    // (tests) there is no fixed VIP port, so none is bound.
    let vip = if cfg.broker_listen.port() >= 2 {
        let addr = SocketAddr::new(main_addr.ip(), main_addr.port() - 2);
        match TcpListener::bind(addr).await {
            Ok(l) => Some(l),
            Err(e) => {
                warn!("cannot bind the VIP port {addr}: {e}; serving the main port only");
                None
            }
        }
    } else {
        None
    };
    let ctx = Arc::new(Ctx::new(broker.clone(), main_addr)?);
    info!("namesrv listening on {ns_addr}");
    info!("remoting listening on {main_addr}");
    let tls = |name: &'static str| {
        let t = &cfg.security.remoting_tls;
        ListenerTls::new(name, t.mode, t.settings.as_ref()).map_err(|e| StartupError::Tls {
            what: name,
            reason: e.to_string(),
        })
    };
    let mut tasks = vec![
        tokio::spawn(accept_loop(
            ns,
            Role::NameServer,
            tls("namesrv")?,
            ctx.clone(),
        )),
        tokio::spawn(accept_loop(
            main,
            Role::Broker,
            tls("remoting")?,
            ctx.clone(),
        )),
    ];
    if let Some(vip) = vip {
        if let Ok(a) = vip.local_addr() {
            info!("remoting vip listening on {a}");
        }
        tasks.push(tokio::spawn(accept_loop(
            vip,
            Role::Broker,
            tls("remoting_vip")?,
            ctx.clone(),
        )));
    }
    tasks.push(tokio::spawn(schedule::run(ctx.clone())));
    tasks.push(tokio::spawn(register::run(ctx.clone())));
    tasks.push(tokio::spawn(transaction_check::run(ctx.clone())));
    // The gRPC front-end of the 5.x SDKs shares this context (ADR 021).
    tasks.push(crate::grpc::start(ctx.clone(), grpc)?);
    tasks.push(tokio::spawn(clients::housekeeping(ctx)));
    Ok(tasks)
}

/// Accepts connections until shutdown; each listener has its own caps
/// (`rokka.remotingMaxConnections`, `rokka.remotingMaxConnectionsPerIp`),
/// counted under its name in `rokka_connections_refused_total`, and runs its
/// TLS step (`tls.server.mode`) before serving a connection.
async fn accept_loop(listener: TcpListener, role: Role, tls: ListenerTls, ctx: Arc<Ctx>) {
    let admission =
        crate::net::admission::Admission::new(tls.listener, ctx.broker.config.net.remoting);
    let tls = Arc::new(tls);
    loop {
        tokio::select! {
            _ = ctx.broker.shutdown_signal() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Over a cap: closed at once, counted and logged.
                    let Ok(slot) = admission.admit(peer) else { continue };
                    let _ = stream.set_nodelay(true);
                    let (ctx, tls) = (ctx.clone(), tls.clone());
                    tokio::spawn(async move {
                        let wait = ctx.broker.config.net.remoting.frame_read;
                        // Counted (and logged) as open from the accept, TLS step included.
                        let open = crate::metrics::traffic().connection(role.label(), peer);
                        match tls.accept(stream, peer, wait).await {
                            Some(stream) => conn::serve(stream, peer, role, ctx, open).await,
                            // Refused or closed before a byte: the TLS step counted and logged why.
                            None => drop(open),
                        }
                        drop(slot);
                    });
                }
                Err(e) => {
                    warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
}
