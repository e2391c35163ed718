//! Disk-full behaviour: appends are refused with the typed error, nothing is
//! written or corrupted, reads keep working, and appends resume once room is back.

mod common;

use common::*;
use rokka_store::{GetStatus, StoreError};

#[test]
fn configured_limit_refuses_appends_and_keeps_reads() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(small_config(dir.path()));
        for i in 0..20 {
            store
                .append_blocking(rocket("D", 0, &body_for(5, i, 500), props(&[])))
                .unwrap();
        }
        store.shutdown().unwrap();
    }
    let mut cfg = small_config(dir.path());
    cfg.disk_refuse_ratio = 0.001; // any real usage is "too full"
    let registry = registry();
    let store = rokka_store::Store::open(cfg, &registry).unwrap();
    let end = store.commit_log_bounds().1;
    for _ in 0..3 {
        match store.append_blocking(rocket("D", 0, b"refused", props(&[]))) {
            Err(StoreError::DiskFull { used_ratio, limit }) => assert!(used_ratio >= limit),
            other => panic!("expected DiskFull, got {other:?}"),
        }
    }
    assert!(matches!(
        store.append_blocking(kafka("D", 0, &[b"x"], vec![])),
        Err(StoreError::DiskFull { .. })
    ));
    assert_eq!(store.commit_log_bounds().1, end, "nothing was written");
    assert_eq!(store.max_offset("D", 0), 20);
    let g = store.get_messages("D", 0, 0, 100, usize::MAX, None);
    assert_eq!(g.status, GetStatus::Found);
    assert_eq!(g.entries.len(), 20);
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap();
    assert!(
        text.contains(r#"rokka_store_appends_refused_total{reason="disk_full"} 4"#),
        "refusals are counted:\n{text}"
    );
    store.shutdown().unwrap();

    // Room again: appends resume right after the old end, nothing corrupt.
    let store = open(small_config(dir.path()));
    assert_eq!(store.recovery_report().cut_reason, None);
    let r = store
        .append_blocking(rocket("D", 0, b"after", props(&[])))
        .unwrap();
    assert_eq!((r.phy_offset, r.queue_offset), (end, 20));
    store.shutdown().unwrap();
}

/// A real small file system (tmpfs, needs mount privileges): the segment
/// that does not fit is refused with NoSpace (ENOSPC for that file, not a
/// made-up used ratio) instead of a SIGBUS or a torn entry.
#[test]
fn real_full_filesystem_refuses_new_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipping: cannot mount a tmpfs here (not root?); the configured-limit test covers the refusal");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let mut cfg = small_config(&mnt);
    cfg.commit_log_segment_size = 256 * 1024;
    cfg.disk_refuse_ratio = 1.0; // only the real ENOSPC can stop us
    cfg.disk_max_used_space_ratio = 1.0;
    cfg.disk_clean_forcibly_enable = false;
    let store = open(cfg.clone());
    let mut acked = Vec::new();
    let mut refused = None;
    for i in 0..2000u64 {
        match store.append_blocking(rocket("F", 0, &body_for(6, i, 4000), props(&[]))) {
            Ok(r) => acked.push((i, r.queue_offset)),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    assert!(
        matches!(refused, Some(StoreError::NoSpace { needed, available, .. }) if needed > available),
        "{refused:?}"
    );
    assert!(acked.len() > 50, "some segments fit: {}", acked.len());
    for (i, off) in &acked {
        let g = store.get_messages("F", 0, *off, 1, usize::MAX, None);
        let b = &g.entries[0].bytes;
        let n = i32::from_be_bytes(b[84..88].try_into().unwrap()) as usize;
        assert_eq!(&b[88..88 + n], body_for(6, *i, 4000).as_slice());
    }
    drop(store);
    // Crash-reopen on the full file system: every acked entry is still there.
    let store = open(cfg);
    assert_eq!(store.max_offset("F", 0), acked.len() as u64);
    drop(store);
}
