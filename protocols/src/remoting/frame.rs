//! Frame splitting and assembly.
//!
//! ```text
//!  0        4        8                    8+H                  L+4
//!  +--------+--------+--------------------+--------------------+
//!  | L (i32)| T|H(3B)|  header (H bytes)  |  body (L-4-H bytes)|
//!  +--------+--------+--------------------+--------------------+
//!  L = 4 + H + bodyLen; T = serialize type (0 JSON, 1 ROCKETMQ)
//! ```
//!
//! Two steps, as in tls-parser: [`split_frame`] finds the envelope in a
//! growing read buffer, [`decode_frame`] parses the header inside it.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::error::DecodeError;
use super::header::{decode_header, encode_header, RemotingCommand, SerializeType};

/// Java's `NettyDecoder` limit: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Takes one whole frame (without its length prefix) off the front of `buf`.
/// `Ok(None)`: more bytes needed (capacity is reserved). An out-of-range
/// length is an error: the caller closes the connection.
pub fn split_frame(buf: &mut BytesMut, max: usize) -> Result<Option<Bytes>, DecodeError> {
    let Some(len) = be_u32(buf) else {
        return Ok(None);
    };
    let len = len as i32;
    let Ok(len) = usize::try_from(len) else {
        return Err(DecodeError::FrameLength {
            len: len as i64,
            max,
        });
    };
    if !(4..=max).contains(&len) {
        return Err(DecodeError::FrameLength {
            len: len as i64,
            max,
        });
    }
    if buf.len() < 4 + len {
        buf.reserve(4 + len - buf.len());
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(buf.split_to(len).freeze()))
}

/// Decodes a frame (as returned by [`split_frame`]) into a command whose
/// body is a zero-copy slice of `frame`.
pub fn decode_frame(frame: &Bytes) -> Result<RemotingCommand, DecodeError> {
    let word = be_u32(frame).ok_or(DecodeError::Truncated("header length"))?;
    let stype = match (word >> 24) as u8 {
        0 => SerializeType::Json,
        1 => SerializeType::RocketMq,
        other => return Err(DecodeError::SerializeType(other)),
    };
    let header_len = (word & 0x00FF_FFFF) as usize;
    let frame_len = frame.len();
    if header_len > frame_len - 4 {
        return Err(DecodeError::HeaderLength {
            header_len,
            frame_len,
        });
    }
    let header = frame
        .get(4..4 + header_len)
        .ok_or(DecodeError::Truncated("header"))?;
    let mut cmd = decode_header(header, stype)?;
    cmd.body = frame.slice(4 + header_len..);
    Ok(cmd)
}

/// Encodes the length prefix, type word and header of `cmd` for a body of
/// `body_len` bytes that the caller writes after it (`cmd.body` is ignored).
pub fn encode_frame_head(cmd: &RemotingCommand, body_len: usize, out: &mut BytesMut) {
    let mut header = BytesMut::with_capacity(256);
    encode_header(cmd, &mut header);
    out.reserve(8 + header.len());
    out.put_u32((4 + header.len() + body_len) as u32);
    out.put_u32(((cmd.serialize_type.byte() as u32) << 24) | header.len() as u32);
    out.put_slice(&header);
}

/// Encodes the whole frame of `cmd`, body included, length prefix included.
pub fn encode_frame(cmd: &RemotingCommand, out: &mut BytesMut) {
    encode_frame_head(cmd, cmd.body.len(), out);
    out.put_slice(&cmd.body);
}

fn be_u32(b: &[u8]) -> Option<u32> {
    let four: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(u32::from_be_bytes(four))
}
