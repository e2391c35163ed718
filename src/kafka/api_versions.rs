//! ApiVersions handler: the table in `rokka_protocols::kafka::SUPPORTED`,
//! or the v0 `UNSUPPORTED_VERSION` answer for versions above 3.

use rokka_protocols::kafka::api_versions::{ApiVersionsRequest, ApiVersionsResponse};
use rokka_protocols::kafka::Writer;

use super::request::{CloseReason, Request};

/// Newest ApiVersions version.
pub const MAX_VERSION: i16 = rokka_protocols::kafka::api_versions::MAX_VERSION;

/// Handles a supported ApiVersions request.
pub fn handle(req: &Request<'_>) -> Result<Writer, CloseReason> {
    let mut r = req.reader();
    // Kafka answers even a body it cannot read; a v3 body is informational.
    let _ = ApiVersionsRequest::decode(&mut r, req.version());
    let mut w = req.writer();
    ApiVersionsResponse::supported().encode(&mut w, req.version());
    Ok(w)
}

/// The v0 body answering a too-new ApiVersions version.
pub fn unsupported() -> Writer {
    let mut w = Writer::new(false);
    ApiVersionsResponse::unsupported_version().encode(&mut w, 0);
    w
}
