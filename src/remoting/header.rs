//! Typed access to request `extFields`: a missing or unparsable required
//! field answers SYSTEM_ERROR naming the field (as Java's header decoding
//! does), never a panic.

use std::str::FromStr;

use rokka_protocols::remoting::{RemotingCommand, ResponseCode};

use super::context::HandlerError;

/// A required string field.
pub(crate) fn req_str<'a>(cmd: &'a RemotingCommand, key: &str) -> Result<&'a str, HandlerError> {
    cmd.ext(key).ok_or_else(|| {
        HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("the custom field <{key}> is null"),
        )
    })
}

/// A required number/bool field.
pub(crate) fn req<T: FromStr>(cmd: &RemotingCommand, key: &str) -> Result<T, HandlerError> {
    parse(key, req_str(cmd, key)?)
}

/// An optional number/bool field (absent → None, unparsable → error).
pub(crate) fn opt<T: FromStr>(cmd: &RemotingCommand, key: &str) -> Result<Option<T>, HandlerError> {
    cmd.ext(key).map(|v| parse(key, v)).transpose()
}

fn parse<T: FromStr>(key: &str, v: &str) -> Result<T, HandlerError> {
    v.trim().parse().map_err(|_| {
        HandlerError::new(
            ResponseCode::SYSTEM_ERROR,
            format!("the custom field <{key}> is invalid: {v:?}"),
        )
    })
}
