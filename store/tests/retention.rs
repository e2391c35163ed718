//! Retention: whole segments older than fileReservedTime go at the deleteWhen
//! hour (or any hour under disk pressure), never the active one; queue minimum
//! offsets move up accordingly.

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use rokka_store::GetStatus;

fn filled(dir: &std::path::Path, cfg: rokka_store::StoreConfig) -> (rokka_store::Store, Vec<u64>) {
    let mut cfg = cfg;
    cfg.clean_interval = Duration::from_secs(3600); // only the test's passes run
    let store = open(cfg);
    let mut phys = Vec::new();
    for i in 0..200 {
        let r = store
            .append_blocking(rocket(
                "Q",
                0,
                &body_for(3, i, 1500),
                props(&[("KEYS", "k")]),
            ))
            .unwrap();
        phys.push(r.phy_offset);
    }
    let _ = dir;
    (store, phys)
}

fn segments(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("commitlog")).unwrap().count()
}

#[test]
fn expired_segments_go_at_the_delete_hour_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path());
    cfg.disk_max_used_space_ratio = 1.0;
    cfg.disk_clean_forcibly_ratio = 1.0;
    let (store, phys) = filled(dir.path(), cfg);
    let before = segments(dir.path());
    assert!(before >= 3);
    let later = SystemTime::now() + Duration::from_secs(73 * 3600);
    // Not the delete hour and no pressure: nothing goes.
    assert_eq!(store.run_retention(later, 5).unwrap(), 0);
    // Not yet expired at the delete hour: nothing goes.
    assert_eq!(store.run_retention(SystemTime::now(), 4).unwrap(), 0);
    // Expired at 04: every segment but the active one goes.
    let deleted = store.run_retention(later, 4).unwrap();
    assert_eq!(deleted as usize, before - 1);
    assert_eq!(segments(dir.path()), 1);
    let (log_min, _) = store.commit_log_bounds();
    let min = store.min_offset("Q", 0);
    assert!(min > 0);
    assert!(phys[min as usize] >= log_min && phys[min as usize - 1] < log_min);
    assert_eq!(
        store.get_messages("Q", 0, 0, 1, usize::MAX, None).status,
        GetStatus::OffsetTooSmall
    );
    assert_eq!(
        store.get_messages("Q", 0, min, 1, usize::MAX, None).status,
        GetStatus::Found
    );
    // Appends continue; the queue keeps counting.
    assert_eq!(
        store
            .append_blocking(rocket("Q", 0, b"more", props(&[])))
            .unwrap()
            .queue_offset,
        200
    );
    store.shutdown().unwrap();
    // The new bounds survive a restart.
    let store = open(small_config(dir.path()));
    assert_eq!(store.min_offset("Q", 0), min);
    assert_eq!(store.max_offset("Q", 0), 201);
    store.shutdown().unwrap();
}

#[test]
fn disk_pressure_deletes_expired_at_any_hour_and_forcibly_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path());
    cfg.disk_max_used_space_ratio = 0.0; // always under pressure
    cfg.disk_clean_forcibly_ratio = 1.0;
    let (store, _) = filled(dir.path(), cfg);
    let before = segments(dir.path());
    let later = SystemTime::now() + Duration::from_secs(73 * 3600);
    assert_eq!(
        store.run_retention(SystemTime::now(), 13).unwrap(),
        0,
        "not expired yet"
    );
    assert_eq!(store.run_retention(later, 13).unwrap() as usize, before - 1);
    store.shutdown().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (store, _) = filled(dir.path(), small_config(dir.path()));
    store.shutdown().unwrap();
    let before = segments(dir.path());
    // Past the forcible ratio (and so past the lower refusal ratio), but
    // switched off: nothing unexpired goes.
    let mut cfg = small_config(dir.path());
    cfg.clean_interval = Duration::from_secs(3600);
    cfg.disk_refuse_ratio = 0.0005;
    cfg.disk_clean_forcibly_ratio = 0.001;
    cfg.disk_clean_forcibly_enable = false;
    let store = open(cfg.clone());
    assert_eq!(store.run_retention(SystemTime::now(), 13).unwrap(), 0);
    assert_eq!(segments(dir.path()), before);
    store.shutdown().unwrap();
    // Switched on: not expired, not the hour, the oldest goes anyway, one per pass.
    cfg.disk_clean_forcibly_enable = true;
    let store = open(cfg);
    assert_eq!(store.run_retention(SystemTime::now(), 13).unwrap(), 1);
    assert_eq!(segments(dir.path()), before - 1);
    store.shutdown().unwrap();
}

#[test]
fn refusal_must_come_before_forced_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path());
    cfg.disk_refuse_ratio = 0.95;
    cfg.disk_clean_forcibly_ratio = 0.90;
    let err = cfg.validate().unwrap_err().to_string();
    assert!(
        err.contains("must lie below the forced-clean ratio"),
        "{err}"
    );
    cfg.disk_clean_forcibly_enable = false;
    cfg.validate().unwrap();
    let defaults = rokka_store::StoreConfig::new(dir.path());
    assert!(defaults.disk_refuse_ratio < defaults.disk_clean_forcibly_ratio);
}

#[test]
fn delete_records_moves_the_start_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = filled(dir.path(), small_config(dir.path()));
    assert!(store.delete_records("nope", 0, 5).is_none());
    assert_eq!(store.delete_records("Q", 0, 50).unwrap().unwrap(), 50);
    // Never backwards, never past the end.
    assert_eq!(store.delete_records("Q", 0, 10).unwrap().unwrap(), 50);
    assert_eq!(store.min_offset("Q", 0), 50);
    assert_eq!(
        store.get_messages("Q", 0, 49, 1, usize::MAX, None).status,
        GetStatus::OffsetTooSmall
    );
    assert_eq!(
        store.get_messages("Q", 0, 50, 1, usize::MAX, None).status,
        GetStatus::Found
    );
    store.shutdown().unwrap();
    let store = open(small_config(dir.path()));
    assert_eq!(store.min_offset("Q", 0), 50);
    assert_eq!(store.delete_records("Q", 0, 1_000).unwrap().unwrap(), 200);
    assert_eq!(
        store.get_messages("Q", 0, 200, 1, usize::MAX, None).status,
        GetStatus::NoMessageInQueue
    );
    // Appends continue at the end.
    assert_eq!(
        store
            .append_blocking(rocket("Q", 0, b"x", props(&[])))
            .unwrap()
            .queue_offset,
        200
    );
    store.shutdown().unwrap();
}
