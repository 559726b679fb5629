#!/usr/bin/env bash
# Fault rounds against the real ingest-service binary: corrupt sled's file
# (truncate, zeroed page, flipped bytes, scattered XOR) after acknowledged
# writes, and fill a small tmpfs to ENOSPC mid-stream (needs root for mount;
# skipped with a message otherwise). Reports acknowledged articles lost and
# silent starts; both must be 0. Then log-replacement rounds under a running
# query replica (tests/tests/log_replacement_rounds.rs): mixed-log
# applications and followed-log articles missing must be 0. The test suite
# (and so CI) runs 4 rounds of each.
#   bash bench/fault-rounds.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export SECTORWIRE_FAULT_ROUNDS="${1:-20}"
echo "fault rounds: $SECTORWIRE_FAULT_ROUNDS corruption rounds, $(( (SECTORWIRE_FAULT_ROUNDS + 3) / 4 )) disk-full rounds"
cargo test --release -p sectorwire-ingest --test fault_rounds -- --nocapture
echo "log replacement: $SECTORWIRE_FAULT_ROUNDS rounds"
cargo test --release -p sectorwire-tests --test log_replacement_rounds -- --nocapture
