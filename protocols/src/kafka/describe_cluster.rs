//! DescribeCluster (key 60), versions 0–1 (flexible from v0).
//!
//! ```text
//! request  include_cluster_authorized_operations bool, endpoint_type i8 (v1+), tags
//! response throttle_time_ms i32, error_code i16, error_message nstr, endpoint_type i8 (v1+),
//!          cluster_id str, controller_id i32,
//!          brokers [broker_id i32, host str, port i32, rack nstr, tags],
//!          cluster_authorized_operations i32, tags
//! ```

use super::{DecodeError, Reader, Writer};

/// Endpoint type of ordinary broker listeners.
pub const ENDPOINT_BROKERS: i8 = 1;

/// A DescribeCluster request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeClusterRequest {
    /// Which endpoints (v1+; 1 = brokers, 2 = controllers).
    pub endpoint_type: i8,
}

impl DescribeClusterRequest {
    /// Decodes the body of `version`.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        r.bool("include_cluster_authorized_operations")?;
        let endpoint_type = if version >= 1 {
            r.i8("endpoint_type")?
        } else {
            ENDPOINT_BROKERS
        };
        r.tags()?;
        Ok(DescribeClusterRequest { endpoint_type })
    }
}

/// A DescribeCluster response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeClusterResponse {
    /// Error code.
    pub error_code: i16,
    /// Endpoint type answered.
    pub endpoint_type: i8,
    /// Cluster id.
    pub cluster_id: String,
    /// Controller id.
    pub controller_id: i32,
    /// (broker id, host, port).
    pub brokers: Vec<(i32, String, i32)>,
}

impl DescribeClusterResponse {
    /// Encodes the body for `version`.
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.i32(0);
        w.i16(self.error_code);
        w.nstr(None);
        if version >= 1 {
            w.i8(self.endpoint_type);
        }
        w.str(&self.cluster_id);
        w.i32(self.controller_id);
        w.array(&self.brokers, |w, (id, host, port)| {
            w.i32(*id);
            w.str(host);
            w.i32(*port);
            w.nstr(None);
            w.tags();
        });
        w.i32(i32::MIN);
        w.tags();
    }
}

impl DescribeClusterRequest {
    /// Encodes the body of `version` (authorized operations not asked for).
    pub fn encode(&self, w: &mut Writer, version: i16) {
        w.bool(false);
        if version >= 1 {
            w.i8(self.endpoint_type);
        }
        w.tags();
    }
}

impl DescribeClusterResponse {
    /// Decodes the body of `version` (the inverse of [`Self::encode`]);
    /// `endpoint_type` is [`ENDPOINT_BROKERS`] in v0.
    pub fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError> {
        r.i32("throttle_time_ms")?;
        let error_code = r.i16("error_code")?;
        r.nstr("error_message")?;
        let endpoint_type = if version >= 1 {
            r.i8("endpoint_type")?
        } else {
            ENDPOINT_BROKERS
        };
        let cluster_id = r.str("cluster_id")?;
        let controller_id = r.i32("controller_id")?;
        let brokers = r.array("brokers", |r| {
            let b = (r.i32("broker_id")?, r.str("host")?, r.i32("port")?);
            r.nstr("rack")?;
            r.tags()?;
            Ok(b)
        })?;
        r.i32("cluster_authorized_operations")?;
        r.tags()?;
        Ok(DescribeClusterResponse {
            error_code,
            endpoint_type,
            cluster_id,
            controller_id,
            brokers,
        })
    }
}
