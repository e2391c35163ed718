//! Kafka transactions end to end on the wire (ADR 014): InitProducerId
//! with a transactional id, AddPartitionsToTxn, transactional Produce,
//! EndTxn commit and abort (markers in the log), Fetch read_committed (LSO,
//! aborted transactions), ListOffsets read_committed, zombie fencing, the
//! aborted index and open transactions across a SIGKILL, and abort on
//! timeout.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Instant;

use bytes::Bytes;
use rokka_protocols::kafka::records::{build_v2_batch, with_producer, Record};
use rokka_protocols::kafka::{Reader, Writer};
use support::kafka::{batches, init_producer_id as init, metadata, offset_fetch, produce, Conn};
use support::{Rokka, WAIT};

fn rec(v: &str) -> Record {
    Record {
        timestamp: 1_700_000_000_000,
        key: None,
        value: Some(Bytes::copy_from_slice(v.as_bytes())),
        headers: Vec::new(),
    }
}

/// A transactional batch (attribute 0x10) of `values` from pid/epoch/seq.
fn txn_batch(pid: i64, epoch: i16, seq: i32, values: &[&str]) -> Bytes {
    let recs: Vec<Record> = values.iter().map(|v| rec(v)).collect();
    let mut b = build_v2_batch(0, &recs).to_vec();
    b[21..23].copy_from_slice(&0x10i16.to_be_bytes());
    with_producer(&b, pid, epoch, seq)
}

/// AddPartitionsToTxn v1 of one partition: its error code.
fn add_partition(c: &mut Conn, id: &str, pid: i64, epoch: i16, topic: &str, p: i32) -> i16 {
    let b = c.call(24, 1, |w| {
        w.str(id);
        w.i64(pid);
        w.i16(epoch);
        w.array(&[()], |w, _| {
            w.str(topic);
            w.array(&[p], |w, p| w.i32(*p));
        });
    });
    first_partition_error(&b)
}

/// The first partition's error code of a `throttle, [topic, [partition,
/// error]]` response (AddPartitionsToTxn, TxnOffsetCommit).
fn first_partition_error(b: &Bytes) -> i16 {
    let mut r = Reader::new(b, 0, false);
    r.i32("throttle").unwrap();
    let res = r
        .array("t", |r| {
            r.str("n")?;
            r.array("p", |r| {
                r.i32("i")?;
                r.i16("e")
            })
        })
        .unwrap();
    res[0][0]
}

/// EndTxn at `version`: its error code.
fn end_txn(c: &mut Conn, version: i16, id: &str, pid: i64, epoch: i16, commit: bool) -> i16 {
    let b = c.call(26, version, |w| {
        w.str(id);
        w.i64(pid);
        w.i16(epoch);
        w.bool(commit);
    });
    let mut r = Reader::new(&b, 0, false);
    r.i32("throttle").unwrap();
    r.i16("e").unwrap()
}

/// A Fetch v4 answer of one partition.
struct Fetched {
    hw: i64,
    lso: i64,
    aborted: Option<Vec<(i64, i64)>>,
    records: Bytes,
}

fn fetch(c: &mut Conn, topic: &str, offset: i64, isolation: i8) -> Fetched {
    let b = c.call(1, 4, |w: &mut Writer| {
        w.i32(-1);
        w.i32(0);
        w.i32(1);
        w.i32(1 << 20);
        w.i8(isolation);
        w.array(&[()], |w, _| {
            w.str(topic);
            w.array(&[()], |w, _| {
                w.i32(0);
                w.i64(offset);
                w.i32(1 << 20);
            });
        });
    });
    let mut r = Reader::new(&b, 0, false);
    r.i32("throttle").unwrap();
    let mut res = r
        .array("topics", |r| {
            r.str("t")?;
            r.array("parts", |r| {
                r.i32("p")?;
                assert_eq!(r.i16("e")?, 0);
                let hw = r.i64("hw")?;
                let lso = r.i64("lso")?;
                let aborted = r.narray("aborted", |r| Ok((r.i64("pid")?, r.i64("o")?)))?;
                Ok(Fetched {
                    hw,
                    lso,
                    aborted,
                    records: r.bytes("records")?,
                })
            })
        })
        .unwrap();
    res.remove(0).remove(0)
}

/// ListOffsets v2 latest of partition 0 at `isolation`.
fn latest(c: &mut Conn, topic: &str, isolation: i8) -> i64 {
    let b = c.call(2, 2, |w| {
        w.i32(-1);
        w.i8(isolation);
        w.array(&[()], |w, _| {
            w.str(topic);
            w.array(&[()], |w, _| {
                w.i32(0);
                w.i64(-1);
            });
        });
    });
    let mut r = Reader::new(&b, 0, false);
    r.i32("throttle").unwrap();
    let res = r
        .array("t", |r| {
            r.str("n")?;
            r.array("p", |r| {
                r.i32("i")?;
                r.i16("e")?;
                r.i64("ts")?;
                r.i64("o")
            })
        })
        .unwrap();
    res[0][0]
}

/// Values of the data (non-control) records in `records`.
fn values(records: &[u8]) -> Vec<String> {
    batches(records)
        .into_iter()
        .flat_map(|(_, recs)| recs)
        .filter_map(|r| r.value)
        .filter(|v| v.len() != 6) // control record values are 6 bytes
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .collect()
}

/// Attributes of each batch in `records`.
fn attributes(records: &[u8]) -> Vec<i16> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 61 <= records.len() {
        let len = i32::from_be_bytes(records[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push(i16::from_be_bytes(
            records[at + 21..at + 23].try_into().unwrap(),
        ));
        at += 12 + len;
    }
    out
}

#[test]
fn commit_abort_fencing_and_read_committed() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    metadata(&mut c, "tx");
    let (e, pid, epoch) = init(&mut c, "app", 60_000);
    assert_eq!((e, epoch), (0, 0));
    assert_eq!(init(&mut c, "app", 0).0, 50, "INVALID_TRANSACTION_TIMEOUT");
    assert_eq!(init(&mut c, "", 1000).0, 42, "empty id: INVALID_REQUEST");
    // Not added to the transaction yet: INVALID_TXN_STATE.
    assert_eq!(
        produce(&mut c, "tx", 0, txn_batch(pid, 0, 0, &["a"]), -1).0,
        48
    );
    assert_eq!(add_partition(&mut c, "app", pid, 0, "tx", 0), 0);
    assert_eq!(add_partition(&mut c, "app", pid + 1, 0, "tx", 0), 49);
    assert_eq!(add_partition(&mut c, "app", pid, 0, "tx", 9), 3);
    assert_eq!(
        produce(&mut c, "tx", 0, txn_batch(pid, 0, 0, &["a", "b", "c"]), -1),
        (0, 0)
    );
    // Open: read_committed sees nothing, read_uncommitted everything.
    let f = fetch(&mut c, "tx", 0, 1);
    assert_eq!((f.hw, f.lso, f.records.len()), (3, 0, 0));
    assert_eq!(values(&fetch(&mut c, "tx", 0, 0).records), ["a", "b", "c"]);
    assert_eq!((latest(&mut c, "tx", 0), latest(&mut c, "tx", 1)), (3, 0));
    assert_eq!(end_txn(&mut c, 1, "app", pid, 0, true), 0);
    assert_eq!(
        end_txn(&mut c, 1, "app", pid, 0, true),
        0,
        "a retried commit"
    );
    assert_eq!(
        end_txn(&mut c, 1, "app", pid, 0, false),
        48,
        "abort after commit"
    );
    let f = fetch(&mut c, "tx", 0, 1);
    assert_eq!((f.hw, f.lso), (4, 4), "the COMMIT marker is offset 3");
    assert_eq!(values(&f.records), ["a", "b", "c"]);
    assert_eq!(attributes(&f.records), [0x10, 0x30]);
    assert_eq!(f.aborted, Some(vec![]));

    // An aborted transaction: listed for read_committed readers.
    assert_eq!(add_partition(&mut c, "app", pid, 0, "tx", 0), 0);
    assert_eq!(
        produce(&mut c, "tx", 0, txn_batch(pid, 0, 3, &["x", "y"]), -1),
        (0, 4)
    );
    assert_eq!(end_txn(&mut c, 1, "app", pid, 0, false), 0);
    let f = fetch(&mut c, "tx", 4, 1);
    assert_eq!((f.hw, f.lso), (7, 7));
    assert_eq!(f.aborted, Some(vec![(pid, 4)]));
    assert_eq!(
        fetch(&mut c, "tx", 0, 0).aborted,
        None,
        "read_uncommitted: null"
    );

    // A new producer with the same id fences the old one.
    let (e, pid2, epoch2) = init(&mut c, "app", 60_000);
    assert_eq!((e, pid2, epoch2), (0, pid, 1));
    assert_eq!(
        add_partition(&mut c, "app", pid, 0, "tx", 0),
        47,
        "v1: INVALID_PRODUCER_EPOCH"
    );
    assert_eq!(
        end_txn(&mut c, 2, "app", pid, 0, true),
        90,
        "v2: PRODUCER_FENCED"
    );
    assert_eq!(
        produce(&mut c, "tx", 0, txn_batch(pid, 0, 5, &["z"]), -1).0,
        47
    );

    // Re-init with an open transaction aborts it (epoch bumped twice).
    assert_eq!(add_partition(&mut c, "app", pid, 1, "tx", 0), 0);
    assert_eq!(
        produce(&mut c, "tx", 0, txn_batch(pid, 1, 0, &["open"]), -1),
        (0, 7)
    );
    assert_eq!(fetch(&mut c, "tx", 0, 1).lso, 7);
    assert_eq!(init(&mut c, "app", 60_000), (0, pid, 3));
    let f = fetch(&mut c, "tx", 7, 1);
    assert_eq!((f.hw, f.lso), (9, 9));
    assert_eq!(f.aborted, Some(vec![(pid, 7)]));

    // Open again, then SIGKILL: the aborted index and the open transaction
    // survive the restart; the open one holds the LSO until it ends.
    assert_eq!(add_partition(&mut c, "app", pid, 3, "tx", 0), 0);
    assert_eq!(
        produce(&mut c, "tx", 0, txn_batch(pid, 3, 0, &["late"]), -1),
        (0, 9)
    );
    drop(c);
    let rokka = rokka.kill_then_restart(|_| {});
    let mut c = Conn::open(rokka.kafka);
    let f = fetch(&mut c, "tx", 4, 1);
    assert_eq!((f.hw, f.lso), (10, 9));
    assert_eq!(f.aborted, Some(vec![(pid, 4), (pid, 7)]));
    // The same producer goes on after the restart: its sequence continues
    // (the markers in the log carry none).
    assert_eq!(
        produce(&mut c, "tx", 0, txn_batch(pid, 3, 1, &["later"]), -1),
        (0, 10)
    );
    assert_eq!(end_txn(&mut c, 1, "app", pid, 3, true), 0);
    let f = fetch(&mut c, "tx", 9, 1);
    assert_eq!((f.hw, f.lso), (12, 12));
    assert_eq!(values(&f.records), ["late", "later"]);
    // Again after a restart with the COMMIT marker last in the log.
    drop(c);
    let rokka = rokka.restart();
    let mut c = Conn::open(rokka.kafka);
    assert_eq!(add_partition(&mut c, "app", pid, 3, "tx", 0), 0);
    assert_eq!(
        produce(&mut c, "tx", 0, txn_batch(pid, 3, 2, &["last"]), -1),
        (0, 12)
    );
}

#[test]
fn open_transaction_is_aborted_on_timeout_after_a_crash() {
    let conf = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        conf.path(),
        "transaction.abort.timed.out.transaction.cleanup.interval.ms=100\n",
    )
    .unwrap();
    let path = conf.path().to_str().unwrap().to_string();
    let rokka = Rokka::start_with(0, &["-c", &path]);
    let mut c = Conn::open(rokka.kafka);
    metadata(&mut c, "tt");
    let (_, pid, epoch) = init(&mut c, "slow", 1_000);
    assert_eq!(add_partition(&mut c, "slow", pid, epoch, "tt", 0), 0);
    assert_eq!(
        produce(&mut c, "tt", 0, txn_batch(pid, epoch, 0, &["never"]), -1),
        (0, 0)
    );
    drop(c);
    let rokka = rokka.kill_then_restart(|_| {});
    let mut c = Conn::open(rokka.kafka);
    // Bounded wait for the timer to abort it (a correctness check, not a
    // timing one: the deadline is generous).
    let deadline = Instant::now() + WAIT;
    let f = loop {
        let f = fetch(&mut c, "tt", 0, 1);
        if f.lso == f.hw || Instant::now() > deadline {
            break f;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!((f.hw, f.lso), (2, 2), "no partition stuck behind an LSO");
    assert_eq!(f.aborted, Some(vec![(pid, 0)]));
    assert!(values(&f.records).is_empty() || values(&f.records) == ["never"]);
    // The producer was fenced by the abort.
    assert_eq!(end_txn(&mut c, 2, "slow", pid, epoch, true), 90);
}

/// AddOffsetsToTxn v0 then TxnOffsetCommit v0 of one partition: the two
/// error codes.
fn txn_commit_offset(
    c: &mut Conn,
    id: &str,
    pid: i64,
    epoch: i16,
    group: &str,
    offset: i64,
) -> (i16, i16) {
    let b = c.call(25, 0, |w| {
        w.str(id);
        w.i64(pid);
        w.i16(epoch);
        w.str(group);
    });
    let mut r = Reader::new(&b, 0, false);
    r.i32("throttle").unwrap();
    let added = r.i16("e").unwrap();
    let b = c.call(28, 0, |w| {
        w.str(id);
        w.str(group);
        w.i64(pid);
        w.i16(epoch);
        w.array(&[()], |w, _| {
            w.str("src");
            w.array(&[()], |w, _| {
                w.i32(0);
                w.i64(offset);
                w.nstr(Some("m"));
            });
        });
    });
    (added, first_partition_error(&b))
}

#[test]
fn transactional_offsets_reach_the_group_only_on_commit() {
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    metadata(&mut c, "src");
    let (_, pid, epoch) = init(&mut c, "ctp", 60_000);
    assert_eq!(txn_commit_offset(&mut c, "ctp", pid, epoch, "g", 5), (0, 0));
    assert_eq!(
        offset_fetch(&mut c, "g", "src", &[0])[0][0].0,
        -1,
        "pending until commit"
    );
    assert_eq!(end_txn(&mut c, 1, "ctp", pid, epoch, false), 0);
    assert_eq!(
        offset_fetch(&mut c, "g", "src", &[0])[0][0].0,
        -1,
        "dropped on abort"
    );
    assert_eq!(txn_commit_offset(&mut c, "ctp", pid, epoch, "g", 7), (0, 0));
    assert_eq!(end_txn(&mut c, 1, "ctp", pid, epoch, true), 0);
    assert_eq!(
        offset_fetch(&mut c, "g", "src", &[0])[0][0],
        (7, Some("m".into()))
    );
    // A fenced producer's offsets are refused.
    let (_, _, epoch2) = init(&mut c, "ctp", 60_000);
    assert_eq!(txn_commit_offset(&mut c, "ctp", pid, epoch, "g", 9).0, 47);
    assert_eq!(
        txn_commit_offset(&mut c, "ctp", pid, epoch2, "g", 9),
        (0, 0)
    );
    // Acknowledged pending offsets survive a crash with their transaction.
    drop(c);
    let rokka = rokka.kill_then_restart(|_| {});
    let mut c = Conn::open(rokka.kafka);
    assert_eq!(offset_fetch(&mut c, "g", "src", &[0])[0][0].0, 7);
    assert_eq!(end_txn(&mut c, 1, "ctp", pid, epoch2, true), 0);
    assert_eq!(offset_fetch(&mut c, "g", "src", &[0])[0][0].0, 9);
}

/// A flexible request (header v2: the client id, then empty tagged
/// fields) whose body `body` writes with compact encodings; the response
/// body after its header's tagged fields.
fn call_flexible(c: &mut Conn, key: i16, body: impl FnOnce(&mut Writer)) -> Bytes {
    let b = c.call(key, 0, |w| {
        w.uvarint(0); // header tagged fields
        let mut flex = Writer::new(true);
        body(&mut flex);
        w.raw(&flex.to_bytes());
    });
    assert_eq!(b[0], 0, "response header tagged fields");
    b.slice(1..)
}

#[test]
fn describe_and_list_transactions() {
    use rokka_protocols::kafka::describe_transactions::{
        decode_describe_response, decode_list_response, encode_describe_request,
        ListTransactionsRequest,
    };
    let rokka = Rokka::start();
    let mut c = Conn::open(rokka.kafka);
    metadata(&mut c, "dt");
    let (_, pid, epoch) = init(&mut c, "desc", 30_000);
    assert_eq!(add_partition(&mut c, "desc", pid, epoch, "dt", 0), 0);
    init(&mut c, "idle", 30_000);
    let ids = vec!["desc".to_string(), "nope".to_string()];
    let b = call_flexible(&mut c, 65, |w| encode_describe_request(w, &ids));
    let d = decode_describe_response(&mut Reader::new(&b, 0, true)).unwrap();
    assert_eq!((d[0].error_code, d[0].state.as_str()), (0, "Ongoing"));
    assert_eq!((d[0].producer_id, d[0].timeout_ms), (pid, 30_000));
    assert!(d[0].start_time_ms > 0);
    assert_eq!(
        (d[0].topics[0].name.as_str(), &d[0].topics[0].partitions[..]),
        ("dt", &[0][..])
    );
    assert_eq!(d[1].error_code, 105, "TRANSACTIONAL_ID_NOT_FOUND");
    let req = ListTransactionsRequest {
        state_filters: vec!["Ongoing".into(), "Bogus".into()],
        producer_id_filters: Vec::new(),
    };
    let b = call_flexible(&mut c, 66, |w| req.encode(w));
    let (unknown, txns) = decode_list_response(&mut Reader::new(&b, 0, true)).unwrap();
    assert_eq!(unknown, ["Bogus"]);
    assert_eq!(txns, [("desc".to_string(), pid, "Ongoing".to_string())]);
    let b = call_flexible(&mut c, 66, |w| ListTransactionsRequest::default().encode(w));
    assert_eq!(
        decode_list_response(&mut Reader::new(&b, 0, true))
            .unwrap()
            .1
            .len(),
        2
    );
}
