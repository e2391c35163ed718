//! Master side of the HA link: the accept loop and one session per slave.
//!
//! A session answers the slave's handshake with the consistent point of the
//! two epoch histories, then streams chunks stop-and-wait: the next frame
//! starts where the slave's ack says its log now ends (a blank filler's
//! 8-byte header moves the slave to the next segment start). A session ends
//! on any error, when the socket closes, or when the role changes (slaves
//! reconnect and hand-shake again, so a new term's history reaches them).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::wire::{self, Answer};
use super::{lock, HaError, Inner, Role};

/// Largest chunk sent in one frame.
const CHUNK: usize = 1 << 20;
/// Poll interval while the slave is at the log end.
const IDLE_POLL: Duration = Duration::from_millis(5);
/// Time a slave has to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn serve(inner: Arc<Inner>, listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (sock, addr) = listener.accept().await?;
        if !matches!(*inner.role.borrow(), Role::Master { .. }) {
            tracing::debug!(%addr, "HA connection refused: not master");
            continue;
        }
        let _ = sock.set_nodelay(true);
        let inner = inner.clone();
        tokio::spawn(async move {
            match session(&inner, sock, addr).await {
                Ok(()) => tracing::info!(%addr, "HA slave session ended"),
                Err(e) => tracing::warn!(%addr, error = %e, "HA slave session failed"),
            }
        });
    }
}

async fn session(inner: &Arc<Inner>, sock: TcpStream, addr: SocketAddr) -> Result<(), HaError> {
    let mut role = inner.role.subscribe();
    let term = *role.borrow_and_update();
    let (rd, mut wr) = sock.into_split();
    let mut rd = BufReader::new(rd);
    let (from, node) = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(inner, &mut rd, &mut wr))
        .await
        .map_err(|_| HaError::Protocol("handshake timed out".into()))??;
    tracing::info!(%addr, from, node, "HA slave connected");
    let id = inner.add_replica(addr, node, from, term.epoch());
    let result = stream(inner, &mut rd, &mut wr, id, from, &mut role, term).await;
    inner.remove_replica(id);
    result
}

async fn handshake(
    inner: &Inner,
    rd: &mut (impl tokio::io::AsyncRead + Unpin),
    wr: &mut (impl tokio::io::AsyncWrite + Unpin),
) -> Result<(u64, u64), HaError> {
    let hello = wire::read_hello(rd).await?;
    let answer = {
        let epochs = lock(&inner.epochs);
        let (start, end) = inner.store.commit_log_bounds();
        let mut point = rokka_store::epoch::consistent_point(
            &hello.history,
            hello.log_end,
            epochs.entries(),
            end,
        );
        // Where the slave will resume: it must be an entry start this log
        // can serve from, else the session would fail on every frame ("no
        // readable entry"). Then the slave truncates further back, to the
        // start of the term that holds it (term starts are entry starts).
        if let Some(p) = point {
            let from = p.min(hello.log_end);
            if from >= start && from < end && inner.store.read_replica_chunk(from, 1).is_err() {
                let back = term_start_at_or_below(epochs.entries(), from).max(start);
                tracing::warn!(
                    from,
                    back,
                    "HA slave's end is not an entry start here; it truncates to its term start"
                );
                point = Some(back);
            }
        }
        Answer {
            point,
            master_start: start,
            history: epochs.entries().to_vec(),
        }
    };
    wire::write_answer(wr, &answer).await?;
    let from = rd.read_u64().await?;
    let (start, end) = inner.store.commit_log_bounds();
    if from < start || from > end {
        return Err(HaError::Protocol(format!(
            "slave starts at {from}, outside the master's log [{start}, {end}]"
        )));
    }
    Ok((from, hello.node))
}

/// The start offset of the last term that begins at or below `offset` (0
/// when none does).
fn term_start_at_or_below(history: &[rokka_store::epoch::EpochEntry], offset: u64) -> u64 {
    history
        .iter()
        .map(|e| e.start_offset)
        .filter(|s| *s <= offset)
        .max()
        .unwrap_or(0)
}

async fn stream(
    inner: &Inner,
    rd: &mut (impl tokio::io::AsyncRead + Unpin),
    wr: &mut (impl tokio::io::AsyncWrite + Unpin),
    id: u64,
    mut from: u64,
    role: &mut tokio::sync::watch::Receiver<Role>,
    term: Role,
) -> Result<(), HaError> {
    loop {
        if *role.borrow_and_update() != term {
            return Ok(());
        }
        let chunk = inner.store.read_replica_chunk(from, CHUNK)?;
        if chunk.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = role.changed() => {}
            }
            continue;
        }
        wire::write_frame(wr, from, &chunk).await?;
        let written = rd.read_u64().await?;
        let _flushed = rd.read_u64().await?;
        if written <= from {
            return Err(HaError::Protocol(format!(
                "slave acked {written} for a frame from {from}"
            )));
        }
        inner.record_ack(id, written);
        from = written;
    }
}

#[cfg(test)]
mod tests {
    use rokka_store::epoch::EpochEntry;

    use super::term_start_at_or_below;

    #[test]
    fn a_slave_end_inside_an_entry_goes_back_to_its_term_start() {
        let h: Vec<EpochEntry> = [(1, 0), (3, 4096), (4, 9000)]
            .into_iter()
            .map(|(epoch, start_offset)| EpochEntry {
                epoch,
                start_offset,
            })
            .collect();
        assert_eq!(term_start_at_or_below(&h, 5000), 4096);
        assert_eq!(term_start_at_or_below(&h, 9000), 9000);
        assert_eq!(term_start_at_or_below(&h, 100), 0);
        assert_eq!(term_start_at_or_below(&[], 100), 0);
    }
}
