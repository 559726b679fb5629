#!/usr/bin/env bash
# Long crash-safety run: kill -9 the real ingest-service binary mid-stream
# CYCLES times (default 200) and check that every acknowledged article
# survives and the change log stays dense. CI runs the same test with 20.
#   bash bench/crash-loop.sh [CYCLES] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
export SECTORWIRE_CRASH_CYCLES="${1:-200}"
export SECTORWIRE_CRASH_SEED="${2:-$(date +%s)}"
echo "crash loop: $SECTORWIRE_CRASH_CYCLES cycles, seed $SECTORWIRE_CRASH_SEED"
cargo test --release -p sectorwire-ingest --test crash -- --nocapture
