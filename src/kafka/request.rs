//! What a Kafka API handler gets and gives back: the parsed [`Request`] (header,
//! frame, connection), the [`CloseReason`] a bad request ends its connection
//! with, and the response framing. Below `dispatch`, so handlers depend on
//! this module and not on the one that calls them (ADR 023).

use bytes::Bytes;
use rokka_protocols::kafka::{DecodeError, Reader, RequestHeader, ResponseHeader, Writer};

use super::conn::ConnInfo;

/// Why a connection must be closed.
#[derive(Debug, thiserror::Error)]
pub enum CloseReason {
    /// The header cannot be parsed.
    #[error("unparsable request header: {0}")]
    Header(DecodeError),
    /// The (api, version) is not supported.
    #[error("unsupported api {key} version {version}")]
    Unsupported {
        /// API key.
        key: i16,
        /// Version.
        version: i16,
    },
    /// The body cannot be parsed.
    #[error("unparsable body of api {key} v{version}: {error}")]
    Body {
        /// API key.
        key: i16,
        /// Version.
        version: i16,
        /// What failed.
        error: DecodeError,
    },
}

impl CloseReason {
    /// The metric label.
    pub fn label(&self) -> &'static str {
        match self {
            CloseReason::Header(_) => "bad header",
            CloseReason::Unsupported { .. } => "unsupported version",
            CloseReason::Body { .. } => "bad body",
        }
    }
}

/// What a handler gets.
#[derive(Debug)]
pub struct Request<'a> {
    /// The parsed header.
    pub header: RequestHeader,
    /// The whole frame.
    pub frame: &'a Bytes,
    /// The connection.
    pub conn: &'a ConnInfo,
}

impl Request<'_> {
    /// A reader positioned at the body.
    pub fn reader(&self) -> Reader<'_> {
        Reader::new(self.frame, self.header.body_offset, self.header.flexible)
    }
    /// The API version.
    pub fn version(&self) -> i16 {
        self.header.api_version
    }
    /// A body decode failure for this request.
    pub fn bad_body(&self, error: DecodeError) -> CloseReason {
        CloseReason::Body {
            key: self.header.api_key.0,
            version: self.header.api_version,
            error,
        }
    }
    /// A writer for the response body.
    pub fn writer(&self) -> Writer {
        Writer::new(self.header.flexible)
    }
}

/// A response: `h` then `body`.
pub(super) fn with_header(h: ResponseHeader, body: Writer) -> Vec<Bytes> {
    let mut w = Writer::new(h.flexible);
    h.encode(&mut w);
    let mut out = w.finish();
    out.extend(body.finish());
    out
}
