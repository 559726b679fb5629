# One image, two services: `ingest-service` and `query-service`.
# Build: docker build -t sectorwire .
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p sectorwire-ingest -p sectorwire-query -p sectorwire-cli --bins

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home /data sectorwire && mkdir -p /data && chown sectorwire /data
COPY --from=build /src/target/release/ingest-service /src/target/release/query-service /src/target/release/sectorwire /usr/local/bin/
USER sectorwire
WORKDIR /data
ENV SECTORWIRE_LOG_FORMAT=json
EXPOSE 50051 50052
CMD ["ingest-service"]
