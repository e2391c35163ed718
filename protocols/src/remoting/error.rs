//! Errors of the remoting codec. A frame-level error closes the connection
//! (both Java brokers do); the variants name the failing field.

/// Why a remoting frame or body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame length is below the 4-byte minimum or above the limit.
    #[error("frame length {len} outside 4..={max}")]
    FrameLength {
        /// The announced length.
        len: i64,
        /// The configured maximum.
        max: usize,
    },
    /// The header length runs past the end of the frame.
    #[error("header length {header_len} exceeds frame length {frame_len}")]
    HeaderLength {
        /// The announced header length.
        header_len: usize,
        /// The frame length (without its own 4 bytes).
        frame_len: usize,
    },
    /// The serialize-type byte is neither 0 (JSON) nor 1 (ROCKETMQ).
    #[error("unknown serialize type {0}")]
    SerializeType(u8),
    /// A field is cut short.
    #[error("truncated field {0}")]
    Truncated(&'static str),
    /// A field holds an impossible value (negative length, bad UTF-8...).
    #[error("invalid field {0}")]
    Invalid(&'static str),
    /// The JSON header cannot be parsed.
    #[error("invalid JSON header: {0}")]
    Json(String),
}
