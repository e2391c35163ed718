//! Retention and the disk guard. Every second: refresh the disk used ratio
//! (appends are refused at `disk_refuse_ratio`); delete whole CommitLog
//! segments older than `fileReservedTime` at the `deleteWhen` hours, at any hour
//! above `diskMaxUsedSpaceRatio`, and the oldest ones even if not expired above
//! the forcible ratio (when `cleanFileForciblyEnable`; that ratio lies above
//! the refusal ratio, so writes stop first). The ratio is the highest of the
//! store directories' file systems (`disk.rs`), never a failed preallocation. The active segment is never deleted. ConsumeQueue and
//! IndexFile files that only point at deleted segments go with them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::error::Result;
use crate::writer::Shared;

/// Local hour of day, as RocketMQ reads `deleteWhen`.
fn current_hour() -> u8 {
    // SAFETY: time(NULL) and localtime_r into a zeroed struct we own.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_hour.clamp(0, 23) as u8
    }
}

/// One pass of the cleaner; returns the number of segments deleted.
pub(crate) fn clean_once(shared: &Shared, now: SystemTime, hour: u8) -> Result<u32> {
    let cfg = &shared.config;
    let ratio = crate::disk::refresh(shared);
    let in_window = cfg.delete_when.contains(&hour);
    let pressure = ratio >= cfg.disk_max_used_space_ratio;
    let forcibly = cfg.disk_clean_forcibly_enable && ratio >= cfg.disk_clean_forcibly_ratio;
    let reserved = Duration::from_secs(cfg.file_reserved_hours as u64 * 3600);
    let mut deleted = 0;
    // Delete at most a few segments per pass so the writer is never starved.
    for _ in 0..10 {
        let gone = shared.commit_log.delete_first_segment_if(|seg| {
            let expired = std::fs::metadata(seg.path())
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age >= reserved);
            // A segment a compacted queue still points into waits for the
            // log cleaner to move those entries (ADR 010).
            let pinned = seg.base() + seg.size()
                > shared
                    .compaction_pin
                    .load(std::sync::atomic::Ordering::Acquire);
            (expired && (in_window || pressure) && !pinned) || forcibly
        })?;
        if !gone {
            break;
        }
        deleted += 1;
        shared.metrics.segments_deleted.inc();
        if forcibly {
            // One forced deletion per pass; re-measure before the next.
            break;
        }
    }
    if deleted > 0 {
        let min = shared.commit_log.min_offset();
        tracing::info!(
            deleted,
            min_offset = min,
            disk_used_ratio = ratio,
            forced = forcibly,
            "retention deleted commit log segments"
        );
        for cq in shared.cqs.all() {
            cq.retire_below(min)?;
        }
        shared.index.retire_below(min)?;
        crate::disk::refresh(shared);
    }
    shared
        .metrics
        .commit_log_size
        .set(shared.commit_log.disk_bytes() as i64);
    Ok(deleted)
}

/// The cleaner loop; returns when `stop` is set.
pub(crate) fn run(shared: Arc<Shared>, stop: Arc<crate::store::Stop>) {
    while !stop.wait(shared.config.clean_interval) {
        if let Err(e) = clean_once(&shared, SystemTime::now(), current_hour()) {
            tracing::error!(error = %e, "retention pass failed");
        }
    }
}
