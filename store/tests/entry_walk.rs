//! The entry walker behind the `store_entry` fuzz target (fuzz/): its seed
//! corpus must decode as intended, or the fuzzer starts from nothing, and
//! inputs the fuzzer found must stay harmless.
#![cfg(feature = "internals")]

use std::path::Path;

use rokka_store::entry::walk::{walk, Walk};

/// Reads a seed of fuzz/corpus/store_entry: flags, offset, segment bytes.
fn seed(name: &str) -> (u64, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus/store_entry")
        .join(name);
    let b = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (
        u64::from_be_bytes(b[1..9].try_into().unwrap()),
        b[9..].to_vec(),
    )
}

#[test]
fn seeds_decode_completely() {
    let cases = [
        ("kafka-one", 0, 1, false),
        ("kafka-two-blank", 0, 2, true),
        ("rocketmq-one", 1, 0, false),
        ("rocketmq-two", 2, 1, false),
    ];
    for (name, messages, batches, blank) in cases {
        let (phy, seg) = seed(name);
        let w = walk(&seg, phy);
        assert_eq!(
            w,
            Walk {
                messages,
                batches,
                blank,
                stopped: None
            },
            "seed {name}"
        );
    }
}

#[test]
fn a_flipped_byte_stops_the_walk_with_a_reason() {
    let (phy, mut seg) = seed("rocketmq-two");
    seg[30] ^= 0x40; // inside the first entry's physicalOffset
    let w = walk(&seg, phy);
    assert_eq!((w.messages, w.batches), (0, 0));
    assert!(w.stopped.is_some());
}

/// Found by the store_entry fuzz target: a Kafka batch entry (CRC made
/// valid) whose ext claims a keyCount far beyond its length made
/// `tags_codes` step 2^31 times before giving up; without the bound this test
/// runs for minutes.
#[test]
fn huge_key_count_in_a_batch_entry_is_bounded() {
    let mut seg: Vec<u8> = vec![
        0x00, 0x00, 0x00, 0x8f, 0x52, 0x4b, 0x42, 0x32, 0x48, 0x61, 0x3c, 0xdb, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x10, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x08, 0x0a, 0x63, 0x25, 0x72, 0x61, 0x73, 0x68, 0x2d, 0x74, 0x65, 0x73, 0x74,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
        0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x02, 0x37, 0x5c, 0xe0, 0xd7, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xa1, 0xfc, 0xb1, 0x03, 0x68, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x1c, 0x00, 0x00, 0x00, 0x06, 0x6b,
        0x2d, 0x30, 0x0a, 0x76, 0x2d, 0x6b, 0x2d, 0x30, 0x00,
    ];
    let crc = crc32c::crc32c(&seg[12..0x8f]);
    seg[8..12].copy_from_slice(&crc.to_be_bytes());
    let w = walk(&seg, 4096);
    assert_eq!(w.batches, 1, "{w:?}");
}
