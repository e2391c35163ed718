//! `Store::max_offset_below`: a queue's end as seen by readers bounded to the
//! CommitLog below an offset (the cluster high watermark, ADR 015).

mod common;

use common::*;

#[test]
fn queue_end_below_a_commitlog_offset() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(small_config(dir.path()));
    // Queue K: a 3-record batch (queue offsets 0..3), then another (3..6);
    // queue T's entry between them is not counted for K.
    let b1 = store
        .append_blocking(kafka("K", 0, &[b"a", b"b", b"c"], Vec::new()))
        .unwrap();
    let t = store
        .append_blocking(rocket("T", 0, b"other", props(&[])))
        .unwrap();
    let b2 = store
        .append_blocking(kafka("K", 0, &[b"d", b"e", b"f"], Vec::new()))
        .unwrap();
    assert_eq!(store.max_offset("K", 0), 6);
    let end = b2.phy_offset + u64::from(b2.bytes);
    assert_eq!(store.max_offset_below("K", 0, 0), 0);
    assert_eq!(store.max_offset_below("K", 0, b1.phy_offset), 0);
    // Inside the first batch: the batch is not readable yet.
    assert_eq!(store.max_offset_below("K", 0, b1.phy_offset + 1), 3);
    assert_eq!(store.max_offset_below("K", 0, t.phy_offset), 3);
    assert_eq!(store.max_offset_below("K", 0, b2.phy_offset), 3);
    assert_eq!(store.max_offset_below("K", 0, b2.phy_offset + 1), 6);
    assert_eq!(store.max_offset_below("K", 0, end), 6);
    assert_eq!(store.max_offset_below("T", 0, t.phy_offset), 0);
    assert_eq!(store.max_offset_below("T", 0, end), 1);
    assert_eq!(store.max_offset_below("missing", 0, end), 0);
}
