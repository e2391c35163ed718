//! RocketMQ remoting frame and header decoder: the bytes a connection
//! reads, split into frames (length prefix included) and each frame's JSON
//! or ROCKETMQ binary header decoded, as the connection loop does.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rokka_protocols::remoting::frame::{decode_frame, split_frame, DEFAULT_MAX_FRAME};

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(frame)) = split_frame(&mut buf, DEFAULT_MAX_FRAME) {
        let _ = decode_frame(&frame);
    }
});
