//! The CommitLog: fixed-size memory-mapped segments, each named by its
//! 20-digit start offset. Written with `pwrite`, read through the mapping
//! (ADR 028). Physical offsets are global; segment `i` holds
//! `[base_i, base_i + segment_size)` and segments are contiguous. Only the
//! writer thread appends; readers never read at or past `committed`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::entry::read_i32;
use crate::error::{IoContext, Result, StoreError};
use crate::mapped_file::{file_name, list_files, MappedFile};

/// The segments and the published positions of the log.
#[derive(Debug)]
pub struct CommitLog {
    dir: PathBuf,
    segment_size: u64,
    segments: RwLock<Vec<Arc<MappedFile>>>,
    /// End of the entries readers may see (Release by the writer).
    committed: AtomicU64,
    /// End of the bytes known to be on disk.
    flushed: AtomicU64,
}

impl CommitLog {
    /// Opens the segments in `dir`, creating `dir` if needed.
    pub(crate) fn open(dir: &Path, segment_size: u64) -> Result<CommitLog> {
        std::fs::create_dir_all(dir).at(dir)?;
        let bases = list_files(dir)?;
        let mut segments = Vec::with_capacity(bases.len());
        for (i, base) in bases.iter().enumerate() {
            if base % segment_size != 0 || (i > 0 && *base != bases[i - 1] + segment_size) {
                return Err(StoreError::Config(format!(
                    "commit log segments in {} are not contiguous multiples of the segment size {} \
                     (was mapedFileSizeCommitLog changed?)",
                    dir.display(),
                    segment_size
                )));
            }
            segments.push(Arc::new(MappedFile::open(
                &dir.join(file_name(*base)),
                *base,
                segment_size,
            )?));
        }
        Ok(CommitLog {
            dir: dir.to_path_buf(),
            segment_size,
            segments: RwLock::new(segments),
            committed: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
        })
    }

    /// Segment size in bytes.
    pub fn segment_size(&self) -> u64 {
        self.segment_size
    }

    /// Oldest offset still stored (first segment's base, or the end when empty).
    pub fn min_offset(&self) -> u64 {
        let segs = self.segments.read().unwrap_or_else(|e| e.into_inner());
        segs.first().map_or_else(|| self.max_offset(), |s| s.base())
    }

    /// End of the published entries.
    pub fn max_offset(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// End of the bytes synced to disk.
    pub fn flushed_offset(&self) -> u64 {
        self.flushed.load(Ordering::Acquire)
    }

    /// Bytes of all segment files.
    pub fn disk_bytes(&self) -> u64 {
        self.segments
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len() as u64
            * self.segment_size
    }

    pub(crate) fn publish(&self, end: u64) {
        self.committed.store(end, Ordering::Release);
    }

    pub(crate) fn segment_for(&self, phy: u64) -> Option<Arc<MappedFile>> {
        let segs = self.segments.read().unwrap_or_else(|e| e.into_inner());
        let first = segs.first()?.base();
        let idx = phy.checked_sub(first)? / self.segment_size;
        segs.get(idx as usize).cloned()
    }

    pub(crate) fn segments(&self) -> Vec<Arc<MappedFile>> {
        self.segments
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Creates the segment starting at `base` (a multiple of the segment size,
    /// right after the last one).
    pub(crate) fn create_segment(&self, base: u64) -> Result<Arc<MappedFile>> {
        let path = self.dir.join(file_name(base));
        let seg = Arc::new(MappedFile::create(&path, base, self.segment_size)?);
        crate::util::sync_dir(&self.dir)?;
        self.segments
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&seg));
        Ok(seg)
    }

    /// The published entry at `phy`: its segment, position in it and size.
    pub(crate) fn entry_at(&self, phy: u64) -> Option<(Arc<MappedFile>, u64, u32)> {
        let seg = self.segment_for(phy)?;
        let pos = phy - seg.base();
        let size = read_i32(seg.slice(pos, 4)?, 0)?;
        if size <= 0 || phy + size as u64 > self.max_offset() {
            return None;
        }
        seg.slice(pos, size as usize)?;
        Some((seg, pos, size as u32))
    }

    /// Candidate starts of a Kafka batch entry that would contain offset
    /// `phy`, nearest first: positions `q <= phy` of `phy`'s segment, at most
    /// `max_entry - 1` bytes back, whose bytes pass the cheap checks (Kafka
    /// magic, a `totalSize` whose span covers `phy` and stays below the
    /// published end, the physical offset field equal to `q`). Nothing is
    /// read outside the published part of that one segment (an entry never
    /// spans segments); the caller still validates each candidate fully.
    pub(crate) fn kafka_candidates(&self, phy: u64, max_entry: u64) -> KafkaCandidates {
        let none = KafkaCandidates {
            seg: None,
            lo: 0,
            hi: 0,
            pos: 0,
            end: 0,
        };
        let end_phy = self.max_offset();
        if phy >= end_phy {
            return none;
        }
        let Some(seg) = self.segment_for(phy) else {
            return none;
        };
        let pos = phy - seg.base();
        let end = seg.size().min(end_phy - seg.base());
        if pos >= end {
            return none;
        }
        KafkaCandidates {
            lo: pos.saturating_sub(max_entry.saturating_sub(1)),
            hi: pos + 1,
            pos,
            end,
            seg: Some(seg),
        }
    }

    /// Syncs `[flushed, upto)` to disk (`fdatasync` of each segment it
    /// touches, ADR 028); returns the new flushed offset.
    pub(crate) fn flush(&self, upto: u64) -> std::io::Result<u64> {
        let from = self.flushed.load(Ordering::Acquire);
        if upto <= from {
            return Ok(from);
        }
        for seg in self.segments() {
            let (lo, hi) = (seg.base().max(from), (seg.base() + seg.size()).min(upto));
            if lo < hi {
                seg.sync_data()?;
            }
        }
        self.flushed.fetch_max(upto, Ordering::AcqRel);
        Ok(upto)
    }

    /// After recovery: the log ends at `end`. Zeroes the rest of its segment and
    /// removes later segments so that no stale bytes can pass as entries.
    pub(crate) fn truncate(&self, end: u64) -> Result<()> {
        let mut segs = self.segments.write().unwrap_or_else(|e| e.into_inner());
        while let Some(last) = segs.last() {
            if last.base() > end || (last.base() == end && end > 0 && segs.len() > 1) {
                let path = last.path().to_path_buf();
                segs.pop();
                std::fs::remove_file(&path).at(&path)?;
            } else {
                break;
            }
        }
        if let Some(last) = segs.last() {
            if end >= last.base() && end < last.base() + last.size() {
                last.zero_tail(end - last.base())?;
            }
        }
        drop(segs);
        crate::util::sync_dir(&self.dir)?;
        self.committed.store(end, Ordering::Release);
        self.flushed.store(end, Ordering::Release);
        Ok(())
    }

    /// Deletes the first segment if `pred` allows it; never the last one.
    pub(crate) fn delete_first_segment_if(
        &self,
        pred: impl Fn(&MappedFile) -> bool,
    ) -> Result<bool> {
        let mut segs = self.segments.write().unwrap_or_else(|e| e.into_inner());
        if segs.len() < 2 || !pred(&segs[0]) {
            return Ok(false);
        }
        let seg = segs.remove(0);
        drop(segs);
        std::fs::remove_file(seg.path()).at(seg.path())?;
        Ok(true)
    }
}

/// Iterator of [`CommitLog::kafka_candidates`]: walks backwards through a
/// bounded window of one segment without allocating.
#[derive(Debug)]
pub(crate) struct KafkaCandidates {
    seg: Option<Arc<MappedFile>>,
    /// Lowest candidate position in the segment.
    lo: u64,
    /// Candidates left are below this position.
    hi: u64,
    /// Position of the offset looked for.
    pos: u64,
    /// End of the published bytes of the segment.
    end: u64,
}

impl Iterator for KafkaCandidates {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let magic = crate::entry::kafka::MAGIC.to_be_bytes();
        let seg = self.seg.as_ref()?;
        while self.hi > self.lo {
            // The magic of a candidate `q` sits at `q + 4 .. q + 8`.
            let from = self.lo + 4;
            let to = (self.hi + 7).min(self.end);
            let Some(win) = to
                .checked_sub(from)
                .and_then(|len| seg.slice(from, len as usize))
            else {
                break;
            };
            let Some(k) = win.windows(4).rposition(|w| w == magic) else {
                break;
            };
            let q = self.lo + k as u64;
            self.hi = q;
            let total = seg.slice(q, 4).and_then(|b| read_i32(b, 0)).unwrap_or(0);
            if total <= 0 {
                continue;
            }
            let stop = q + total as u64;
            let phy = seg.base() + q;
            let own = seg
                .slice(q + 24, 8)
                .and_then(|b| crate::entry::read_i64(b, 0));
            if stop > self.pos && stop <= self.end && own == Some(phy as i64) {
                return Some(phy);
            }
        }
        self.seg = None;
        None
    }
}
