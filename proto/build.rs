//! Compiles proto/greenlight/v1/*.proto with protox (pure Rust), so a fresh
//! machine builds without a system `protoc`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "greenlight/v1/common.proto",
        "greenlight/v1/agent.proto",
        "greenlight/v1/verdict.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["."])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // Kept for server reflection: grpcurl and friends discover our services.
    std::fs::write(
        out_dir.join("greenlight_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
