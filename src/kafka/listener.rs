//! The Kafka listeners (`listeners`, `listener.security.protocol.map`): each
//! bound with its own TLS step and security protocol; connections learn from
//! [`Listener`] whether SASL is required and what to advertise (ADR 016).

use std::sync::Arc;

use tokio::net::TcpListener;
use tracing::info;

use crate::broker::Broker;
use crate::config::security::KafkaListener;
use crate::net::tls::{ListenerTls, TlsMode};
use crate::startup::StartupError;

/// One bound Kafka listener's settings, shared by its connections.
#[derive(Debug)]
pub struct Listener {
    /// The resolved configuration (name, protocol, advertised address, SASL).
    pub config: KafkaListener,
    /// The metric label: `kafka` for the primary listener, `kafka_<name>` for the others.
    pub label: &'static str,
    /// The TLS step of the listener.
    pub tls: ListenerTls,
}

/// Binds every configured listener, primary first.
pub async fn bind_all(broker: &Broker) -> Result<Vec<(TcpListener, Arc<Listener>)>, StartupError> {
    let mut out = Vec::new();
    let mut configs = broker.config.security.kafka_listeners.clone();
    if configs.is_empty() {
        // A config built in code without `finish` (tests): one plain listener.
        configs.push(KafkaListener {
            name: "PLAINTEXT".to_string(),
            protocol: crate::config::security::SecurityProtocol::Plaintext,
            addr: broker.config.kafka_listen,
            advertised: broker.config.kafka_advertised.clone(),
            tls: None,
            mechanisms: Vec::new(),
            plain_users: Default::default(),
        });
    }
    for (i, config) in configs.iter().enumerate() {
        // The primary keeps the plain `kafka` label; the others are few and
        // fixed by configuration, so leaking their labels is bounded.
        let label: &'static str = if i == 0 {
            "kafka"
        } else {
            Box::leak(format!("kafka_{}", config.name.to_ascii_lowercase()).into_boxed_str())
        };
        let mode = if config.protocol.tls() {
            TlsMode::Enforcing
        } else {
            TlsMode::Disabled
        };
        let tls =
            ListenerTls::new(label, mode, config.tls.as_ref()).map_err(|e| StartupError::Tls {
                what: label,
                reason: e.to_string(),
            })?;
        let socket = crate::startup::bind(label, config.addr).await?;
        let local = socket.local_addr().unwrap_or(config.addr);
        if i == 0 {
            info!("kafka listening on {local}");
        } else {
            info!(
                "kafka listener {} ({:?}) listening on {local}",
                config.name, config.protocol
            );
        }
        out.push((
            socket,
            Arc::new(Listener {
                config: config.clone(),
                label,
                tls,
            }),
        ));
    }
    Ok(out)
}
