//! The classic group protocol (§4 of kafka-subset.md): one module per API.

pub mod heartbeat;
pub mod join_group;
pub mod leave_group;
pub mod sync_group;
