//! openraft type configuration and the cluster RPC transport.
//!
//! One TCP port per node carries everything: Raft's own RPCs (append, vote, snapshot) and
//! the cluster's (heartbeats and proposals forwarded to the leader, learner joins). A frame
//! is a 4-byte big-endian length followed by that many bytes of JSON; a request gets exactly
//! one reply frame on the same connection.

use std::io;
use std::io::Cursor;
use std::time::Duration;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::state::{Command, CommandResult, NodeId};
use crate::Heartbeat;

openraft::declare_raft_types!(
    /// rokka-cluster's openraft type configuration.
    pub TypeConfig:
        D = Command,
        R = CommandResult,
        NodeId = NodeId,
        Node = BasicNode,
        SnapshotData = Cursor<Vec<u8>>,
);

/// The largest frame accepted (a snapshot of the whole cluster state fits easily).
const MAX_FRAME: usize = 64 << 20;

/// A request on the cluster port.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Rpc {
    Append(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    Snapshot(InstallSnapshotRequest<TypeConfig>),
    /// Soft-state heartbeat for the leader's controller.
    Heartbeat(Heartbeat),
    /// A command forwarded to the leader.
    Write(Command),
    /// A non-voter asks the leader to add it as a learner.
    Join {
        id: NodeId,
        addr: String,
    },
    /// An operator asks the leader to make a node a voter (added as a learner
    /// first when it is not one yet).
    AddVoter {
        id: NodeId,
        addr: String,
    },
    /// An operator asks the leader to remove a node from the state and from
    /// the Raft membership.
    RemoveNode {
        id: NodeId,
    },
}

/// The reply to an [`Rpc`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    Append(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    Snapshot(Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>),
    /// Heartbeat, write or join outcome; `Err` carries a reason (e.g. not the leader).
    Write(Result<CommandResult, String>),
}

/// Writes one frame.
pub(crate) async fn write_frame<T: Serialize>(s: &mut TcpStream, v: &T) -> io::Result<()> {
    let body = serde_json::to_vec(v).map_err(io::Error::other)?;
    if body.len() > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
    buf.extend_from_slice(&body);
    s.write_all(&buf).await
}

/// Reads one frame; `Ok(None)` on a clean end of stream.
pub(crate) async fn read_frame<T: DeserializeOwned>(s: &mut TcpStream) -> io::Result<Option<T>> {
    let mut len = [0u8; 4];
    match s.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes"),
        ));
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A connection to one peer, opened lazily and dropped on any error.
#[derive(Debug)]
pub(crate) struct Peer {
    addr: String,
    conn: Option<TcpStream>,
}

/// Why a call to a peer failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Could not connect.
    Connect(io::Error),
    /// Connected, but the exchange failed or timed out.
    Io(io::Error),
}

impl Peer {
    pub(crate) fn new(addr: String) -> Self {
        Self { addr, conn: None }
    }

    /// Sends `rpc` and waits for its reply, all within `timeout`.
    pub(crate) async fn call(&mut self, rpc: &Rpc, timeout: Duration) -> Result<Reply, CallError> {
        let fut = async {
            if self.conn.is_none() {
                let s = TcpStream::connect(&self.addr)
                    .await
                    .map_err(CallError::Connect)?;
                let _ = s.set_nodelay(true);
                self.conn = Some(s);
            }
            let Some(s) = self.conn.as_mut() else {
                return Err(CallError::Io(io::Error::other("no connection")));
            };
            write_frame(s, rpc).await.map_err(CallError::Io)?;
            match read_frame(s).await.map_err(CallError::Io)? {
                Some(r) => Ok(r),
                None => Err(CallError::Io(io::ErrorKind::UnexpectedEof.into())),
            }
        };
        let res = match tokio::time::timeout(timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(CallError::Io(io::ErrorKind::TimedOut.into())),
        };
        if res.is_err() {
            self.conn = None;
        }
        res
    }
}

/// Creates [`PeerNetwork`]s for openraft.
#[derive(Debug, Clone, Default)]
pub(crate) struct NetworkFactory;

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = PeerNetwork;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerNetwork {
        PeerNetwork {
            target,
            peer: Peer::new(node.addr.clone()),
        }
    }
}

/// openraft's view of one peer.
#[derive(Debug)]
pub(crate) struct PeerNetwork {
    target: NodeId,
    peer: Peer,
}

type RpcErr<E = openraft::error::Infallible> = RPCError<NodeId, BasicNode, RaftError<NodeId, E>>;

impl PeerNetwork {
    async fn send<E: std::error::Error>(
        &mut self,
        rpc: Rpc,
        opt: &RPCOption,
    ) -> Result<Reply, RpcErr<E>> {
        self.peer
            .call(&rpc, opt.hard_ttl())
            .await
            .map_err(|e| match e {
                CallError::Connect(e) => RPCError::Unreachable(Unreachable::new(&e)),
                CallError::Io(e) => RPCError::Network(NetworkError::new(&e)),
            })
    }

    fn unexpected<E: std::error::Error>() -> RpcErr<E> {
        RPCError::Network(NetworkError::new(&io::Error::other(
            "unexpected reply type",
        )))
    }
}

impl RaftNetwork<TypeConfig> for PeerNetwork {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RpcErr> {
        match self.send(Rpc::Append(rpc), &option).await? {
            Reply::Append(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(Self::unexpected()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RpcErr<InstallSnapshotError>> {
        match self.send(Rpc::Snapshot(rpc), &option).await? {
            Reply::Snapshot(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(Self::unexpected()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RpcErr> {
        match self.send(Rpc::Vote(rpc), &option).await? {
            Reply::Vote(r) => {
                r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
            }
            _ => Err(Self::unexpected()),
        }
    }
}
