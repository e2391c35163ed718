//! The RocketMQ remoting protocol, sans-io: frames, JSON and ROCKETMQ binary
//! headers, codes, the stored-message codec, the batch body and the JSON
//! bodies. Bytes in, typed values out.
//!
//! ```text
//! frame.rs    split_frame (envelope) → decode_frame (header + body slice)
//! header.rs   RemotingCommand, JSON and binary header codecs
//! codes.rs    RequestCode / ResponseCode / LanguageCode constants
//! message.rs  stored record decode, properties, message ids, batch body
//! body.rs     JSON bodies (route, cluster, heartbeat, lock, KV, lists)
//! pop.rs      5.x POP headers, bodies and extraInfo formats
//! ```

pub mod body;
pub mod codes;
pub mod error;
pub mod fastjson;
pub mod frame;
pub mod header;
pub mod message;
pub mod pop;
mod reader;

pub use codes::{LanguageCode, RequestCode, ResponseCode};
pub use error::DecodeError;
pub use frame::{decode_frame, encode_frame, encode_frame_head, split_frame, DEFAULT_MAX_FRAME};
pub use header::{ExtFields, RemotingCommand, SerializeType};
