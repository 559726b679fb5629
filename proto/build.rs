//! Compiles the `.proto` contract with protox (pure Rust, so no `protoc` is
//! needed on the machine) and keeps the encoded descriptor set for server
//! reflection and proto3 JSON.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "sectorwire/article/v1/article.proto",
    "sectorwire/ingest/v1/ingest.proto",
    "sectorwire/query/v1/query.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let fds = protox::compile(PROTOS, ["."])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("sectorwire_descriptor.bin"), fds.encode_to_vec())?;
    // Services are generated only with the `grpc` feature, so message-only users
    // (the pure article pipeline) link no tonic.
    let grpc = env::var_os("CARGO_FEATURE_GRPC").is_some();
    tonic_prost_build::configure()
        .build_client(grpc)
        .build_server(grpc)
        .compile_fds(fds)?;
    Ok(())
}
