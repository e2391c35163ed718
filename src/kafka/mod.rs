//! The Kafka front-end. Filled in by the Kafka front-end issue.

use tokio::task::JoinHandle;

use crate::broker::Broker;
use crate::startup::StartupError;

/// Binds the Kafka listener and spawns its accept loop; it ends when the
/// broker shuts down.
pub async fn start(_broker: &Broker) -> Result<Vec<JoinHandle<()>>, StartupError> {
    Ok(Vec::new())
}
