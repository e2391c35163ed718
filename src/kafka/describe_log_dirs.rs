//! DescribeLogDirs handler (v0–4): one log directory, the CommitLog's, with
//! each partition's size in bytes from the store (`topic_retention.rs`
//! counts each stored batch once) and, from v4, the file system's size and
//! free space.

use rokka_protocols::kafka::describe_log_dirs::{self, DescribeLogDirsRequest, LogDir};
use rokka_protocols::kafka::{error_code, Writer};

use super::request::{CloseReason, Request};
use super::topic_retention::partition_bytes;
use super::KafkaContext;

/// (total, free) bytes of the file system holding `path`; (-1, -1) unknown.
fn fs_space(path: &std::path::Path) -> (i64, i64) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return (-1, -1);
    };
    // SAFETY: statvfs writes into a zeroed struct we own; the path is NUL-terminated.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return (-1, -1);
        }
        let frag = st.f_frsize as i64;
        (st.f_blocks as i64 * frag, st.f_bavail as i64 * frag)
    }
}

/// Handles DescribeLogDirs v0–4.
pub fn handle(ctx: &KafkaContext, req: &Request<'_>) -> Result<Writer, CloseReason> {
    let d = DescribeLogDirsRequest::decode(&mut req.reader(), req.version())
        .map_err(|e| req.bad_body(e))?;
    let store = &ctx.broker.store;
    // (topic, [(Kafka partition, local queue)]): a topic spread over broker
    // groups (ADR 024) has this group's range here, under its own ids.
    let wanted: Vec<(String, Vec<(i32, u32)>)> = match d.topics {
        None => store
            .topics()
            .list()
            .into_iter()
            .map(|t| {
                let n = crate::broker::topics::partition_count(&t);
                let layout = ctx.broker.layout(&t.topic_name, n);
                let parts = (0..n)
                    .map(|q| (i32::try_from(layout.partition(q)).unwrap_or(i32::MAX), q))
                    .collect();
                (t.topic_name, parts)
            })
            .collect(),
        Some(ts) => ts
            .into_iter()
            .map(|t| {
                let layout = super::replication::layout(ctx, &t.name);
                let parts = t
                    .partitions
                    .iter()
                    .filter_map(|p| Some((*p, super::replication::queue_of(&layout, *p).ok()?)))
                    .collect();
                (t.name, parts)
            })
            .filter(|(_, p): &(String, Vec<(i32, u32)>)| !p.is_empty())
            .collect(),
    };
    let topics = wanted
        .into_iter()
        .map(|(name, parts)| {
            let sizes = parts
                .iter()
                .map(|&(p, q)| {
                    let bytes = partition_bytes(store, &name, q);
                    (p, i64::try_from(bytes).unwrap_or(i64::MAX))
                })
                .collect();
            (name, sizes)
        })
        .collect();
    let dir = &store.config().commit_log_dir;
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
    let (total_bytes, usable_bytes) = fs_space(&abs);
    let dirs = [LogDir {
        error_code: error_code::NONE,
        log_dir: abs.display().to_string(),
        topics,
        total_bytes,
        usable_bytes,
    }];
    let mut w = req.writer();
    describe_log_dirs::encode_response(&mut w, req.version(), &dirs);
    Ok(w)
}
