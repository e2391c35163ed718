//! Requests this broker sends to another RocketMQ node (a NameServer, the
//! master of its own or another broker group): each exchange on a fresh connection, the
//! requests in order, every reply awaited, all within one time bound.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use rokka_protocols::remoting::{
    decode_frame, encode_frame, split_frame, RemotingCommand, DEFAULT_MAX_FRAME,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound on one exchange (connect, requests, replies).
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// One request on a fresh connection: the reply, or an error.
pub(crate) async fn call(addr: &str, cmd: RemotingCommand) -> io::Result<RemotingCommand> {
    let mut replies = call_all(addr, vec![cmd]).await?;
    replies.pop().ok_or_else(|| io::Error::other("no reply"))
}

/// Sends `cmds` on one fresh connection, one at a time, and returns their
/// replies in the same order.
pub(crate) async fn call_all(
    addr: &str,
    cmds: Vec<RemotingCommand>,
) -> io::Result<Vec<RemotingCommand>> {
    call_all_within(addr, cmds, CALL_TIMEOUT).await
}

/// [`call_all`] bounded by `limit` instead of [`CALL_TIMEOUT`].
pub(crate) async fn call_all_within(
    addr: &str,
    cmds: Vec<RemotingCommand>,
    limit: Duration,
) -> io::Result<Vec<RemotingCommand>> {
    let exchange = async {
        let mut s = TcpStream::connect(addr).await?;
        let mut buf = BytesMut::with_capacity(4096);
        let mut replies = Vec::with_capacity(cmds.len());
        for cmd in &cmds {
            let mut out = BytesMut::new();
            encode_frame(cmd, &mut out);
            s.write_all(&out).await?;
            replies.push(read_reply(&mut s, &mut buf).await?);
        }
        Ok(replies)
    };
    tokio::time::timeout(limit, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{addr} did not answer within {limit:?}"),
            ))
        })
}

async fn read_reply(s: &mut TcpStream, buf: &mut BytesMut) -> io::Result<RemotingCommand> {
    loop {
        if let Some(frame) = split_frame(buf, DEFAULT_MAX_FRAME).map_err(io::Error::other)? {
            return decode_frame(&frame).map_err(io::Error::other);
        }
        if s.read_buf(buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the connection",
            ));
        }
    }
}
