//! A small blocking RocketMQ remoting client for `rokka admin`: one TCP
//! connection, requests encoded with `rokka-protocols`, each answer matched
//! by `opaque` (broker-initiated frames are skipped). Every connect and read
//! is bounded by the `--timeout-ms` of the command line.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::BytesMut;
use rokka_protocols::remoting::{
    decode_frame, encode_frame, split_frame, ExtFields, RemotingCommand, DEFAULT_MAX_FRAME,
};

use super::AdminError;

/// A connection to a broker or NameServer.
#[derive(Debug)]
pub struct Client {
    addr: String,
    stream: TcpStream,
    buf: BytesMut,
    opaque: i32,
}

impl Client {
    /// Connects to `addr` (`host:port`) within `timeout`.
    pub fn connect(addr: &str, timeout: Duration) -> Result<Client, AdminError> {
        let unreachable = |reason: String| AdminError::Unreachable {
            addr: addr.to_owned(),
            reason,
        };
        let resolved: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| unreachable(e.to_string()))?
            .collect();
        let mut last = "no address".to_owned();
        for a in resolved {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(Some(timeout))
                        .and_then(|_| stream.set_write_timeout(Some(timeout)))
                        .map_err(|e| unreachable(e.to_string()))?;
                    let _ = stream.set_nodelay(true);
                    return Ok(Client {
                        addr: addr.to_owned(),
                        stream,
                        buf: BytesMut::new(),
                        opaque: 0,
                    });
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(unreachable(last))
    }

    /// Sends a request and returns its response, whatever its code.
    pub fn call(
        &mut self,
        code: i32,
        ext: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<RemotingCommand, AdminError> {
        let mut fields = ExtFields::default();
        for (k, v) in ext {
            fields.insert(*k, v.as_str());
        }
        let mut cmd = RemotingCommand::request(code, fields);
        cmd.body = body.into();
        self.opaque += 1;
        cmd.opaque = self.opaque;
        let mut out = BytesMut::new();
        encode_frame(&cmd, &mut out);
        self.stream.write_all(&out).map_err(|e| self.io_error(e))?;
        loop {
            let frame = self.read_frame()?;
            if frame.is_response() && frame.opaque == self.opaque {
                return Ok(frame);
            }
        }
    }

    /// Like [`Client::call`], but a response code other than SUCCESS is an
    /// error naming the code and the broker's remark.
    pub fn call_ok(
        &mut self,
        code: i32,
        ext: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<RemotingCommand, AdminError> {
        let r = self.call(code, ext, body)?;
        if r.code != 0 {
            return Err(AdminError::Refused {
                code: r.code,
                remark: r.remark.unwrap_or_default(),
            });
        }
        Ok(r)
    }

    fn io_error(&self, e: std::io::Error) -> AdminError {
        AdminError::Unreachable {
            addr: self.addr.clone(),
            reason: e.to_string(),
        }
    }

    fn read_frame(&mut self) -> Result<RemotingCommand, AdminError> {
        loop {
            match split_frame(&mut self.buf, DEFAULT_MAX_FRAME) {
                Ok(Some(f)) => {
                    return decode_frame(&f).map_err(|e| AdminError::Protocol(e.to_string()))
                }
                Ok(None) => {}
                Err(e) => return Err(AdminError::Protocol(e.to_string())),
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(AdminError::Unreachable {
                        addr: self.addr.clone(),
                        reason: "connection closed".into(),
                    })
                }
                Ok(n) => self
                    .buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) => return Err(self.io_error(e)),
            }
        }
    }
}
