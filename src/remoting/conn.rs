//! One RocketMQ connection: a reader that splits and decodes frames and
//! spawns one task per request (replies are matched by `opaque`, so order is
//! free and a long-polled pull does not block others), and a writer task fed
//! by a channel that the broker also uses for its own requests
//! (NOTIFY_CONSUMER_IDS_CHANGED).
//!
//! A frame that cannot be split or whose header cannot be decoded closes the
//! connection and bumps `rokka_remoting_malformed_frames_total` and
//! `rokka_rejected_frames_total{protocol="remoting"}`, as both Java brokers
//! do. A connection with no request for `serverChannelMaxIdleTimeSeconds`
//! (120 s) is closed; a frame not complete `rokka.frameReadTimeoutMs` after
//! its first byte closes the connection as a rejected frame (reason
//! `timeout`). Opening and closing are logged at `info` (by the guard from
//! `metrics::traffic`).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use rokka_protocols::remoting::DecodeError;
use rokka_protocols::remoting::{decode_frame, encode_frame_head, split_frame, DEFAULT_MAX_FRAME};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::metrics::traffic::ConnGuard;
use crate::net::tls::MaybeTls;
use crate::net::Expired;

use super::context::{Ctx, Reply, Role};
use super::dispatch;

/// Requests of one connection being handled at once; the reader waits for a
/// slot, so a flooding client is slowed down instead of growing memory.
const MAX_IN_FLIGHT: usize = 256;

/// What handlers know about the connection a request came on.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) tx: mpsc::Sender<Reply>,
}

/// Serves one connection until it closes, fails, idles out or the broker stops.
pub(crate) async fn serve(
    stream: MaybeTls,
    peer: SocketAddr,
    role: Role,
    ctx: Arc<Ctx>,
    open: crate::metrics::traffic::ConnGuard,
) {
    let bytes = open.bytes();
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Reply>(1024);
    let conn = ConnInfo {
        id: ctx.next_conn_id(),
        peer,
        tx,
    };
    let writer = tokio::spawn(async move {
        let mut head = BytesMut::with_capacity(512);
        while let Some(reply) = rx.recv().await {
            head.clear();
            let len = reply.body.iter().map(|b| b.len()).sum();
            encode_frame_head(&reply.cmd, len, &mut head);
            // One writev for the head and the (mapped) body parts.
            if crate::net::vectored::write_all_vectored(&mut wr, &head, &reply.body)
                .await
                .is_err()
            {
                break;
            }
            bytes.written(head.len() + len);
        }
        let _ = wr.shutdown().await;
    });
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut clock = crate::net::ReadClock::new(ctx.broker.config.net.remoting);
    'read: loop {
        loop {
            match split_frame(&mut buf, DEFAULT_MAX_FRAME) {
                Ok(Some(frame)) => match decode_frame(&frame) {
                    Ok(cmd) => {
                        clock.request_done();
                        if cmd.is_response() {
                            // An answer to a relayed request (307, 309);
                            // strays are dropped there.
                            ctx.relay.complete(cmd);
                            continue;
                        }
                        let Ok(permit) = in_flight.clone().acquire_owned().await else {
                            break 'read;
                        };
                        let (ctx, conn) = (ctx.clone(), conn.clone());
                        tokio::spawn(async move {
                            let _permit = permit;
                            let oneway = cmd.is_oneway();
                            let reply = dispatch::handle(&ctx, &conn, role, cmd).await;
                            if !oneway {
                                let _ = conn.tx.send(reply).await;
                            }
                        });
                    }
                    Err(e) => {
                        ctx.metrics.malformed.inc();
                        reject(&open, peer, "malformed", &e.to_string());
                        break 'read;
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    ctx.metrics.malformed.inc();
                    let kind = match e {
                        DecodeError::FrameLength { len, max } if len > max as i64 => "oversized",
                        _ => "malformed",
                    };
                    reject(&open, peer, kind, &e.to_string());
                    break 'read;
                }
            }
        }
        clock.partial(!buf.is_empty());
        let (deadline, expired) = clock.deadline();
        tokio::select! {
            _ = ctx.broker.shutdown_signal() => {
                open.closing("broker shutdown");
                break;
            }
            read = tokio::time::timeout_at(deadline, rd.read_buf(&mut buf)) => match read {
                Ok(Ok(0)) => break,
                Ok(Err(_)) => {
                    open.closing("read error");
                    break;
                }
                Ok(Ok(n)) => open.read(n),
                Err(_) if expired == Expired::SlowFrame => {
                    reject(&open, peer, "timeout", "frame not complete within rokka.frameReadTimeoutMs");
                    break;
                }
                Err(_) => {
                    open.closing(expired.reason());
                    break;
                }
            }
        }
    }
    ctx.clients.channel_closed(conn.id, &ctx);
    drop(conn);
    writer.abort();
}

/// Counts and logs a refused frame (`kind`: malformed or oversized).
fn reject(open: &ConnGuard, peer: SocketAddr, kind: &'static str, detail: &str) {
    crate::metrics::traffic().rejected_frame("remoting", kind, peer, detail);
    open.closing(match kind {
        "oversized" => "oversized frame",
        "timeout" => Expired::SlowFrame.reason(),
        _ => "malformed frame",
    });
}
