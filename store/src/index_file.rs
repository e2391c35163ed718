//! IndexFile: message keys and unique ids → CommitLog offsets, with store time.
//!
//! ```text
//!  header (40 B): beginTimestamp i64 | endTimestamp i64 | beginPhyOffset i64 |
//!                 endPhyOffset i64 | hashSlotCount i32 | indexCount i32
//!  slots:  hashSlotCount × i32   number of the newest entry in the slot (0 = none)
//!  entries: maxEntries × (keyHash i32 | phyOffset i64 | timeDiff i32 (s) | prevIndex i32)
//! ```
//!
//! The shape is RocketMQ's; the key hash is CRC-32C of `topic#key` (the files
//! are rokka's own, so no Java hash is needed). Entry numbers start at 1. A
//! hash only narrows the search: the store checks every candidate's key.
//! Files are named by the CommitLog offset of their first entry.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, RwLock};

use crate::entry::{read_i32, read_i64};
use crate::error::{IoContext, Result};
use crate::mapped_file::{file_name, list_files, MappedFile};

const HEADER: u64 = 40;
const ENTRY: u64 = 20;

/// Bytes of one IndexFile with `slots` hash slots and `max_entries` entries.
pub(crate) fn file_size(slots: u32, max_entries: u32) -> u64 {
    HEADER + u64::from(slots) * 4 + u64::from(max_entries) * ENTRY
}

/// Hash of `topic#key`.
fn key_hash(topic: &str, key: &[u8]) -> u32 {
    let h = crc32c::crc32c(topic.as_bytes());
    let h = crc32c::crc32c_append(h, b"#");
    crc32c::crc32c_append(h, key)
}

#[derive(Debug)]
struct IndexFile {
    map: MappedFile,
    slots: u64,
    max_entries: u64,
}

impl IndexFile {
    fn header_i64(&self, at: u64) -> i64 {
        self.map
            .slice(at, 8)
            .and_then(|b| read_i64(b, 0))
            .unwrap_or(0)
    }
    fn count_cell(&self) -> &AtomicI32 {
        self.atomic_i32(36)
    }
    fn atomic_i32(&self, at: u64) -> &AtomicI32 {
        let b = self.map.slice(at, 4).expect("index cell in bounds");
        // Cells hold big-endian values like the rest of the file.
        // SAFETY: `at` is 4-aligned (header 40 B, slots and entries start at
        // 4-aligned positions in a page-aligned map), in bounds, and lives as
        // long as `self`; every access to these cells goes through atomics.
        unsafe { AtomicI32::from_ptr(b.as_ptr() as *mut i32) }
    }
    /// Entries written (entry numbers are 1..=count).
    fn count(&self) -> u64 {
        (i32::from_be(self.count_cell().load(Ordering::Acquire)).max(1) - 1) as u64
    }
    fn begin_ts(&self) -> i64 {
        self.header_i64(0)
    }
    fn end_ts(&self) -> i64 {
        self.header_i64(8)
    }
    fn end_phy(&self) -> i64 {
        self.header_i64(24)
    }
    fn is_full(&self) -> bool {
        self.count() + 1 >= self.max_entries
    }
    fn entry_pos(&self, n: u64) -> u64 {
        HEADER + self.slots * 4 + n * ENTRY
    }

    /// Writer only.
    fn put(&self, hash: u32, phy: u64, store_ts: i64) {
        let n = self.count() + 1;
        if self.count() == 0 {
            self.map.write_at(0, &store_ts.to_be_bytes());
            self.map.write_at(16, &(phy as i64).to_be_bytes());
        }
        let slot = self.atomic_i32(HEADER + (hash as u64 % self.slots) * 4);
        let prev = i32::from_be(slot.load(Ordering::Acquire));
        let diff = ((store_ts - self.begin_ts()).max(0) / 1000).min(i32::MAX as i64) as i32;
        let mut e = [0u8; ENTRY as usize];
        e[0..4].copy_from_slice(&(hash as i32).to_be_bytes());
        e[4..12].copy_from_slice(&(phy as i64).to_be_bytes());
        e[12..16].copy_from_slice(&diff.to_be_bytes());
        e[16..20].copy_from_slice(&prev.to_be_bytes());
        self.map.write_at(self.entry_pos(n), &e);
        self.map.write_at(8, &store_ts.to_be_bytes());
        self.map.write_at(24, &(phy as i64).to_be_bytes());
        slot.store((n as i32).to_be(), Ordering::Release);
        self.count_cell()
            .store((n as i32 + 1).to_be(), Ordering::Release);
    }

    fn query(&self, hash: u32, begin_ts: i64, end_ts: i64, max: usize, out: &mut Vec<u64>) {
        let slot = self.atomic_i32(HEADER + (hash as u64 % self.slots) * 4);
        let mut n = i32::from_be(slot.load(Ordering::Acquire)) as i64;
        let base_ts = self.begin_ts();
        let mut steps = 0;
        while n > 0 && (n as u64) < self.max_entries && out.len() < max && steps < self.max_entries
        {
            steps += 1;
            let Some(e) = self.map.slice(self.entry_pos(n as u64), ENTRY as usize) else {
                break;
            };
            let (h, phy, diff, prev) = (
                read_i32(e, 0).unwrap_or(0) as u32,
                read_i64(e, 4).unwrap_or(-1),
                read_i32(e, 12).unwrap_or(0) as i64,
                read_i32(e, 16).unwrap_or(0) as i64,
            );
            let ts = base_ts + diff * 1000;
            if h == hash
                && phy >= 0
                && ts + 999 >= begin_ts
                && ts <= end_ts
                && !out.contains(&(phy as u64))
            {
                out.push(phy as u64);
            }
            if prev >= n {
                break;
            }
            n = prev;
        }
    }
}

/// The IndexFiles, oldest first; the last one takes new entries.
#[derive(Debug)]
pub struct IndexService {
    dir: PathBuf,
    slots: u32,
    max_entries: u32,
    files: RwLock<Vec<Arc<IndexFile>>>,
}

impl IndexService {
    pub(crate) fn open(dir: &Path, slots: u32, max_entries: u32) -> Result<IndexService> {
        std::fs::create_dir_all(dir).at(dir)?;
        let size = HEADER + slots as u64 * 4 + max_entries as u64 * ENTRY;
        let names = list_files(dir)?;
        let mut files = Vec::new();
        for b in names {
            let path = dir.join(file_name(b));
            let map = MappedFile::open(&path, b, size)?;
            files.push(Arc::new(IndexFile {
                map,
                slots: slots as u64,
                max_entries: max_entries as u64,
            }));
        }
        Ok(IndexService {
            dir: dir.to_path_buf(),
            slots,
            max_entries,
            files: RwLock::new(files),
        })
    }

    fn size(&self) -> u64 {
        HEADER + self.slots as u64 * 4 + self.max_entries as u64 * ENTRY
    }

    /// Writer: indexes `key` of `topic` for the entry at `phy`.
    pub(crate) fn put(&self, topic: &str, key: &[u8], phy: u64, store_ts: i64) -> Result<()> {
        let last = self
            .files
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .last()
            .cloned();
        let file = match last {
            Some(f) if !f.is_full() => f,
            _ => {
                let path = self.dir.join(file_name(phy));
                // A file for this offset may exist already after a replay.
                let map = match MappedFile::create(&path, phy, self.size()) {
                    Ok(m) => m,
                    Err(_) if path.exists() => {
                        let name = file_name(phy + 1);
                        MappedFile::create(&self.dir.join(name), phy + 1, self.size())?
                    }
                    Err(e) => return Err(e),
                };
                map.write_at(32, &(self.slots as i32).to_be_bytes());
                map.write_at(36, &1i32.to_be_bytes());
                let f = Arc::new(IndexFile {
                    map,
                    slots: self.slots as u64,
                    max_entries: self.max_entries as u64,
                });
                self.files
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Arc::clone(&f));
                f
            }
        };
        file.put(key_hash(topic, key), phy, store_ts);
        Ok(())
    }

    /// Candidate offsets for `topic#key` stored within `[begin_ts, end_ts]`,
    /// newest first, at most `max`.
    pub(crate) fn query(
        &self,
        topic: &str,
        key: &[u8],
        begin_ts: i64,
        end_ts: i64,
        max: usize,
    ) -> Vec<u64> {
        let hash = key_hash(topic, key);
        let files = self.files.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out = Vec::new();
        for f in files.iter().rev() {
            if out.len() >= max {
                break;
            }
            if f.count() == 0 || f.end_ts() < begin_ts.saturating_sub(1000) || f.begin_ts() > end_ts
            {
                continue;
            }
            f.query(hash, begin_ts, end_ts, max, &mut out);
        }
        out
    }

    pub(crate) fn flush(&self) -> std::io::Result<()> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(f) = files.last() {
            f.map.flush_range(0, f.map.size())?;
        }
        Ok(())
    }

    /// Retention: removes files whose entries all point below `log_min`.
    pub(crate) fn retire_below(&self, log_min: u64) -> Result<()> {
        loop {
            let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
            if files.len() < 2 || files[0].end_phy() as u64 >= log_min {
                return Ok(());
            }
            let f = files.remove(0);
            drop(files);
            std::fs::remove_file(f.map.path()).at(f.map.path())?;
        }
    }
}
