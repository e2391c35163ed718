//! The two damage findings of issue 10, repeated against the real `rokka`
//! process as reported (Kafka load, SIGKILL, overwrite, restart), and
//! `rokka verify` on the stopped data directory.

mod support;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use bytes::Bytes;
use rokka_protocols::kafka::records::{build_v2_batch, Record};
use support::kafka::{batches, fetch, metadata, produce, Conn};
use support::Rokka;

fn rec(batch: u64, i: u64) -> Record {
    Record {
        timestamp: 1_700_000_000_000,
        key: None,
        value: Some(Bytes::from(format!("batch {batch} record {i}"))),
        headers: Vec::new(),
    }
}

fn produce_batch(c: &mut Conn, batch: u64) -> i64 {
    let recs: Vec<Record> = (0..3).map(|i| rec(batch, i)).collect();
    let (err, base) = produce(c, "it", 0, build_v2_batch(0, &recs), 1);
    assert_eq!(err, 0);
    base
}

/// Every record from `from` on, as (offset, value), following the fetch's
/// batches until the high watermark.
fn read_all(c: &mut Conn, from: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut next = from;
    for _ in 0..100 {
        let (err, hw, records) = fetch(c, "it", 0, next, 100);
        assert_eq!(err, 0);
        if next >= hw {
            break;
        }
        for (base, recs) in batches(&records) {
            for (i, r) in recs.iter().enumerate() {
                let off = base + i as i64;
                if off >= next {
                    let v = String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap();
                    out.push((off, v));
                }
            }
        }
        match out.last() {
            Some((o, _)) if *o + 1 > next => next = *o + 1,
            _ => break,
        }
    }
    out
}

fn overwrite(path: &Path, pos: u64, bytes: &[u8]) {
    let mut f = OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(pos)).unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
}

/// The CommitLog end recorded by the last checkpoint.
fn checkpoint(data: &Path) -> u64 {
    let b = std::fs::read(data.join("checkpoint")).unwrap();
    u64::from_be_bytes(b[4..12].try_into().unwrap())
}

fn verify(data: &Path, repair: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rokka"));
    cmd.arg("--data-dir").arg(data).arg("verify");
    if repair {
        cmd.arg("--repair");
    }
    cmd.stdin(Stdio::null()).env_remove("ROKKA_CONFIG");
    cmd.output().unwrap()
}

fn expected(batches: std::ops::Range<u64>) -> Vec<(i64, String)> {
    batches
        .flat_map(|b| (0..3).map(move |i| ((b * 3 + i) as i64, format!("batch {b} record {i}"))))
        .collect()
}

#[test]
fn damaged_queue_tail_and_damaged_log_entry_after_kill() {
    let rokka = Rokka::start_capturing_log();
    let mut c = Conn::open(rokka.kafka);
    // Metadata auto-creates the topic.
    assert_eq!(metadata(&mut c, "it").topics[0].error, 0);
    for b in 0..30 {
        assert_eq!(produce_batch(&mut c, b), (b * 3) as i64);
    }
    // A running broker's directory is refused.
    let out = verify(&rokka.data_dir(), false);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // Let the flusher write the checkpoint, as after a load.
    std::thread::sleep(Duration::from_millis(1500));

    // Finding 1: 0xFF over the newest ConsumeQueue file's last 20 written bytes.
    let mut report = String::new();
    let rokka = rokka.kill_then_restart(|data| {
        let cq = data.join("consumequeue/it/0/00000000000000000000");
        overwrite(&cq, 89 * 20, &[0xFF; 20]);
        let out = verify(data, false);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        report = String::from_utf8(out.stdout).unwrap();
    });
    assert!(report.contains("queue it/0"), "{report}");
    rokka.logged(&["damaged ConsumeQueue tail", "it"]);
    let mut c = Conn::open(rokka.kafka);
    assert_eq!(produce_batch(&mut c, 30), 90, "no offset handed out twice");
    assert_eq!(read_all(&mut c, 0), expected(0..31));
    std::thread::sleep(Duration::from_millis(1500));

    // Finding 2: 0xFF over the newest CommitLog segment's last 20 written bytes.
    let rokka = rokka.kill_then_restart(|data| {
        let end = checkpoint(data);
        overwrite(
            &data.join("commitlog/00000000000000000000"),
            end - 20,
            &[0xFF; 20],
        );
        let out = verify(data, false);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("damaged commit log bytes"), "{text}");
    });
    let mut c = Conn::open(rokka.kafka);
    // The damaged batch (offsets 90..93) keeps its offsets; the next one follows.
    assert_eq!(produce_batch(&mut c, 31), 93);
    let mut want = expected(0..30);
    want.extend(expected(31..32));
    assert_eq!(read_all(&mut c, 0), want);
    // A consumer positioned at the damage moves on to the next batch.
    let (err, _, records) = fetch(&mut c, "it", 0, 91, 100);
    assert_eq!(err, 0);
    assert_eq!(batches(&records)[0].0, 93);
    rokka.logged(&["skipping a damaged commit log entry", "it"]);
    assert!(
        rokka
            .metrics()
            .lines()
            .any(|l| l == "rokka_store_corrupt_entries_total 1"),
        "{}",
        rokka.metrics()
    );
}
