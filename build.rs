//! Compiles `proto/apache/rocketmq/v2/messaging.proto` (the gRPC API of the
//! RocketMQ 5.x SDKs) with protox, a pure-Rust protobuf compiler, so no
//! `protoc` binary is needed; tonic-prost-build writes the server and the
//! client (used by the tests) into OUT_DIR.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/apache/rocketmq/v2/messaging.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds = protox::compile([proto], ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
