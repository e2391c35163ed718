//! Disk space, measured truthfully: the used ratio of the file system that
//! holds each store directory (CommitLog, ConsumeQueue and IndexFile may sit
//! on different mounts), read with `statvfs` as `df` computes it, and the
//! start-up check that one file of each configured size can fit at all
//! (docs/adr/008-disk-pressure-and-connection-hygiene.md).
//!
//! A preallocation that fails is an ENOSPC for that one file
//! ([`StoreError::NoSpace`]); it is never turned into a used ratio.

use std::path::{Path, PathBuf};

use crate::config::StoreConfig;
use crate::error::{Result, StoreError};
use crate::writer::Shared;

/// The store directories whose file systems are watched, with their metric label.
pub(crate) const DIRS: [&str; 3] = ["commitlog", "consumequeue", "index"];

/// Space on one file system, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FsSpace {
    /// Identifies the file system (`f_fsid`), to tell shared mounts apart.
    pub fsid: u64,
    /// Bytes usable by rokka when empty: used plus available to unprivileged users.
    pub capacity: u64,
    /// Bytes still available to rokka (`f_bavail`).
    pub available: u64,
}

impl FsSpace {
    /// Bytes that can still be written before the used ratio reaches `ratio`.
    pub fn room_below(&self, ratio: f64) -> u64 {
        let used = self.capacity - self.available.min(self.capacity);
        ((self.capacity as f64 * ratio) as u64)
            .saturating_sub(used)
            .min(self.available)
    }

    /// Used fraction, as `df`'s Use% (reserved blocks excluded from the total).
    pub fn used_ratio(&self) -> f64 {
        if self.capacity == 0 {
            return 0.0;
        }
        (self.capacity - self.available.min(self.capacity)) as f64 / self.capacity as f64
    }
}

/// `statvfs` of the file system holding `path`, or of its nearest existing
/// ancestor when `path` does not exist yet.
pub(crate) fn fs_space(path: &Path) -> Option<FsSpace> {
    use std::os::unix::ffi::OsStrExt;
    let mut p = path;
    loop {
        if p.exists() || p.parent().is_none() {
            break;
        }
        p = p.parent()?;
    }
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we pass; c is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    let frsize = st.f_frsize as u64;
    let used = (st.f_blocks as u64).saturating_sub(st.f_bfree as u64) * frsize;
    let available = st.f_bavail as u64 * frsize;
    Some(FsSpace {
        fsid: st.f_fsid as u64,
        capacity: used + available,
        available,
    })
}

/// The directories of `config`, in the order of [`DIRS`].
pub(crate) fn dirs(config: &StoreConfig) -> [PathBuf; 3] {
    [
        config.commit_log_dir.clone(),
        config.consume_queue_dir(),
        config.index_dir(),
    ]
}

/// Measures every store directory, publishes `rokka_store_disk_used_ratio{dir}`
/// and returns the highest ratio (the one appends are refused on). A
/// directory whose file system cannot be read counts as 0.
///
/// It also records whether the ConsumeQueue and IndexFile directories have
/// room for one more file each: those files are created while an entry is
/// dispatched, after it is in the log, so appends are refused beforehand
/// ([`room_error`]) rather than failing half-way.
pub(crate) fn refresh(shared: &Shared) -> f64 {
    let mut worst = 0.0f64;
    let mut short = None;
    let sizes = file_sizes(&shared.config);
    for ((label, dir), size) in DIRS.iter().zip(dirs(&shared.config)).zip(sizes) {
        let space = fs_space(&dir);
        let ratio = space.map_or(0.0, |s| s.used_ratio());
        shared
            .metrics
            .disk_used_ratio
            .with_label_values(&[label])
            .set(ratio);
        worst = worst.max(ratio);
        let room = space.map(|s| s.room_below(shared.config.disk_refuse_ratio));
        if let Some(room) = room.filter(|r| *label != "commitlog" && *r < size) {
            short = Some((dir, size, room));
        }
    }
    shared.set_disk_ratio(worst);
    *shared
        .short_of_room
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = short;
    worst
}

/// The refusal for a directory found short of room for its next file (below
/// the refusal ratio) by the last [`refresh`], if any.
pub(crate) fn room_error(shared: &Shared) -> Option<StoreError> {
    let short = shared
        .short_of_room
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    short
        .as_ref()
        .map(|(path, needed, available)| StoreError::NoSpace {
            path: path.clone(),
            needed: *needed,
            available: *available,
        })
}

/// Refuses a new file of `size` bytes in `dir` that would take its file
/// system to the refusal ratio or beyond: the file would be created, the
/// next append refused, and the disk left closer to the forced-deletion
/// ratio than writes are ever allowed to take it.
pub(crate) fn check_new_file(shared: &Shared, dir: &Path, size: u64) -> Result<()> {
    match fs_space(dir).map(|s| s.room_below(shared.config.disk_refuse_ratio)) {
        Some(room) if room < size => Err(StoreError::NoSpace {
            path: dir.to_path_buf(),
            needed: size,
            available: room,
        }),
        _ => Ok(()),
    }
}

/// Bytes of one CommitLog segment, ConsumeQueue file and IndexFile, in the order of [`DIRS`].
fn file_sizes(config: &StoreConfig) -> [u64; 3] {
    [
        config.commit_log_segment_size,
        u64::from(config.consume_queue_entries_per_file) * crate::consume_queue::ENTRY_SIZE,
        crate::index_file::file_size(config.index_hash_slots, config.index_max_entries),
    ]
}

/// Fails with the numbers when one CommitLog segment, one ConsumeQueue file
/// and one IndexFile (those sharing a file system added together) cannot fit
/// below the refusal ratio of an otherwise empty file system: such a broker
/// would refuse every append. rokka exits at start-up instead of shrinking
/// what it preallocates (ADR 008).
pub(crate) fn check_fits(config: &StoreConfig) -> Result<()> {
    let names = [
        "commit log segment (mapedFileSizeCommitLog)",
        "consume queue file (mapedFileSizeConsumeQueue)",
        "index file (maxHashSlotNum, maxIndexNum)",
    ];
    let sizes = file_sizes(config);
    let spaces: Vec<Option<FsSpace>> = dirs(config).iter().map(|d| fs_space(d)).collect();
    for (i, space) in spaces.iter().enumerate() {
        let Some(space) = space else { continue };
        let mut needed = 0u64;
        let mut what = Vec::new();
        for (j, other) in spaces.iter().enumerate() {
            if other.is_some_and(|o| o.fsid == space.fsid) {
                needed += sizes[j];
                what.push(format!("{} {} bytes", names[j], sizes[j]));
            }
        }
        let allowed = (space.capacity as f64 * config.disk_refuse_ratio) as u64;
        if needed > allowed {
            return Err(StoreError::Config(format!(
                "the file system holding {} has {} bytes; appends stop at {:.0}% ({} bytes), \
                 but one file of each kind needs {} bytes ({}); lower the sizes or use a larger disk",
                dirs(config)[i].display(),
                space.capacity,
                config.disk_refuse_ratio * 100.0,
                allowed,
                needed,
                what.join(", ")
            )));
        }
    }
    Ok(())
}

/// Checks that `size` bytes are available for a new file at `path`; the
/// error is [`StoreError::NoSpace`] with the numbers. Checking first means a
/// file that cannot fit never fills the disk for a moment (a failed
/// `fallocate` may keep the blocks it got until the file is removed).
pub(crate) fn ensure_room(path: &Path, size: u64) -> Result<()> {
    match fs_space(path) {
        Some(s) if s.available < size => Err(StoreError::NoSpace {
            path: path.to_path_buf(),
            needed: size,
            available: s.available,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_real_file_system() {
        let dir = tempfile::tempdir().unwrap();
        let s = fs_space(&dir.path().join("not/yet/there")).unwrap();
        assert!(s.capacity > 0 && s.available <= s.capacity);
        let r = s.used_ratio();
        assert!((0.0..=1.0).contains(&r), "{r}");
    }

    #[test]
    fn ratio_excludes_reserved_blocks() {
        let s = FsSpace {
            fsid: 1,
            capacity: 1000,
            available: 250,
        };
        assert_eq!(s.used_ratio(), 0.75);
        assert_eq!(s.room_below(0.9), 150);
        assert_eq!(s.room_below(0.5), 0);
        assert_eq!(s.room_below(1.0), 250);
        let empty = FsSpace {
            fsid: 1,
            capacity: 0,
            available: 0,
        };
        assert_eq!(empty.used_ratio(), 0.0);
    }

    #[test]
    fn too_large_files_fail_with_the_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = StoreConfig::for_tests(dir.path());
        check_fits(&cfg).unwrap();
        let cap = fs_space(dir.path()).unwrap().capacity;
        cfg.commit_log_segment_size = cap + 1;
        let msg = check_fits(&cfg).unwrap_err().to_string();
        assert!(msg.contains(&format!("{} bytes", cap + 1)), "{msg}");
        let huge = ensure_room(dir.path(), u64::MAX).unwrap_err();
        assert!(matches!(
            huge,
            StoreError::NoSpace {
                needed: u64::MAX,
                ..
            }
        ));
        ensure_room(dir.path(), 1).unwrap();
    }
}
