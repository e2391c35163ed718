//! The RocketMQ front-end: the embedded NameServer and the broker's remoting
//! listeners (main port and VIP port). Filled in by the RocketMQ front-end issue.

use tokio::task::JoinHandle;

use crate::broker::Broker;
use crate::startup::StartupError;

/// Binds the RocketMQ listeners and spawns their accept loops; each loop ends
/// when the broker shuts down.
pub async fn start(_broker: &Broker) -> Result<Vec<JoinHandle<()>>, StartupError> {
    Ok(Vec::new())
}
