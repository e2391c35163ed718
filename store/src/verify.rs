//! Offline check of a stopped data directory (`rokka verify`): every
//! CommitLog entry (length, magic, CRC, own offset), and every ConsumeQueue
//! entry against the entry it points at (topic, queue id, offset, size), plus
//! holes, garbage after a queue's end, short queue files, and queues that end
//! before the log's last entry for them. ConsumeQueue files are read, never
//! mapped or grown, so a check alone changes nothing.
//!
//! `--repair` moves the damaged files to `quarantine/` (never deletes): the
//! bytes of a torn log tail (then zeroed in place, as recovery would), later
//! segments holding nothing valid, and the files of every damaged queue, which
//! are then rebuilt from the log. Damaged log entries below the end cannot be
//! repaired (their bytes are lost); they stay and readers skip them (ADR 007).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::commit_log::CommitLog;
use crate::config::StoreConfig;
use crate::consume_queue::{CqEntry, ENTRY_SIZE};
use crate::entry::{read_i32, read_i64, Scanned};
use crate::error::{IoContext, Result, StoreError};
use crate::integrity::{entry_matches, resync, topic_queue, with_entry_at};
use crate::mapped_file::{file_name, list_files};

/// Bytes after the end of the log looked at for a torn tail.
const TAIL_WINDOW: u64 = 1 << 20;
/// Problems listed in full; past this only counted.
const MAX_LISTED: usize = 1000;

/// A damaged range of the CommitLog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDamage {
    /// Offset of the first bad byte.
    pub offset: u64,
    /// Bytes up to the next valid entry (or the end of the written log).
    pub len: u64,
    /// What failed.
    pub reason: String,
}

/// A ConsumeQueue problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueProblem {
    /// Topic.
    pub topic: String,
    /// Queue id.
    pub queue_id: u32,
    /// Logical offset concerned, if one.
    pub offset: Option<u64>,
    /// What is wrong.
    pub what: String,
}

/// What `verify` found (and, with repair, did).
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// First and end offsets of the valid log.
    pub log_start: u64,
    /// End of the last valid entry.
    pub log_end: u64,
    /// Valid log entries.
    pub entries: u64,
    /// Damaged ranges with valid entries after them.
    pub damaged: Vec<LogDamage>,
    /// Invalid bytes after the last valid entry (recovery cuts them).
    pub torn_tail: Option<LogDamage>,
    /// Queues checked.
    pub queues: u64,
    /// Queue entries checked.
    pub queue_entries: u64,
    /// Queue entries that point at damaged log bytes (readers skip them).
    pub queue_entries_on_damage: u64,
    /// Queue problems (listed up to a limit).
    pub queue_problems: Vec<QueueProblem>,
    /// Queue problems not listed.
    pub more_queue_problems: u64,
    /// What `--repair` did.
    pub repaired: Vec<String>,
}

impl VerifyReport {
    /// True when nothing is damaged.
    pub fn is_clean(&self) -> bool {
        self.damaged.is_empty()
            && self.torn_tail.is_none()
            && self.queue_problems.is_empty()
            && self.queue_entries_on_damage == 0
    }

    fn problem(&mut self, topic: &str, queue_id: u32, offset: Option<u64>, what: String) {
        if self.queue_problems.len() < MAX_LISTED {
            self.queue_problems.push(QueueProblem {
                topic: topic.to_string(),
                queue_id,
                offset,
                what,
            });
        } else {
            self.more_queue_problems += 1;
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "commit log: {} valid entries in [{}, {})",
            self.entries, self.log_start, self.log_end
        )?;
        for d in &self.damaged {
            writeln!(
                f,
                "damaged commit log bytes at offset {} ({} bytes): {}",
                d.offset, d.len, d.reason
            )?;
        }
        if let Some(t) = &self.torn_tail {
            writeln!(
                f,
                "torn commit log tail at offset {} ({} bytes): {}",
                t.offset, t.len, t.reason
            )?;
        }
        writeln!(
            f,
            "consume queues: {} queues, {} entries checked, {} pointing at damaged log entries",
            self.queues, self.queue_entries, self.queue_entries_on_damage
        )?;
        for p in &self.queue_problems {
            match p.offset {
                Some(o) => writeln!(
                    f,
                    "queue {}/{} offset {}: {}",
                    p.topic, p.queue_id, o, p.what
                )?,
                None => writeln!(f, "queue {}/{}: {}", p.topic, p.queue_id, p.what)?,
            }
        }
        if self.more_queue_problems > 0 {
            writeln!(
                f,
                "... and {} more queue problems",
                self.more_queue_problems
            )?;
        }
        for r in &self.repaired {
            writeln!(f, "repaired: {r}")?;
        }
        write!(
            f,
            "{}",
            if self.is_clean() {
                "clean"
            } else {
                "DAMAGE FOUND"
            }
        )
    }
}

/// Checks the stopped data directory of `config`; with `repair`, repairs
/// what can be and checks again. Refuses a directory whose lock is held.
pub fn verify(config: &StoreConfig, repair: bool) -> Result<VerifyReport> {
    config.validate()?;
    let root = &config.root_dir;
    if !root.is_dir() {
        return Err(StoreError::Config(format!(
            "{} is not a data directory",
            root.display()
        )));
    }
    let _lock = crate::util::lock_data_dir(root)?;
    let log = CommitLog::open(&config.commit_log_dir, config.commit_log_segment_size)?;
    let (mut report, damaged_queues) = check(config, &log)?;
    if !repair || (report.is_clean()) {
        return Ok(report);
    }
    let mut repaired = Vec::new();
    if let Some(t) = &report.torn_tail {
        repaired.extend(cut_tail(config, &log, t.offset)?);
    }
    drop(log);
    if !damaged_queues.is_empty() {
        repaired.extend(rebuild_queues(config, &damaged_queues, report.log_end)?);
    }
    let log = CommitLog::open(&config.commit_log_dir, config.commit_log_segment_size)?;
    (report, _) = check(config, &log)?;
    report.repaired = repaired;
    Ok(report)
}

/// One pass over the log and the queues.
fn check(config: &StoreConfig, log: &CommitLog) -> Result<(VerifyReport, Vec<(String, u32)>)> {
    let mut r = VerifyReport::default();
    let segs = log.segments();
    let (Some(first), Some(last)) = (segs.first(), segs.last()) else {
        let qs = check_queues(config, log, &HashMap::new(), &mut r)?;
        return Ok((r, qs));
    };
    let top = last.base() + last.size();
    let checkpoint = crate::recovery::read_checkpoint(&config.root_dir.join("checkpoint"))
        .unwrap_or(first.base())
        .min(top);
    r.log_start = first.base();
    let mut pos = first.base();
    // Per queue: the end of its last valid entry in the log.
    let mut ends: HashMap<(String, u32), u64> = HashMap::new();
    while pos < top {
        let Some(seg) = log.segment_for(pos) else {
            break;
        };
        let seg_end = seg.base() + seg.size();
        let step = with_entry_at(log, pos, top, |e| match e {
            Ok(Scanned::Blank) => Ok((seg_end, false)),
            Ok(e) => {
                let (Some(meta), Some((t, q))) = (e.meta(), topic_queue(&e)) else {
                    return Ok((seg_end, false));
                };
                let end = meta.queue_offset + u64::from(meta.count);
                let slot = ends.entry((t.to_string(), q)).or_insert(0);
                *slot = (*slot).max(end);
                Ok((pos + u64::from(meta.total_size), true))
            }
            Err(why) => Err(match why {
                crate::entry::Invalid::Empty => "zeroed bytes",
                crate::entry::Invalid::Corrupt(w) => w,
            }),
        });
        match step {
            None => break,
            Some(Ok((next, entry))) => {
                if entry {
                    r.entries += 1;
                    r.log_end = next;
                }
                pos = next;
            }
            Some(Err(why)) if pos < checkpoint => {
                // Below the checkpoint: bytes once durable are damaged; the
                // offsets stay taken and readers skip them. Not cut.
                let next = resync(log, pos, checkpoint);
                if r.damaged.len() < MAX_LISTED {
                    r.damaged.push(LogDamage {
                        offset: pos,
                        len: next - pos,
                        reason: why.to_string(),
                    });
                }
                r.log_end = r.log_end.max(next);
                pos = next;
            }
            Some(Err(why)) => {
                // Past the checkpoint: the end of the log, torn unless zeros
                // (recovery cuts here too, looking as far ahead).
                let len = (seg_end - pos).min(TAIL_WINDOW) as usize;
                let rest = seg.slice(pos - seg.base(), len).unwrap_or(&[]);
                if let Some(n) = rest.iter().rposition(|b| *b != 0) {
                    r.torn_tail = Some(LogDamage {
                        offset: pos,
                        len: n as u64 + 1,
                        reason: why.to_string(),
                    });
                }
                break;
            }
        }
    }
    let qs = check_queues(config, log, &ends, &mut r)?;
    Ok((r, qs))
}

/// Checks every queue directory; returns the damaged queues.
fn check_queues(
    config: &StoreConfig,
    log: &CommitLog,
    log_ends: &HashMap<(String, u32), u64>,
    r: &mut VerifyReport,
) -> Result<Vec<(String, u32)>> {
    let dir = config.consume_queue_dir();
    let mut queues: Vec<(String, u32)> = Vec::new();
    if let Ok(topics) = std::fs::read_dir(&dir) {
        for t in topics.flatten() {
            let Some(topic) = t.file_name().to_str().map(str::to_string) else {
                continue;
            };
            for q in std::fs::read_dir(t.path()).into_iter().flatten().flatten() {
                if let Some(qid) = q.file_name().to_str().and_then(|s| s.parse().ok()) {
                    queues.push((topic.clone(), qid));
                }
            }
        }
    }
    // Queues the log has entries for but no directory.
    for k in log_ends.keys() {
        if !queues.contains(k) {
            queues.push(k.clone());
        }
    }
    queues.sort();
    let mut damaged = Vec::new();
    for (topic, qid) in queues {
        r.queues += 1;
        let before = r.queue_problems.len() as u64 + r.more_queue_problems;
        let qdir = dir.join(&topic).join(qid.to_string());
        let end = check_queue(config, log, &topic, qid, &qdir, r)?;
        if let Some(log_end) = log_ends.get(&(topic.clone(), qid)) {
            if end < *log_end {
                r.problem(
                    &topic,
                    qid,
                    Some(end),
                    format!("queue ends at {end} but the log has entries up to {log_end}"),
                );
            }
        }
        if r.queue_problems.len() as u64 + r.more_queue_problems > before {
            damaged.push((topic, qid));
        }
    }
    Ok(damaged)
}

/// Checks one queue's files; returns its end offset.
fn check_queue(
    config: &StoreConfig,
    log: &CommitLog,
    topic: &str,
    qid: u32,
    qdir: &Path,
    r: &mut VerifyReport,
) -> Result<u64> {
    let per_file = u64::from(config.consume_queue_entries_per_file);
    let file_bytes = per_file * ENTRY_SIZE;
    let mut bases = list_files(qdir)?;
    bases.retain(|b| b % file_bytes == 0);
    let mut keep = bases.len();
    while keep > 1 && bases[keep - 2] + file_bytes == bases[keep - 1] {
        keep -= 1;
    }
    let bases = &bases[keep.saturating_sub(1).min(bases.len())..];
    let log_min = log.min_offset();
    let top = log.segments().last().map_or(0, |s| s.base() + s.size());
    let mut end = 0;
    let mut cache: Option<(u64, bool)> = None;
    for (i, base) in bases.iter().enumerate() {
        let path = qdir.join(file_name(*base));
        let bytes = std::fs::read(&path).at(&path)?;
        if bytes.len() as u64 != file_bytes {
            r.problem(
                topic,
                qid,
                None,
                format!(
                    "file {} is {} bytes, not {file_bytes}",
                    path.display(),
                    bytes.len()
                ),
            );
        }
        let first = base / ENTRY_SIZE;
        let is_last = i + 1 == bases.len();
        end = first;
        for slot in 0..per_file {
            let off = first + slot;
            let at = (slot * ENTRY_SIZE) as usize;
            let raw = bytes.get(at..at + ENTRY_SIZE as usize);
            let e = raw.and_then(|b| {
                let (phy, size) = (read_i64(b, 0)?, read_i32(b, 8)?);
                (phy >= 0 && size > 0).then(|| CqEntry {
                    phy_offset: phy as u64,
                    size: size as u32,
                    tags_code: read_i64(b, 12).unwrap_or(0),
                })
            });
            let Some(e) = e else {
                if is_last {
                    let junk = bytes.get(at..).map_or(0, |b| {
                        b.chunks(ENTRY_SIZE as usize)
                            .filter(|c| c.iter().any(|x| *x != 0))
                            .count()
                    });
                    if junk > 0 {
                        r.problem(
                            topic,
                            qid,
                            Some(off),
                            format!("{junk} non-empty slots after the queue's end"),
                        );
                    }
                    return Ok(off);
                }
                r.problem(
                    topic,
                    qid,
                    Some(off),
                    "empty or invalid entry (hole)".into(),
                );
                continue;
            };
            end = off + 1;
            if e.phy_offset < log_min {
                continue;
            }
            r.queue_entries += 1;
            let ok = match cache {
                Some((p, ok)) if p == e.phy_offset && ok => true,
                _ => {
                    let v = with_entry_at(log, e.phy_offset, top, |s| match s {
                        Ok(s) => Some(entry_matches(&s, &e, topic, qid, off)),
                        Err(_) => None,
                    })
                    .flatten();
                    match v {
                        Some(true) => {
                            cache = Some((e.phy_offset, true));
                            true
                        }
                        Some(false) => {
                            r.problem(
                                topic,
                                qid,
                                Some(off),
                                format!(
                                    "entry at log offset {} does not match the queue",
                                    e.phy_offset
                                ),
                            );
                            false
                        }
                        None if e.phy_offset + u64::from(e.size) <= r.log_end => {
                            // Damaged log bytes: the offset stays taken; readers skip it.
                            r.queue_entries_on_damage += 1;
                            false
                        }
                        None => {
                            r.problem(
                                topic,
                                qid,
                                Some(off),
                                format!("points past the log end (log offset {})", e.phy_offset),
                            );
                            false
                        }
                    }
                }
            };
            if !ok {
                cache = None;
            }
        }
    }
    Ok(end)
}

/// Moves the invalid tail bytes after `at` to quarantine and zeroes them,
/// with any later segment.
fn cut_tail(config: &StoreConfig, log: &CommitLog, at: u64) -> Result<Vec<String>> {
    let q = quarantine_dir(config);
    std::fs::create_dir_all(&q).at(&q)?;
    let mut done = Vec::new();
    let Some(seg) = log.segment_for(at) else {
        return Ok(done);
    };
    let in_seg = at - seg.base();
    if let Some(bytes) = seg.slice(in_seg, (seg.size() - in_seg) as usize) {
        let keep = bytes.iter().rposition(|b| *b != 0).map_or(0, |n| n + 1);
        let path = q.join(format!("commitlog-tail-{at:020}"));
        std::fs::write(&path, &bytes[..keep]).at(&path)?;
        done.push(format!(
            "saved {keep} torn tail bytes to {}",
            path.display()
        ));
    }
    for s in log.segments().iter().filter(|s| s.base() > seg.base()) {
        let to = q.join(format!("commitlog-{}", file_name(s.base())));
        std::fs::rename(s.path(), &to).at(s.path())?;
        done.push(format!(
            "moved segment {} to {}",
            s.path().display(),
            to.display()
        ));
    }
    seg.zero_tail(in_seg)?;
    done.push(format!("cut the commit log at offset {at}"));
    Ok(done)
}

/// Moves the files of each damaged queue to quarantine and rebuilds them
/// from the whole log.
fn rebuild_queues(
    config: &StoreConfig,
    queues: &[(String, u32)],
    log_end: u64,
) -> Result<Vec<String>> {
    let q = quarantine_dir(config).join("consumequeue");
    let mut done = Vec::new();
    for (topic, qid) in queues {
        let qdir = config.consume_queue_dir().join(topic).join(qid.to_string());
        let to = q.join(topic).join(qid.to_string());
        std::fs::create_dir_all(&to).at(&to)?;
        for base in list_files(&qdir)? {
            let from = qdir.join(file_name(base));
            let dest = unique(&to.join(file_name(base)));
            std::fs::rename(&from, &dest).at(&from)?;
        }
        done.push(format!(
            "moved the files of queue {topic}/{qid} to {} and rebuilt it from the log",
            to.display()
        ));
    }
    let shared = crate::store::open_shared(config.clone(), &prometheus::Registry::new())?;
    let mut w = crate::writer::Writer::new(Arc::clone(&shared));
    crate::queue_check::rebuild_all(&mut w, queues, log_end)?;
    w.publish();
    for cq in shared.cqs.all() {
        cq.flush().at(config.consume_queue_dir())?;
    }
    Ok(done)
}

fn quarantine_dir(config: &StoreConfig) -> PathBuf {
    config.root_dir.join("quarantine")
}

/// `p`, or `p.1`, `p.2`, ... if taken (an earlier repair).
fn unique(p: &Path) -> PathBuf {
    let mut c = p.to_path_buf();
    let mut n = 0;
    while c.exists() {
        n += 1;
        c = p.with_extension(n.to_string());
    }
    c
}
