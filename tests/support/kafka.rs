//! A small blocking Kafka client on the `rokka-protocols` wire codec
//! (request header v1, non-flexible bodies) and the requests several tests
//! send. Reads time out after [`WAIT`].

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use bytes::Bytes;
use rokka_protocols::kafka::records::{decode_v2_records, Record};
use rokka_protocols::kafka::{Reader, Writer};

use super::WAIT;

/// The client id every request carries.
pub const CLIENT_ID: &str = "rokka-tests";

/// A blocking Kafka connection.
pub struct Conn {
    /// The socket, for tests that write raw bytes.
    pub s: TcpStream,
    corr: i32,
}

impl Conn {
    /// Connects (bounded) to a Kafka listener.
    pub fn open(addr: SocketAddr) -> Conn {
        let s = TcpStream::connect_timeout(&addr, WAIT).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        Conn { s, corr: 0 }
    }

    /// Sends a request (header v1: key, version, correlation id, client id)
    /// and returns its correlation id.
    pub fn send(&mut self, key: i16, version: i16, body: impl FnOnce(&mut Writer)) -> i32 {
        self.corr += 1;
        let mut w = Writer::new(false);
        w.i16(key);
        w.i16(version);
        w.i32(self.corr);
        w.str(CLIENT_ID);
        body(&mut w);
        let b = w.to_bytes();
        let mut f = (b.len() as i32).to_be_bytes().to_vec();
        f.extend_from_slice(&b);
        self.s.write_all(&f).unwrap();
        self.corr
    }

    /// Reads one response; returns (correlation id, body after it).
    pub fn recv(&mut self) -> (i32, Bytes) {
        let mut n = [0u8; 4];
        self.s.read_exact(&mut n).unwrap();
        let len = usize::try_from(i32::from_be_bytes(n)).expect("frame length");
        assert!(len >= 4, "frame of {len} bytes has no correlation id");
        let mut b = vec![0u8; len];
        self.s.read_exact(&mut b).unwrap();
        let b = Bytes::from(b);
        (i32::from_be_bytes([b[0], b[1], b[2], b[3]]), b.slice(4..))
    }

    /// Sends a request and returns the body of its response, asserting the
    /// correlation id.
    pub fn call(&mut self, key: i16, version: i16, body: impl FnOnce(&mut Writer)) -> Bytes {
        let c = self.send(key, version, body);
        let (got, b) = self.recv();
        assert_eq!(got, c, "correlation id");
        b
    }

    /// True when the peer closed the connection (or the read failed).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.s.read(&mut b), Ok(0) | Err(_))
    }
}

/// One topic of a Metadata answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub error: i16,
    pub name: String,
    pub partitions: usize,
}

/// A Metadata answer, brokers left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub cluster: Option<String>,
    pub controller: i32,
    pub topics: Vec<TopicMetadata>,
}

/// Metadata v4 of `topic` with auto-creation.
pub fn metadata(c: &mut Conn, topic: &str) -> Metadata {
    let b = c.call(3, 4, |w| {
        w.array(&[topic], |w, t| w.str(t));
        w.bool(true);
    });
    let mut r = Reader::new(&b, 0, false);
    r.i32("throttle").unwrap();
    r.array("brokers", |r| {
        r.i32("id")?;
        r.str("host")?;
        r.i32("port")?;
        r.nstr("rack")
    })
    .unwrap();
    let cluster = r.nstr("cluster").unwrap();
    let controller = r.i32("controller").unwrap();
    let topics = r
        .array("topics", |r| {
            let error = r.i16("err")?;
            let name = r.str("name")?;
            r.bool("internal")?;
            let parts = r.array("parts", |r| {
                r.i16("e")?;
                r.i32("p")?;
                r.i32("leader")?;
                r.array("replicas", |r| r.i32("n"))?;
                r.array("isr", |r| r.i32("n"))
            })?;
            Ok(TopicMetadata {
                error,
                name,
                partitions: parts.len(),
            })
        })
        .unwrap();
    Metadata {
        cluster,
        controller,
        topics,
    }
}

/// Produce v3 of one batch to `topic`/`partition`; returns (error, base
/// offset). Not for acks 0, which gets no answer.
pub fn produce(
    c: &mut Conn,
    topic: &str,
    partition: i32,
    batch: impl AsRef<[u8]>,
    acks: i16,
) -> (i16, i64) {
    let b = c.call(0, 3, |w| {
        w.nstr(None);
        w.i16(acks);
        w.i32(5000);
        w.array(&[()], |w, _| {
            w.str(topic);
            w.array(&[()], |w, _| {
                w.i32(partition);
                w.bytes(batch.as_ref());
            });
        });
    });
    let mut r = Reader::new(&b, 0, false);
    let res = r
        .array("topics", |r| {
            r.str("name")?;
            r.array("parts", |r| {
                r.i32("p")?;
                let e = r.i16("e")?;
                let o = r.i64("o")?;
                r.i64("t")?;
                Ok((e, o))
            })
        })
        .unwrap();
    res[0][0]
}

/// Fetch v4 of one partition from `offset`, waiting up to `wait_ms`;
/// returns (error, high watermark, record batches).
pub fn fetch(
    c: &mut Conn,
    topic: &str,
    partition: i32,
    offset: i64,
    wait_ms: i32,
) -> (i16, i64, Bytes) {
    fetch_version(c, 4, topic, partition, offset, wait_ms)
}

/// Fetch v0–v4 (at least one byte, at most 1 MiB, read-uncommitted) of one
/// partition from `offset`, waiting up to `wait_ms`; returns (error, high
/// watermark, records as stored or down-converted for the version).
pub fn fetch_version(
    c: &mut Conn,
    version: i16,
    topic: &str,
    partition: i32,
    offset: i64,
    wait_ms: i32,
) -> (i16, i64, Bytes) {
    assert!((0..=4).contains(&version), "Fetch v{version}");
    let b = c.call(1, version, |w| {
        w.i32(-1);
        w.i32(wait_ms);
        w.i32(1);
        if version >= 3 {
            w.i32(1 << 20);
        }
        if version >= 4 {
            w.i8(0);
        }
        w.array(&[()], |w, _| {
            w.str(topic);
            w.array(&[()], |w, _| {
                w.i32(partition);
                w.i64(offset);
                w.i32(1 << 20);
            });
        });
    });
    let mut r = Reader::new(&b, 0, false);
    if version >= 1 {
        r.i32("throttle").unwrap();
    }
    let res = r
        .array("topics", |r| {
            r.str("t")?;
            r.array("parts", |r| {
                r.i32("p")?;
                let e = r.i16("e")?;
                let hw = r.i64("hw")?;
                if version >= 4 {
                    r.i64("lso")?;
                    r.array("aborted", |r| {
                        r.i64("pid")?;
                        r.i64("o")
                    })?;
                }
                Ok((e, hw, r.bytes("records")?))
            })
        })
        .unwrap();
    res[0][0].clone()
}

/// The v2 batches of a fetched record set: (base offset, records) each.
pub fn batches(records: &[u8]) -> Vec<(i64, Vec<Record>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= records.len() {
        let base = i64::from_be_bytes(records[at..at + 8].try_into().unwrap());
        let len = i32::from_be_bytes(records[at + 8..at + 12].try_into().unwrap());
        let end = at + 12 + usize::try_from(len).expect("batch length");
        out.push((base, decode_v2_records(&records[at..end]).unwrap()));
        at = end;
    }
    out
}

/// Every record of a fetched record set.
pub fn all_records(records: &[u8]) -> Vec<Record> {
    batches(records).into_iter().flat_map(|(_, r)| r).collect()
}

/// A JoinGroup answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub error: i16,
    pub generation: i32,
    pub leader: String,
    pub member: String,
    /// How many members the answer lists (only the leader gets them).
    pub members: usize,
}

/// JoinGroup v0–v5 of `group` (protocol `range`, metadata `meta`, 10 s
/// timeouts, no group instance id) as `member` ("" for a new one).
pub fn join(c: &mut Conn, version: i16, group: &str, member: &str) -> Joined {
    assert!((0..=5).contains(&version), "JoinGroup v{version}");
    let b = c.call(11, version, |w| {
        w.str(group);
        w.i32(10_000);
        if version >= 1 {
            w.i32(10_000);
        }
        w.str(member);
        if version >= 5 {
            w.nstr(None);
        }
        w.str("consumer");
        w.array(&[()], |w, _| {
            w.str("range");
            w.bytes(b"meta");
        });
    });
    let mut r = Reader::new(&b, 0, false);
    if version >= 2 {
        r.i32("throttle").unwrap();
    }
    let error = r.i16("e").unwrap();
    let generation = r.i32("gen").unwrap();
    r.str("proto").unwrap();
    let leader = r.str("leader").unwrap();
    let me = r.str("member").unwrap();
    let members = r
        .array("members", |r| {
            r.str("id")?;
            if version >= 5 {
                r.nstr("instance")?;
            }
            r.bytes("md")
        })
        .unwrap();
    Joined {
        error,
        generation,
        leader,
        member: me,
        members: members.len(),
    }
}

/// LeaveGroup v0; returns the error code.
pub fn leave(c: &mut Conn, group: &str, member: &str) -> i16 {
    let b = c.call(13, 0, |w| {
        w.str(group);
        w.str(member);
    });
    Reader::new(&b, 0, false).i16("e").unwrap()
}

/// OffsetCommit v2 (default retention) of `parts` — (partition, offset,
/// metadata) — of `topic`; returns the error codes per topic and partition.
pub fn offset_commit(
    c: &mut Conn,
    group: &str,
    generation: i32,
    member: &str,
    topic: &str,
    parts: &[(i32, i64, &str)],
) -> Vec<Vec<i16>> {
    let b = c.call(8, 2, |w| {
        w.str(group);
        w.i32(generation);
        w.str(member);
        w.i64(-1);
        w.array(&[()], |w, _| {
            w.str(topic);
            w.array(parts, |w, (p, o, m)| {
                w.i32(*p);
                w.i64(*o);
                w.nstr(Some(m));
            });
        });
    });
    let mut r = Reader::new(&b, 0, false);
    r.array("t", |r| {
        r.str("n")?;
        r.array("p", |r| {
            r.i32("p")?;
            r.i16("e")
        })
    })
    .unwrap()
}

/// OffsetFetch v1 of `partitions` of `topic`; returns (offset, metadata)
/// per topic and partition.
pub fn offset_fetch(
    c: &mut Conn,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> Vec<Vec<(i64, Option<String>)>> {
    let b = c.call(9, 1, |w| {
        w.str(group);
        w.array(&[()], |w, _| {
            w.str(topic);
            w.array(partitions, |w, p| w.i32(*p));
        });
    });
    let mut r = Reader::new(&b, 0, false);
    r.array("t", |r| {
        r.str("n")?;
        r.array("p", |r| {
            r.i32("p")?;
            let o = r.i64("o")?;
            let m = r.nstr("m")?;
            r.i16("e")?;
            Ok((o, m))
        })
    })
    .unwrap()
}

/// OffsetForLeaderEpoch v2 for one partition, as a consumer validating its
/// position after a leader change sends it: `(error, leader epoch, end
/// offset)`.
pub fn epoch_end(
    c: &mut Conn,
    topic: &str,
    partition: i32,
    current_leader_epoch: i32,
    leader_epoch: i32,
) -> (i16, i32, i64) {
    use rokka_protocols::kafka::offset_for_leader_epoch::{
        decode_response, EpochPartition, OffsetForLeaderEpochRequest,
    };
    let req = OffsetForLeaderEpochRequest {
        topics: vec![(
            topic.to_string(),
            vec![EpochPartition {
                partition,
                current_leader_epoch,
                leader_epoch,
            }],
        )],
    };
    let b = c.call(23, 2, |w| req.encode(w, 2));
    let got = decode_response(&mut Reader::new(&b, 0, false), 2).unwrap();
    let p = &got[0].1[0];
    (p.error_code, p.leader_epoch, p.end_offset)
}

/// CreateTopics v0 of one topic without configs: its error code.
pub fn create_topic(c: &mut Conn, name: &str, partitions: i32, replication_factor: i16) -> i16 {
    let b = c.call(19, 0, |w| {
        w.array(&[()], |w, _| {
            w.str(name);
            w.i32(partitions);
            w.i16(replication_factor);
            w.array_len(Some(0));
            w.array_len(Some(0));
        });
        w.i32(5000);
    });
    let mut r = Reader::new(&b, 0, false);
    let res = r
        .array("topics", |r| {
            r.str("name")?;
            r.i16("e")
        })
        .unwrap();
    res[0]
}

/// SyncGroup v0 of `member` at `generation`, giving each of `assignments`
/// (member, bytes) as a leader does: (error code, this member's assignment).
pub fn sync_group(
    c: &mut Conn,
    group: &str,
    generation: i32,
    member: &str,
    assignments: &[(&str, &[u8])],
) -> (i16, Bytes) {
    let b = c.call(14, 0, |w| {
        w.str(group);
        w.i32(generation);
        w.str(member);
        w.array(assignments, |w, (m, a)| {
            w.str(m);
            w.bytes(a);
        });
    });
    let mut r = Reader::new(&b, 0, false);
    let e = r.i16("e").unwrap();
    (e, r.bytes("a").unwrap())
}

/// Heartbeat v0; returns the error code.
pub fn heartbeat(c: &mut Conn, group: &str, generation: i32, member: &str) -> i16 {
    let b = c.call(12, 0, |w| {
        w.str(group);
        w.i32(generation);
        w.str(member);
    });
    Reader::new(&b, 0, false).i16("e").unwrap()
}

/// InitProducerId v1 with a transactional id: (error, pid, epoch).
pub fn init_producer_id(c: &mut Conn, id: &str, timeout_ms: i32) -> (i16, i64, i16) {
    let b = c.call(22, 1, |w| {
        w.nstr(Some(id));
        w.i32(timeout_ms);
    });
    let mut r = Reader::new(&b, 0, false);
    r.i32("throttle").unwrap();
    (
        r.i16("e").unwrap(),
        r.i64("pid").unwrap(),
        r.i16("epoch").unwrap(),
    )
}
