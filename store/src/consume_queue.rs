//! ConsumeQueue: per (topic, queue id), one 20-byte entry per logical offset:
//!
//! ```text
//!  i64 commitLogOffset | i32 size | i64 tagsCode
//! ```
//!
//! Files hold a fixed number of entries and are named by the byte position of
//! their first entry (20 digits), as RocketMQ names them. Logical offset `n`
//! lives in file `n / entries_per_file` at byte `(n % entries_per_file) * 20`.
//! Every record of a Kafka batch has its own entry, all pointing at the batch.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use tokio::sync::Notify;

use crate::entry::{read_i32, read_i64};
use crate::error::{IoContext, Result};
use crate::mapped_file::{file_name, list_files, MappedFile};

/// Bytes of one ConsumeQueue entry.
pub const ENTRY_SIZE: u64 = 20;

/// One entry: where a logical offset's message or batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqEntry {
    /// CommitLog offset of the entry (a batch for Kafka records).
    pub phy_offset: u64,
    /// Size of the CommitLog entry.
    pub size: u32,
    /// Tags code (Java hash of the tag, 0 without tag).
    pub tags_code: i64,
}

/// The queue of one (topic, queue id).
#[derive(Debug)]
pub struct ConsumeQueue {
    topic: String,
    queue_id: u32,
    dir: PathBuf,
    per_file: u64,
    files: RwLock<Vec<Arc<MappedFile>>>,
    /// First readable offset.
    min: AtomicU64,
    /// Next offset readers may not reach (Release after the entries are written).
    max: AtomicU64,
    /// Next offset the writer assigns (writer thread only; ahead of `max` mid-round).
    written: AtomicU64,
    flushed: AtomicU64,
    /// A file of the queue was shorter than its fixed size at open (cut by a
    /// crash or by hand) and was grown back with zeros: its tail is suspect.
    regrown: bool,
    /// Woken when `max` grows: the long-poll waiters of this queue.
    pub(crate) notify: Notify,
}

impl ConsumeQueue {
    fn open(topic: &str, queue_id: u32, dir: PathBuf, per_file: u32) -> Result<ConsumeQueue> {
        let per_file = per_file as u64;
        let file_bytes = per_file * ENTRY_SIZE;
        let mut bases = list_files(&dir)?;
        bases.retain(|b| b % file_bytes == 0);
        // Keep the contiguous run that ends with the newest file.
        let mut keep = bases.len();
        while keep > 1 && bases[keep - 2] + file_bytes == bases[keep - 1] {
            keep -= 1;
        }
        let mut files = Vec::new();
        let mut regrown = false;
        for b in bases.iter().skip(keep.saturating_sub(1).min(bases.len())) {
            let path = dir.join(file_name(*b));
            regrown |= std::fs::metadata(&path).is_ok_and(|m| m.len() != file_bytes);
            files.push(Arc::new(MappedFile::open(&path, *b, file_bytes)?));
        }
        let cq = ConsumeQueue {
            topic: topic.to_string(),
            queue_id,
            dir,
            per_file,
            files: RwLock::new(files),
            min: AtomicU64::new(0),
            max: AtomicU64::new(0),
            written: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            regrown,
            notify: Notify::new(),
        };
        let (min, max) = cq.scan_bounds();
        // Records deleted through DeleteRecords stay deleted across restarts.
        let min = min.max(read_logical_min(&cq.dir).unwrap_or(0)).min(max);
        cq.min.store(min, Ordering::Release);
        cq.max.store(max, Ordering::Release);
        cq.written.store(max, Ordering::Release);
        cq.flushed.store(max, Ordering::Release);
        Ok(cq)
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }
    /// The queue id.
    pub fn queue_id(&self) -> u32 {
        self.queue_id
    }
    /// First readable logical offset.
    pub fn min_offset(&self) -> u64 {
        self.min.load(Ordering::Acquire)
    }
    /// One past the last readable logical offset.
    pub fn max_offset(&self) -> u64 {
        self.max.load(Ordering::Acquire)
    }

    fn file_base_offset(f: &MappedFile) -> u64 {
        f.base() / ENTRY_SIZE
    }

    /// First file's first offset and the offset after the last non-empty entry.
    fn scan_bounds(&self) -> (u64, u64) {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        let Some(last) = files.last() else {
            return (0, 0);
        };
        let first = Self::file_base_offset(&files[0]);
        let mut n = 0;
        while n < self.per_file && Self::raw_entry(last, n).is_some() {
            n += 1;
        }
        let max = Self::file_base_offset(last) + n;
        (first.min(max), max)
    }

    fn raw_entry(file: &MappedFile, idx: u64) -> Option<CqEntry> {
        let b = file.slice(idx * ENTRY_SIZE, ENTRY_SIZE as usize)?;
        let phy = read_i64(b, 0)?;
        let size = read_i32(b, 8)?;
        if phy < 0 || size <= 0 {
            return None;
        }
        Some(CqEntry {
            phy_offset: phy as u64,
            size: size as u32,
            tags_code: read_i64(b, 12)?,
        })
    }

    fn file_for(&self, offset: u64) -> Option<Arc<MappedFile>> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        let first = Self::file_base_offset(files.first()?) / self.per_file;
        let idx = (offset / self.per_file).checked_sub(first)?;
        files.get(idx as usize).cloned()
    }

    /// The entry at logical `offset`, if readable. O(1).
    pub fn get(&self, offset: u64) -> Option<CqEntry> {
        if offset < self.min_offset() || offset >= self.max_offset() {
            return None;
        }
        self.read_entry(offset)
    }

    /// The first logical offset whose entry starts at or after CommitLog
    /// offset `phy` (`max_offset` when none does): the queue's end as seen
    /// by readers bounded to the CommitLog below `phy` (cluster high
    /// watermark). Binary search, O(log n); an unreadable entry counts as
    /// below `phy`.
    pub fn first_at_or_after(&self, phy: u64) -> u64 {
        let (mut lo, mut hi) = (self.min_offset(), self.max_offset());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.read_entry(mid).is_some_and(|e| e.phy_offset >= phy) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    }

    fn read_entry(&self, offset: u64) -> Option<CqEntry> {
        let f = self.file_for(offset)?;
        Self::raw_entry(&f, offset % self.per_file)
    }

    /// Writer: next offset to assign.
    pub(crate) fn next_offset(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Writer: writes the entry for `offset`, creating its file when needed.
    pub(crate) fn put(&self, offset: u64, e: CqEntry) -> Result<()> {
        let f = match self.file_for(offset) {
            Some(f) => f,
            // Below the oldest file: that part was retired; nothing to keep.
            None if offset < self.min_offset() => return Ok(()),
            None => self.create_file(offset)?,
        };
        let mut buf = [0u8; ENTRY_SIZE as usize];
        buf[0..8].copy_from_slice(&(e.phy_offset as i64).to_be_bytes());
        buf[8..12].copy_from_slice(&(e.size as i32).to_be_bytes());
        buf[12..20].copy_from_slice(&e.tags_code.to_be_bytes());
        f.write_at((offset % self.per_file) * ENTRY_SIZE, &buf);
        self.written.fetch_max(offset + 1, Ordering::Relaxed);
        Ok(())
    }

    fn create_file(&self, offset: u64) -> Result<Arc<MappedFile>> {
        std::fs::create_dir_all(&self.dir).at(&self.dir)?;
        let start = offset / self.per_file * self.per_file;
        let base = start * ENTRY_SIZE;
        let f = Arc::new(MappedFile::create(
            &self.dir.join(file_name(base)),
            base,
            self.per_file * ENTRY_SIZE,
        )?);
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        let contiguous = files
            .last()
            .is_some_and(|l| Self::file_base_offset(l) + self.per_file == start);
        if !contiguous {
            // A new queue, or a jump past the files it had: it starts here.
            files.clear();
            self.min.store(offset, Ordering::Release);
            self.max.store(offset, Ordering::Release);
            self.written.store(offset, Ordering::Relaxed);
        }
        files.push(Arc::clone(&f));
        Ok(f)
    }

    /// Moves the start of the queue up to `offset` (Kafka DeleteRecords):
    /// offsets below it are no longer readable. Never moves past the end or
    /// backwards. Persisted, so it survives restarts. Returns the new start.
    pub(crate) fn delete_before(&self, offset: u64) -> Result<u64> {
        let new_min = offset.min(self.max_offset()).max(self.min_offset());
        if new_min > self.min_offset() {
            std::fs::create_dir_all(&self.dir).at(&self.dir)?;
            crate::util::write_atomically(
                &self.dir.join(LOGICAL_MIN_FILE),
                new_min.to_string().as_bytes(),
            )?;
            self.min.fetch_max(new_min, Ordering::AcqRel);
        }
        Ok(self.min_offset())
    }

    /// Writer: forgets unpublished entries from `offset` on (a failed batch).
    pub(crate) fn rewind(&self, offset: u64) {
        for off in offset..self.next_offset() {
            if let Some(f) = self.file_for(off) {
                f.write_at(
                    (off % self.per_file) * ENTRY_SIZE,
                    &[0u8; ENTRY_SIZE as usize],
                );
            }
        }
        self.written
            .store(offset.max(self.max_offset()), Ordering::Relaxed);
    }

    /// Writer: makes everything put so far readable; returns true if it grew.
    pub(crate) fn publish(&self) -> bool {
        let w = self.written.load(Ordering::Relaxed);
        self.max.fetch_max(w, Ordering::AcqRel) < w
    }

    /// Syncs entries written since the last flush.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        let (from, to) = (self.flushed.load(Ordering::Acquire), self.max_offset());
        if to <= from {
            return Ok(());
        }
        let files = self.files.read().unwrap_or_else(|e| e.into_inner()).clone();
        for f in files {
            let start = Self::file_base_offset(&f);
            let (lo, hi) = (start.max(from), (start + self.per_file).min(to));
            if lo < hi {
                f.flush_range((lo - start) * ENTRY_SIZE, (hi - lo) * ENTRY_SIZE)?;
            }
        }
        self.flushed.fetch_max(to, Ordering::AcqRel);
        Ok(())
    }

    /// Syncs every file whole: after the log cleaner rewrote entries below
    /// the flushed mark (only dirty pages are written).
    pub(crate) fn sync_all(&self) -> std::io::Result<()> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner()).clone();
        for f in files {
            f.flush_range(0, f.size())?;
        }
        Ok(())
    }

    /// Recovery: drops entries that point at or past `log_end`.
    pub(crate) fn truncate_to_log_end(&self, log_end: u64) -> Result<u64> {
        let mut end = self.next_offset();
        let min = self.min_offset();
        while end > min {
            match self.read_entry(end - 1) {
                Some(e) if e.phy_offset + e.size as u64 <= log_end => break,
                _ => end -= 1,
            }
        }
        let dropped = self.next_offset() - end;
        self.truncate_at(end, false);
        Ok(dropped)
    }

    /// Recovery: forgets the entries from `end` on; with `clear_rest`, also
    /// zeroes the rest of the file that holds `end` (a damaged tail: no stale
    /// bytes may pass as entries later).
    pub(crate) fn truncate_at(&self, end: u64, clear_rest: bool) {
        let end = end.max(self.min_offset());
        if let Some(f) = self.file_for(end).filter(|_| clear_rest) {
            let from = (end % self.per_file) * ENTRY_SIZE;
            let zeros = vec![0u8; (self.per_file * ENTRY_SIZE - from) as usize];
            f.write_at(from, &zeros);
        }
        for off in end..self.next_offset() {
            if let Some(f) = self.file_for(off) {
                f.write_at(
                    (off % self.per_file) * ENTRY_SIZE,
                    &[0u8; ENTRY_SIZE as usize],
                );
            }
        }
        self.written.store(end, Ordering::Relaxed);
        self.max.store(end, Ordering::Release);
        self.flushed.store(
            end.min(self.flushed.load(Ordering::Acquire)),
            Ordering::Release,
        );
    }

    /// Recovery: the entry at `offset` as stored, ignoring the bounds.
    pub(crate) fn raw_at(&self, offset: u64) -> Option<CqEntry> {
        self.read_entry(offset)
    }

    /// Recovery: true if a file was found short and grown back at open.
    pub(crate) fn was_regrown(&self) -> bool {
        self.regrown
    }

    /// Recovery: how many slots that should be empty are not: the
    /// `window_entries` slots from `end` on, and the last slot of the file
    /// holding `end` (where a partial overwrite of the file's tail lands).
    pub(crate) fn junk_after(&self, end: u64, window_entries: u64) -> u64 {
        let Some(f) = self.file_for(end).or_else(|| self.files_last()) else {
            return 0;
        };
        let base = Self::file_base_offset(&f);
        let in_file = end.saturating_sub(base).min(self.per_file);
        let upto = (in_file + window_entries).min(self.per_file);
        let dirty = |slot: u64| {
            f.slice(slot * ENTRY_SIZE, ENTRY_SIZE as usize)
                .is_some_and(|b| b.iter().any(|x| *x != 0))
        };
        let mut n = (in_file..upto).filter(|s| dirty(*s)).count() as u64;
        if upto < self.per_file && dirty(self.per_file - 1) {
            n += 1;
        }
        n
    }

    fn files_last(&self) -> Option<Arc<MappedFile>> {
        self.files
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .last()
            .cloned()
    }

    /// Retention: drops files whose every entry points below `log_min`, and
    /// moves the minimum offset to the first entry at or after it.
    pub(crate) fn retire_below(&self, log_min: u64) -> Result<()> {
        loop {
            let files = self.files.read().unwrap_or_else(|e| e.into_inner()).clone();
            if files.len() < 2 {
                break;
            }
            let last_of_first = Self::raw_entry(&files[0], self.per_file - 1);
            if last_of_first.is_some_and(|e| e.phy_offset < log_min) {
                let mut w = self.files.write().unwrap_or_else(|e| e.into_inner());
                let f = w.remove(0);
                drop(w);
                std::fs::remove_file(f.path()).at(f.path())?;
            } else {
                break;
            }
        }
        let mut min = self
            .files
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .first()
            .map_or(0, |f| Self::file_base_offset(f))
            .max(self.min_offset());
        let max = self.max_offset();
        while min < max && self.read_entry(min).is_none_or(|e| e.phy_offset < log_min) {
            min += 1;
        }
        self.min.store(min, Ordering::Release);
        Ok(())
    }
}

/// File in a queue's directory holding its logical start offset (decimal).
const LOGICAL_MIN_FILE: &str = "logical_min";

fn read_logical_min(dir: &Path) -> Option<u64> {
    std::fs::read_to_string(dir.join(LOGICAL_MIN_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The queues of one topic, indexed by queue id.
type TopicQueues = Arc<RwLock<Vec<Option<Arc<ConsumeQueue>>>>>;

/// All ConsumeQueues, by topic then queue id.
#[derive(Debug)]
pub struct ConsumeQueues {
    dir: PathBuf,
    per_file: u32,
    topics: DashMap<String, TopicQueues>,
}

impl ConsumeQueues {
    /// Loads every queue found under `dir`.
    pub(crate) fn open(dir: &Path, per_file: u32) -> Result<ConsumeQueues> {
        std::fs::create_dir_all(dir).at(dir)?;
        let cqs = ConsumeQueues {
            dir: dir.to_path_buf(),
            per_file,
            topics: DashMap::new(),
        };
        for t in std::fs::read_dir(dir).at(dir)? {
            let t = t.at(dir)?;
            let Some(topic) = t.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !t.file_type().at(t.path())?.is_dir() {
                continue;
            }
            for q in std::fs::read_dir(t.path()).at(t.path())? {
                let q = q.at(t.path())?;
                if let Some(qid) = q.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
                    cqs.get_or_open(&topic, qid)?;
                }
            }
        }
        Ok(cqs)
    }

    /// The queue if it exists.
    pub fn get(&self, topic: &str, queue_id: u32) -> Option<Arc<ConsumeQueue>> {
        let t = self.topics.get(topic)?.value().clone();
        let v = t.read().unwrap_or_else(|e| e.into_inner());
        v.get(queue_id as usize).cloned().flatten()
    }

    /// The queue, made (in memory; files come with the first entry) if missing.
    pub(crate) fn get_or_open(&self, topic: &str, queue_id: u32) -> Result<Arc<ConsumeQueue>> {
        if let Some(q) = self.get(topic, queue_id) {
            return Ok(q);
        }
        let t = self
            .topics
            .entry(topic.to_string())
            .or_default()
            .value()
            .clone();
        let mut v = t.write().unwrap_or_else(|e| e.into_inner());
        if let Some(Some(q)) = v.get(queue_id as usize) {
            return Ok(Arc::clone(q));
        }
        let dir = self.dir.join(topic).join(queue_id.to_string());
        let q = Arc::new(ConsumeQueue::open(topic, queue_id, dir, self.per_file)?);
        if v.len() <= queue_id as usize {
            v.resize(queue_id as usize + 1, None);
        }
        v[queue_id as usize] = Some(Arc::clone(&q));
        Ok(q)
    }

    /// Every queue.
    pub fn all(&self) -> Vec<Arc<ConsumeQueue>> {
        let mut out = Vec::new();
        for t in self.topics.iter() {
            let v = t.value().read().unwrap_or_else(|e| e.into_inner());
            out.extend(v.iter().flatten().cloned());
        }
        out
    }

    /// Topics that have queues.
    pub fn topics(&self) -> Vec<String> {
        self.topics.iter().map(|t| t.key().clone()).collect()
    }

    /// The queues of one topic (index = queue id).
    pub fn queues_of(&self, topic: &str) -> Vec<Arc<ConsumeQueue>> {
        let Some(t) = self.topics.get(topic).map(|t| t.value().clone()) else {
            return Vec::new();
        };
        let v = t.read().unwrap_or_else(|e| e.into_inner());
        v.iter().flatten().cloned().collect()
    }
}
