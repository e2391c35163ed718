//! FindCoordinator (key 10), versions 0–6 (v3+ flexible, v4+ batch keys; v5
//! and v6 are wire-identical to v4).
//! rokka is its own coordinator for every group, so the answer is always
//! this broker.
//!
//! ```text
//! request  key str (v0-3), key_type i8 (v1+), coordinator_keys [str] (v4+), tags
//! response throttle_time_ms i32 (v1+),
//!   v0-3:  error_code i16, error_message nstr (v1+), node_id i32, host str, port i32
//!   v4+:   coordinators [key str, node_id i32, host str, port i32, error_code i16,
//!                        error_message nstr, tags]
//!          tags
//! ```

use super::{DecodeError, Reader, Writer};

/// A FindCoordinator request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindCoordinatorRequest {
    /// Group ids (or transactional ids); one before v4.
    pub keys: Vec<String>,
    /// 0 = group, 1 = transaction.
    pub key_type: i8,
}

impl FindCoordinatorRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        let mut keys = Vec::new();
        if version < 4 {
            keys.push(r.str("key")?);
        }
        let key_type = if version >= 1 { r.i8("key_type")? } else { 0 };
        if version >= 4 {
            keys = r.array("coordinator_keys", |r| r.str("key"))?;
        }
        r.tags()?;
        Ok(FindCoordinatorRequest { keys, key_type })
    }
}

/// One coordinator in the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinator {
    /// The key asked for.
    pub key: String,
    /// Error code.
    pub error_code: i16,
    /// Coordinator node id.
    pub node_id: i32,
    /// Coordinator host.
    pub host: String,
    /// Coordinator port.
    pub port: i32,
}

/// A FindCoordinator response: one coordinator per key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindCoordinatorResponse {
    /// Coordinators (exactly one before v4).
    pub coordinators: Vec<Coordinator>,
}

impl FindCoordinatorResponse {
    /// Encodes the body for `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version >= 1 {
            w.i32(0);
        }
        if version >= 4 {
            w.array(&self.coordinators, |w, c| {
                w.str(&c.key);
                w.i32(c.node_id);
                w.str(&c.host);
                w.i32(c.port);
                w.i16(c.error_code);
                w.nstr(None);
                w.tags();
            });
        } else if let Some(c) = self.coordinators.first() {
            w.i16(c.error_code);
            if version >= 1 {
                w.nstr(None);
            }
            w.i32(c.node_id);
            w.str(&c.host);
            w.i32(c.port);
        }
        w.tags();
    }
}

impl FindCoordinatorRequest {
    /// Encodes the body of `version` (the inverse of [`Self::decode`]).
    /// Before v4 only the first key is sent ("" if there is none).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        if version < 4 {
            w.str(self.keys.first().map_or("", String::as_str));
        }
        if version >= 1 {
            w.i8(self.key_type);
        }
        if version >= 4 {
            w.array(&self.keys, |w, k| w.str(k));
        }
        w.tags();
    }
}

impl FindCoordinatorResponse {
    /// Decodes the body of `version` (the inverse of [`Self::encode`]).
    /// Before v4 there is exactly one coordinator and its `key` is "".
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        if version >= 1 {
            r.i32("throttle_time_ms")?;
        }
        let coordinators = if version >= 4 {
            r.array("coordinators", |r| {
                let key = r.str("key")?;
                let node_id = r.i32("node_id")?;
                let host = r.str("host")?;
                let port = r.i32("port")?;
                let error_code = r.i16("error_code")?;
                r.nstr("error_message")?;
                r.tags()?;
                Ok(Coordinator {
                    key,
                    error_code,
                    node_id,
                    host,
                    port,
                })
            })?
        } else {
            let error_code = r.i16("error_code")?;
            if version >= 1 {
                r.nstr("error_message")?;
            }
            vec![Coordinator {
                key: String::new(),
                error_code,
                node_id: r.i32("node_id")?,
                host: r.str("host")?,
                port: r.i32("port")?,
            }]
        };
        r.tags()?;
        Ok(FindCoordinatorResponse { coordinators })
    }
}
