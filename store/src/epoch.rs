//! The epoch history of a replica's CommitLog (RocketMQ 5 `EpochFileCache`,
//! Kafka leader epochs): one `(epoch, start_offset)` record per master term,
//! in increasing order of both. Entry `i` covers the log bytes from its start
//! up to the next entry's start (the last one up to the log end).
//!
//! Two replicas agree on a prefix of their logs up to the *consistent
//! point*: take the highest epoch both histories hold with the same start
//! offset; the point is the smaller of that epoch's two end offsets.
//! Bytes past it on the slave were never part of the master's history and
//! are truncated. This is RocketMQ 5's `findConsistentPoint`.
//!
//! The file (`epochFileCheckpoint` under the store root) is text, one
//! `epoch start_offset` line per record and a last `crc <crc32c>` line over
//! the lines before it, replaced atomically on every change.

use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, StoreError};

/// File name of the epoch history under the store root (RocketMQ's name).
pub const EPOCH_FILE_NAME: &str = "epochFileCheckpoint";

/// One master term: epoch and the CommitLog offset its first entry has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpochEntry {
    /// The term (monotonic, from the control plane).
    pub epoch: u32,
    /// Log offset where the term's entries start.
    pub start_offset: u64,
}

/// The persisted epoch history of one store.
#[derive(Debug)]
pub struct EpochFile {
    path: PathBuf,
    entries: Vec<EpochEntry>,
}

impl EpochFile {
    /// Opens (or starts empty) the history at `path`.
    pub fn open(path: &Path) -> Result<EpochFile> {
        let entries = match std::fs::read_to_string(path) {
            Ok(text) => parse(&text).map_err(|reason| StoreError::CorruptMetadata {
                path: path.to_path_buf(),
                reason,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).at(path),
        };
        Ok(EpochFile {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// The records, oldest first.
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    /// The newest record.
    pub fn last(&self) -> Option<EpochEntry> {
        self.entries.last().copied()
    }

    /// Records a new term starting at `start_offset`. Appending the last
    /// epoch again is a no-op; an older epoch or offset is refused.
    pub fn append(&mut self, epoch: u32, start_offset: u64) -> Result<()> {
        if let Some(last) = self.last() {
            if epoch == last.epoch {
                return Ok(());
            }
            if epoch < last.epoch || start_offset < last.start_offset {
                return Err(StoreError::Replication(format!(
                    "epoch ({epoch}, {start_offset}) does not follow ({}, {})",
                    last.epoch, last.start_offset
                )));
            }
            if start_offset == last.start_offset {
                // The previous term wrote nothing: it covers no bytes.
                self.entries.pop();
            }
        }
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        self.persist()
    }

    /// After a log truncation to `end`: drops the terms that start at or past it.
    pub fn truncate_suffix(&mut self, end: u64) -> Result<()> {
        let before = self.entries.len();
        self.entries.retain(|e| e.start_offset < end);
        if self.entries.len() != before {
            self.persist()?;
        }
        Ok(())
    }

    /// Replaces the whole history (a slave adopting its master's).
    pub fn replace(&mut self, entries: Vec<EpochEntry>) -> Result<()> {
        validate(&entries).map_err(StoreError::Replication)?;
        self.entries = entries;
        self.persist()
    }

    fn persist(&self) -> Result<()> {
        crate::util::write_atomically(&self.path, render(&self.entries).as_bytes())
    }
}

fn render(entries: &[EpochEntry]) -> String {
    let mut body = String::new();
    for e in entries {
        body.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
    }
    let crc = crc32c::crc32c(body.as_bytes());
    body.push_str(&format!("crc {crc}\n"));
    body
}

fn parse(text: &str) -> std::result::Result<Vec<EpochEntry>, String> {
    let Some(at) = text.trim_end().rfind("crc ") else {
        return Err("missing crc line".into());
    };
    let (body, tail) = text.split_at(at);
    let crc: u32 = tail[4..]
        .trim()
        .parse()
        .map_err(|_| "bad crc line".to_string())?;
    if crc32c::crc32c(body.as_bytes()) != crc {
        return Err("crc mismatch".into());
    }
    let mut out = Vec::new();
    for line in body.lines() {
        let mut it = line.split_whitespace();
        let (Some(e), Some(s), None) = (it.next(), it.next(), it.next()) else {
            return Err(format!("bad line `{line}`"));
        };
        let bad = || format!("bad line `{line}`");
        out.push(EpochEntry {
            epoch: e.parse().map_err(|_| bad())?,
            start_offset: s.parse().map_err(|_| bad())?,
        });
    }
    validate(&out)?;
    Ok(out)
}

fn validate(entries: &[EpochEntry]) -> std::result::Result<(), String> {
    for w in entries.windows(2) {
        if w[1].epoch <= w[0].epoch || w[1].start_offset < w[0].start_offset {
            return Err(format!("records out of order: {:?} then {:?}", w[0], w[1]));
        }
    }
    Ok(())
}

/// End offset of record `i` of `h` in a log ending at `log_end`.
fn end_of(h: &[EpochEntry], i: usize, log_end: u64) -> u64 {
    h.get(i + 1).map_or(log_end, |n| n.start_offset)
}

/// The offset up to which a slave's log (history `slave`, ending at
/// `slave_end`) agrees with a master's (`master`, `master_end`); `None` when
/// they share no term, so the slave must drop its whole log. A slave with an
/// empty history has nothing to keep (0). The result never exceeds either end.
pub fn consistent_point(
    slave: &[EpochEntry],
    slave_end: u64,
    master: &[EpochEntry],
    master_end: u64,
) -> Option<u64> {
    if slave.is_empty() {
        return Some(0);
    }
    for (i, s) in slave.iter().enumerate().rev() {
        if let Some(j) = master
            .iter()
            .position(|m| m.epoch == s.epoch && m.start_offset == s.start_offset)
        {
            let point = end_of(slave, i, slave_end).min(end_of(master, j, master_end));
            return Some(point.max(s.start_offset));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[(u32, u64)]) -> Vec<EpochEntry> {
        v.iter()
            .map(|&(epoch, start_offset)| EpochEntry {
                epoch,
                start_offset,
            })
            .collect()
    }

    #[test]
    fn consistent_point_table() {
        // (slave history, slave end, master history, master end, expected)
        #[allow(clippy::type_complexity)]
        let cases: &[(&[(u32, u64)], u64, &[(u32, u64)], u64, Option<u64>)] = &[
            // Same term, slave behind: keep everything.
            (&[(1, 0)], 500, &[(1, 0)], 900, Some(500)),
            // Same term, slave ahead (unacked tail of a dead master): cut to the master's end.
            (&[(1, 0)], 900, &[(1, 0)], 500, Some(500)),
            // Old master wrote past the new master's term start: cut there.
            (&[(1, 0)], 900, &[(1, 0), (2, 700)], 1200, Some(700)),
            // Old master had its own later term the new master never saw.
            (
                &[(1, 0), (2, 700)],
                800,
                &[(1, 0), (3, 650)],
                1000,
                Some(650),
            ),
            // Shared later term, slave behind inside it.
            (
                &[(1, 0), (2, 700)],
                750,
                &[(1, 0), (2, 700), (3, 900)],
                1000,
                Some(750),
            ),
            // Shared later term, slave's own term after it.
            (
                &[(1, 0), (2, 700), (4, 950)],
                990,
                &[(1, 0), (2, 700), (3, 900)],
                1000,
                Some(900),
            ),
            // Same epoch number, different start: not the same term.
            (
                &[(1, 0), (2, 800)],
                900,
                &[(1, 0), (2, 700)],
                1000,
                Some(700),
            ),
            // Nothing shared.
            (&[(5, 0)], 100, &[(1, 0)], 1000, None),
            // Empty slave.
            (&[], 0, &[(1, 0)], 1000, Some(0)),
            // Master's history starts later (its head was retained away).
            (
                &[(1, 0), (2, 100)],
                300,
                &[(2, 100), (3, 200)],
                400,
                Some(200),
            ),
        ];
        for (i, (s, se, m, me, want)) in cases.iter().enumerate() {
            assert_eq!(consistent_point(&h(s), *se, &h(m), *me), *want, "case {i}");
        }
    }

    #[test]
    fn file_round_trip_append_truncate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EPOCH_FILE_NAME);
        let mut f = EpochFile::open(&path).unwrap();
        assert!(f.entries().is_empty());
        f.append(1, 0).unwrap();
        f.append(1, 50).unwrap(); // same epoch: no-op
        f.append(2, 100).unwrap();
        f.append(3, 100).unwrap(); // term 2 wrote nothing: replaced
        f.append(4, 300).unwrap();
        assert!(f.append(3, 400).is_err());
        assert!(f.append(5, 200).is_err());
        assert_eq!(
            EpochFile::open(&path).unwrap().entries(),
            &h(&[(1, 0), (3, 100), (4, 300)])[..]
        );
        f.truncate_suffix(300).unwrap();
        assert_eq!(
            EpochFile::open(&path).unwrap().entries(),
            &h(&[(1, 0), (3, 100)])[..]
        );
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EPOCH_FILE_NAME);
        let mut f = EpochFile::open(&path).unwrap();
        f.append(1, 0).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("1 0", "1 7")).unwrap();
        assert!(matches!(
            EpochFile::open(&path),
            Err(StoreError::CorruptMetadata { .. })
        ));
        std::fs::write(&path, "garbage").unwrap();
        assert!(EpochFile::open(&path).is_err());
    }
}
