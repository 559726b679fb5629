//! Compiles the `.proto` contract with protox (pure Rust, so no `protoc` is
//! needed on the machine), keeps the encoded descriptor set for server
//! reflection and proto3 JSON, and routes every service through our codec
//! (`src/codec.rs`), which needs a `Recover` impl for each message an RPC
//! decodes: they are generated here from the descriptors so a new RPC cannot
//! forget one.

use std::collections::BTreeSet;
use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "sectorwire/article/v1/article.proto",
    "sectorwire/ingest/v1/ingest.proto",
    "sectorwire/query/v1/query.proto",
];

/// Messages with a hand-written `Recover` impl in `src/codec.rs`.
const CUSTOM_RECOVER: &[&str] = &[".sectorwire.ingest.v1.IngestArticleRequest"];

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

    let mut types = BTreeSet::new();
    for file in &fds.file {
        for service in &file.service {
            for method in &service.method {
                types.extend(method.input_type.clone());
                types.extend(method.output_type.clone());
            }
        }
    }
    let mut impls = String::new();
    for name in types.iter().filter(|t| !CUSTOM_RECOVER.contains(&t.as_str())) {
        // `.sectorwire.ingest.v1.Foo` -> `crate::sectorwire::ingest::v1::Foo`
        let path = name.trim_start_matches('.').replace('.', "::");
        impls.push_str(&format!("impl Recover for crate::{path} {{}}\n"));
    }
    fs::write(out.join("recover_impls.rs"), impls)?;

    tonic_prost_build::configure()
        .build_client(grpc)
        .build_server(grpc)
        .codec_path("crate::codec::ProtoCodec")
        .compile_fds(fds)?;
    Ok(())
}
