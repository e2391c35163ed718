//! Slave side of the HA link: the client task that follows a master.
//!
//! Each connection sends this store's epoch history and log end, truncates
//! to the consistent point the master answers (the whole log when the
//! histories share no term), adopts the master's history and then appends
//! every frame at its own log end, acking `(written, flushed)` after each.
//! Any error closes the connection; the task reconnects after a pause until
//! it is aborted by a role change.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::BufReader;
use tokio::net::TcpStream;

use super::wire::{self, Hello};
use super::{lock, HaError, Inner, Role};

/// Pause between connection attempts.
const RETRY: Duration = Duration::from_millis(200);
/// Time allowed for connecting and the handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn run(inner: Arc<Inner>, role: Role, master: SocketAddr) {
    loop {
        match session(&inner, master).await {
            Ok(()) => tracing::info!(%master, ?role, "HA master closed the link"),
            Err(e) => tracing::warn!(%master, error = %e, "HA link to master failed"),
        }
        tokio::time::sleep(RETRY).await;
    }
}

async fn session(inner: &Inner, master: SocketAddr) -> Result<(), HaError> {
    let sock = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(master))
        .await
        .map_err(|_| HaError::Protocol("connect timed out".into()))??;
    let _ = sock.set_nodelay(true);
    let (rd, mut wr) = sock.into_split();
    let mut rd = BufReader::new(rd);
    let hello = Hello {
        history: lock(&inner.epochs).entries().to_vec(),
        log_end: inner.store.log_end(),
        node: inner.node_id.load(std::sync::atomic::Ordering::Relaxed),
    };
    wire::write_hello(&mut wr, &hello).await?;
    let answer = tokio::time::timeout(CONNECT_TIMEOUT, wire::read_answer(&mut rd))
        .await
        .map_err(|_| HaError::Protocol("handshake timed out".into()))??;
    let (start, end) = inner.store.commit_log_bounds();
    let keep = answer.point.unwrap_or(start).max(start);
    if keep < end {
        tracing::warn!(from = keep, to = end, "HA truncating a divergent log tail");
        inner.store.truncate_log(keep).await?;
    }
    if inner.store.log_end() == inner.store.commit_log_bounds().0
        && inner.store.log_end() < answer.master_start
    {
        // Empty log behind the master's retention: start where it starts.
        inner.store.truncate_log(answer.master_start).await?;
    }
    let from = inner.store.log_end();
    {
        let mut epochs = lock(&inner.epochs);
        epochs.truncate_suffix(from)?;
        epochs.replace(answer.history)?;
    }
    inner.agrees.send_replace(true);
    wire::write_u64s(&mut wr, &[from]).await?;
    loop {
        let (at, chunk) = wire::read_frame(&mut rd).await?;
        let end = inner.store.log_end();
        if at != end {
            return Err(HaError::Protocol(format!(
                "frame from {at}, but the log ends at {end}"
            )));
        }
        let written = inner.store.append_replica(at, chunk).await?;
        wire::write_u64s(&mut wr, &[written, inner.store.log_flushed()]).await?;
    }
}
