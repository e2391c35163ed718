//! The SUCCESS replies handlers build (`ok` with extension fields, `ok_json`
//! with a JSON body). They live here, below `dispatch`, so a handler depends
//! on its reply helpers and not on the module that calls it (ADR 023).

use rokka_protocols::remoting::{RemotingCommand, ResponseCode};

use super::context::{HResult, HandlerError, Reply};

/// A SUCCESS response with the given ext fields.
pub(crate) fn ok(req: &RemotingCommand, ext: &[(&str, String)]) -> Reply {
    let mut cmd = req.response_to(ResponseCode::SUCCESS.0);
    if !ext.is_empty() {
        let e = cmd.ext_mut();
        for (k, v) in ext {
            e.insert(*k, v.clone());
        }
    }
    Reply::new(cmd)
}

/// A SUCCESS response with a JSON body.
pub(crate) fn ok_json<T: serde::Serialize>(req: &RemotingCommand, body: &T) -> HResult {
    let mut cmd = req.response_to(ResponseCode::SUCCESS.0);
    cmd.body = serde_json::to_vec(body)
        .map_err(|e| HandlerError::new(ResponseCode::SYSTEM_ERROR, e.to_string()))?
        .into();
    Ok(Reply::new(cmd))
}
