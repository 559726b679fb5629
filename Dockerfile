# One image, two services (`ingest-service`, `query-service`) and the CLI
# (`sectorwire`). For machines with access to an image registry:
#   docker build -t sectorwire:latest .      (or: docker-compose up --build)
# Without a registry, `.ci/image` makes an equivalent image from locally built
# release binaries (see README "Docker").

# Planner: the workspace with every Rust source replaced by an empty stub.
# Its output changes only when manifests or the set of files change, so the
# dependency layer below is rebuilt only then, not on a source edit.
FROM rust:1.95-slim-bookworm AS planner
WORKDIR /src
COPY . .
RUN find . -name '*.rs' -exec sh -c 'for f; do echo "fn main() {}" >"$f"; done' _ {} + \
 && find . -type f ! -name '*.rs' ! -name 'Cargo.toml' ! -name 'Cargo.lock' -delete

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies only (the workspace's own crates are stubs here).
COPY --from=planner /src ./
RUN cargo build --release --locked -p sectorwire-ingest -p sectorwire-query -p sectorwire-cli --bins
# The real sources. Touched so cargo never takes a source older than the
# stub's build for up to date.
COPY . .
RUN find . -name '*.rs' -not -path './target/*' -exec touch {} + \
 && cargo build --release --locked -p sectorwire-ingest -p sectorwire-query -p sectorwire-cli --bins

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home sectorwire \
 && mkdir -p /data && chown 10001:10001 /data
COPY --from=build /src/target/release/ingest-service /src/target/release/query-service /src/target/release/sectorwire /usr/local/bin/
USER 10001:10001
WORKDIR /data
ENV SECTORWIRE_LOG_FORMAT=json
EXPOSE 50051 50052
# No shell needed: health checks run `ingest-service healthcheck` /
# `query-service healthcheck` (see docker-compose.yml).
CMD ["ingest-service"]
