//! Transaction back-checks over Telemetry: producers announce the topics
//! they publish in their Settings; when the broker's check finds a half
//! message no remoting producer can answer, it sends a
//! RecoverOrphanedTransactionCommand down the Telemetry stream of a live
//! producer of the message's topic, whose TransactionChecker answers with
//! EndTransaction (source SERVER_CHECK).

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use rokka_protocols::remoting::message::{create_message_id, MessageExt};
use tokio::sync::mpsc;

use super::message::incoming;
use super::ok;
use super::pb::{self, telemetry_command::Command};

pub(crate) type Outbound = mpsc::Sender<Result<pb::TelemetryCommand, tonic::Status>>;

/// A producer's published topics and its Telemetry stream.
type Registered = (Vec<String>, Outbound);

/// The Telemetry streams of live producers and the topics they publish.
#[derive(Debug, Clone, Default)]
pub(crate) struct Producers(Arc<Mutex<Vec<Registered>>>);

impl Producers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Registered>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records (or updates) the topics of the producer behind `tx`.
    pub(crate) fn register(&self, topics: Vec<String>, tx: &Outbound) {
        let mut all = self.lock();
        all.retain(|(_, t)| !t.is_closed() && !t.same_channel(tx));
        all.push((topics, tx.clone()));
    }

    /// Asks a producer of the half message's topic; true when sent.
    pub(crate) fn recover(&self, m: &MessageExt, raw: &Bytes) -> bool {
        let Some(topic) = m.property("REAL_TOPIC") else {
            return false;
        };
        let Ok(message) = incoming(raw, None) else {
            return false;
        };
        let cmd = pb::TelemetryCommand {
            status: ok(),
            command: Some(Command::RecoverOrphanedTransactionCommand(
                pb::RecoverOrphanedTransactionCommand {
                    message: Some(message),
                    transaction_id: create_message_id(m.store_host, m.physical_offset),
                },
            )),
        };
        let mut all = self.lock();
        all.retain(|(_, t)| !t.is_closed());
        all.iter()
            .filter(|(topics, _)| topics.iter().any(|t| t == topic))
            .any(|(_, tx)| tx.try_send(Ok(cmd.clone())).is_ok())
    }
}
