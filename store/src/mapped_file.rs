//! One preallocated, memory-mapped file: a CommitLog segment, a ConsumeQueue
//! file or an IndexFile. The single writer of the owning structure writes with
//! `write_at` (through the map; ConsumeQueue, IndexFile) or `pwrite` (the
//! CommitLog, ADR 028); readers read below a published position with
//! `slice`/`bytes`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{MmapOptions, MmapRaw};

use crate::error::{IoContext, Result, StoreError};

/// A fixed-size file mapped read-write for its whole length.
#[derive(Debug)]
pub(crate) struct MappedFile {
    path: PathBuf,
    /// Global offset of the file's first byte (its name).
    base: u64,
    size: u64,
    map: MmapRaw,
    _file: File,
}

impl MappedFile {
    /// Creates `path` with `size` bytes of allocated blocks (so that writing the
    /// map can never hit ENOSPC and raise SIGBUS) and maps it.
    pub(crate) fn create(path: &Path, base: u64, size: u64) -> Result<MappedFile> {
        crate::disk::ensure_room(path, size)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .at(path)?;
        if let Err(e) = preallocate(&file, 0, size) {
            // A failed fallocate may keep the blocks it got: give them back
            // at once, before anyone measures the disk.
            let _ = file.set_len(0);
            drop(file);
            let _ = std::fs::remove_file(path);
            if e.raw_os_error() == Some(libc::ENOSPC) {
                return Err(StoreError::NoSpace {
                    path: path.to_path_buf(),
                    needed: size,
                    available: crate::disk::fs_space(path).map_or(0, |s| s.available),
                });
            }
            return Err(StoreError::Io {
                path: path.to_path_buf(),
                source: e,
            });
        }
        Self::map(path, base, size, file)
    }

    /// Opens an existing file of exactly `size` bytes.
    pub(crate) fn open(path: &Path, base: u64, size: u64) -> Result<MappedFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .at(path)?;
        let len = file.metadata().at(path)?.len();
        if len != size {
            // A file cut short by a crash during creation: grow it back; the
            // missing part reads as zeros, which recovery treats as the end.
            preallocate(&file, 0, size).at(path)?;
        }
        Self::map(path, base, size, file)
    }

    fn map(path: &Path, base: u64, size: u64, file: File) -> Result<MappedFile> {
        // SAFETY: the file is owned by rokka's data directory (guarded by the lock
        // file) and is never truncated while mapped; it is only unlinked, which
        // keeps the pages valid until the map is dropped.
        let map = MmapOptions::new()
            .len(size as usize)
            .map_raw(&file)
            .at(path)?;
        Ok(MappedFile {
            path: path.to_path_buf(),
            base,
            size,
            map,
            _file: file,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
    pub(crate) fn base(&self) -> u64 {
        self.base
    }
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Copies `data` to `pos`. Only the owner's single writer calls this, and
    /// only at positions no reader has been allowed to see yet.
    pub(crate) fn write_at(&self, pos: u64, data: &[u8]) {
        assert!(
            pos + data.len() as u64 <= self.size,
            "write past end of mapped file"
        );
        // SAFETY: bounds checked above; the map lives as long as `self`; the one
        // writer writes only above the published position, which readers never cross.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.map.as_mut_ptr().add(pos as usize),
                data.len(),
            );
        }
    }

    /// A view of bytes that were published (written before a Release store the
    /// caller has Acquire-loaded). Returns None when out of bounds.
    pub(crate) fn slice(&self, pos: u64, len: usize) -> Option<&[u8]> {
        if pos.checked_add(len as u64)? > self.size {
            return None;
        }
        // SAFETY: in bounds; the region below the published position is no longer
        // written (except recovery, which runs before readers exist).
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos as usize), len) })
    }

    /// Zero-copy `Bytes` over a published region; keeps the map alive.
    pub(crate) fn bytes(self: &Arc<Self>, pos: u64, len: usize) -> Option<Bytes> {
        self.slice(pos, len)?;
        Some(Bytes::from_owner(MapSlice {
            file: Arc::clone(self),
            pos: pos as usize,
            len,
        }))
    }

    /// Copies `data` to `pos` with `pwrite` into the page cache, not through
    /// the mapping (ADR 028): the CommitLog's write path. Readers of the
    /// mapping see the bytes (one page cache); nothing maps the pages
    /// writable (readers fault them in read-only), so writing them back
    /// needs no TLB shoot-down. Only the owner's single writer calls this,
    /// above every published position.
    pub(crate) fn pwrite(&self, pos: u64, data: &[u8]) -> std::io::Result<()> {
        assert!(
            pos + data.len() as u64 <= self.size,
            "write past end of mapped file"
        );
        self._file.write_all_at(data, pos)
    }

    /// The descriptor writes and syncs go through (tests break it).
    #[cfg(test)]
    pub(crate) fn raw_fd(&self) -> std::os::unix::io::RawFd {
        self._file.as_raw_fd()
    }

    /// `fdatasync` of the file: the durability barrier for bytes written
    /// with [`MappedFile::pwrite`] (and for any written through the map).
    pub(crate) fn sync_data(&self) -> std::io::Result<()> {
        self._file.sync_data()
    }

    /// msync(MS_SYNC) of a range; the durability barrier for mapped writes.
    pub(crate) fn flush_range(&self, pos: u64, len: u64) -> std::io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        let end = (pos + len).min(self.size);
        self.map.flush_range(pos as usize, (end - pos) as usize)
    }

    /// Zeroes `[pos, size)` without touching the pages: punches a hole and
    /// allocates the blocks again (they read back as zeros); then
    /// `fdatasync`.
    pub(crate) fn zero_tail(&self, pos: u64) -> Result<()> {
        if pos >= self.size {
            return Ok(());
        }
        let fd = self._file.as_raw_fd();
        let len = (self.size - pos) as libc::off_t;
        // SAFETY: plain syscall on an fd we own.
        let rc = unsafe {
            libc::fallocate(
                fd,
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                pos as libc::off_t,
                len,
            )
        };
        if rc != 0 {
            // File systems without hole punching: write zeros.
            let zeros = [0u8; 4096];
            let mut p = pos;
            while p < self.size {
                let n = ((self.size - p) as usize).min(zeros.len());
                self.pwrite(p, &zeros[..n]).at(&self.path)?;
                p += n as u64;
            }
        } else {
            preallocate(&self._file, pos, self.size - pos).at(&self.path)?;
        }
        self.sync_data().at(&self.path)
    }
}

fn preallocate(file: &File, offset: u64, len: u64) -> std::io::Result<()> {
    // SAFETY: plain syscall on an fd we own.
    let rc = unsafe {
        libc::posix_fallocate(file.as_raw_fd(), offset as libc::off_t, len as libc::off_t)
    };
    match rc {
        0 => Ok(()),
        // File systems without fallocate: fall back to a sparse file.
        libc::EOPNOTSUPP | libc::EINVAL => file.set_len(offset + len),
        e => Err(std::io::Error::from_raw_os_error(e)),
    }
}

/// The owner behind a zero-copy `Bytes`.
struct MapSlice {
    file: Arc<MappedFile>,
    pos: usize,
    len: usize,
}

impl AsRef<[u8]> for MapSlice {
    fn as_ref(&self) -> &[u8] {
        // Bounds were checked when the MapSlice was made.
        self.file.slice(self.pos as u64, self.len).unwrap_or(&[])
    }
}

/// Formats a 20-digit file name for a start offset, as RocketMQ does.
pub(crate) fn file_name(offset: u64) -> String {
    format!("{offset:020}")
}

/// Start offsets of the 20-digit-named files in `dir`, sorted; other names
/// are ignored. A missing directory has none.
pub(crate) fn list_files(dir: &Path) -> Result<Vec<u64>> {
    let mut bases = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(bases),
        Err(e) => {
            return Err(StoreError::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        }
    };
    for e in entries {
        let e = e.at(dir)?;
        if let Some(b) = e.file_name().to_str().and_then(parse_file_name) {
            bases.push(b);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Parses a 20-digit file name; other names are not ours.
pub(crate) fn parse_file_name(name: &str) -> Option<u64> {
    if name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()) {
        name.parse().ok()
    } else {
        None
    }
}
