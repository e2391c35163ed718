//! One Kafka connection: reads `i32 size` frames, handles requests one at a
//! time in arrival order, and hands encoded responses to a writer task over
//! a channel, so replies leave in request order (kafka-subset.md §0.1).
//!
//! A negative or oversized size, an unparsable header, an unsupported
//! (api, version) other than ApiVersions, or an unparsable body closes the
//! connection, as Kafka does; each bumps `rokka_kafka_bad_requests_total`,
//! and bad sizes and headers also `rokka_rejected_frames_total`. Opening and
//! closing are logged at `info` (by the guard from `metrics::traffic`).
//!
//! A connection with no request for `connections.max.idle.ms` is closed; a
//! request whose frame is not complete `rokka.frameReadTimeoutMs` after its
//! first byte closes the connection as a rejected frame (reason `timeout`).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;
use tracing::warn;

use super::listener::Listener;
use super::request::CloseReason;
use super::sasl::Gate;
use super::{dispatch, KafkaContext};
use crate::net::tls::MaybeTls;
use crate::net::Expired;

/// Largest request accepted (Kafka's `socket.request.max.bytes`).
pub const MAX_FRAME: usize = 100 * 1024 * 1024;

/// The reason [`read_frame`] gives for a size over [`MAX_FRAME`].
const OVERSIZED: &str = "oversized frame";

/// The reason for a frame not complete within `rokka.frameReadTimeoutMs`.
const SLOW: &str = "frame read timeout";

/// What a connection knows about itself (for Metadata's broker address).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The client.
    pub peer: SocketAddr,
    /// Our address on this connection.
    pub local: SocketAddr,
    /// The listener the connection came on (security protocol, advertised address).
    pub listener: Arc<Listener>,
    /// Who the client is (`User:ANONYMOUS` until SASL authentication).
    pub principal: crate::security::Principal,
}

/// Serves one connection until the client closes it, a frame is bad, or the
/// broker shuts down.
pub async fn serve(
    ctx: Arc<KafkaContext>,
    socket: MaybeTls,
    peer: SocketAddr,
    listener: Arc<Listener>,
    open: crate::metrics::traffic::ConnGuard,
) {
    let bytes = open.bytes();
    let _ = socket.tcp().set_nodelay(true);
    let local = socket.tcp().local_addr().unwrap_or(listener.config.addr);
    let mut gate = super::sasl::SaslGate::new(listener.clone(), ctx.broker.config.security.reauth);
    // An SSL listener's principal is the client certificate's subject, as
    // Kafka's default principal builder names it (SASL_SSL: the SASL user).
    if !listener.config.protocol.sasl() {
        let leaf = socket
            .peer_certificates()
            .and_then(|c| c.into_iter().next());
        if let Some(p) = leaf.and_then(|c| crate::security::Principal::from_certificate(&c)) {
            tracing::debug!(%peer, principal = %p, "TLS client certificate");
            gate.set_principal(p);
        }
    }
    let mut info = ConnInfo {
        peer,
        local,
        listener,
        principal: gate.principal().clone(),
    };
    let (rd, wr) = tokio::io::split(socket);
    let (tx, rx) = mpsc::channel::<Vec<Bytes>>(64);
    let writer = tokio::spawn(async move {
        super::response_writer::write_responses(wr, rx, &bytes).await;
    });
    let mut rd = BufReader::with_capacity(64 * 1024, rd);
    let shutdown = ctx.broker.clone();
    let limits = ctx.broker.config.net.kafka;
    let reading = async {
        loop {
            // Idle until a request starts; then the whole frame must arrive
            // within the frame read timeout (a stalled or trickling client).
            match tokio::time::timeout(limits.idle, rd.fill_buf()).await {
                Ok(Ok([])) | Ok(Err(_)) => return,
                Ok(Ok(_)) => {}
                Err(_) => {
                    open.closing(Expired::Idle.reason());
                    return;
                }
            }
            let read = tokio::time::timeout(limits.frame_read, read_frame(&mut rd)).await;
            let frame = match read.unwrap_or(Err(SLOW)) {
                Ok(Some(f)) => {
                    open.read(f.len() + 4);
                    f
                }
                Ok(None) => return,
                Err(reason) => {
                    ctx.metrics
                        .bad_requests_total
                        .with_label_values(&[reason])
                        .inc();
                    let kind = match reason {
                        OVERSIZED => "oversized",
                        SLOW => "timeout",
                        _ => "malformed",
                    };
                    crate::metrics::traffic().rejected_frame("kafka", kind, peer, reason);
                    open.closing(reason);
                    return;
                }
            };
            let handled = match gate.intercept(&ctx, &frame) {
                Gate::Pass => {
                    if info.principal != *gate.principal() {
                        info.principal = gate.principal().clone();
                    }
                    dispatch::handle(&ctx, &info, frame).await
                }
                Gate::Reply(r) => Ok(Some(r)),
                Gate::ReplyAndClose(r, reason) => {
                    let _ = tx.send(r).await;
                    open.closing(reason);
                    return;
                }
                Gate::Close(reason) => {
                    ctx.metrics
                        .bad_requests_total
                        .with_label_values(&["sasl"])
                        .inc();
                    crate::net::log_limit::warn(|suppressed| {
                        warn!(%peer, reason, suppressed, "closing kafka connection");
                    });
                    open.closing(reason);
                    return;
                }
            };
            match handled {
                Ok(Some(resp)) => {
                    if tx.send(resp).await.is_err() {
                        return;
                    }
                }
                Ok(None) => {}
                Err(reason) => {
                    ctx.metrics
                        .bad_requests_total
                        .with_label_values(&[reason.label()])
                        .inc();
                    if let CloseReason::Header(_) = reason {
                        let detail = reason.to_string();
                        crate::metrics::traffic().rejected_frame(
                            "kafka",
                            "malformed",
                            peer,
                            &detail,
                        );
                    } else {
                        crate::net::log_limit::warn(|suppressed| {
                            warn!(
                                %peer,
                                %reason,
                                suppressed,
                                "rejected kafka request, closing the connection"
                            );
                        });
                    }
                    open.closing(reason.label());
                    return;
                }
            }
        }
    };
    tokio::select! {
        () = reading => {}
        () = shutdown.shutdown_signal() => open.closing("broker shutdown"),
    }
    drop(tx);
    let _ = writer.await;
}

/// Reads one frame; `Ok(None)` on a clean end of stream.
async fn read_frame<R: AsyncReadExt + Unpin>(rd: &mut R) -> Result<Option<Bytes>, &'static str> {
    let mut size = [0u8; 4];
    match rd.read_exact(&mut size).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(_) => return Ok(None),
    }
    let size = i32::from_be_bytes(size);
    let size = usize::try_from(size).map_err(|_| "negative frame size")?;
    if size > MAX_FRAME {
        return Err(OVERSIZED);
    }
    // Grow with the data actually received, never from the size alone.
    let mut buf = BytesMut::with_capacity(size.min(1024 * 1024));
    let mut limited = rd.take(size as u64);
    while buf.len() < size {
        buf.reserve((size - buf.len()).min(1024 * 1024));
        match limited.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return Err("truncated frame"),
            Ok(_) => {}
        }
    }
    Ok(Some(buf.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_frames_and_rejects_bad_sizes() {
        let mut ok: &[u8] = &[0, 0, 0, 2, 7, 8];
        assert_eq!(
            read_frame(&mut ok).await.unwrap().as_deref(),
            Some(&[7u8, 8][..])
        );
        let mut neg: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(read_frame(&mut neg).await.is_err());
        let mut big: &[u8] = &[0x7f, 0, 0, 0];
        assert!(read_frame(&mut big).await.is_err());
        let mut short: &[u8] = &[0, 0, 0, 9, 1];
        assert!(read_frame(&mut short).await.is_err());
        let mut empty: &[u8] = &[];
        assert!(read_frame(&mut empty).await.unwrap().is_none());
    }
}
