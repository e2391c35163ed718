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
